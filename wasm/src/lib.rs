//! `oml-wasm`: the npm package web apps use to embed images and search them in the page,
//! with the same burn code and model files as the native tools.
//!
//! ```js
//! import init, { Embedder, Index } from "oml-wasm";
//! await init();
//! const embedder = await Embedder.load(new Uint8Array(await (await fetch("model.safetensors")).arrayBuffer()));
//! embedder.backend;                       // "webgpu" or "cpu"
//! const e = await embedder.embed(file);   // Float32Array(dim)
//! const index = new Index(embedder.dim);
//! index.add(["cat.jpg"], e);
//! index.search(e, 5);                     // { ids: ["cat.jpg"], distances: Float32Array [0] }
//! ```
//!
//! Errors are thrown as JS `Error`s whose messages say what was wrong.

pub mod backend;
mod device;
mod image_input;
pub use oml_core::index;

use std::rc::Rc;

use js_sys::{Array, Float32Array, Promise};
use oml_models::embedder::Embedder as ModelEmbedder;
use oml_models::model_file::{self, FileModel, ModelSpec};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{Backend, Requested};

/// Images per forward pass in `embedBatch`: bounds the memory of a batch.
const BATCH: usize = 16;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Encoded bytes (PNG, JPEG, WebP, GIF, BMP), RGBA pixels, or a drawable image. */
export type ImageInput = Uint8Array | ArrayBuffer | Blob | ImageData
    | { data: Uint8Array | Uint8ClampedArray; width: number; height: number }
    | ImageBitmap;
export interface EmbedderOptions {
    /** "auto" (default): WebGPU when an adapter exists, else CPU. */
    backend?: "auto" | "cpu" | "webgpu";
}
export interface SearchResult {
    /** Ids, nearest first. */
    ids: string[];
    /** Euclidean distances, non-decreasing. */
    distances: Float32Array;
}
export interface ModelSpec {
    arch: string;
    /** Backbones of an ensemble (absent: 1). */
    members?: number;
    head: number[];
    feat_dim: number;
    normalise: boolean;
    preprocess: {
        resize: { policy: "resize"; width: number; height: number }
            | { policy: "resize_center_crop"; resize_to: number; crop: number }
            | { policy: "longest_side_pad"; size: number; fill: [number, number, number] };
        filter: "bilinear" | "bicubic";
        mean: [number, number, number];
        std: [number, number, number];
    };
    source: { zoo_model: string | null; training_config_sha256: string | null; producer: string };
}
"#;

fn js_error(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

fn spec_to_js(spec: &ModelSpec) -> JsValue {
    serde_json::to_string(spec)
        .ok()
        .and_then(|json| js_sys::JSON::parse(&json).ok())
        .unwrap_or(JsValue::NULL)
}

#[derive(Debug)]
struct Loaded {
    embedder: ModelEmbedder<FileModel>,
    spec: ModelSpec,
    backend: Backend,
}

impl Loaded {
    /// Embeddings of `images`, `images.len() × dim` row-major; a bad image is an error naming
    /// its position.
    async fn embed_all(&self, images: &[JsValue]) -> Result<Vec<f32>, String> {
        let mut out = Vec::with_capacity(images.len() * self.embedder.feat_dim());
        for (c, chunk) in images.chunks(BATCH).enumerate() {
            let mut pixels = Vec::new();
            for (i, image) in chunk.iter().enumerate() {
                let rgb = image_input::rgb_of(image)
                    .await
                    .map_err(|e| format!("image {}: {e}", c * BATCH + i))?;
                pixels.extend(self.embedder.preprocess.apply(&rgb));
            }
            let data = self
                .embedder
                .embed_tensor(pixels, chunk.len())
                .into_data_async()
                .await
                .map_err(|e| format!("embedding failed: {e:?}"))?;
            out.extend(data.try_into_vec::<f32>().map_err(|e| format!("embedding failed: {e:?}"))?);
        }
        Ok(out)
    }
}

/// A model file loaded for embedding.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Embedder {
    inner: Rc<Loaded>,
}

#[wasm_bindgen]
impl Embedder {
    /// Loads a model file written by `oml export` (its bytes). Rejects with a message when
    /// the bytes are not a model file, the format is newer than this package, or the weights
    /// do not fit the architecture.
    #[wasm_bindgen(unchecked_return_type = "Embedder")]
    pub async fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "EmbedderOptions | undefined")] options: JsValue,
    ) -> Result<Embedder, JsValue> {
        let requested = match js_sys::Reflect::get(&options, &"backend".into()) {
            Ok(b) if b.is_string() => {
                b.as_string().unwrap_or_default().parse::<Requested>().map_err(js_error)?
            }
            Ok(b) if b.is_undefined() || b.is_null() => Requested::Auto,
            Ok(_) => return Err(js_error("options.backend must be a string")),
            Err(_) => Requested::Auto,
        };
        let (device, backend) = device::device_for(requested).await.map_err(js_error)?;
        let (spec, embedder) = model_file::load_embedder(&bytes, &device).map_err(js_error)?;
        Ok(Self { inner: Rc::new(Loaded { embedder, spec, backend }) })
    }

    /// The spec stored in a model file, without loading the weights.
    #[wasm_bindgen(js_name = readSpec, unchecked_return_type = "ModelSpec")]
    pub fn read_spec(bytes: &[u8]) -> Result<JsValue, JsValue> {
        model_file::read_spec(bytes).map(|s| spec_to_js(&s)).map_err(js_error)
    }

    /// `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.backend.name().to_owned()
    }

    /// Embedding size.
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.embedder.feat_dim()
    }

    /// The model file's spec (architecture, preprocessing, provenance).
    #[wasm_bindgen(getter, unchecked_return_type = "ModelSpec")]
    pub fn spec(&self) -> JsValue {
        spec_to_js(&self.inner.spec)
    }

    /// The embedding of one image.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageInput")] image: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let out = inner.embed_all(&[image]).await.map_err(js_error)?;
            Ok(Float32Array::from(out.as_slice()).into())
        })
    }

    /// Embeddings of several images, `images.length × dim` values, row-major, in order.
    #[wasm_bindgen(js_name = embedBatch, unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageInput[]")] images: Array,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        let images: Vec<JsValue> = images.iter().collect();
        future_to_promise(async move {
            let out = inner.embed_all(&images).await.map_err(js_error)?;
            Ok(Float32Array::from(out.as_slice()).into())
        })
    }
}

/// An exact nearest-neighbour index (Euclidean), the same search as `oml search`.
#[wasm_bindgen(js_name = Index)]
#[derive(Debug)]
pub struct JsIndex(index::Index);

#[wasm_bindgen(js_class = Index)]
impl JsIndex {
    /// An empty index of `dim`-dimensional embeddings.
    #[wasm_bindgen(constructor)]
    pub fn new(dim: usize) -> Result<JsIndex, JsValue> {
        index::Index::new(dim).map(Self).map_err(js_error)
    }

    /// Adds `ids.length` embeddings (`ids.length × dim` values, row-major). All or nothing.
    pub fn add(&mut self, ids: Vec<String>, embeddings: &[f32]) -> Result<(), JsValue> {
        self.0.add(ids, embeddings).map_err(js_error)
    }

    /// The `k` nearest ids of one query, nearest first, with their distances.
    #[wasm_bindgen(unchecked_return_type = "SearchResult")]
    pub fn search(&self, query: &[f32], k: usize) -> Result<JsValue, JsValue> {
        if query.len() != self.0.dim() {
            return Err(js_error(index::IndexError::QueryDim {
                dim: self.0.dim(),
                got: query.len(),
            }));
        }
        let hits = self.0.search(query, k).map_err(js_error)?;
        Ok(hits.first().map(hits_to_js).unwrap_or(JsValue::NULL))
    }

    /// [`search`] for several queries (`m × dim` values): `m` results.
    #[wasm_bindgen(js_name = searchBatch, unchecked_return_type = "SearchResult[]")]
    pub fn search_batch(&self, queries: &[f32], k: usize) -> Result<Array, JsValue> {
        let hits = self.0.search(queries, k).map_err(js_error)?;
        Ok(hits.iter().map(hits_to_js).collect())
    }

    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.0.len()
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.0.dim()
    }

    #[wasm_bindgen(getter)]
    pub fn ids(&self) -> Vec<String> {
        self.0.ids().to_vec()
    }

    /// The identity of the model whose embeddings the index holds (`zoo:<name>` or
    /// `sha256:<hex>` of the model file), as `oml index build` records it; undefined if unknown.
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> Option<String> {
        self.0.model().map(str::to_owned)
    }

    /// The index as bytes (a safetensors file) to store and load later.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<JsIndex, JsValue> {
        index::Index::from_bytes(bytes).map(Self).map_err(js_error)
    }
}

fn hits_to_js(hits: &index::Hits) -> JsValue {
    let object = js_sys::Object::new();
    let ids: Array = hits.ids.iter().map(|s| JsValue::from_str(s)).collect();
    let distances = Float32Array::from(hits.distances.as_slice());
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(&object, &"ids".into(), &ids);
    let _ = js_sys::Reflect::set(&object, &"distances".into(), &distances);
    object.into()
}
