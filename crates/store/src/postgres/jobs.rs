//! [`JobStore`] and [`AccessStore`] for [`PgStore`]: one job queue shared by every replica, settings,
//! publications and visitor sessions.
//!
//! A claim takes the oldest queued job of a knowledge base with no running job, with `FOR UPDATE SKIP
//! LOCKED`, under a transaction-scoped advisory lock so two replicas never start two jobs of one
//! knowledge base at once. The claiming replica holds a lease on the job that its heartbeats and
//! checkpoints renew; [`JobStore::take_over_jobs`] takes over only jobs whose lease ran out (their
//! replica stopped), and [`JobStore::recover_jobs`] at start also those this replica was running before
//! it stopped, so a replica starting beside a busy one leaves the other's jobs alone.

use throughline_core::{
    AccessStore, CoreError, JobId, JobRecord, JobStatus, JobStore, Publication, RecoveredJob, VisitorSession,
};
use tokio_postgres::Row;

use super::{collect, exec, optional, PgStore};
use crate::values::now;
use crate::{StoreError, StoreResult};

const JOB_COLUMNS: &str = "id, kind, kb, spec, status, progress, error, attempts, created_at, started_at, finished_at";

/// Names the advisory lock that serialises claims.
const CLAIM_LOCK: i64 = 0x7468_726f_7567_6802;

fn job_row(r: &Row) -> StoreResult<JobRecord> {
    let status: String = r.try_get(4)?;
    Ok(JobRecord {
        id: JobId::from_raw(r.try_get::<_, i64>(0)? as u64),
        kind: r.try_get(1)?,
        kb: r.try_get(2)?,
        spec: r.try_get(3)?,
        status: status
            .parse()
            .map_err(|_| StoreError::Corrupt { table: "jobs", detail: format!("status `{status}`") })?,
        progress: r.try_get(5)?,
        error: r.try_get(6)?,
        attempts: r.try_get::<_, i64>(7)? as u32,
        created_at: r.try_get(8)?,
        started_at: r.try_get(9)?,
        finished_at: r.try_get(10)?,
    })
}

/// The database's clock in seconds since the epoch, so replicas with skewed clocks agree on leases.
const DB_NOW: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)";

impl PgStore {
    fn lease_secs(&self) -> i64 {
        self.job_lease.as_secs() as i64
    }

    async fn job_async(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        optional(
            &self.conn().await?,
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&(id.get() as i64)],
            job_row,
        )
        .await
    }

    /// A new queued job, pinned to replica `pinned` when given.
    async fn insert_job(&self, kind: &str, kb: &str, spec: &str, pinned: Option<&str>) -> StoreResult<JobRecord> {
        let id = JobId::random();
        optional(
            &self.conn().await?,
            &format!(
                "INSERT INTO jobs (id, kind, kb, spec, status, created_at, pinned_to)
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6) RETURNING {JOB_COLUMNS}"
            ),
            &[&(id.get() as i64), &kind, &kb, &spec, &now(), &pinned],
            job_row,
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "jobs",
            detail: format!("job {id} vanished right after its insert"),
        })
    }

    async fn claim(&self) -> StoreResult<Option<JobRecord>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK]).await?;
        let claimed = optional(
            &tx,
            &format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $1,
                    lease_owner = $2, lease_until = {DB_NOW} + $3, cancel_requested = 0
                 WHERE id = (
                    SELECT id FROM jobs WHERE status = 'queued' AND (pinned_to IS NULL OR pinned_to = $2)
                      AND kb NOT IN (SELECT kb FROM jobs WHERE status = 'running')
                    ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING {JOB_COLUMNS}"
            ),
            &[&now(), &self.replica, &self.lease_secs()],
            job_row,
        )
        .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Queues again (or fails) the running jobs whose lease ran out, and with `mine` also those leased
    /// by this replica's earlier life (at start none of them runs).
    async fn recover(&self, max_attempts: u32, mine: bool) -> StoreResult<Vec<RecoveredJob>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK]).await?;
        let expired: Vec<(i64, i64)> = collect(
            &tx,
            &format!(
                "SELECT id, attempts FROM jobs WHERE status = 'running'
                   AND (COALESCE(lease_until, 0) < {DB_NOW} OR ($1 AND lease_owner = $2))
                 ORDER BY ord FOR UPDATE"
            ),
            &[&mine, &self.replica],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )
        .await?;
        let mut out = Vec::with_capacity(expired.len());
        for (id, attempts) in expired {
            let requeued = (attempts as u32) < max_attempts;
            if requeued {
                tx.execute(
                    "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL WHERE id = $1",
                    &[&id],
                )
                .await?;
            } else {
                tx.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = $2, lease_owner = NULL, lease_until = NULL,
                       error = 'interrupted by a server stop ' || attempts || ' times; not retried again'
                     WHERE id = $1",
                    &[&id, &now()],
                )
                .await?;
            }
            out.push(RecoveredJob { id: JobId::from_raw(id as u64), requeued });
        }
        tx.commit().await?;
        Ok(out)
    }
}

impl JobStore for PgStore {
    fn create_job(&self, kind: &str, kb: &str, spec: &str) -> Result<JobRecord, CoreError> {
        Ok(self.block(self.insert_job(kind, kb, spec, None))?)
    }

    fn create_job_here(&self, kind: &str, kb: &str, spec: &str) -> Result<JobRecord, CoreError> {
        Ok(self.block(self.insert_job(kind, kb, spec, Some(&self.replica)))?)
    }

    fn job(&self, id: JobId) -> Result<Option<JobRecord>, CoreError> {
        Ok(self.block(self.job_async(id))?)
    }

    fn jobs(&self, kb: Option<&str>, limit: usize) -> Result<Vec<JobRecord>, CoreError> {
        Ok(self.block(async {
            collect(
                &self.conn().await?,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1::text IS NULL OR kb = $1) ORDER BY ord DESC LIMIT $2"
                ),
                &[&kb, &(limit as i64)],
                job_row,
            )
            .await
        })?)
    }

    fn claim_next_job(&self) -> Result<Option<JobRecord>, CoreError> {
        Ok(self.block(self.claim())?)
    }

    fn save_job_progress(&self, id: JobId, progress: &str) -> Result<(), CoreError> {
        Ok(self.block(async {
            // A checkpoint renews the lease of the replica that runs the job.
            exec(
                &self.conn().await?,
                &format!("UPDATE jobs SET progress = $2, lease_until = {DB_NOW} + $3 WHERE id = $1"),
                &[&(id.get() as i64), &progress, &self.lease_secs()],
            )
            .await
            .map(drop)
        })?)
    }

    fn finish_job(&self, id: JobId, status: JobStatus, progress: &str, error: Option<&str>) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "UPDATE jobs SET status = $2, progress = $3, error = $4, finished_at = $5, lease_owner = NULL,
                    lease_until = NULL
                 WHERE id = $1",
                &[&(id.get() as i64), &status.as_str(), &progress, &error, &now()],
            )
            .await
            .map(drop)
        })?)
    }

    fn cancel_queued_job(&self, id: JobId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            Ok::<_, StoreError>(
                exec(
                    &self.conn().await?,
                    "UPDATE jobs SET status = 'cancelled', error = 'cancelled before it started', finished_at = $2
                 WHERE id = $1 AND status = 'queued'",
                    &[&(id.get() as i64), &now()],
                )
                .await?
                    > 0,
            )
        })?)
    }

    fn recover_jobs(&self, max_attempts: u32) -> Result<Vec<RecoveredJob>, CoreError> {
        Ok(self.block(self.recover(max_attempts, true))?)
    }

    fn take_over_jobs(&self, max_attempts: u32) -> Result<Vec<RecoveredJob>, CoreError> {
        Ok(self.block(self.recover(max_attempts, false))?)
    }

    fn heartbeat_job(&self, id: JobId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            let cancel = optional(
                &self.conn().await?,
                &format!(
                    "UPDATE jobs SET lease_until = {DB_NOW} + $2 WHERE id = $1 AND status = 'running'
                     RETURNING cancel_requested"
                ),
                &[&(id.get() as i64), &self.lease_secs()],
                |r| Ok(r.try_get::<_, i64>(0)? != 0),
            )
            .await?;
            Ok::<_, StoreError>(cancel.unwrap_or(false))
        })?)
    }

    fn request_job_cancel(&self, id: JobId) -> Result<bool, CoreError> {
        Ok(self.block(async {
            Ok::<_, StoreError>(
                exec(
                    &self.conn().await?,
                    "UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND status = 'running'",
                    &[&(id.get() as i64)],
                )
                .await?
                    > 0,
            )
        })?)
    }

    fn acquire_lease(&self, name: &str, ttl: std::time::Duration) -> Result<bool, CoreError> {
        Ok(self.block(async {
            let held = optional(
                &self.conn().await?,
                &format!(
                    "INSERT INTO leases (name, holder, until) VALUES ($1, $2, {DB_NOW} + $3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                     WHERE leases.holder = excluded.holder OR leases.until < {DB_NOW}
                     RETURNING holder"
                ),
                &[&name, &self.replica, &(ttl.as_secs() as i64)],
                |_| Ok(()),
            )
            .await?;
            Ok::<_, StoreError>(held.is_some())
        })?)
    }

    fn announce(&self, channel: &str, payload: &str) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(&self.conn().await?, "SELECT pg_notify($1, $2)", &[&channel, &payload]).await.map(drop)
        })?)
    }

    fn setting(&self, key: &str) -> Result<Option<String>, CoreError> {
        Ok(self.block(async {
            optional(&self.conn().await?, "SELECT value FROM settings WHERE key = $1", &[&key], |r| Ok(r.try_get(0)?))
                .await
        })?)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .await
            .map(drop)
        })?)
    }
}

const PUBLICATION_COLUMNS: &str = "agent, public_key, allowed_origins, published, updated_at";

fn publication_row(r: &Row) -> StoreResult<Publication> {
    let origins: String = r.try_get(2)?;
    Ok(Publication {
        agent: r.try_get(0)?,
        public_key: r.try_get(1)?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt { table: "publications", detail: format!("allowed_origins: {e}") })?,
        published: r.try_get::<_, i64>(3)? != 0,
        updated_at: r.try_get(4)?,
    })
}

impl PgStore {
    fn publication_where(&self, column: &str, value: &str) -> StoreResult<Option<Publication>> {
        self.block(async {
            optional(
                &self.conn().await?,
                &format!("SELECT {PUBLICATION_COLUMNS} FROM publications WHERE {column} = $1"),
                &[&value],
                publication_row,
            )
            .await
        })
    }
}

impl AccessStore for PgStore {
    fn publication(&self, agent: &str) -> Result<Option<Publication>, CoreError> {
        Ok(self.publication_where("agent", agent)?)
    }

    fn publication_by_key(&self, public_key: &str) -> Result<Option<Publication>, CoreError> {
        Ok(self.publication_where("public_key", public_key)?)
    }

    fn save_publication(&self, p: &Publication) -> Result<(), CoreError> {
        let origins = serde_json::to_string(&p.allowed_origins)
            .map_err(|e| StoreError::Corrupt { table: "publications", detail: e.to_string() })?;
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO publications (agent, public_key, allowed_origins, published, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (agent) DO UPDATE SET public_key = excluded.public_key,
                   allowed_origins = excluded.allowed_origins, published = excluded.published,
                   updated_at = excluded.updated_at",
                &[&p.agent, &p.public_key, &origins, &(p.published as i64), &now()],
            )
            .await
            .map(drop)
        })?)
    }

    fn create_session(&self, token_hash: &str, agent: &str, contact_key: &str) -> Result<(), CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "INSERT INTO sessions (token_hash, agent, contact_key, created_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &agent, &contact_key, &now()],
            )
            .await
            .map(drop)
        })?)
    }

    fn session(&self, token_hash: &str) -> Result<Option<VisitorSession>, CoreError> {
        Ok(self.block(async {
            optional(
                &self.conn().await?,
                "SELECT agent, contact_key, created_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
                |r| Ok(VisitorSession { agent: r.try_get(0)?, contact_key: r.try_get(1)?, created_at: r.try_get(2)? }),
            )
            .await
        })?)
    }

    fn delete_sessions(&self, agent: &str, contact_key: &str) -> Result<usize, CoreError> {
        Ok(self.block(async {
            exec(
                &self.conn().await?,
                "DELETE FROM sessions WHERE agent = $1 AND contact_key = $2",
                &[&agent, &contact_key],
            )
            .await
            .map(|n| n as usize)
        })?)
    }

    fn delete_publication(&self, agent: &str) -> Result<bool, CoreError> {
        Ok(self.block(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            tx.execute("DELETE FROM sessions WHERE agent = $1", &[&agent]).await?;
            let was = tx
                .query_opt("DELETE FROM publications WHERE agent = $1 RETURNING published", &[&agent])
                .await?
                .map(|r| r.try_get::<_, i64>(0))
                .transpose()?
                .is_some_and(|published| published != 0);
            tx.commit().await?;
            Ok::<_, StoreError>(was)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testing::fresh;
    use super::*;

    #[test]
    fn postgres_keeps_the_job_store_contract() {
        let Some(store) = fresh("jobs") else { return };
        throughline_core::conformance::job_store(&store);
    }

    #[test]
    fn postgres_keeps_the_access_store_contract() {
        let Some(store) = fresh("access") else { return };
        throughline_core::conformance::access_store(&store);
    }

    #[test]
    fn a_live_lease_is_left_alone_and_an_expired_one_is_taken_over() {
        let Some(url) = super::super::testing::fresh_url("leases") else { return };
        let store = PgStore::connect(&url).unwrap();
        let other = PgStore::connect(&url).unwrap();
        let job = store.create_job("ingest", "docs", "{}").unwrap();
        let claimed = store.claim_next_job().unwrap().unwrap();
        assert_eq!(claimed.id, job.id);
        // Another replica starting now sees a running job whose lease holds: not its business.
        assert!(other.recover_jobs(3).unwrap().is_empty(), "a live lease is not taken over");
        assert!(other.take_over_jobs(3).unwrap().is_empty(), "a live lease is not taken over");
        assert_eq!(store.job(job.id).unwrap().unwrap().status, JobStatus::Running);
        // The lease runs out (its replica stopped checkpointing): the job is queued again.
        store
            .block(async {
                exec(
                    &store.conn().await?,
                    "UPDATE jobs SET lease_until = $1 WHERE id = $2",
                    &[&(now() - 1), &(job.id.get() as i64)],
                )
                .await
            })
            .unwrap();
        assert_eq!(store.take_over_jobs(3).unwrap(), vec![RecoveredJob { id: job.id, requeued: true }]);
        assert_eq!(store.claim_next_job().unwrap().map(|j| j.attempts), Some(2), "resumed by the next claim");
    }

    #[test]
    fn a_pinned_job_runs_only_on_its_replica_even_after_a_take_over() {
        let Some(url) = super::super::testing::fresh_url("pinned") else { return };
        let a = PgStore::connect(&url).unwrap().with_replica("replica-a");
        let b = PgStore::connect(&url).unwrap().with_replica("replica-b");
        let upload = a.create_job_here("ingest", "docs", "{}").unwrap();
        assert!(b.claim_next_job().unwrap().is_none(), "another replica does not take a pinned job");
        assert_eq!(a.claim_next_job().unwrap().map(|j| j.id), Some(upload.id));
        // Replica a dies; b takes the job back from the expired lease, and still leaves it to a.
        b.block(async { exec(&b.conn().await?, "UPDATE jobs SET lease_until = 0", &[]).await }).unwrap();
        assert_eq!(b.take_over_jobs(3).unwrap().len(), 1);
        assert!(b.claim_next_job().unwrap().is_none());
        assert_eq!(a.claim_next_job().unwrap().map(|j| j.id), Some(upload.id), "a resumes it when back");
        // A restarted replica takes back what its earlier life left running, lease or not.
        let a_again = PgStore::connect(&url).unwrap().with_replica("replica-a");
        assert_eq!(a_again.recover_jobs(3).unwrap(), vec![RecoveredJob { id: upload.id, requeued: true }]);
    }

    #[test]
    fn a_cancel_reaching_any_replica_is_seen_by_the_running_one() {
        let Some(url) = super::super::testing::fresh_url("cancel") else { return };
        let (a, b) = (PgStore::connect(&url).unwrap(), PgStore::connect(&url).unwrap());
        let job = a.create_job("crawl", "docs", "{}").unwrap();
        assert!(!b.request_job_cancel(job.id).unwrap(), "a queued job is cancelled with cancel_queued_job");
        a.claim_next_job().unwrap().unwrap();
        assert!(!a.heartbeat_job(job.id).unwrap(), "no cancellation yet");
        assert!(b.request_job_cancel(job.id).unwrap(), "the other replica flags the running job");
        assert!(a.heartbeat_job(job.id).unwrap(), "the running replica sees it at its heartbeat");
    }

    #[test]
    fn one_replica_holds_a_lease_until_it_runs_out() {
        let Some(url) = super::super::testing::fresh_url("lease") else { return };
        let (a, b) = (PgStore::connect(&url).unwrap(), PgStore::connect(&url).unwrap());
        assert!(a.acquire_lease("resync", Duration::from_secs(60)).unwrap());
        assert!(!b.acquire_lease("resync", Duration::from_secs(60)).unwrap(), "held by the other replica");
        assert!(a.acquire_lease("resync", Duration::from_secs(60)).unwrap(), "the holder renews it");
        assert!(b.acquire_lease("other", Duration::from_secs(60)).unwrap(), "leases are per name");
        // The holder stops renewing and its lease runs out: the other replica takes it.
        a.block(async { exec(&a.conn().await?, "UPDATE leases SET until = 0 WHERE name = 'resync'", &[]).await })
            .unwrap();
        assert!(b.acquire_lease("resync", Duration::from_secs(60)).unwrap());
        assert!(!a.acquire_lease("resync", Duration::from_secs(60)).unwrap());
    }

    #[test]
    fn concurrent_claims_never_start_two_jobs_of_one_knowledge_base() {
        let Some(store) = fresh("claims") else { return };
        for i in 0..6 {
            store.create_job("ingest", if i % 2 == 0 { "a" } else { "b" }, "{}").unwrap();
        }
        let claimed: Vec<JobRecord> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6).map(|_| s.spawn(|| store.claim_next_job().unwrap())).collect();
            handles.into_iter().filter_map(|h| h.join().unwrap()).collect()
        });
        let mut kbs: Vec<&str> = claimed.iter().map(|j| j.kb.as_str()).collect();
        kbs.sort_unstable();
        assert_eq!(kbs, vec!["a", "b"], "one running job per knowledge base");
    }
}
