//! The training criterion of a config: the triplet loss with a miner (OML's
//! `TripletLossWithMiner`, the default when `criterion.name` is absent) or ArcFace (OML's
//! `ArcFaceLoss`), whose class weights train with the model.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{ArcFaceLoss, ArcFaceLossConfig, TripletLossWithMinerConfig};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::build::TrainModel;

/// `[criterion]` of a config: `name = "triplet_with_miner"` (default) or `name = "arcface"`,
/// then that criterion's own keys.
#[derive(Debug, Clone, PartialEq)]
pub enum CriterionSection {
    TripletWithMiner(TripletLossWithMinerConfig),
    ArcFace(ArcFaceSection),
}

/// ArcFace on the training labels (OML `ArcFaceLoss`; formula in
/// `oml_core::loss::ArcFaceLoss`). The number of classes and the embedding size come from the
/// data and the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcFaceSection {
    /// Additive angular margin. Default 0.5 (OML).
    #[serde(default = "half")]
    pub m: f64,
    /// Logit scale. Default 64 (OML).
    #[serde(default = "sixty_four")]
    pub s: f64,
    /// Label smoothing in `[0, 1)`. Default 0.
    #[serde(default)]
    pub smoothing_epsilon: f64,
    /// Spread the smoothing over the classes of the sample's own category only (OML's
    /// `label2category`; needs a category on every training row). Default false.
    #[serde(default)]
    pub smooth_within_categories: bool,
    /// Start each class's weight at the mean embedding of its training images under the
    /// starting model (weight imprinting, Qi et al. 2018, arXiv:1712.07136) instead of
    /// Xavier-uniform noise (OML): with few images per class each class weight is updated only
    /// a few times per epoch, so random ones would stay noise for most of training.
    /// Default true.
    #[serde(default = "yes")]
    pub imprint: bool,
}

fn half() -> f64 {
    0.5
}
fn sixty_four() -> f64 {
    64.0
}
fn yes() -> bool {
    true
}

const TRIPLET: &str = "triplet_with_miner";
const ARCFACE: &str = "arcface";

impl<'de> Deserialize<'de> for CriterionSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(deserializer)?;
        let name = match table.remove("name") {
            None => TRIPLET.to_owned(),
            Some(toml::Value::String(name)) => name,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "criterion.name must be a string, got `{other}`"
                )));
            }
        };
        let fields = |e: toml::de::Error| {
            D::Error::custom(format!("criterion ({name}): {}", e.to_string().trim()))
        };
        match name.as_str() {
            TRIPLET => table.clone().try_into().map(Self::TripletWithMiner).map_err(fields),
            ARCFACE => table.clone().try_into().map(Self::ArcFace).map_err(fields),
            other => Err(D::Error::custom(format!(
                "criterion.name `{other}` is unknown: expected `{TRIPLET}` or `{ARCFACE}`"
            ))),
        }
    }
}

impl Serialize for CriterionSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let (name, value) = match self {
            Self::TripletWithMiner(c) => (TRIPLET, toml::Value::try_from(c)),
            Self::ArcFace(c) => (ARCFACE, toml::Value::try_from(c)),
        };
        let mut table = match value.map_err(S::Error::custom)? {
            toml::Value::Table(t) => t,
            _ => toml::Table::new(),
        };
        table.insert("name".to_owned(), toml::Value::String(name.to_owned()));
        table.serialize(serializer)
    }
}

/// What the optimizer trains: the model, and ArcFace's class weights when that is the
/// criterion. Checkpoints keep the two in separate files, so a run's `model.bpk` is the model
/// alone whatever the criterion.
#[derive(Module, Debug)]
pub struct Trainee {
    pub model: TrainModel,
    pub arcface: Option<ArcFaceLoss>,
}

/// Dense ArcFace class ids (0..n, in order of first appearance) of the training labels.
pub fn class_ids(train_labels: &[u32]) -> (Vec<u32>, usize) {
    let mut ids = HashMap::new();
    let classes = train_labels
        .iter()
        .map(|&l| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(l).or_insert(next)
        })
        .collect();
    (classes, ids.len())
}

/// Category of each dense class, from the categories of its rows.
pub fn class_categories(classes: &[u32], categories: &[u32], n_classes: usize) -> Vec<u32> {
    let mut out = vec![0; n_classes];
    for (&c, &k) in classes.iter().zip(categories) {
        out[c as usize] = k;
    }
    out
}

/// ArcFace's config: `in_features` from the model, `n_classes` training classes.
pub fn arcface_config(
    section: &ArcFaceSection,
    in_features: usize,
    n_classes: usize,
    label2category: Option<Vec<u32>>,
) -> ArcFaceLossConfig {
    ArcFaceLossConfig::new(in_features, n_classes)
        .with_m(section.m)
        .with_s(section.s)
        .with_smoothing_epsilon(section.smoothing_epsilon)
        .with_label2category(label2category)
}

/// `[n_classes, dim]`: row c = the L2-normalised mean of the L2-normalised embeddings
/// (`[rows, dim]`, row-major) whose class is c. A class without rows keeps a zero row, which
/// ArcFace's normalisation turns into cos = 0 against everything.
pub fn imprinted_weight(
    embeddings: &[f32],
    dim: usize,
    classes: &[u32],
    n_classes: usize,
) -> Vec<f32> {
    let mut sums = vec![0.0f64; n_classes * dim];
    for (row, &c) in embeddings.chunks_exact(dim).zip(classes) {
        let norm = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt().max(1e-12);
        let sum = &mut sums[c as usize * dim..(c as usize + 1) * dim];
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v) / norm;
        }
    }
    let mut out = Vec::with_capacity(n_classes * dim);
    for sum in sums.chunks_exact(dim) {
        let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        #[allow(clippy::cast_possible_truncation)]
        out.extend(sum.iter().map(|&v| (v * scale) as f32));
    }
    out
}

/// `loss` with its weight replaced by `weight` (`[n_classes, dim]`, row-major), keeping the
/// parameter's id.
pub fn with_weight(
    config: &ArcFaceLossConfig,
    loss: &ArcFaceLoss,
    weight: Vec<f32>,
    device: &Device,
) -> anyhow::Result<ArcFaceLoss> {
    let [c, d] = loss.weight.dims();
    let tensor = Tensor::<2>::from_data(TensorData::new(weight, [c, d]), device);
    Ok(config.with_weight(Param::initialized(loss.weight.id, tensor.require_grad()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Holder {
        criterion: CriterionSection,
    }

    fn parse(text: &str) -> Result<CriterionSection, String> {
        toml::from_str::<Holder>(text).map(|h| h.criterion).map_err(|e| e.to_string())
    }

    #[test]
    fn a_criterion_without_a_name_is_the_triplet_loss() {
        let c = parse("[criterion]\nmargin = 0.2\n").unwrap();
        let CriterionSection::TripletWithMiner(t) = c else { panic!("{c:?}") };
        assert_eq!(t.margin, Some(0.2));
    }

    #[test]
    fn arcface_keys_have_oml_defaults_and_round_trip() {
        let c = parse("[criterion]\nname = \"arcface\"\nm = 0.3\n").unwrap();
        let CriterionSection::ArcFace(a) = c.clone() else { panic!("{c:?}") };
        assert_eq!((a.m, a.s, a.smoothing_epsilon, a.imprint), (0.3, 64.0, 0.0, true));
        let text = toml::to_string(&Holder { criterion: c.clone() }).unwrap();
        assert!(text.contains("name = \"arcface\""), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn unknown_names_and_keys_are_named() {
        let e = parse("[criterion]\nname = \"arcfase\"\n").unwrap_err();
        assert!(e.contains("`arcfase` is unknown"), "{e}");
        let e = parse("[criterion]\nname = \"arcface\"\nmargin = 0.2\n").unwrap_err();
        assert!(e.contains("criterion (arcface)") && e.contains("margin"), "{e}");
        let e = parse("[criterion]\nname = 3\n").unwrap_err();
        assert!(e.contains("criterion.name must be a string"), "{e}");
    }

    #[test]
    fn class_ids_are_dense_in_order_of_appearance() {
        let (ids, n) = class_ids(&[7, 3, 7, 9, 3]);
        assert_eq!((ids, n), (vec![0, 1, 0, 2, 1], 3));
        assert_eq!(class_categories(&[0, 1, 0, 2], &[5, 6, 5, 4], 3), vec![5, 6, 4]);
    }

    #[test]
    fn imprinting_averages_unit_vectors_per_class() {
        // Class 0: (2, 0) and (0, 1) -> mean of unit vectors (0.5, 0.5) -> (0.707, 0.707).
        // Class 1: (0, -3) -> (0, -1). Class 2: no rows -> zeros.
        let w = imprinted_weight(&[2.0, 0.0, 0.0, 1.0, 0.0, -3.0], 2, &[0, 0, 1], 3);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let expected = [h, h, 0.0, -1.0, 0.0, 0.0];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{w:?}");
        }
    }
}
