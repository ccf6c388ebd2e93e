//! Decoding, crops, resize policies and normalisation on small images made here.
#![allow(clippy::unwrap_used)]

#[path = "../../../tests/support/crc32.rs"]
mod crc32;
use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use oml_data::image::{
    DecodeLimits, Filter, ImageError, Normalization, ResizePolicy, crop, decode_rgb,
    decode_rgb_within, resize, resize_with, rgba_onto_white, to_chw,
};

fn png(image: DynamicImage) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

#[test]
fn transparent_pixels_become_white_and_grey_becomes_rgb() {
    let mut rgba = RgbaImage::from_pixel(2, 1, Rgba([200, 0, 0, 255]));
    rgba.put_pixel(1, 0, Rgba([0, 0, 0, 0])); // fully transparent black
    let rgb = decode_rgb(&png(DynamicImage::ImageRgba8(rgba.clone()))).unwrap();
    assert_eq!(rgb.get_pixel(0, 0), &Rgb([200, 0, 0]));
    assert_eq!(rgb.get_pixel(1, 0), &Rgb([255, 255, 255]));
    rgba.put_pixel(1, 0, Rgba([0, 0, 0, 128])); // half transparent black: about mid grey
    let rgb = decode_rgb(&png(DynamicImage::ImageRgba8(rgba))).unwrap();
    assert_eq!(rgb.get_pixel(1, 0), &Rgb([127, 127, 127]));

    let grey = GrayImage::from_pixel(3, 2, Luma([77]));
    let rgb = decode_rgb(&png(DynamicImage::ImageLuma8(grey))).unwrap();
    assert_eq!(rgb.dimensions(), (3, 2));
    assert!(rgb.pixels().all(|p| p == &Rgb([77, 77, 77])));
}

#[test]
fn raw_rgba_pixels_flatten_like_decoded_ones() {
    let mut rgba = RgbaImage::from_pixel(3, 2, Rgba([10, 200, 30, 255]));
    rgba.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
    rgba.put_pixel(2, 1, Rgba([50, 60, 70, 0]));
    let decoded = decode_rgb(&png(DynamicImage::ImageRgba8(rgba.clone()))).unwrap();
    let raw = rgba_onto_white(rgba.as_raw(), 3, 2).unwrap();
    assert_eq!(raw, decoded);
    assert!(matches!(rgba_onto_white(rgba.as_raw(), 2, 2), Err(ImageError::Decode(_))));
    assert!(matches!(rgba_onto_white(&[], 0, 5), Err(ImageError::Empty)));
}

#[test]
fn undecodable_bytes_are_an_error() {
    assert!(matches!(decode_rgb(b"not an image"), Err(ImageError::Decode(_))));
    assert!(matches!(decode_rgb(&[]), Err(ImageError::Decode(_))));
}

#[test]
fn crops_take_the_box_and_reject_boxes_outside() {
    let mut image = RgbImage::from_pixel(10, 8, Rgb([0, 0, 0]));
    image.put_pixel(3, 2, Rgb([9, 9, 9]));
    let c = crop(&image, 3, 2, 7, 5).unwrap();
    assert_eq!(c.dimensions(), (4, 3));
    assert_eq!(c.get_pixel(0, 0), &Rgb([9, 9, 9]));
    let err = crop(&image, 3, 2, 11, 5).unwrap_err();
    assert_eq!(err, ImageError::BBoxOutside { x1: 3, y1: 2, x2: 11, y2: 5, width: 10, height: 8 });
    assert!(err.to_string().contains("10x8"), "{err}");
    assert!(crop(&image, 5, 2, 5, 4).is_err(), "empty box");
}

#[test]
fn resize_policies_give_their_sizes_and_keep_content_placed() {
    let image = RgbImage::from_pixel(100, 50, Rgb([10, 20, 30]));
    let stretched = resize(&image, ResizePolicy::Resize { width: 32, height: 16 });
    assert_eq!(stretched.dimensions(), (32, 16));
    assert!(stretched.pixels().all(|p| p == &Rgb([10, 20, 30])), "a flat colour stays flat");

    let policy = ResizePolicy::ResizeCenterCrop { resize_to: 40, crop: 32 };
    let centred = resize(&image, policy);
    assert_eq!(centred.dimensions(), policy.output_size());
    assert!(centred.pixels().all(|p| p == &Rgb([10, 20, 30])));

    let padded = resize(&image, ResizePolicy::LongestSidePad { size: 64, fill: [255, 255, 255] });
    assert_eq!(padded.dimensions(), (64, 64));
    // 100x50 becomes 64x32, centred: rows 16..48 hold the image, the rest is fill.
    assert_eq!(padded.get_pixel(10, 5), &Rgb([255, 255, 255]));
    assert_eq!(padded.get_pixel(10, 30), &Rgb([10, 20, 30]));
    assert_eq!(padded.get_pixel(10, 60), &Rgb([255, 255, 255]));
}

#[test]
fn normalisation_is_channel_first_and_imagenet_by_default() {
    let mut image = RgbImage::from_pixel(2, 1, Rgb([255, 0, 0]));
    image.put_pixel(1, 0, Rgb([0, 255, 51]));
    let x = to_chw(&image, Normalization::default());
    assert_eq!(x.len(), 6);
    let n = Normalization::default();
    let expect = |v: f32, c: usize| (v / 255.0 - n.mean[c]) / n.std[c];
    assert_eq!(
        x,
        vec![
            expect(255.0, 0),
            expect(0.0, 0),
            expect(0.0, 1),
            expect(255.0, 1),
            expect(0.0, 2),
            expect(51.0, 2)
        ]
    );
}

/// PIL's `BILINEAR` and `BICUBIC` (tests/fixtures/images/make_pil_resize.py), shrinking and
/// enlarging a real photo: every channel value within one grey level.
#[test]
fn resizing_is_within_one_level_of_pil() {
    let dir = &format!("{}/../../tests/fixtures/images/pil_resize", manifest_dir());
    let read = |name: &str| decode_rgb(&std::fs::read(format!("{dir}/{name}")).unwrap()).unwrap();
    let source = read("source.png");
    for (name, filter) in [("bilinear", Filter::Bilinear), ("bicubic", Filter::Bicubic)] {
        for (w, h) in [(37, 29), (151, 113)] {
            let want = read(&format!("{name}_{w}x{h}.png"));
            let got = resize_with(&source, ResizePolicy::Resize { width: w, height: h }, filter);
            let worst =
                got.as_raw().iter().zip(want.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!(worst <= 1, "{name} {w}x{h}: off by {worst} levels");
        }
    }
}

/// A 1 x 100000 image (470 bytes as a PNG) used to be resized to 256 x 25600000 before the
/// centre crop: 19.7 GB. Every policy now gives its output size straight away.
#[test]
fn extreme_aspect_ratios_resize_within_bounded_memory() {
    for (w, h) in [(1, 100_000), (100_000, 1), (3, 60_000)] {
        let image = RgbImage::from_pixel(w, h, Rgb([40, 50, 60]));
        for policy in [
            ResizePolicy::ResizeCenterCrop { resize_to: 256, crop: 224 },
            ResizePolicy::LongestSidePad { size: 224, fill: [0, 0, 0] },
            ResizePolicy::Resize { width: 224, height: 224 },
        ] {
            let out = resize(&image, policy);
            assert_eq!(out.dimensions(), policy.output_size(), "{w}x{h} {policy:?}");
        }
        let centred = resize(&image, ResizePolicy::ResizeCenterCrop { resize_to: 256, crop: 224 });
        assert!(centred.pixels().all(|p| p == &Rgb([40, 50, 60])), "{w}x{h}: the crop is image");
    }
}

/// A PNG header may claim any size; the claim is checked before a pixel buffer exists.
#[test]
fn images_over_the_pixel_limit_are_refused_before_decoding() {
    let bytes = png(DynamicImage::ImageRgb8(RgbImage::new(300, 200)));
    let small = DecodeLimits { max_pixels: 300 * 200 - 1 };
    let err = decode_rgb_within(&bytes, small).unwrap_err();
    assert_eq!(err, ImageError::TooLarge { width: 300, height: 200, max_pixels: 300 * 200 - 1 });
    assert!(err.to_string().contains("OML_MAX_IMAGE_PIXELS"), "{err}");
    assert!(decode_rgb_within(&bytes, DecodeLimits { max_pixels: 300 * 200 }).is_ok());
    // A header claiming 100000 x 100000 with no pixel data behind it.
    let mut forged = bytes.clone();
    forged[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    forged[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    // IHDR's CRC covers its type and data (bytes 12..29), stored at 29..33.
    let crc = crc32::crc32(&forged[12..29]);
    forged[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = decode_rgb(&forged).unwrap_err();
    assert!(matches!(err, ImageError::TooLarge { width: 100_000, height: 100_000, .. }), "{err:?}");
}

/// The package's directory, read when the test runs: a test binary built from a clone at
/// another path (CI shares the target directory) must not look for fixtures there.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into())
}
