//! The float type a model computes in: f32, or half precision (f16, bf16) on GPU backends,
//! where it halves memory traffic and uses the tensor cores. Weights are stored in f32 and cast
//! when a model is prepared for inference; inputs are cast on the way in and embeddings read
//! back as f32.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{FloatDType, Tensor};

/// See the module documentation. Named `32`, `16` (f16) or `bf16`, as PyTorch Lightning's
/// `precision` (which OML's configs pass through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// IEEE half precision, with dynamic loss scaling when training.
    F16,
    /// bfloat16.
    Bf16,
}

/// A precision name that is none of `32`, `16`, `bf16`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("precision `{0}`: expected 32, 16 (f16) or bf16")]
pub struct UnknownPrecision(pub String);

impl std::str::FromStr for Precision {
    type Err = UnknownPrecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "32" | "f32" | "32-true" => Ok(Self::F32),
            "16" | "f16" | "16-mixed" | "16-true" => Ok(Self::F16),
            "bf16" | "bf16-mixed" | "bf16-true" => Ok(Self::Bf16),
            _ => Err(UnknownPrecision(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "32",
            Self::F16 => "16",
            Self::Bf16 => "bf16",
        })
    }
}

impl Precision {
    /// burn's float type for it.
    pub fn dtype(self) -> FloatDType {
        match self {
            Self::F32 => FloatDType::F32,
            Self::F16 => FloatDType::F16,
            Self::Bf16 => FloatDType::BF16,
        }
    }

    /// `images` in this precision.
    ///
    /// # Shapes
    /// any → the same.
    pub fn cast<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::F32 => x,
            other => x.cast(other.dtype()),
        }
    }
}

/// `module` with every float parameter and buffer cast to `precision`, but for BatchNorms,
/// which stay in f32 and compute in f32 (`layers::batch_norm_act`): their running statistics
/// are shared with the f32 model this is cast from, and averaging them in f16 would lose them.
/// The cast is part of the autodiff graph: gradients reach the f32 parameters cast from.
pub fn cast_module<M: Module>(module: M, precision: Precision) -> M {
    if precision == Precision::F32 {
        return module;
    }
    /// The cast, and how deep the walk is inside a BatchNorm.
    struct Cast(FloatDType, usize);
    impl ModuleMapper for Cast {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            if container_type == "Struct:BatchNorm" || self.1 > 0 {
                self.1 += 1;
            }
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.1 = self.1.saturating_sub(1);
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if self.1 > 0 {
                return param;
            }
            let dtype = self.0;
            param.map(|t| t.cast(dtype))
        }
    }
    module.map(&mut Cast(precision.dtype(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_lightning_writes_them() {
        for (name, want) in
            [("32", Precision::F32), ("16", Precision::F16), ("bf16", Precision::Bf16)]
        {
            assert_eq!(name.parse::<Precision>(), Ok(want));
            assert_eq!(want.to_string().parse::<Precision>(), Ok(want));
        }
        assert_eq!("16-mixed".parse::<Precision>(), Ok(Precision::F16));
        assert!("8".parse::<Precision>().is_err());
    }
}
