//! Running the binary (ripgrep's `TestCommand` idea) and building small fixture folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn sample_kb() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample-kb")
}

/// A temporary data dir plus a folder for source files.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn src(&self) -> PathBuf {
        let p = self.dir.path().join("src");
        std::fs::create_dir_all(&p).expect("src dir");
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_throughline"));
        c.arg("--data-dir").arg(self.data());
        c.env_remove("THROUGHLINE_DATA_DIR");
        c
    }

    /// Runs with `args`, returns output (any exit code).
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run throughline")
    }

    /// Runs and asserts success; returns stdout parsed as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }
}

/// Copies the named sample-kb files into `dest`, keeping their relative paths.
pub fn copy_sample(dest: &Path, files: &[&str]) {
    for f in files {
        let to = dest.join(f);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(sample_kb().join(f), &to).unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Paths of the hits of a search JSON answer.
pub fn hit_paths(v: &serde_json::Value) -> Vec<String> {
    v["hits"].as_array().expect("hits").iter().map(|h| h["path"].as_str().unwrap_or("").to_string()).collect()
}
