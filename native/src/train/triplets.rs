//! The triplets of `criterion.triplets` (the `triplet_plain` criterion): a CSV with columns
//! `anchor`, `positive` and `negative`, each the `path` of a training row as the dataset CSV
//! writes it.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail};
use oml_core::sampler::MAX_TRIPLETS;

use super::data::TrainData;

/// Largest triplets file read: 16M triplets of 40-byte paths, with room.
const MAX_TRIPLETS_FILE_BYTES: u64 = 4 << 30;

/// Where a path is among the training rows: one row, or several (then a triplet naming it is
/// ambiguous).
#[derive(Clone, Copy)]
enum Found {
    One(usize),
    Several,
}

/// The triplets of `csv` as indices into `data.train`; an error names the file, the line and
/// the path that is not one training row.
pub fn read_triplets(csv: &Path, data: &TrainData) -> anyhow::Result<Vec<[usize; 3]>> {
    let name = csv.display();
    let file = crate::io::open_regular(csv).map_err(|e| anyhow!("{name}: cannot open: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_TRIPLETS_FILE_BYTES {
        bail!(
            "{name}: {size} bytes, larger than the {MAX_TRIPLETS_FILE_BYTES} a triplets file may be"
        );
    }
    let mut rows: HashMap<&str, Found> = HashMap::with_capacity(data.train_rows.len());
    for (i, &r) in data.train_rows.iter().enumerate() {
        let path = data.dataset.records()[r].path.as_str();
        rows.entry(path).and_modify(|f| *f = Found::Several).or_insert(Found::One(i));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(std::io::BufReader::new(file));
    let header = reader.headers().map_err(|e| anyhow!("{name}: {e}"))?.clone();
    let column = |c: &str| {
        header.iter().position(|h| h.trim() == c).ok_or_else(|| {
            anyhow!("{name}: no `{c}` column (a triplets file has anchor, positive, negative)")
        })
    };
    let columns = [column("anchor")?, column("positive")?, column("negative")?];
    let mut triplets = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!("{name}: {e}"))?;
        let line = record.position().map_or(0, csv::Position::line);
        if triplets.len() == MAX_TRIPLETS {
            bail!("{name} line {line}: more than {MAX_TRIPLETS} triplets");
        }
        let mut triplet = [0; 3];
        for (slot, &c) in triplet.iter_mut().zip(&columns) {
            let path = record.get(c).unwrap_or("").trim();
            *slot = match rows.get(path) {
                Some(Found::One(i)) => *i,
                Some(Found::Several) => {
                    bail!("{name} line {line}: `{path}` is the path of several training rows")
                }
                None => bail!(
                    "{name} line {line}: `{path}` is not the path of a training row of {}",
                    data.dataset.source_name()
                ),
            };
        }
        triplets.push(triplet);
    }
    if triplets.is_empty() {
        bail!("{name}: no triplets");
    }
    Ok(triplets)
}
