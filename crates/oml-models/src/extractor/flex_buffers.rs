//! Raw f32 buffers of flex tensors, for the fused CPU kernels.

use burn::backend::flex::FlexTensor;

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
