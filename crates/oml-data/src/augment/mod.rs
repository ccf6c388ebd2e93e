//! Training augmentations, seeded: the same `(seed, epoch, row)` gives the same image on any
//! machine and any thread schedule, so a resumed run sees exactly the images an uninterrupted
//! one would.

mod color;
mod geometry;

use image::RgbImage;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use color::{ColorJitter, grayscale};
pub use geometry::{RandomResizedCrop, RandomRotation, horizontal_flip, rotate};

use crate::image::Filter;

/// torchvision-style training transforms: random resized crop (or none), random rotation,
/// horizontal flip with probability `flip_p`, colour jitter, grey-scale with probability
/// `grayscale_p`. Applied in that order, before normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Random resized crop, first; none keeps the whole image.
    pub crop: Option<RandomResizedCrop>,
    /// Random rotation, after the crop (so, with a crop, at the output size: a small source
    /// is not resampled twice at its own size). No random draw is spent without it.
    pub rotation: Option<RandomRotation>,
    /// Probability of a horizontal flip. torchvision's default 0.5.
    pub flip_p: f64,
    /// Colour jitter, after the flip.
    pub jitter: Option<ColorJitter>,
    /// Probability of turning the image grey (torchvision's `RandomGrayscale`: ITU-R 601-2
    /// luma in all three channels). Default 0; no random draw is spent when 0, so streams of
    /// configs without it are unchanged.
    pub grayscale_p: f64,
    /// Resampling filter of the crop's resize (the model's own).
    pub filter: Filter,
}

/// The random stream of one sample: ChaCha8 keyed by `seed`, stream `epoch`, word position
/// `row · 2^32` (each sample has its own, non-overlapping stretch of the stream).
pub fn sample_rng(seed: u64, epoch: u64, row: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    rng.set_word_pos(u128::from(row) << 32);
    rng
}

impl Augment {
    /// The augmented image of sample `row` in `epoch`.
    pub fn apply(&self, image: &RgbImage, seed: u64, epoch: u64, row: u64) -> RgbImage {
        use rand::RngExt;
        let mut rng = sample_rng(seed, epoch, row);
        let mut out = match &self.crop {
            Some(c) => c.apply(image, self.filter, &mut rng),
            None => image.clone(),
        };
        if let Some(r) = &self.rotation {
            out = r.apply(&out, &mut rng);
        }
        if rng.random::<f64>() < self.flip_p {
            out = horizontal_flip(&out);
        }
        if let Some(j) = &self.jitter {
            j.apply(&mut out, &mut rng);
        }
        if self.grayscale_p > 0.0 && rng.random::<f64>() < self.grayscale_p {
            grayscale(&mut out);
        }
        out
    }
}
