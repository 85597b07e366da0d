//! Finding the files of a folder source: a sorted walk that skips hidden folders and dependency
//! folders, never follows symbolic links out of the tree, and records each file's path relative to the
//! folder (the document's id).

use std::path::{Path, PathBuf};

use crate::{IngestError, Result};

/// A file found under a source folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFile {
    /// Absolute or caller-relative path to read.
    pub path: PathBuf,
    /// Path relative to the source folder with `/` separators: the document id.
    pub rel: String,
}

const SKIP_DIRS: [&str; 4] = ["node_modules", "target", "__pycache__", "venv"];

/// What [`discover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Files, sorted by relative path.
    pub files: Vec<DiscoveredFile>,
    /// Folders that could not be listed, with the reason.
    pub problems: Vec<(String, String)>,
}

/// Lists the files of `root` (a folder, or a single file), sorted by relative path. Unreadable
/// sub-folders are reported as problems, not errors.
pub fn discover(root: &Path) -> Result<Discovery> {
    let meta = std::fs::metadata(root).map_err(|_| IngestError::MissingPath { path: root.to_path_buf() })?;
    if meta.is_file() {
        let rel = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(Discovery { files: vec![DiscoveredFile { path: root.to_path_buf(), rel }], problems: Vec::new() });
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push((dir.display().to_string(), format!("cannot list folder: {e}")));
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            if ft.is_dir() {
                if !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if ft.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
                    .unwrap_or(name);
                files.push(DiscoveredFile { path, rel });
            }
            // Symbolic links are skipped: they could point outside the folder being ingested.
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Discovery { files, problems })
}
