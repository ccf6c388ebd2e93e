//! `[criterion]`: the triplet loss with a miner (OML's `TripletLossWithMiner`, the default
//! when `criterion.name` is absent), ArcFace (OML's `ArcFaceLoss`) or the surrogate
//! precision@k (OML's `SurrogatePrecision`).

use oml_core::loss::{SurrogatePrecisionConfig, TripletLossWithMinerConfig};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[criterion]` of a config: `name = "triplet_with_miner"` (default), `"arcface"` or
/// `"surrogate_precision"`, then that criterion's own keys.
#[derive(Debug, Clone, PartialEq)]
pub enum CriterionSection {
    TripletWithMiner(TripletLossWithMinerConfig),
    ArcFace(ArcFaceSection),
    SurrogatePrecision(SurrogatePrecisionSection),
}

/// A differentiable precision@k over the batch (OML `SurrogatePrecision`; formula in
/// `oml_core::loss::SurrogatePrecision`), averaged over the batch as OML trains with it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurrogatePrecisionSection {
    /// The k of precision@k (required, at least 1).
    pub k: usize,
    /// Temperature of the outer sigmoid. Default 1 (OML).
    #[serde(default = "one")]
    pub temperature1: f64,
    /// Temperature of the rank sigmoid. Default 0.01 (OML).
    #[serde(default = "hundredth")]
    pub temperature2: f64,
}

impl SurrogatePrecisionSection {
    /// The loss's config.
    pub fn config(&self) -> SurrogatePrecisionConfig {
        SurrogatePrecisionConfig::new(self.k)
            .with_temperature1(self.temperature1)
            .with_temperature2(self.temperature2)
    }
}

fn one() -> f64 {
    1.0
}
fn hundredth() -> f64 {
    0.01
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
const SURROGATE_PRECISION: &str = "surrogate_precision";

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
            SURROGATE_PRECISION => {
                table.clone().try_into().map(Self::SurrogatePrecision).map_err(fields)
            }
            other => Err(D::Error::custom(format!(
                "criterion.name `{other}` is unknown: expected `{TRIPLET}`, `{ARCFACE}` or \
                 `{SURROGATE_PRECISION}`"
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
            Self::SurrogatePrecision(c) => (SURROGATE_PRECISION, toml::Value::try_from(c)),
        };
        let mut table = match value.map_err(S::Error::custom)? {
            toml::Value::Table(t) => t,
            _ => toml::Table::new(),
        };
        table.insert("name".to_owned(), toml::Value::String(name.to_owned()));
        table.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
    fn surrogate_precision_has_oml_defaults_and_round_trips() {
        let c = parse("[criterion]\nname = \"surrogate_precision\"\nk = 3\n").unwrap();
        let CriterionSection::SurrogatePrecision(p) = c.clone() else { panic!("{c:?}") };
        assert_eq!((p.k, p.temperature1, p.temperature2), (3, 1.0, 0.01));
        let text = toml::to_string(&Holder { criterion: c.clone() }).unwrap();
        assert_eq!(parse(&text).unwrap(), c);
        let e = parse("[criterion]\nname = \"surrogate_precision\"\n").unwrap_err();
        assert!(e.contains("criterion (surrogate_precision)") && e.contains("k"), "{e}");
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
}
