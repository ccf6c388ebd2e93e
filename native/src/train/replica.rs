//! One replica's share of a step: the forward pass of a batch on a device and the
//! criterion's loss (what every [`super::strategy::Strategy`] runs per device).

use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{
    PairLoss, SurrogatePrecision, TripletLossPlain, TripletLossWithMiner, similarity_gap,
};
use oml_core::miner::{DynMiner, MinedPairs, PairMiner};
use oml_models::embedder::l2_normalise;

use super::criterion::Trainee;
use super::mixed::Mixed;

/// The loss of a step: the triplet loss with its miner, ArcFace (whose class weights are
/// part of the [`Trainee`]), the surrogate precision@k, a pair loss or Proxy-Anchor.
pub enum Criterion {
    Triplet(TripletLossWithMiner<DynMiner>),
    /// The triplet loss on batches laid out as triplets.
    TripletPlain(TripletLossPlain),
    ArcFace,
    /// ArcFace behind its projector (both part of the [`Trainee`]).
    ArcFaceWithMlp,
    SurrogatePrecision(SurrogatePrecision),
    /// A pair loss, over the pairs its miner picks or over all pairs.
    Pairs(Box<dyn PairLoss>, Option<Box<dyn PairMiner>>),
    /// Proxy-Anchor, whose proxies are part of the [`Trainee`].
    ProxyAnchor,
}

impl std::fmt::Debug for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Triplet(_) => "Criterion::Triplet",
            Self::TripletPlain(_) => "Criterion::TripletPlain",
            Self::ArcFace => "Criterion::ArcFace",
            Self::ArcFaceWithMlp => "Criterion::ArcFaceWithMlp",
            Self::SurrogatePrecision(_) => "Criterion::SurrogatePrecision",
            Self::Pairs(..) => "Criterion::Pairs",
            Self::ProxyAnchor => "Criterion::ProxyAnchor",
        })
    }
}

impl Criterion {
    /// What the progress bar shows beside the loss.
    pub fn watched(&self) -> &'static str {
        match self {
            Self::Triplet(_) | Self::TripletPlain(_) => "active",
            Self::ArcFace | Self::ArcFaceWithMlp => "acc",
            Self::SurrogatePrecision(_) => "prec",
            Self::Pairs(..) | Self::ProxyAnchor => "gap",
        }
    }
}

/// One device's batch: `[n, 3, h, w]` pixels, the rows' labels, and their ArcFace class ids.
#[derive(Debug, Clone)]
pub struct Batch {
    pub pixels: Vec<f32>,
    pub shape: [usize; 4],
    pub labels: Vec<u32>,
    pub classes: Vec<u32>,
    /// The rows' domain ids when the triplets are mined across domains.
    pub domains: Option<Vec<u32>>,
}

/// The mean loss of a step over its batches, and the mean of what the criterion reports
/// (active triplets, ArcFace accuracy, the smoothed precision@k, or the gap between the mean
/// positive and negative cosine similarity).
#[derive(Debug, Clone, Copy)]
pub struct StepStats {
    pub loss: f64,
    pub watched: f64,
}

/// The loss of `trainee` on `batch` (on `device`, the forward pass in `mixed`'s precision),
/// times `scale`, and the criterion's figure.
pub fn replica_loss(
    trainee: &Trainee,
    criterion: &Criterion,
    normalise: bool,
    batch: &Batch,
    device: &Device,
    scale: f64,
    mixed: &Mixed,
) -> anyhow::Result<(Tensor<1>, f64, f64)> {
    let x = Tensor::<4>::from_data(TensorData::new(batch.pixels.clone(), batch.shape), device);
    let mut e = mixed.extract(&trainee.model, x);
    if normalise {
        e = l2_normalise(e);
    }
    let (loss, watched) = match (criterion, &trainee.arcface) {
        (Criterion::Triplet(t), _) => {
            let out = match &batch.domains {
                Some(domains) => t.forward_across(e, &batch.labels, domains)?,
                None => t.forward(e, &batch.labels)?,
            };
            (out.loss, out.logs.map_or(f64::NAN, |l| l.active_tri))
        }
        (Criterion::TripletPlain(t), _) => {
            let out = t.forward(e)?;
            (out.loss, out.logs.map_or(f64::NAN, |l| l.active_tri))
        }
        (Criterion::ArcFace, Some(a)) => {
            let out = a.forward(e, &batch.classes)?;
            (out.loss, out.accuracy)
        }
        (Criterion::ArcFace, None) => anyhow::bail!("the ArcFace criterion has no class weights"),
        (Criterion::ArcFaceWithMlp, _) => {
            let Some(a) = &trainee.arcface_mlp else {
                anyhow::bail!("the ArcFace-with-MLP criterion has no projector")
            };
            let out = a.forward(e, &batch.classes)?;
            (out.loss, out.accuracy)
        }
        (Criterion::SurrogatePrecision(p), _) => {
            let loss = p.forward(e, &batch.labels)?;
            // The batch's smoothed precision@k: 1 − loss.
            let precision =
                loss.clone().try_into_scalar::<f32>().map_or(f64::NAN, |l| 1.0 - f64::from(l));
            (loss, precision)
        }
        (Criterion::ProxyAnchor, _) => {
            let Some(proxies) = &trainee.proxies else {
                anyhow::bail!("the Proxy-Anchor criterion has no proxies")
            };
            let gap = similarity_gap(e.clone(), &batch.labels);
            (proxies.forward(e, &batch.classes)?, gap)
        }
        (Criterion::Pairs(loss, miner), _) => {
            let gap = similarity_gap(e.clone(), &batch.labels);
            let pairs = match miner {
                Some(m) => m.mine_pairs(&e, &batch.labels)?,
                None => MinedPairs::all(&batch.labels),
            };
            (loss.forward_pairs(e, &batch.labels, &pairs)?, gap)
        }
    };
    let value = f64::from(loss.clone().try_into_scalar::<f32>().map_err(|e| {
        anyhow::anyhow!(
            "the device failed during a step: {e}; lower the batch (sampler.n_labels × \
             n_instances) or the image size, or train with precision = 16"
        )
    })?);
    if !value.is_finite() {
        anyhow::bail!("the loss became {value}");
    }
    let loss = if (scale - 1.0).abs() > 0.0 { loss.mul_scalar(scale) } else { loss };
    Ok((loss, value, watched))
}
