//! The dataset CSV reader: any bytes give a dataset or an error naming the source.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Err(e) = oml_core::dataset::read_dataset(bytes, "fuzz.csv") {
        assert!(e.to_string().contains("fuzz.csv"));
    }
});
