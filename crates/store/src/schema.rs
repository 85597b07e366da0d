//! The schema and its migrations. The version is kept in `PRAGMA user_version`; opening a database
//! written by a newer binary fails instead of guessing.

use rusqlite::Connection;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 5;

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

/// Version 4: pricing plans per document, agents (versioned configurations) and per-contact memory.
const V4: &str = r#"
CREATE TABLE plans (
    kb_id     INTEGER NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    doc_id    INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal   INTEGER NOT NULL,
    name      TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
);
CREATE INDEX plans_kb ON plans(kb_id);
CREATE TABLE agents (
    id          INTEGER NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE INDEX agents_name ON agents(name);
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    agent_id    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    lifecycle   TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX contacts_agent ON contacts(agent_id);
CREATE TABLE contact_aliases (
    agent_id    INTEGER NOT NULL,
    alias       TEXT NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, alias)
);
CREATE TABLE facts (
    contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    source_message  INTEGER,
    learned_at      INTEGER NOT NULL,
    PRIMARY KEY (contact_id, key)
);
CREATE TABLE conversations (
    id             INTEGER PRIMARY KEY,
    agent_id       INTEGER NOT NULL,
    contact_id     INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    agent_version  INTEGER NOT NULL,
    started_at     INTEGER NOT NULL
);
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    contact_id       INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    agent_id         INTEGER NOT NULL,
    role             TEXT NOT NULL,
    text             TEXT NOT NULL,
    stage            TEXT,
    idk              INTEGER NOT NULL DEFAULT 0,
    latency_ms       INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id);
CREATE INDEX messages_agent ON messages(agent_id);
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    properties  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX events_contact ON events(contact_id);
CREATE TABLE leads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    facts       TEXT NOT NULL,
    webhook     TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX leads_agent ON leads(agent_id);
CREATE TABLE handoffs (
    id               INTEGER PRIMARY KEY,
    agent_id         INTEGER NOT NULL,
    contact_id       INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    conversation_id  INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    summary          TEXT NOT NULL,
    transcript       TEXT NOT NULL,
    facts            TEXT NOT NULL,
    status           TEXT NOT NULL,
    resolution       TEXT,
    webhook          TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX handoffs_agent ON handoffs(agent_id);
"#;

/// Version 5: the sources each answer cited, with the chunk (document version) and the text it quoted,
/// and a knowledge base's hand-edited plan catalogue (which takes precedence over extraction).
const V5: &str = r#"
CREATE TABLE message_citations (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    kb          TEXT NOT NULL,
    path        TEXT NOT NULL,
    title       TEXT NOT NULL,
    url         TEXT,
    chunk_id    INTEGER,
    quote       TEXT NOT NULL
);
CREATE INDEX message_citations_message ON message_citations(message_id);
CREATE INDEX message_citations_kb ON message_citations(kb, path);
CREATE INDEX documents_path ON documents(kb_id, path);
CREATE TABLE plan_edits (
    kb_id       INTEGER PRIMARY KEY REFERENCES kbs(id) ON DELETE CASCADE,
    data        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
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
    if found < 4 {
        conn.execute_batch(&format!("BEGIN; {V4} PRAGMA user_version = 4; COMMIT;"))?;
    }
    if found < 5 {
        conn.execute_batch(&format!("BEGIN; {V5} PRAGMA user_version = 5; COMMIT;"))?;
    }
    Ok(found)
}
