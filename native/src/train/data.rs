//! The dataset as training needs it: training rows with dense labels, validation rows with
//! their query/gallery structure, and batches of images decoded on the rayon pool.

use std::path::Path;

use oml_core::dataset::{Dataset, check_paths_exist};
use oml_core::retrieval::QueryGallery;
use oml_data::augment::Augment;
use oml_data::image::{Preprocess, decode_rgb, to_chw};
use rayon::prelude::*;

use crate::embed::{ImageItem, ImageLoadError, from_dataset, load_image};

/// The two splits of a training dataset.
#[derive(Debug)]
pub struct TrainData {
    pub dataset: Dataset,
    /// Dataset rows of the training images (unreadable ones skipped when configured).
    pub train_rows: Vec<usize>,
    /// Training images and their dense labels (0..n_train_labels).
    pub train: Vec<ImageItem>,
    pub train_labels: Vec<u32>,
    /// Validation images (dataset row order) and their roles.
    pub valid: Vec<ImageItem>,
    pub valid_qg: Option<QueryGallery>,
}

/// Checks every image decodes (in parallel). Unreadable training images are dropped with a
/// warning naming their line when `skip_bad_train` is set, otherwise the first one is an
/// error; an unreadable validation image is always an error (the metrics need every row).
fn check_images(items: &[ImageItem], skip: bool) -> Result<Vec<bool>, ImageLoadError> {
    let bad: Vec<Option<ImageLoadError>> = items
        .par_iter()
        .map(|item| {
            crate::io::read_regular(&item.path, crate::io::MAX_IMAGE_FILE_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|bytes| decode_rgb(&bytes).map(|_| ()).map_err(|e| e.to_string()))
                .err()
                .map(|reason| ImageLoadError {
                    origin: item.origin.clone(),
                    path: item.path.clone(),
                    reason,
                })
        })
        .collect();
    if !skip && let Some(e) = bad.iter().flatten().next() {
        return Err(ImageLoadError {
            origin: e.origin.clone(),
            path: e.path.clone(),
            reason: format!("{} (set bad_images = \"skip\" to train without it)", e.reason),
        });
    }
    Ok(bad
        .into_iter()
        .map(|b| {
            if let Some(e) = &b {
                eprintln!("warning: skipping {e}");
            }
            b.is_none()
        })
        .collect())
}

impl TrainData {
    /// Reads the CSV, checks every image exists and decodes (see `check_images`).
    pub fn load(csv: &Path, root: &Path, skip_bad_train: bool) -> anyhow::Result<Self> {
        let dataset = crate::io::read_dataset_file(csv)?;
        check_paths_exist(&dataset, root, Path::is_file)?;
        let items = from_dataset(&dataset, root);
        let labels = dataset.label_map();
        let train_rows = dataset.train_rows();
        if train_rows.is_empty() {
            anyhow::bail!("{}: no rows with split = train", csv.display());
        }
        let train_items: Vec<ImageItem> = train_rows.iter().map(|&r| items[r].clone()).collect();
        let ok = check_images(&train_items, skip_bad_train)?;
        let train_rows: Vec<usize> =
            train_rows.into_iter().zip(&ok).filter(|(_, ok)| **ok).map(|(r, _)| r).collect();
        let train = train_rows.iter().map(|&r| items[r].clone()).collect();
        let train_labels = train_rows
            .iter()
            .map(|&r| labels.dense(dataset.records()[r].label).unwrap_or(u32::MAX))
            .collect();
        let valid_rows = dataset.validation_rows();
        let valid: Vec<ImageItem> = valid_rows.iter().map(|&r| items[r].clone()).collect();
        check_images(&valid, false)?;
        let valid_qg = if valid_rows.is_empty() {
            None
        } else {
            Some(
                crate::eval::query_gallery(&dataset, &valid_rows)
                    .map_err(|e| anyhow::anyhow!("{}: validation rows: {e}", csv.display()))?,
            )
        };
        Ok(Self { dataset, train_rows, train, train_labels, valid, valid_qg })
    }
}

/// How one image becomes model input.
#[derive(Debug, Clone, Copy)]
pub struct ImagePipeline {
    /// Resize and normalisation (validation, and the base of training).
    pub preprocess: Preprocess,
    /// Training augmentation, applied after the bbox crop and before the resize.
    pub augment: Option<Augment>,
    pub seed: u64,
}

impl ImagePipeline {
    /// `[3, H, W]` floats of one image; `key = (epoch, row)` seeds its augmentation.
    pub fn load(&self, item: &ImageItem, key: (u64, u64)) -> Result<Vec<f32>, ImageLoadError> {
        let image = load_image(item)?;
        match &self.augment {
            Some(aug) => {
                let image = aug.apply(&image, self.seed, key.0, key.1);
                let image = oml_data::image::resize_with(
                    &image,
                    self.preprocess.resize,
                    self.preprocess.filter,
                );
                Ok(to_chw(&image, self.preprocess.norm))
            }
            None => Ok(self.preprocess.apply(&image)),
        }
    }

    /// A batch: the images back to back, decoded in parallel.
    pub fn load_batch(
        &self,
        items: &[&ImageItem],
        keys: &[(u64, u64)],
    ) -> Result<Vec<f32>, ImageLoadError> {
        let images: Result<Vec<Vec<f32>>, ImageLoadError> =
            items.par_iter().zip(keys).map(|(item, &key)| self.load(item, key)).collect();
        Ok(images?.concat())
    }
}
