use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::base::Extractor;

/// Vision Transformer (Dosovitskiy et al. 2021, arXiv:2010.11929) as DINO (Caron et al. 2021)
/// and DINOv2 (Oquab et al. 2023) publish it, in their checkpoints' key layout (shared by
/// timm): `patch_embed.proj`, `cls_token`, `pos_embed`, `register_tokens`,
/// `blocks.N.{norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}`,
/// `norm`. The embedding is the CLS token after the final LayerNorm, as OML's `ViTExtractor`.
///
/// When the input's patch grid differs from the one `pos_embed` was trained on (DINOv2's is
/// 37 x 37 for 518 px, so any 224 px input), the patch position embeddings are resampled
/// bicubically exactly as DINO/DINOv2 do (`interpolate_pos_encoding`: PyTorch bicubic,
/// A = −0.75, `align_corners=False`, scale factor `(grid + offset) / trained_grid`); the
/// resampling is a pair of small matrix products, so it is differentiable.
#[derive(Config, Debug, PartialEq)]
pub struct ViTConfig {
    /// Side of the square patches (16 or 8 for DINO, 14 for DINOv2).
    pub patch_size: usize,
    /// Token width: 384 (S), 768 (B), 1024 (L).
    pub embed_dim: usize,
    /// Number of transformer blocks. Default 12.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads: 6 (S), 12 (B), 16 (L).
    pub num_heads: usize,
    /// MLP hidden width over `embed_dim`. Default 4.
    #[config(default = 4)]
    pub mlp_ratio: usize,
    /// The image side `pos_embed` was trained at: 224 (DINO), 518 (DINOv2). Default 224.
    #[config(default = 224)]
    pub img_size: usize,
    /// DINOv2's register tokens (0 or 4). Default 0.
    #[config(default = 0)]
    pub num_register_tokens: usize,
    /// LayerScale (`ls1`, `ls2`) in every block, as DINOv2. Default false.
    #[config(default = false)]
    pub layer_scale: bool,
    /// Added to the target grid when resampling position embeddings (DINO's and DINOv2's
    /// 0.1; 0 resamples to the exact size). Default 0.1.
    #[config(default = 0.1)]
    pub interpolate_offset: f64,
    /// LayerNorm epsilon. Default 1e-6.
    #[config(default = 1e-6)]
    pub norm_epsilon: f64,
}

impl ViTConfig {
    /// DINO ViT-S/16 (`vits16`): 384 wide, 6 heads.
    pub fn vits16() -> Self {
        Self::new(16, 384, 6)
    }
    /// DINO ViT-S/8.
    pub fn vits8() -> Self {
        Self::new(8, 384, 6)
    }
    /// DINO ViT-B/16: 768 wide, 12 heads.
    pub fn vitb16() -> Self {
        Self::new(16, 768, 12)
    }
    /// DINO ViT-B/8.
    pub fn vitb8() -> Self {
        Self::new(8, 768, 12)
    }
    /// DINOv2 ViT-S/14 (518 px grid, LayerScale), optionally with 4 registers.
    pub fn vits14_dinov2(registers: bool) -> Self {
        Self::dinov2(384, 6, 12, registers)
    }
    /// DINOv2 ViT-B/14.
    pub fn vitb14_dinov2(registers: bool) -> Self {
        Self::dinov2(768, 12, 12, registers)
    }
    /// DINOv2 ViT-L/14.
    pub fn vitl14_dinov2(registers: bool) -> Self {
        Self::dinov2(1024, 16, 24, registers)
    }
    fn dinov2(embed_dim: usize, num_heads: usize, depth: usize, registers: bool) -> Self {
        Self::new(14, embed_dim, num_heads)
            .with_depth(depth)
            .with_img_size(518)
            .with_layer_scale(true)
            .with_num_register_tokens(if registers { 4 } else { 0 })
    }
}

/// Patch embedding: a `patch × patch` convolution with stride `patch`.
#[derive(Module, Debug)]
pub struct PatchEmbed {
    pub proj: Conv2d,
}

/// Multi-head self-attention with a fused `qkv` projection.
#[derive(Module, Debug)]
pub struct Attention {
    pub qkv: Linear,
    pub proj: Linear,
    num_heads: usize,
}

impl Attention {
    /// `softmax(q·kᵀ / sqrt(head_dim)) · v` per head, then `proj`.
    ///
    /// # Shapes
    /// `[B, N, D]` → `[B, N, D]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = x.dims();
        let h = self.num_heads;
        let qkv = self.qkv.forward(x).reshape([b, n, 3, h, d / h]).permute([2, 0, 3, 1, 4]);
        let [q, k, v]: [Tensor<5>; 3] = qkv.chunk(3, 0).try_into().unwrap_or_else(|_| {
            unreachable!("chunk(3) of a dimension of size 3 gives three parts")
        });
        let squeeze = |t: Tensor<5>| t.reshape([b, h, n, d / h]);
        let out = attention(
            squeeze(q),
            squeeze(k),
            squeeze(v),
            None,
            None,
            AttentionModuleOptions::default(),
        );
        self.proj.forward(out.swap_dims(1, 2).reshape([b, n, d]))
    }
}

/// DINOv2's LayerScale: a learned per-channel factor on a residual branch.
#[derive(Module, Debug)]
pub struct LayerScale {
    pub gamma: Param<Tensor<1>>,
}

/// Two-layer MLP with exact GELU.
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
}

/// Pre-norm transformer block: `x + ls1(attn(norm1(x)))`, then `x + ls2(mlp(norm2(x)))`.
#[derive(Module, Debug)]
pub struct Block {
    pub norm1: LayerNorm,
    pub attn: Attention,
    pub ls1: Option<LayerScale>,
    pub norm2: LayerNorm,
    pub mlp: Mlp,
    pub ls2: Option<LayerScale>,
}

fn scaled(ls: Option<&LayerScale>, x: Tensor<3>) -> Tensor<3> {
    match ls {
        Some(ls) => x * ls.gamma.val().unsqueeze::<3>(),
        None => x,
    }
}

impl Block {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + scaled(self.ls1.as_ref(), self.attn.forward(self.norm1.forward(x)));
        let y = self.mlp.fc2.forward(gelu(self.mlp.fc1.forward(self.norm2.forward(x.clone()))));
        x + scaled(self.ls2.as_ref(), y)
    }
}

/// See [`ViTConfig`].
#[derive(Module, Debug)]
pub struct ViT {
    /// Patches to tokens.
    pub patch_embed: PatchEmbed,
    /// The class token, whose output is the embedding.
    pub cls_token: Param<Tensor<3>>,
    /// Position embeddings (interpolated for other input sizes).
    pub pos_embed: Param<Tensor<3>>,
    /// DINOv2's register tokens, when the model has them.
    pub register_tokens: Option<Param<Tensor<3>>>,
    /// The transformer blocks.
    pub blocks: Vec<Block>,
    /// The final LayerNorm.
    pub norm: LayerNorm,
    patch_size: usize,
    #[module(skip)]
    interpolate_offset: f64,
}

impl ViTConfig {
    /// The model with random weights on `device`.
    pub fn init(&self, device: &Device) -> ViT {
        let d = self.embed_dim;
        let p = self.patch_size;
        let grid = self.img_size / p;
        let norm = || LayerNormConfig::new(d).with_epsilon(self.norm_epsilon).init(device);
        let ls = || {
            self.layer_scale.then(|| LayerScale {
                gamma: Param::from_tensor(Tensor::ones([d], device).mul_scalar(1e-5)),
            })
        };
        let blocks = (0..self.depth)
            .map(|_| Block {
                norm1: norm(),
                attn: Attention {
                    qkv: LinearConfig::new(d, 3 * d).init(device),
                    proj: LinearConfig::new(d, d).init(device),
                    num_heads: self.num_heads,
                },
                ls1: ls(),
                norm2: norm(),
                mlp: Mlp {
                    fc1: LinearConfig::new(d, self.mlp_ratio * d).init(device),
                    fc2: LinearConfig::new(self.mlp_ratio * d, d).init(device),
                },
                ls2: ls(),
            })
            .collect();
        let normal = |shape: [usize; 3]| {
            Param::from_tensor(Tensor::random(
                shape,
                burn::tensor::Distribution::Normal(0.0, 0.02),
                device,
            ))
        };
        ViT {
            patch_embed: PatchEmbed {
                proj: Conv2dConfig::new([3, d], [p, p]).with_stride([p, p]).init(device),
            },
            cls_token: normal([1, 1, d]),
            pos_embed: normal([1, 1 + grid * grid, d]),
            register_tokens: (self.num_register_tokens > 0)
                .then(|| normal([1, self.num_register_tokens, d])),
            blocks,
            norm: norm(),
            patch_size: p,
            interpolate_offset: self.interpolate_offset,
        }
    }
}

/// PyTorch's bicubic resampling (`upsample_bicubic2d`, `align_corners=False`, A = −0.75,
/// borders clamped) along one axis as an `[out, in]` matrix; `scale` maps output to input
/// coordinates: `src = scale · (dst + 0.5) − 0.5`.
fn bicubic_matrix(n_in: usize, n_out: usize, scale: f64) -> Vec<f32> {
    const A: f64 = -0.75;
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let mut m = vec![0.0f32; n_out * n_in];
    for o in 0..n_out {
        let src = scale * (o as f64 + 0.5) - 0.5;
        let base = src.floor();
        let t = src - base;
        let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
        for (k, w) in weights.into_iter().enumerate() {
            let j = (base as i64 + k as i64 - 1).clamp(0, n_in as i64 - 1);
            let j = j as usize;
            m[o * n_in + j] += w as f32;
        }
    }
    m
}

impl ViT {
    /// Position embeddings for an `rows × cols` patch grid, resampled when it is not the
    /// trained square grid (DINO's `interpolate_pos_encoding`).
    ///
    /// # Shapes
    /// → `[1, 1 + rows·cols, D]`.
    fn pos_embed_for(&self, rows: usize, cols: usize) -> Tensor<3> {
        let pos = self.pos_embed.val();
        let [_, n, d] = pos.dims();
        let trained = n - 1;
        if rows * cols == trained && rows == cols {
            return pos;
        }
        let m = (trained as f64).sqrt().round() as usize;
        let device = pos.device();
        let offset = self.interpolate_offset;
        let scale = |out: usize| {
            if offset > 0.0 { m as f64 / (out as f64 + offset) } else { m as f64 / out as f64 }
        };
        let wr = Tensor::<2>::from_data(
            TensorData::new(bicubic_matrix(m, rows, scale(rows)), [rows, m]),
            &device,
        );
        let wc = Tensor::<2>::from_data(
            TensorData::new(bicubic_matrix(m, cols, scale(cols)), [cols, m]),
            &device,
        );
        let cls = pos.clone().narrow(1, 0, 1);
        let grid = pos.narrow(1, 1, trained).reshape([m, m * d]);
        // Rows: [rows, m] · [m, m·d] → [rows, m, d]; then columns per row.
        let by_rows = wr.matmul(grid).reshape([rows, m, d]);
        let by_cols = wc.unsqueeze::<3>().expand([rows, cols, m]).matmul(by_rows);
        Tensor::cat(vec![cls, by_cols.reshape([1, rows * cols, d])], 1)
    }

    /// Token sequence after the final norm: CLS, registers, patches.
    ///
    /// # Shapes
    /// `[B, 3, H, W]` → `[B, 1 + R + (H/p)·(W/p), D]`.
    pub fn forward_tokens(&self, images: Tensor<4>) -> Tensor<3> {
        let [b, _, h, w] = images.dims();
        let (rows, cols) = (h / self.patch_size, w / self.patch_size);
        let patches = self.patch_embed.proj.forward(images); // [B, D, rows, cols]
        let d = patches.dims()[1];
        let patches = patches.reshape([b, d, rows * cols]).swap_dims(1, 2);
        let cls = self.cls_token.val().expand([b, 1, d]);
        let mut x = Tensor::cat(vec![cls, patches], 1) + self.pos_embed_for(rows, cols);
        if let Some(registers) = &self.register_tokens {
            let r = registers.dims()[1];
            let reg = registers.val().expand([b, r, d]);
            let n = x.dims()[1];
            x = Tensor::cat(vec![x.clone().narrow(1, 0, 1), reg, x.narrow(1, 1, n - 1)], 1);
        }
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.norm.forward(x)
    }

    /// Loads DINO, DINOv2 or timm checkpoints (also OML's, nested under `state_dict`/`model.`):
    /// the keys are ours already; timm's `reg_token` is read as `register_tokens`, and
    /// DINOv2's unused `mask_token` and any classifier `head` are ignored.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        let remaps = vec![(r"^reg_token$".to_owned(), "register_tokens".to_owned())];
        super::weights::load_checkpoint(self, path, "norm.bias", &remaps, &["register_tokens"])
    }
}

impl Extractor for ViT {
    fn feat_dim(&self) -> usize {
        self.cls_token.dims()[2]
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        let tokens = self.forward_tokens(images);
        let [b, _, d] = tokens.dims();
        tokens.narrow(1, 0, 1).reshape([b, d])
    }
}

#[cfg(test)]
mod tests {
    use super::bicubic_matrix;

    #[test]
    fn bicubic_rows_sum_to_one_and_identity_scale_is_identity() {
        let m = bicubic_matrix(5, 5, 1.0);
        for o in 0..5 {
            for j in 0..5 {
                let want = if o == j { 1.0 } else { 0.0 };
                assert!((m[o * 5 + j] - want).abs() < 1e-6);
            }
        }
        let m = bicubic_matrix(37, 16, 37.0 / 16.1);
        for row in m.chunks(37) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}
