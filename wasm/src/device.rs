//! Creating the burn device for a [`Backend`]: probing `navigator.gpu` for an adapter and
//! initialising burn's wgpu runtime once per page (or worker).

use burn::tensor::Device;

use crate::backend::{Backend, Requested, choose};

/// Whether this build has the WebGPU backend.
pub const WEBGPU_BUILT: bool = cfg!(feature = "webgpu");

/// The device to embed on, and the backend it is, for what the caller asked.
/// `auto` falls back to the CPU when WebGPU initialisation fails.
pub async fn device_for(requested: Requested) -> Result<(Device, Backend), String> {
    let adapter = WEBGPU_BUILT && requested != Requested::Cpu && has_adapter().await;
    match choose(requested, WEBGPU_BUILT, adapter)? {
        Backend::Cpu => Ok((Device::flex(), Backend::Cpu)),
        Backend::WebGpu => match webgpu().await {
            Ok(device) => Ok((device, Backend::WebGpu)),
            Err(_) if requested == Requested::Auto => Ok((Device::flex(), Backend::Cpu)),
            Err(e) => Err(e),
        },
    }
}

/// `navigator.gpu.requestAdapter()` gives an adapter.
async fn has_adapter() -> bool {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let get = |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).ok();
    let Some(navigator) = get(&js_sys::global(), "navigator").filter(|n| n.is_object()) else {
        return false;
    };
    let Some(gpu) = get(&navigator, "gpu").filter(|g| g.is_object()) else { return false };
    let Some(request) = get(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return false;
    };
    let Ok(promise) = request.call0(&gpu) else { return false };
    match wasm_bindgen_futures::JsFuture::from(Promise::resolve(&promise)).await {
        Ok(adapter) => adapter.is_object(),
        Err(_) => false,
    }
}

#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<Device, String> {
    thread_local! {
        static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU initialisation failed: {e}"))?;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu() -> Result<Device, String> {
    Err("this build has no WebGPU backend".into())
}
