fn main() -> std::process::ExitCode {
    oml_native::cli::train_main()
}
