//! The devices the parity tests run on: burn's CPU backend, and a wgpu adapter where the
//! machine has one (a GPU, or Mesa's software Vulkan driver, lavapipe, as in CI).
//! `OML_GPU_TESTS=require` (set by scripts/test.sh) makes a missing adapter a failure rather
//! than a skip; `OML_GPU_TESTS=skip` leaves the GPU out. Included by path from each crate's
//! tests, so that every crate asks the same way; `feature = "wgpu"` is the including crate's
//! (on in the workspace's test build through the native binaries' default features).
#![allow(dead_code)]

use std::sync::OnceLock;

use burn::tensor::Device;

/// The CPU, then the wgpu adapter if there is one.
pub fn test_devices() -> Vec<Device> {
    let mut devices = vec![Device::flex()];
    devices.extend(test_gpu());
    devices
}

/// The wgpu adapter that burn picks by default (a GPU first, else a software one), once
/// checked to compute; `None` without one unless `OML_GPU_TESTS=require`.
pub fn test_gpu() -> Option<Device> {
    static GPU: OnceLock<Option<Device>> = OnceLock::new();
    GPU.get_or_init(|| {
        let mode = std::env::var("OML_GPU_TESTS").unwrap_or_default();
        if mode == "skip" {
            return None;
        }
        #[cfg(not(feature = "wgpu"))]
        {
            assert!(mode != "require", "OML_GPU_TESTS=require but built without wgpu");
            None
        }
        #[cfg(feature = "wgpu")]
        wgpu(&mode)
    })
    .clone()
}

#[cfg(feature = "wgpu")]
fn wgpu(mode: &str) -> Option<Device> {
    use burn::tensor::{DeviceKind, Tensor};
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let works = std::panic::catch_unwind(|| {
        Tensor::<1>::from_floats([1.0, 2.0], &device).sum().try_into_vec_as::<f32>()
    });
    match works {
        Ok(Ok(v)) if v == [3.0] => Some(device),
        other => {
            assert!(mode != "require", "OML_GPU_TESTS=require but no wgpu adapter: {other:?}");
            eprintln!("no wgpu adapter: the GPU half of this test is skipped");
            None
        }
    }
}

/// `cpu` or `wgpu`, for failure messages.
pub fn device_name(device: &Device) -> &'static str {
    match device.clone().inner().as_dispatch() {
        burn::backend::DispatchDevice::Flex(_) => "cpu",
        _ => "wgpu",
    }
}
