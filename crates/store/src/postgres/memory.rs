//! [`MemoryStore`] for [`PgStore`]: agents (one row per saved version), contacts with their aliases,
//! facts, conversations, messages with their citations, events, leads and handoffs. Deleting a contact
//! cascades through foreign keys, as on SQLite.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use throughline_core::{
    AgentId, AgentRecord, ChunkId, CitedSource, CitingAnswer, ContactId, ContactRecord, ConversationId,
    ConversationRecord, CoreError, ErrorKind, EventRecord, Fact, HandoffId, HandoffRecord, HandoffStatus, LeadRecord,
    Lifecycle, MemoryStore, MessageRecord, NewMessage, Role,
};
use tokio_postgres::Row;

use super::{collect, exec, optional, PgStore};
use crate::values::{now, pairs_from_json, pairs_to_json, to_i64, validate_agent_name};
use crate::{StoreError, StoreResult};

const AGENT_COLUMNS: &str = "id, name, version, config, created_at";

fn agent_row(r: &Row) -> StoreResult<AgentRecord> {
    Ok(AgentRecord {
        id: AgentId::from_raw(r.try_get::<_, i64>(0)? as u64),
        name: r.try_get(1)?,
        version: r.try_get::<_, i64>(2)? as u32,
        config: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}

const CONTACT_COLUMNS: &str = "c.id, c.agent_id, c.key, c.lifecycle, c.summary, c.created_at";

fn contact_row(r: &Row) -> StoreResult<ContactRecord> {
    let lifecycle: String = r.try_get(3)?;
    Ok(ContactRecord {
        id: ContactId::from_raw(r.try_get::<_, i64>(0)? as u64),
        agent: AgentId::from_raw(r.try_get::<_, i64>(1)? as u64),
        key: r.try_get(2)?,
        lifecycle: Lifecycle::parse(&lifecycle)
            .ok_or_else(|| StoreError::Corrupt { table: "contacts", detail: format!("lifecycle `{lifecycle}`") })?,
        summary: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, contact_id, role, text, stage, idk, latency_ms, created_at";

fn message_row(r: &Row) -> StoreResult<MessageRecord> {
    let role: String = r.try_get(3)?;
    let stage: Option<String> = r.try_get(5)?;
    Ok(MessageRecord {
        id: r.try_get(0)?,
        conversation: ConversationId::from_raw(r.try_get::<_, i64>(1)? as u64),
        contact: ContactId::from_raw(r.try_get::<_, i64>(2)? as u64),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt { table: "messages", detail: format!("role `{role}`") })?,
        text: r.try_get(4)?,
        stage: match stage {
            Some(s) => {
                Some(s.parse().map_err(|_| StoreError::Corrupt { table: "messages", detail: format!("stage `{s}`") })?)
            }
            None => None,
        },
        idk: r.try_get::<_, i64>(6)? != 0,
        latency_ms: r.try_get::<_, Option<i64>>(7)?.map(|v| v as u32),
        citations: Vec::new(),
        created_at: r.try_get(8)?,
    })
}

const CITATION_COLUMNS: &str = "mc.number, mc.kb, mc.path, mc.title, mc.url, mc.chunk_id, mc.quote";

/// A citation read with [`CITATION_COLUMNS`] starting at column `at`.
fn citation_row(r: &Row, at: usize) -> StoreResult<CitedSource> {
    Ok(CitedSource {
        number: r.try_get::<_, i64>(at)? as usize,
        kb: r.try_get(at + 1)?,
        path: r.try_get(at + 2)?,
        title: r.try_get(at + 3)?,
        url: r.try_get(at + 4)?,
        chunk: r.try_get::<_, Option<i64>>(at + 5)?.map(|v| ChunkId::from_raw(v as u64)),
        quote: r.try_get(at + 6)?,
    })
}

fn conversation_row(r: &Row) -> StoreResult<ConversationRecord> {
    Ok(ConversationRecord {
        id: ConversationId::from_raw(r.try_get::<_, i64>(0)? as u64),
        agent: AgentId::from_raw(r.try_get::<_, i64>(1)? as u64),
        contact: ContactId::from_raw(r.try_get::<_, i64>(2)? as u64),
        agent_version: r.try_get::<_, i64>(3)? as u32,
        started_at: r.try_get(4)?,
    })
}

const HANDOFF_COLUMNS: &str = "id, agent_id, contact_id, conversation_id, reason, summary, transcript, facts, status, \
                               resolution, webhook, created_at";

fn handoff_row(r: &Row) -> StoreResult<HandoffRecord> {
    let facts: String = r.try_get(7)?;
    let status: String = r.try_get(8)?;
    Ok(HandoffRecord {
        id: HandoffId::from_raw(r.try_get::<_, i64>(0)? as u64),
        agent: AgentId::from_raw(r.try_get::<_, i64>(1)? as u64),
        contact: ContactId::from_raw(r.try_get::<_, i64>(2)? as u64),
        conversation: ConversationId::from_raw(r.try_get::<_, i64>(3)? as u64),
        reason: r.try_get(4)?,
        summary: r.try_get(5)?,
        transcript: r.try_get(6)?,
        facts: pairs_from_json("handoffs", &facts)?,
        status: match status.as_str() {
            "open" => HandoffStatus::Open,
            "resolved" => HandoffStatus::Resolved,
            other => return Err(StoreError::Corrupt { table: "handoffs", detail: format!("status `{other}`") }),
        },
        resolution: r.try_get(9)?,
        webhook: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

/// The messages whose `column` (`conversation_id` or `agent_id`) is `key`, oldest first, with citations.
async fn messages_where(
    client: &impl GenericClient,
    column: &'static str,
    key: i64,
) -> StoreResult<Vec<MessageRecord>> {
    let mut messages = collect(
        client,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE {column} = $1 ORDER BY id"),
        &[&key],
        message_row,
    )
    .await?;
    let cited = collect(
        client,
        &format!(
            "SELECT mc.message_id, {CITATION_COLUMNS} FROM message_citations mc JOIN messages m ON m.id = mc.message_id
             WHERE m.{column} = $1 ORDER BY mc.message_id, mc.number, mc.ord"
        ),
        &[&key],
        |r| Ok((r.try_get::<_, i64>(0)?, citation_row(r, 1)?)),
    )
    .await?;
    let mut by_message: HashMap<i64, Vec<CitedSource>> = HashMap::new();
    for (id, c) in cited {
        by_message.entry(id).or_default().push(c);
    }
    for m in &mut messages {
        if let Some(c) = by_message.remove(&m.id) {
            m.citations = c;
        }
    }
    Ok(messages)
}

impl PgStore {
    async fn contact_where(
        &self,
        clause: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Option<ContactRecord>> {
        optional(
            &self.conn().await?,
            &format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE {clause}"),
            params,
            contact_row,
        )
        .await
    }

    async fn add_message_async(&self, m: &NewMessage) -> Result<i64, CoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(StoreError::from)?;
        let conversation = to_i64(m.conversation.get());
        let (contact, agent): (i64, i64) = tx
            .query_opt("SELECT contact_id, agent_id FROM conversations WHERE id = $1", &[&conversation])
            .await
            .map_err(StoreError::from)?
            .map(|r| Ok::<_, StoreError>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?
            .ok_or_else(|| CoreError::new(ErrorKind::NotFound, format!("conversation {} not found", m.conversation)))?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO messages (conversation_id, contact_id, agent_id, role, text, stage, idk, latency_ms, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &conversation,
                    &contact,
                    &agent,
                    &m.role.as_str(),
                    &m.text,
                    &m.stage.map(|s| s.as_str()),
                    &(m.idk as i64),
                    &m.latency_ms.map(|v| v as i64),
                    &now(),
                ],
            )
            .await
            .map_err(StoreError::from)?
            .try_get(0)
            .map_err(StoreError::from)?;
        let put = tx
            .prepare_cached(
                "INSERT INTO message_citations (message_id, number, kb, path, title, url, chunk_id, quote)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await
            .map_err(StoreError::from)?;
        for c in &m.citations {
            tx.execute(
                &put,
                &[
                    &id,
                    &(c.number as i64),
                    &c.kb,
                    &c.path,
                    &c.title,
                    &c.url,
                    &c.chunk.map(|k| to_i64(k.get())),
                    &c.quote,
                ],
            )
            .await
            .map_err(StoreError::from)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    async fn merge_async(&self, agent: AgentId, from: ContactId, into: ContactId) -> Result<(), CoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(StoreError::from)?;
        let (f, i, a) = (to_i64(from.get()), to_i64(into.get()), to_i64(agent.get()));
        let owned: i64 = tx
            .query_one("SELECT COUNT(*) FROM contacts WHERE agent_id = $1 AND id IN ($2, $3)", &[&a, &f, &i])
            .await
            .map_err(StoreError::from)?
            .try_get(0)
            .map_err(StoreError::from)?;
        if owned != 2 {
            return Err(CoreError::new(
                ErrorKind::NotFound,
                format!("contacts {from} and {into}: both must exist and belong to agent {agent}"),
            ));
        }
        let steps = [
            // Facts `into` already has win; the others move.
            "UPDATE facts SET contact_id = $2 WHERE contact_id = $1
               AND key NOT IN (SELECT key FROM facts WHERE contact_id = $2)",
            "UPDATE conversations SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE messages SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE events SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE leads SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE handoffs SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE contact_aliases SET contact_id = $2 WHERE contact_id = $1",
        ];
        for sql in steps {
            tx.execute(sql, &[&f, &i]).await.map_err(StoreError::from)?;
        }
        tx.execute("DELETE FROM contacts WHERE id = $1", &[&f]).await.map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn answers_citing_async(&self, kb: &str, chunks: &[ChunkId]) -> StoreResult<Vec<CitingAnswer>> {
        let ids: Vec<i64> = chunks.iter().map(|c| to_i64(c.get())).collect();
        collect(
            &self.conn().await?,
            &format!(
                "SELECT mc.message_id, {CITATION_COLUMNS}, m.conversation_id, m.contact_id, m.text, m.created_at,
                        (SELECT a.name FROM agents a WHERE a.id = m.agent_id LIMIT 1)
                 FROM message_citations mc JOIN messages m ON m.id = mc.message_id
                 WHERE mc.kb = $1 AND mc.chunk_id = ANY($2)
                 ORDER BY mc.path, m.created_at, mc.message_id, mc.number, mc.ord"
            ),
            &[&kb, &ids],
            |r| {
                Ok(CitingAnswer {
                    message_id: r.try_get(0)?,
                    citation: citation_row(r, 1)?,
                    conversation: ConversationId::from_raw(r.try_get::<_, i64>(8)? as u64),
                    contact: ContactId::from_raw(r.try_get::<_, i64>(9)? as u64),
                    answer: r.try_get(10)?,
                    answered_at: r.try_get(11)?,
                    agent: r.try_get::<_, Option<String>>(12)?.unwrap_or_default(),
                })
            },
        )
        .await
    }
}

impl MemoryStore for PgStore {
    fn save_agent(&self, name: &str, config: &str) -> Result<AgentRecord, CoreError> {
        validate_agent_name(name)?;
        let id = to_i64(AgentId::from_name(name).get());
        Ok(self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            // Two replicas saving the same agent at once get consecutive versions.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&id]).await?;
            let saved = optional(
                &tx,
                &format!(
                    "INSERT INTO agents (id, name, version, config, created_at)
                     SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4 FROM agents WHERE id = $1
                     RETURNING {AGENT_COLUMNS}"
                ),
                &[&id, &name, &config, &now()],
                agent_row,
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                table: "agents",
                detail: format!("`{name}` vanished after insert"),
            })?;
            tx.commit().await?;
            Ok::<_, StoreError>(saved)
        })?)
    }

    fn agent(&self, name: &str, version: Option<u32>) -> Result<Option<AgentRecord>, CoreError> {
        let id = to_i64(AgentId::from_name(name).get());
        Ok(self.block(async {
            let conn = self.conn().await?;
            match version {
                Some(v) => {
                    optional(
                        &conn,
                        &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND version = $2"),
                        &[&id, &(v as i64)],
                        agent_row,
                    )
                    .await
                }
                None => {
                    optional(
                        &conn,
                        &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 ORDER BY version DESC LIMIT 1"),
                        &[&id],
                        agent_row,
                    )
                    .await
                }
            }
        })?)
    }

    fn agents(&self) -> Result<Vec<AgentRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT DISTINCT ON (name) id, name, version, config, created_at FROM agents ORDER BY name, version DESC",
                &[],
                agent_row,
            )
            .await
        })?)
    }

    fn delete_agent(&self, name: &str) -> Result<bool, CoreError> {
        let id = to_i64(AgentId::from_name(name).get());
        Ok(self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            tx.execute("DELETE FROM contacts WHERE agent_id = $1", &[&id]).await?;
            let n = tx.execute("DELETE FROM agents WHERE id = $1", &[&id]).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(n > 0)
        })?)
    }

    fn contact_by_key(&self, agent: AgentId, key: &str) -> Result<Option<ContactRecord>, CoreError> {
        Ok(self.block(self.contact_where(
            "c.id = (SELECT contact_id FROM contact_aliases WHERE agent_id = $1 AND alias = $2)",
            &[&to_i64(agent.get()), &key],
        ))?)
    }

    fn contact(&self, agent: AgentId, id: ContactId) -> Result<Option<ContactRecord>, CoreError> {
        Ok(self
            .block(self.contact_where("c.id = $1 AND c.agent_id = $2", &[&to_i64(id.get()), &to_i64(agent.get())]))?)
    }

    fn create_contact(&self, agent: AgentId, key: &str) -> Result<ContactRecord, CoreError> {
        let id = ContactId::derive(agent, key);
        let created_at = now();
        Ok(self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            tx.execute(
                "INSERT INTO contacts (id, agent_id, key, lifecycle, summary, created_at)
                 VALUES ($1, $2, $3, 'prospect', '', $4)",
                &[&to_i64(id.get()), &to_i64(agent.get()), &key, &created_at],
            )
            .await?;
            tx.execute(
                "INSERT INTO contact_aliases (agent_id, alias, contact_id) VALUES ($1, $2, $3)
                 ON CONFLICT (agent_id, alias) DO UPDATE SET contact_id = excluded.contact_id",
                &[&to_i64(agent.get()), &key, &to_i64(id.get())],
            )
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(ContactRecord {
                id,
                agent,
                key: key.to_string(),
                lifecycle: Lifecycle::Prospect,
                summary: String::new(),
                created_at,
            })
        })?)
    }

    fn update_contact(&self, contact: &ContactRecord) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "UPDATE contacts SET lifecycle = $1, summary = $2 WHERE id = $3 AND agent_id = $4",
                &[
                    &contact.lifecycle.as_str(),
                    &contact.summary,
                    &to_i64(contact.id.get()),
                    &to_i64(contact.agent.get()),
                ],
            )
            .await
            .map(drop)
        })?)
    }

    fn add_alias(&self, agent: AgentId, contact: ContactId, alias: &str) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO contact_aliases (agent_id, alias, contact_id) VALUES ($1, $2, $3)
                 ON CONFLICT (agent_id, alias) DO UPDATE SET contact_id = excluded.contact_id",
                &[&to_i64(agent.get()), &alias, &to_i64(contact.get())],
            )
            .await
            .map(drop)
        })?)
    }

    fn merge_contacts(&self, agent: AgentId, from: ContactId, into: ContactId) -> Result<(), CoreError> {
        if from == into {
            return Ok(());
        }
        self.block(self.merge_async(agent, from, into))
    }

    fn delete_contact(&self, agent: AgentId, contact: ContactId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            Ok::<_, StoreError>(
                exec(
                    &self.conn().await?,
                    "DELETE FROM contacts WHERE id = $1 AND agent_id = $2",
                    &[&to_i64(contact.get()), &to_i64(agent.get())],
                )
                .await?
                    > 0,
            )
        })?)
    }

    fn contacts(&self, agent: AgentId) -> Result<Vec<ContactRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.agent_id = $1 ORDER BY c.created_at, c.key"),
                &[&to_i64(agent.get())],
                contact_row,
            )
            .await
        })?)
    }

    fn put_fact(
        &self,
        contact: ContactId,
        key: &str,
        value: &str,
        source_message: Option<i64>,
    ) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO facts (contact_id, key, value, source_message, learned_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (contact_id, key) DO UPDATE SET value = excluded.value,
                    source_message = excluded.source_message, learned_at = excluded.learned_at",
                &[&to_i64(contact.get()), &key, &value, &source_message, &now()],
            )
            .await
            .map(drop)
        })?)
    }

    fn facts(&self, contact: ContactId) -> Result<Vec<Fact>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT key, value, source_message, learned_at FROM facts WHERE contact_id = $1 ORDER BY learned_at, key",
                &[&to_i64(contact.get())],
                |r| {
                    Ok(Fact {
                        key: r.try_get(0)?,
                        value: r.try_get(1)?,
                        source_message: r.try_get(2)?,
                        learned_at: r.try_get(3)?,
                    })
                },
            )
            .await
        })?)
    }

    fn start_conversation(
        &self,
        agent: AgentId,
        contact: ContactId,
        agent_version: u32,
    ) -> Result<ConversationRecord, CoreError> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        // The random part keeps ids distinct across replicas as the counter does within one process.
        let id = ConversationId::derive(contact, nanos, throughline_core::JobId::random().get());
        let started_at = now();
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO conversations (id, agent_id, contact_id, agent_version, started_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &to_i64(id.get()),
                    &to_i64(agent.get()),
                    &to_i64(contact.get()),
                    &(agent_version as i64),
                    &started_at,
                ],
            )
            .await?;
            Ok::<_, StoreError>(ConversationRecord { id, agent, contact, agent_version, started_at })
        })?)
    }

    fn conversation(&self, contact: ContactId, id: ConversationId) -> Result<Option<ConversationRecord>, CoreError> {
        Ok(self.block(async {
            optional(
                &self.conn().await?,
                "SELECT id, agent_id, contact_id, agent_version, started_at FROM conversations
                 WHERE id = $1 AND contact_id = $2",
                &[&to_i64(id.get()), &to_i64(contact.get())],
                conversation_row,
            )
            .await
        })?)
    }

    fn conversations(&self, contact: ContactId) -> Result<Vec<ConversationRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT id, agent_id, contact_id, agent_version, started_at FROM conversations
                 WHERE contact_id = $1 ORDER BY started_at, ord",
                &[&to_i64(contact.get())],
                conversation_row,
            )
            .await
        })?)
    }

    fn add_message(&self, message: &NewMessage) -> Result<i64, CoreError> {
        self.block(self.add_message_async(message))
    }

    fn messages(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, CoreError> {
        Ok(self.block(async {
            messages_where(&self.conn().await?, "conversation_id", to_i64(conversation.get())).await
        })?)
    }

    fn agent_messages(&self, agent: AgentId) -> Result<Vec<MessageRecord>, CoreError> {
        Ok(self.block(async { messages_where(&self.conn().await?, "agent_id", to_i64(agent.get())).await })?)
    }

    fn add_event(&self, contact: ContactId, name: &str, properties: &[(String, String)]) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO events (contact_id, name, properties, created_at) VALUES ($1, $2, $3, $4)",
                &[&to_i64(contact.get()), &name, &pairs_to_json(properties), &now()],
            )
            .await
            .map(drop)
        })?)
    }

    fn events(&self, contact: ContactId) -> Result<Vec<EventRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT name, properties, created_at FROM events WHERE contact_id = $1 ORDER BY id",
                &[&to_i64(contact.get())],
                |r| {
                    let props: String = r.try_get(1)?;
                    Ok(EventRecord {
                        name: r.try_get(0)?,
                        properties: pairs_from_json("events", &props)?,
                        created_at: r.try_get(2)?,
                    })
                },
            )
            .await
        })?)
    }

    fn save_lead(&self, lead: &LeadRecord) -> Result<(), CoreError> {
        let (agent, contact) = (to_i64(lead.agent.get()), to_i64(lead.contact.get()));
        let facts = pairs_to_json(&lead.facts);
        Ok(self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&contact]).await?;
            let updated = tx
                .execute(
                    "UPDATE leads SET facts = $3, webhook = $4, created_at = $5 WHERE agent_id = $1 AND contact_id = $2",
                    &[&agent, &contact, &facts, &lead.webhook, &lead.created_at],
                )
                .await?;
            if updated == 0 {
                tx.execute(
                    "INSERT INTO leads (agent_id, contact_id, facts, webhook, created_at) VALUES ($1, $2, $3, $4, $5)",
                    &[&agent, &contact, &facts, &lead.webhook, &lead.created_at],
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?)
    }

    fn leads(&self, agent: AgentId) -> Result<Vec<LeadRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT agent_id, contact_id, facts, webhook, created_at FROM leads WHERE agent_id = $1 ORDER BY id DESC",
                &[&to_i64(agent.get())],
                |r| {
                    let facts: String = r.try_get(2)?;
                    Ok(LeadRecord {
                        agent: AgentId::from_raw(r.try_get::<_, i64>(0)? as u64),
                        contact: ContactId::from_raw(r.try_get::<_, i64>(1)? as u64),
                        facts: pairs_from_json("leads", &facts)?,
                        webhook: r.try_get(3)?,
                        created_at: r.try_get(4)?,
                    })
                },
            )
            .await
        })?)
    }

    fn save_handoff(&self, h: &HandoffRecord) -> Result<(), CoreError> {
        let status = match h.status {
            HandoffStatus::Open => "open",
            HandoffStatus::Resolved => "resolved",
        };
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                &format!(
                    "INSERT INTO handoffs ({HANDOFF_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id, contact_id = excluded.contact_id,
                        conversation_id = excluded.conversation_id, reason = excluded.reason,
                        summary = excluded.summary, transcript = excluded.transcript, facts = excluded.facts,
                        status = excluded.status, resolution = excluded.resolution, webhook = excluded.webhook,
                        created_at = excluded.created_at"
                ),
                &[
                    &to_i64(h.id.get()),
                    &to_i64(h.agent.get()),
                    &to_i64(h.contact.get()),
                    &to_i64(h.conversation.get()),
                    &h.reason,
                    &h.summary,
                    &h.transcript,
                    &pairs_to_json(&h.facts),
                    &status,
                    &h.resolution,
                    &h.webhook,
                    &h.created_at,
                ],
            )
            .await
            .map(drop)
        })?)
    }

    fn handoff(&self, agent: AgentId, id: HandoffId) -> Result<Option<HandoffRecord>, CoreError> {
        Ok(self.block(async {
            optional(
                &self.conn().await?,
                &format!("SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE id = $1 AND agent_id = $2"),
                &[&to_i64(id.get()), &to_i64(agent.get())],
                handoff_row,
            )
            .await
        })?)
    }

    fn handoffs(&self, agent: AgentId) -> Result<Vec<HandoffRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                &format!(
                    "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE agent_id = $1 ORDER BY created_at DESC, ord DESC"
                ),
                &[&to_i64(agent.get())],
                handoff_row,
            )
            .await
        })?)
    }

    fn cited_chunks(&self, kb: &str) -> Result<Vec<ChunkId>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                "SELECT DISTINCT chunk_id FROM message_citations WHERE kb = $1 AND chunk_id IS NOT NULL",
                &[&kb],
                |r| Ok(ChunkId::from_raw(r.try_get::<_, i64>(0)? as u64)),
            )
            .await
        })?)
    }

    fn answers_citing(&self, kb: &str, chunks: &[ChunkId]) -> Result<Vec<CitingAnswer>, CoreError> {
        Ok(self.block(self.answers_citing_async(kb, chunks))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fresh;

    #[test]
    fn postgres_keeps_the_memory_store_contract() {
        let Some(store) = fresh("memory") else { return };
        throughline_core::conformance::memory_store(&store);
    }
}
