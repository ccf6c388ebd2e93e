//! Seeded training augmentations: reproducible per (seed, epoch, row), and each op does what
//! torchvision's does.
#![allow(clippy::unwrap_used)]

use image::{Rgb, RgbImage};
use oml_data::augment::{
    Augment, ColorJitter, RandomResizedCrop, RandomRotation, horizontal_flip, rotate, sample_rng,
};
use oml_data::image::Filter;

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 2) as u8]))
}

fn full() -> Augment {
    Augment {
        crop: Some(RandomResizedCrop::new(32, 24)),
        rotation: Some(RandomRotation { degrees: 10.0, fill: [255, 255, 255] }),
        flip_p: 0.5,
        jitter: Some(ColorJitter { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
        grayscale_p: 0.2,
        filter: Filter::Bilinear,
    }
}

#[test]
fn a_seed_epoch_and_row_give_the_same_image_every_time() {
    let image = gradient(60, 40);
    let aug = full();
    let a = aug.apply(&image, 7, 3, 11);
    assert_eq!(a, aug.apply(&image, 7, 3, 11));
    assert_eq!(a.dimensions(), (32, 24));
    let others =
        [aug.apply(&image, 8, 3, 11), aug.apply(&image, 7, 4, 11), aug.apply(&image, 7, 3, 12)];
    for other in others {
        assert_ne!(a, other, "another seed, epoch or row must give another draw");
    }
}

#[test]
fn crops_stay_inside_and_follow_the_scale_and_ratio_ranges() {
    let crop = RandomResizedCrop::new(16, 16);
    for row in 0..500 {
        let mut rng = sample_rng(1, 0, row);
        let (x, y, w, h) = crop.sample_box(90, 50, &mut rng);
        assert!(x + w <= 90 && y + h <= 50 && w > 0 && h > 0);
        let area = f64::from(w * h) / (90.0 * 50.0);
        let ratio = f64::from(w) / f64::from(h);
        // Rounding to whole pixels moves both a little. After 10 misses the fallback is the
        // central crop at the widest allowed ratio: 50 · 4/3 ≈ 67 wide.
        let fallback = (w, h) == (67, 50);
        assert!(fallback || (0.06..=1.0).contains(&area), "area {area}");
        assert!(fallback || (0.7..=1.4).contains(&ratio), "ratio {ratio}");
    }
}

#[test]
fn flips_mirror_and_follow_their_probability() {
    let image = gradient(7, 3);
    let flipped = horizontal_flip(&image);
    assert_eq!(flipped.get_pixel(0, 1), image.get_pixel(6, 1));
    assert_eq!(horizontal_flip(&flipped), image);
    let always = Augment {
        crop: None,
        rotation: None,
        flip_p: 1.0,
        jitter: None,
        grayscale_p: 0.0,
        filter: Filter::Bilinear,
    };
    let never = Augment { flip_p: 0.0, ..always };
    for row in 0..20 {
        assert_eq!(always.apply(&image, 0, 0, row), flipped);
        assert_eq!(never.apply(&image, 0, 0, row), image);
    }
    let half = Augment { flip_p: 0.5, ..always };
    let n = (0..400).filter(|&row| half.apply(&image, 0, 0, row) == flipped).count();
    assert!((150..250).contains(&n), "{n} flips in 400");
}

#[test]
fn colour_jitter_stays_in_its_ranges() {
    // Brightness only, on a flat grey: every pixel scaled by one factor in [0.6, 1.4].
    let grey = RgbImage::from_pixel(8, 8, Rgb([100, 100, 100]));
    let aug = Augment {
        crop: None,
        rotation: None,
        flip_p: 0.0,
        jitter: Some(ColorJitter { brightness: 0.4, ..ColorJitter::default() }),
        grayscale_p: 0.0,
        filter: Filter::Bilinear,
    };
    let mut seen = std::collections::BTreeSet::new();
    for row in 0..100 {
        let out = aug.apply(&grey, 0, 0, row);
        let v = out.get_pixel(0, 0)[0];
        assert!(out.pixels().all(|p| p.0 == [v, v, v]));
        assert!((60..=140).contains(&v), "{v}");
        seen.insert(v);
    }
    assert!(seen.len() > 20, "factors should vary: {seen:?}");
    // Saturation and hue leave grey alone; zero jitter leaves anything alone.
    let grey_only = Augment {
        jitter: Some(ColorJitter { saturation: 0.9, hue: 0.5, ..ColorJitter::default() }),
        ..aug
    };
    assert_eq!(grey_only.apply(&grey, 0, 0, 5), grey);
    let image = gradient(20, 10);
    let none = Augment { jitter: Some(ColorJitter::default()), ..aug };
    assert_eq!(none.apply(&image, 0, 0, 5), image);
}

#[test]
fn grey_scale_is_luma_and_follows_its_probability() {
    let image = gradient(9, 5);
    let mut grey = image.clone();
    oml_data::augment::grayscale(&mut grey);
    for (g, p) in grey.pixels().zip(image.pixels()) {
        let y = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        assert_eq!(g.0, [y.round() as u8; 3], "{p:?}");
    }
    let always = Augment {
        crop: None,
        rotation: None,
        flip_p: 0.0,
        jitter: None,
        grayscale_p: 1.0,
        filter: Filter::Bilinear,
    };
    assert_eq!(always.apply(&image, 0, 0, 3), grey);
    let some = Augment { grayscale_p: 0.25, ..always };
    let n = (0..400).filter(|&row| some.apply(&image, 0, 0, row) == grey).count();
    assert!((60..140).contains(&n), "{n} grey in 400");
    // Without grey-scale no draw is spent: a flip decides the same way as before.
    let flips = Augment { flip_p: 0.5, grayscale_p: 0.0, ..always };
    let flips_and_grey = Augment { flip_p: 0.5, grayscale_p: 0.5, ..always };
    for row in 0..50 {
        let a = flips.apply(&image, 1, 2, row) == image;
        let b = flips_and_grey.apply(&image, 1, 2, row);
        assert_eq!(a, b == image || b == grey, "row {row}");
    }
}

#[test]
fn rotations_turn_counter_clockwise_about_the_centre() {
    let image = gradient(8, 8);
    assert_eq!(rotate(&image, 0.0, [0, 0, 0]), image);
    // A quarter turn of a square maps pixel centres onto pixel centres: exact, and the same
    // as the image crate's 270° clockwise turn (torchvision: positive angles turn the image
    // counter-clockwise).
    assert_eq!(rotate(&image, 90.0, [0, 0, 0]), image::imageops::rotate270(&image));
    assert_eq!(rotate(&image, -90.0, [0, 0, 0]), image::imageops::rotate90(&image));
    assert_eq!(rotate(&image, 180.0, [0, 0, 0]), image::imageops::rotate180(&image));
}

#[test]
fn rotations_fill_the_corners_they_uncover_and_keep_the_centre() {
    let white = RgbImage::from_pixel(21, 21, Rgb([10, 200, 30]));
    let turned = rotate(&white, 45.0, [255, 0, 255]);
    assert_eq!(turned.get_pixel(0, 0), &Rgb([255, 0, 255]));
    assert_eq!(turned.get_pixel(20, 20), &Rgb([255, 0, 255]));
    assert_eq!(turned.get_pixel(10, 10), &Rgb([10, 200, 30]));
    assert_eq!(turned.get_pixel(10, 0), &Rgb([10, 200, 30]), "edge midpoints stay covered");
}

#[test]
fn random_rotations_stay_within_their_range() {
    // A horizontal bar: its tilt after the rotation tells the angle drawn.
    let mut bar = RgbImage::from_pixel(41, 41, Rgb([255, 255, 255]));
    for x in 0..41 {
        bar.put_pixel(x, 20, Rgb([0, 0, 0]));
    }
    let rotation = RandomRotation { degrees: 10.0, fill: [255, 255, 255] };
    let mut tilts = Vec::new();
    for row in 0..50 {
        let out = rotation.apply(&bar, &mut sample_rng(3, 0, row));
        // Darkest row at the left and right ends of the bar.
        let darkest = |x: u32| (0..41).min_by_key(|&y| out.get_pixel(x, y).0[0]).unwrap();
        let (left, right) = (f64::from(darkest(5)), f64::from(darkest(35)));
        tilts.push((left - right).atan2(30.0).to_degrees());
    }
    // Pixel rounding: a row of 30 px resolves about 2°.
    assert!(tilts.iter().all(|t| t.abs() <= 12.0), "{tilts:?}");
    assert!(tilts.iter().any(|&t| t > 4.0) && tilts.iter().any(|&t| t < -4.0), "{tilts:?}");
}

/// NaN, zero, reversed or garbage ranges used to panic inside the random number generator.
#[test]
fn invalid_crop_ranges_give_the_whole_image_not_a_panic() {
    for (scale, ratio) in [
        ((f64::NAN, 1.0), (0.75, 1.33)),
        ((0.0, 0.0), (0.75, 1.33)),
        ((0.9, 0.1), (0.75, 1.33)),
        ((0.5, 1.0), (0.0, 0.0)),
        ((0.5, 1.0), (f64::INFINITY, 1.0)),
        ((0.5, 2.0), (0.75, 1.33)),
    ] {
        let crop = RandomResizedCrop { width: 16, height: 16, scale, ratio };
        assert!(!crop.is_valid(), "{scale:?} {ratio:?}");
        let mut rng = sample_rng(1, 0, 0);
        assert_eq!(crop.sample_box(90, 50, &mut rng), (0, 0, 90, 50));
    }
    assert!(RandomResizedCrop::new(16, 16).is_valid());
}
