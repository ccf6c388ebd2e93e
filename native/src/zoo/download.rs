use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Downloads `url` into `dest` (created or truncated), with a progress bar on stderr when it is
/// a terminal.
pub fn download(url: &str, dest: &Path) -> Result<(), String> {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(600)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build();
    let agent: ureq::Agent = config.into();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
    let mut reader = response.into_body().into_reader();
    let mut file = File::create(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        file.write_all(&buf[..n]).map_err(|e| format!("{}: {e}", dest.display()))?;
        bar.inc(n as u64);
    }
    file.sync_all().map_err(|e| format!("{}: {e}", dest.display()))?;
    bar.finish_and_clear();
    Ok(())
}

/// Copies `member` of the zip archive `archive` into `dest`.
pub fn extract_member(archive: &Path, member: &str, dest: &Path) -> Result<(), String> {
    let file = File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut entry =
        zip.by_name(member).map_err(|e| format!("{}: {member}: {e}", archive.display()))?;
    let mut out = File::create(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    io::copy(&mut entry, &mut out).map_err(|e| format!("{}: {e}", dest.display()))?;
    out.sync_all().map_err(|e| format!("{}: {e}", dest.display()))
}
