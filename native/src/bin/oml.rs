/// Freed large blocks are kept for the next step's tensors (`retain_large.rs`).
#[global_allocator]
static ALLOCATOR: oml_native::retain_large::RetainLarge =
    oml_native::retain_large::RetainLarge::new();

fn main() -> std::process::ExitCode {
    oml_native::cli::main()
}
