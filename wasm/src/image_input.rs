//! JS image values to RGB pixels: encoded bytes (`Uint8Array`, `ArrayBuffer`, `Blob`/`File`),
//! `ImageData`-like objects (`{data, width, height}`, RGBA), or anything a 2-D canvas can
//! draw (`ImageBitmap`, `HTMLImageElement`, `VideoFrame`, ...).
//!
//! Encoded bytes are decoded by the same Rust code as the native tools, so embeddings match
//! `oml embed` bit for bit before the model runs. Pixels from a canvas went through the
//! browser's decoder and (for translucent pixels) premultiplied alpha, so they can differ by
//! a grey level or so.

use image::RgbImage;
use js_sys::{ArrayBuffer, Function, Reflect, Uint8Array};
use oml_data::image::{DecodeLimits, ImageError, decode_rgb, rgba_onto_white};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{OffscreenCanvas, OffscreenCanvasRenderingContext2d};

const EXPECTED: &str = "expected encoded image bytes (Uint8Array, ArrayBuffer, Blob or File), \
                        an ImageData-like {data, width, height}, or an ImageBitmap";

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn js_message(e: &JsValue) -> String {
    e.as_string().or_else(|| get(e, "message").as_string()).unwrap_or_else(|| format!("{e:?}"))
}

/// A non-negative integer property (`width`, `height`), if there is one.
fn dimension(value: &JsValue, key: &str) -> Option<u32> {
    let v = get(value, key).as_f64()?;
    (v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX)).then_some(v as u32)
}

/// See the module documentation.
pub async fn rgb_of(image: &JsValue) -> Result<RgbImage, String> {
    if let Some(bytes) = image.dyn_ref::<Uint8Array>() {
        return decode_rgb(&bytes.to_vec()).map_err(|e| e.to_string());
    }
    if let Some(buffer) = image.dyn_ref::<ArrayBuffer>() {
        return decode_rgb(&Uint8Array::new(buffer).to_vec()).map_err(|e| e.to_string());
    }
    if !image.is_object() {
        return Err(EXPECTED.into());
    }
    // A Blob or File: has an arrayBuffer() method.
    if let Some(read) = get(image, "arrayBuffer").dyn_ref::<Function>() {
        let promise = read.call0(image).map_err(|e| js_message(&e))?;
        let buffer = JsFuture::from(js_sys::Promise::resolve(&promise))
            .await
            .map_err(|e| format!("cannot read the file: {}", js_message(&e)))?;
        return decode_rgb(&Uint8Array::new(&buffer).to_vec()).map_err(|e| e.to_string());
    }
    let (Some(width), Some(height)) = (dimension(image, "width"), dimension(image, "height"))
    else {
        return Err(EXPECTED.into());
    };
    // The same pixel limit as encoded images, before a canvas or a pixel copy is made.
    let max_pixels = DecodeLimits::current().max_pixels;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooLarge { width, height, max_pixels }.to_string());
    }
    let data = get(image, "data");
    if data.is_object() {
        // ImageData or a look-alike: RGBA bytes, row-major.
        let rgba = Uint8Array::new(&data).to_vec();
        return rgba_onto_white(&rgba, width, height).map_err(|e| e.to_string());
    }
    draw(image, width, height)
}

/// Draws a canvas image source onto an `OffscreenCanvas` and reads its RGBA pixels.
fn draw(source: &JsValue, width: u32, height: u32) -> Result<RgbImage, String> {
    if width == 0 || height == 0 {
        return Err("the image is empty (0 pixels)".into());
    }
    let fail = |e: JsValue| format!("cannot read the image's pixels: {}", js_message(&e));
    let canvas = OffscreenCanvas::new(width, height).map_err(fail)?;
    let context = canvas
        .get_context("2d")
        .map_err(fail)?
        .ok_or("no 2-D canvas context")?
        .dyn_into::<OffscreenCanvasRenderingContext2d>()
        .map_err(|_| "no 2-D canvas context".to_owned())?;
    let draw_image = get(&context, "drawImage")
        .dyn_into::<Function>()
        .map_err(|_| "no drawImage on the canvas context".to_owned())?;
    draw_image
        .call3(&context, source, &JsValue::from(0), &JsValue::from(0))
        .map_err(|e| format!("{EXPECTED} ({})", js_message(&e)))?;
    let data =
        context.get_image_data(0.0, 0.0, f64::from(width), f64::from(height)).map_err(fail)?;
    rgba_onto_white(&data.data(), width, height).map_err(|e| e.to_string())
}
