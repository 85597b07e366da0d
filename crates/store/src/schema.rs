//! The schema and its migrations. The version is kept in `PRAGMA user_version`; opening a database
//! written by a newer binary fails instead of guessing.

use rusqlite::Connection;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 3;

const V1: &str = r#"
CREATE TABLE kbs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    model_id    TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    seq         INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    kb_id           INTEGER NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    location        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_synced_at  INTEGER
);
CREATE INDEX sources_kb ON sources(kb_id);
CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    kb_id         INTEGER NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    url           TEXT,
    title         TEXT NOT NULL,
    description   TEXT,
    page_type     TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    byte_size     INTEGER NOT NULL,
    chunk_count   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX documents_kb ON documents(kb_id, source_id);
CREATE TABLE chunks (
    id            INTEGER PRIMARY KEY,
    kb_id         INTEGER NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    doc_id        INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    heading_path  TEXT NOT NULL,
    text          TEXT NOT NULL,
    token_count   INTEGER NOT NULL,
    vector        BLOB NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id);
CREATE INDEX chunks_kb ON chunks(kb_id);
"#;

/// Version 2: background jobs, settings, publications and visitor sessions (the server's).
const V2: &str = r#"
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    ord          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    kb           TEXT NOT NULL,
    spec         TEXT NOT NULL,
    status       TEXT NOT NULL,
    progress     TEXT NOT NULL DEFAULT '{}',
    error        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
);
CREATE INDEX jobs_status ON jobs(status, ord);
CREATE INDEX jobs_kb ON jobs(kb, ord);
CREATE TABLE publications (
    agent            TEXT PRIMARY KEY,
    public_key       TEXT NOT NULL UNIQUE,
    allowed_origins  TEXT NOT NULL DEFAULT '[]',
    published        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    agent        TEXT NOT NULL,
    contact_key  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX sessions_contact ON sessions(agent, contact_key);
"#;

/// Version 3: the crawl report of site sources, one row per discovered URL with its outcome, and the HTTP
/// validators (ETag, Last-Modified) and outgoing links the next crawl needs for conditional requests.
const V3: &str = r#"
CREATE TABLE crawl_pages (
    source_id      INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    url            TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    depth          INTEGER NOT NULL,
    doc_path       TEXT,
    etag           TEXT,
    last_modified  TEXT,
    links          TEXT NOT NULL,
    checked_at     INTEGER NOT NULL,
    PRIMARY KEY (source_id, url)
);
"#;

/// Brings the database to [`SCHEMA_VERSION`]; returns the version found before.
pub fn migrate(conn: &Connection) -> rusqlite::Result<i64> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found < 1 {
        conn.execute_batch(&format!("BEGIN; {V1} PRAGMA user_version = 1; COMMIT;"))?;
    }
    if found < 2 {
        conn.execute_batch(&format!("BEGIN; {V2} PRAGMA user_version = 2; COMMIT;"))?;
    }
    if found < 3 {
        conn.execute_batch(&format!("BEGIN; {V3} PRAGMA user_version = 3; COMMIT;"))?;
    }
    Ok(found)
}
