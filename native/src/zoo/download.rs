use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How long a download may go without receiving a byte before it fails (per read, not per
/// file: a 1.2 GB file on a slow link takes as long as it takes while bytes keep coming).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` into `dest` with a progress bar on stderr when it is a terminal. When
/// `dest` already holds the start of the file (an interrupted earlier download), only the rest
/// is asked for (an HTTP range request); a server that ignores ranges sends the whole file,
/// which then replaces it. The caller checks the digest of the result.
pub fn download(url: &str, dest: &Path) -> Result<(), String> {
    download_with(url, dest, STALL_TIMEOUT)
}

fn download_with(url: &str, dest: &Path, stall: Duration) -> Result<(), String> {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(stall))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build();
    let agent: ureq::Agent = config.into();
    let have = std::fs::metadata(dest).map_or(0, |m| m.len());
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = match request.call() {
        // The partial file is already whole.
        Err(ureq::Error::StatusCode(416)) if have > 0 => return Ok(()),
        other => other.map_err(|e| e.to_string())?,
    };
    let resumed = have > 0 && response.status().as_u16() == 206;
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let start = if resumed { have } else { 0 };
    let bar = match length {
        Some(n) => ProgressBar::new(start + n),
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
    bar.set_position(start);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(dest)
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    // The body is read on its own thread so that each read can time out: a stalled
    // connection fails after `stall` without a byte, whatever the file's size.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    let mut reader = response.into_body().into_reader();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let chunk = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if sender.send(chunk).is_err() || failed {
                break;
            }
        }
    });
    loop {
        match chunks.recv_timeout(stall) {
            Ok(Ok(chunk)) => {
                file.write_all(&chunk).map_err(|e| format!("{}: {e}", dest.display()))?;
                bar.inc(chunk.len() as u64);
            }
            Ok(Err(e)) => return Err(format!("{e} (the partial file is kept to resume)")),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "no data for {} s (the partial file is kept to resume)",
                    stall.as_secs()
                ));
            }
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    /// A one-connection-at-a-time HTTP server over `body` that honours `Range: bytes=N-`;
    /// after `stall_after` bytes of a full response it stops sending (and keeps the socket).
    fn serve(body: Vec<u8>, stall_after: Option<usize>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut range = None;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = v.trim().trim_end_matches('-').parse::<usize>().ok();
                    }
                }
                let (status, part) = match range {
                    Some(from) if from >= body.len() => ("416 Range Not Satisfiable", &[][..]),
                    Some(from) => ("206 Partial Content", &body[from..]),
                    None => ("200 OK", &body[..]),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    part.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                match stall_after {
                    Some(n) if range.is_none() => {
                        stream.write_all(&part[..n]).unwrap();
                        stream.flush().unwrap();
                        held.push(stream); // never finished, never closed
                    }
                    _ => stream.write_all(part).unwrap(),
                }
            }
        });
        format!("http://{address}/weights.bin")
    }

    #[test]
    fn a_stalled_download_fails_per_read_and_resumes_from_its_partial_file() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let url = serve(body.clone(), Some(50_000));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(".weights.partial");
        let err = download_with(&url, &dest, Duration::from_millis(500)).unwrap_err();
        assert!(err.contains("no data for"), "{err}");
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), 50_000, "the partial file is kept");
        // The next attempt asks for the rest only.
        download_with(&url, &dest, Duration::from_secs(5)).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        // Already whole: the server answers 416, the file stays.
        download_with(&url, &dest, Duration::from_secs(5)).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
    }
}
