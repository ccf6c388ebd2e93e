//! Depthwise convolutions whose weights stay fixed while the rest of a model trains.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;

/// Stops the gradient of every depthwise convolution's weight (the parameters under a field
/// named `depthwise`, as MobileNetV2's and EfficientNet-Lite's blocks name them); their
/// BatchNorms and everything else still train. Returns the model and how many tensors were
/// frozen.
///
/// Why: on burn 0.22's CPU backend the weight gradient of a grouped convolution runs one small
/// convolution per channel (`conv2d_weight_grad_groups`), which made these 2 % of
/// MobileNetV2's parameters cost about a quarter of a training step
/// (`cargo run --release -p oml-benches --example depthwise_probe`).
///
/// A module's [`unfreeze`](Module::unfreeze) makes them trainable again; apply this after it.
pub fn freeze_depthwise_weights<M: Module>(module: M) -> (M, usize) {
    let mut mapper = DepthwiseWeights { path: Vec::new(), frozen: 0 };
    let module = module.map(&mut mapper);
    (module, mapper.frozen)
}

struct DepthwiseWeights {
    path: Vec<String>,
    frozen: usize,
}

impl ModuleMapper for DepthwiseWeights {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let in_depthwise_conv =
            self.path.iter().any(|p| p == "depthwise") && self.path.iter().any(|p| p == "conv");
        if in_depthwise_conv {
            self.frozen += 1;
            param.set_require_grad(false)
        } else {
            param
        }
    }
}
