//! The `throughline` binary: parses the command line, builds the configuration once (defaults →
//! `throughline.toml` in the data dir → `THROUGHLINE_*` environment → flags), wires the concrete store,
//! embedder and indexes together, and renders progress. All product logic lives in the library crates.

mod cli;
mod commands;
mod config;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("THROUGHLINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    commands::dispatch(args)
}
