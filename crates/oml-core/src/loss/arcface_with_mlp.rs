use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::LossError;
use super::arcface::{ArcFaceLoss, ArcFaceLossConfig, ArcFaceOutput};

/// Configuration of [`ArcFaceLossWithMlp`] (OML `ArcFaceLossWithMLP`, `losses/arcface.py`).
#[derive(Config, Debug, PartialEq)]
pub struct ArcFaceLossWithMlpConfig {
    /// Size of the embeddings fed to the MLP.
    pub in_features: usize,
    /// Output sizes of the MLP's layers (no default); the last is ArcFace's `in_features`.
    pub mlp_features: Vec<usize>,
    /// The ArcFace part; its `in_features` must equal the last MLP size.
    pub arcface: ArcFaceLossConfig,
}

/// ArcFace behind a projector: `torchvision.ops.MLP` (Linear, ReLU, …, Linear: no activation
/// after the last layer, no norm, no dropout) then [`ArcFaceLoss`]. The projector only exists
/// in training: keep it in the model if you want it at inference.
#[derive(Module, Debug)]
pub struct ArcFaceLossWithMlp {
    /// The projector's layers (ReLU between them).
    pub mlp: Vec<Linear>,
    /// ArcFace on the projector's output.
    pub arcface: ArcFaceLoss,
}

impl ArcFaceLossWithMlpConfig {
    /// The projector and the loss, on `device`.
    pub fn init(&self, device: &Device) -> Result<ArcFaceLossWithMlp, LossError> {
        let last = self.mlp_features.last().copied().ok_or(LossError::Shape {
            what: "mlp_features",
            expected: "at least one layer".to_owned(),
            got: "none".to_owned(),
        })?;
        if last != self.arcface.in_features {
            return Err(LossError::Shape {
                what: "ArcFace in_features",
                expected: format!("the last MLP size {last}"),
                got: self.arcface.in_features.to_string(),
            });
        }
        let mut sizes = vec![self.in_features];
        sizes.extend(&self.mlp_features);
        let mlp = sizes.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        Ok(ArcFaceLossWithMlp { mlp, arcface: self.arcface.init(device)? })
    }
}

impl ArcFaceLossWithMlp {
    /// The projector's output.
    ///
    /// # Shapes
    /// `x`: `[B, in_features]` → `[B, last MLP size]`.
    pub fn project(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.mlp.len().saturating_sub(1);
        self.mlp.iter().enumerate().fold(x, |h, (i, layer)| {
            let h = layer.forward(h);
            if i < last { relu(h) } else { h }
        })
    }

    /// # Shapes
    /// `x`: `[B, in_features]`, `labels`: `[B]` → as [`ArcFaceLoss::forward`].
    pub fn forward(&self, x: Tensor<2>, labels: &[u32]) -> Result<ArcFaceOutput, LossError> {
        self.arcface.forward(self.project(x), labels)
    }
}
