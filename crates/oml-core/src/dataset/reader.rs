use std::io::Read;

use serde::Deserialize;

use super::cells::{optional_text, parse_coordinate, parse_label, parse_optional_bool};
use super::checks::{check_query_labels_in_gallery, label_category_warnings};
use super::error::{DatasetError, DatasetErrorKind, DatasetWarning};
use super::labels::LabelMap;
use super::record::{BBox, Record, Split};

const REQUIRED_COLUMNS: [&str; 5] = ["label", "path", "split", "is_query", "is_gallery"];
const BBOX_COLUMNS: [&str; 4] = ["x_1", "y_1", "x_2", "y_2"];

/// One CSV row as serde maps it by column name; the typed checks come after.
/// Columns not listed here are ignored, as OML ignores them.
#[derive(Debug, Deserialize)]
struct RawRow {
    label: Option<String>,
    path: Option<String>,
    split: Option<String>,
    is_query: Option<String>,
    is_gallery: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    sequence: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    x_1: Option<String>,
    #[serde(default)]
    y_1: Option<String>,
    #[serde(default)]
    x_2: Option<String>,
    #[serde(default)]
    y_2: Option<String>,
}

/// A dataset file that passed every check of OML's format.
#[derive(Debug, Clone)]
pub struct Dataset {
    source_name: String,
    records: Vec<Record>,
    has_category: bool,
    has_sequence: bool,
    warnings: Vec<DatasetWarning>,
}

impl Dataset {
    /// The name the rows were read under (used in error messages).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// All rows in file order; row `i` here is row `i` of an embedding matrix made from it.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Whether the file has a `category` column.
    pub fn has_category(&self) -> bool {
        self.has_category
    }

    /// Whether the file has a `sequence` column.
    pub fn has_sequence(&self) -> bool {
        self.has_sequence
    }

    /// Legal but suspicious findings (OML warns about the same).
    pub fn warnings(&self) -> &[DatasetWarning] {
        &self.warnings
    }

    /// Dense label ids, see [`LabelMap`].
    pub fn label_map(&self) -> LabelMap {
        LabelMap::from_records(&self.records)
    }

    /// Row indices (into [`Self::records`]) of the validation split, in file order.
    pub fn validation_rows(&self) -> Vec<usize> {
        self.rows_of(Split::Validation)
    }

    /// Row indices (into [`Self::records`]) of the train split, in file order.
    pub fn train_rows(&self) -> Vec<usize> {
        self.rows_of(Split::Train)
    }

    fn rows_of(&self, split: Split) -> Vec<usize> {
        self.records.iter().enumerate().filter(|(_, r)| r.split == split).map(|(i, _)| i).collect()
    }
}

/// Reads and checks a dataset in OML's CSV format.
///
/// `source_name` is only used in messages (pass the file path). Leading and trailing spaces of
/// cells are trimmed (pandas would keep them and then fail OML's checks). The checks, each a
/// [`DatasetErrorKind`] with line and column: required columns `label, path, split, is_query,
/// is_gallery`; optional `category`, `sequence`, `domain` (ours), and all four or none of `x_1, y_1, x_2, y_2`;
/// integer labels; `split` in {train, validation}; empty roles on train rows; boolean roles on
/// validation rows, each validation row a query or a gallery item or both; every query label
/// present among gallery labels; bounding boxes complete, non-negative, integer, not inverted.
/// Image existence needs a file system: see [`super::check_paths_exist`].
pub fn read_dataset<R: Read>(input: R, source_name: &str) -> Result<Dataset, DatasetError> {
    let error = |line: Option<u64>, column: Option<&str>, kind| DatasetError {
        source_name: source_name.to_owned(),
        line,
        column: column.map(str::to_owned),
        kind,
    };
    let csv_error = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        error(line, None, DatasetErrorKind::Csv(e.to_string()))
    };

    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map_err(csv_error)?.clone();
    let has = |name: &str| headers.iter().any(|h| h == name);
    for column in REQUIRED_COLUMNS {
        if !has(column) {
            let found = headers.iter().collect::<Vec<_>>().join(", ");
            return Err(error(Some(1), Some(column), DatasetErrorKind::MissingColumn { found }));
        }
    }
    let bbox_present: Vec<&str> = BBOX_COLUMNS.into_iter().filter(|c| has(c)).collect();
    if !bbox_present.is_empty() && bbox_present.len() != BBOX_COLUMNS.len() {
        let missing = BBOX_COLUMNS.into_iter().filter(|c| !has(c)).collect::<Vec<_>>().join(", ");
        return Err(error(Some(1), None, DatasetErrorKind::IncompleteBBoxColumns { missing }));
    }
    let has_bbox = !bbox_present.is_empty();

    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(csv_error)?;
        let line = row.position().map_or(0, csv::Position::line);
        let raw: RawRow = row.deserialize(Some(&headers)).map_err(csv_error)?;
        let at = RowContext { source_name, line };
        records.push(parse_row(raw, has_bbox, &at)?);
    }
    if records.is_empty() {
        return Err(error(None, None, DatasetErrorKind::NoRows));
    }
    check_query_labels_in_gallery(&records)
        .map_err(|(line, kind)| error(Some(line), Some("label"), kind))?;
    let warnings = if has("category") { label_category_warnings(&records) } else { Vec::new() };
    Ok(Dataset {
        source_name: source_name.to_owned(),
        records,
        has_category: has("category"),
        has_sequence: has("sequence"),
        warnings,
    })
}

/// Where a row is, for its error messages.
struct RowContext<'a> {
    source_name: &'a str,
    line: u64,
}

impl RowContext<'_> {
    /// The error constructor for `column` of this row.
    fn at(&self, column: &str) -> impl Fn(DatasetErrorKind) -> DatasetError + use<> {
        let (source_name, line, column) =
            (self.source_name.to_owned(), self.line, column.to_owned());
        move |kind| DatasetError {
            source_name: source_name.clone(),
            line: Some(line),
            column: Some(column.clone()),
            kind,
        }
    }
}

fn parse_row(raw: RawRow, has_bbox: bool, row: &RowContext<'_>) -> Result<Record, DatasetError> {
    let text = |cell: &Option<String>| cell.clone().unwrap_or_default();
    let label = parse_label(&text(&raw.label)).map_err(row.at("label"))?;
    let path = text(&raw.path);
    if path.is_empty() {
        return Err(row.at("path")(DatasetErrorKind::EmptyPath));
    }
    let split = match text(&raw.split).as_str() {
        "train" => Split::Train,
        "validation" => Split::Validation,
        other => {
            return Err(row.at("split")(DatasetErrorKind::UnknownSplit {
                value: other.to_owned(),
            }));
        }
    };
    let mut roles = [false; 2];
    for (role, (column, cell)) in
        roles.iter_mut().zip([("is_query", &raw.is_query), ("is_gallery", &raw.is_gallery)])
    {
        let value = text(cell);
        *role = match (split, parse_optional_bool(&value)) {
            (Split::Train, Ok(None)) => false,
            (Split::Train, _) => {
                return Err(row.at(column)(DatasetErrorKind::RoleOnTrainRow { value }));
            }
            (Split::Validation, Ok(Some(flag))) => flag,
            (Split::Validation, Ok(None) | Err(_)) => {
                return Err(row.at(column)(DatasetErrorKind::NotABool { value }));
            }
        };
    }
    let [is_query, is_gallery] = roles;
    if split == Split::Validation && !is_query && !is_gallery {
        return Err(row.at("is_query")(DatasetErrorKind::NeitherQueryNorGallery));
    }
    let bbox = if has_bbox {
        parse_bbox(
            [("x_1", &raw.x_1), ("y_1", &raw.y_1), ("x_2", &raw.x_2), ("y_2", &raw.y_2)],
            row,
        )?
    } else {
        None
    };
    Ok(Record {
        line: row.line,
        label,
        path,
        split,
        is_query,
        is_gallery,
        category: raw.category.as_deref().and_then(optional_text),
        sequence: raw.sequence.as_deref().and_then(optional_text),
        domain: raw.domain.as_deref().and_then(optional_text),
        bbox,
    })
}

fn parse_bbox(
    cells: [(&'static str, &Option<String>); 4],
    row: &RowContext<'_>,
) -> Result<Option<BBox>, DatasetError> {
    let mut corners = [None; 4];
    for (corner, (column, cell)) in corners.iter_mut().zip(cells) {
        *corner = parse_coordinate(cell.as_deref().unwrap_or_default()).map_err(row.at(column))?;
    }
    match corners {
        [None, None, None, None] => Ok(None),
        [Some(x1), Some(y1), Some(x2), Some(y2)] => {
            for (low_name, low, high_name, high) in [("x_1", x1, "x_2", x2), ("y_1", y1, "y_2", y2)]
            {
                if low >= high {
                    let kind = DatasetErrorKind::InvertedBBox { low_name, low, high_name, high };
                    return Err(row.at(low_name)(kind));
                }
            }
            Ok(Some(BBox { x1, y1, x2, y2 }))
        }
        _ => {
            let empty: Vec<&str> = cells
                .iter()
                .zip(corners)
                .filter(|(_, c)| c.is_none())
                .map(|((n, _), _)| *n)
                .collect();
            let kind = DatasetErrorKind::IncompleteBBox { missing: empty.join(", ") };
            Err(row.at(empty[0])(kind))
        }
    }
}
