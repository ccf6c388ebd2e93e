//! Fashion-MNIST (Debian `dataset-fashion-mnist`: the four IDX files, gzipped) to PNGs and the
//! dataset CSV. Two protocols: the official one (train = the 60,000 training images, validation
//! = the 10,000 test images, every one a query and a gallery item), or `class_disjoint`: a
//! seeded choice of classes is held out (all their images, train and test, become validation),
//! the metric-learning protocol of unseen classes.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The ten class names, in label order (Zalando's README).
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

#[derive(Debug, Clone)]
pub struct FashionMnistOptions {
    /// Folder with `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`.
    pub dir: PathBuf,
    pub out: PathBuf,
    /// Hold out this many classes instead of the test set.
    pub class_disjoint: Option<usize>,
    pub seed: u64,
    /// Keep only the first N images of each file (small experiments).
    pub limit: Option<usize>,
}

fn read_gz(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: not a gzip file", path.display()))?;
    Ok(bytes)
}

fn be_u32(bytes: &[u8], at: usize, path: &Path) -> anyhow::Result<usize> {
    let b = bytes.get(at..at + 4).ok_or_else(|| anyhow!("{}: truncated header", path.display()))?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// IDX images: magic 0x803, count, rows, cols, then bytes. → (count, rows, cols, pixels).
fn read_images(path: &Path) -> anyhow::Result<(usize, usize, usize, Vec<u8>)> {
    let bytes = read_gz(path)?;
    if be_u32(&bytes, 0, path)? != 0x803 {
        anyhow::bail!("{}: not an IDX image file (magic 0x803)", path.display());
    }
    let (n, rows, cols) =
        (be_u32(&bytes, 4, path)?, be_u32(&bytes, 8, path)?, be_u32(&bytes, 12, path)?);
    if bytes.len() != 16 + n * rows * cols {
        anyhow::bail!(
            "{}: {} bytes, expected {}",
            path.display(),
            bytes.len(),
            16 + n * rows * cols
        );
    }
    Ok((n, rows, cols, bytes[16..].to_vec()))
}

/// IDX labels: magic 0x801, count, then bytes.
fn read_labels(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_gz(path)?;
    if be_u32(&bytes, 0, path)? != 0x801 {
        anyhow::bail!("{}: not an IDX label file (magic 0x801)", path.display());
    }
    let n = be_u32(&bytes, 4, path)?;
    if bytes.len() != 8 + n {
        anyhow::bail!("{}: {} labels announced, {} present", path.display(), n, bytes.len() - 8);
    }
    Ok(bytes[8..].to_vec())
}

/// Writes `out/images/{train,test}/<i>.png` and `out/dataset.csv`; returns the row count.
pub fn convert_fashion_mnist(opts: &FashionMnistOptions) -> anyhow::Result<usize> {
    let held_out: Vec<u8> = match opts.class_disjoint {
        Some(k) if k == 0 || k >= 10 => anyhow::bail!("--class-disjoint must be 1..=9, got {k}"),
        Some(k) => {
            let mut classes: Vec<u8> = (0..10).collect();
            classes.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed));
            classes[..k].to_vec()
        }
        None => Vec::new(),
    };
    let mut csv = String::from("label,path,split,is_query,is_gallery,category\n");
    let mut rows = 0;
    for part in ["train", "t10k"] {
        let images = opts.dir.join(format!("{part}-images-idx3-ubyte.gz"));
        let (n, h, w, pixels) = read_images(&images)?;
        let labels = read_labels(&opts.dir.join(format!("{part}-labels-idx1-ubyte.gz")))?;
        if labels.len() != n {
            anyhow::bail!("{}: {n} images but {} labels", images.display(), labels.len());
        }
        let n = opts.limit.map_or(n, |l| l.min(n));
        let folder = if part == "train" { "train" } else { "test" };
        let out_dir = opts.out.join("images").join(folder);
        std::fs::create_dir_all(&out_dir)?;
        (0..n).into_par_iter().try_for_each(|i| -> anyhow::Result<()> {
            let data = pixels[i * h * w..(i + 1) * h * w].to_vec();
            let image = image::GrayImage::from_raw(w as u32, h as u32, data)
                .ok_or_else(|| anyhow!("image {i} has the wrong size"))?;
            image.save(out_dir.join(format!("{i}.png")))?;
            Ok(())
        })?;
        for (i, &label) in labels.iter().take(n).enumerate() {
            let validation = if opts.class_disjoint.is_some() {
                held_out.contains(&label)
            } else {
                part == "t10k"
            };
            let (split, q, g) =
                if validation { ("validation", "True", "True") } else { ("train", "", "") };
            let category = CLASSES[usize::from(label).min(9)];
            csv.push_str(&format!("{label},images/{folder}/{i}.png,{split},{q},{g},{category}\n"));
            rows += 1;
        }
    }
    crate::io::write_atomically(&opts.out.join("dataset.csv"), csv.as_bytes())?;
    Ok(rows)
}
