//! `--device auto|cpu|wgpu|cuda`: the burn device a command runs on, chosen at run time.
//! GPU backends are cargo features of this crate (`wgpu`, on by default, and `cuda`); the CPU
//! backend (burn's flex, multi-threaded) is always there. What a choice means on this machine
//! is decided by [`plan`] from what [`MachineProbe`] finds, and said once on stderr.

mod error;
mod plan;
mod probe;

use std::collections::HashSet;
use std::sync::Mutex;

use burn::tensor::Device;
use oml_models::precision::Precision;

pub use error::DeviceError;
pub use plan::{Backend, Compiled, Gpu, Plan, Probe, plan};
pub use probe::{MachineProbe, check, max_buffer_bytes};

/// A device as the user names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The fastest device there is: a CUDA GPU, then a GPU through wgpu, then the CPU.
    #[default]
    Auto,
    Cpu,
    Wgpu,
    Cuda,
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        })
    }
}

impl DeviceChoice {
    /// The burn device, or why this build or machine cannot give it.
    pub fn device(self) -> Result<Device, DeviceError> {
        Ok(self.devices(1)?.swap_remove(0))
    }

    /// `n` devices of this kind for data-parallel training: CUDA devices 0..n, GPUs 0..n
    /// through wgpu, or the CPU n times (replicas sharing its cores).
    pub fn devices(self, n: usize) -> Result<Vec<Device>, DeviceError> {
        let plan = plan(self, n, Compiled::THIS_BUILD, &mut MachineProbe)?;
        announce(self, &plan);
        Ok(match plan.backend {
            Backend::Cpu => vec![Device::flex(); n.max(1)],
            _ => plan.gpus.into_iter().map(|g| g.device).collect(),
        })
    }
}

/// Whether `device` is the CPU backend (burn flex), with or without autodiff.
pub fn is_cpu(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), burn::backend::DispatchDevice::Flex(_))
}

/// Half precision is for GPU backends; on the CPU it is an error that says so.
pub fn check_precision(device: &Device, precision: Precision) -> Result<(), DeviceError> {
    match precision {
        Precision::F32 => Ok(()),
        _ if is_cpu(device) => Err(DeviceError::HalfOnCpu(precision)),
        _ if !device.supports_dtype(precision.dtype()) => {
            Err(DeviceError::UnsupportedPrecision(precision))
        }
        _ => Ok(()),
    }
}

/// `device: …` on stderr, once per process for each distinct line.
fn announce(choice: DeviceChoice, plan: &Plan) {
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut lines: Vec<String> =
        plan.notes.iter().map(|n| format!("device {choice}: {n}")).collect();
    lines.push(format!("device: {}", describe(plan)));
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    let said = said.get_or_insert_with(HashSet::new);
    for line in lines {
        if said.insert(line.clone()) {
            eprintln!("{line}");
        }
    }
}

/// `cpu (burn flex, 16 threads)`, `cuda:0 NVIDIA H100 80GB HBM3 (CUDA)`,
/// `wgpu:0 llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software)`.
pub fn describe(plan: &Plan) -> String {
    let kind = match plan.backend {
        Backend::Cpu => {
            return format!("cpu (burn flex, {} threads)", rayon::current_num_threads());
        }
        Backend::Cuda => "cuda",
        Backend::Wgpu => "wgpu",
    };
    let each: Vec<String> = plan
        .gpus
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let software = if g.software { ", software" } else { "" };
            format!("{kind}:{i} {} ({}{software})", g.name, g.api)
        })
        .collect();
    each.join(", ")
}
