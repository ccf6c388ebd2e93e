//! Building what a run needs from its config: the model, sampler, optimizer and image
//! pipelines.

use std::path::Path;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use oml_core::sampler::{DynSampler, TripletSampler};
use oml_data::augment::{Augment, ColorJitter, RandomResizedCrop, RandomRotation};
use oml_data::image::{Preprocess, ResizePolicy};
use oml_models::extractor::{AnyExtractor, Extractor, ExtractorWithMlp, MlpHead};
use oml_models::model_file::FileModel;
use oml_models::zoo::ZooEntry;

use anyhow::anyhow;

use super::config::{CriterionSection, ResizeMode, TrainConfig, TransformsSection};
use super::data::TrainData;
use crate::zoo::pretrained;

pub fn preprocess(entry: &ZooEntry, t: &TransformsSection) -> Preprocess {
    let resize = match t.resize {
        ResizeMode::Resize => ResizePolicy::Resize { width: t.size, height: t.size },
        ResizeMode::Pad => ResizePolicy::LongestSidePad { size: t.size, fill: t.fill },
    };
    Preprocess { resize, filter: entry.preprocess.filter, norm: entry.preprocess.norm }
}

/// The validation (inference) preprocessing of a config: what tools use on a trained model.
pub fn val_preprocess(entry: &ZooEntry, config: &TrainConfig) -> Preprocess {
    preprocess(entry, &config.transforms_val)
}

pub fn augment(t: &TransformsSection, base: &Preprocess) -> Option<Augment> {
    let crop = t.random_resized_crop.map(|c| RandomResizedCrop {
        width: t.size,
        height: t.size,
        scale: (c.scale[0], c.scale[1]),
        ratio: (c.ratio[0], c.ratio[1]),
    });
    let jitter = t.color_jitter.map(|j| ColorJitter {
        brightness: j.brightness,
        contrast: j.contrast,
        saturation: j.saturation,
        hue: j.hue,
    });
    let rotation =
        (t.rotation > 0.0).then_some(RandomRotation { degrees: t.rotation, fill: t.fill });
    let any = crop.is_some() || rotation.is_some() || t.hflip > 0.0 || jitter.is_some();
    (any || t.grayscale > 0.0).then_some(Augment {
        crop,
        rotation,
        flip_p: t.hflip,
        jitter,
        grayscale_p: t.grayscale,
        filter: base.filter,
    })
}

/// The config's sampler, or for `triplet_plain` the triplets (from `criterion.triplets`,
/// relative to the dataset root `root`, or drawn from the labels).
pub fn sampler(config: &TrainConfig, data: &TrainData, root: &Path) -> anyhow::Result<DynSampler> {
    if let CriterionSection::TripletPlain(t) = &config.criterion {
        let (c, l, i) = config.sampler.batch_shape();
        let per_batch = t.triplets_per_batch.unwrap_or((c * l * i / 3).max(1));
        let sampler = match &t.triplets {
            Some(csv) => {
                let triplets = super::triplets::read_triplets(&root.join(csv), data)?;
                TripletSampler::given(triplets, data.train.len(), per_batch, config.seed)?
            }
            None => TripletSampler::drawn(&data.train_labels, per_batch, config.seed)?,
        };
        return Ok(Box::new(sampler));
    }
    let categories =
        if config.sampler.needs_categories() { Some(train_categories(data)?) } else { None };
    Ok(config.sampler.init(&data.train_labels, categories.as_deref(), config.seed)?)
}

/// Dense category ids of the training rows, in first-appearance order; an error naming the
/// line of a row without one.
pub fn train_categories(data: &TrainData) -> anyhow::Result<Vec<u32>> {
    dense_ids(data, "a category", |r| r.category.as_ref())
}

/// Dense domain ids of the training rows (the `domain` column), for cross-domain mining; an
/// error naming the line of a row without one.
pub fn train_domains(data: &TrainData) -> anyhow::Result<Vec<u32>> {
    dense_ids(data, "criterion.cross_domain: a domain (the `domain` column)", |r| r.domain.as_ref())
}

/// Dense ids, in first-appearance order, of what `field` reads from each training row.
fn dense_ids(
    data: &TrainData,
    what: &str,
    field: impl Fn(&oml_core::dataset::Record) -> Option<&String>,
) -> anyhow::Result<Vec<u32>> {
    let mut ids = std::collections::HashMap::new();
    data.train_rows
        .iter()
        .map(|&r| {
            let record = &data.dataset.records()[r];
            let name = field(record).ok_or_else(|| {
                anyhow!(
                    "{} line {}: {what} is needed on every training row",
                    data.dataset.source_name(),
                    record.line
                )
            })?;
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            Ok(*ids.entry(name.clone()).or_insert(next))
        })
        .collect()
}

pub fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    config.optimizer.build()
}

/// A model of the configured architecture with its starting weights (with
/// `extractor.members > 1`, that many copies joined as an ensemble).
pub fn build_model(
    config: &TrainConfig,
    base: &Path,
    entry: &ZooEntry,
    device: &Device,
) -> anyhow::Result<FileModel> {
    let weights = config.extractor.weights.as_ref().map(|w| base.join(w));
    let one = || -> anyhow::Result<AnyExtractor> {
        if weights.is_some() || config.extractor.pretrained {
            Ok(pretrained(entry, weights.as_deref(), false, device)?)
        } else {
            Ok(entry.arch.init(device))
        }
    };
    let members = config.extractor.members;
    let backbone = if members > 1 {
        AnyExtractor::Ensemble((0..members).map(|_| one()).collect::<anyhow::Result<_>>()?)
    } else {
        one()?
    };
    let projection = MlpHead::new(backbone.feat_dim(), &config.extractor.head, device);
    Ok(ExtractorWithMlp { extractor: backbone, projection })
}

#[cfg(test)]
mod tests {
    use oml_data::image::{Filter, Normalization, Preprocess, ResizePolicy};

    use super::*;

    fn transforms(toml: &str) -> TransformsSection {
        toml::from_str(toml).expect("a valid [transforms_train]")
    }

    #[test]
    fn the_transforms_section_becomes_the_augmentation() {
        let base = Preprocess {
            resize: ResizePolicy::Resize { width: 32, height: 32 },
            filter: Filter::Bicubic,
            norm: Normalization::default(),
        };
        assert_eq!(augment(&transforms("size = 32"), &base), None);
        let aug = augment(&transforms("size = 32\nrotation = 12.5\nfill = [1, 2, 3]"), &base)
            .expect("a rotation alone is an augmentation");
        assert_eq!(aug.rotation, Some(RandomRotation { degrees: 12.5, fill: [1, 2, 3] }));
        assert_eq!(
            (aug.crop, aug.flip_p, aug.jitter, aug.filter),
            (None, 0.0, None, Filter::Bicubic)
        );
        let aug = augment(&transforms("size = 40\nhflip = 0.5\nrandom_resized_crop = {}"), &base)
            .expect("crop and flip");
        assert_eq!(aug.rotation, None);
        assert_eq!(aug.flip_p, 0.5);
        assert_eq!(aug.crop.map(|c| (c.width, c.height)), Some((40, 40)));
    }
}
