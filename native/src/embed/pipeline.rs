use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use indicatif::{ProgressBar, ProgressStyle};
use oml_data::image::{Preprocess, crop, decode_rgb};
use oml_models::embedder::{DeviceFailure, Embedder};
use rayon::prelude::*;

use super::{BatchFit, ImageItem};

/// An image that could not be read, named by its dataset row or path.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {path}: {reason}")]
pub struct ImageLoadError {
    pub origin: String,
    pub path: PathBuf,
    pub reason: String,
}

/// Why images could not be embedded: an image, or the device.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Image(#[from] ImageLoadError),
    #[error("{0}; try a smaller --batch-size, a smaller model or input, or --device cpu")]
    Device(#[from] DeviceFailure),
}

/// Reads, decodes and crops (to its bounding box, if any) one image.
pub fn load_image(item: &ImageItem) -> Result<image::RgbImage, ImageLoadError> {
    let fail = |reason: String| ImageLoadError {
        origin: item.origin.clone(),
        path: item.path.clone(),
        reason,
    };
    let bytes = crate::io::read_regular(&item.path, crate::io::MAX_IMAGE_FILE_BYTES)
        .map_err(|e| fail(e.to_string()))?;
    let image = decode_rgb(&bytes).map_err(|e| fail(e.to_string()))?;
    match item.bbox {
        Some(b) => crop(&image, b.x1, b.y1, b.x2, b.y2).map_err(|e| fail(e.to_string())),
        None => Ok(image),
    }
}

/// Reads, decodes, crops and preprocesses one image.
///
/// # Shapes
/// → `[3, H, W]` floats of `preprocess.output_size()`.
pub fn load_pixels(item: &ImageItem, preprocess: &Preprocess) -> Result<Vec<f32>, ImageLoadError> {
    Ok(preprocess.apply(&load_image(item)?))
}

/// Embeddings of `items` in order, `items.len() × feat_dim` row-major. Batches are decoded on
/// the rayon pool while the model runs on the previous one; a batch the device refuses is split
/// ([`BatchFit`]); a progress bar with images/s is drawn on stderr when it is a terminal. The
/// first unreadable image stops the run.
pub fn embed_items<E: oml_models::extractor::Extractor>(
    embedder: &Embedder<E>,
    items: &[ImageItem],
    batch_size: usize,
    show_progress: bool,
) -> Result<Vec<f32>, EmbedError> {
    let batch_size = batch_size.max(1);
    let mut fit = BatchFit::new(batch_size);
    let bar =
        if show_progress { ProgressBar::new(items.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "embedding [{bar:30}] {pos}/{len} images, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let preprocess = embedder.preprocess;
    let (w, h) = preprocess.output_size();
    let per_image = 3 * w as usize * h as usize;
    let mut out = Vec::with_capacity(items.len() * embedder.feat_dim());
    let chunks: Vec<&[ImageItem]> = items.chunks(batch_size).collect();
    let load = |chunk: &&[ImageItem]| {
        let images: Result<Vec<Vec<f32>>, ImageLoadError> =
            chunk.par_iter().map(|item| load_pixels(item, &preprocess)).collect();
        images.map(|images| (images.concat(), chunk.len()))
    };
    prefetched(&chunks, load, |(pixels, n): (Vec<f32>, usize)| {
        out.extend(fit.run(n, |start, len| {
            let piece = pixels[start * per_image..(start + len) * per_image].to_vec();
            embedder.embed(piece, len)
        })?);
        bar.inc(n as u64);
        Ok::<(), EmbedError>(())
    })?;
    bar.finish_and_clear();
    Ok(out)
}

/// Runs `load` over `jobs` on a thread of its own, one job ahead of `consume` (a channel of
/// one: two jobs in flight, one being loaded, one being consumed), in order. Stops at the first
/// error of either side; the loader stops once the consumer has.
pub fn prefetched<J, T, LE, E>(
    jobs: &[J],
    load: impl Fn(&J) -> Result<T, LE> + Sync,
    mut consume: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    J: Sync,
    T: Send,
    LE: Send,
    E: From<LE>,
{
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(1);
        let load = &load;
        scope.spawn(move || {
            for job in jobs {
                let loaded = load(job);
                let stop = loaded.is_err();
                if tx.send(loaded).is_err() || stop {
                    return;
                }
            }
        });
        for loaded in rx {
            consume(loaded?)?;
        }
        Ok(())
    })
}
