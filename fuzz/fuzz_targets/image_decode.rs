//! Image decoding and the evaluation resize: any bytes decode within the pixel limit and
//! resize to the model's input size, or give an error.
#![no_main]

use oml_data::image::{DecodeLimits, ResizePolicy, decode_rgb_within, resize};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let limits = DecodeLimits { max_pixels: 1 << 22 };
    if let Ok(image) = decode_rgb_within(bytes, limits) {
        let policy = ResizePolicy::ResizeCenterCrop { resize_to: 256, crop: 224 };
        assert_eq!(resize(&image, policy).dimensions(), (224, 224));
    }
});
