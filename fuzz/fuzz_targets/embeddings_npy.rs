//! The .npy embedding reader: a matrix that the bytes really hold, or an error naming the
//! file.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let path = std::path::Path::new("fuzz.npy");
    match oml_native::io::parse_embeddings(path, bytes) {
        Ok(m) => {
            assert!(m.dim > 0 && m.data.len() == m.rows * m.dim && m.data.len() * 4 <= bytes.len())
        }
        Err(e) => assert!(e.to_string().contains("fuzz.npy")),
    }
});
