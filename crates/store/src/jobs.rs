//! [`JobStore`] for [`SqliteStore`]: background jobs and settings in the same database file.

use rusqlite::{params, OptionalExtension, Row};
use throughline_core::{CoreError, JobId, JobRecord, JobStatus, JobStore, RecoveredJob};

use crate::values::now;
use crate::{SqliteStore, StoreError, StoreResult};

const JOB_COLUMNS: &str = "id, kind, kb, spec, status, progress, error, attempts, created_at, started_at, finished_at";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<(JobRecord, String)> {
    Ok((
        JobRecord {
            id: JobId::from_raw(row.get::<_, i64>(0)? as u64),
            kind: row.get(1)?,
            kb: row.get(2)?,
            spec: row.get(3)?,
            status: JobStatus::Queued,
            progress: row.get(5)?,
            error: row.get(6)?,
            attempts: row.get::<_, i64>(7)? as u32,
            created_at: row.get(8)?,
            started_at: row.get(9)?,
            finished_at: row.get(10)?,
        },
        row.get(4)?,
    ))
}

fn finish_job_row((mut job, status): (JobRecord, String)) -> StoreResult<JobRecord> {
    job.status =
        status.parse().map_err(|_| StoreError::Corrupt { table: "jobs", detail: format!("status `{status}`") })?;
    Ok(job)
}

impl SqliteStore {
    fn job_inner(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        self.with_conn(|conn| {
            let row = conn
                .query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"), [id.get() as i64], job_from_row)
                .optional()?;
            row.map(finish_job_row).transpose()
        })
    }
}

impl JobStore for SqliteStore {
    fn create_job(&self, kind: &str, kb: &str, spec: &str) -> Result<JobRecord, CoreError> {
        let id = JobId::random();
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO jobs (id, ord, kind, kb, spec, status, created_at)
                 VALUES (?1, (SELECT COALESCE(MAX(ord), 0) + 1 FROM jobs), ?2, ?3, ?4, 'queued', ?5)",
                params![id.get() as i64, kind, kb, spec, now()],
            )?;
            Ok(())
        })?;
        self.job_inner(id)?.ok_or_else(|| {
            StoreError::Corrupt { table: "jobs", detail: format!("job {id} vanished right after its insert") }.into()
        })
    }

    fn job(&self, id: JobId) -> Result<Option<JobRecord>, CoreError> {
        Ok(self.job_inner(id)?)
    }

    fn jobs(&self, kb: Option<&str>, limit: usize) -> Result<Vec<JobRecord>, CoreError> {
        let rows = self.with_conn(|conn| {
            let sql =
                format!("SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR kb = ?1) ORDER BY ord DESC LIMIT ?2");
            let mut stmt = conn.prepare(&sql)?;
            let rows =
                stmt.query_map(params![kb, limit as i64], job_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(finish_job_row).collect::<StoreResult<Vec<_>>>()
        })?;
        Ok(rows)
    }

    fn claim_next_job(&self) -> Result<Option<JobRecord>, CoreError> {
        let claimed = self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE status = 'queued'
                       AND kb NOT IN (SELECT kb FROM jobs WHERE status = 'running')
                     ORDER BY ord LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = id {
                tx.execute(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?2 WHERE id = ?1",
                    params![id, now()],
                )?;
            }
            tx.commit()?;
            Ok(id)
        })?;
        match claimed {
            Some(id) => Ok(self.job_inner(JobId::from_raw(id as u64))?),
            None => Ok(None),
        }
    }

    fn save_job_progress(&self, id: JobId, progress: &str) -> Result<(), CoreError> {
        self.with_conn(|conn| {
            conn.execute("UPDATE jobs SET progress = ?2 WHERE id = ?1", params![id.get() as i64, progress])?;
            Ok(())
        })?;
        Ok(())
    }

    fn finish_job(&self, id: JobId, status: JobStatus, progress: &str, error: Option<&str>) -> Result<(), CoreError> {
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE jobs SET status = ?2, progress = ?3, error = ?4, finished_at = ?5 WHERE id = ?1",
                params![id.get() as i64, status.as_str(), progress, error, now()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    fn cancel_queued_job(&self, id: JobId) -> Result<bool, CoreError> {
        let changed = self.with_conn(|conn| {
            Ok(conn.execute(
                "UPDATE jobs SET status = 'cancelled', error = 'cancelled before it started', finished_at = ?2
                 WHERE id = ?1 AND status = 'queued'",
                params![id.get() as i64, now()],
            )?)
        })?;
        Ok(changed > 0)
    }

    fn recover_jobs(&self, max_attempts: u32) -> Result<Vec<RecoveredJob>, CoreError> {
        let recovered = self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let running: Vec<(i64, i64)> = {
                let mut stmt = tx.prepare("SELECT id, attempts FROM jobs WHERE status = 'running' ORDER BY ord")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
                rows
            };
            let mut out = Vec::new();
            for (id, attempts) in running {
                let requeued = (attempts as u32) < max_attempts;
                if requeued {
                    tx.execute("UPDATE jobs SET status = 'queued' WHERE id = ?1", [id])?;
                } else {
                    tx.execute(
                        "UPDATE jobs SET status = 'failed', finished_at = ?2,
                         error = 'interrupted by a server stop ' || attempts || ' times; not retried again' WHERE id = ?1",
                        params![id, now()],
                    )?;
                }
                out.push(RecoveredJob { id: JobId::from_raw(id as u64), requeued });
            }
            tx.commit()?;
            Ok(out)
        })?;
        Ok(recovered)
    }

    fn setting(&self, key: &str) -> Result<Option<String>, CoreError> {
        Ok(self.with_conn(|conn| {
            Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
        })?)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<(), CoreError> {
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_keeps_the_job_store_contract() {
        throughline_core::conformance::job_store(&SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn the_reason_of_a_job_out_of_attempts_counts_its_interruptions() {
        let store = SqliteStore::open_in_memory().unwrap();
        let job = store.create_job("ingest", "sample", "{}").unwrap();
        for _ in 0..2 {
            store.claim_next_job().unwrap();
            store.recover_jobs(2).unwrap();
        }
        let failed = store.job(job.id).unwrap().unwrap();
        assert!(failed.error.unwrap().contains("interrupted by a server stop 2 times"));
    }
}

mod access {
    //! [`AccessStore`] for [`SqliteStore`]: publications and visitor sessions.

    use rusqlite::{params, OptionalExtension, Row};
    use throughline_core::{AccessStore, CoreError, Publication, VisitorSession};

    use crate::values::now;
    use crate::{SqliteStore, StoreError};

    fn publication_from_row(row: &Row<'_>) -> rusqlite::Result<(Publication, String)> {
        Ok((
            Publication {
                agent: row.get(0)?,
                public_key: row.get(1)?,
                allowed_origins: Vec::new(),
                published: row.get::<_, i64>(3)? != 0,
                updated_at: row.get(4)?,
            },
            row.get(2)?,
        ))
    }

    fn finish((mut p, origins): (Publication, String)) -> Result<Publication, StoreError> {
        p.allowed_origins = serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt { table: "publications", detail: format!("allowed_origins: {e}") })?;
        Ok(p)
    }

    const COLUMNS: &str = "agent, public_key, allowed_origins, published, updated_at";

    impl SqliteStore {
        fn publication_where(&self, clause: &str, arg: &str) -> Result<Option<Publication>, StoreError> {
            self.with_conn(|conn| {
                let row = conn
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM publications WHERE {clause} = ?1"),
                        [arg],
                        publication_from_row,
                    )
                    .optional()?;
                row.map(finish).transpose()
            })
        }
    }

    impl AccessStore for SqliteStore {
        fn publication(&self, agent: &str) -> Result<Option<Publication>, CoreError> {
            Ok(self.publication_where("agent", agent)?)
        }

        fn publication_by_key(&self, public_key: &str) -> Result<Option<Publication>, CoreError> {
            Ok(self.publication_where("public_key", public_key)?)
        }

        fn save_publication(&self, p: &Publication) -> Result<(), CoreError> {
            let origins = serde_json::to_string(&p.allowed_origins).expect("strings serialise");
            self.with_conn(|conn| {
                conn.execute(
                    "INSERT INTO publications (agent, public_key, allowed_origins, published, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(agent) DO UPDATE SET public_key = excluded.public_key,
                       allowed_origins = excluded.allowed_origins, published = excluded.published,
                       updated_at = excluded.updated_at",
                    params![p.agent, p.public_key, origins, p.published as i64, now()],
                )?;
                Ok(())
            })?;
            Ok(())
        }

        fn create_session(&self, token_hash: &str, agent: &str, contact_key: &str) -> Result<(), CoreError> {
            self.with_conn(|conn| {
                conn.execute(
                    "INSERT INTO sessions (token_hash, agent, contact_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![token_hash, agent, contact_key, now()],
                )?;
                Ok(())
            })?;
            Ok(())
        }

        fn session(&self, token_hash: &str) -> Result<Option<VisitorSession>, CoreError> {
            Ok(self.with_conn(|conn| {
                Ok(conn
                    .query_row(
                        "SELECT agent, contact_key, created_at FROM sessions WHERE token_hash = ?1",
                        [token_hash],
                        |r| Ok(VisitorSession { agent: r.get(0)?, contact_key: r.get(1)?, created_at: r.get(2)? }),
                    )
                    .optional()?)
            })?)
        }

        fn delete_sessions(&self, agent: &str, contact_key: &str) -> Result<usize, CoreError> {
            Ok(self.with_conn(|conn| {
                Ok(conn.execute("DELETE FROM sessions WHERE agent = ?1 AND contact_key = ?2", [agent, contact_key])?)
            })?)
        }

        fn delete_publication(&self, agent: &str) -> Result<bool, CoreError> {
            Ok(self.with_conn(|conn| {
                let tx = conn.transaction()?;
                tx.execute("DELETE FROM sessions WHERE agent = ?1", [agent])?;
                let was = tx.query_row(
                    "SELECT COUNT(*) FROM publications WHERE agent = ?1 AND published = 1",
                    [agent],
                    |r| r.get::<_, i64>(0),
                )? > 0;
                tx.execute("DELETE FROM publications WHERE agent = ?1", [agent])?;
                tx.commit()?;
                Ok(was)
            })?)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn sqlite_keeps_the_access_store_contract() {
            throughline_core::conformance::access_store(&SqliteStore::open_in_memory().unwrap());
        }
    }
}
