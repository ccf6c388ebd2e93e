//! What this machine has: the CUDA GPUs and wgpu adapters burn can open, and whether a device
//! really computes. Backend failures that burn reports by panicking (a driver library that is
//! missing, a kernel compiler that cannot be loaded) become reasons here.

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::{Device, Tensor};

use super::plan::{Gpu, Probe};

/// The real machine.
#[derive(Debug, Default)]
pub struct MachineProbe;

impl Probe for MachineProbe {
    fn cuda(&mut self) -> Vec<Gpu> {
        #[cfg(feature = "cuda")]
        return gpus(burn::tensor::DeviceType::Cuda);
        #[cfg(not(feature = "cuda"))]
        Vec::new()
    }

    fn wgpu(&mut self) -> Vec<Gpu> {
        #[cfg(feature = "wgpu")]
        return gpus(burn::tensor::DeviceType::Wgpu);
        #[cfg(not(feature = "wgpu"))]
        Vec::new()
    }

    fn check(&mut self, gpu: &Gpu) -> Result<(), String> {
        check(&gpu.device)
    }
}

/// Every device of `kind`, named; one that cannot even be opened is left out.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn gpus(kind: burn::tensor::DeviceType) -> Vec<Gpu> {
    let Ok(devices) = quietly(|| Device::enumerate(kind)) else {
        return Vec::new();
    };
    devices
        .into_iter()
        .filter_map(|device| {
            let (name, software, runtime) = quietly(|| {
                let identity = device.identity()?;
                Some((identity.name, identity.physical.is_none(), runtime_name(&device)))
            })
            .ok()??;
            #[cfg(feature = "wgpu")]
            let api = match runtime {
                "cuda" => api_name(runtime),
                _ => wgpu_api(&name).unwrap_or(api_name(runtime)),
            };
            #[cfg(not(feature = "wgpu"))]
            let api = api_name(runtime);
            Some(Gpu { api: api.to_owned(), name, software, device })
        })
        .collect()
}

/// The graphics API through which wgpu reaches the adapter named `name`, asked in the order
/// cubecl prefers them.
#[cfg(feature = "wgpu")]
fn wgpu_api(name: &str) -> Option<&'static str> {
    use burn::tensor::wgpu::wgpu;
    let apis = [
        (wgpu::Backend::Vulkan, "Vulkan"),
        (wgpu::Backend::Metal, "Metal"),
        (wgpu::Backend::Dx12, "DX12"),
        (wgpu::Backend::Gl, "OpenGL"),
    ];
    apis.into_iter().find_map(|(backend, api)| {
        if !wgpu::Instance::enabled_backend_features().contains(backend.into()) {
            return None;
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: backend.into(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = ready(instance.enumerate_adapters(backend.into()))?;
        adapters.iter().any(|a| a.get_info().name == name).then_some(api)
    })
}

/// The output of a future that is ready at once (wgpu's native enumeration is), else `None`.
#[cfg(feature = "wgpu")]
fn ready<F: Future>(future: F) -> Option<F::Output> {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// cubecl's name of the runtime behind `device`: `cuda`, `wgpu<spirv>`, `wgpu<msl>`, ...
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn runtime_name(device: &Device) -> &'static str {
    match device.clone().inner().as_dispatch() {
        burn::backend::DispatchDevice::Cube(cube) => cube.client().name(),
        _ => "",
    }
}

/// The graphics or compute API a cubecl runtime name stands for.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn api_name(runtime: &str) -> &str {
    match runtime {
        "cuda" => "CUDA",
        "wgpu<spirv>" => "Vulkan",
        "wgpu<msl>" => "Metal",
        "wgpu<wgsl>" => "WebGPU shaders",
        other => other,
    }
}

/// The largest single buffer `device` can hold, where its backend says so.
pub fn max_buffer_bytes(device: &Device) -> Option<u64> {
    match device.clone().inner().as_dispatch() {
        #[cfg(any(feature = "cuda", feature = "wgpu"))]
        burn::backend::DispatchDevice::Cube(cube) => {
            Some(cube.client().properties().memory.max_page_size)
        }
        _ => None,
    }
}

/// Computes `2 · [1, 2, 3]` summed on `device` and reads it back: 12, or why not.
pub fn check(device: &Device) -> Result<(), String> {
    let result = quietly(|| {
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0], device);
        (x * 2.0).sum().try_into_vec_as::<f32>()
    })?;
    match result {
        Ok(v) if v == [12.0] => Ok(()),
        Ok(v) => Err(format!("2 · (1 + 2 + 3) came back as {v:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `f`; a panic inside becomes its message, and is not printed.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the backend panicked".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_passes_the_check() {
        assert_eq!(check(&Device::flex()), Ok(()));
    }

    #[test]
    fn a_panic_becomes_its_message() {
        let r: Result<(), String> = quietly(|| panic!("libnvrtc.so not found"));
        assert_eq!(r, Err("libnvrtc.so not found".to_owned()));
    }

    #[test]
    #[cfg(any(feature = "cuda", feature = "wgpu"))]
    fn runtime_names_read_as_apis() {
        assert_eq!(api_name("wgpu<spirv>"), "Vulkan");
        assert_eq!(api_name("cuda"), "CUDA");
    }
}
