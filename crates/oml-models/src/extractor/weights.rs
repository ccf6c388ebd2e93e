//! Loading PyTorch-trained weights into our modules through burn-store: PyTorch `.pt`/`.pth`
//! (zip and legacy pickle; feature `pytorch`) and `.safetensors` (feature `safetensors`).
//! A weight file is data: nothing in it is executed.

use std::path::Path;

use burn::module::Module;
use burn::store::{ApplyResult, KeyRemapper, ModuleSnapshot, ModuleStore};

use super::WeightsError;

/// A rename from the checkpoint's key layout to our module paths: a regex over the whole key
/// (after the nesting prefix is removed) and its replacement (`$1` …).
pub type Remap = (String, String);

/// Loads `path` into `module`.
///
/// `anchor` is a key the architecture's checkpoints always hold (`"norm.bias"` for a ViT). The
/// part of the checkpoint's key before it is a nesting prefix (`state_dict.`, `model.`,
/// `module.`, OML's `model.model.` …) and is removed from every key first, as OML's
/// `remove_prefix_from_state_dict` does. Keys that match no tensor of the module (a classifier,
/// an optimizer state) are ignored; a tensor of the module that the file lacks, or one with a
/// different shape, is an error naming it. So is a tensor the file has under one of the
/// module's own top-level names (or one of `structural`) that the module has no place for:
/// `blocks.11.…` in a 2-block model, `register_tokens` in a model without registers. Such a
/// file is another variant of the architecture, and loading it partially would be wrong
/// silently.
pub fn load_checkpoint<M: Module>(
    module: &mut M,
    path: &Path,
    anchor: &str,
    remaps: &[Remap],
    structural: &[&str],
) -> Result<(), WeightsError> {
    let unreadable = |reason: String| WeightsError::Unreadable { path: path.to_owned(), reason };
    let keys = checkpoint_keys(path)?;
    let prefix = nesting_prefix(keys.iter().map(String::as_str), anchor)
        .ok_or_else(|| unreadable(missing_anchor(anchor, &keys)))?;
    let remap = KeyRemapper::from_patterns(all_remaps(&prefix, remaps))
        .map_err(|e| unreadable(format!("bad key pattern: {e}")))?;
    let result = if is_safetensors(path) {
        load_safetensors(module, path, remap).map_err(unreadable)?
    } else {
        load_pytorch(module, path, remap).map_err(unreadable)?
    };
    check(path, &result, structural)
}

fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

/// The tensor names in a checkpoint, as stored (nesting prefix included).
pub fn checkpoint_keys(path: &Path) -> Result<Vec<String>, WeightsError> {
    let unreadable = |reason: String| WeightsError::Unreadable { path: path.to_owned(), reason };
    if !path.is_file() {
        return Err(unreadable("no such file".into()));
    }
    if is_safetensors(path) {
        safetensors_keys(path).map_err(unreadable)
    } else {
        pytorch_keys(path).map_err(unreadable)
    }
}

#[cfg(feature = "pytorch")]
fn pytorch_keys(path: &Path) -> Result<Vec<String>, String> {
    burn::store::PytorchStore::from_file(path).keys().map_err(|e| e.to_string())
}

#[cfg(not(feature = "pytorch"))]
fn pytorch_keys(_path: &Path) -> Result<Vec<String>, String> {
    Err("reading PyTorch files needs the `pytorch` feature of oml-models".into())
}

#[cfg(feature = "safetensors")]
fn safetensors_keys(path: &Path) -> Result<Vec<String>, String> {
    burn::store::SafetensorsStore::from_file(path).keys().map_err(|e| e.to_string())
}

#[cfg(not(feature = "safetensors"))]
fn safetensors_keys(_path: &Path) -> Result<Vec<String>, String> {
    Err("reading safetensors files needs the `safetensors` feature of oml-models".into())
}

/// The nesting prefix before `anchor` in the checkpoint's keys: `""` when the keys are plain,
/// `"state_dict."` for a Lightning checkpoint; `None` when no key ends with the anchor.
/// The shortest candidate wins, so a prefix that also ends with the anchor is not mistaken.
pub fn nesting_prefix<'a>(keys: impl IntoIterator<Item = &'a str>, anchor: &str) -> Option<String> {
    keys.into_iter()
        .filter_map(|k| k.strip_suffix(anchor))
        .filter(|prefix| prefix.is_empty() || prefix.ends_with('.'))
        .min_by_key(|prefix| prefix.len())
        .map(str::to_owned)
}

fn all_remaps(prefix: &str, remaps: &[Remap]) -> Vec<Remap> {
    let mut all = Vec::with_capacity(remaps.len() + 1);
    if !prefix.is_empty() {
        all.push((format!("^{}(.*)$", regex_escape(prefix)), "$1".to_owned()));
    }
    all.extend(remaps.iter().cloned());
    all
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

fn missing_anchor(anchor: &str, keys: &[String]) -> String {
    let mut sample: Vec<&str> = keys.iter().map(String::as_str).collect();
    sample.sort_unstable();
    sample.truncate(5);
    format!(
        "no tensor named like `{anchor}`: not a checkpoint of this architecture \
         ({} tensors, e.g. {})",
        keys.len(),
        sample.join(", ")
    )
}

#[cfg(feature = "pytorch")]
fn load_pytorch<M: Module>(
    module: &mut M,
    path: &Path,
    remap: KeyRemapper,
) -> Result<ApplyResult, String> {
    let mut store = burn::store::PytorchStore::from_file(path)
        .allow_partial(true)
        .validate(false)
        .map_indices_contiguous(false)
        .remap(remap);
    let file_len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let tensors = store.get_all_tensors().map_err(|e| e.to_string())?;
    for (name, tensor) in tensors {
        check_backed(name, tensor.dtype.size(), &tensor.shape, file_len)?;
    }
    module.load_from(&mut store).map_err(|e| e.to_string())
}

/// A tensor's data must fit in the file it comes from. A pickled view can claim any shape
/// over a tiny storage (strides of 0): it is refused here, before its data is materialised.
#[cfg_attr(not(feature = "pytorch"), allow(dead_code))]
fn check_backed(name: &str, item: usize, shape: &[usize], file_len: u64) -> Result<(), String> {
    let bytes = shape.iter().try_fold(item as u64, |n, &d| n.checked_mul(d as u64));
    match bytes {
        Some(bytes) if bytes <= file_len => Ok(()),
        _ => Err(format!(
            "tensor `{name}` of shape {shape:?} needs more bytes than the whole {file_len}-byte \
             file holds (a view over less data than it claims)"
        )),
    }
}

#[cfg(not(feature = "pytorch"))]
fn load_pytorch<M: Module>(_: &mut M, _: &Path, _: KeyRemapper) -> Result<ApplyResult, String> {
    Err("reading PyTorch files needs the `pytorch` feature of oml-models".into())
}

#[cfg(feature = "safetensors")]
fn load_safetensors<M: Module>(
    module: &mut M,
    path: &Path,
    remap: KeyRemapper,
) -> Result<ApplyResult, String> {
    let mut store = burn::store::SafetensorsStore::from_file(path)
        .with_from_adapter(burn::store::PyTorchToBurnAdapter)
        .allow_partial(true)
        .validate(false)
        .map_indices_contiguous(false)
        .remap(remap);
    module.load_from(&mut store).map_err(|e| e.to_string())
}

#[cfg(not(feature = "safetensors"))]
fn load_safetensors<M: Module>(_: &mut M, _: &Path, _: KeyRemapper) -> Result<ApplyResult, String> {
    Err("reading safetensors files needs the `safetensors` feature of oml-models".into())
}

fn top_level(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

fn check(path: &Path, result: &ApplyResult, structural: &[&str]) -> Result<(), WeightsError> {
    if !result.errors.is_empty() {
        let reason = result.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(WeightsError::Mismatch { path: path.to_owned(), reason });
    }
    if !result.missing.is_empty() {
        let tensors = result.missing.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ");
        return Err(WeightsError::Missing { path: path.to_owned(), tensors });
    }
    let ours: std::collections::HashSet<&str> =
        result.applied.iter().map(|k| top_level(k)).chain(structural.iter().copied()).collect();
    let mut extra: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|k| ours.contains(top_level(k)) && !k.ends_with("num_batches_tracked"))
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        let n = extra.len();
        extra.truncate(5);
        let reason = format!(
            "{n} tensors have no place in this model (another variant: deeper, wider, with \
             registers?): {}{}",
            extra.join(", "),
            if n > 5 { ", …" } else { "" }
        );
        return Err(WeightsError::Mismatch { path: path.to_owned(), reason });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_prefix_finds_the_shortest_wrapper() {
        let keys = ["state_dict.model.norm.bias", "state_dict.model.blocks.0.norm.bias"];
        assert_eq!(nesting_prefix(keys, "norm.bias").as_deref(), Some("state_dict.model."));
        assert_eq!(nesting_prefix(["norm.bias", "x.norm.bias"], "norm.bias").as_deref(), Some(""));
        // `prenorm.bias` ends with the anchor's text but is another tensor.
        assert_eq!(nesting_prefix(["prenorm.bias"], "norm.bias"), None);
    }

    #[test]
    fn escaped_prefixes_match_literally() {
        assert_eq!(regex_escape("module.model."), r"module\.model\.");
    }
}
