//! [`PgStore`]: the PostgreSQL implementation of the four store traits, for running several `serve`
//! replicas against one shared database (SQLite stays the embedded default).
//!
//! The traits are synchronous (the server calls them from blocking threads, the CLI from its main
//! thread); the driver is the asynchronous `tokio-postgres` with a `deadpool` connection pool. The store
//! owns a small Tokio runtime for the connections' tasks and waits for each call on the calling thread,
//! so it works the same from a plain thread, a blocking task or an async worker.
//!
//! Tables and columns are those of the SQLite schema (see `migrations/postgres/`), so `throughline
//! migrate --to` copies rows column for column. Migrations are applied at open under an advisory lock,
//! so replicas starting together do not race. Every batch is one transaction that bumps the knowledge
//! base's `seq` and notifies the `throughline_kb` channel, which other replicas listen on to catch their
//! derived indexes up.

mod copy;
mod jobs;
mod knowledge;
mod memory;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use copy::CopyReport;

use crate::{StoreError, StoreResult};

/// The versioned migrations, applied in order; a database records the highest it has seen.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../../migrations/postgres/0001_schema.sql"))];

/// The schema version this binary writes.
pub const PG_SCHEMA_VERSION: i64 = 1;

/// The channel a committed batch is announced on, with the payload `<kb name> <seq>`.
pub const KB_CHANNEL: &str = "throughline_kb";

/// How long a claimed job stays with its replica without a checkpoint before another may take it over.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(60);

/// An arbitrary constant naming the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x7468_726f_7567_6801;

/// PostgreSQL-backed store of knowledge, memory, jobs and access.
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    runtime: Option<tokio::runtime::Runtime>,
    url: String,
    replica: String,
    job_lease: Duration,
}

/// A `postgres://` URL with its password (if any) hidden, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((auth, host)) => match auth.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_string(),
            },
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`), applies the
    /// migrations it lacks and returns the store. Fails with a clear error when the server cannot be
    /// reached or the schema is newer than this binary.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let store = Self::open(url)?;
        store.migrate()?;
        Ok(store)
    }

    /// The pool and its runtime, without touching the database yet.
    fn open(url: &str) -> StoreResult<Self> {
        let shown = redact_url(url);
        let failed = |detail: String| StoreError::Connect { url: shown.clone(), detail };
        let config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| failed(format!("bad URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("throughline-pg")
            .enable_all()
            .build()
            .map_err(|e| failed(format!("runtime: {e}")))?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(16)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .build()
                .map_err(|e| failed(e.to_string()))?
        };
        let replica = format!("{}-{:016x}", std::process::id(), throughline_core::JobId::random().get());
        Ok(Self { pool, config, runtime: Some(runtime), url: shown, replica, job_lease: DEFAULT_JOB_LEASE })
    }

    /// Changes how long a job claim lasts without a checkpoint (tests use zero: every running job counts
    /// as abandoned, as in a single process after a restart).
    pub fn with_job_lease(mut self, lease: Duration) -> Self {
        self.job_lease = lease;
        self
    }

    /// Names this process among replicas (job leases, pinned jobs). Give each replica a stable name (the
    /// CLI keeps one in its data directory) so that after a restart it takes back its own jobs at once.
    pub fn with_replica(mut self, name: impl Into<String>) -> Self {
        self.replica = name.into();
        self
    }

    /// How long a job claim lasts without renewal.
    pub fn job_lease(&self) -> Duration {
        self.job_lease
    }

    /// The database URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This process's name as a job lease owner.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Listens on `channels` over a connection of its own and forwards every notification (channel,
    /// payload) to the returned receiver until it is dropped. A lost connection is reopened every two
    /// seconds; notifications sent meanwhile are lost, so listeners also check periodically.
    pub fn listen(&self, channels: &[&str]) -> tokio::sync::mpsc::UnboundedReceiver<(String, String)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let config = self.config.clone();
        let url = self.url.clone();
        let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
        if let Some(rt) = &self.runtime {
            rt.spawn(async move {
                while !tx.is_closed() {
                    if let Err(e) = listen_once(&config, &listen, &tx).await {
                        tracing::warn!(error = %e, "the PostgreSQL listener on {url} stopped; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        }
        rx
    }

    /// Runs `fut` to completion on the calling thread, inside the store's runtime context (connections
    /// are spawned there and their I/O is driven by its threads).
    pub(crate) fn block<T>(&self, fut: impl Future<Output = T>) -> T {
        let _entered = self.runtime.as_ref().map(|r| r.enter());
        futures_executor::block_on(fut)
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| StoreError::Connect { url: self.url.clone(), detail: e.to_string() })
    }

    fn migrate(&self) -> StoreResult<()> {
        self.block(async {
            let mut conn = self.conn().await?;
            conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
            let result = apply_migrations(&mut conn, &self.url).await;
            conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
            result
        })
    }

    /// Whether the database holds no knowledge base, agent or job (`migrate --to` copies only into an
    /// empty database).
    pub fn is_empty(&self) -> StoreResult<bool> {
        self.block(async {
            let conn = self.conn().await?;
            let row = conn
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM kbs) + (SELECT COUNT(*) FROM agents) + (SELECT COUNT(*) FROM jobs)",
                    &[],
                )
                .await?;
            Ok(row.try_get::<_, i64>(0)? == 0)
        })
    }
}

/// One connection's life as a listener: `LISTEN`, then every notification forwarded to `tx` until the
/// connection fails or the receiver is dropped.
async fn listen_once(
    config: &tokio_postgres::Config,
    listen: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<(String, String)>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let forward = tx.clone();
    // The connection yields the notifications; it is polled by a task of its own while the client talks.
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message? {
                if forward.send((n.channel().to_string(), n.payload().to_string())).is_err() {
                    break;
                }
            }
        }
        Ok::<_, tokio_postgres::Error>(())
    });
    client.batch_execute(listen).await?;
    tokio::select! {
        ended = driver => ended.unwrap_or(Ok(())),
        _ = tx.closed() => Ok(()),
    }
}

async fn apply_migrations(conn: &mut deadpool_postgres::Object, url: &str) -> StoreResult<()> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS throughline_migrations (
            version     BIGINT PRIMARY KEY,
            applied_at  BIGINT NOT NULL
         )",
    )
    .await?;
    let found: Option<i64> =
        conn.query_one("SELECT MAX(version) FROM throughline_migrations", &[]).await?.try_get(0)?;
    let found = found.unwrap_or(0);
    if found > PG_SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { path: url.into(), found, supported: PG_SCHEMA_VERSION });
    }
    for (version, sql) in MIGRATIONS {
        if *version <= found {
            continue;
        }
        let tx = conn.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO throughline_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &crate::values::now()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    Ok(())
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside an async context; let its threads wind down.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Rows of `sql`, each turned into a value by `row`.
pub(crate) async fn collect<T>(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    row: impl Fn(&tokio_postgres::Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let stmt = client.prepare_cached(sql).await?;
    client.query(&stmt, params).await?.iter().map(row).collect()
}

/// The one row of `sql`, if any.
pub(crate) async fn optional<T>(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    row: impl Fn(&tokio_postgres::Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let stmt = client.prepare_cached(sql).await?;
    client.query_opt(&stmt, params).await?.as_ref().map(row).transpose()
}

/// Executes `sql`, returning the rows it changed.
pub(crate) async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<u64> {
    let stmt = client.prepare_cached(sql).await?;
    Ok(client.execute(&stmt, params).await?)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh schema per test in the database named by `THROUGHLINE_TEST_DATABASE_URL` (CI starts a
    //! throwaway PostgreSQL and sets it); without it the PostgreSQL tests say so and pass vacuously only
    //! when `THROUGHLINE_REQUIRE_POSTGRES` is unset.
    use super::*;

    /// A store on a new, empty schema, or `None` (with a note on stderr) when no test database is set.
    pub(crate) fn fresh(test: &str) -> Option<PgStore> {
        fresh_url(test).map(|url| PgStore::connect(&url).expect("connect to the test schema"))
    }

    /// The URL of a new, empty schema (see [`fresh`]).
    pub(crate) fn fresh_url(test: &str) -> Option<String> {
        let Ok(base) = std::env::var("THROUGHLINE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("THROUGHLINE_REQUIRE_POSTGRES").is_none(),
                "THROUGHLINE_REQUIRE_POSTGRES is set but THROUGHLINE_TEST_DATABASE_URL is not"
            );
            eprintln!("{test}: skipped, THROUGHLINE_TEST_DATABASE_URL is not set");
            return None;
        };
        let schema = format!("t_{}_{:x}", test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), {
            throughline_core::JobId::random().get() & 0xffff_ffff
        });
        Some(schema_url(&base, &schema).expect("create a test schema"))
    }
}

/// The URL of schema `schema` (letters, digits and `_`) of the database at `base`, created when missing:
/// several deployments, or test runs, can share one database this way.
pub fn schema_url(base: &str, schema: &str) -> StoreResult<String> {
    if schema.is_empty() || schema.len() > 63 || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Connect { url: redact_url(base), detail: format!("`{schema}` is not a schema name") });
    }
    let admin = PgStore::open(base)?;
    admin.block(async {
        let c = admin.conn().await?;
        c.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await?;
        Ok::<_, StoreError>(())
    })?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_batch_is_announced_to_listeners() {
        use throughline_core::{BatchWrite, JobStore, KnowledgeStore, SourceKind};
        let Some(url) = testing::fresh_url("listen") else { return };
        let (a, b) = (PgStore::connect(&url).expect("open"), PgStore::connect(&url).expect("open"));
        let mut notices = b.listen(&[KB_CHANNEL, "custom"]);
        // The listener connects in the background: announce until it hears, then check the batch.
        let mut heard = None;
        for _ in 0..50 {
            a.announce("custom", "ping").expect("announce");
            if let Ok(Some(n)) =
                b.block(async { tokio::time::timeout(Duration::from_millis(100), notices.recv()).await })
            {
                heard = Some(n);
                break;
            }
        }
        assert_eq!(heard, Some(("custom".to_string(), "ping".to_string())));
        let kb = a.ensure_kb("docs", "m", 3).expect("kb");
        let src = a.ensure_source(kb.id, SourceKind::Folder, "/d").expect("source");
        let d = throughline_core::conformance::doc(kb.id, src.id, "a.md", "v1");
        let c = throughline_core::conformance::chunk(&d, 0, "text");
        a.commit_batch(kb.id, BatchWrite { upserts: vec![(d, vec![c])], delete_docs: vec![] }).expect("commit");
        let notice = b.block(async {
            loop {
                match tokio::time::timeout(Duration::from_secs(5), notices.recv()).await {
                    Ok(Some((channel, payload))) if channel == KB_CHANNEL => return Some(payload),
                    Ok(Some(_)) => continue,
                    _ => return None,
                }
            }
        });
        assert_eq!(notice.as_deref(), Some("docs 1"));
    }

    #[test]
    fn passwords_are_hidden_in_shown_urls() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/tl"), "postgres://app:***@db:5432/tl");
        assert_eq!(redact_url("postgres://app@db/tl"), "postgres://app@db/tl");
        assert!(is_postgres_url("postgresql://x/y") && !is_postgres_url("/var/lib/throughline"));
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error_naming_it() {
        // Port 9 on loopback: nothing listens there.
        let err = PgStore::connect("postgres://u:pw@127.0.0.1:9/none").err().expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("postgres://u:***@127.0.0.1:9/none"), "{msg}");
        assert!(!msg.contains("pw@"), "{msg}");
    }

    #[test]
    fn replicas_starting_together_migrate_once() {
        let Some(url) = testing::fresh_url("migrate_once") else { return };
        let opened: Vec<PgStore> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3).map(|_| s.spawn(|| PgStore::connect(&url))).collect();
            handles.into_iter().map(|h| h.join().expect("no panic").expect("open")).collect()
        });
        let store = &opened[0];
        let versions = store
            .block(async {
                let c = store.conn().await?;
                collect(&c, "SELECT version FROM throughline_migrations ORDER BY version", &[], |r| {
                    Ok(r.get::<_, i64>(0))
                })
                .await
            })
            .expect("versions");
        assert_eq!(versions, vec![PG_SCHEMA_VERSION]);
    }
}
