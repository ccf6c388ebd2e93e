//! Which burn backend embeds: WebGPU when the build has it and the browser gives an adapter,
//! else the CPU backend (burn flex, compiled to wasm). Pure logic here; the JS probing is in
//! `device.rs`.

use std::str::FromStr;

/// The backend that runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    WebGpu,
}

impl Backend {
    /// `"cpu"` or `"webgpu"`: what `embedder.backend` says.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::WebGpu => "webgpu",
        }
    }
}

/// What the caller asked for (`options.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Requested {
    #[default]
    Auto,
    Cpu,
    WebGpu,
}

impl FromStr for Requested {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "webgpu" => Ok(Self::WebGpu),
            other => {
                Err(format!("backend must be \"auto\", \"cpu\" or \"webgpu\"; got \"{other}\""))
            }
        }
    }
}

/// The backend to try. `webgpu_built`: this build has the WebGPU backend; `adapter`:
/// `navigator.gpu.requestAdapter()` gave one (a software fallback adapter counts).
pub fn choose(requested: Requested, webgpu_built: bool, adapter: bool) -> Result<Backend, String> {
    match requested {
        Requested::Cpu => Ok(Backend::Cpu),
        Requested::WebGpu if !webgpu_built => {
            Err("WebGPU was requested but this build has no WebGPU backend".into())
        }
        Requested::WebGpu if !adapter => {
            Err("WebGPU was requested but navigator.gpu gave no adapter".into())
        }
        Requested::WebGpu => Ok(Backend::WebGpu),
        Requested::Auto if webgpu_built && adapter => Ok(Backend::WebGpu),
        Requested::Auto => Ok(Backend::Cpu),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_webgpu_only_with_an_adapter_and_the_backend_built() {
        assert_eq!(choose(Requested::Auto, true, true), Ok(Backend::WebGpu));
        assert_eq!(choose(Requested::Auto, true, false), Ok(Backend::Cpu));
        assert_eq!(choose(Requested::Auto, false, true), Ok(Backend::Cpu));
        assert_eq!(choose(Requested::Auto, false, false), Ok(Backend::Cpu));
    }

    #[test]
    fn explicit_requests_are_honoured_or_refused_with_the_reason() {
        assert_eq!(choose(Requested::Cpu, true, true), Ok(Backend::Cpu));
        assert_eq!(choose(Requested::WebGpu, true, true), Ok(Backend::WebGpu));
        assert!(choose(Requested::WebGpu, true, false).unwrap_err().contains("no adapter"));
        assert!(choose(Requested::WebGpu, false, true).unwrap_err().contains("no WebGPU backend"));
    }

    #[test]
    fn names_parse_and_print() {
        for (s, r) in
            [("auto", Requested::Auto), ("cpu", Requested::Cpu), ("webgpu", Requested::WebGpu)]
        {
            assert_eq!(s.parse::<Requested>(), Ok(r));
        }
        assert!("gpu".parse::<Requested>().unwrap_err().contains("\"gpu\""));
        assert_eq!(Backend::WebGpu.name(), "webgpu");
        assert_eq!(Backend::Cpu.name(), "cpu");
    }
}
