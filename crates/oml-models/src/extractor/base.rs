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
    /// The file cannot be read as weights.
    #[error("{path}: cannot load weights: {reason}")]
    Unreadable {
        /// The file.
        path: std::path::PathBuf,
        /// The reader's reason.
        reason: String,
    },
    /// Tensors the model needs are not in the file.
    #[error("{path}: the checkpoint lacks tensors the model needs: {tensors}")]
    Missing {
        /// The file.
        path: std::path::PathBuf,
        /// The missing tensors' names.
        tensors: String,
    },
    /// Tensors of the wrong shape or type.
    #[error("{path}: the checkpoint does not fit the model: {reason}")]
    Mismatch {
        /// The file.
        path: std::path::PathBuf,
        /// What does not fit.
        reason: String,
    },
}
