//! `--device auto|cpu|wgpu|cuda`: the burn device a command runs on, chosen at run time.
//! GPU backends are cargo features of this crate (`wgpu`, `cuda`); the CPU backend (burn's
//! flex, multi-threaded) is always there.

use burn::tensor::Device;

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
    /// The fastest compiled-in backend: CUDA, then wgpu, then the CPU.
    #[default]
    Auto,
    Cpu,
    Wgpu,
    Cuda,
}

impl DeviceChoice {
    /// The burn device, or why this build cannot give it.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            Self::Auto => Ok(auto()),
            Self::Wgpu => wgpu(),
            Self::Cuda => cuda(),
        }
    }
}

impl DeviceChoice {
    /// `n` devices of this kind for data-parallel training: CUDA devices 0..n, discrete GPUs
    /// 0..n through wgpu, or the CPU n times (replicas sharing its cores).
    pub fn devices(self, n: usize) -> anyhow::Result<Vec<Device>> {
        if n <= 1 {
            return Ok(vec![self.device()?]);
        }
        let first = self.device()?;
        if matches!(first.clone().inner().as_dispatch(), burn::backend::DispatchDevice::Flex(_)) {
            return Ok(vec![first; n]);
        }
        (0..n).map(|i| indexed(self, i)).collect()
    }
}

#[allow(clippy::needless_return, unreachable_code, unused_variables)]
fn indexed(choice: DeviceChoice, index: usize) -> anyhow::Result<Device> {
    #[cfg(feature = "cuda")]
    if matches!(choice, DeviceChoice::Cuda | DeviceChoice::Auto) {
        return Ok(Device::cuda(index));
    }
    #[cfg(feature = "wgpu")]
    return Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)));
    anyhow::bail!("no GPU backend for device {index} in this build")
}

#[allow(clippy::needless_return, unreachable_code)]
fn auto() -> Device {
    #[cfg(feature = "cuda")]
    return Device::cuda(0);
    #[cfg(feature = "wgpu")]
    return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    Device::flex()
}

fn wgpu() -> anyhow::Result<Device> {
    #[cfg(feature = "wgpu")]
    return Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
    #[cfg(not(feature = "wgpu"))]
    anyhow::bail!("this build has no wgpu backend; rebuild with `cargo build --features wgpu`")
}

fn cuda() -> anyhow::Result<Device> {
    #[cfg(feature = "cuda")]
    return Ok(Device::cuda(0));
    #[cfg(not(feature = "cuda"))]
    anyhow::bail!("this build has no CUDA backend; rebuild with `cargo build --features cuda`")
}
