use burn::tensor::Tensor;

/// How per-item losses become the loss (OML `get_reduced`, `functional/losses.py:5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// Mean over items (the default).
    #[default]
    Mean,
    /// Sum over items.
    Sum,
    /// Per-item values, unreduced.
    None,
}

impl Reduction {
    /// # Shapes
    /// `[N]` → `[1]` (mean, sum) or `[N]` (none).
    pub fn apply(self, values: Tensor<1>) -> Tensor<1> {
        match self {
            Self::Mean => values.mean(),
            Self::Sum => values.sum(),
            Self::None => values,
        }
    }
}
