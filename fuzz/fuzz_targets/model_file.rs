//! A model file's metadata: refused, or within the limits and backed by the file's bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Ok(spec) = oml_models::model_file::read_spec(bytes) {
        assert!((1..=16).contains(&spec.members) && spec.head.len() <= 16);
    }
});
