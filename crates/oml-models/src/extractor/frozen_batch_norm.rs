//! BatchNorm layers that keep their running statistics while the rest of a model trains.

use burn::module::{Flag, Module, ModuleMapper, Param};

/// Switches every BatchNorm in `module` to normalising with its running (e.g. pretrained)
/// statistics during training, and to leaving them unchanged; γ and β still train. The usual
/// choice when fine-tuning for retrieval with small or skewed batches (e.g. batches drawn from
/// one or two categories), whose statistics differ from the data the model sees at inference.
/// Other modules' training flags (dropout) are left as they are.
///
/// A module's [`unfreeze`](Module::unfreeze) re-enables the statistics; apply this after it.
pub fn freeze_batch_norm_statistics<M: Module>(module: M) -> M {
    module.map(&mut BatchNormStatistics { containers: Vec::new() })
}

/// Counts the BatchNorm layers whose statistics are frozen (for tests and reports).
pub fn frozen_batch_norms<M: Module>(module: &M) -> (usize, usize) {
    let mut counter = BatchNormCounter { containers: Vec::new(), frozen: 0, total: 0 };
    module.visit(&mut counter);
    (counter.frozen, counter.total)
}

const BATCH_NORM: &str = "Struct:BatchNorm";

struct BatchNormStatistics {
    /// The containers entered, innermost last: a flag belongs to the last one.
    containers: Vec<String>,
}

impl ModuleMapper for BatchNormStatistics {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.containers.push(container_type.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.containers.pop();
    }

    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        if self.containers.last().is_some_and(|c| c == BATCH_NORM) {
            flag.with_value(false)
        } else {
            flag
        }
    }
}

struct BatchNormCounter {
    containers: Vec<String>,
    frozen: usize,
    total: usize,
}

impl burn::module::ModuleVisitor for BatchNormCounter {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.containers.push(container_type.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.containers.pop();
    }

    fn visit_flag(&mut self, flag: &Param<Flag>) {
        if self.containers.last().is_some_and(|c| c == BATCH_NORM) {
            self.total += 1;
            if !flag.is_enabled() {
                self.frozen += 1;
            }
        }
    }
}
