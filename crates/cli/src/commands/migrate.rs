//! `throughline migrate --to postgres://…`: moves an install from the data dir's SQLite database into an
//! empty PostgreSQL database (every table, vectors as stored: nothing is re-embedded) and says what it
//! copied.

use std::process::ExitCode;

use anyhow::Context;
use throughline_store::{is_postgres_url, redact_url, PgStore, SqliteStore};

use super::App;

pub fn run(app: App, to: &str) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(is_postgres_url(to), "--to: `{}` is not a postgres:// URL", redact_url(to));
    let sqlite = SqliteStore::open(&app.paths.database())?;
    let pg = PgStore::connect(to)?;
    println!("Copying {} into {}…", app.backend, pg.url());
    let started = std::time::Instant::now();
    let report = pg
        .copy_from_sqlite(&sqlite, |table, rows| println!("  {table:<18} {rows:>9} rows"))
        .with_context(|| format!("copying into {}", pg.url()))?;
    let total: u64 = report.iter().map(|(_, n)| n).sum();
    let get = |t: &str| report.iter().find(|(n, _)| *n == t).map_or(0, |(_, n)| *n);
    println!(
        "Copied {total} rows in {:.1}s: {} knowledge bases, {} documents, {} chunks with their vectors, {} agent versions, {} contacts, {} messages, {} jobs.",
        started.elapsed().as_secs_f64(),
        get("kbs"),
        get("documents"),
        get("chunks"),
        get("agents"),
        get("contacts"),
        get("messages"),
        get("jobs"),
    );
    println!(
        "Next: THROUGHLINE_DATABASE_URL='{}' throughline serve  (each replica rebuilds its search indexes from the stored vectors at first use; uploaded files stay in {})",
        pg.url(),
        app.config.data_dir.join("uploads").display()
    );
    Ok(ExitCode::SUCCESS)
}
