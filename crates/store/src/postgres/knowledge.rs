//! [`KnowledgeStore`] for [`PgStore`]: knowledge bases, sources, documents, chunks with their vectors,
//! crawl reports and pricing plans. A batch is one transaction that bumps the knowledge base's `seq` and
//! announces it on [`KB_CHANNEL`](super::KB_CHANNEL).

use deadpool_postgres::GenericClient;
use throughline_core::{
    BatchWrite, ChunkId, CoreError, CrawlRecord, CrawlStatus, DocId, DocumentMeta, KbId, KbInfo, KnowledgeStore, Plan,
    SourceId, SourceInfo, SourceKind, StoredChunk,
};
use tokio_postgres::Row;

use super::{collect, exec, optional, PgStore, KB_CHANNEL};
use crate::values::{decode_vector, encode_vector, now, to_i64, validate_name};
use crate::{StoreError, StoreResult};

const KB_COLUMNS: &str = "id, name, model_id, dim, seq, created_at,
    (SELECT COUNT(*) FROM documents d WHERE d.kb_id = kbs.id),
    (SELECT COUNT(*) FROM chunks c WHERE c.kb_id = kbs.id)";

fn kb_row(r: &Row) -> StoreResult<KbInfo> {
    Ok(KbInfo {
        id: KbId::from_raw(r.try_get::<_, i64>(0)? as u64),
        name: r.try_get(1)?,
        model_id: r.try_get(2)?,
        dim: r.try_get::<_, i64>(3)? as usize,
        seq: r.try_get::<_, i64>(4)? as u64,
        created_at: r.try_get(5)?,
        documents: r.try_get::<_, i64>(6)? as u64,
        chunks: r.try_get::<_, i64>(7)? as u64,
    })
}

const DOC_COLUMNS: &str = "d.id, d.source_id, d.path, d.url, d.title, d.description, d.page_type, d.content_hash, \
                           d.byte_size, d.chunk_count, d.updated_at";

fn doc_row(r: &Row) -> StoreResult<DocumentMeta> {
    let page_type: String = r.try_get(6)?;
    Ok(DocumentMeta {
        id: DocId::from_raw(r.try_get::<_, i64>(0)? as u64),
        source_id: SourceId::from_raw(r.try_get::<_, i64>(1)? as u64),
        path: r.try_get(2)?,
        url: r.try_get(3)?,
        title: r.try_get(4)?,
        description: r.try_get(5)?,
        page_type: page_type
            .parse()
            .map_err(|_| StoreError::Corrupt { table: "documents", detail: format!("page type `{page_type}`") })?,
        content_hash: r.try_get(7)?,
        byte_size: r.try_get::<_, i64>(8)? as u64,
        chunk_count: r.try_get::<_, i64>(9)? as u32,
        updated_at: r.try_get(10)?,
    })
}

fn plan_json(table: &'static str, data: &str) -> StoreResult<Plan> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt { table, detail: format!("{e}: {data}") })
}

async fn kb_where(
    client: &impl GenericClient,
    clause: &str,
    arg: &(dyn tokio_postgres::types::ToSql + Sync),
) -> StoreResult<Option<KbInfo>> {
    optional(client, &format!("SELECT {KB_COLUMNS} FROM kbs WHERE {clause}"), &[arg], kb_row).await
}

async fn extracted_plans(client: &impl GenericClient, kb: i64) -> StoreResult<Vec<Plan>> {
    collect(
        client,
        "SELECT p.data FROM plans p JOIN documents d ON d.id = p.doc_id WHERE p.kb_id = $1 ORDER BY d.path, p.ordinal",
        &[&kb],
        |r| plan_json("plans", &r.try_get::<_, String>(0)?),
    )
    .await
}

async fn plan_edits(client: &impl GenericClient, kb: i64) -> StoreResult<Option<(String, i64)>> {
    optional(client, "SELECT data, updated_at FROM plan_edits WHERE kb_id = $1", &[&kb], |r| {
        Ok((r.try_get(0)?, r.try_get(1)?))
    })
    .await
}

impl PgStore {
    async fn commit(&self, kb: KbId, batch: BatchWrite) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let kb_id = to_i64(kb.get());
        let name: String = tx
            .query_opt("SELECT name FROM kbs WHERE id = $1 FOR UPDATE", &[&kb_id])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt { table: "kbs", detail: format!("knowledge base {kb} not found") })?;
        let del_doc = tx.prepare_cached("DELETE FROM documents WHERE id = $1 AND kb_id = $2").await?;
        for d in &batch.delete_docs {
            tx.execute(&del_doc, &[&to_i64(d.get()), &kb_id]).await?;
        }
        let del_chunks = tx.prepare_cached("DELETE FROM chunks WHERE doc_id = $1").await?;
        let put_doc = tx
            .prepare_cached(
                "INSERT INTO documents (id, kb_id, source_id, path, url, title, description, page_type,
                    content_hash, byte_size, chunk_count, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (id) DO UPDATE SET source_id = excluded.source_id, path = excluded.path,
                    url = excluded.url, title = excluded.title, description = excluded.description,
                    page_type = excluded.page_type, content_hash = excluded.content_hash,
                    byte_size = excluded.byte_size, chunk_count = excluded.chunk_count,
                    updated_at = excluded.updated_at",
            )
            .await?;
        let put_chunk = tx
            .prepare_cached(
                "INSERT INTO chunks (id, kb_id, doc_id, ordinal, heading_path, text, token_count, vector)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET kb_id = excluded.kb_id, doc_id = excluded.doc_id,
                    ordinal = excluded.ordinal, heading_path = excluded.heading_path, text = excluded.text,
                    token_count = excluded.token_count, vector = excluded.vector",
            )
            .await?;
        for (doc, chunks) in &batch.upserts {
            let doc_id = to_i64(doc.id.get());
            tx.execute(&del_chunks, &[&doc_id]).await?;
            tx.execute(
                &put_doc,
                &[
                    &doc_id,
                    &kb_id,
                    &to_i64(doc.source_id.get()),
                    &doc.path,
                    &doc.url,
                    &doc.title,
                    &doc.description,
                    &doc.page_type.as_str(),
                    &doc.content_hash,
                    &(doc.byte_size as i64),
                    &(chunks.len() as i64),
                    &doc.updated_at,
                ],
            )
            .await?;
            for c in chunks {
                let heading = serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into());
                tx.execute(
                    &put_chunk,
                    &[
                        &to_i64(c.id.get()),
                        &kb_id,
                        &doc_id,
                        &(c.ordinal as i64),
                        &heading,
                        &c.text,
                        &(c.token_count as i64),
                        &encode_vector(&c.vector),
                    ],
                )
                .await?;
            }
        }
        let seq: i64 =
            tx.query_one("UPDATE kbs SET seq = seq + 1 WHERE id = $1 RETURNING seq", &[&kb_id]).await?.try_get(0)?;
        tx.execute("SELECT pg_notify($1, $2)", &[&KB_CHANNEL, &format!("{name} {seq}")]).await?;
        tx.commit().await?;
        Ok(seq as u64)
    }

    async fn chunks_with_docs_async(&self, kb: KbId, ids: &[ChunkId]) -> StoreResult<Vec<(DocumentMeta, StoredChunk)>> {
        let conn = self.conn().await?;
        let ids: Vec<i64> = ids.iter().map(|c| to_i64(c.get())).collect();
        let sql = format!(
            "SELECT {DOC_COLUMNS}, c.id, c.ordinal, c.heading_path, c.text, c.token_count, c.vector
             FROM unnest($1::bigint[]) WITH ORDINALITY AS wanted(id, pos)
             JOIN chunks c ON c.id = wanted.id JOIN documents d ON d.id = c.doc_id
             WHERE c.kb_id = $2 ORDER BY wanted.pos"
        );
        collect(&conn, &sql, &[&ids, &to_i64(kb.get())], |r| {
            let doc = doc_row(r)?;
            let heading: String = r.try_get(13)?;
            let heading_path: Vec<String> = serde_json::from_str(&heading)
                .map_err(|e| StoreError::Corrupt { table: "chunks", detail: format!("heading path: {e}") })?;
            let vector: Vec<u8> = r.try_get(16)?;
            let chunk = StoredChunk {
                id: ChunkId::from_raw(r.try_get::<_, i64>(11)? as u64),
                doc_id: doc.id,
                ordinal: r.try_get::<_, i64>(12)? as u32,
                heading_path,
                text: r.try_get(14)?,
                token_count: r.try_get::<_, i64>(15)? as u32,
                vector: decode_vector(&vector)?,
            };
            Ok((doc, chunk))
        })
        .await
    }

    async fn crawl_records_async(&self, kb: KbId, source: Option<SourceId>) -> StoreResult<Vec<CrawlRecord>> {
        let conn = self.conn().await?;
        collect(
            &conn,
            "SELECT p.source_id, p.url, p.status, p.reason, p.depth, p.doc_path, p.etag, p.last_modified, p.links,
                    p.checked_at
             FROM crawl_pages p JOIN sources s ON s.id = p.source_id
             WHERE s.kb_id = $1 AND ($2::bigint IS NULL OR p.source_id = $2)
             ORDER BY s.created_at, p.source_id, p.url",
            &[&to_i64(kb.get()), &source.map(|s| to_i64(s.get()))],
            |r| {
                let url: String = r.try_get(1)?;
                let status: String = r.try_get(2)?;
                let status: CrawlStatus =
                    status.parse().map_err(|detail: String| StoreError::Corrupt { table: "crawl_pages", detail })?;
                let links: String = r.try_get(8)?;
                let links: Vec<String> = serde_json::from_str(&links).map_err(|e| StoreError::Corrupt {
                    table: "crawl_pages",
                    detail: format!("links of {url}: {e}"),
                })?;
                Ok(CrawlRecord {
                    source_id: SourceId::from_raw(r.try_get::<_, i64>(0)? as u64),
                    url,
                    status,
                    reason: r.try_get(3)?,
                    depth: r.try_get::<_, i64>(4)? as u32,
                    doc_path: r.try_get(5)?,
                    etag: r.try_get(6)?,
                    last_modified: r.try_get(7)?,
                    links,
                    checked_at: r.try_get(9)?,
                })
            },
        )
        .await
    }

    async fn replace_crawl_records_async(&self, source: SourceId, records: &[CrawlRecord]) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let src = to_i64(source.get());
        tx.execute("DELETE FROM crawl_pages WHERE source_id = $1", &[&src]).await?;
        let put = tx
            .prepare_cached(
                "INSERT INTO crawl_pages (source_id, url, status, reason, depth, doc_path, etag, last_modified,
                    links, checked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (source_id, url) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                    depth = excluded.depth, doc_path = excluded.doc_path, etag = excluded.etag,
                    last_modified = excluded.last_modified, links = excluded.links, checked_at = excluded.checked_at",
            )
            .await?;
        for r in records {
            let links = serde_json::to_string(&r.links).unwrap_or_else(|_| "[]".into());
            tx.execute(
                &put,
                &[
                    &src,
                    &r.url,
                    &r.status.as_str(),
                    &r.reason,
                    &(r.depth as i64),
                    &r.doc_path,
                    &r.etag,
                    &r.last_modified,
                    &links,
                    &r.checked_at,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn replace_plans_async(&self, kb: KbId, doc: DocId, plans: &[Plan]) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let doc_id = to_i64(doc.get());
        tx.execute("DELETE FROM plans WHERE doc_id = $1", &[&doc_id]).await?;
        let put = tx
            .prepare_cached("INSERT INTO plans (kb_id, doc_id, ordinal, name, data) VALUES ($1, $2, $3, $4, $5)")
            .await?;
        for (i, p) in plans.iter().enumerate() {
            let data = serde_json::to_string(p)
                .map_err(|e| StoreError::Corrupt { table: "plans", detail: format!("plan `{}`: {e}", p.name) })?;
            tx.execute(&put, &[&to_i64(kb.get()), &doc_id, &(i as i64), &p.name, &data]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl KnowledgeStore for PgStore {
    fn ensure_kb(&self, name: &str, model_id: &str, dim: usize) -> Result<KbInfo, CoreError> {
        validate_name(name)?;
        Ok(self.block(async {
            let conn = self.conn().await?;
            let id = to_i64(KbId::from_name(name).get());
            exec(
                &conn,
                "INSERT INTO kbs (id, name, model_id, dim, seq, created_at) VALUES ($1, $2, $3, $4, 0, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &name, &model_id, &(dim as i64), &now()],
            )
            .await?;
            let kb = kb_where(&conn, "id = $1", &id).await?.ok_or_else(|| StoreError::Corrupt {
                table: "kbs",
                detail: format!("`{name}` vanished after insert"),
            })?;
            if kb.model_id != model_id || kb.dim != dim {
                return Err(StoreError::ModelMismatch {
                    kb: name.to_string(),
                    stored: kb.model_id,
                    stored_dim: kb.dim,
                    requested: model_id.to_string(),
                    requested_dim: dim,
                });
            }
            Ok(kb)
        })?)
    }

    fn kb(&self, name: &str) -> Result<Option<KbInfo>, CoreError> {
        Ok(self.block(async { kb_where(&self.conn().await?, "name = $1", &name).await })?)
    }

    fn list_kbs(&self) -> Result<Vec<KbInfo>, CoreError> {
        Ok(self.block(async {
            collect(&self.conn().await?, &format!("SELECT {KB_COLUMNS} FROM kbs ORDER BY name"), &[], kb_row).await
        })?)
    }

    fn delete_kb(&self, kb: KbId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            Ok::<_, StoreError>(
                exec(&self.conn().await?, "DELETE FROM kbs WHERE id = $1", &[&to_i64(kb.get())]).await? > 0,
            )
        })?)
    }

    fn ensure_source(&self, kb: KbId, kind: SourceKind, location: &str) -> Result<SourceInfo, CoreError> {
        let id = SourceId::derive(kb, location);
        Ok(self.block(async {
            let conn = self.conn().await?;
            exec(
                &conn,
                "INSERT INTO sources (id, kb_id, kind, location, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[&to_i64(id.get()), &to_i64(kb.get()), &kind.as_str(), &location, &now()],
            )
            .await?;
            let last = optional(&conn, "SELECT last_synced_at FROM sources WHERE id = $1", &[&to_i64(id.get())], |r| {
                Ok(r.try_get::<_, Option<i64>>(0)?)
            })
            .await?
            .flatten();
            Ok::<_, StoreError>(SourceInfo { id, kb, kind, location: location.to_string(), last_synced_at: last })
        })?)
    }

    fn sources(&self, kb: KbId) -> Result<Vec<SourceInfo>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT id, kind, location, last_synced_at FROM sources WHERE kb_id = $1 ORDER BY created_at, id",
                &[&to_i64(kb.get())],
                |r| {
                    let kind: String = r.try_get(1)?;
                    Ok(SourceInfo {
                        id: SourceId::from_raw(r.try_get::<_, i64>(0)? as u64),
                        kb,
                        kind: SourceKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                            table: "sources",
                            detail: format!("kind `{kind}`"),
                        })?,
                        location: r.try_get(2)?,
                        last_synced_at: r.try_get(3)?,
                    })
                },
            )
            .await
        })?)
    }

    fn delete_source(&self, source: SourceId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            Ok::<_, StoreError>(
                exec(&self.conn().await?, "DELETE FROM sources WHERE id = $1", &[&to_i64(source.get())]).await? > 0,
            )
        })?)
    }

    fn mark_source_synced(&self, source: SourceId) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "UPDATE sources SET last_synced_at = $1 WHERE id = $2",
                &[&now(), &to_i64(source.get())],
            )
            .await
            .map(drop)
        })?)
    }

    fn documents(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<DocumentMeta>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                &format!(
                    "SELECT {DOC_COLUMNS} FROM documents d
                     WHERE d.kb_id = $1 AND ($2::bigint IS NULL OR d.source_id = $2) ORDER BY d.path"
                ),
                &[&to_i64(kb.get()), &source.map(|s| to_i64(s.get()))],
                doc_row,
            )
            .await
        })?)
    }

    fn commit_batch(&self, kb: KbId, batch: BatchWrite) -> Result<u64, CoreError> {
        Ok(self.block(self.commit(kb, batch))?)
    }

    fn chunk_ids(&self, kb: KbId) -> Result<Vec<ChunkId>, CoreError> {
        Ok(self.block(async {
            collect(&self.conn().await?, "SELECT id FROM chunks WHERE kb_id = $1", &[&to_i64(kb.get())], |r| {
                Ok(ChunkId::from_raw(r.try_get::<_, i64>(0)? as u64))
            })
            .await
        })?)
    }

    fn page_versions(&self, kb: KbId, path: &str) -> Result<Vec<(i64, String)>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT d.updated_at, COALESCE(string_agg(c.text, ' ' ORDER BY c.ordinal), '')
                 FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id
                 WHERE d.kb_id = $1 AND d.path = $2 GROUP BY d.id, d.updated_at ORDER BY d.id",
                &[&to_i64(kb.get()), &path],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )
            .await
        })?)
    }

    fn chunks_with_docs(&self, kb: KbId, ids: &[ChunkId]) -> Result<Vec<(DocumentMeta, StoredChunk)>, CoreError> {
        Ok(self.block(self.chunks_with_docs_async(kb, ids))?)
    }

    fn crawl_records(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<CrawlRecord>, CoreError> {
        Ok(self.block(self.crawl_records_async(kb, source))?)
    }

    fn replace_crawl_records(&self, source: SourceId, records: &[CrawlRecord]) -> Result<(), CoreError> {
        Ok(self.block(self.replace_crawl_records_async(source, records))?)
    }

    fn replace_plans(&self, kb: KbId, doc: DocId, plans: &[Plan]) -> Result<(), CoreError> {
        Ok(self.block(self.replace_plans_async(kb, doc, plans))?)
    }

    fn plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError> {
        Ok(self.block(async {
            let conn = self.conn().await?;
            let kb = to_i64(kb.get());
            match plan_edits(&conn, kb).await? {
                Some((data, _)) => serde_json::from_str(&data)
                    .map_err(|e| StoreError::Corrupt { table: "plan_edits", detail: format!("{e}: {data}") }),
                None => extracted_plans(&conn, kb).await,
            }
        })?)
    }

    fn extracted_plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError> {
        Ok(self.block(async { extracted_plans(&self.conn().await?, to_i64(kb.get())).await })?)
    }

    fn set_plan_edits(&self, kb: KbId, plans: Option<&[Plan]>) -> Result<(), CoreError> {
        Ok(self.block(async {
            let conn = self.conn().await?;
            let kb = to_i64(kb.get());
            match plans {
                Some(plans) => {
                    let data = serde_json::to_string(plans)
                        .map_err(|e| StoreError::Corrupt { table: "plan_edits", detail: e.to_string() })?;
                    exec(
                        &conn,
                        "INSERT INTO plan_edits (kb_id, data, updated_at) VALUES ($1, $2, $3)
                         ON CONFLICT (kb_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                        &[&kb, &data, &now()],
                    )
                    .await?;
                }
                None => {
                    exec(&conn, "DELETE FROM plan_edits WHERE kb_id = $1", &[&kb]).await?;
                }
            }
            Ok::<_, StoreError>(())
        })?)
    }

    fn plans_edited_at(&self, kb: KbId) -> Result<Option<i64>, CoreError> {
        Ok(self.block(async { plan_edits(&self.conn().await?, to_i64(kb.get())).await })?.map(|(_, at)| at))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fresh;

    #[test]
    fn postgres_keeps_the_knowledge_store_contract() {
        let Some(store) = fresh("knowledge") else { return };
        throughline_core::conformance::knowledge_store(&store);
    }
}
