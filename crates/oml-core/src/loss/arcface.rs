use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use super::LossError;
use super::cross_entropy::{Smoothing, smoothed_cross_entropy};
use super::reduction::Reduction;

/// Configuration of [`ArcFaceLoss`] (OML `ArcFaceLoss`, `losses/arcface.py:12`).
#[derive(Config, Debug, PartialEq)]
pub struct ArcFaceLossConfig {
    /// Size of the embeddings.
    pub in_features: usize,
    /// Number of training classes; labels must be in `0..num_classes`.
    pub num_classes: usize,
    /// Additive angular margin. Default 0.5.
    #[config(default = 0.5)]
    pub m: f64,
    /// Logit scale. Default 64.
    #[config(default = 64.0)]
    pub s: f64,
    /// Label smoothing strength in `[0, 1)`. Default 0 (none).
    #[config(default = 0.0)]
    pub smoothing_epsilon: f64,
    /// Category of each class (`label2category`): smoothing then spreads epsilon over the
    /// classes of the sample's own category only. Default none.
    #[config(default = "None")]
    pub label2category: Option<Vec<u32>>,
    /// Reduction over the batch. Default mean.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

/// ArcFace (Deng et al. 2019, arXiv:1801.07698) with OML's details:
/// `cos = normalize(x) · normalize(W)ᵀ`; for the target class the logit is `cos(θ + m)` =
/// `cos·cos m − sin·sin m` when `cos > −cos m`, else `cos − m·sin m`; every logit is scaled
/// by `s`; the loss is cross-entropy against one-hot or smoothed targets
/// (`(1−ε)·onehot + ε/C`, or `ε/|category|` on the classes of the sample's category).
///
/// Differs from OML only where OML yields NaN: `sin = sqrt(max(1 − cos², 0))` instead of the
/// square root of a value that rounding can make negative.
#[derive(Module, Debug)]
pub struct ArcFaceLoss {
    /// `[num_classes, in_features]`, Xavier-uniform initialised (as OML).
    pub weight: Param<Tensor<2>>,
    m: f64,
    s: f64,
    smoothing_epsilon: f64,
    label2category: Option<Vec<u32>>,
    #[module(skip)]
    reduction: Reduction,
}

/// The loss and the share of samples whose nearest class centre (before the margin) is their
/// label (OML logs it as `accuracy`).
#[derive(Debug, Clone)]
pub struct ArcFaceOutput {
    /// `[1]`: the mean loss over the batch.
    pub loss: Tensor<1>,
    /// Share of samples whose nearest class centre is their label.
    pub accuracy: f64,
}

impl ArcFaceLossConfig {
    fn check(&self) -> Result<(), LossError> {
        if !(0.0..1.0).contains(&self.smoothing_epsilon) {
            return Err(LossError::BadSmoothing(self.smoothing_epsilon));
        }
        if self.s.is_nan() || self.s <= 0.0 {
            return Err(LossError::NotPositive { name: "s", value: self.s });
        }
        if let Some(c) = &self.label2category
            && c.len() != self.num_classes
        {
            return Err(LossError::CategoryCount { got: c.len(), num_classes: self.num_classes });
        }
        Ok(())
    }

    /// A loss with a freshly initialised weight.
    pub fn init(&self, device: &Device) -> Result<ArcFaceLoss, LossError> {
        let weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
            [self.num_classes, self.in_features],
            Some(self.in_features),
            Some(self.num_classes),
            device,
        );
        self.with_weight(weight)
    }

    /// A loss around a given weight (e.g. loaded from a checkpoint).
    pub fn with_weight(&self, weight: Param<Tensor<2>>) -> Result<ArcFaceLoss, LossError> {
        self.check()?;
        let dims = weight.dims();
        if dims != [self.num_classes, self.in_features] {
            return Err(LossError::Shape {
                what: "ArcFace weight",
                expected: format!("[{}, {}]", self.num_classes, self.in_features),
                got: format!("{dims:?}"),
            });
        }
        Ok(ArcFaceLoss {
            weight,
            m: self.m,
            s: self.s,
            smoothing_epsilon: self.smoothing_epsilon,
            label2category: self.label2category.clone(),
            reduction: self.reduction,
        })
    }
}

/// Rows scaled to unit length (`F.normalize`, eps 1e-12).
fn normalize_rows(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

impl ArcFaceLoss {
    fn num_classes(&self) -> usize {
        self.weight.dims()[0]
    }

    /// # Shapes
    /// `x`: `[B, in_features]`, `labels`: `[B]` in `0..num_classes` → loss `[1]` (or `[B]`).
    ///
    /// On the flex (CPU) backend this runs as one fused operation with a hand-written backward
    /// pass (`arcface_fused.rs`, feature `flex-kernels`); elsewhere as
    /// [`Self::forward_tensor_ops`]. Both give the same value and gradients.
    pub fn forward(&self, x: Tensor<2>, labels: &[u32]) -> Result<ArcFaceOutput, LossError> {
        self.check_inputs(&x, labels)?;
        #[cfg(feature = "flex-kernels")]
        if super::arcface_fused::available(&x.device())
            && x.dtype() == burn::tensor::DType::F32
            && self.weight.val().dtype() == burn::tensor::DType::F32
        {
            return Ok(self.forward_fused(x, labels));
        }
        Ok(self.forward_unchecked(x, labels))
    }

    /// The backend-independent formulation (burn tensor operations, autodiff's gradients):
    /// what [`Self::forward`] runs on backends without the fused operation.
    pub fn forward_tensor_ops(
        &self,
        x: Tensor<2>,
        labels: &[u32],
    ) -> Result<ArcFaceOutput, LossError> {
        self.check_inputs(&x, labels)?;
        Ok(self.forward_unchecked(x, labels))
    }

    #[cfg(feature = "flex-kernels")]
    fn forward_fused(&self, x: Tensor<2>, labels: &[u32]) -> ArcFaceOutput {
        let b = labels.len();
        let spec = super::arcface_fused::ArcFaceSpec {
            labels: labels.to_vec(),
            m: self.m,
            s: self.s,
            epsilon: self.smoothing_epsilon,
            category: self.label2category.clone(),
        };
        let out =
            super::arcface_fused::arcface_cross_entropy(normalize_rows(x), self.weight.val(), spec);
        let correct: f32 = out.clone().detach().slice([0..b, 1..2]).into_data().iter::<f32>().sum();
        let per_sample = out.slice([0..b, 0..1]).squeeze_dim::<1>(1);
        ArcFaceOutput {
            loss: self.reduction.apply(per_sample),
            accuracy: f64::from(correct) / b.max(1) as f64,
        }
    }

    fn check_inputs(&self, x: &Tensor<2>, labels: &[u32]) -> Result<(), LossError> {
        let c = self.num_classes();
        let [b, d] = x.dims();
        if labels.len() != b || d != self.weight.dims()[1] {
            return Err(LossError::Shape {
                what: "ArcFace input",
                expected: format!(
                    "[{}, {}] with {} labels",
                    labels.len(),
                    self.weight.dims()[1],
                    labels.len()
                ),
                got: format!("[{b}, {d}] with {} labels", labels.len()),
            });
        }
        if let Some(&label) = labels.iter().find(|&&l| l as usize >= c) {
            return Err(LossError::LabelOutOfRange { label, num_classes: c });
        }
        Ok(())
    }

    fn forward_unchecked(&self, x: Tensor<2>, labels: &[u32]) -> ArcFaceOutput {
        let b = labels.len();
        let device = x.device();
        // s·(x̂ · ŵ_cᵀ) = (x̂ · w_cᵀ) / (‖w_c‖ / s): one division of the [B, C] product by the
        // scaled class norms instead of normalising the (usually larger) [C, D] weight and
        // scaling the logits separately.
        let weight = self.weight.val();
        let scaled_norms = weight
            .clone()
            .square()
            .sum_dim(1)
            .sqrt()
            .clamp_min(1e-12)
            .div_scalar(self.s)
            .transpose();
        let scaled_cos = normalize_rows(x).matmul(weight.transpose()) / scaled_norms; // [B, C]
        let accuracy = accuracy(&scaled_cos, labels);

        // Only the label column gets the margin: work on it alone, then add it back in.
        let label_ids: Vec<i64> = labels.iter().map(|&y| i64::from(y)).collect();
        let label_ids = Tensor::<2, Int>::from_data(TensorData::new(label_ids, [b, 1]), &device);
        let cos_y = scaled_cos.clone().gather(1, label_ids.clone()).div_scalar(self.s); // [B, 1]
        let (cos_m, sin_m) = (self.m.cos(), self.m.sin());
        let sin_y = cos_y.clone().square().neg().add_scalar(1.0).clamp_min(0.0).sqrt();
        let with_margin = cos_y.clone().mul_scalar(cos_m) - sin_y.mul_scalar(sin_m);
        let beyond = cos_y.clone().lower_equal_elem(-cos_m); // the "easy margin off" fallback
        let with_margin = with_margin.mask_where(beyond, cos_y.clone().sub_scalar(sin_m * self.m));
        let shift = (with_margin - cos_y).mul_scalar(self.s);
        let logits = scaled_cos.scatter(1, label_ids.clone(), shift, IndexingUpdateOp::Add);

        let smoothing = match &self.label2category {
            None => Smoothing::Uniform,
            Some(category) => Smoothing::WithinCategory(category),
        };
        let per_sample =
            smoothed_cross_entropy(logits, &label_ids, labels, self.smoothing_epsilon, smoothing);
        ArcFaceOutput { loss: self.reduction.apply(per_sample), accuracy }
    }
}

fn accuracy(cos: &Tensor<2>, labels: &[u32]) -> f64 {
    let predicted = cos.clone().detach().argmax(1).try_into_vec_as::<i64>().unwrap_or_default();
    let hits = predicted.iter().zip(labels).filter(|&(&p, &y)| p == i64::from(y)).count();
    hits as f64 / labels.len().max(1) as f64
}
