//! Batches sized to the device. A batch the device refuses (out of memory, a buffer over the
//! adapter's limits: lavapipe allows 128 MiB per buffer, where MobileNetV2 at 224 px needs
//! 4.8 MB per image in its widest layer) is split in halves and retried, down to one image;
//! the size that worked is kept for the batches after it, and the change is said on stderr.

use oml_models::embedder::DeviceFailure;

/// The largest batch known to work on a device, kept across the batches of a run.
#[derive(Debug, Clone)]
pub struct BatchFit {
    limit: usize,
}

impl BatchFit {
    /// Starts from the batch size asked for.
    pub fn new(batch_size: usize) -> Self {
        Self { limit: batch_size.max(1) }
    }

    /// The batch size now used.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// `embed(start, len)` over rows `0..n` in pieces of at most [`Self::limit`] rows, halving
    /// the pieces while the device refuses them; the outputs joined in row order. The error is
    /// the device's when even one row fails.
    pub fn run(
        &mut self,
        n: usize,
        mut embed: impl FnMut(usize, usize) -> Result<Vec<f32>, DeviceFailure>,
    ) -> Result<Vec<f32>, DeviceFailure> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let len = self.limit.min(n - start);
            match embed(start, len) {
                Ok(rows) => {
                    out.extend(rows);
                    start += len;
                }
                Err(e) if len > 1 => {
                    self.limit = len / 2;
                    eprintln!(
                        "device: a batch of {len} did not fit ({}); now {} at a time",
                        summary(&e.reason),
                        self.limit
                    );
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// The device's reason in one line: burn's wrapper text and repeats dropped.
fn summary(reason: &str) -> String {
    let mut lines: Vec<&str> = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("An error happened") && !l.starts_with("Caused by"))
        .collect();
    lines.dedup();
    lines.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device that refuses more than `max` rows at once; row i embeds as `[i]`.
    fn device(
        max: usize,
        calls: &mut Vec<usize>,
    ) -> impl FnMut(usize, usize) -> Result<Vec<f32>, DeviceFailure> + '_ {
        move |start, len| {
            calls.push(len);
            if len > max {
                return Err(DeviceFailure { images: len, reason: "can't allocate buffer".into() });
            }
            Ok((start..start + len).map(|i| i as f32).collect())
        }
    }

    #[test]
    fn refused_batches_are_halved_and_the_size_that_worked_is_kept() {
        let mut calls = Vec::new();
        let mut fit = BatchFit::new(32);
        let out = fit.run(70, device(10, &mut calls)).unwrap();
        assert_eq!(out, (0..70).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(fit.limit(), 8);
        assert_eq!(calls, [32, 16, 8, 8, 8, 8, 8, 8, 8, 8, 6]);
        let mut again = Vec::new();
        fit.run(16, device(10, &mut again)).unwrap();
        assert_eq!(again, [8, 8], "the next batches start at the size that worked");
    }

    #[test]
    fn a_single_row_that_fails_is_the_error() {
        let mut calls = Vec::new();
        let err = BatchFit::new(4).run(3, device(0, &mut calls)).unwrap_err();
        assert_eq!(err.images, 1);
        assert_eq!(calls, [3, 1]);
    }
}
