//! PDF text extraction, isolated in a child process. PDF parsers are known to panic, abort or overflow
//! the stack on crafted files, so extraction runs in a child process of the same binary
//! (`throughline extract-pdf FILE`) with a CPU-time and address-space limit and a wall-clock timeout. A
//! hostile file fails alone with a clear reason; the ingesting process never goes down with it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{IngestError, Result};

/// How PDF extraction is run.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfConfig {
    /// The executable that implements `extract-pdf FILE` (the `throughline` binary itself). `None`
    /// disables PDF ingestion (each PDF is reported as failed).
    pub extractor: Option<PathBuf>,
    /// Wall-clock limit per file. Default 30 s.
    pub timeout: Duration,
    /// Address-space limit of the child in bytes. Default 2 GiB.
    pub memory_limit: u64,
    /// Most bytes of text accepted from the child. Default 20 MB.
    pub max_output: usize,
}

impl Default for PdfConfig {
    fn default() -> Self {
        Self { extractor: None, timeout: Duration::from_secs(30), memory_limit: 2 << 30, max_output: 20_000_000 }
    }
}

/// Extracts text in this process. Only the child process calls this; it may panic on hostile input.
pub fn extract_text_in_process(bytes: &[u8]) -> std::result::Result<String, String> {
    probe(bytes)?;
    pdf_extract::extract_text_from_mem(bytes).map_err(|e| e.to_string())
}

/// Rejects encrypted and unparsable files with a precise message before text extraction.
fn probe(bytes: &[u8]) -> std::result::Result<(), String> {
    if !bytes.starts_with(b"%PDF") {
        return Err("not a PDF file (no %PDF header)".into());
    }
    let window = &bytes[bytes.len().saturating_sub(4096)..];
    if bytes.windows(8).any(|w| w == b"/Encrypt") || window.windows(8).any(|w| w == b"/Encrypt") {
        return Err("the PDF is encrypted (password-protected); export an unprotected copy".into());
    }
    Ok(())
}

/// Runs the extractor child on `path` and returns its text.
pub fn extract_isolated(cfg: &PdfConfig, path: &Path) -> Result<String> {
    let fail = |reason: String| IngestError::Pdf { path: path.to_path_buf(), reason };
    let exe = cfg.extractor.as_ref().ok_or_else(|| fail("PDF extraction is not available in this build".into()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("extract-pdf").arg(path).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let mem = cfg.memory_limit;
        let cpu = cfg.timeout.as_secs().max(1) + 1;
        // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let as_limit = libc::rlimit { rlim_cur: mem as libc::rlim_t, rlim_max: mem as libc::rlim_t };
                libc::setrlimit(libc::RLIMIT_AS, &as_limit);
                let cpu_limit = libc::rlimit { rlim_cur: cpu as libc::rlim_t, rlim_max: cpu as libc::rlim_t };
                libc::setrlimit(libc::RLIMIT_CPU, &cpu_limit);
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| fail(format!("cannot start the extractor {}: {e}", exe.display())))?;
    let max = cfg.max_output;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout {
            let _ = s.take(max as u64 + 1).read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr {
            let _ = s.take(64 * 1024).read_to_end(&mut buf);
        }
        buf
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > cfg.timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("timed out after {} s", cfg.timeout.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(format!("lost the extractor process: {e}"))),
        }
    };
    let out = out_reader.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).trim().to_string();
    if !status.success() {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = status.signal() {
                let what = match sig {
                    libc::SIGXCPU => "exceeded its CPU time limit".to_string(),
                    libc::SIGSEGV => "crashed (stack overflow or invalid memory access)".to_string(),
                    libc::SIGABRT => "aborted (out of memory or internal error)".to_string(),
                    s => format!("was killed by signal {s}"),
                };
                return Err(fail(format!("the PDF parser {what}")));
            }
        }
        let reason = err.lines().last().unwrap_or("unknown error").to_string();
        return Err(fail(reason));
    }
    if out.len() > max {
        return Err(fail(format!("more than {max} bytes of text")));
    }
    String::from_utf8(out).map_err(|_| fail("the extractor returned invalid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_and_non_pdf_bytes_are_refused_with_reasons() {
        assert_eq!(extract_text_in_process(b"hello").unwrap_err(), "not a PDF file (no %PDF header)");
        let enc = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Encrypt 5 0 R>>\n%%EOF";
        assert!(extract_text_in_process(enc).unwrap_err().contains("encrypted"));
    }

    #[test]
    fn no_extractor_configured_is_a_clear_per_file_error() {
        let err = extract_isolated(&PdfConfig::default(), Path::new("a.pdf")).unwrap_err();
        assert_eq!(err.to_string(), "a.pdf: PDF extraction failed: PDF extraction is not available in this build");
    }
}
