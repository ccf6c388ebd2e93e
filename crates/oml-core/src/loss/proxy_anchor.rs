use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::LossError;
use super::pairs::{l2_normalised, masked_logsumexp};

/// Configuration of [`ProxyAnchorLoss`] (pytorch-metric-learning `ProxyAnchorLoss`, its
/// defaults).
#[derive(Config, Debug, PartialEq)]
pub struct ProxyAnchorLossConfig {
    /// Number of classes (one proxy each).
    pub num_classes: usize,
    /// Embedding size.
    pub embedding_size: usize,
    /// Margin δ. Default 0.1.
    #[config(default = 0.1)]
    pub margin: f64,
    /// Scale α. Default 32.
    #[config(default = 32.0)]
    pub alpha: f64,
}

/// The Proxy-Anchor loss (Kim et al. 2020, "Proxy Anchor Loss for Deep Metric Learning") as
/// pytorch-metric-learning 2.8.1 computes it (`losses/proxy_anchor_loss.py`, cosine similarity
/// `s` of the normalised embeddings and proxies, `DivisorReducer`): with `P⁺` the classes in the
/// batch and `X_c⁺`/`X_c⁻` the batch rows of class c / of other classes,
/// `loss = (1/|P⁺|) Σ_{c ∈ P⁺} log(1 + Σ_{x ∈ X_c⁺} e^{−α (s(x, c) − δ)})
///       + (1/C) Σ_c log(1 + Σ_{x ∈ X_c⁻} e^{α (s(x, c) + δ)})`.
///
/// The proxies `[C, D]` are trained with the model; initialised as PML does (Kaiming normal,
/// fan-out: `N(0, 2 / C)`), or imprinted from class means with [`ProxyAnchorLoss::with_proxies`].
#[derive(Module, Debug)]
pub struct ProxyAnchorLoss {
    /// `[num_classes, embedding_size]`.
    pub proxies: Param<Tensor<2>>,
    margin: f64,
    alpha: f64,
}

impl ProxyAnchorLossConfig {
    /// The loss with random proxies on `device`; an error for a size of 0 or an `alpha` that is
    /// not positive.
    pub fn init(&self, device: &Device) -> Result<ProxyAnchorLoss, LossError> {
        for (name, value) in [
            ("num_classes", self.num_classes as f64),
            ("embedding_size", self.embedding_size as f64),
            ("alpha", self.alpha),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(LossError::NotPositive { name, value });
            }
        }
        if !self.margin.is_finite() {
            return Err(LossError::BadMargin(self.margin));
        }
        let std = (2.0 / self.num_classes as f64).sqrt();
        let proxies = Tensor::<2>::random(
            [self.num_classes, self.embedding_size],
            Distribution::Normal(0.0, std),
            device,
        );
        Ok(ProxyAnchorLoss {
            proxies: Param::from_tensor(proxies),
            margin: self.margin,
            alpha: self.alpha,
        })
    }
}

impl ProxyAnchorLoss {
    /// The same loss with these proxies (`[C, D]`, e.g. class means), keeping the parameter's
    /// id.
    pub fn with_proxies(self, proxies: Tensor<2>) -> Result<Self, LossError> {
        let want = self.proxies.dims();
        if proxies.dims() != want {
            return Err(LossError::Shape {
                what: "proxies",
                expected: format!("{want:?}"),
                got: format!("{:?}", proxies.dims()),
            });
        }
        let mut param = Param::from_tensor(proxies);
        param.id = self.proxies.id;
        Ok(Self { proxies: param, ..self })
    }

    /// # Shapes
    /// `features`: `[B, D]`, `classes`: `[B]` (class ids below C) → `[1]`.
    pub fn forward(&self, features: Tensor<2>, classes: &[u32]) -> Result<Tensor<1>, LossError> {
        let [c, _] = self.proxies.dims();
        let b = features.dims()[0];
        if classes.len() != b {
            return Err(LossError::Shape {
                what: "classes",
                expected: b.to_string(),
                got: classes.len().to_string(),
            });
        }
        if let Some(&label) = classes.iter().find(|&&l| l as usize >= c) {
            return Err(LossError::LabelOutOfRange { label, num_classes: c });
        }
        let device = features.device();
        let mut one_hot = vec![0.0f32; b * c];
        let mut present = vec![false; c];
        for (i, &l) in classes.iter().enumerate() {
            one_hot[i * c + l as usize] = 1.0;
            present[l as usize] = true;
        }
        let n_present = present.iter().filter(|&&p| p).count().max(1);
        let pos_mask = Tensor::<2>::from_data(TensorData::new(one_hot, [b, c]), &device);
        let neg_mask = pos_mask.clone().neg().add_scalar(1.0);
        let cos = l2_normalised(features).matmul(l2_normalised(self.proxies.val()).transpose());
        let pos_exp = cos.clone().neg().add_scalar(self.margin).mul_scalar(self.alpha);
        let neg_exp = cos.add_scalar(self.margin).mul_scalar(self.alpha);
        let pos = masked_logsumexp(pos_exp, &pos_mask, true, 0).sum().div_scalar(n_present as f64);
        let neg = masked_logsumexp(neg_exp, &neg_mask, true, 0).sum().div_scalar(c as f64);
        Ok(pos + neg)
    }
}
