//! Parts of a model, named by their module path, whose weights stay fixed while the rest
//! trains (partial fine-tuning: e.g. the stem and first stages of a CNN).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;

/// Does the tensor at `path` (module names from the root, e.g.
/// `["extractor", "MobileNetV2", "blocks", "3", "expand", "conv", "weight"]`) fall under
/// `prefix` (dotted, e.g. `blocks.3` or `extractor.MobileNetV2.blocks.3`)? The prefix matches
/// whole names, from the root or from below the first level's enum variant (so
/// `blocks.3` names the same tensors as `extractor.MobileNetV2.blocks.3`).
pub fn path_matches(path: &[String], prefix: &str) -> bool {
    let parts: Vec<&str> = prefix.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return false;
    }
    let starts =
        |from: &[String]| from.len() >= parts.len() && from.iter().zip(&parts).all(|(a, b)| a == b);
    starts(path) || (path.len() > 2 && starts(&path[2..]))
}

/// Stops the gradient of every float parameter under one of `prefixes` (see [`path_matches`]).
/// Returns the model and, per prefix, how many tensors it froze, so that a prefix naming
/// nothing can be reported. BatchNorm running statistics under a prefix are not parameters and
/// keep updating (see `freeze_batch_norm_statistics` for those).
///
/// A module's [`unfreeze`](Module::unfreeze) makes them trainable again; apply this after it.
pub fn freeze_paths<M: Module>(module: M, prefixes: &[String]) -> (M, Vec<usize>) {
    let mut mapper = Paths { prefixes, path: Vec::new(), frozen: vec![0; prefixes.len()] };
    let module = module.map(&mut mapper);
    (module, mapper.frozen)
}

struct Paths<'a> {
    prefixes: &'a [String],
    path: Vec<String>,
    frozen: Vec<usize>,
}

impl ModuleMapper for Paths<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.path.last().is_some_and(|field| field.starts_with("running_")) {
            return param;
        }
        let mut hit = false;
        for (prefix, count) in self.prefixes.iter().zip(&mut self.frozen) {
            if path_matches(&self.path, prefix) {
                *count += 1;
                hit = true;
            }
        }
        if hit { param.set_require_grad(false) } else { param }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::ModuleVisitor;
    use burn::tensor::Device;

    use super::*;
    use crate::extractor::{AnyExtractor, ExtractorWithMlp, MobileNetV2Config};

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn prefixes_match_whole_names_from_the_root_or_below_the_variant() {
        let p = path("extractor.MobileNetV2.blocks.3.expand.conv.weight");
        assert!(path_matches(&p, "blocks.3"));
        assert!(path_matches(&p, "blocks"));
        assert!(path_matches(&p, "extractor.MobileNetV2.blocks.3"));
        assert!(path_matches(&p, "extractor"));
        assert!(!path_matches(&p, "blocks.30"));
        assert!(!path_matches(&p, "blocks.3.expand.conv.weight.x"));
        assert!(!path_matches(&p, "stem"));
        assert!(!path_matches(&p, ""));
        assert!(!path_matches(&path("extractor.MobileNetV2.blocks.13.x"), "blocks.1"));
    }

    /// (trainable, frozen) tensors under `prefix`.
    fn census<M: Module>(m: &M, prefix: &str) -> (usize, usize) {
        struct Count<'a>(&'a str, Vec<String>, usize, usize);
        impl ModuleVisitor for Count<'_> {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.1.push(name.to_owned());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.1.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let field = self.1.last().cloned().unwrap_or_default();
                if field.starts_with("running_") || !path_matches(&self.1, self.0) {
                    return;
                }
                if param.is_require_grad() {
                    self.2 += 1;
                } else {
                    self.3 += 1;
                }
            }
        }
        let mut count = Count(prefix, Vec::new(), 0, 0);
        m.visit(&mut count);
        (count.2, count.3)
    }

    #[test]
    fn the_named_parts_stop_training_and_the_rest_trains() {
        let device = Device::flex().autodiff();
        let extractor =
            AnyExtractor::MobileNetV2(MobileNetV2Config::new().with_width_mult(0.35).init(&device));
        let model = ExtractorWithMlp::new(extractor, &[], &device);
        let prefixes = vec!["stem".to_owned(), "blocks.0".to_owned(), "nowhere".to_owned()];
        let (model, frozen) = freeze_paths(model, &prefixes);
        // stem: conv weight + BN gamma, beta; block 0: depthwise and project, each conv + BN.
        assert_eq!(frozen, vec![3, 6, 0]);
        assert_eq!(census(&model, "stem"), (0, 3));
        assert_eq!(census(&model, "blocks.0"), (0, 6));
        let (trainable, none) = census(&model, "blocks.1");
        assert!(trainable > 0 && none == 0);
        let unfrozen = model.unfreeze();
        assert_eq!(census(&unfrozen, "stem"), (3, 0));
    }
}
