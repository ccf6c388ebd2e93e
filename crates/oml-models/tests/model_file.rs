//! Model files: the round trip is bit-identical, the metadata is what a plain safetensors
//! reader sees, and every kind of wrong file is a clear error.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Tensor, TensorData};
use oml_data::image::{
    Filter, IMAGENET_MEAN, IMAGENET_STD, Normalization, Preprocess, ResizePolicy,
};
use oml_models::extractor::{Extractor, ExtractorWithMlp};
use oml_models::model_file::{
    self, FileModel, ModelFileError, ModelSpec, SourceSpec, load_embedder, read_model,
    read_model_of, read_spec, to_bytes,
};
use oml_models::zoo::Arch;

const PREPROCESS: Preprocess = Preprocess {
    resize: ResizePolicy::LongestSidePad { size: 64, fill: [255, 255, 255] },
    filter: Filter::Bicubic,
    norm: Normalization { mean: IMAGENET_MEAN, std: IMAGENET_STD },
};

fn mobilenet_with_head(device: &Device) -> FileModel {
    ExtractorWithMlp::new(Arch::MobileNetV2.init(device), &[96, 32], device)
}

fn spec_of(model: &FileModel) -> ModelSpec {
    ModelSpec::describe(
        model,
        Arch::MobileNetV2,
        &PREPROCESS,
        true,
        SourceSpec {
            zoo_model: Some("mobilenet_v2_imagenet".into()),
            training_config_sha256: Some("ab".repeat(32)),
            producer: "test".into(),
        },
    )
}

/// Every tensor of a module: path → (shape, little-endian bytes).
fn tensors(model: &FileModel) -> HashMap<String, (Vec<usize>, Vec<u8>)> {
    model
        .collect(None, None, false)
        .into_iter()
        .map(|t| (t.name.clone(), (t.shape.to_vec(), t.to_bytes().unwrap().to_vec())))
        .collect()
}

#[test]
fn export_then_load_gives_bit_identical_weights_and_the_same_spec() {
    let device = Device::flex();
    let model = mobilenet_with_head(&device);
    let spec = spec_of(&model);
    assert_eq!(spec.feat_dim, 32);
    assert_eq!(spec.head, vec![96, 32]);
    let bytes = to_bytes(&model, &spec).unwrap();
    let (read, loaded) = read_model(&bytes, &device).unwrap();
    assert_eq!(read, spec);
    let (want, got) = (tensors(&model), tensors(&loaded));
    assert!(want.len() > 100, "{} tensors", want.len());
    assert_eq!(want.len(), got.len());
    for (path, value) in &want {
        assert_eq!(got.get(path), Some(value), "{path} differs after the round trip");
    }
}

#[test]
fn a_plain_safetensors_reader_sees_the_tensors_and_the_spec() {
    let device = Device::flex();
    let model = mobilenet_with_head(&device);
    let bytes = to_bytes(&model, &spec_of(&model)).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.len(), tensors(&model).len());
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["oml.format"], "oml-rs-model");
    assert_eq!(meta["oml.format_version"], "1");
    let json: serde_json::Value = serde_json::from_str(&meta["oml.model"]).unwrap();
    assert_eq!(json["arch"], "mobilenet_v2");
    assert_eq!(json["preprocess"]["resize"]["policy"], "longest_side_pad");
    assert_eq!(json["preprocess"]["filter"], "bicubic");
}

#[test]
fn the_loaded_embedder_folds_batch_norms_and_embeds_like_the_model() {
    let device = Device::flex();
    let model = mobilenet_with_head(&device);
    let bytes = to_bytes(&model, &spec_of(&model)).unwrap();
    let (_, embedder) = load_embedder(&bytes, &device).unwrap();
    assert!(embedder.normalise);
    assert_eq!(embedder.preprocess, PREPROCESS);
    let pixels: Vec<f32> =
        (0..2 * 3 * 64 * 64).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
    let got = embedder.embed(pixels.clone(), 2);
    let input = Tensor::<4>::from_data(TensorData::new(pixels, [2, 3, 64, 64]), &device);
    let want = oml_models::embedder::l2_normalise(model.valid().extract(input));
    let want = want.try_into_vec_as::<f32>().unwrap();
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-4, "largest difference {worst}");
}

/// A safetensors file with one tiny tensor and the given header entries.
fn safetensors_with(meta: &[(&str, &str)]) -> Vec<u8> {
    let data = [0u8; 4];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &data).unwrap();
    let meta: HashMap<String, String> =
        meta.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    safetensors::serialize([("x", view)], Some(meta)).unwrap()
}

#[test]
fn wrong_files_are_clear_errors() {
    let device = Device::flex();
    let err = read_spec(b"definitely not a model").unwrap_err();
    assert!(matches!(err, ModelFileError::NotSafetensors(_)), "{err}");

    let err = read_spec(&safetensors_with(&[])).unwrap_err();
    assert!(matches!(err, ModelFileError::NotAModelFile), "{err}");
    assert!(err.to_string().contains("oml export"), "{err}");

    let model = mobilenet_with_head(&device);
    let json = serde_json::to_string(&spec_of(&model)).unwrap();
    let err = read_spec(&safetensors_with(&[
        ("oml.format", "oml-rs-model"),
        ("oml.format_version", "2"),
        ("oml.model", &json),
    ]))
    .unwrap_err();
    assert!(matches!(err, ModelFileError::NewerVersion { found: 2 }), "{err}");
    assert!(err.to_string().contains("update oml"), "{err}");

    let unknown = json.replace("mobilenet_v2", "lenet5");
    let err = read_spec(&safetensors_with(&[
        ("oml.format", "oml-rs-model"),
        ("oml.format_version", "1"),
        ("oml.model", &unknown),
    ]))
    .unwrap_err();
    assert!(matches!(err, ModelFileError::UnknownArch(ref a) if a == "lenet5"), "{err}");
    assert!(err.to_string().contains("resnet50"), "lists the known ones: {err}");

    let typo = json.replace("\"normalise\"", "\"normalize\"");
    let err = read_spec(&safetensors_with(&[
        ("oml.format", "oml-rs-model"),
        ("oml.format_version", "1"),
        ("oml.model", &typo),
    ]))
    .unwrap_err();
    assert!(matches!(err, ModelFileError::BadSpec(_)), "{err}");
    assert!(err.to_string().contains("normalize"), "names the key: {err}");
}

#[test]
fn weights_of_another_architecture_are_refused() {
    let device = Device::flex();
    let model = mobilenet_with_head(&device);
    // The header claims a ResNet-18 with the same head; the tensors are a MobileNetV2's.
    let mut spec = spec_of(&model);
    spec.arch = "resnet18".into();
    let bytes = to_bytes(&model, &spec).unwrap();
    let err = read_model(&bytes, &device).unwrap_err();
    assert!(matches!(err, ModelFileError::WrongArchitecture { .. }), "{err}");
    assert!(err.to_string().contains("resnet18") && err.to_string().contains("missing"), "{err}");

    // A file that is right, opened by a caller that needs another architecture.
    let bytes = to_bytes(&model, &spec_of(&model)).unwrap();
    let err = read_model_of(&bytes, Arch::ResNet50, &device).unwrap_err();
    assert_eq!(err.to_string(), "expected a resnet50 model, the file holds mobilenet_v2");
    assert!(read_model_of(&bytes, Arch::MobileNetV2, &device).is_ok());
}

#[test]
fn arch_names_round_trip() {
    for arch in Arch::ALL {
        assert_eq!(Arch::from_name(arch.name()), Some(arch));
    }
    assert_eq!(model_file::FORMAT_VERSION, 1);
}
