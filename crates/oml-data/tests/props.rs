//! Property tests (part of the fuzz suite CI runs): decoding arbitrary or mutated bytes and
//! resizing images of any shape give a clear error or a valid result, never a panic, and
//! memory stays bounded by the declared limits.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use oml_data::image::{
    DecodeLimits, Filter, ImageError, ResizePolicy, decode_rgb_within, resize_with, rgba_onto_white,
};
use proptest::prelude::*;

/// A small real image in each supported format, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    let image = RgbImage::from_fn(9, 7, |x, y| Rgb([(x * 20) as u8, (y * 30) as u8, 99]));
    [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Bmp, ImageFormat::Gif, ImageFormat::WebP]
        .into_iter()
        .map(|format| {
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(image.clone()).write_to(&mut out, format).unwrap();
            out.into_inner()
        })
        .collect()
}

const LIMITS: DecodeLimits = DecodeLimits { max_pixels: 1 << 20 };

fn decodes_or_errs(bytes: &[u8]) {
    match decode_rgb_within(bytes, LIMITS) {
        Ok(image) => {
            let (w, h) = image.dimensions();
            assert!(w > 0 && h > 0 && u64::from(w) * u64::from(h) <= LIMITS.max_pixels);
        }
        Err(ImageError::Decode(_) | ImageError::Empty | ImageError::TooLarge { .. }) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decodes_or_errs(&bytes);
    }

    /// Real files with a few bytes overwritten (headers, sizes, chunk lengths) or cut short.
    #[test]
    fn mutated_images_never_panic(
        seed in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seeds().swap_remove(seed);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        decodes_or_errs(&bytes);
    }

    /// Every policy gives exactly its output size for any input shape, down to 1 x 1 and up
    /// to aspect ratios of 1 : 20000.
    #[test]
    fn any_shape_resizes_to_the_policy_size(
        (long, short) in (1u32..20_000).prop_flat_map(|long| (Just(long), 1u32..=(400_000 / long).min(long))),
        tall in any::<bool>(),
        side in 1u32..300,
        crop_less in 0u32..64,
        policy in 0usize..3,
        bicubic in any::<bool>(),
    ) {
        let (w, h) = if tall { (short, long) } else { (long, short) };
        let image = RgbImage::from_pixel(w, h, Rgb([1, 2, 3]));
        let policy = match policy {
            0 => ResizePolicy::Resize { width: side, height: side / 2 + 1 },
            1 => ResizePolicy::ResizeCenterCrop { resize_to: side, crop: side.saturating_sub(crop_less).max(1) },
            _ => ResizePolicy::LongestSidePad { size: side, fill: [9, 9, 9] },
        };
        let filter = if bicubic { Filter::Bicubic } else { Filter::Bilinear };
        let out = resize_with(&image, policy, filter);
        prop_assert_eq!(out.dimensions(), policy.output_size());
    }

    /// Raw RGBA of the wrong length for its stated size is an error, whatever the numbers.
    #[test]
    fn raw_rgba_checks_its_length(len in 0usize..256, w in any::<u32>(), h in any::<u32>()) {
        let rgba = vec![7u8; len];
        if let Ok(image) = rgba_onto_white(&rgba, w, h) {
            prop_assert_eq!(u64::from(image.width()) * u64::from(image.height()) * 4, len as u64);
        }
    }
}
