//! Uploads: multipart files (several at once, with folder-relative names) and zip archives of a folder,
//! written under the data directory as a new folder source. Hostile names (absolute paths, `..`, control
//! characters), too many files, and archives that unpack past the size limit (zip bombs: the bytes
//! actually written are counted, not the sizes the archive claims) are refused with the name at fault.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use axum::extract::Multipart;

use crate::error::ApiError;
use crate::ServerConfig;

/// A checked relative path for a file named by a client (multipart file name or archive entry).
pub fn safe_relative_path(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if name.len() > 1024 {
        return Err("the file name is longer than 1024 bytes".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("the file name contains control characters".into());
    }
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') || unified.chars().nth(1) == Some(':') {
        return Err("absolute paths are not accepted".into());
    }
    let mut out = PathBuf::new();
    for part in unified.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err("`..` in a file name is not accepted (path traversal)".into()),
            p if p.len() > 255 => return Err("a path component is longer than 255 bytes".into()),
            p => out.push(p),
        }
    }
    if out.as_os_str().is_empty() || out.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err("the file name has no usable part".into());
    }
    Ok(out)
}

fn bad_file(name: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::invalid("files", format!("{name}: {reason}"))
}

/// What an upload wrote.
#[derive(Debug, Default)]
pub struct Uploaded {
    /// Files written (archives count by their unpacked files).
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// The names the client gave its parts (a zip's own name, a file's folder-relative name), in order.
    pub names: Vec<String>,
}

impl Uploaded {
    /// What the user uploaded, as they would name it: the file or zip's name (`docs.zip`), the folder
    /// all parts share (`docs/`), or the first name and how many more (`guide.md + 2 more`).
    pub fn display_name(&self) -> String {
        match self.names.as_slice() {
            [] => "upload".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => {
                let top = |n: &str| n.replace('\\', "/").split('/').next().map(str::to_string);
                let folder = top(first).filter(|t| {
                    first.replace('\\', "/").contains('/') && rest.iter().all(|n| top(n).as_deref() == Some(t.as_str()))
                });
                match folder {
                    Some(f) => format!("{f}/"),
                    None => format!("{first} + {} more", rest.len()),
                }
            }
        }
    }
}

/// Writes every file part of `multipart` under `dest` (zip archives unpacked). On error nothing is
/// left behind: the caller removes `dest`.
pub async fn receive(mut multipart: Multipart, dest: &Path, cfg: &ServerConfig) -> Result<Uploaded, ApiError> {
    let mut up = Uploaded::default();
    std::fs::create_dir_all(dest).map_err(|e| ApiError::internal(format!("cannot create the upload folder: {e}")))?;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::invalid("files", format!("malformed multipart body: {e}")))?
    {
        // The form has parts named `files` and nothing else (as documented): another part is a client's
        // mistake, said so rather than ignored or taken for a file.
        if field.name() != Some("files") {
            let part = field.name().unwrap_or_default().escape_debug().to_string();
            return Err(ApiError::invalid(
                "files",
                format!("unexpected part `{part}`: an upload sends its files as multipart parts named `files`"),
            ));
        }
        let Some(name) = field.file_name().map(str::to_string) else { continue };
        let rel = safe_relative_path(&name).map_err(|r| bad_file(&name, r))?;
        up.names.push(rel.to_string_lossy().replace('\\', "/"));
        let is_zip = rel.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        let target = if is_zip { dest.join(".archives").join(&rel) } else { dest.join(&rel) };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| bad_file(&name, format!("cannot create its folder: {e}")))?;
        }
        if target.exists() {
            return Err(bad_file(&name, "sent twice in one upload"));
        }
        let mut file = std::fs::File::create(&target).map_err(|e| bad_file(&name, format!("cannot write: {e}")))?;
        let mut size = 0u64;
        while let Some(chunk) =
            field.chunk().await.map_err(|e| bad_file(&name, format!("the upload was cut off or too large: {e}")))?
        {
            size += chunk.len() as u64;
            if size > cfg.max_upload_bytes as u64 {
                return Err(ApiError::of(
                    crate::error::ErrorCode::PayloadTooLarge,
                    format!("{name}: the upload is over the {}-byte limit", cfg.max_upload_bytes),
                ));
            }
            file.write_all(&chunk).map_err(|e| bad_file(&name, format!("cannot write: {e}")))?;
        }
        drop(file);
        if is_zip {
            // A zip of a folder keeps its inner paths: `site.zip` holding `site/a.md` gives `site/a.md`.
            let (files, bytes) = unpack(&target, dest, cfg, up.files).map_err(|r| bad_file(&name, r))?;
            std::fs::remove_file(&target).ok();
            up.files += files;
            up.bytes += bytes;
        } else {
            up.files += 1;
            up.bytes += size;
        }
        if up.files > cfg.max_upload_files {
            return Err(bad_file(&name, format!("more than {} files in one upload", cfg.max_upload_files)));
        }
    }
    std::fs::remove_dir_all(dest.join(".archives")).ok();
    if up.files == 0 {
        return Err(ApiError::invalid("files", "no files in the upload: send them as multipart parts named `files`"));
    }
    Ok(up)
}

/// Unpacks a zip archive under `dest`, refusing traversal, links and bombs. Returns files and bytes.
pub fn unpack(archive: &Path, dest: &Path, cfg: &ServerConfig, already: usize) -> Result<(usize, u64), String> {
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot reopen the archive: {e}"))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a readable zip archive: {e}"))?;
    // The zip reader keeps one entry per name (the last silently wins): read the names as stored.
    if let Some(name) = duplicate_entry(archive, zip.central_directory_start())? {
        return Err(format!("`{name}` is in the archive twice; remove one of the two entries and upload it again"));
    }
    let mut unpacked: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut written = 0u64;
    let mut files = 0usize;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("entry {i} is unreadable: {e}"))?;
        let name = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(format!("`{name}` is a symbolic link; links are not accepted in archives"));
        }
        if entry.enclosed_name().is_none() {
            return Err(format!("`{name}` escapes the archive's folder (path traversal)"));
        }
        let rel = safe_relative_path(&name).map_err(|r| format!("`{name}`: {r}"))?;
        files += 1;
        if already + files > cfg.max_upload_files {
            return Err(format!("more than {} files in one upload", cfg.max_upload_files));
        }
        if !unpacked.insert(rel.clone()) {
            return Err(format!("`{name}` is in the archive twice (under another spelling of its path)"));
        }
        let target = dest.join(rel);
        if target.exists() {
            return Err(format!("`{name}` is also in another file of the upload"));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create a folder for `{name}`: {e}"))?;
        }
        let mut out = std::fs::File::create(&target).map_err(|e| format!("cannot write `{name}`: {e}"))?;
        let budget = cfg.max_unzipped_bytes.saturating_sub(written);
        let mut limited = (&mut entry).take(budget + 1);
        let n = std::io::copy(&mut limited, &mut out).map_err(|e| format!("`{name}` is corrupt: {e}"))?;
        written += n;
        if n > budget {
            return Err(format!(
                "unpacks to more than {} bytes (a zip bomb, or an archive too large to upload at once)",
                cfg.max_unzipped_bytes
            ));
        }
    }
    Ok((files, written))
}

/// The first entry name the archive's central directory holds twice, read record by record from
/// `start` (the zip reader itself keeps only one entry per name).
fn duplicate_entry(archive: &Path, start: u64) -> Result<Option<String>, String> {
    use std::io::{BufReader, Seek, SeekFrom};
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot reopen the archive: {e}"))?;
    let mut r = BufReader::new(file);
    r.seek(SeekFrom::Start(start)).map_err(|e| format!("cannot read the archive's directory: {e}"))?;
    let mut seen: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    let mut header = [0u8; 46];
    loop {
        if r.read_exact(&mut header).is_err() || header[..4] != [0x50, 0x4b, 0x01, 0x02] {
            return Ok(None);
        }
        let len = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) as usize;
        let (name_len, extra_len, comment_len) = (len(28), len(30), len(32));
        let mut name = vec![0u8; name_len];
        r.read_exact(&mut name).map_err(|e| format!("the archive's directory is cut off: {e}"))?;
        r.seek_relative((extra_len + comment_len) as i64)
            .map_err(|e| format!("the archive's directory is cut off: {e}"))?;
        let is_dir = name.last() == Some(&b'/');
        if !is_dir && !seen.insert(name.clone()) {
            return Ok(Some(String::from_utf8_lossy(&name).into_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused_with_a_reason() {
        assert_eq!(safe_relative_path("docs/a.md"), Ok(PathBuf::from("docs/a.md")));
        assert_eq!(safe_relative_path("./docs\\b.md"), Ok(PathBuf::from("docs/b.md")));
        assert!(safe_relative_path("../etc/passwd").unwrap_err().contains("path traversal"));
        assert!(safe_relative_path("docs/../../x").unwrap_err().contains("path traversal"));
        assert!(safe_relative_path("/etc/passwd").unwrap_err().contains("absolute"));
        assert!(safe_relative_path("C:\\x.md").unwrap_err().contains("absolute"));
        assert!(safe_relative_path("a\0b.md").unwrap_err().contains("control"));
        assert!(safe_relative_path("").unwrap_err().contains("empty"));
        assert!(safe_relative_path("./.").unwrap_err().contains("no usable part"));
    }

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn zip_with(entries: &[(&str, Vec<u8>)]) -> TestResult<tempfile::NamedTempFile> {
        let file = tempfile::NamedTempFile::new()?;
        let mut w = zip::ZipWriter::new(file.reopen()?);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts)?;
            w.write_all(data)?;
        }
        w.finish()?;
        Ok(file)
    }

    /// A zip holding `site/a.md` twice (zip writers refuse duplicate names: the second entry is renamed
    /// to a same-length name, then its name bytes are patched in both headers).
    fn zip_with_duplicate() -> TestResult<tempfile::NamedTempFile> {
        let file = zip_with(&[("site/a.md", b"first".to_vec()), ("site/b.md", b"second".to_vec())])?;
        let bytes = std::fs::read(file.path())?;
        let patched =
            bytes.windows(9).enumerate().filter(|(_, w)| *w == b"site/b.md").map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(patched.len(), 2, "local and central headers");
        let mut bytes = bytes;
        for i in patched {
            bytes[i..i + 9].copy_from_slice(b"site/a.md");
        }
        std::fs::write(file.path(), bytes)?;
        Ok(file)
    }

    #[test]
    fn archives_unpack_and_bombs_and_traversal_are_refused() -> TestResult {
        let cfg = ServerConfig { max_unzipped_bytes: 1_000_000, ..ServerConfig::default() };
        let dir = tempfile::tempdir()?;
        let ok = zip_with(&[("site/a.md", b"# A\n\nHello".to_vec()), ("site/help/b.md", b"# B".to_vec())])?;
        assert_eq!(unpack(ok.path(), &dir.path().join("ok"), &cfg, 0), Ok((2, 13)));
        assert_eq!(std::fs::read_to_string(dir.path().join("ok/site/help/b.md"))?, "# B");

        let bomb = zip_with(&[("zeros.txt", vec![0u8; 5_000_000])])?;
        let err = unpack(bomb.path(), &dir.path().join("bomb"), &cfg, 0).unwrap_err();
        assert!(err.contains("zip bomb"), "{err}");

        let dup = zip_with_duplicate()?;
        let err = unpack(dup.path(), &dir.path().join("dup"), &cfg, 0).unwrap_err();
        assert!(err.contains("`site/a.md` is in the archive twice"), "{err}");

        let evil = zip_with(&[("../../escape.md", b"x".to_vec())])?;
        let err = unpack(evil.path(), &dir.path().join("evil"), &cfg, 0).unwrap_err();
        assert!(err.contains("path traversal"), "{err}");
        assert!(!dir.path().join("escape.md").exists());
        Ok(())
    }
}
