//! The training config parser: any text gives a checked config or an error naming the file.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let path = std::path::Path::new("fuzz.toml");
        if let Err(e) = oml_native::train::config::TrainConfig::parse(text, path, &[]) {
            assert!(e.to_string().contains("fuzz.toml"));
        }
    }
});
