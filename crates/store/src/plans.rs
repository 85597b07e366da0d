//! Pricing plans per document. A plan is stored as versioned JSON (the `plans` table of schema
//! version 2) beside its name so listing needs no join; deleting a document cascades to its plans.

use rusqlite::{params, Connection};
use throughline_core::{DocId, KbId, Plan};

use crate::sqlite::to_i64;
use crate::{StoreError, StoreResult};

pub(crate) fn replace_plans(conn: &mut Connection, kb: KbId, doc: DocId, plans: &[Plan]) -> StoreResult<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM plans WHERE doc_id = ?1", params![to_i64(doc.get())])?;
    {
        let mut put =
            tx.prepare_cached("INSERT INTO plans (kb_id, doc_id, ordinal, name, data) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (i, p) in plans.iter().enumerate() {
            let data = serde_json::to_string(p)
                .map_err(|e| StoreError::Corrupt { table: "plans", detail: format!("plan `{}`: {e}", p.name) })?;
            put.execute(params![to_i64(kb.get()), to_i64(doc.get()), i as i64, p.name, data])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn plans(conn: &Connection, kb: KbId) -> StoreResult<Vec<Plan>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.data FROM plans p JOIN documents d ON d.id = p.doc_id
         WHERE p.kb_id = ?1 ORDER BY d.path, p.ordinal",
    )?;
    let rows = stmt.query_map(params![to_i64(kb.get())], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for data in rows {
        let data = data?;
        out.push(
            serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt { table: "plans", detail: format!("{e}: {data}") })?,
        );
    }
    Ok(out)
}
