//! The index as a file: safetensors with tensor `embeddings` (F32 `[n, dim]`) and header
//! entries `oml.format` = `oml-rs-index`, `oml.format_version` = `1`, `oml.dim`, `oml.ids`
//! (the ids as a JSON array) and, when known, `oml.model` (the identity of the model of the
//! embeddings) and `oml.labels` (the items' integer labels, a JSON array). Any safetensors
//! reader opens it. Every size is checked against the bytes before anything is allocated.

use std::collections::HashMap;

use super::{Index, IndexError};

const FORMAT: &str = "oml-rs-index";
const FORMAT_VERSION: u32 = 1;
const TENSOR: &str = "embeddings";

impl Index {
    /// The index as a safetensors file (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ids = serde_json::to_string(&self.ids).unwrap_or_else(|_| "[]".into());
        let meta: HashMap<String, String> = [
            ("oml.format".to_owned(), FORMAT.to_owned()),
            ("oml.format_version".to_owned(), FORMAT_VERSION.to_string()),
            ("oml.ids".to_owned(), ids),
            ("oml.dim".to_owned(), self.dim.to_string()),
        ]
        .into_iter()
        .chain(self.model.clone().map(|m| ("oml.model".to_owned(), m)))
        .chain(
            self.labels
                .as_ref()
                .and_then(|l| serde_json::to_string(l).ok())
                .map(|l| ("oml.labels".to_owned(), l)),
        )
        .collect();
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![self.len(), self.dim],
            &bytes,
        );
        view.and_then(|view| safetensors::serialize([(TENSOR, view)], Some(meta)))
            .unwrap_or_else(|e| unreachable!("a consistent index serialises: {e}"))
    }

    /// Reads what [`Index::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let parsed = parse(bytes)?;
        let data = decode(parsed.raw);
        let mut index = Self::new(parsed.dim)?.with_model(parsed.model);
        index.add_labelled(parsed.ids, parsed.labels.as_deref(), &data)?;
        Ok(index)
    }
}

/// An index file's header, checked, and its embeddings' bytes (`[ids.len(), dim]` F32 LE).
pub(super) struct Parsed<'a> {
    pub dim: usize,
    pub ids: Vec<String>,
    pub model: Option<String>,
    pub labels: Option<Vec<i64>>,
    pub raw: &'a [u8],
}

/// Reads the header of an index file and finds its tensor; sizes are checked against the
/// bytes by the safetensors reader before anything is allocated.
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, IndexError> {
    let bad = |reason: String| IndexError::Format(reason);
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("oml.format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(format!("no \"oml.format\": \"{FORMAT}\" header entry")));
    }
    let version: u32 = meta
        .get("oml.format_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no valid \"oml.format_version\"".into()))?;
    if version > FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version} is newer than this build reads ({FORMAT_VERSION})"
        )));
    }
    let ids: Vec<String> = meta
        .get("oml.ids")
        .map(|j| serde_json::from_str(j))
        .transpose()
        .map_err(|e| bad(format!("\"oml.ids\": {e}")))?
        .ok_or_else(|| bad("no \"oml.ids\"".into()))?;
    let dim: usize = meta
        .get("oml.dim")
        .and_then(|v| v.parse().ok())
        .filter(|&d| d > 0)
        .ok_or_else(|| bad("no valid \"oml.dim\"".into()))?;
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let tensor = file.tensor(TENSOR).map_err(|e| bad(e.to_string()))?;
    if tensor.dtype() != safetensors::Dtype::F32 || tensor.shape() != [ids.len(), dim] {
        return Err(bad(format!(
            "tensor \"{TENSOR}\" is {:?} {:?}, expected F32 [{}, {dim}]",
            tensor.dtype(),
            tensor.shape(),
            ids.len()
        )));
    }
    let labels: Option<Vec<i64>> = meta
        .get("oml.labels")
        .map(|j| serde_json::from_str(j))
        .transpose()
        .map_err(|e| bad(format!("\"oml.labels\": {e}")))?;
    if let Some(l) = &labels
        && l.len() != ids.len()
    {
        return Err(bad(format!("{} labels for {} ids", l.len(), ids.len())));
    }
    let model = meta.get("oml.model").cloned();
    Ok(Parsed { dim, ids, model, labels, raw: tensor.data() })
}

/// Little-endian float32 bytes as floats (a copy).
pub(super) fn decode(raw: &[u8]) -> Vec<f32> {
    raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}
