//! A model's gradients and buffers as flat host vectors, to all-reduce between the ranks of an
//! MPI job ([`super::processes`]).
//!
//! The layout is the order in which burn visits the module's float tensors, which is the same
//! on every rank that builds the same model. "Trainable" tensors are the parameters that
//! require a gradient; frozen weights are neither trainable nor running statistics.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

/// Number of values in the trainable tensors and in the buffers of `module`.
pub fn sizes<M: Module>(module: &M) -> (usize, usize) {
    struct Count(usize, usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let n = param.shape().num_elements();
            if param.is_require_grad() {
                self.0 += n;
            } else {
                self.1 += n;
            }
        }
    }
    let mut count = Count(0, 0);
    module.visit(&mut count);
    (count.0, count.1)
}

/// Adds the gradients of `module`'s trainable tensors, taken out of `grads`, into `out`
/// (length: the trainable size of [`sizes`]); a tensor without a gradient adds nothing.
pub fn add_gradients<M: Module>(module: &M, grads: &mut GradientsParams, out: &mut [f32]) {
    struct Add<'a> {
        grads: &'a mut GradientsParams,
        out: &'a mut [f32],
        at: usize,
    }
    impl ModuleVisitor for Add<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !param.is_require_grad() {
                return;
            }
            let n = param.shape().num_elements();
            if let Some(g) = self.grads.remove::<D>(param.id) {
                let values = g.into_data().convert::<f32>();
                if let Ok(values) = values.as_slice::<f32>() {
                    for (o, v) in self.out[self.at..self.at + n].iter_mut().zip(values) {
                        *o += v;
                    }
                }
            }
            self.at += n;
        }
    }
    module.visit(&mut Add { grads, out, at: 0 });
}

/// The gradients in `flat` (laid out as [`add_gradients`] writes them) for `module`'s
/// trainable tensors, on `device` (without autodiff, as the optimizer takes them).
pub fn gradients<M: Module>(module: &M, flat: &[f32], device: &Device) -> GradientsParams {
    struct Build<'a> {
        flat: &'a [f32],
        at: usize,
        device: Device,
        out: GradientsParams,
    }
    impl ModuleVisitor for Build<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !param.is_require_grad() {
                return;
            }
            let shape = param.shape();
            let n = shape.num_elements();
            let data = TensorData::new(self.flat[self.at..self.at + n].to_vec(), shape);
            self.out.register::<D>(param.id, Tensor::from_data(data, &self.device));
            self.at += n;
        }
    }
    let mut build =
        Build { flat, at: 0, device: device.clone().inner(), out: GradientsParams::new() };
    module.visit(&mut build);
    build.out
}

/// Folds every BatchNorm's pending running-statistics updates into its value. burn's
/// `RunningState` keeps each thread's latest update apart until the next update or until
/// `valid()` averages them; visitors and mappers see (and set) only the folded value, so this
/// comes before [`values`] or [`with_values`] of running statistics.
pub fn fold_running_stats<M: Module>(module: &M) {
    drop(module.valid());
}

/// Which of a module's float tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensors {
    /// The BatchNorm running statistics (burn's `running_mean` and `running_var` fields).
    RunningStats,
    /// All of them.
    All,
}

/// The path of module fields down to the tensor being visited, to tell running statistics
/// from weights.
#[derive(Debug, Default)]
struct Path(Vec<String>);

impl Path {
    fn includes(&self, which: Tensors) -> bool {
        which == Tensors::All || self.0.last().is_some_and(|field| field.starts_with("running_"))
    }
}

/// The values of `module`'s `which` tensors, flattened in visiting order.
pub fn values<M: Module>(module: &M, which: Tensors) -> Vec<f32> {
    struct Collect(Vec<f32>, Tensors, Path);
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.2.0.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.2.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !self.2.includes(self.1) {
                return;
            }
            let values = param.val().into_data().convert::<f32>();
            if let Ok(values) = values.as_slice::<f32>() {
                self.0.extend_from_slice(values);
            }
        }
    }
    let mut collect = Collect(Vec::new(), which, Path::default());
    module.visit(&mut collect);
    collect.0
}

/// `module` with its `which` tensors replaced by `flat` (laid out as [`values`] returns
/// them); each keeps its id and whether it trains.
pub fn with_values<M: Module>(module: M, which: Tensors, flat: &[f32]) -> M {
    struct Replace<'a> {
        flat: &'a [f32],
        at: usize,
        which: Tensors,
        path: Path,
    }
    impl ModuleMapper for Replace<'_> {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.0.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.0.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if !self.path.includes(self.which) {
                return param;
            }
            let n = param.shape().num_elements();
            let values = &self.flat[self.at..self.at + n];
            self.at += n;
            param.map(|t| {
                let data = TensorData::new(values.to_vec(), t.shape());
                let trains = t.is_require_grad();
                Tensor::from_data(data, &t.device()).set_require_grad(trains)
            })
        }
    }
    module.map(&mut Replace { flat, at: 0, which, path: Path::default() })
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::tensor::Distribution;
    use oml_models::extractor::{AnyExtractor, Extractor, ExtractorWithMlp, MobileNetV2Config};

    use super::*;
    use oml_models::model_file::FileModel;

    fn model(device: &Device, seed: u64) -> FileModel {
        device.seed(seed);
        let extractor =
            AnyExtractor::MobileNetV2(MobileNetV2Config::new().with_width_mult(0.35).init(device));
        let model = ExtractorWithMlp::new(extractor, &[], device);
        oml_models::extractor::freeze_depthwise_weights(model).0
    }

    /// Every float of the model, in visiting order.
    fn floats<M: Module>(m: &M) -> Vec<f32> {
        struct All(Vec<f32>);
        impl ModuleVisitor for All {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0
                    .extend(param.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
            }
        }
        let mut all = All(Vec::new());
        m.visit(&mut all);
        all.0
    }

    #[test]
    fn gradients_go_through_a_flat_vector_and_back() {
        let device = Device::flex().autodiff();
        let m = model(&device, 3);
        let (trainable, buffered) = sizes(&m);
        assert!(trainable > 0 && buffered > 0);
        let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let loss = m.extract(x).powi_scalar(2).sum();
        let mut grads = GradientsParams::from_grads(loss.backward(), &m);
        let n = grads.len();
        let mut flat = vec![0.0; trainable];
        add_gradients(&m, &mut grads, &mut flat);
        assert!(grads.is_empty(), "every gradient is taken");
        assert!(flat.iter().filter(|v| **v != 0.0).count() > trainable / 2);

        let mut back = gradients(&m, &flat, &device);
        assert_eq!(back.len(), n, "one gradient per trainable tensor");
        let mut twice = flat.clone();
        add_gradients(&m, &mut back, &mut twice);
        assert!(flat.iter().zip(&twice).all(|(a, b)| 2.0 * a == *b), "added into the vector");
    }

    #[test]
    fn running_statistics_and_all_values_are_replaced_exactly() {
        let device = Device::flex().autodiff();
        let (a, b) = (model(&device, 1), model(&device, 2));
        // Training-mode forward passes move a's running statistics away from b's.
        let x = Tensor::<4>::random([4, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        drop(a.extract(x));
        fold_running_stats(&a);
        let stats = |m: &FileModel| values(m, Tensors::RunningStats);
        let n_channels: usize = 2 * batch_norm_channels(&a);
        assert_eq!(stats(&a).len(), n_channels, "running mean and variance of every BatchNorm");
        assert_ne!(stats(&a), stats(&b));

        let mixed = with_values(b.clone(), Tensors::RunningStats, &stats(&a));
        assert_eq!(stats(&mixed), stats(&a));
        assert_eq!(sizes(&mixed), sizes(&b), "frozen tensors stay frozen, the others train");
        // Everything else is b's.
        let (fb, fm) = (floats(&b), floats(&mixed));
        let changed = fm.iter().zip(&fb).filter(|(m, b)| m != b).count();
        let differing = stats(&a).iter().zip(&stats(&b)).filter(|(x, y)| x != y).count();
        assert_eq!(changed, differing);

        let copy = with_values(b, Tensors::All, &values(&a, Tensors::All));
        assert_eq!(floats(&copy), floats(&a));
        assert_eq!(sizes(&copy), sizes(&a));
        // The copy still trains: its trainable tensors get gradients.
        let x = Tensor::<4>::ones([2, 3, 32, 32], &device);
        let loss = copy.extract(x).powi_scalar(2).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &copy);
        assert_eq!(grads.len(), trainable_tensors(&copy));
    }

    /// Channels over all BatchNorms (each has a gamma of that length).
    fn batch_norm_channels<M: Module>(m: &M) -> usize {
        struct Count(usize, Vec<String>);
        impl ModuleVisitor for Count {
            fn enter_module(&mut self, name: &str, _container_type: &str) {
                self.1.push(name.to_owned());
            }
            fn exit_module(&mut self, _name: &str, _container_type: &str) {
                self.1.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if self.1.last().is_some_and(|f| f == "gamma") {
                    self.0 += param.shape().num_elements();
                }
            }
        }
        let mut count = Count(0, Vec::new());
        m.visit(&mut count);
        count.0
    }

    fn trainable_tensors<M: Module>(m: &M) -> usize {
        struct Count(usize);
        impl ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0 += usize::from(param.is_require_grad());
            }
        }
        let mut count = Count(0);
        m.visit(&mut count);
        count.0
    }
}
