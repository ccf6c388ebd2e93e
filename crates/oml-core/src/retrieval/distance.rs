use std::fmt;
use std::str::FromStr;

/// How far apart two embeddings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Distance {
    /// `‖a − b‖₂`, not squared: OML's default (`torch.cdist(p=2)` in `utils/misc_torch.py`).
    #[default]
    Euclidean,
    /// `1 − a·b / (‖a‖ ‖b‖)`, in `[0, 2]`. A zero vector is treated as orthogonal to everything
    /// (distance 1), as `F.normalize` with its `eps` does. OML's metrics have no cosine option;
    /// on L2-normalised embeddings it ranks exactly as Euclidean does.
    Cosine,
}

/// Norms below this count as zero when normalising (torch `F.normalize`'s default `eps`).
pub(crate) const NORM_EPS: f64 = 1e-12;

impl Distance {
    /// The distance between two rows, accumulated in f64 and rounded once to f32.
    ///
    /// This is the value retrieval reports and sorts by; it is as exact as float32 output
    /// allows (unlike torch's `cdist`, whose matrix-product formula gives up to ~1e-2 for
    /// identical 128-d vectors).
    ///
    /// # Shapes
    /// `a` and `b`: `[dim]`, same length.
    pub fn between(self, a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        match self {
            Self::Euclidean => {
                let sq: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &y)| {
                        let d = f64::from(x) - f64::from(y);
                        d * d
                    })
                    .sum();
                sq.sqrt() as f32
            }
            Self::Cosine => {
                let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
                let (na, nb) = (norm(a), norm(b));
                if na < NORM_EPS || nb < NORM_EPS {
                    return 1.0;
                }
                // 1 − cos = ‖â − b̂‖² / 2: no cancellation for nearly parallel vectors.
                let sq: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &y)| (f64::from(x) / na - f64::from(y) / nb).powi(2))
                    .sum();
                (sq / 2.0).clamp(0.0, 2.0) as f32
            }
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Euclidean => "euclidean",
            Self::Cosine => "cosine",
        }
    }
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown distance name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown distance {0:?}: expected `euclidean` or `cosine`")]
pub struct UnknownDistance(pub String);

impl FromStr for Distance {
    type Err = UnknownDistance;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "euclidean" | "l2" => Ok(Self::Euclidean),
            "cosine" => Ok(Self::Cosine),
            _ => Err(UnknownDistance(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Distance;

    #[test]
    fn euclidean_is_not_squared() {
        assert_eq!(Distance::Euclidean.between(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
        assert_eq!(Distance::Euclidean.between(&[1.5, -2.0], &[1.5, -2.0]), 0.0);
    }

    #[test]
    fn cosine_ranges_over_zero_to_two() {
        assert_eq!(Distance::Cosine.between(&[1.0, 0.0], &[2.0, 0.0]), 0.0);
        assert_eq!(Distance::Cosine.between(&[1.0, 0.0], &[0.0, 3.0]), 1.0);
        assert_eq!(Distance::Cosine.between(&[1.0, 0.0], &[-1.0, 0.0]), 2.0);
        assert_eq!(Distance::Cosine.between(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
    }

    #[test]
    fn parses_names() {
        assert_eq!("Euclidean".parse::<Distance>(), Ok(Distance::Euclidean));
        assert_eq!("cosine".parse::<Distance>(), Ok(Distance::Cosine));
        assert!("manhattan".parse::<Distance>().is_err());
    }
}
