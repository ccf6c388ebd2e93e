//! Which devices a [`DeviceChoice`] means on this machine, decided from what a [`Probe`] finds:
//! pure, so every rule is tested without the hardware.

use burn::tensor::Device;

use super::{DeviceChoice, DeviceError};

/// The GPU backends this build has (cargo features of `oml-native`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compiled {
    pub wgpu: bool,
    pub cuda: bool,
}

impl Compiled {
    pub const THIS_BUILD: Self =
        Self { wgpu: cfg!(feature = "wgpu"), cuda: cfg!(feature = "cuda") };
}

/// A GPU that a backend offers.
#[derive(Debug, Clone)]
pub struct Gpu {
    pub device: Device,
    /// As the driver names it, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// `CUDA`, `Vulkan`, `Metal`, `DX12`, `GL`.
    pub api: String,
    /// A software adapter (lavapipe, WARP): it runs, on the CPU, far slower than the CPU backend.
    pub software: bool,
}

/// What is on this machine, asked only when a choice needs it.
pub trait Probe {
    /// The CUDA GPUs, in CUDA's order.
    fn cuda(&mut self) -> Vec<Gpu>;
    /// The wgpu adapters, in wgpu's order.
    fn wgpu(&mut self) -> Vec<Gpu>;
    /// Runs a tiny computation on `gpu`; the reason where it fails.
    fn check(&mut self, gpu: &Gpu) -> Result<(), String>;
}

/// The backend a plan runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Cuda,
    Wgpu,
}

/// The devices to run on.
#[derive(Debug, Clone)]
pub struct Plan {
    pub backend: Backend,
    /// One per device asked for; empty on the CPU.
    pub gpus: Vec<Gpu>,
    /// Why `auto` passed over a backend, or a warning about the chosen device.
    pub notes: Vec<String>,
}

impl Plan {
    fn cpu(notes: Vec<String>) -> Self {
        Self { backend: Backend::Cpu, gpus: Vec::new(), notes }
    }
}

/// The devices `choice` means for `n` data-parallel replicas (`n >= 1`).
///
/// `cpu` is the CPU. `cuda` and `wgpu` are that backend or an error: not compiled in, nothing
/// found, fewer devices than `n`, or a device that fails a tiny computation. `wgpu` prefers
/// hardware adapters and takes a software one (lavapipe) only when there is nothing else, with
/// a note. `auto` takes CUDA, then a hardware wgpu adapter, then the CPU; it never takes a
/// software adapter, passes over a backend whose device fails with a note, and keeps the
/// error when a backend has GPUs but fewer than `n`.
pub fn plan(
    choice: DeviceChoice,
    n: usize,
    compiled: Compiled,
    probe: &mut impl Probe,
) -> Result<Plan, DeviceError> {
    let n = n.max(1);
    match choice {
        DeviceChoice::Cpu => Ok(Plan::cpu(Vec::new())),
        DeviceChoice::Cuda if !compiled.cuda => {
            Err(DeviceError::NotCompiled { backend: "CUDA", feature: "cuda" })
        }
        DeviceChoice::Wgpu if !compiled.wgpu => {
            Err(DeviceError::NotCompiled { backend: "wgpu", feature: "wgpu" })
        }
        DeviceChoice::Cuda => take(Backend::Cuda, probe.cuda(), n, probe),
        DeviceChoice::Wgpu => {
            let adapters = probe.wgpu();
            let hardware: Vec<Gpu> = adapters.iter().filter(|g| !g.software).cloned().collect();
            let mut plan = if hardware.is_empty() {
                take(Backend::Wgpu, adapters, n, probe)?
            } else {
                take(Backend::Wgpu, hardware, n, probe)?
            };
            if plan.gpus.iter().any(|g| g.software) {
                plan.notes.push(
                    "software adapter: it runs on the CPU, much slower than `--device cpu`"
                        .to_owned(),
                );
            }
            Ok(plan)
        }
        DeviceChoice::Auto => {
            let mut notes = Vec::new();
            if compiled.cuda {
                let gpus = probe.cuda();
                if !gpus.is_empty() {
                    match take(Backend::Cuda, gpus, n, probe) {
                        Err(DeviceError::Unusable { what, reason }) => {
                            notes.push(format!("not using {what}: {reason}"));
                        }
                        other => return other,
                    }
                }
            }
            if compiled.wgpu {
                let hardware: Vec<Gpu> = probe.wgpu().into_iter().filter(|g| !g.software).collect();
                if !hardware.is_empty() {
                    match take(Backend::Wgpu, hardware, n, probe) {
                        Err(DeviceError::Unusable { what, reason }) => {
                            notes.push(format!("not using {what}: {reason}"));
                        }
                        Ok(mut plan) => {
                            plan.notes.splice(0..0, notes);
                            return Ok(plan);
                        }
                        err => return err,
                    }
                }
            }
            Ok(Plan::cpu(notes))
        }
    }
}

/// The first `n` of `found`, each checked.
fn take(
    backend: Backend,
    found: Vec<Gpu>,
    n: usize,
    probe: &mut impl Probe,
) -> Result<Plan, DeviceError> {
    let kind = match backend {
        Backend::Cuda => "cuda",
        Backend::Wgpu => "wgpu",
        Backend::Cpu => "cpu",
    };
    if found.is_empty() {
        return Err(match backend {
            Backend::Cuda => DeviceError::NoCudaGpu,
            _ => DeviceError::NoWgpuAdapter,
        });
    }
    if found.len() < n {
        return Err(DeviceError::TooFew { kind, wanted: n, found: found.len() });
    }
    let gpus: Vec<Gpu> = found.into_iter().take(n).collect();
    for (i, gpu) in gpus.iter().enumerate() {
        probe.check(gpu).map_err(|reason| DeviceError::Unusable {
            what: format!("{kind}:{i} ({})", gpu.name),
            reason,
        })?;
    }
    Ok(Plan { backend, gpus, notes: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine described by hand.
    #[derive(Default)]
    struct Machine {
        cuda: Vec<&'static str>,
        wgpu: Vec<(&'static str, bool)>,
        broken: Vec<&'static str>,
        asked: Vec<&'static str>,
    }

    fn gpu(name: &str, api: &str, software: bool) -> Gpu {
        Gpu { device: Device::flex(), name: name.to_owned(), api: api.to_owned(), software }
    }

    impl Probe for Machine {
        fn cuda(&mut self) -> Vec<Gpu> {
            self.asked.push("cuda");
            self.cuda.iter().map(|n| gpu(n, "CUDA", false)).collect()
        }
        fn wgpu(&mut self) -> Vec<Gpu> {
            self.asked.push("wgpu");
            self.wgpu.iter().map(|(n, s)| gpu(n, "Vulkan", *s)).collect()
        }
        fn check(&mut self, gpu: &Gpu) -> Result<(), String> {
            match self.broken.contains(&gpu.name.as_str()) {
                true => Err("NVRTC not found".to_owned()),
                false => Ok(()),
            }
        }
    }

    const ALL: Compiled = Compiled { wgpu: true, cuda: true };
    const CPU_ONLY: Compiled = Compiled { wgpu: false, cuda: false };

    fn names(plan: &Plan) -> Vec<&str> {
        plan.gpus.iter().map(|g| g.name.as_str()).collect()
    }

    #[test]
    fn a_backend_not_compiled_in_is_an_error_that_says_how_to_rebuild() {
        for (choice, feature) in [(DeviceChoice::Cuda, "cuda"), (DeviceChoice::Wgpu, "wgpu")] {
            let mut machine = Machine { cuda: vec!["H100"], ..Default::default() };
            let err = plan(choice, 1, CPU_ONLY, &mut machine).unwrap_err();
            assert!(matches!(err, DeviceError::NotCompiled { .. }), "{err}");
            assert!(err.to_string().contains(&format!("--features {feature}")), "{err}");
            assert!(machine.asked.is_empty(), "nothing is probed for a backend not built");
        }
    }

    #[test]
    fn auto_without_gpu_backends_is_the_cpu_without_probing() {
        let mut machine = Machine { cuda: vec!["H100"], ..Default::default() };
        let plan = plan(DeviceChoice::Auto, 1, CPU_ONLY, &mut machine).unwrap();
        assert_eq!(plan.backend, Backend::Cpu);
        assert!(machine.asked.is_empty());
    }

    #[test]
    fn auto_prefers_cuda_then_a_hardware_adapter_then_the_cpu() {
        let mut both =
            Machine { cuda: vec!["H100"], wgpu: vec![("H100", false)], ..Default::default() };
        assert_eq!(plan(DeviceChoice::Auto, 1, ALL, &mut both).unwrap().backend, Backend::Cuda);
        assert_eq!(both.asked, ["cuda"], "wgpu is not probed once CUDA answers");

        let mut amd =
            Machine { wgpu: vec![("llvmpipe", true), ("Radeon", false)], ..Default::default() };
        let p = plan(DeviceChoice::Auto, 1, ALL, &mut amd).unwrap();
        assert_eq!((p.backend, names(&p)), (Backend::Wgpu, vec!["Radeon"]));

        let mut none = Machine::default();
        assert_eq!(plan(DeviceChoice::Auto, 1, ALL, &mut none).unwrap().backend, Backend::Cpu);
    }

    #[test]
    fn auto_never_takes_a_software_adapter_but_wgpu_does_with_a_note() {
        let mut lavapipe = Machine { wgpu: vec![("llvmpipe", true)], ..Default::default() };
        let auto = plan(DeviceChoice::Auto, 1, ALL, &mut lavapipe).unwrap();
        assert_eq!(auto.backend, Backend::Cpu);

        let wgpu = plan(DeviceChoice::Wgpu, 1, ALL, &mut lavapipe).unwrap();
        assert_eq!((wgpu.backend, names(&wgpu)), (Backend::Wgpu, vec!["llvmpipe"]));
        assert!(wgpu.notes.iter().any(|n| n.contains("software adapter")), "{:?}", wgpu.notes);
    }

    #[test]
    fn asking_for_a_gpu_that_is_not_there_is_an_error_not_the_cpu() {
        let mut none = Machine::default();
        let cuda = plan(DeviceChoice::Cuda, 1, ALL, &mut none).unwrap_err();
        assert!(matches!(cuda, DeviceError::NoCudaGpu), "{cuda}");
        let wgpu = plan(DeviceChoice::Wgpu, 1, ALL, &mut none).unwrap_err();
        assert!(matches!(wgpu, DeviceError::NoWgpuAdapter), "{wgpu}");
        assert!(wgpu.to_string().contains("mesa-vulkan-drivers"));
    }

    #[test]
    fn several_devices_need_that_many() {
        let mut two = Machine { cuda: vec!["A", "B"], ..Default::default() };
        let p = plan(DeviceChoice::Cuda, 2, ALL, &mut two).unwrap();
        assert_eq!(names(&p), ["A", "B"]);
        let err = plan(DeviceChoice::Auto, 3, ALL, &mut two).unwrap_err();
        assert!(matches!(err, DeviceError::TooFew { wanted: 3, found: 2, .. }), "{err}");
    }

    #[test]
    fn a_device_that_fails_is_an_error_or_for_auto_passed_over_with_a_note() {
        let mut broken = Machine {
            cuda: vec!["H100"],
            wgpu: vec![("H100", false)],
            broken: vec!["H100"],
            ..Default::default()
        };
        let err = plan(DeviceChoice::Cuda, 1, ALL, &mut broken).unwrap_err();
        assert!(err.to_string().contains("NVRTC not found"), "{err}");
        let auto = plan(DeviceChoice::Auto, 1, ALL, &mut broken).unwrap();
        assert_eq!(auto.backend, Backend::Cpu);
        assert_eq!(auto.notes.len(), 2, "{:?}", auto.notes);
        assert!(auto.notes[0].contains("cuda:0 (H100)"), "{:?}", auto.notes);
    }
}
