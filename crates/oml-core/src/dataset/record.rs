/// Which part of the dataset a row belongs to (`split` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Used for training; `is_query`/`is_gallery` are empty.
    Train,
    /// Used for validation as a query, a gallery item, or both.
    Validation,
}

/// A bounding box in pixels, `x_1 < x_2`, `y_1 < y_2` (OML's `x_1, y_1, x_2, y_2` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BBox {
    /// Left edge.
    pub x1: u32,
    /// Top edge.
    pub y1: u32,
    /// Right edge (exclusive).
    pub x2: u32,
    /// Bottom edge (exclusive).
    pub y2: u32,
}

/// One validated CSV row.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line of the row in its file (the header is line 1).
    pub line: u64,
    /// The label as written in the file (see [`super::LabelMap`] for dense ids).
    pub label: i64,
    /// Image path as written: relative to the dataset root, or absolute.
    pub path: String,
    /// `train` or `validation`.
    pub split: Split,
    /// Always `false` on train rows.
    pub is_query: bool,
    /// Always `false` on train rows.
    pub is_gallery: bool,
    /// `None` when the column is absent or the cell is empty.
    pub category: Option<String>,
    /// `None` when the column is absent or the cell is empty. All rows with a missing sequence
    /// form one shared sequence when the column exists (as OML's `pd.factorize` does).
    pub sequence: Option<String>,
    /// Where the image comes from, e.g. the vendor that drew it or the camera that took it
    /// (optional `domain` column, not in OML, which ignores it): what cross-domain mining
    /// (`criterion.cross_domain`) pairs across. `None` when the column is absent or the cell
    /// is empty.
    pub domain: Option<String>,
    /// The crop of the image to use (`x_1, y_1, x_2, y_2` columns); `None`: the whole image.
    pub bbox: Option<BBox>,
}
