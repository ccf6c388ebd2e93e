use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use md5::Md5;
use oml_models::zoo::Checksum;
use sha2::{Digest, Sha256};

/// A file whose digest is not the published one.
#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: {algorithm} is {found}, expected {expected}: the file is corrupt or not the \
         published one; delete it and download it again"
    )]
    Mismatch { path: PathBuf, algorithm: &'static str, found: String, expected: String },
}

fn hex_digest<D: Digest>(path: &Path) -> Result<String, ChecksumError> {
    let io = |source| ChecksumError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks `path` against a published digest (whole SHA-256, or a prefix as torchvision and OML
/// publish them).
pub fn verify(path: &Path, checksum: Checksum) -> Result<(), ChecksumError> {
    let (algorithm, found, expected) = match checksum {
        Checksum::Sha256(h) => ("sha256", hex_digest::<Sha256>(path)?, h),
        Checksum::Sha256Prefix(h) => ("sha256", hex_digest::<Sha256>(path)?, h),
        Checksum::Md5Prefix(h) => ("md5", hex_digest::<Md5>(path)?, h),
    };
    if found.starts_with(&expected.to_ascii_lowercase()) {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch {
            path: path.to_owned(),
            algorithm,
            found,
            expected: expected.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        // Published test vectors (FIPS 180-2, RFC 1321).
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        verify(&path, Checksum::Sha256(sha)).unwrap();
        verify(&path, Checksum::Sha256Prefix("ba7816bf")).unwrap();
        verify(&path, Checksum::Md5Prefix("900150")).unwrap();
        let err = verify(&path, Checksum::Md5Prefix("000000")).unwrap_err().to_string();
        assert!(err.contains("md5 is 900150983cd24fb0d6963f7d28e17f72") && err.contains("abc"));
    }
}
