//! The optimizer update of a step around burn's optimizer: gradients clipped by their global
//! norm, and the backbone's parameters at their own learning rate (PyTorch's parameter
//! groups).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

/// A step's learning rates and clipping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    /// The learning rate of the head and the criterion's weights (and of everything without a
    /// backbone rate).
    pub lr: f64,
    /// The backbone's learning rate, when it has its own.
    pub backbone_lr: Option<f64>,
    /// Largest global L2 norm of the gradients (`torch.nn.utils.clip_grad_norm_`).
    pub clip_grad_norm: Option<f64>,
}

impl Update {
    /// A plain step at `lr`.
    #[cfg(test)]
    pub fn at(lr: f64) -> Self {
        Self { lr, backbone_lr: None, clip_grad_norm: None }
    }

    /// The optimizer step of `module` on `grads`: clipped first, then the parameters of
    /// `backbone` (ids) at the backbone rate, the others at `lr`.
    pub fn apply<M: Module>(
        &self,
        optim: &mut ModuleOptimizer,
        module: M,
        mut grads: GradientsParams,
        backbone: &[ParamId],
    ) -> M {
        if let Some(max_norm) = self.clip_grad_norm {
            clip_by_global_norm(&module, &mut grads, max_norm);
        }
        match self.backbone_lr {
            Some(backbone_lr) if !backbone.is_empty() => {
                let split = take_grads(&module, &mut grads, backbone);
                let module = optim.step(backbone_lr, module, split);
                optim.step(self.lr, module, grads)
            }
            _ => optim.step(self.lr, module, grads),
        }
    }
}

/// The ids of every float parameter of `module`.
pub fn param_ids<M: Module>(module: &M) -> Vec<ParamId> {
    struct Ids(Vec<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id);
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// Moves the gradients of the parameters `ids` out of `grads` into their own set.
fn take_grads<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    ids: &[ParamId],
) -> GradientsParams {
    struct Take<'a> {
        ids: &'a [ParamId],
        from: &'a mut GradientsParams,
        to: GradientsParams,
    }
    impl ModuleVisitor for Take<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.ids.contains(&param.id)
                && let Some(g) = self.from.remove::<D>(param.id)
            {
                self.to.register::<D>(param.id, g);
            }
        }
    }
    let mut take = Take { ids, from: grads, to: GradientsParams::new() };
    module.visit(&mut take);
    take.to
}

/// Scales every gradient by `min(1, max_norm / (‖g‖ + 1e-6))`, `‖g‖` the L2 norm of all the
/// gradients together (PyTorch `clip_grad_norm_`; burn's own clipping is per tensor).
fn clip_by_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.square().sum();
                self.total = Some(match self.total.take() {
                    Some(t) => t + s,
                    None => s,
                });
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f64,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register::<D>(param.id, g.mul_scalar(self.factor));
            }
        }
    }
    let mut sum = SumSquares { grads, total: None };
    module.visit(&mut sum);
    let Some(total) = sum.total else { return };
    let norm = total.try_into_vec_as::<f32>().ok().and_then(|v| v.first().copied());
    let Some(norm) = norm.map(|s| f64::from(s).sqrt()) else { return };
    let factor = (max_norm / (norm + 1e-6)).min(1.0);
    if factor < 1.0 {
        module.visit(&mut Scale { grads, factor });
    }
}

#[cfg(test)]
mod tests {
    //! PyTorch's optimizers and schedules against ours: `tests/fixtures/optim/trajectories.json`
    //! (made by `make_trajectories.py` beside it, torch 2.x; LAMB, which PyTorch lacks, from
    //! its paper's formula written in torch there).
    #![allow(clippy::unwrap_used)]

    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};
    use serde_json::Value;

    use super::{Update, param_ids};
    use crate::train::config::WarmupSection;
    use crate::train::config::{OptimizerName, OptimizerSection, Position, SchedulerSection};

    #[derive(Module, Debug)]
    struct Linear {
        weight: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
    }

    fn fixture() -> Value {
        let text = include_str!("../../../tests/fixtures/optim/trajectories.json");
        serde_json::from_str(text).unwrap()
    }

    fn floats(v: &Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|x| match x.as_array() {
                Some(row) => row.iter().map(|y| y.as_f64().unwrap() as f32).collect(),
                None => vec![x.as_f64().unwrap() as f32],
            })
            .collect()
    }

    fn section(case: &Value) -> OptimizerSection {
        let name = match case["name"].as_str().unwrap() {
            "sgd" => OptimizerName::Sgd,
            "adam" => OptimizerName::Adam,
            "adamw" => OptimizerName::AdamW,
            "lamb" => OptimizerName::Lamb,
            _ => OptimizerName::RmsProp,
        };
        let mut s = OptimizerSection::new(name, case["lr"].as_f64().unwrap());
        let keys = &case["keys"];
        let f = |k: &str| keys.get(k).and_then(Value::as_f64);
        s.weight_decay = f("weight_decay");
        s.momentum = f("momentum").unwrap_or(0.0);
        s.alpha = f("alpha").unwrap_or(s.alpha);
        s.nesterov = keys.get("nesterov").is_some_and(|v| v.as_bool().unwrap());
        s.centered = keys.get("centered").is_some_and(|v| v.as_bool().unwrap());
        if let Some(b) = keys.get("betas") {
            s.betas = [b[0].as_f64().unwrap(), b[1].as_f64().unwrap()];
        }
        s.clip_grad_norm = case["clip_grad_norm"].as_f64();
        s.backbone_lr = case["bias_lr"].as_f64();
        s
    }

    /// Each optimizer's parameters after each of 8 steps equal PyTorch's (the bias standing in
    /// for the backbone's own learning rate).
    #[test]
    fn optimizers_follow_pytorchs_trajectories() {
        let f = fixture();
        let device = Device::flex().autodiff();
        let (x, y) = (floats(&f["x"]), floats(&f["y"]));
        let x = Tensor::<2>::from_data(TensorData::new(x, [8, 4]), &device);
        let y = Tensor::<2>::from_data(TensorData::new(y, [8, 3]), &device);
        for case in f["optimizers"].as_array().unwrap() {
            let s = section(case);
            let mut optim = s.build();
            let mut model = Linear {
                weight: Param::from_tensor(Tensor::from_data(
                    TensorData::new(floats(&f["weight"]), [3, 4]),
                    &device,
                )),
                bias: Param::from_tensor(Tensor::from_data(
                    TensorData::new(floats(&f["bias"]), [3]),
                    &device,
                )),
            };
            let update =
                Update { lr: s.lr, backbone_lr: s.backbone_lr, clip_grad_norm: s.clip_grad_norm };
            let grouped = param_ids(&model.bias);
            for (i, want) in case["steps"].as_array().unwrap().iter().enumerate() {
                let out = x.clone().matmul(model.weight.val().transpose())
                    + model.bias.val().unsqueeze_dim::<2>(0);
                let loss = (out - y.clone()).square().mean();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = update.apply(&mut optim, model, grads, &grouped);
                let got_w = model.weight.val().try_into_vec_as::<f32>().unwrap();
                let got_b = model.bias.val().try_into_vec_as::<f32>().unwrap();
                for (got, key) in [(got_w, "weight"), (got_b, "bias")] {
                    for (g, w) in got.iter().zip(floats(&want[key])) {
                        assert!(
                            (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                            "{} {} step {}: {key} {g} vs PyTorch {w}",
                            case["name"],
                            case["keys"],
                            i + 1
                        );
                    }
                }
            }
        }
    }

    /// Every schedule's learning rate at every step of 6 epochs of 5 steps equals PyTorch's.
    #[test]
    fn schedules_follow_pytorchs_learning_rates() {
        let f = fixture();
        let (epochs, per_epoch) =
            (f["epochs"].as_u64().unwrap(), f["steps_per_epoch"].as_u64().unwrap());
        let base = f["base_lr"].as_f64().unwrap();
        for case in f["schedules"].as_array().unwrap() {
            let mut config = case["config"].clone();
            let warmup: Option<WarmupSection> = config
                .as_object_mut()
                .unwrap()
                .remove("warmup")
                .map(|w| serde_json::from_value(w).unwrap());
            let schedule: SchedulerSection = serde_json::from_value(config).unwrap();
            for (i, want) in case["lrs"].as_array().unwrap().iter().enumerate() {
                let i = i as u64;
                let at = Position {
                    epoch: i / per_epoch,
                    epochs,
                    step: i % per_epoch,
                    steps_per_epoch: per_epoch,
                };
                let got = schedule.lr(base, at) * warmup.map_or(1.0, |w| w.factor(i));
                let want = want.as_f64().unwrap();
                assert!(
                    (got - want).abs() <= 1e-12 + 1e-9 * want,
                    "{} step {i}: {got} vs PyTorch {want}",
                    case["config"]
                );
            }
        }
    }
}
