//! Pricing plans per document. A plan is stored as versioned JSON (the `plans` table of schema
//! version 4) beside its name so listing needs no join; deleting a document cascades to its plans.
//! A hand-edited catalogue (`plan_edits`, schema version 5) replaces the extracted plans of its
//! knowledge base until it is removed; re-ingestion never touches it.

use rusqlite::{params, Connection, OptionalExtension};
use throughline_core::{DocId, KbId, Plan};

use crate::values::{now, to_i64};
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

pub(crate) fn extracted_plans(conn: &Connection, kb: KbId) -> StoreResult<Vec<Plan>> {
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

fn edited(conn: &Connection, kb: KbId) -> StoreResult<Option<(String, i64)>> {
    Ok(conn
        .query_row("SELECT data, updated_at FROM plan_edits WHERE kb_id = ?1", params![to_i64(kb.get())], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// The edited catalogue when there is one, else the extracted plans.
pub(crate) fn plans(conn: &Connection, kb: KbId) -> StoreResult<Vec<Plan>> {
    match edited(conn, kb)? {
        Some((data, _)) => serde_json::from_str(&data)
            .map_err(|e| StoreError::Corrupt { table: "plan_edits", detail: format!("{e}: {data}") }),
        None => extracted_plans(conn, kb),
    }
}

pub(crate) fn set_plan_edits(conn: &Connection, kb: KbId, plans: Option<&[Plan]>) -> StoreResult<()> {
    match plans {
        Some(plans) => {
            let data = serde_json::to_string(plans)
                .map_err(|e| StoreError::Corrupt { table: "plan_edits", detail: e.to_string() })?;
            conn.execute(
                "INSERT INTO plan_edits (kb_id, data, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kb_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                params![to_i64(kb.get()), data, now()],
            )?;
        }
        None => {
            conn.execute("DELETE FROM plan_edits WHERE kb_id = ?1", params![to_i64(kb.get())])?;
        }
    }
    Ok(())
}

pub(crate) fn plans_edited_at(conn: &Connection, kb: KbId) -> StoreResult<Option<i64>> {
    Ok(edited(conn, kb)?.map(|(_, at)| at))
}
