//! [`MemoryStore`] on SQLite: agents (one row per saved configuration version), contacts with their
//! aliases, facts, conversations, messages, events, leads and handoffs (schema version 2). Every query
//! is scoped by the contact or agent id it is given; contact deletion cascades through foreign keys.

use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;

use throughline_core::{
    AgentId, AgentRecord, ChunkId, CitedSource, CitingAnswer, ContactId, ContactRecord, ConversationId,
    ConversationRecord, CoreError, EventRecord, Fact, HandoffId, HandoffRecord, HandoffStatus, LeadRecord, Lifecycle,
    MemoryStore, MessageRecord, NewMessage, Role,
};

use crate::values::{now, pairs_from_json, pairs_to_json, to_i64, validate_agent_name};
use crate::{SqliteStore, StoreError, StoreResult};

fn agent_row(r: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: AgentId::from_raw(r.get::<_, i64>(0)? as u64),
        name: r.get(1)?,
        version: r.get::<_, i64>(2)? as u32,
        config: r.get(3)?,
        created_at: r.get(4)?,
    })
}

fn contact_row(r: &Row<'_>) -> rusqlite::Result<(ContactRecord, String)> {
    Ok((
        ContactRecord {
            id: ContactId::from_raw(r.get::<_, i64>(0)? as u64),
            agent: AgentId::from_raw(r.get::<_, i64>(1)? as u64),
            key: r.get(2)?,
            lifecycle: Lifecycle::Prospect,
            summary: r.get(4)?,
            created_at: r.get(5)?,
        },
        r.get(3)?,
    ))
}

fn finish_contact((mut c, lifecycle): (ContactRecord, String)) -> StoreResult<ContactRecord> {
    c.lifecycle = Lifecycle::parse(&lifecycle)
        .ok_or_else(|| StoreError::Corrupt { table: "contacts", detail: format!("lifecycle `{lifecycle}`") })?;
    Ok(c)
}

const CONTACT_COLS: &str = "c.id, c.agent_id, c.key, c.lifecycle, c.summary, c.created_at";
const MESSAGE_COLS: &str = "id, conversation_id, contact_id, role, text, stage, idk, latency_ms, created_at";

fn message_row(r: &Row<'_>) -> rusqlite::Result<(MessageRecord, String, Option<String>)> {
    Ok((
        MessageRecord {
            id: r.get(0)?,
            conversation: ConversationId::from_raw(r.get::<_, i64>(1)? as u64),
            contact: ContactId::from_raw(r.get::<_, i64>(2)? as u64),
            role: Role::User,
            text: r.get(4)?,
            stage: None,
            idk: r.get::<_, i64>(6)? != 0,
            latency_ms: r.get::<_, Option<i64>>(7)?.map(|v| v as u32),
            citations: Vec::new(),
            created_at: r.get(8)?,
        },
        r.get(3)?,
        r.get(5)?,
    ))
}

fn finish_message((mut m, role, stage): (MessageRecord, String, Option<String>)) -> StoreResult<MessageRecord> {
    m.role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt { table: "messages", detail: format!("role `{role}`") })?;
    m.stage = match stage {
        Some(s) => {
            Some(s.parse().map_err(|_| StoreError::Corrupt { table: "messages", detail: format!("stage `{s}`") })?)
        }
        None => None,
    };
    Ok(m)
}

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<ConversationRecord> {
    Ok(ConversationRecord {
        id: ConversationId::from_raw(r.get::<_, i64>(0)? as u64),
        agent: AgentId::from_raw(r.get::<_, i64>(1)? as u64),
        contact: ContactId::from_raw(r.get::<_, i64>(2)? as u64),
        agent_version: r.get::<_, i64>(3)? as u32,
        started_at: r.get(4)?,
    })
}

const HANDOFF_COLS: &str = "id, agent_id, contact_id, conversation_id, reason, summary, transcript, facts, status, \
                            resolution, webhook, created_at";

fn handoff_row(r: &Row<'_>) -> rusqlite::Result<(HandoffRecord, String, String)> {
    Ok((
        HandoffRecord {
            id: HandoffId::from_raw(r.get::<_, i64>(0)? as u64),
            agent: AgentId::from_raw(r.get::<_, i64>(1)? as u64),
            contact: ContactId::from_raw(r.get::<_, i64>(2)? as u64),
            conversation: ConversationId::from_raw(r.get::<_, i64>(3)? as u64),
            reason: r.get(4)?,
            summary: r.get(5)?,
            transcript: r.get(6)?,
            facts: Vec::new(),
            status: HandoffStatus::Open,
            resolution: r.get(9)?,
            webhook: r.get(10)?,
            created_at: r.get(11)?,
        },
        r.get(7)?,
        r.get(8)?,
    ))
}

fn finish_handoff((mut h, facts, status): (HandoffRecord, String, String)) -> StoreResult<HandoffRecord> {
    h.facts = pairs_from_json("handoffs", &facts)?;
    h.status = match status.as_str() {
        "open" => HandoffStatus::Open,
        "resolved" => HandoffStatus::Resolved,
        other => return Err(StoreError::Corrupt { table: "handoffs", detail: format!("status `{other}`") }),
    };
    Ok(h)
}

fn collect<T, U>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    finish: impl Fn(T) -> StoreResult<U>,
) -> StoreResult<Vec<U>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(finish(r?)?);
    }
    Ok(out)
}

impl SqliteStore {
    fn contact_where(&self, clause: &str, p: impl rusqlite::Params) -> StoreResult<Option<ContactRecord>> {
        let conn = self.lock();
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts c WHERE {clause}");
        let found = conn.query_row(&sql, p, contact_row).optional()?;
        found.map(finish_contact).transpose()
    }
}

const CITATION_COLS: &str = "mc.number, mc.kb, mc.path, mc.title, mc.url, mc.chunk_id, mc.quote";

/// A citation row read with [`CITATION_COLS`] starting at column `at`.
fn citation_row(r: &Row<'_>, at: usize) -> rusqlite::Result<CitedSource> {
    Ok(CitedSource {
        number: r.get::<_, i64>(at)? as usize,
        kb: r.get(at + 1)?,
        path: r.get(at + 2)?,
        title: r.get(at + 3)?,
        url: r.get(at + 4)?,
        chunk: r.get::<_, Option<i64>>(at + 5)?.map(|v| ChunkId::from_raw(v as u64)),
        quote: r.get(at + 6)?,
    })
}

/// The messages whose `column` (`conversation_id` or `agent_id`) is `key`, oldest first, each with its
/// citations.
fn messages_where(conn: &Connection, column: &'static str, key: i64) -> StoreResult<Vec<MessageRecord>> {
    let mut messages = collect(
        conn,
        &format!("SELECT {MESSAGE_COLS} FROM messages WHERE {column} = ?1 ORDER BY id"),
        params![key],
        message_row,
        finish_message,
    )?;
    let sql = format!(
        "SELECT mc.message_id, {CITATION_COLS} FROM message_citations mc JOIN messages m ON m.id = mc.message_id
         WHERE m.{column} = ?1 ORDER BY mc.message_id, mc.number, mc.rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![key], |r| Ok((r.get::<_, i64>(0)?, citation_row(r, 1)?)))?;
    let mut by_message: HashMap<i64, Vec<CitedSource>> = HashMap::new();
    for row in rows {
        let (id, c) = row?;
        by_message.entry(id).or_default().push(c);
    }
    for m in &mut messages {
        if let Some(c) = by_message.remove(&m.id) {
            m.citations = c;
        }
    }
    Ok(messages)
}

/// The distinct chunks of knowledge base `kb` that stored answers cite.
fn cited_chunks(conn: &Connection, kb: &str) -> StoreResult<Vec<ChunkId>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT chunk_id FROM message_citations WHERE kb = ?1 AND chunk_id IS NOT NULL")?;
    let rows = stmt.query_map(params![kb], |r| r.get::<_, i64>(0))?;
    Ok(rows.map(|r| r.map(|v| ChunkId::from_raw(v as u64))).collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Answers citing any of `chunks` of knowledge base `kb`, one record per citation, by page path then
/// answer time. The agent name comes from any version row of the agent.
fn answers_citing(conn: &Connection, kb: &str, chunks: &[ChunkId]) -> StoreResult<Vec<CitingAnswer>> {
    let sql = format!(
        "SELECT mc.message_id, {CITATION_COLS}, m.conversation_id, m.contact_id, m.text, m.created_at,
                (SELECT a.name FROM agents a WHERE a.id = m.agent_id LIMIT 1)
         FROM message_citations mc JOIN messages m ON m.id = mc.message_id
         WHERE mc.kb = ?1 AND mc.chunk_id IN (SELECT value FROM json_each(?2))
         ORDER BY mc.path, m.created_at, mc.message_id, mc.number, mc.rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::new();
    // A few thousand ids per statement keeps each JSON parameter small.
    for part in chunks.chunks(2_000) {
        let ids = format!("[{}]", part.iter().map(|c| (c.get() as i64).to_string()).collect::<Vec<_>>().join(","));
        let rows = stmt.query_map(params![kb, ids], |r| {
            Ok(CitingAnswer {
                message_id: r.get::<_, i64>(0)?,
                citation: citation_row(r, 1)?,
                conversation: ConversationId::from_raw(r.get::<_, i64>(8)? as u64),
                contact: ContactId::from_raw(r.get::<_, i64>(9)? as u64),
                answer: r.get(10)?,
                answered_at: r.get(11)?,
                agent: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
            })
        })?;
        out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    if chunks.len() > 2_000 {
        out.sort_by(|a, b| {
            (&a.citation.path, a.answered_at, a.message_id, a.citation.number).cmp(&(
                &b.citation.path,
                b.answered_at,
                b.message_id,
                b.citation.number,
            ))
        });
    }
    Ok(out)
}

impl MemoryStore for SqliteStore {
    fn save_agent(&self, name: &str, config: &str) -> Result<AgentRecord, CoreError> {
        validate_agent_name(name)?;
        let id = AgentId::from_name(name);
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let last: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM agents WHERE id = ?1", params![to_i64(id.get())], |r| r.get(0))
            .map_err(StoreError::from)?;
        let version = last.unwrap_or(0) + 1;
        let created_at = now();
        tx.execute(
            "INSERT INTO agents (id, name, version, config, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_i64(id.get()), name, version, config, created_at],
        )
        .map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(AgentRecord { id, name: name.to_string(), version: version as u32, config: config.to_string(), created_at })
    }

    fn agent(&self, name: &str, version: Option<u32>) -> Result<Option<AgentRecord>, CoreError> {
        let conn = self.lock();
        let id = to_i64(AgentId::from_name(name).get());
        let found = match version {
            Some(v) => conn.query_row(
                "SELECT id, name, version, config, created_at FROM agents WHERE id = ?1 AND version = ?2",
                params![id, v as i64],
                agent_row,
            ),
            None => conn.query_row(
                "SELECT id, name, version, config, created_at FROM agents WHERE id = ?1 ORDER BY version DESC LIMIT 1",
                params![id],
                agent_row,
            ),
        }
        .optional()
        .map_err(StoreError::from)?;
        Ok(found)
    }

    fn agents(&self) -> Result<Vec<AgentRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            "SELECT a.id, a.name, a.version, a.config, a.created_at FROM agents a
             WHERE a.version = (SELECT MAX(version) FROM agents b WHERE b.id = a.id) ORDER BY a.name",
            [],
            agent_row,
            Ok,
        )?)
    }

    fn delete_agent(&self, name: &str) -> Result<bool, CoreError> {
        let id = to_i64(AgentId::from_name(name).get());
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        // Foreign keys cascade from contacts to aliases, facts, conversations, messages (and their
        // citations), events, leads and handoffs.
        tx.execute("DELETE FROM contacts WHERE agent_id = ?1", params![id]).map_err(StoreError::from)?;
        let n = tx.execute("DELETE FROM agents WHERE id = ?1", params![id]).map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(n > 0)
    }

    fn contact_by_key(&self, agent: AgentId, key: &str) -> Result<Option<ContactRecord>, CoreError> {
        Ok(self.contact_where(
            "c.id = (SELECT contact_id FROM contact_aliases WHERE agent_id = ?1 AND alias = ?2)",
            params![to_i64(agent.get()), key],
        )?)
    }

    fn contact(&self, agent: AgentId, id: ContactId) -> Result<Option<ContactRecord>, CoreError> {
        Ok(self.contact_where("c.id = ?1 AND c.agent_id = ?2", params![to_i64(id.get()), to_i64(agent.get())])?)
    }

    fn create_contact(&self, agent: AgentId, key: &str) -> Result<ContactRecord, CoreError> {
        let id = ContactId::derive(agent, key);
        let created_at = now();
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        tx.execute(
            "INSERT INTO contacts (id, agent_id, key, lifecycle, summary, created_at) VALUES (?1, ?2, ?3, 'prospect', '', ?4)",
            params![to_i64(id.get()), to_i64(agent.get()), key, created_at],
        )
        .map_err(StoreError::from)?;
        tx.execute(
            "INSERT OR REPLACE INTO contact_aliases (agent_id, alias, contact_id) VALUES (?1, ?2, ?3)",
            params![to_i64(agent.get()), key, to_i64(id.get())],
        )
        .map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(ContactRecord {
            id,
            agent,
            key: key.to_string(),
            lifecycle: Lifecycle::Prospect,
            summary: String::new(),
            created_at,
        })
    }

    fn update_contact(&self, contact: &ContactRecord) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE contacts SET lifecycle = ?1, summary = ?2 WHERE id = ?3 AND agent_id = ?4",
            params![contact.lifecycle.as_str(), contact.summary, to_i64(contact.id.get()), to_i64(contact.agent.get())],
        )
        .map_err(StoreError::from)?;
        Ok(())
    }

    fn add_alias(&self, agent: AgentId, contact: ContactId, alias: &str) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR REPLACE INTO contact_aliases (agent_id, alias, contact_id) VALUES (?1, ?2, ?3)",
            params![to_i64(agent.get()), alias, to_i64(contact.get())],
        )
        .map_err(StoreError::from)?;
        Ok(())
    }

    fn merge_contacts(&self, agent: AgentId, from: ContactId, into: ContactId) -> Result<(), CoreError> {
        if from == into {
            return Ok(());
        }
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let (f, i, a) = (to_i64(from.get()), to_i64(into.get()), to_i64(agent.get()));
        let owned: i64 = tx
            .query_row("SELECT COUNT(*) FROM contacts WHERE agent_id = ?1 AND id IN (?2, ?3)", params![a, f, i], |r| {
                r.get(0)
            })
            .map_err(StoreError::from)?;
        if owned != 2 {
            return Err(CoreError::new(
                throughline_core::ErrorKind::NotFound,
                format!("contacts {from} and {into}: both must exist and belong to agent {agent}"),
            ));
        }
        let steps = [
            "UPDATE OR IGNORE facts SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE conversations SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE messages SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE events SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE leads SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE handoffs SET contact_id = ?2 WHERE contact_id = ?1",
            "UPDATE contact_aliases SET contact_id = ?2 WHERE contact_id = ?1",
        ];
        for sql in steps {
            tx.execute(sql, params![f, i]).map_err(StoreError::from)?;
        }
        tx.execute("DELETE FROM contacts WHERE id = ?1", params![f]).map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    fn delete_contact(&self, agent: AgentId, contact: ContactId) -> Result<bool, CoreError> {
        let conn = self.lock();
        // Foreign keys cascade to aliases, facts, conversations, messages, events, leads and handoffs.
        let n = conn
            .execute(
                "DELETE FROM contacts WHERE id = ?1 AND agent_id = ?2",
                params![to_i64(contact.get()), to_i64(agent.get())],
            )
            .map_err(StoreError::from)?;
        Ok(n > 0)
    }

    fn contacts(&self, agent: AgentId) -> Result<Vec<ContactRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            &format!("SELECT {CONTACT_COLS} FROM contacts c WHERE c.agent_id = ?1 ORDER BY c.created_at, c.key"),
            params![to_i64(agent.get())],
            contact_row,
            finish_contact,
        )?)
    }

    fn put_fact(
        &self,
        contact: ContactId,
        key: &str,
        value: &str,
        source_message: Option<i64>,
    ) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR REPLACE INTO facts (contact_id, key, value, source_message, learned_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_i64(contact.get()), key, value, source_message, now()],
        )
        .map_err(StoreError::from)?;
        Ok(())
    }

    fn facts(&self, contact: ContactId) -> Result<Vec<Fact>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            "SELECT key, value, source_message, learned_at FROM facts WHERE contact_id = ?1 ORDER BY learned_at, key",
            params![to_i64(contact.get())],
            |r| Ok(Fact { key: r.get(0)?, value: r.get(1)?, source_message: r.get(2)?, learned_at: r.get(3)? }),
            Ok,
        )?)
    }

    fn start_conversation(
        &self,
        agent: AgentId,
        contact: ContactId,
        agent_version: u32,
    ) -> Result<ConversationRecord, CoreError> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let id = ConversationId::derive(contact, nanos, COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let started_at = now();
        let conn = self.lock();
        conn.execute(
            "INSERT INTO conversations (id, agent_id, contact_id, agent_version, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_i64(id.get()), to_i64(agent.get()), to_i64(contact.get()), agent_version as i64, started_at],
        )
        .map_err(StoreError::from)?;
        Ok(ConversationRecord { id, agent, contact, agent_version, started_at })
    }

    fn conversation(&self, contact: ContactId, id: ConversationId) -> Result<Option<ConversationRecord>, CoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT id, agent_id, contact_id, agent_version, started_at FROM conversations
                 WHERE id = ?1 AND contact_id = ?2",
                params![to_i64(id.get()), to_i64(contact.get())],
                conversation_row,
            )
            .optional()
            .map_err(StoreError::from)?)
    }

    fn conversations(&self, contact: ContactId) -> Result<Vec<ConversationRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            "SELECT id, agent_id, contact_id, agent_version, started_at FROM conversations
             WHERE contact_id = ?1 ORDER BY started_at, rowid",
            params![to_i64(contact.get())],
            conversation_row,
            Ok,
        )?)
    }

    fn add_message(&self, m: &NewMessage) -> Result<i64, CoreError> {
        let mut guard = self.lock();
        let conn = guard.transaction().map_err(StoreError::from)?;
        let (contact, agent): (i64, i64) = conn
            .query_row(
                "SELECT contact_id, agent_id FROM conversations WHERE id = ?1",
                params![to_i64(m.conversation.get())],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::from)?
            .ok_or_else(|| {
                CoreError::new(
                    throughline_core::ErrorKind::NotFound,
                    format!("conversation {} not found", m.conversation),
                )
            })?;
        conn.execute(
            "INSERT INTO messages (conversation_id, contact_id, agent_id, role, text, stage, idk, latency_ms, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                to_i64(m.conversation.get()),
                contact,
                agent,
                m.role.as_str(),
                m.text,
                m.stage.map(|s| s.as_str()),
                m.idk as i64,
                m.latency_ms.map(|v| v as i64),
                now()
            ],
        )
        .map_err(StoreError::from)?;
        let id = conn.last_insert_rowid();
        {
            let mut put = conn
                .prepare_cached(
                    "INSERT INTO message_citations (message_id, number, kb, path, title, url, chunk_id, quote)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(StoreError::from)?;
            for c in &m.citations {
                put.execute(params![
                    id,
                    c.number as i64,
                    c.kb,
                    c.path,
                    c.title,
                    c.url,
                    c.chunk.map(|k| to_i64(k.get())),
                    c.quote
                ])
                .map_err(StoreError::from)?;
            }
        }
        conn.commit().map_err(StoreError::from)?;
        Ok(id)
    }

    fn messages(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, CoreError> {
        Ok(messages_where(&self.lock(), "conversation_id", to_i64(conversation.get()))?)
    }

    fn agent_messages(&self, agent: AgentId) -> Result<Vec<MessageRecord>, CoreError> {
        Ok(messages_where(&self.lock(), "agent_id", to_i64(agent.get()))?)
    }

    fn add_event(&self, contact: ContactId, name: &str, properties: &[(String, String)]) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO events (contact_id, name, properties, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![to_i64(contact.get()), name, pairs_to_json(properties), now()],
        )
        .map_err(StoreError::from)?;
        Ok(())
    }

    fn events(&self, contact: ContactId) -> Result<Vec<EventRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            "SELECT name, properties, created_at FROM events WHERE contact_id = ?1 ORDER BY id",
            params![to_i64(contact.get())],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
            |(name, props, created_at)| {
                Ok(EventRecord { name, properties: pairs_from_json("events", &props)?, created_at })
            },
        )?)
    }

    fn save_lead(&self, lead: &LeadRecord) -> Result<(), CoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let (agent, contact) = (to_i64(lead.agent.get()), to_i64(lead.contact.get()));
        let updated = tx
            .execute(
                "UPDATE leads SET facts = ?3, webhook = ?4, created_at = ?5 WHERE agent_id = ?1 AND contact_id = ?2",
                params![agent, contact, pairs_to_json(&lead.facts), lead.webhook, lead.created_at],
            )
            .map_err(StoreError::from)?;
        if updated == 0 {
            tx.execute(
                "INSERT INTO leads (agent_id, contact_id, facts, webhook, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![agent, contact, pairs_to_json(&lead.facts), lead.webhook, lead.created_at],
            )
            .map_err(StoreError::from)?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    fn leads(&self, agent: AgentId) -> Result<Vec<LeadRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            "SELECT agent_id, contact_id, facts, webhook, created_at FROM leads WHERE agent_id = ?1 ORDER BY id DESC",
            params![to_i64(agent.get())],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
            |(a, c, facts, webhook, created_at)| {
                Ok(LeadRecord {
                    agent: AgentId::from_raw(a as u64),
                    contact: ContactId::from_raw(c as u64),
                    facts: pairs_from_json("leads", &facts)?,
                    webhook,
                    created_at,
                })
            },
        )?)
    }

    fn save_handoff(&self, h: &HandoffRecord) -> Result<(), CoreError> {
        let conn = self.lock();
        conn.execute(
            &format!("INSERT OR REPLACE INTO handoffs ({HANDOFF_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                to_i64(h.id.get()),
                to_i64(h.agent.get()),
                to_i64(h.contact.get()),
                to_i64(h.conversation.get()),
                h.reason,
                h.summary,
                h.transcript,
                pairs_to_json(&h.facts),
                match h.status {
                    HandoffStatus::Open => "open",
                    HandoffStatus::Resolved => "resolved",
                },
                h.resolution,
                h.webhook,
                h.created_at
            ],
        )
        .map_err(StoreError::from)?;
        Ok(())
    }

    fn handoff(&self, agent: AgentId, id: HandoffId) -> Result<Option<HandoffRecord>, CoreError> {
        let conn = self.lock();
        let found = conn
            .query_row(
                &format!("SELECT {HANDOFF_COLS} FROM handoffs WHERE id = ?1 AND agent_id = ?2"),
                params![to_i64(id.get()), to_i64(agent.get())],
                handoff_row,
            )
            .optional()
            .map_err(StoreError::from)?;
        Ok(found.map(finish_handoff).transpose()?)
    }

    fn cited_chunks(&self, kb: &str) -> Result<Vec<ChunkId>, CoreError> {
        Ok(cited_chunks(&self.lock(), kb)?)
    }

    fn answers_citing(&self, kb: &str, chunks: &[ChunkId]) -> Result<Vec<CitingAnswer>, CoreError> {
        Ok(answers_citing(&self.lock(), kb, chunks)?)
    }

    fn handoffs(&self, agent: AgentId) -> Result<Vec<HandoffRecord>, CoreError> {
        let conn = self.lock();
        Ok(collect(
            &conn,
            &format!("SELECT {HANDOFF_COLS} FROM handoffs WHERE agent_id = ?1 ORDER BY created_at DESC, rowid DESC"),
            params![to_i64(agent.get())],
            handoff_row,
            finish_handoff,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_keeps_the_memory_store_contract() {
        throughline_core::conformance::memory_store(&SqliteStore::open_in_memory().unwrap());
    }
}
