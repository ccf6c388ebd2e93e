use burn::tensor::Tensor;

/// Turns a batch of normalised images into embeddings.
pub trait Extractor {
    /// Size of the embeddings.
    fn feat_dim(&self) -> usize;

    /// # Shapes
    /// `images`: `[B, 3, H, W]`, normalised as the weights expect → `[B, feat_dim]`.
    fn extract(&self, images: Tensor<4>) -> Tensor<2>;
}

/// Weights that cannot be loaded into an extractor. Names the file and the tensors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: cannot load weights: {reason}")]
    Unreadable { path: std::path::PathBuf, reason: String },
    #[error("{path}: the checkpoint lacks tensors the model needs: {tensors}")]
    Missing { path: std::path::PathBuf, tensors: String },
    #[error("{path}: the checkpoint does not fit the model: {reason}")]
    Mismatch { path: std::path::PathBuf, reason: String },
}
