//! Raw f32 buffers of flex tensors, for the fused CPU kernels.
// One `unsafe` block pair, in `par_filled`: the spare capacity of a fresh `Vec` is initialised
// chunk by chunk on the rayon pool before it is viewed as `f32`s and before the length is set.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

/// `t` as a dense, row-major buffer of exactly its elements (copied only when it is not).
pub(super) fn contiguous(t: FlexTensor) -> FlexTensor {
    let dense = t.is_contiguous()
        && t.layout().start_offset() == 0
        && t.bytes().len() == t.layout().num_elements() * size_of::<f32>();
    if dense { t } else { FlexTensor::from_data(t.into_data()) }
}

/// The elements of an f32 tensor from [`contiguous`].
pub(super) fn slice(t: &FlexTensor) -> &[f32] {
    t.storage::<f32>()
}

/// `len` floats written by `fill(k, chunk)` for the k-th chunk of `chunk` elements, the chunks
/// on the rayon pool. Each chunk is zeroed just before `fill` gets it, while it is in cache:
/// `vec![0.0; len]` instead zeroes the whole buffer first in one thread (a separate pass over
/// hundreds of MB for the early activations), or leaves calloc's pages to fault on first
/// write.
pub(super) fn par_filled(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(chunk.max(1)).enumerate().for_each(
        |(k, part)| {
            for value in part.iter_mut() {
                value.write(0.0);
            }
            // SAFETY: every element of `part` was initialised just above, and
            // `MaybeUninit<f32>` has the layout of `f32`.
            let part =
                unsafe { &mut *(std::ptr::from_mut::<[MaybeUninit<f32>]>(part) as *mut [f32]) };
            fill(k, part);
        },
    );
    // SAFETY: the chunks above cover `0..len` (within the capacity) and initialised all of it.
    unsafe { out.set_len(len) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_filled_hands_out_zeroed_chunks_covering_the_buffer() {
        let out = par_filled(10, 4, |k, part| {
            assert!(part.iter().all(|&v| v == 0.0));
            part[0] = k as f32 + 1.0;
        });
        assert_eq!(out, [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, 0.0]);
        assert!(par_filled(0, 4, |_, _| {}).is_empty());
    }
}
