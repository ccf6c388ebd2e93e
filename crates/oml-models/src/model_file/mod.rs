//! One model file that the native tools and the browser both load: the weights as
//! safetensors, and a JSON [`ModelSpec`] (architecture, head, preprocessing, normalisation,
//! provenance) in the safetensors header's `__metadata__`.
//!
//! Why safetensors and not burn's own record format: any safetensors reader (Python's
//! `safetensors`, `huggingface/safetensors.js`, the Rust crate) can list and read the weights
//! and the metadata without our code; the header is plain JSON, so a web app can read the
//! spec with a few lines of JS; and burn-store reads it from bytes, which is what the wasm
//! build gets from `fetch` or a dropped file.
//!
//! Header entries: `oml.format` = `"oml-rs-model"`, `oml.format_version` = `"1"`,
//! `oml.model` = the spec's JSON. Tensors are the unfolded training-time module's, named by
//! their burn module paths (`extractor.MobileNetV2.features.0.conv.weight`, ...); BatchNorms
//! are folded after loading.

mod spec;

pub use spec::{FilterSpec, ModelSpec, PreprocessSpec, ResizeSpec, SourceSpec};

use std::collections::HashMap;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use crate::embedder::Embedder;
use crate::extractor::{AnyExtractor, Extractor, ExtractorWithMlp};
use crate::precision::Precision;
use crate::zoo::Arch;

/// The model type every model file holds: a backbone and a (possibly empty) MLP head.
pub type FileModel = ExtractorWithMlp<AnyExtractor>;

/// The value of the `oml.format` header entry.
pub const FORMAT: &str = "oml-rs-model";
/// The newest format version this build writes and reads: 2 added ensembles (`members`);
/// single models are written as version 1, which older builds read.
pub const FORMAT_VERSION: u32 = 2;

const KEY_FORMAT: &str = "oml.format";
const KEY_VERSION: &str = "oml.format_version";
const KEY_SPEC: &str = "oml.model";

/// Why bytes are not a usable model file. The messages say what to do; callers add the file
/// name.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The bytes are no safetensors file (the reader's reason).
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    /// A safetensors file without our metadata.
    #[error(
        "a safetensors file without OML model metadata (no \"{KEY_FORMAT}\" header entry); \
         write model files with `oml export`, or load bare weights with --weights"
    )]
    NotAModelFile,
    /// A format version this build does not read.
    #[error(
        "model file format version {found} is newer than this build reads (up to \
         {FORMAT_VERSION}); update oml"
    )]
    NewerVersion {
        /// The file's version.
        found: u32,
    },
    /// Metadata that does not parse or is out of range (what is wrong).
    #[error("bad model metadata: {0}")]
    BadSpec(String),
    /// An architecture name this build does not know (the name).
    #[error("unknown architecture \"{0}\" (this build knows {known})", known = known_archs())]
    UnknownArch(String),
    /// Tensors that do not fit the architecture the metadata names.
    #[error("the weights do not fit the file's architecture {arch}: {details}")]
    WrongArchitecture {
        /// The architecture named.
        arch: String,
        /// What does not fit.
        details: String,
    },
    /// Another architecture than the caller asked for.
    #[error("expected a {expected} model, the file holds {found}")]
    UnexpectedArch {
        /// The architecture asked for.
        expected: String,
        /// The file's.
        found: String,
    },
    /// Serialising the file failed (the reason).
    #[error("cannot write the model file: {0}")]
    Write(String),
}

fn known_archs() -> String {
    Arch::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

/// Serialises an unfolded model (as trained or freshly loaded, BatchNorms not folded) and its
/// spec. `spec.arch`, `spec.head` and `spec.feat_dim` must describe `model`.
pub fn to_bytes(model: &FileModel, spec: &ModelSpec) -> Result<Vec<u8>, ModelFileError> {
    let json = serde_json::to_string(spec).map_err(|e| ModelFileError::Write(e.to_string()))?;
    let mut store = SafetensorsStore::from_bytes(None)
        .metadata(KEY_FORMAT, FORMAT)
        .metadata(KEY_VERSION, if spec.members > 1 { FORMAT_VERSION } else { 1 }.to_string())
        .metadata(KEY_SPEC, json);
    model.save_into(&mut store).map_err(|e| ModelFileError::Write(e.to_string()))?;
    store.get_bytes().map_err(|e| ModelFileError::Write(e.to_string()))
}

/// The spec of a model file, read from its header only.
pub fn read_spec(bytes: &[u8]) -> Result<ModelSpec, ModelFileError> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelFileError::NotSafetensors(e.to_string()))?;
    let meta: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    match meta.get(KEY_FORMAT) {
        Some(f) if f == FORMAT => {}
        Some(other) => {
            return Err(ModelFileError::BadSpec(format!(
                "\"{KEY_FORMAT}\" is \"{other}\", expected \"{FORMAT}\""
            )));
        }
        None => return Err(ModelFileError::NotAModelFile),
    }
    let version = meta
        .get(KEY_VERSION)
        .ok_or_else(|| ModelFileError::BadSpec(format!("no \"{KEY_VERSION}\" header entry")))?;
    let version: u32 = version.parse().map_err(|_| {
        ModelFileError::BadSpec(format!("\"{KEY_VERSION}\" is \"{version}\", not a number"))
    })?;
    if version > FORMAT_VERSION {
        return Err(ModelFileError::NewerVersion { found: version });
    }
    let json = meta
        .get(KEY_SPEC)
        .ok_or_else(|| ModelFileError::BadSpec(format!("no \"{KEY_SPEC}\" header entry")))?;
    let spec: ModelSpec = serde_json::from_str(json)
        .map_err(|e| ModelFileError::BadSpec(format!("\"{KEY_SPEC}\": {e}")))?;
    let arch = spec.arch().ok_or_else(|| ModelFileError::UnknownArch(spec.arch.clone()))?;
    spec.check_sizes(arch, bytes.len()).map_err(ModelFileError::BadSpec)?;
    spec.preprocess.to_preprocess().map_err(ModelFileError::BadSpec)?;
    Ok(spec)
}

/// The spec and the model exactly as stored (BatchNorms not folded: the weights are
/// bit-identical to those written).
pub fn read_model(bytes: &[u8], device: &Device) -> Result<(ModelSpec, FileModel), ModelFileError> {
    let spec = read_spec(bytes)?;
    let arch = spec.arch().ok_or_else(|| ModelFileError::UnknownArch(spec.arch.clone()))?;
    let wrong =
        |details: String| ModelFileError::WrongArchitecture { arch: spec.arch.clone(), details };
    let backbone = if spec.members > 1 {
        AnyExtractor::Ensemble((0..spec.members).map(|_| arch.init(device)).collect())
    } else {
        arch.init(device)
    };
    let mut model = ExtractorWithMlp::new(backbone, &spec.head, device);
    if model.feat_dim() != spec.feat_dim {
        return Err(wrong(format!(
            "feat_dim is {} but {} with head {:?} gives {}",
            spec.feat_dim,
            spec.arch,
            spec.head,
            model.feat_dim()
        )));
    }
    let mut store =
        SafetensorsStore::from_bytes(Some(bytes.to_vec())).validate(false).allow_partial(true);
    let result = model.load_from(&mut store).map_err(|e| wrong(e.to_string()))?;
    let mut problems: Vec<String> = Vec::new();
    problems.extend(result.missing.iter().take(3).map(|(p, _)| format!("{p} is missing")));
    problems.extend(result.errors.iter().take(3).map(|e| e.to_string()));
    problems.extend(result.unused.iter().take(3).map(|p| format!("{p} is not in the model")));
    let total = result.missing.len() + result.errors.len() + result.unused.len();
    if total > 0 {
        let more = if total > problems.len() {
            format!(" (and {} more)", total - problems.len())
        } else {
            String::new()
        };
        return Err(wrong(format!("{}{more}", problems.join("; "))));
    }
    Ok((spec, model))
}

/// Like [`read_model`], but refuses a file whose architecture is not `expected`.
pub fn read_model_of(
    bytes: &[u8],
    expected: Arch,
    device: &Device,
) -> Result<(ModelSpec, FileModel), ModelFileError> {
    let spec = read_spec(bytes)?;
    if spec.arch != expected.name() {
        return Err(ModelFileError::UnexpectedArch {
            expected: expected.name().to_owned(),
            found: spec.arch,
        });
    }
    read_model(bytes, device)
}

/// A model file ready to embed: BatchNorms folded, the file's preprocessing and
/// normalisation.
pub fn load_embedder(
    bytes: &[u8],
    device: &Device,
) -> Result<(ModelSpec, Embedder<FileModel>), ModelFileError> {
    let (spec, model) = read_model(bytes, device)?;
    let preprocess = spec.preprocess.to_preprocess().map_err(ModelFileError::BadSpec)?;
    let model = model.fold_batch_norms();
    let embedder = Embedder {
        model,
        preprocess,
        normalise: spec.normalise,
        device: device.clone(),
        precision: Precision::F32,
    };
    Ok((spec, embedder))
}

impl ModelSpec {
    /// The spec of `model` with `preprocess` and `normalise`, from `source`.
    pub fn describe(
        model: &FileModel,
        arch: Arch,
        preprocess: &oml_data::image::Preprocess,
        normalise: bool,
        source: SourceSpec,
    ) -> Self {
        let head = model.projection.layers.iter().map(|l| l.weight.dims()[1]).collect();
        let members = match &model.extractor {
            AnyExtractor::Ensemble(members) => members.len(),
            _ => 1,
        };
        Self {
            arch: arch.name().to_owned(),
            members,
            head,
            feat_dim: model.feat_dim(),
            normalise,
            preprocess: preprocess.into(),
            source,
        }
    }
}
