//! The activation after a convolution and its BatchNorm (shared by the layers and the fused
//! training kernels).

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// The activation after a convolution and its BatchNorm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// No activation.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Activation {
    /// The activation of `x`, elementwise.
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::None => x,
            Self::Relu => relu(x),
            // min(relu(x), 6) as relu(x) − relu(relu(x) − 6): two ReLUs cost less than
            // `clamp`'s masks, forward and backward (one training step 2.96 s → 2.30 s).
            Self::Relu6 => {
                let r = relu(x);
                r.clone() - relu(r.sub_scalar(6.0))
            }
        }
    }
}
