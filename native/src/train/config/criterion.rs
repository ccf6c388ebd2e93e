//! `[criterion]`: the triplet loss with a miner (OML's `TripletLossWithMiner`, the default
//! when `criterion.name` is absent) or ArcFace (OML's `ArcFaceLoss`).

use oml_core::loss::TripletLossWithMinerConfig;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    fn unknown_names_and_keys_are_named() {
        let e = parse("[criterion]\nname = \"arcfase\"\n").unwrap_err();
        assert!(e.contains("`arcfase` is unknown"), "{e}");
        let e = parse("[criterion]\nname = \"arcface\"\nmargin = 0.2\n").unwrap_err();
        assert!(e.contains("criterion (arcface)") && e.contains("margin"), "{e}");
        let e = parse("[criterion]\nname = 3\n").unwrap_err();
        assert!(e.contains("criterion.name must be a string"), "{e}");
    }
}
