//! The browser app's Rust side: the wasm package's `Embedder` and `Index` (run in a Web
//! Worker by worker.js), plus what the page computes from a labelled gallery: `oml metrics`'
//! metrics, the CMC curve, distance histograms, worst queries (`analysis`), a 2-D PCA map
//! (`pca`), and `.npy` bytes for download. app.js draws it all; index.html and Trunk.toml
//! build it (`scripts/build-web.sh`).

pub mod analysis;
pub mod pca;

use oml_core::dataset::{Dataset, read_dataset};
// The worker uses these through this crate's module: re-exported so they are linked in.
pub use oml_wasm::{Embedder, JsIndex};
use wasm_bindgen::prelude::*;

fn js_error(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let json = serde_json::to_string(value).map_err(js_error)?;
    js_sys::JSON::parse(&json)
}

/// A dataset CSV (OML's format) dropped with the gallery.
#[wasm_bindgen]
#[derive(Debug)]
pub struct LabelledSet {
    dataset: Dataset,
}

#[wasm_bindgen]
impl LabelledSet {
    /// Parses and checks the CSV; an error names the file, line and column.
    #[wasm_bindgen(js_name = fromCsv)]
    pub fn from_csv(text: &str, name: &str) -> Result<LabelledSet, JsValue> {
        read_dataset(text.as_bytes(), name).map(|dataset| Self { dataset }).map_err(js_error)
    }

    /// Rows.
    #[wasm_bindgen(getter)]
    pub fn len(&self) -> usize {
        self.dataset.records().len()
    }

    /// No rows (a CSV with only a header).
    #[wasm_bindgen(getter, js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.dataset.records().is_empty()
    }

    /// Each row's image path, as written in the CSV.
    #[wasm_bindgen(getter)]
    pub fn paths(&self) -> Vec<String> {
        self.dataset.records().iter().map(|r| r.path.clone()).collect()
    }

    /// Each row's label, as text.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<String> {
        self.dataset.records().iter().map(|r| r.label.to_string()).collect()
    }

    /// Each row's category ("" when none).
    #[wasm_bindgen(getter)]
    pub fn categories(&self) -> Vec<String> {
        self.dataset.records().iter().map(|r| r.category.clone().unwrap_or_default()).collect()
    }

    /// 1 for validation rows that are queries.
    #[wasm_bindgen(getter, js_name = isQuery)]
    pub fn is_query(&self) -> Vec<u8> {
        self.dataset.records().iter().map(|r| u8::from(r.is_query)).collect()
    }

    /// 1 for validation rows in the gallery.
    #[wasm_bindgen(getter, js_name = isGallery)]
    pub fn is_gallery(&self) -> Vec<u8> {
        self.dataset.records().iter().map(|r| u8::from(r.is_gallery)).collect()
    }

    /// The reader's warnings (ignored columns, ...).
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> Vec<String> {
        self.dataset.warnings().iter().map(ToString::to_string).collect()
    }

    /// Metrics and plots: see `analysis::Analysis` (JSON). `embeddings` holds one row of
    /// `dim` per CSV row; `present[r] = 0` marks rows whose image is missing or was skipped.
    pub fn analyse(
        &self,
        embeddings: &[f32],
        dim: usize,
        present: &[u8],
    ) -> Result<JsValue, JsValue> {
        let present: Vec<bool> = present.iter().map(|&p| p != 0).collect();
        let analysis =
            analysis::analyse(&self.dataset, embeddings, dim, &present).map_err(js_error)?;
        to_js(&analysis)
    }
}

/// `n × 2` PCA coordinates of `n × dim` embeddings.
#[wasm_bindgen(js_name = pca2d)]
pub fn pca2d(embeddings: &[f32], dim: usize) -> Vec<f32> {
    pca::pca_2d(embeddings, dim)
}

/// The embeddings as a `.npy` file (format 1.0: float32 little-endian, C order,
/// `[rows, dim]`; the header padded with spaces to a multiple of 64 bytes, as numpy writes it).
/// Written by hand: numpy's format is a 10-byte preamble and a Python dict literal, and a
/// library for it would pull dependencies that change how burn is built for this module.
#[wasm_bindgen(js_name = npyBytes)]
pub fn npy_bytes(embeddings: &[f32], rows: usize, dim: usize) -> Result<Vec<u8>, JsValue> {
    if embeddings.len() != rows * dim {
        return Err(js_error(format!("{} values for {rows} x {dim}", embeddings.len())));
    }
    Ok(npy(embeddings, rows, dim))
}

fn npy(data: &[f32], rows: usize, dim: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn npy_files_read_back_with_npyz() {
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        let bytes = super::npy(&data, 2, 3);
        assert_eq!(bytes.len() % 64, 24, "header padded to 64 bytes, then 24 data bytes");
        let file = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(file.shape(), &[2, 3]);
        assert_eq!(file.order(), npyz::Order::C);
        assert_eq!(file.into_vec::<f32>().unwrap(), data);
    }
}
