//! An exponential moving average of the trained weights (Polyak averaging), validated and
//! checkpointed in place of the raw weights.
//!
//! After optimizer step `n` (0-based) every float tensor of the model, parameters and
//! BatchNorm running statistics alike, moves as
//!
//! `avg ← d_n · avg + (1 − d_n) · θ`, with `d_n = min(decay, w_n)`,
//!
//! where the warm-up `w_n` ([`EmaWarmup`]) keeps the first steps from being dominated by the
//! starting weights. The average lives on the training device without autodiff and never
//! feeds back into training: the same seed trains the same raw weights with or without it.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

use super::config::{EmaWarmup, decay_at};
use oml_models::model_file::FileModel;

/// The running average of a model under training.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    pub model: FileModel,
    decay: f64,
    warmup: EmaWarmup,
}

impl WeightAverage {
    /// Starts the average at `model`'s weights.
    pub fn new(model: &FileModel, decay: f64, warmup: EmaWarmup) -> Self {
        Self { model: model.valid(), decay, warmup }
    }

    /// The same average started again at `model`'s weights.
    #[must_use]
    pub fn restarted_at(self, model: &FileModel) -> Self {
        Self::new(model, self.decay, self.warmup)
    }

    /// Folds `trained` (the model after optimizer step `step`, 0-based) into the average.
    pub fn update(&mut self, trained: &FileModel, step: u64) -> anyhow::Result<()> {
        let mut current = Collect(HashMap::new());
        trained.valid().visit(&mut current);
        let d = decay_at(self.decay, self.warmup, step);
        let mut blend = Blend { current: current.0, d, missing: 0 };
        self.model = self.model.clone().map(&mut blend);
        anyhow::ensure!(
            blend.missing == 0 && blend.current.is_empty(),
            "weight average: {} tensors of the average not in the model, {} of the model not \
             in the average",
            blend.missing,
            blend.current.len()
        );
        Ok(())
    }
}

/// Every float tensor of a module, flattened, by parameter id.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.insert(param.id, t.reshape([n]));
    }
}

struct Blend {
    current: HashMap<ParamId, Tensor<1>>,
    d: f64,
    missing: usize,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(theta) = self.current.remove(&param.id) else {
            self.missing += 1;
            return param;
        };
        let d = self.d;
        param.map(|avg| {
            let dims = avg.dims();
            avg.mul_scalar(d).add(theta.reshape(dims).mul_scalar(1.0 - d))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use oml_models::extractor::{AnyExtractor, ExtractorWithMlp, MobileNetV2Config};

    fn small_model(device: &Device) -> FileModel {
        let extractor =
            AnyExtractor::MobileNetV2(MobileNetV2Config::new().with_width_mult(0.35).init(device));
        ExtractorWithMlp::new(extractor, &[], device)
    }

    #[test]
    fn the_decay_warms_up_then_holds() {
        let tf = EmaWarmup::Tensorflow;
        assert!((decay_at(0.99, tf, 0) - 0.1).abs() < 1e-12);
        assert!((decay_at(0.99, tf, 10) - 11.0 / 20.0).abs() < 1e-12);
        // Still below 0.99 after 672 steps (7 epochs of the benchmark recipe).
        assert!((decay_at(0.99, tf, 672) - 673.0 / 682.0).abs() < 1e-12);
        assert!((decay_at(0.99, tf, 10_000) - 0.99).abs() < 1e-12);
        let mean = EmaWarmup::Mean;
        assert!(decay_at(0.99, mean, 0).abs() < 1e-12);
        assert!((decay_at(0.99, mean, 9) - 0.9).abs() < 1e-12);
        assert!((decay_at(0.99, mean, 99) - 0.99).abs() < 1e-12);
        assert!((decay_at(0.99, mean, 500) - 0.99).abs() < 1e-12);
        assert!((decay_at(0.99, EmaWarmup::None, 0) - 0.99).abs() < 1e-12);
    }

    /// With the `mean` warm-up the first steps' average is their plain mean.
    #[test]
    fn the_mean_warm_up_averages_the_steps_so_far() {
        let device = Device::flex();
        let start = small_model(&device);
        let mut average = WeightAverage::new(&start, 0.99, EmaWarmup::Mean);
        struct Add(f32);
        impl ModuleMapper for Add {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                p.map(|t| t.add_scalar(self.0))
            }
        }
        let before = floats(&start);
        // Steps' weights θ0 + 1, + 2, + 3, + 6: their mean is θ0 + 3.
        for (step, add) in [1.0, 2.0, 3.0, 6.0].into_iter().enumerate() {
            average.update(&start.valid().map(&mut Add(add)), step as u64).unwrap();
        }
        for (a, b) in floats(&average.model).iter().zip(&before) {
            assert!((a - (b + 3.0)).abs() < 1e-4, "{a} vs {b} + 3");
        }
    }

    fn floats(model: &FileModel) -> Vec<f32> {
        struct All(Vec<f32>);
        impl ModuleVisitor for All {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.extend(param.val().try_into_vec_as::<f32>().unwrap());
            }
        }
        let mut all = All(Vec::new());
        model.visit(&mut all);
        all.0
    }

    /// Every tensor, BatchNorm statistics included, moves by the formula; ids and shapes stay.
    #[test]
    fn an_update_blends_every_tensor_by_the_decay() {
        let device = Device::flex();
        let start = small_model(&device);
        let mut average = WeightAverage::new(&start, 0.5, EmaWarmup::Tensorflow);
        // A "trained" model: every float tensor + 1.
        struct AddOne;
        impl ModuleMapper for AddOne {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                p.map(|t| t.add_scalar(1.0))
            }
        }
        // (`valid` copies the BatchNorm statistics, which clones share.)
        let trained = start.valid().map(&mut AddOne);
        let before = floats(&start);
        average.update(&trained, 0).unwrap();
        average.update(&trained, 100).unwrap();
        // Step 0: d = 0.1, so avg = θ0 + 0.9; step 100: d = 0.5, so avg = θ0 + 0.95.
        let after = floats(&average.model);
        assert_eq!(after.len(), before.len());
        for (a, b) in after.iter().zip(&before) {
            assert!((a - (b + 0.95)).abs() < 1e-4, "{a} vs {b} + 0.95");
        }
        // A model with other parameter ids is refused, not silently skipped.
        let other = small_model(&device);
        let err = average.update(&other, 1).unwrap_err().to_string();
        assert!(err.contains("not in the model"), "{err}");
    }
}
