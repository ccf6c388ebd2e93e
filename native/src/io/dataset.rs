use std::io::BufReader;
use std::path::Path;

use oml_core::dataset::{Dataset, read_dataset};

/// Reads the dataset CSV at `path` (a regular file only: a device or FIFO is refused, not read
/// forever). Every error names the file, and the line and column where it has them.
pub fn read_dataset_file(path: &Path) -> anyhow::Result<Dataset> {
    let file = super::open_regular(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", path.display()))?;
    Ok(read_dataset(BufReader::new(file), &path.display().to_string())?)
}
