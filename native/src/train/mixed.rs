//! Mixed-precision steps (`precision = 16` or `"bf16"`), as PyTorch's autocast and GradScaler
//! do them: the weights, the optimizer's state and the loss stay in f32; each step casts the
//! model to the half type inside the autodiff graph (BatchNorms stay in f32,
//! `precision::cast_module`), runs the forward and backward passes in it, and the gradients
//! arrive in f32 on the f32 weights through the casts. f16 has little range, so its loss is
//! multiplied by a scale before the backward pass and the gradients divided by it after; a step
//! whose gradients overflow is skipped and the scale halved, and the scale doubles after 2000
//! clean steps (GradScaler's defaults: 2^16, 0.5, 2, 2000). bf16 has f32's range: no scale.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{FloatDType, Tensor};
use oml_models::extractor::Extractor;
use oml_models::precision::{Precision, cast_module};

use oml_models::model_file::FileModel;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Mixed {
    precision: Precision,
    scale: Option<LossScale>,
}

#[derive(Debug, Clone)]
struct LossScale {
    value: f64,
    clean_steps: u32,
}

/// What [`Mixed::unscale`] found.
#[derive(Debug)]
pub enum Unscaled {
    /// The gradients, divided by the scale: take the step.
    Step(GradientsParams),
    /// A gradient overflowed: skip the step (the scale is now halved).
    Skip,
}

impl Mixed {
    pub fn new(precision: Precision) -> Self {
        let scale =
            (precision == Precision::F16).then_some(LossScale { value: 65536.0, clean_steps: 0 });
        Self { precision, scale }
    }

    /// `model`'s embeddings of `images`, computed in this precision, in f32.
    ///
    /// # Shapes
    /// `[B, 3, H, W]` → `[B, D]`.
    pub fn extract(&self, model: &FileModel, images: Tensor<4>) -> Tensor<2> {
        if self.precision == Precision::F32 {
            return model.extract(images);
        }
        let half = cast_module(model.clone(), self.precision);
        half.extract(self.precision.cast(images)).cast(FloatDType::F32)
    }

    /// What the loss is multiplied by before the backward pass.
    pub fn loss_factor(&self) -> f64 {
        self.scale.as_ref().map_or(1.0, |s| s.value)
    }

    /// `grads` of `module` divided by the loss scale, or [`Unscaled::Skip`] when one of them
    /// is not finite. Reads one number back from the device.
    pub fn unscale<M: Module>(
        &mut self,
        module: &M,
        mut grads: GradientsParams,
    ) -> anyhow::Result<Unscaled> {
        let Some(scale) = &mut self.scale else { return Ok(Unscaled::Step(grads)) };
        struct Divide<'a> {
            grads: &'a mut GradientsParams,
            by: f64,
            magnitude: Option<Tensor<1>>,
        }
        impl ModuleVisitor for Divide<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.grads.remove::<D>(param.id) {
                    let g = g.div_scalar(self.by);
                    let m = g.clone().abs().sum();
                    self.magnitude = Some(match self.magnitude.take() {
                        Some(total) => total + m,
                        None => m,
                    });
                    self.grads.register::<D>(param.id, g);
                }
            }
        }
        let mut divide = Divide { grads: &mut grads, by: scale.value, magnitude: None };
        module.visit(&mut divide);
        let finite = match divide.magnitude {
            Some(m) => m
                .try_into_scalar::<f32>()
                .map_err(|e| anyhow::anyhow!("the device failed during a step: {e}"))?
                .is_finite(),
            None => true,
        };
        if !finite {
            scale.value /= 2.0;
            scale.clean_steps = 0;
            return Ok(Unscaled::Skip);
        }
        scale.clean_steps += 1;
        if scale.clean_steps == 2000 {
            scale.value *= 2.0;
            scale.clean_steps = 0;
        }
        Ok(Unscaled::Step(grads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_f16_scales_its_loss() {
        assert_eq!(Mixed::new(Precision::F32).loss_factor(), 1.0);
        assert_eq!(Mixed::new(Precision::Bf16).loss_factor(), 1.0);
        assert_eq!(Mixed::new(Precision::F16).loss_factor(), 65536.0);
    }

    #[test]
    fn an_overflow_skips_the_step_and_halves_the_scale_and_clean_steps_grow_it() {
        use burn::tensor::Device;
        let device = Device::flex().autodiff();
        let w = Param::from_tensor(Tensor::<1>::from_floats([1.0, 2.0], &device).require_grad());
        let grads_of = |factor: f32| {
            let loss = (w.val() * factor).sum();
            GradientsParams::from_grads(loss.backward(), &w)
        };
        let mut mixed = Mixed::new(Precision::F16);
        let Unscaled::Step(g) = mixed.unscale(&w, grads_of(65536.0)).unwrap() else {
            panic!("a finite gradient is a step")
        };
        let g = g.get::<1>(w.id).unwrap().try_into_vec_as::<f32>().unwrap();
        assert_eq!(g, [1.0, 1.0], "divided by the scale");
        assert!(matches!(mixed.unscale(&w, grads_of(f32::INFINITY)).unwrap(), Unscaled::Skip));
        assert_eq!(mixed.loss_factor(), 32768.0);
        for _ in 0..2000 {
            mixed.unscale(&w, grads_of(1.0)).unwrap();
        }
        assert_eq!(mixed.loss_factor(), 65536.0);
    }
}
