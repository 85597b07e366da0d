//! [`SqliteStore`]: the SQLite implementation of [`KnowledgeStore`]. One connection behind a mutex, WAL
//! journal, foreign keys on; every batch is one transaction.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};
use throughline_core::{
    BatchWrite, ChunkId, CoreError, CrawlRecord, CrawlStatus, DocId, DocumentMeta, KbId, KbInfo, KnowledgeStore,
    PageType, Plan, SourceId, SourceInfo, SourceKind, StoredChunk,
};

use crate::schema::{migrate, SCHEMA_VERSION};
use crate::values::{decode_vector, encode_vector, now, to_i64, validate_name};
use crate::{StoreError, StoreResult};

/// SQLite-backed metadata and chunk store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const DOC_COLUMNS: &str =
    "id, source_id, path, url, title, description, page_type, content_hash, byte_size, chunk_count, updated_at";

fn doc_from_row(row: &Row<'_>) -> rusqlite::Result<(DocumentMeta, String)> {
    let page_type: String = row.get(6)?;
    Ok((
        DocumentMeta {
            id: DocId::from_raw(row.get::<_, i64>(0)? as u64),
            source_id: SourceId::from_raw(row.get::<_, i64>(1)? as u64),
            path: row.get(2)?,
            url: row.get(3)?,
            title: row.get(4)?,
            description: row.get(5)?,
            page_type: PageType::Other,
            content_hash: row.get(7)?,
            byte_size: row.get::<_, i64>(8)? as u64,
            chunk_count: row.get::<_, i64>(9)? as u32,
            updated_at: row.get(10)?,
        },
        page_type,
    ))
}

fn finish_doc((mut doc, page_type): (DocumentMeta, String)) -> StoreResult<DocumentMeta> {
    doc.page_type = page_type
        .parse()
        .map_err(|_| StoreError::Corrupt { table: "documents", detail: format!("page type `{page_type}`") })?;
    Ok(doc)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::init(conn, path.to_path_buf())
    }

    /// An in-memory database (tests, doctests).
    pub fn open_in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(conn: Connection, path: PathBuf) -> StoreResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let found = migrate(&conn)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { path, found, supported: SCHEMA_VERSION });
        }
        Ok(Self { conn: Mutex::new(conn), path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection. Other crates' stores (agents, memory) share the same database file
    /// through their own modules; this is the hook they use.
    pub fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        f(&mut self.lock())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite rolled its transaction back.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kb_by(&self, conn: &Connection, clause: &str, arg: &dyn rusqlite::ToSql) -> StoreResult<Option<KbInfo>> {
        let sql = format!(
            "SELECT id, name, model_id, dim, seq, created_at,
                (SELECT COUNT(*) FROM documents d WHERE d.kb_id = kbs.id),
                (SELECT COUNT(*) FROM chunks c WHERE c.kb_id = kbs.id)
             FROM kbs WHERE {clause}"
        );
        Ok(conn
            .query_row(&sql, [arg], |r| {
                Ok(KbInfo {
                    id: KbId::from_raw(r.get::<_, i64>(0)? as u64),
                    name: r.get(1)?,
                    model_id: r.get(2)?,
                    dim: r.get::<_, i64>(3)? as usize,
                    seq: r.get::<_, i64>(4)? as u64,
                    created_at: r.get(5)?,
                    documents: r.get::<_, i64>(6)? as u64,
                    chunks: r.get::<_, i64>(7)? as u64,
                })
            })
            .optional()?)
    }

    fn ensure_kb_inner(&self, name: &str, model_id: &str, dim: usize) -> StoreResult<KbInfo> {
        validate_name(name)?;
        let conn = self.lock();
        if let Some(kb) = self.kb_by(&conn, "name = ?1", &name)? {
            if kb.model_id != model_id || kb.dim != dim {
                return Err(StoreError::ModelMismatch {
                    kb: name.to_string(),
                    stored: kb.model_id,
                    stored_dim: kb.dim,
                    requested: model_id.to_string(),
                    requested_dim: dim,
                });
            }
            return Ok(kb);
        }
        let id = KbId::from_name(name);
        conn.execute(
            "INSERT INTO kbs (id, name, model_id, dim, seq, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![to_i64(id.get()), name, model_id, dim as i64, now()],
        )?;
        self.kb_by(&conn, "id = ?1", &to_i64(id.get()))?
            .ok_or_else(|| StoreError::Corrupt { table: "kbs", detail: format!("`{name}` vanished after insert") })
    }

    fn commit_inner(&self, kb: KbId, batch: BatchWrite) -> StoreResult<u64> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        {
            let mut del_doc = tx.prepare_cached("DELETE FROM documents WHERE id = ?1 AND kb_id = ?2")?;
            for d in &batch.delete_docs {
                del_doc.execute(params![to_i64(d.get()), to_i64(kb.get())])?;
            }
            let mut del_chunks = tx.prepare_cached("DELETE FROM chunks WHERE doc_id = ?1")?;
            let mut put_doc = tx.prepare_cached(
                "INSERT INTO documents (id, kb_id, source_id, path, url, title, description, page_type,
                    content_hash, byte_size, chunk_count, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(id) DO UPDATE SET source_id = excluded.source_id, path = excluded.path,
                    url = excluded.url, title = excluded.title, description = excluded.description,
                    page_type = excluded.page_type, content_hash = excluded.content_hash,
                    byte_size = excluded.byte_size, chunk_count = excluded.chunk_count,
                    updated_at = excluded.updated_at",
            )?;
            let mut put_chunk = tx.prepare_cached(
                "INSERT OR REPLACE INTO chunks (id, kb_id, doc_id, ordinal, heading_path, text, token_count, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (doc, chunks) in &batch.upserts {
                del_chunks.execute(params![to_i64(doc.id.get())])?;
                put_doc.execute(params![
                    to_i64(doc.id.get()),
                    to_i64(kb.get()),
                    to_i64(doc.source_id.get()),
                    doc.path,
                    doc.url,
                    doc.title,
                    doc.description,
                    doc.page_type.as_str(),
                    doc.content_hash,
                    doc.byte_size as i64,
                    chunks.len() as i64,
                    doc.updated_at,
                ])?;
                for c in chunks {
                    let heading = serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into());
                    put_chunk.execute(params![
                        to_i64(c.id.get()),
                        to_i64(kb.get()),
                        to_i64(doc.id.get()),
                        c.ordinal as i64,
                        heading,
                        c.text,
                        c.token_count as i64,
                        encode_vector(&c.vector),
                    ])?;
                }
            }
        }
        tx.execute("UPDATE kbs SET seq = seq + 1 WHERE id = ?1", params![to_i64(kb.get())])?;
        let seq: i64 = tx.query_row("SELECT seq FROM kbs WHERE id = ?1", params![to_i64(kb.get())], |r| r.get(0))?;
        tx.commit()?;
        Ok(seq as u64)
    }

    fn chunks_with_docs_inner(&self, kb: KbId, ids: &[ChunkId]) -> StoreResult<Vec<(DocumentMeta, StoredChunk)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, d.source_id, d.path, d.url, d.title, d.description, d.page_type, d.content_hash,
                    d.byte_size, d.chunk_count, d.updated_at,
                    c.id, c.ordinal, c.heading_path, c.text, c.token_count, c.vector
             FROM chunks c JOIN documents d ON d.id = c.doc_id
             WHERE c.id = ?1 AND c.kb_id = ?2",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = stmt
                .query_row(params![to_i64(id.get()), to_i64(kb.get())], |r| {
                    let doc = doc_from_row(r)?;
                    let heading: String = r.get(13)?;
                    let vector: Vec<u8> = r.get(16)?;
                    Ok((
                        doc,
                        r.get::<_, i64>(11)?,
                        r.get::<_, i64>(12)?,
                        heading,
                        r.get::<_, String>(14)?,
                        r.get::<_, i64>(15)?,
                        vector,
                    ))
                })
                .optional()?;
            let Some((doc, cid, ordinal, heading, text, tokens, vector)) = row else { continue };
            let doc = finish_doc(doc)?;
            let heading_path: Vec<String> = serde_json::from_str(&heading)
                .map_err(|e| StoreError::Corrupt { table: "chunks", detail: format!("heading path: {e}") })?;
            out.push((
                doc,
                StoredChunk {
                    id: ChunkId::from_raw(cid as u64),
                    doc_id: DocId::from_raw(0),
                    ordinal: ordinal as u32,
                    heading_path,
                    text,
                    token_count: tokens as u32,
                    vector: decode_vector(&vector)?,
                },
            ));
        }
        for (doc, chunk) in &mut out {
            chunk.doc_id = doc.id;
        }
        Ok(out)
    }
}

impl KnowledgeStore for SqliteStore {
    fn replace_plans(&self, kb: KbId, doc: DocId, plans: &[Plan]) -> Result<(), CoreError> {
        Ok(crate::plans::replace_plans(&mut self.lock(), kb, doc, plans)?)
    }

    fn plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError> {
        Ok(crate::plans::plans(&self.lock(), kb)?)
    }

    fn extracted_plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError> {
        Ok(crate::plans::extracted_plans(&self.lock(), kb)?)
    }

    fn set_plan_edits(&self, kb: KbId, plans: Option<&[Plan]>) -> Result<(), CoreError> {
        Ok(crate::plans::set_plan_edits(&self.lock(), kb, plans)?)
    }

    fn plans_edited_at(&self, kb: KbId) -> Result<Option<i64>, CoreError> {
        Ok(crate::plans::plans_edited_at(&self.lock(), kb)?)
    }

    fn ensure_kb(&self, name: &str, model_id: &str, dim: usize) -> Result<KbInfo, CoreError> {
        Ok(self.ensure_kb_inner(name, model_id, dim)?)
    }

    fn kb(&self, name: &str) -> Result<Option<KbInfo>, CoreError> {
        let conn = self.lock();
        Ok(self.kb_by(&conn, "name = ?1", &name)?)
    }

    fn list_kbs(&self) -> Result<Vec<KbInfo>, CoreError> {
        let names: Vec<String> = {
            let conn = self.lock();
            let mut stmt = conn.prepare("SELECT name FROM kbs ORDER BY name").map_err(StoreError::from)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(StoreError::from)?;
            rows.collect::<Result<_, _>>().map_err(StoreError::from)?
        };
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(kb) = self.kb(&n)? {
                out.push(kb);
            }
        }
        Ok(out)
    }

    fn delete_kb(&self, kb: KbId) -> Result<bool, CoreError> {
        let conn = self.lock();
        let n = conn.execute("DELETE FROM kbs WHERE id = ?1", params![to_i64(kb.get())]).map_err(StoreError::from)?;
        Ok(n > 0)
    }

    fn ensure_source(&self, kb: KbId, kind: SourceKind, location: &str) -> Result<SourceInfo, CoreError> {
        let id = SourceId::derive(kb, location);
        let conn = self.lock();
        conn.execute(
            "INSERT INTO sources (id, kb_id, kind, location, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO NOTHING",
            params![to_i64(id.get()), to_i64(kb.get()), kind.as_str(), location, now()],
        )
        .map_err(StoreError::from)?;
        let last: Option<i64> = conn
            .query_row("SELECT last_synced_at FROM sources WHERE id = ?1", params![to_i64(id.get())], |r| r.get(0))
            .map_err(StoreError::from)?;
        Ok(SourceInfo { id, kb, kind, location: location.to_string(), last_synced_at: last })
    }

    fn sources(&self, kb: KbId) -> Result<Vec<SourceInfo>, CoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id, kind, location, last_synced_at FROM sources WHERE kb_id = ?1 ORDER BY created_at, id")
            .map_err(StoreError::from)?;
        let rows = stmt
            .query_map(params![to_i64(kb.get())], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<i64>>(3)?))
            })
            .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, location, last) = row.map_err(StoreError::from)?;
            let kind = SourceKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt { table: "sources", detail: format!("kind `{kind}`") })?;
            out.push(SourceInfo { id: SourceId::from_raw(id as u64), kb, kind, location, last_synced_at: last });
        }
        Ok(out)
    }

    fn delete_source(&self, source: SourceId) -> Result<bool, CoreError> {
        let conn = self.lock();
        let n = conn.execute("DELETE FROM sources WHERE id = ?1", [to_i64(source.get())]).map_err(StoreError::from)?;
        Ok(n > 0)
    }

    fn mark_source_synced(&self, source: SourceId) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute("UPDATE sources SET last_synced_at = ?1 WHERE id = ?2", params![now(), to_i64(source.get())])
            .map_err(StoreError::from)?;
        Ok(())
    }

    fn documents(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<DocumentMeta>, CoreError> {
        let conn = self.lock();
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE kb_id = ?1 AND (?2 IS NULL OR source_id = ?2) ORDER BY path"
        );
        let mut stmt = conn.prepare(&sql).map_err(StoreError::from)?;
        let rows = stmt
            .query_map(params![to_i64(kb.get()), source.map(|s| to_i64(s.get()))], doc_from_row)
            .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(finish_doc(row.map_err(StoreError::from)?)?);
        }
        Ok(out)
    }

    fn commit_batch(&self, kb: KbId, batch: BatchWrite) -> Result<u64, CoreError> {
        Ok(self.commit_inner(kb, batch)?)
    }

    fn chunk_ids(&self, kb: KbId) -> Result<Vec<ChunkId>, CoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT id FROM chunks WHERE kb_id = ?1").map_err(StoreError::from)?;
        let rows = stmt.query_map(params![to_i64(kb.get())], |r| r.get::<_, i64>(0)).map_err(StoreError::from)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(ChunkId::from_raw(r.map_err(StoreError::from)? as u64));
        }
        Ok(out)
    }

    fn page_versions(&self, kb: KbId, path: &str) -> Result<Vec<(i64, String)>, CoreError> {
        let conn = self.lock();
        let found = (|| -> rusqlite::Result<Vec<(i64, String)>> {
            let mut docs =
                conn.prepare_cached("SELECT id, updated_at FROM documents WHERE kb_id = ?1 AND path = ?2")?;
            let docs = docs
                .query_map(params![to_i64(kb.get()), path], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut chunks = conn.prepare_cached("SELECT text FROM chunks WHERE doc_id = ?1 ORDER BY ordinal")?;
            let mut out = Vec::with_capacity(docs.len());
            for (doc, updated_at) in docs {
                let texts =
                    chunks.query_map(params![doc], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                out.push((updated_at, texts.join(" ")));
            }
            Ok(out)
        })()
        .map_err(StoreError::from)?;
        Ok(found)
    }

    fn chunks_with_docs(&self, kb: KbId, ids: &[ChunkId]) -> Result<Vec<(DocumentMeta, StoredChunk)>, CoreError> {
        Ok(self.chunks_with_docs_inner(kb, ids)?)
    }

    fn crawl_records(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<CrawlRecord>, CoreError> {
        Ok(self.crawl_records_inner(kb, source)?)
    }

    fn replace_crawl_records(&self, source: SourceId, records: &[CrawlRecord]) -> Result<(), CoreError> {
        Ok(self.replace_crawl_records_inner(source, records)?)
    }
}

impl SqliteStore {
    fn crawl_records_inner(&self, kb: KbId, source: Option<SourceId>) -> StoreResult<Vec<CrawlRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT p.source_id, p.url, p.status, p.reason, p.depth, p.doc_path, p.etag, p.last_modified, p.links,
                    p.checked_at
             FROM crawl_pages p JOIN sources s ON s.id = p.source_id
             WHERE s.kb_id = ?1 AND (?2 IS NULL OR p.source_id = ?2)
             ORDER BY s.created_at, p.source_id, p.url",
        )?;
        let rows = stmt.query_map(params![to_i64(kb.get()), source.map(|s| to_i64(s.get()))], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (source_id, url, status, reason, depth, doc_path, etag, last_modified, links, checked_at) = row?;
            let status: CrawlStatus =
                status.parse().map_err(|detail: String| StoreError::Corrupt { table: "crawl_pages", detail })?;
            let links: Vec<String> = serde_json::from_str(&links)
                .map_err(|e| StoreError::Corrupt { table: "crawl_pages", detail: format!("links of {url}: {e}") })?;
            out.push(CrawlRecord {
                source_id: SourceId::from_raw(source_id as u64),
                url,
                status,
                reason,
                depth: depth as u32,
                doc_path,
                etag,
                last_modified,
                links,
                checked_at,
            });
        }
        Ok(out)
    }

    fn replace_crawl_records_inner(&self, source: SourceId, records: &[CrawlRecord]) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM crawl_pages WHERE source_id = ?1", params![to_i64(source.get())])?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO crawl_pages (source_id, url, status, reason, depth, doc_path, etag,
                    last_modified, links, checked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in records {
                let links = serde_json::to_string(&r.links).unwrap_or_else(|_| "[]".into());
                put.execute(params![
                    to_i64(source.get()),
                    r.url,
                    r.status.as_str(),
                    r.reason,
                    r.depth as i64,
                    r.doc_path,
                    r.etag,
                    r.last_modified,
                    links,
                    r.checked_at,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::conformance::{chunk, doc};

    #[test]
    fn sqlite_keeps_the_knowledge_store_contract() {
        throughline_core::conformance::knowledge_store(&SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn reopening_a_file_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.ensure_kb("kb1", "m", 3).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.list_kbs().unwrap()[0].name, "kb1");
    }

    #[test]
    fn crawl_reports_are_replaced_per_source_and_go_with_their_kb() {
        let s = SqliteStore::open_in_memory().unwrap();
        let kb = s.ensure_kb("site", "m", 3).unwrap();
        let a = s.ensure_source(kb.id, SourceKind::Site, "https://a.example/").unwrap();
        let b = s.ensure_source(kb.id, SourceKind::Site, "https://b.example/").unwrap();
        let rec = |src: SourceId, url: &str, status: CrawlStatus, reason: &str| CrawlRecord {
            source_id: src,
            url: url.into(),
            status,
            reason: reason.into(),
            depth: 1,
            doc_path: (status == CrawlStatus::Indexed).then(|| "/x".to_string()),
            etag: Some("\"v1\"".into()),
            last_modified: None,
            links: vec!["https://a.example/y".into()],
            checked_at: 7,
        };
        s.replace_crawl_records(a.id, &[rec(a.id, "https://a.example/x", CrawlStatus::Indexed, "")]).unwrap();
        s.replace_crawl_records(b.id, &[rec(b.id, "https://b.example/z", CrawlStatus::Failed, "HTTP 500")]).unwrap();
        // A second crawl of `a` replaces its rows and leaves `b` alone.
        s.replace_crawl_records(
            a.id,
            &[rec(a.id, "https://a.example/p", CrawlStatus::Skipped, "robots.txt disallows")],
        )
        .unwrap();
        let all = s.crawl_records(kb.id, None).unwrap();
        assert_eq!(
            all.iter().map(|r| (r.url.as_str(), r.status, r.reason.as_str())).collect::<Vec<_>>(),
            vec![
                ("https://a.example/p", CrawlStatus::Skipped, "robots.txt disallows"),
                ("https://b.example/z", CrawlStatus::Failed, "HTTP 500"),
            ]
        );
        assert_eq!(all[0].etag.as_deref(), Some("\"v1\""));
        assert_eq!(all[0].links, vec!["https://a.example/y".to_string()]);
        assert_eq!(s.crawl_records(kb.id, Some(b.id)).unwrap().len(), 1);
        assert!(s.delete_kb(kb.id).unwrap());
        assert!(s.crawl_records(kb.id, None).unwrap().is_empty());
    }

    #[test]
    fn answers_quoting_a_changed_or_removed_page_are_listed_and_rechunking_alone_is_not() {
        use throughline_core::{CitedSource, MemoryStore, NewMessage, Role, SourceChange};
        let s = SqliteStore::open_in_memory().unwrap();
        let kb = s.ensure_kb("docs", "m", 3).unwrap();
        let src = s.ensure_source(kb.id, SourceKind::Folder, "/docs").unwrap();
        let write = |d: &DocumentMeta, texts: &[&str]| {
            let chunks = texts.iter().enumerate().map(|(i, t)| chunk(d, i as u32, t)).collect();
            s.commit_batch(kb.id, BatchWrite { upserts: vec![(d.clone(), chunks)], delete_docs: vec![] }).unwrap();
        };
        let pricing = doc(kb.id, src.id, "pricing.md", "v1");
        write(&pricing, &["The Team plan costs $79/month.", "Refunds within 14 days."]);
        let refunds = doc(kb.id, src.id, "refunds.md", "v1");
        write(&refunds, &["Refunds within 14 days of purchase."]);
        let gone = doc(kb.id, src.id, "legacy.md", "v1");
        write(&gone, &["The legacy plan is free."]);

        let agent = s.save_agent("support", "").unwrap();
        let contact = s.create_contact(agent.id, "visitor-1").unwrap();
        let conv = s.start_conversation(agent.id, contact.id, 1).unwrap();
        let cite = |n: usize, d: &DocumentMeta, ordinal: u32, quote: &str| CitedSource {
            number: n,
            kb: "docs".into(),
            path: d.path.clone(),
            title: d.title.clone(),
            url: None,
            chunk: Some(ChunkId::derive(d.id, &d.content_hash, ordinal)),
            quote: quote.into(),
        };
        let answer = |text: &str, citations: Vec<CitedSource>| {
            s.add_message(&NewMessage {
                conversation: conv.id,
                role: Role::Assistant,
                text: text.into(),
                stage: None,
                idk: false,
                latency_ms: Some(5),
                citations,
            })
            .unwrap()
        };
        let price =
            answer("The Team plan costs $79/month. [1]", vec![cite(1, &pricing, 0, "The Team plan costs $79/month.")]);
        answer(
            "Refunds within 14 days of purchase. [1]",
            vec![cite(1, &refunds, 0, "Refunds within 14 days of purchase.")],
        );
        let legacy = answer("The legacy plan is free. [1]", vec![cite(1, &gone, 0, "The legacy plan is free.")]);
        // Messages come back with their citations.
        let msgs = s.messages(conv.id).unwrap();
        assert_eq!(msgs[0].citations[0].quote, "The Team plan costs $79/month.");
        assert!(throughline_core::stale_answers(&s, &s, "docs").unwrap().is_empty(), "nothing changed yet");

        // The price changes; refunds is re-chunked (new version, same sentence split across whitespace);
        // legacy leaves the knowledge base.
        let pricing2 = doc(kb.id, src.id, "pricing.md", "v2");
        write(&pricing2, &["The Team plan costs $99/month.", "Refunds within 14 days."]);
        let refunds2 = doc(kb.id, src.id, "refunds.md", "v2");
        write(&refunds2, &["Refunds within 14", "days of purchase."]);
        s.commit_batch(kb.id, BatchWrite { upserts: vec![], delete_docs: vec![gone.id] }).unwrap();

        let stale = throughline_core::stale_answers(&s, &s, "docs").unwrap();
        let got: Vec<(&str, SourceChange, i64)> =
            stale.iter().map(|a| (a.cited.citation.path.as_str(), a.change, a.cited.message_id)).collect();
        assert_eq!(
            got,
            vec![("legacy.md", SourceChange::Removed, legacy), ("pricing.md", SourceChange::Changed, price)]
        );
        assert_eq!(stale[1].cited.citation.quote, "The Team plan costs $79/month.");
        assert_eq!(stale[1].cited.agent, "support");
        assert_eq!(stale[1].cited.conversation, conv.id);
        assert!(throughline_core::stale_answers(&s, &s, "other").unwrap().is_empty());
    }

    #[test]
    fn an_edited_plan_catalogue_overrides_extraction_until_removed() {
        use throughline_core::{Plan, PlanPrice};
        let s = SqliteStore::open_in_memory().unwrap();
        let kb = s.ensure_kb("docs", "m", 3).unwrap();
        let src = s.ensure_source(kb.id, SourceKind::Folder, "/docs").unwrap();
        let d = doc(kb.id, src.id, "pricing.md", "v1");
        s.commit_batch(kb.id, BatchWrite { upserts: vec![(d.clone(), vec![chunk(&d, 0, "x")])], delete_docs: vec![] })
            .unwrap();
        let plan = |name: &str, amount: f64| Plan {
            name: name.into(),
            prices: vec![PlanPrice { amount, currency: "USD".into(), period: None }],
            limits: vec![],
            features: vec![],
            source_path: "pricing.md".into(),
        };
        s.replace_plans(kb.id, d.id, &[plan("Team", 79.0)]).unwrap();
        assert_eq!(s.plans(kb.id).unwrap()[0].prices[0].amount, 79.0);
        assert_eq!(s.plans_edited_at(kb.id).unwrap(), None);

        s.set_plan_edits(kb.id, Some(&[plan("Team", 99.0), plan("Scale", 299.0)])).unwrap();
        assert_eq!(s.plans(kb.id).unwrap().iter().map(|p| p.prices[0].amount).collect::<Vec<_>>(), vec![99.0, 299.0]);
        // Re-extraction does not touch the edit.
        s.replace_plans(kb.id, d.id, &[plan("Team", 89.0)]).unwrap();
        assert_eq!(s.plans(kb.id).unwrap()[0].prices[0].amount, 99.0);
        assert_eq!(s.extracted_plans(kb.id).unwrap()[0].prices[0].amount, 89.0);
        assert!(s.plans_edited_at(kb.id).unwrap().is_some());

        s.set_plan_edits(kb.id, None).unwrap();
        assert_eq!(s.plans(kb.id).unwrap()[0].prices[0].amount, 89.0);
    }
}
