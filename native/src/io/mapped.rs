//! Read-only memory maps of large input files (index files), so a gallery of millions of
//! embeddings is searched where it lies in the page cache instead of being read into memory.
#![allow(unsafe_code)] // Mapping a file is `unsafe` in memmap2: see `map_file`.

use std::path::Path;

use anyhow::{Context, bail};
use memmap2::Mmap;

/// A read-only map of the regular file `path`.
///
/// Safety of the map: the bytes must not change while mapped. Our own writers replace files
/// by an atomic rename (`write_atomically`), which leaves an existing map on the old file;
/// a file truncated in place by another program while mapped could fault, which is why only
/// read-only inputs the user hands us are mapped.
pub fn map_file(path: &Path) -> anyhow::Result<Mmap> {
    let file =
        super::open_regular(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}: cannot stat", path.display()))?.len();
    if len == 0 {
        bail!("{}: empty file", path.display());
    }
    // SAFETY: read-only map of a regular file we opened; see the function's documentation.
    unsafe { Mmap::map(&file) }.with_context(|| format!("{}: cannot map", path.display()))
}
