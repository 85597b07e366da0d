//! Moving an install from SQLite to PostgreSQL: every table copied row for row (vectors as stored, so
//! nothing is re-embedded) in one PostgreSQL transaction, into a database that holds nothing yet.
//! Both schemas have the same tables and columns; PostgreSQL's extra ordering columns fill in in the
//! order SQLite kept the rows.

use rusqlite::types::ValueRef;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::PgStore;
use crate::{SqliteStore, StoreError, StoreResult};

/// The tables in an order that satisfies the foreign keys.
const TABLES: &[&str] = &[
    "kbs",
    "sources",
    "documents",
    "chunks",
    "crawl_pages",
    "plans",
    "plan_edits",
    "settings",
    "jobs",
    "publications",
    "sessions",
    "agents",
    "contacts",
    "contact_aliases",
    "facts",
    "conversations",
    "messages",
    "message_citations",
    "events",
    "leads",
    "handoffs",
];

/// Identity columns whose sequences continue after the copied rows.
const IDENTITIES: &[(&str, &str)] = &[
    ("jobs", "ord"),
    ("conversations", "ord"),
    ("messages", "id"),
    ("message_citations", "ord"),
    ("events", "id"),
    ("leads", "id"),
    ("handoffs", "ord"),
];

/// Rows copied per table, in copy order.
pub type CopyReport = Vec<(&'static str, u64)>;

/// One SQLite value on its way to PostgreSQL.
#[derive(Debug)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        // The column types match by construction (see the migrations); each arm checks its own.
        <i64 as ToSql>::accepts(ty)
            || <f64 as ToSql>::accepts(ty)
            || <String as ToSql>::accepts(ty)
            || <Vec<u8> as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// The columns and rows of `table` in SQLite, in rowid order.
fn read_table(sqlite: &SqliteStore, table: &str) -> StoreResult<(Vec<String>, Vec<Vec<Value>>)> {
    sqlite.with_conn(|conn| {
        let columns: Vec<String> = {
            let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
            let names = stmt.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<Vec<_>>>()?;
            names
        };
        let list = columns.join(", ");
        let mut stmt = conn.prepare(&format!("SELECT {list} FROM {table} ORDER BY rowid"))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok((columns, out))
    })
}

impl PgStore {
    /// Copies everything `sqlite` holds into this database, which must be empty (no knowledge base,
    /// agent or job): one transaction, so a failure leaves it empty. `progress` hears each table's name
    /// and row count as it is copied.
    pub fn copy_from_sqlite(
        &self,
        sqlite: &SqliteStore,
        mut progress: impl FnMut(&str, u64),
    ) -> StoreResult<CopyReport> {
        if !self.is_empty()? {
            return Err(StoreError::NotEmpty { url: self.url.clone() });
        }
        self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            let mut report = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                let (columns, rows) = read_table(sqlite, table)?;
                let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                let insert = tx
                    .prepare(&format!(
                        "INSERT INTO {table} ({}) VALUES ({})",
                        columns.join(", "),
                        placeholders.join(", ")
                    ))
                    .await?;
                for row in &rows {
                    let params: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                    tx.execute(&insert, &params).await?;
                }
                progress(table, rows.len() as u64);
                report.push((*table, rows.len() as u64));
            }
            for (table, column) in IDENTITIES {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                       COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use throughline_core::conformance::{chunk, doc};
    use throughline_core::{
        AccessStore, BatchWrite, CitedSource, JobStore, KnowledgeStore, MemoryStore, NewMessage, Publication, Role,
        SourceKind,
    };

    use super::super::testing::fresh;
    use crate::SqliteStore;

    #[test]
    fn an_install_moves_to_postgres_whole_and_keeps_working() {
        let Some(pg) = fresh("copy") else { return };
        let s = SqliteStore::open_in_memory().unwrap();
        let kb = s.ensure_kb("docs", "m", 3).unwrap();
        let src = s.ensure_source(kb.id, SourceKind::Folder, "/docs").unwrap();
        let d = doc(kb.id, src.id, "pricing.md", "v1");
        let c = chunk(&d, 0, "The Team plan costs $79/month.");
        s.commit_batch(kb.id, BatchWrite { upserts: vec![(d.clone(), vec![c.clone()])], delete_docs: vec![] }).unwrap();
        let agent = s.save_agent("support", "kbs = [\"docs\"]").unwrap();
        s.save_agent("support", "kbs = [\"docs\"] # v2").unwrap();
        let contact = s.create_contact(agent.id, "visitor-1").unwrap();
        s.put_fact(contact.id, "email", "a@b.test", None).unwrap();
        let conv = s.start_conversation(agent.id, contact.id, 2).unwrap();
        let cited = CitedSource {
            number: 1,
            kb: "docs".into(),
            path: d.path.clone(),
            title: d.title.clone(),
            url: None,
            chunk: Some(c.id),
            quote: c.text.clone(),
        };
        s.add_message(&NewMessage {
            conversation: conv.id,
            role: Role::Assistant,
            text: "It costs $79/month. [1]".into(),
            stage: None,
            idk: false,
            latency_ms: Some(3),
            citations: vec![cited],
        })
        .unwrap();
        s.add_event(contact.id, "cap_reached", &[("metric".into(), "seats".into())]).unwrap();
        let job = s.create_job("ingest", "docs", "{}").unwrap();
        s.set_setting("admin_token_hash", "h").unwrap();
        s.save_publication(&Publication {
            agent: "support".into(),
            public_key: "pk_1".into(),
            allowed_origins: vec!["https://a.test".into()],
            published: true,
            updated_at: 1,
        })
        .unwrap();
        s.create_session("tok-hash", "support", "visitor-1").unwrap();

        let report = pg.copy_from_sqlite(&s, |_, _| {}).unwrap();
        let count = |t: &str| report.iter().find(|(n, _)| *n == t).map(|(_, n)| *n);
        assert_eq!((count("chunks"), count("agents"), count("messages")), (Some(1), Some(2), Some(1)));

        // Everything reads back the same through the traits, vectors bit for bit.
        let moved = pg.kb("docs").unwrap().unwrap();
        assert_eq!((moved.id, moved.seq, moved.chunks), (kb.id, 1, 1));
        let (_, back) = pg.chunks_with_docs(kb.id, &[c.id]).unwrap().remove(0);
        assert_eq!(back.vector, c.vector);
        assert_eq!(pg.agent("support", None).unwrap().unwrap().version, 2);
        assert_eq!(pg.contact_by_key(agent.id, "visitor-1").unwrap().unwrap().id, contact.id);
        assert_eq!(pg.facts(contact.id).unwrap()[0].value, "a@b.test");
        assert_eq!(pg.messages(conv.id).unwrap()[0].citations[0].chunk, Some(c.id));
        assert_eq!(pg.events(contact.id).unwrap()[0].name, "cap_reached");
        assert_eq!(pg.job(job.id).unwrap().unwrap().kb, "docs");
        assert_eq!(pg.setting("admin_token_hash").unwrap().as_deref(), Some("h"));
        assert_eq!(pg.publication_by_key("pk_1").unwrap().unwrap().allowed_origins, vec!["https://a.test"]);
        assert_eq!(pg.session("tok-hash").unwrap().unwrap().contact_key, "visitor-1");
        // New rows continue after the copied ones.
        let next = pg
            .add_message(&NewMessage {
                conversation: conv.id,
                role: Role::User,
                text: "thanks".into(),
                stage: None,
                idk: false,
                latency_ms: None,
                citations: vec![],
            })
            .unwrap();
        assert!(next > pg.messages(conv.id).unwrap()[0].id);
        assert!(pg.create_job("crawl", "docs", "{}").is_ok());
        assert_eq!(pg.jobs(None, 10).unwrap()[0].kind, "crawl", "newest first after the copied one");

        // A second copy into the same database is refused, naming it.
        let again = pg.copy_from_sqlite(&s, |_, _| {}).unwrap_err().to_string();
        assert!(again.contains("not empty"), "{again}");
    }
}
