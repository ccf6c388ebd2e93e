//! Building blocks shared by the convolutional extractors.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, FloatDType, Tensor};

pub use super::activation::Activation;

/// How a [`ConvBn`] pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `(kernel − 1) / 2` on every side (PyTorch's usual choice for odd kernels).
    Symmetric,
    /// TensorFlow's `SAME`: the output is `ceil(input / stride)` and the extra row or column
    /// goes to the bottom and right (EfficientNet ports trained in TensorFlow).
    TfSame,
}

/// Conv (no bias), BatchNorm, activation: torchvision's `Conv2dNormActivation`.
/// After [`ConvBn::fold`] the BatchNorm lives in the convolution's weight and bias.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// Its BatchNorm (`None` once folded into the convolution).
    pub bn: Option<BatchNorm>,
    #[module(skip)]
    act: Activation,
    /// A 1 × 1 convolution with stride 1 and one group, run as a matrix product when training.
    #[module(skip)]
    pointwise: bool,
}

/// Shape of one [`ConvBn`].
#[derive(Clone, Copy, Debug)]
pub struct ConvBnSpec {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Groups (the channels for a depthwise convolution).
    pub groups: usize,
    /// How the input is padded.
    pub padding: Padding,
    /// The activation after the BatchNorm.
    pub act: Activation,
    /// The BatchNorm's epsilon.
    pub bn_epsilon: f64,
}

impl ConvBnSpec {
    /// A dense `kernel × kernel` convolution, stride 1, symmetric padding, no activation,
    /// BatchNorm epsilon 1e-5 (PyTorch's default).
    pub fn new(channels: [usize; 2], kernel: usize) -> Self {
        Self {
            channels,
            kernel,
            stride: 1,
            groups: 1,
            padding: Padding::Symmetric,
            act: Activation::None,
            bn_epsilon: 1e-5,
        }
    }
    /// With this stride.
    pub fn stride(self, stride: usize) -> Self {
        Self { stride, ..self }
    }
    /// Depthwise: one group per channel.
    pub fn depthwise(self) -> Self {
        Self { groups: self.channels[1], ..self }
    }
    /// With this activation.
    pub fn act(self, act: Activation) -> Self {
        Self { act, ..self }
    }
    /// With this padding.
    pub fn padding(self, padding: Padding) -> Self {
        Self { padding, ..self }
    }
    /// With this BatchNorm epsilon.
    pub fn eps(self, bn_epsilon: f64) -> Self {
        Self { bn_epsilon, ..self }
    }

    /// The layer with random weights on `device`.
    pub fn init(self, device: &Device) -> ConvBn {
        let padding = match self.padding {
            Padding::Symmetric => {
                let p = (self.kernel - 1) / 2;
                PaddingConfig2d::Explicit(p, p, p, p)
            }
            Padding::TfSame => PaddingConfig2d::Same,
        };
        let conv = Conv2dConfig::new(self.channels, [self.kernel, self.kernel])
            .with_stride([self.stride, self.stride])
            .with_padding(padding)
            .with_groups(self.groups)
            .with_bias(false)
            .init(device);
        let bn = BatchNormConfig::new(self.channels[1]).with_epsilon(self.bn_epsilon).init(device);
        let pointwise = self.kernel == 1 && self.stride == 1 && self.groups == 1;
        ConvBn { conv, bn: Some(bn), act: self.act, pointwise }
    }
}

impl ConvBn {
    /// # Shapes
    /// `[B, C_in, H, W]` → `[B, C_out, H', W']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // Training: a matrix product, whose backward is two GEMMs. Inference keeps flex's 1 × 1
        // convolution, which is faster there (MobileNetV2 forward 377 vs 432 ms).
        let y = if self.pointwise && x.device().is_autodiff() {
            pointwise_conv(&self.conv, x)
        } else {
            convolution(&self.conv, x)
        };
        match &self.bn {
            Some(bn) => batch_norm_act(bn, y, self.act),
            None => self.act.apply(y),
        }
    }

    /// For inference: `conv(x)·s + (β − μ·s)` with `s = γ / sqrt(σ² + ε)`, the BatchNorm's
    /// running statistics as the convolution's own scale and bias. Do not train the result.
    pub fn fold(mut self) -> Self {
        let Some(bn) = self.bn.take() else { return self };
        let scale = bn.gamma.val() / bn.running_var.value().add_scalar(bn.epsilon).sqrt(); // [out]
        let bias = bn.beta.val() - bn.running_mean.value() * scale.clone();
        let [out] = scale.dims();
        let weight = self.conv.weight.val() * scale.clone().reshape([out, 1, 1, 1]);
        let bias = match &self.conv.bias {
            Some(b) => b.val() * scale + bias,
            None => bias,
        };
        self.conv.weight = Param::from_tensor(weight.detach());
        self.conv.bias = Some(Param::from_tensor(bias.detach()));
        self
    }
}

/// `conv.forward(x)`; on flex (feature `flex-kernels`) a depthwise convolution with symmetric
/// padding runs as a direct stencil: with a hand-written backward when it has no bias
/// (training), forward only with a bias (inference, BatchNorm folded in); same values and
/// gradients (`fused_depthwise.rs`).
///
/// # Shapes
/// `[B, C_in, H, W]` → `[B, C_out, H', W']`.
pub fn convolution(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    {
        use super::fused_depthwise::{Geometry, available, depthwise_conv, depthwise_conv_bias};
        let [out, per_group, kh, kw] = conv.weight.dims();
        let stride = conv.stride[0];
        let padding = match &conv.padding {
            PaddingConfig2d::Explicit(t, l, b, r) if t == l && t == b && t == r => Some(*t),
            PaddingConfig2d::Valid => Some(0),
            _ => None,
        };
        if let Some(padding) = padding
            && conv.groups == out
            && per_group == 1
            && x.dims()[1] == out
            && kh == kw
            && conv.stride[1] == stride
            && conv.dilation == [1, 1]
            && available(&x, &conv.weight.val())
        {
            let geometry = Geometry { stride, padding };
            match &conv.bias {
                None => return depthwise_conv(x, conv.weight.val(), geometry),
                // Inference (BatchNorm folded in): the forward-only kernel.
                Some(bias) if !x.device().is_autodiff() => {
                    return depthwise_conv_bias(x, conv.weight.val(), bias.val(), geometry);
                }
                Some(_) => {}
            }
        }
    }
    conv.forward(x)
}

/// `act(bn(x))`. Training on flex (feature `flex-kernels`), the two run as one operation with
/// a hand-written backward (`fused_batch_norm.rs`: same values, gradients and running
/// statistics); elsewhere as burn's `BatchNorm::forward` then [`Activation::apply`].
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H, W]`.
pub fn batch_norm_act(bn: &BatchNorm, x: Tensor<4>, act: Activation) -> Tensor<4> {
    // Half precision (`precision::cast_module` leaves BatchNorms in f32, as mixed-precision
    // training does): the normalisation and its statistics in f32, the output in x's type.
    let dtype = x.dtype();
    if dtype != bn.gamma.val().dtype() {
        let y = act.apply(bn.forward(x.cast(FloatDType::F32)));
        return y.cast(FloatDType::from(dtype));
    }
    #[cfg(feature = "flex-kernels")]
    if bn.training.is_enabled()
        && x.device().is_autodiff()
        && super::fused_batch_norm::available(&x, &x.device())
    {
        return super::fused_batch_norm::batch_norm_act_train(x, bn, act);
    }
    act.apply(bn.forward(x))
}

/// A 1 × 1 convolution (stride 1, one group, no padding) as `W · X_b` per image:
/// `[1, C_out, C_in] × [B, C_in, H·W]`. Same values as `Conv2d::forward`; its backward is two
/// matrix products, where the convolution's backward goes through burn flex's general
/// (im2col and transposed-convolution) kernels.
fn pointwise_conv(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [b, c_in, h, w] = x.dims();
    let [c_out, ..] = conv.weight.dims();
    let weight = conv.weight.val().reshape([1, c_out, c_in]);
    let y = weight.matmul(x.reshape([b, c_in, h * w]));
    let y = match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, c_out, 1]),
        None => y,
    };
    y.reshape([b, c_out, h, w])
}

/// Global average pooling.
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C]`.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.reshape([b as i64, c as i64, -1]).mean_dim(2).reshape([b, c])
}

/// Generalised mean pooling (Radenović et al. 2018, arXiv:1711.02512; OML's `GEM`):
/// `(mean over H·W of max(x, ε)^p)^(1/p)` with `ε = 1e-6`. `p = 1` is average pooling and large
/// `p` approaches max pooling.
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C]`.
pub fn gem_pool(x: Tensor<4>, p: f64) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.clamp_min(1e-6)
        .powf_scalar(p)
        .reshape([b as i64, c as i64, -1])
        .mean_dim(2)
        .reshape([b, c])
        .powf_scalar(1.0 / p)
}

/// Inverted residual block (MobileNetV2's, and EfficientNet's MBConv without
/// squeeze-and-excitation): optional 1x1 expansion, depthwise `kernel × kernel`, 1x1 linear
/// projection, ReLU6 after the first two; a residual connection when the shape is kept.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1 x 1 expansion (none when the expansion ratio is 1).
    pub expand: Option<ConvBn>,
    /// 3 x 3 (or 5 x 5) depthwise convolution.
    pub depthwise: ConvBn,
    /// 1 x 1 projection, no activation.
    pub project: ConvBn,
    residual: bool,
}

impl InvertedResidual {
    /// `spec(channels, kernel)` gives each convolution's padding and BatchNorm epsilon.
    pub fn new(
        spec: impl Fn([usize; 2], usize) -> ConvBnSpec,
        [c_in, c_out]: [usize; 2],
        expansion: usize,
        kernel: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let hidden = c_in * expansion;
        Self {
            expand: (expansion != 1)
                .then(|| spec([c_in, hidden], 1).act(Activation::Relu6).init(device)),
            depthwise: spec([hidden, hidden], kernel)
                .stride(stride)
                .depthwise()
                .act(Activation::Relu6)
                .init(device),
            project: spec([hidden, c_out], 1).init(device),
            residual: stride == 1 && c_in == c_out,
        }
    }

    /// # Shapes
    /// `[B, C_in, H, W]` → `[B, C_out, H / stride, W / stride]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = x.clone();
        if let Some(expand) = &self.expand {
            y = expand.forward(y);
        }
        let y = self.project.forward(self.depthwise.forward(y));
        if self.residual { x + y } else { y }
    }

    /// See [`ConvBn::fold`].
    pub fn fold(self) -> Self {
        Self {
            expand: self.expand.map(ConvBn::fold),
            depthwise: self.depthwise.fold(),
            project: self.project.fold(),
            residual: self.residual,
        }
    }
}
