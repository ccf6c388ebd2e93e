use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::Extractor;

/// A projection head: linear layers with ReLU between them, none after the last (torchvision's
/// `ops.MLP` without norm or dropout, as OML's `ExtractorWithMLP` uses).
#[derive(Module, Debug)]
pub struct MlpHead {
    /// The layers, ReLU between them.
    pub layers: Vec<Linear>,
}

impl MlpHead {
    /// `in_features` → `sizes[0]` → … → `sizes.last()`.
    pub fn new(in_features: usize, sizes: &[usize], device: &Device) -> Self {
        let mut layers = Vec::with_capacity(sizes.len());
        let mut d = in_features;
        for &s in sizes {
            layers.push(LinearConfig::new(d, s).init(device));
            d = s;
        }
        Self { layers }
    }

    /// # Shapes
    /// `[B, in_features]` → `[B, sizes.last()]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                x = relu(x);
            }
            x = layer.forward(x);
        }
        x
    }

    /// Width of the last layer; `None` without layers.
    pub fn out_features(&self) -> Option<usize> {
        self.layers.last().map(|l| l.weight.dims()[1])
    }
}

/// An extractor followed by an [`MlpHead`] (OML's `ExtractorWithMLP`).
#[derive(Module, Debug)]
pub struct ExtractorWithMlp<E> {
    /// The backbone.
    pub extractor: E,
    /// The projection after it (possibly empty).
    pub projection: MlpHead,
}

impl<E: Extractor + Module> ExtractorWithMlp<E> {
    /// `extractor` followed by a head of `sizes` (none when empty), randomly initialised.
    pub fn new(extractor: E, sizes: &[usize], device: &Device) -> Self {
        let projection = MlpHead::new(extractor.feat_dim(), sizes, device);
        Self { extractor, projection }
    }
}

impl<E: Extractor + Module> Extractor for ExtractorWithMlp<E> {
    fn feat_dim(&self) -> usize {
        self.projection.out_features().unwrap_or_else(|| self.extractor.feat_dim())
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        self.projection.forward(self.extractor.extract(images))
    }
}

impl ExtractorWithMlp<super::ViT> {
    /// Loads an OML `ExtractorWithMLP` checkpoint around a ViT (`extractor.model.*` for the
    /// ViT, `projection.0`, `projection.3`, … for torchvision's MLP), possibly nested under
    /// `state_dict`.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        let mut remaps = vec![(r"^extractor\.model\.(.*)".to_owned(), "extractor.$1".to_owned())];
        // torchvision's MLP is Sequential(Linear, ReLU, Dropout, Linear, …, Dropout).
        for i in 0..self.projection.layers.len() {
            remaps.push((
                format!(r"^projection\.{}\.(.*)", 3 * i),
                format!("projection.layers.{i}.$1"),
            ));
        }
        super::weights::load_checkpoint(self, path, "extractor.model.norm.bias", &remaps, &[])
    }
}

impl ExtractorWithMlp<super::AnyExtractor> {
    /// For inference: folds the backbone's BatchNorms into its convolutions.
    pub fn fold_batch_norms(self) -> Self {
        Self { extractor: self.extractor.fold_batch_norms(), projection: self.projection }
    }
}
