//! `[criterion]`: the triplet loss with a miner (OML's `TripletLossWithMiner`, the default
//! when `criterion.name` is absent), the plain triplet loss on triplets given or drawn (OML's
//! `TripletLossPlain`), ArcFace (OML's `ArcFaceLoss`, and `ArcFaceLossWithMLP`
//! behind a projector), the surrogate
//! precision@k (OML's `SurrogatePrecision`), pytorch-metric-learning's Proxy-Anchor, or one of
//! its pair losses (`contrastive`, `multi_similarity`, `ntxent`, `circle`, `margin`).

use std::path::PathBuf;

use oml_core::loss::{
    CircleLossConfig, ContrastiveLossConfig, LossError, MarginLossConfig,
    MultiSimilarityLossConfig, NtXentLossConfig, PairLoss, Reduction, SurrogatePrecisionConfig,
    TripletLossConfig, TripletLossPlain, TripletLossWithMinerConfig,
};
use oml_core::miner::{PairMiner, PairMinerConfig};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[criterion]` of a config: `name = "triplet_with_miner"` (default), `"arcface"`,
/// `"surrogate_precision"` or a pair loss, then that criterion's own keys.
#[derive(Debug, Clone, PartialEq)]
pub enum CriterionSection {
    TripletWithMiner(TripletLossWithMinerConfig),
    TripletPlain(TripletPlainSection),
    ArcFace(ArcFaceSection),
    ArcFaceWithMlp(ArcFaceWithMlpSection),
    SurrogatePrecision(SurrogatePrecisionSection),
    Pairs(PairLossSection),
    ProxyAnchor(ProxyAnchorSection),
}

/// The triplet loss over batches laid out as triplets (OML `TripletLossPlain`: rows `3t`,
/// `3t+1`, `3t+2` are anchor, positive, negative), with its OML keys. The triplets come from
/// `triplets`, a CSV of the user's own (columns `anchor`, `positive`, `negative`, each the
/// `path` of a training row as the dataset CSV writes it; relative to `dataset_root`),
/// shuffled each epoch, or without it are drawn from the labels each epoch (every training
/// row the anchor of one triplet; `oml_core::sampler::TripletSampler`). They replace the
/// `[sampler]`'s batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TripletPlainSection {
    /// Margin of the hinge; absent = soft margin (OML's `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Default mean.
    #[serde(default)]
    pub reduction: Reduction,
    /// Default false (the progress shows the active share either way).
    #[serde(default)]
    pub need_logs: bool,
    /// The triplets CSV; drawn from the labels when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triplets: Option<PathBuf>,
    /// Triplets per batch. Default: the `[sampler]`'s batch size / 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triplets_per_batch: Option<usize>,
}

impl TripletPlainSection {
    /// The loss (with logs: the progress shows the share of active triplets).
    pub fn init(&self) -> Result<TripletLossPlain, LossError> {
        let loss = TripletLossConfig::new()
            .with_margin(self.margin)
            .with_reduction(self.reduction)
            .with_need_logs(true)
            .init()?;
        Ok(TripletLossPlain { loss })
    }
}

/// PML's Proxy-Anchor loss on the training labels (formula in
/// `oml_core::loss::ProxyAnchorLoss`): one trainable proxy per class, the number of classes
/// and the embedding size from the data and the model. The proxies train at `optimizer.lr`
/// (the paper trains them 100x faster than the backbone: `optimizer.backbone_lr`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyAnchorSection {
    /// Margin δ. Default 0.1 (PML).
    #[serde(default = "tenth")]
    pub margin: f64,
    /// Scale α. Default 32 (PML).
    #[serde(default = "thirty_two")]
    pub alpha: f64,
    /// Start each proxy at the mean embedding of its class's training images under the starting
    /// model (as `arcface.imprint`) instead of PML's random normal proxies. Default true.
    #[serde(default = "yes")]
    pub imprint: bool,
}

fn tenth() -> f64 {
    0.1
}
fn thirty_two() -> f64 {
    32.0
}

/// pytorch-metric-learning's pair losses, with PML's keys and defaults (formulas in
/// `oml_core::loss`), over every pair of the batch or over the pairs a `miner` picks
/// (`{ name = "multi_similarity", epsilon = 0.1 }` or `{ name = "pair_margin", pos_margin =
/// 0.2, neg_margin = 0.8 }`). The losses normalise the embeddings themselves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum PairLossSection {
    /// PML `ContrastiveLoss`.
    Contrastive {
        #[serde(default)]
        pos_margin: f64,
        #[serde(default = "one")]
        neg_margin: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        miner: Option<PairMinerConfig>,
    },
    /// PML `MultiSimilarityLoss`.
    MultiSimilarity {
        #[serde(default = "two")]
        alpha: f64,
        #[serde(default = "fifty")]
        beta: f64,
        #[serde(default = "half")]
        base: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        miner: Option<PairMinerConfig>,
    },
    /// PML `NTXentLoss` (the supervised contrastive loss when labels repeat in the batch).
    Ntxent {
        #[serde(default = "seven_hundredths")]
        temperature: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        miner: Option<PairMinerConfig>,
    },
    /// PML `MarginLoss` (fixed β).
    Margin {
        #[serde(default = "point_two")]
        margin: f64,
        #[serde(default = "one_point_two")]
        beta: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        miner: Option<PairMinerConfig>,
    },
    /// PML `CircleLoss`.
    Circle {
        #[serde(default = "four_tenths")]
        m: f64,
        #[serde(default = "eighty")]
        gamma: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        miner: Option<PairMinerConfig>,
    },
}

impl PairLossSection {
    /// The criterion's name in a config.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Contrastive { .. } => "contrastive",
            Self::MultiSimilarity { .. } => "multi_similarity",
            Self::Ntxent { .. } => "ntxent",
            Self::Circle { .. } => "circle",
            Self::Margin { .. } => "margin",
        }
    }

    /// The pair miner, if one is named.
    pub fn miner(&self) -> Option<PairMinerConfig> {
        match *self {
            Self::Contrastive { miner, .. }
            | Self::MultiSimilarity { miner, .. }
            | Self::Ntxent { miner, .. }
            | Self::Circle { miner, .. }
            | Self::Margin { miner, .. } => miner,
        }
    }

    /// The loss and its miner; an error names a value out of range.
    pub fn init(&self) -> Result<MinedPairLoss, String> {
        let miner =
            self.miner().map(|m| m.init()).transpose().map_err(|e| format!("miner: {e}"))?;
        Ok((self.loss().map_err(|e| e.to_string())?, miner))
    }

    fn loss(&self) -> Result<Box<dyn PairLoss>, LossError> {
        Ok(match *self {
            Self::Contrastive { pos_margin, neg_margin, .. } => Box::new(
                ContrastiveLossConfig::new()
                    .with_pos_margin(pos_margin)
                    .with_neg_margin(neg_margin)
                    .init()?,
            ),
            Self::MultiSimilarity { alpha, beta, base, .. } => Box::new(
                MultiSimilarityLossConfig::new()
                    .with_alpha(alpha)
                    .with_beta(beta)
                    .with_base(base)
                    .init()?,
            ),
            Self::Ntxent { temperature, .. } => {
                Box::new(NtXentLossConfig::new().with_temperature(temperature).init()?)
            }
            Self::Margin { margin, beta, .. } => {
                Box::new(MarginLossConfig::new().with_margin(margin).with_beta(beta).init()?)
            }
            Self::Circle { m, gamma, .. } => {
                Box::new(CircleLossConfig::new().with_m(m).with_gamma(gamma).init()?)
            }
        })
    }
}

/// A pair loss and the miner that picks its pairs (all pairs without one).
pub type MinedPairLoss = (Box<dyn PairLoss>, Option<Box<dyn PairMiner>>);

fn point_two() -> f64 {
    0.2
}
fn one_point_two() -> f64 {
    1.2
}
fn two() -> f64 {
    2.0
}
fn fifty() -> f64 {
    50.0
}
fn seven_hundredths() -> f64 {
    0.07
}
fn four_tenths() -> f64 {
    0.4
}
fn eighty() -> f64 {
    80.0
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

/// ArcFace behind a projector (OML `ArcFaceLossWithMLP`; `oml_core::loss::ArcFaceLossWithMlp`):
/// a `torchvision.ops.MLP` (Linear, ReLU, …, Linear) from the model's embedding to
/// `mlp_features`' last size, then ArcFace on its output. The projector trains with the
/// class weights and, as in OML, is not part of the exported model: it lives in the
/// checkpoint's `criterion.bpk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcFaceWithMlpSection {
    /// Output sizes of the projector's layers (required, at least one).
    pub mlp_features: Vec<usize>,
    /// Additive angular margin. Default 0.5 (OML).
    #[serde(default = "half")]
    pub m: f64,
    /// Logit scale. Default 64 (OML).
    #[serde(default = "sixty_four")]
    pub s: f64,
    /// Label smoothing in `[0, 1)`. Default 0.
    #[serde(default)]
    pub smoothing_epsilon: f64,
    /// As `arcface.smooth_within_categories`. Default false.
    #[serde(default)]
    pub smooth_within_categories: bool,
    /// Start each class's weight at the mean projected embedding of its training images (the
    /// starting model through the freshly initialised projector), as `arcface.imprint`.
    /// Default true.
    #[serde(default = "yes")]
    pub imprint: bool,
}

impl ArcFaceWithMlpSection {
    /// The ArcFace keys, for the class weights after the projector.
    pub fn arcface(&self) -> ArcFaceSection {
        ArcFaceSection {
            m: self.m,
            s: self.s,
            smoothing_epsilon: self.smoothing_epsilon,
            smooth_within_categories: self.smooth_within_categories,
            imprint: self.imprint,
        }
    }
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
const TRIPLET_PLAIN: &str = "triplet_plain";
const ARCFACE: &str = "arcface";
const ARCFACE_WITH_MLP: &str = "arcface_with_mlp";
/// OML's registry name of `ArcFaceLossWithMLP`.
const MLP_ARCFACE: &str = "mlp_arcface";
const SURROGATE_PRECISION: &str = "surrogate_precision";
const PROXY_ANCHOR: &str = "proxy_anchor";
const PAIR_LOSSES: [&str; 5] = ["contrastive", "multi_similarity", "ntxent", "circle", "margin"];

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
            TRIPLET_PLAIN => table.clone().try_into().map(Self::TripletPlain).map_err(fields),
            ARCFACE => table.clone().try_into().map(Self::ArcFace).map_err(fields),
            ARCFACE_WITH_MLP | MLP_ARCFACE => {
                table.clone().try_into().map(Self::ArcFaceWithMlp).map_err(fields)
            }
            SURROGATE_PRECISION => {
                table.clone().try_into().map(Self::SurrogatePrecision).map_err(fields)
            }
            PROXY_ANCHOR => table.clone().try_into().map(Self::ProxyAnchor).map_err(fields),
            name if PAIR_LOSSES.contains(&name) => {
                table.insert("name".to_owned(), toml::Value::String(name.to_owned()));
                table.clone().try_into().map(Self::Pairs).map_err(fields)
            }
            other => Err(D::Error::custom(format!(
                "criterion.name `{other}` is unknown: expected `{TRIPLET}`, `{TRIPLET_PLAIN}`, \
                 `{ARCFACE}`, \
                 `{ARCFACE_WITH_MLP}` (OML's `{MLP_ARCFACE}`), `{SURROGATE_PRECISION}`, \
                 `{PROXY_ANCHOR}` or one of {}",
                PAIR_LOSSES.map(|n| format!("`{n}`")).join(", ")
            ))),
        }
    }
}

impl Serialize for CriterionSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let (name, value) = match self {
            Self::TripletWithMiner(c) => (TRIPLET, toml::Value::try_from(c)),
            Self::TripletPlain(c) => (TRIPLET_PLAIN, toml::Value::try_from(c)),
            Self::ArcFace(c) => (ARCFACE, toml::Value::try_from(c)),
            Self::ArcFaceWithMlp(c) => (ARCFACE_WITH_MLP, toml::Value::try_from(c)),
            Self::SurrogatePrecision(c) => (SURROGATE_PRECISION, toml::Value::try_from(c)),
            // The section carries its own `name`.
            Self::Pairs(c) => (c.name(), toml::Value::try_from(c)),
            Self::ProxyAnchor(c) => (PROXY_ANCHOR, toml::Value::try_from(c)),
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
    fn triplet_plain_has_oml_keys_and_round_trips() {
        let c = parse("[criterion]\nname = \"triplet_plain\"\nmargin = 0.1\n").unwrap();
        let CriterionSection::TripletPlain(t) = c.clone() else { panic!("{c:?}") };
        assert_eq!((t.margin, t.triplets.as_ref(), t.triplets_per_batch), (Some(0.1), None, None));
        let text =
            "[criterion]\nname = \"triplet_plain\"\ntriplets = \"t.csv\"\ntriplets_per_batch = 8\n";
        let c = parse(text).unwrap();
        let round = toml::to_string(&Holder { criterion: c.clone() }).unwrap();
        assert_eq!(parse(&round).unwrap(), c, "{round}");
        let bad = TripletPlainSection { margin: Some(-1.0), ..t };
        assert!(bad.init().is_err());
    }

    #[test]
    fn arcface_with_mlp_takes_oml_keys_and_registry_name() {
        for name in ["arcface_with_mlp", "mlp_arcface"] {
            let text =
                format!("[criterion]\nname = \"{name}\"\nmlp_features = [64, 32]\ns = 30.0\n");
            let c = parse(&text).unwrap();
            let CriterionSection::ArcFaceWithMlp(a) = c.clone() else { panic!("{c:?}") };
            assert_eq!(
                (a.mlp_features.as_slice(), a.m, a.s, a.imprint),
                ([64, 32].as_slice(), 0.5, 30.0, true)
            );
            let round = toml::to_string(&Holder { criterion: c.clone() }).unwrap();
            assert!(round.contains("name = \"arcface_with_mlp\""), "{round}");
            assert_eq!(parse(&round).unwrap(), c);
        }
        let e = parse("[criterion]\nname = \"arcface_with_mlp\"\n").unwrap_err();
        assert!(e.contains("criterion (arcface_with_mlp)") && e.contains("mlp_features"), "{e}");
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
    fn pair_losses_have_pml_defaults_and_round_trip() {
        for (text, want) in [
            (
                "name = \"contrastive\"",
                PairLossSection::Contrastive { pos_margin: 0.0, neg_margin: 1.0, miner: None },
            ),
            (
                "name = \"multi_similarity\"\nbeta = 40.0\nminer = { name = \"multi_similarity\" }",
                PairLossSection::MultiSimilarity {
                    alpha: 2.0,
                    beta: 40.0,
                    base: 0.5,
                    miner: Some(PairMinerConfig::MultiSimilarity { epsilon: 0.1 }),
                },
            ),
            ("name = \"ntxent\"", PairLossSection::Ntxent { temperature: 0.07, miner: None }),
            (
                "name = \"circle\"\nm = 0.25\nminer = { name = \"pair_margin\", neg_margin = 1.0 }",
                PairLossSection::Circle {
                    m: 0.25,
                    gamma: 80.0,
                    miner: Some(PairMinerConfig::PairMargin { pos_margin: 0.2, neg_margin: 1.0 }),
                },
            ),
        ] {
            let c = parse(&format!("[criterion]\n{text}\n")).unwrap();
            assert_eq!(c, CriterionSection::Pairs(want), "{text}");
            let round = toml::to_string(&Holder { criterion: c.clone() }).unwrap();
            assert_eq!(parse(&round).unwrap(), c, "{round}");
            assert!(want.init().is_ok());
        }
        let e = parse("[criterion]\nname = \"circle\"\nmargin = 0.2\n").unwrap_err();
        assert!(e.contains("criterion (circle)") && e.contains("margin"), "{e}");
        let bad = PairLossSection::Ntxent { temperature: 0.0, miner: None };
        assert!(bad.init().err().unwrap().contains("temperature"));
        let e = parse("[criterion]\nname = \"ntxent\"\nminer = { name = \"hard_triplets\" }\n")
            .unwrap_err();
        assert!(e.contains("criterion (ntxent)") && e.contains("hard_triplets"), "{e}");
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
