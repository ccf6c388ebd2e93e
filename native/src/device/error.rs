/// Why a device cannot be given. Each one says what to install, rebuild or change; the
/// command line reports them with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "this build has no {backend} backend: rebuild with it, e.g. `cargo install --path native \
         --features {feature}`, or use `--device cpu`"
    )]
    NotCompiled { backend: &'static str, feature: &'static str },
    #[error(
        "device cuda: no CUDA GPU found (no NVIDIA driver, libcuda.so.1, or it sees no GPU); \
         install the NVIDIA driver, or use `--device wgpu` / `--device cpu`"
    )]
    NoCudaGpu,
    #[error(
        "device wgpu: no graphics adapter found; install your GPU's Vulkan driver (Metal and \
         DX12 need nothing; for a software adapter on Debian: `apt-get install \
         mesa-vulkan-drivers`), or use `--device cpu`"
    )]
    NoWgpuAdapter,
    #[error(
        "{wanted} devices of kind {kind} asked for (`devices = {wanted}`), this machine has \
         {found}; lower `devices`"
    )]
    TooFew { kind: &'static str, wanted: usize, found: usize },
    #[error(
        "precision {0} needs a GPU device (`--device cuda` or `wgpu`): the CPU backend computes \
         in f32 only"
    )]
    HalfOnCpu(oml_models::precision::Precision),
    #[error("precision {0}: this device does not compute in it; use 16 or 32")]
    UnsupportedPrecision(oml_models::precision::Precision),
    #[error("device {what} is there but does not work: {reason}")]
    Unusable { what: String, reason: String },
}
