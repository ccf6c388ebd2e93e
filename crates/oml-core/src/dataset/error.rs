use std::fmt;

/// A dataset file that breaks OML's format, located as precisely as the check allows.
///
/// Displays as `FILE:LINE: column `COL`: WHAT`, e.g.
/// `data/df.csv:7: column `label`: expected an integer, found "3.5"`.
/// Lines are 1-based and count the header, so they match what an editor shows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct DatasetError {
    /// The file (or other source) the rows came from, as the caller named it.
    pub source_name: String,
    /// 1-based line in the file; `None` for problems of the file as a whole.
    pub line: Option<u64>,
    /// The column at fault, where one is.
    pub column: Option<String>,
    /// What is wrong.
    pub kind: DatasetErrorKind,
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(column) = &self.column {
            write!(f, "column `{column}`: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

/// What is wrong with a dataset file. Each variant is one of OML's checks
/// (`oml/utils/dataframe_format.py`, `check_retrieval_dataframe_format`) or a CSV-level fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DatasetErrorKind {
    /// The file is not readable CSV (bad quoting, a row with the wrong number of fields, bad UTF-8).
    #[error("malformed CSV: {0}")]
    Csv(String),
    /// The header lacks a required column.
    #[error("required column is missing (the header has: {found})")]
    MissingColumn {
        /// The header's columns.
        found: String,
    },
    /// Only some of `x_1, y_1, x_2, y_2` are in the header.
    #[error("bounding boxes need all four columns x_1, y_1, x_2, y_2; missing: {missing}")]
    IncompleteBBoxColumns {
        /// The columns missing.
        missing: String,
    },
    /// The file has a header but no rows.
    #[error("the file has no data rows")]
    NoRows,
    /// A cell that must be an integer is not.
    #[error("expected an integer, found {value:?}")]
    NotAnInteger {
        /// The cell.
        value: String,
    },
    /// `split` is neither `train` nor `validation`.
    #[error("expected `train` or `validation`, found {value:?}")]
    UnknownSplit {
        /// The cell.
        value: String,
    },
    /// `is_query`/`is_gallery` on a validation row is not a boolean.
    #[error("expected a boolean (True/False/true/false/1/0) on a validation row, found {value:?}")]
    NotABool {
        /// The cell.
        value: String,
    },
    /// `is_query`/`is_gallery` is set on a train row (OML requires it empty there).
    #[error("must be empty on a train row, found {value:?}")]
    RoleOnTrainRow {
        /// The cell.
        value: String,
    },
    /// A validation row that is neither a query nor a gallery item.
    #[error(
        "validation row is neither a query nor a gallery item (is_query and is_gallery are both false)"
    )]
    NeitherQueryNorGallery,
    /// A query whose label no gallery item has: it could never retrieve a correct item.
    #[error("query label {label} does not occur among the gallery labels")]
    QueryLabelNotInGallery {
        /// The query's label.
        label: i64,
    },
    /// Some but not all of a row's bounding-box cells are filled.
    #[error("bounding box is incomplete: {missing} empty while other corners are set")]
    IncompleteBBox {
        /// The corners left empty.
        missing: String,
    },
    /// A bounding-box corner that is not a non-negative integer.
    #[error("bounding-box coordinate must be a non-negative integer, found {value:?}")]
    BadCoordinate {
        /// The cell.
        value: String,
    },
    /// `x_1 >= x_2` or `y_1 >= y_2`.
    #[error(
        "bounding box is empty or inverted: {low_name} = {low} must be less than {high_name} = {high}"
    )]
    InvertedBBox {
        /// `x_1` or `y_1`.
        low_name: &'static str,
        /// Its value.
        low: u32,
        /// `x_2` or `y_2`.
        high_name: &'static str,
        /// Its value.
        high: u32,
    },
    /// An empty `path` cell.
    #[error("path is empty")]
    EmptyPath,
    /// The image the row names does not exist.
    #[error("image not found: {path}")]
    PathNotFound {
        /// The path looked at (the root joined).
        path: String,
    },
}

/// Something legal but suspicious, reported and kept going (OML warns about the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetWarning {
    /// One label appears with several categories (OML: "mapping between categories and labels
    /// is not bijection").
    LabelInSeveralCategories {
        /// The label.
        label: i64,
        /// Its categories, in order of appearance.
        categories: Vec<String>,
        /// The line of its first row.
        first_line: u64,
    },
}

impl fmt::Display for DatasetWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LabelInSeveralCategories { label, categories, first_line } => write!(
                f,
                "label {label} (first at line {first_line}) has several categories: {}",
                categories.join(", ")
            ),
        }
    }
}
