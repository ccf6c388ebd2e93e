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
use oml_models::extractor::{AnyExtractor, Extractor, ExtractorWithMlp};
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
    let got = embedder.embed(pixels.clone(), 2).unwrap();
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
        ("oml.format_version", "3"),
        ("oml.model", &json),
    ]))
    .unwrap_err();
    assert!(matches!(err, ModelFileError::NewerVersion { found: 3 }), "{err}");
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
    assert_eq!(model_file::FORMAT_VERSION, 2);
}

fn ensemble_of_two(device: &Device) -> FileModel {
    let members = vec![Arch::MobileNetV2.init(device), Arch::MobileNetV2.init(device)];
    ExtractorWithMlp::new(AnyExtractor::Ensemble(members), &[], device)
}

fn pixels(n: usize) -> Vec<f32> {
    (0..n * 3 * 64 * 64).map(|i| ((i * 53) % 97) as f32 / 48.0 - 1.0).collect()
}

#[test]
fn an_ensemble_round_trips_and_embeds_as_its_members_joined() {
    let device = Device::flex();
    let model = ensemble_of_two(&device);
    let spec = spec_of(&model);
    assert_eq!((spec.members, spec.feat_dim), (2, 2 * 1280));
    let bytes = to_bytes(&model, &spec).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["oml.format_version"], "2", "ensembles need a reader that knows them");
    let json: serde_json::Value = serde_json::from_str(&meta["oml.model"]).unwrap();
    assert_eq!(json["members"], 2);
    let (read, loaded) = read_model(&bytes, &device).unwrap();
    assert_eq!(read, spec);
    assert_eq!(tensors(&model), tensors(&loaded));

    // Each member's embedding, computed alone, normalised and scaled by 1/sqrt(2).
    let AnyExtractor::Ensemble(members) = &model.extractor else { unreachable!() };
    let input = Tensor::<4>::from_data(TensorData::new(pixels(3), [3, 3, 64, 64]), &device);
    let alone: Vec<Vec<f32>> = members
        .iter()
        .map(|m| {
            let e = oml_models::embedder::l2_normalise(m.valid().extract(input.clone()));
            e.try_into_vec_as::<f32>().unwrap()
        })
        .collect();
    let (_, embedder) = load_embedder(&bytes, &device).unwrap();
    let got = embedder.embed(pixels(3), 3).unwrap();
    assert_eq!(got.len(), 3 * 2560);
    let half = std::f32::consts::FRAC_1_SQRT_2;
    let mut worst = 0.0f32;
    for row in 0..3 {
        for (k, member) in alone.iter().enumerate() {
            for j in 0..1280 {
                let want = member[row * 1280 + j] * half;
                worst = worst.max((got[row * 2560 + k * 1280 + j] - want).abs());
            }
        }
    }
    assert!(worst < 1e-4, "largest difference {worst}");
    // Squared distances are the mean of the members' squared distances.
    let sq = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
    let joined = sq(&got[0..2560], &got[2560..5120]);
    let mean = (sq(&alone[0][0..1280], &alone[0][1280..2560])
        + sq(&alone[1][0..1280], &alone[1][1280..2560]))
        / 2.0;
    assert!((joined - mean).abs() < 1e-4, "{joined} vs {mean}");
    assert!(alone[0] != alone[1], "the members differ");
}

#[test]
fn an_ensemble_file_with_too_few_members_is_refused() {
    let device = Device::flex();
    let single = mobilenet_with_head(&device);
    let single = ExtractorWithMlp::new(single.extractor, &[], &device);
    let mut spec = spec_of(&single);
    spec.members = 2;
    spec.feat_dim = 2560;
    let err = read_model(&to_bytes(&single, &spec).unwrap(), &device).unwrap_err();
    assert!(matches!(err, ModelFileError::WrongArchitecture { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");

    spec.members = 0;
    let json = serde_json::to_string(&spec).unwrap();
    let err = read_spec(&safetensors_with(&[
        ("oml.format", "oml-rs-model"),
        ("oml.format_version", "2"),
        ("oml.model", &json),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("members"), "{err}");
}
