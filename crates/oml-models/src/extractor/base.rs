use burn::tensor::Tensor;

/// Turns a batch of normalised images into embeddings.
pub trait Extractor {
    /// Size of the embeddings.
    fn feat_dim(&self) -> usize;

    /// # Shapes
    /// `images`: `[B, 3, H, W]`, normalised as the weights expect → `[B, feat_dim]`.
    fn extract(&self, images: Tensor<4>) -> Tensor<2>;
}
