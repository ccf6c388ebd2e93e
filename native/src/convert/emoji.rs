//! The emoji cross-vendor benchmark (shared DATA.md): npm packages `emoji-datasource-google`
//! and `emoji-datasource-twitter` (16.0.0) hold the same 1,911 base emoji drawn by each vendor.
//! One label per emoji; a seeded share of the emoji (not of the images) is held out for
//! validation, with the Google drawings as queries and the Twitter drawings as the gallery.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// What to convert.
#[derive(Debug, Clone)]
pub struct EmojiOptions {
    /// The unpacked `emoji-datasource-google` package (its `package/` folder).
    pub google: PathBuf,
    /// The unpacked `emoji-datasource-twitter` package.
    pub twitter: PathBuf,
    pub out: PathBuf,
    /// Share of emoji held out for validation.
    pub val_fraction: f64,
    pub seed: u64,
    /// Keep only this many emoji (a seeded choice), for small committed subsets.
    pub limit: Option<usize>,
    /// Add the skin-tone variants of the training emoji as more images of their label (the
    /// validation emoji keep their base drawings only, so the benchmark is unchanged).
    pub skin_tones: bool,
}

#[derive(Debug)]
struct Emoji {
    image: String,
    category: String,
    /// Images of the skin-tone variants both vendors draw.
    variants: Vec<String>,
}

fn read_index(package: &Path) -> anyhow::Result<Vec<(Emoji, bool, bool)>> {
    let path = package.join("emoji.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let items = value.as_array().ok_or_else(|| anyhow!("{}: expected a list", path.display()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |name: &str| {
                e[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("{}: entry {i} has no string `{name}`", path.display()))
            };
            let variants = e["skin_variations"]
                .as_object()
                .map(|v| {
                    v.values()
                        .filter(|v| {
                            v["has_img_google"].as_bool() == Some(true)
                                && v["has_img_twitter"].as_bool() == Some(true)
                        })
                        .filter_map(|v| v["image"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Ok((
                Emoji { image: field("image")?, category: field("category")?, variants },
                e["has_img_google"].as_bool().unwrap_or(false),
                e["has_img_twitter"].as_bool().unwrap_or(false),
            ))
        })
        .collect()
}

/// Writes `out/dataset.csv` and copies the images into `out/images/{google,twitter}/`.
/// Returns the number of emoji (labels) written.
pub fn convert_emoji(opts: &EmojiOptions) -> anyhow::Result<usize> {
    if !(0.0..1.0).contains(&opts.val_fraction) {
        anyhow::bail!("--val-fraction must be in [0, 1), got {}", opts.val_fraction);
    }
    let index = read_index(&opts.google)?;
    let source = |vendor: &Path, name: &str, image: &str| {
        vendor.join("img").join(name).join("64").join(image)
    };
    let mut emoji: Vec<Emoji> = index
        .into_iter()
        .filter(|(e, g, t)| {
            *g && *t
                && source(&opts.google, "google", &e.image).is_file()
                && source(&opts.twitter, "twitter", &e.image).is_file()
        })
        .map(|(e, _, _)| e)
        .collect();
    if emoji.len() < 4 {
        anyhow::bail!(
            "{}: found {} emoji with both drawings; is this the unpacked package folder?",
            opts.google.display(),
            emoji.len()
        );
    }
    emoji.sort_by(|a, b| a.image.cmp(&b.image));
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    emoji.shuffle(&mut rng);
    if let Some(limit) = opts.limit {
        emoji.truncate(limit.max(4));
    }
    let n_val = ((emoji.len() as f64) * opts.val_fraction).round() as usize;
    for vendor in ["google", "twitter"] {
        std::fs::create_dir_all(opts.out.join("images").join(vendor))?;
    }
    let mut csv = String::from("label,path,split,is_query,is_gallery,category,domain\n");
    // The shuffled order decides the split; rows are written sorted by image name.
    let mut rows: Vec<(usize, &Emoji, bool)> =
        emoji.iter().enumerate().map(|(i, e)| (i, e, i < n_val)).collect();
    rows.sort_by(|a, b| a.1.image.cmp(&b.1.image));
    for (label, (_, e, is_val)) in rows.iter().enumerate() {
        let mut images = vec![&e.image];
        if opts.skin_tones && !is_val {
            let mut variants: Vec<&String> = e
                .variants
                .iter()
                .filter(|v| {
                    source(&opts.google, "google", v).is_file()
                        && source(&opts.twitter, "twitter", v).is_file()
                })
                .collect();
            variants.sort();
            images.extend(variants);
        }
        for image in images {
            for (vendor, package, query, gallery) in [
                ("google", &opts.google, "True", "False"),
                ("twitter", &opts.twitter, "False", "True"),
            ] {
                let from = source(package, vendor, image);
                let rel = format!("images/{vendor}/{image}");
                std::fs::copy(&from, opts.out.join(&rel))
                    .with_context(|| format!("cannot copy {}", from.display()))?;
                let (split, q, g) =
                    if *is_val { ("validation", query, gallery) } else { ("train", "", "") };
                csv.push_str(&format!("{label},{rel},{split},{q},{g},{},{vendor}\n", e.category));
            }
        }
    }
    crate::io::write_atomically(&opts.out.join("dataset.csv"), csv.as_bytes())?;
    Ok(emoji.len())
}
