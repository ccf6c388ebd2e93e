//! Frozen BatchNorm statistics: on a training (autodiff) device the model then normalises with
//! its running statistics, leaves them unchanged, and still trains γ and β. Frozen depthwise
//! weights get no gradient.
#![allow(clippy::unwrap_used)]

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use oml_models::extractor::{
    Extractor, MobileNetV2, MobileNetV2Config, freeze_batch_norm_statistics,
    freeze_depthwise_weights, frozen_batch_norms,
};

fn features(model: &MobileNetV2, images: &Tensor<4>) -> Vec<f32> {
    model.extract(images.clone()).try_into_vec_as::<f32>().unwrap()
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn frozen_statistics_train_like_inference_and_keep_gamma_trainable() {
    let device = Device::flex().autodiff();
    let images = Tensor::<4>::random([4, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let model = MobileNetV2Config::new().init(&device);
    let (frozen, total) = frozen_batch_norms(&model);
    assert_eq!(frozen, 0);
    assert!(total > 50, "MobileNetV2 has {total} BatchNorms?");
    // Inference (a plain device) uses the running statistics.
    let inference = features(&model.valid(), &images.clone().inner());

    // Training mode normalises with the batch's statistics: a different output.
    let training = features(&model, &images);
    assert!(largest_difference(&training, &inference) > 1e-3);

    let model = freeze_batch_norm_statistics(model);
    assert_eq!(frozen_batch_norms(&model), (total, total));
    let mean_before = model.head.bn.as_ref().unwrap().running_mean.value().into_data();
    let out = model.extract(images.clone());
    let frozen_training = out.clone().try_into_vec_as::<f32>().unwrap();
    assert!(largest_difference(&frozen_training, &inference) < 1e-4);
    let bn = model.head.bn.as_ref().unwrap();
    assert_eq!(bn.running_mean.value().into_data(), mean_before, "statistics must not move");
    let grads = out.sum().backward();
    let gamma_grad = bn.gamma.val().grad(&grads).expect("γ still trains");
    assert!(gamma_grad.abs().sum().into_scalar::<f32>() > 0.0);

    // `unfreeze` turns every training flag back on: the trainer re-applies the freeze after it.
    assert_eq!(frozen_batch_norms(&model.unfreeze()).0, 0);
}

#[test]
fn frozen_depthwise_weights_get_no_gradient_and_the_rest_still_trains() {
    let device = Device::flex().autodiff();
    let images = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let (model, frozen) = freeze_depthwise_weights(MobileNetV2Config::new().init(&device));
    assert_eq!(frozen, model.blocks.len(), "one depthwise weight per inverted residual block");
    let grads = model.extract(images).sum().backward();
    let block = &model.blocks[3];
    assert!(block.depthwise.conv.weight.val().grad(&grads).is_none());
    assert!(block.depthwise.bn.as_ref().unwrap().gamma.val().grad(&grads).is_some());
    assert!(block.project.conv.weight.val().grad(&grads).is_some());
}
