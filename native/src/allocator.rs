//! glibc's allocator returns large freed blocks to the OS at once (`mmap` threshold, `trim`),
//! and tensor code allocates and frees a large buffer per operation: a third of a CPU
//! forward pass went to page faults and TLB shootdowns (benches/README.md). These tunables
//! keep freed memory in the process instead; measured on MobileNetV2 at batch 16, 566 → 377 ms.
//! glibc reads tunables only at start-up, so the binaries re-execute themselves once with
//! them set (skipped when `GLIBC_TUNABLES` is already set, e.g. by the user, or after the
//! re-exec). jemalloc (1.54x slower) and mimalloc (2x less gain) were measured and lost.

/// The tunables: keep blocks up to 32 MiB on the heap, trim only beyond 1 GiB free.
pub const GLIBC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

/// Re-executes the current binary with [`GLIBC_TUNABLES`] unless they are set; returns only
/// when no re-exec happened (other platforms, already set, or the exec failed).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("GLIBC_TUNABLES").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` only returns on failure; then run as we are.
        let _ = std::process::Command::new(&exe)
            .arg0(argv0)
            .args(args)
            .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
            .exec();
    }
}
