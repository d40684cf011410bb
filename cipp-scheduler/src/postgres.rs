//! The PostgreSQL store (feature `postgres`): several workers on one database. Claims take
//! a lease with `FOR UPDATE SKIP LOCKED`, so a task runs on one worker at a time and a
//! task whose worker died is taken again once its lease expires. Adding a task sends
//! `NOTIFY cipp_tasks`, which wakes the other workers' runners.
//!
//! A task over many tenants is split into per-tenant work items (`runs` and `work_items`
//! tables) that every worker claims, so one 5,000-tenant task spreads across all workers;
//! see [`Store::shares_fan_out`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{Mutex, Notify};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::store::{Store, WorkItem};
use crate::task::{Lease, Task, TaskState, TenantResult};
use crate::SchedulerError;

const MIGRATIONS: &[&str] = &[
    // 1: tasks and results.
    "CREATE TABLE IF NOT EXISTS tasks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unique_name BOOLEAN NOT NULL,
        hidden BOOLEAN NOT NULL,
        state TEXT NOT NULL,
        next_run TIMESTAMPTZ,
        lease_until TIMESTAMPTZ,
        data JSONB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tasks_due ON tasks (next_run);
    CREATE TABLE IF NOT EXISTS results (
        seq BIGSERIAL PRIMARY KEY,
        task_id TEXT NOT NULL,
        data JSONB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS results_task ON results (task_id);",
    // 2: per-tenant work items, so several workers share one large fan-out.
    "CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        remaining INT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS work_items (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        tenant TEXT NOT NULL,
        task_id TEXT NOT NULL,
        open BOOLEAN NOT NULL DEFAULT true,
        attempts INT NOT NULL DEFAULT 0,
        not_before TIMESTAMPTZ NOT NULL,
        lease_until TIMESTAMPTZ,
        worker TEXT,
        PRIMARY KEY (run_id, tenant)
    );
    CREATE INDEX IF NOT EXISTS work_items_open ON work_items (not_before) WHERE open;
    CREATE INDEX IF NOT EXISTS results_run ON results ((data->>'runId'));",
];

/// Derives a task's state from one run's results (never success when a tenant failed or
/// nothing ran; a recurring task waits as planned or failed-recurring), as the engine does.
const SET_STATE_FROM_RUN: &str = "
    WITH r AS (
        SELECT count(*) AS n,
               count(*) FILTER (WHERE data->'outcome'->>'status' IN ('succeeded', 'noChange')) AS ok
        FROM results WHERE task_id = $1 AND data->>'runId' = $2),
    s AS (
        SELECT CASE WHEN r.n = 0 OR r.ok = 0 THEN 'failed'
                    WHEN r.ok = r.n THEN 'completed'
                    ELSE 'completedWithErrors' END AS st FROM r),
    x AS (
        SELECT CASE WHEN t.next_run IS NOT NULL AND s.st = 'completed' THEN 'planned'
                    WHEN t.next_run IS NOT NULL AND s.st = 'failed' THEN 'failedRecurring'
                    ELSE s.st END AS st
        FROM s, tasks t WHERE t.id = $1)
    UPDATE tasks SET state = to_jsonb(x.st)::text, data = jsonb_set(data, '{state}', to_jsonb(x.st))
    FROM x WHERE tasks.id = $1";

fn pg(e: tokio_postgres::Error) -> SchedulerError {
    // The server's message and SQLSTATE code, which `Display` of a database error omits.
    match e.as_db_error() {
        Some(db) => SchedulerError::Store(format!(
            "postgres: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        )),
        None => SchedulerError::Store(format!("postgres: {e}")),
    }
}

fn json_err(e: serde_json::Error) -> SchedulerError {
    SchedulerError::Store(format!("stored data is not valid: {e}"))
}

/// Tasks in PostgreSQL.
pub struct PgStore {
    client: Mutex<Client>,
    changes: Arc<Notify>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn claimable(t: &Task, now: DateTime<Utc>) -> bool {
    let expired = t.lease.as_ref().is_some_and(|l| l.until <= now);
    let free = t.lease.is_none() || expired;
    free && (t.state.is_planned()
        || (expired && matches!(t.state, TaskState::Pending | TaskState::Running)))
}

impl PgStore {
    /// Connects (for example `host=127.0.0.1 user=postgres dbname=test`), uses `schema`
    /// (created when missing) and applies pending migrations.
    pub async fn connect(config: &str, schema: &str) -> Result<Self, SchedulerError> {
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(SchedulerError::Invalid(format!(
                "`{schema}` is not a schema name (letters, digits, _)"
            )));
        }
        let (client, mut connection) = tokio_postgres::connect(config, NoTls).await.map_err(pg)?;
        let changes = Arc::new(Notify::new());
        let wake = changes.clone();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(m) = messages.next().await {
                match m {
                    Ok(AsyncMessage::Notification(_)) => wake.notify_waiters(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "postgres connection ended");
                        break;
                    }
                }
            }
        });
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}; LISTEN cipp_tasks;"))
            .await
            .map_err(pg)?;
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS cipp_schema_version (version INT NOT NULL)")
            .await
            .map_err(pg)?;
        // Serialise migrations across workers with an advisory lock.
        client
            .batch_execute("SELECT pg_advisory_lock(72741)")
            .await
            .map_err(pg)?;
        let version: i32 = client
            .query_opt("SELECT version FROM cipp_schema_version", &[])
            .await
            .map_err(pg)?
            .map_or(0, |r| r.get(0));
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            client.batch_execute(m).await.map_err(pg)?;
            client
                .batch_execute("DELETE FROM cipp_schema_version")
                .await
                .map_err(pg)?;
            client
                .execute(
                    "INSERT INTO cipp_schema_version (version) VALUES ($1)",
                    &[&((i + 1) as i32)],
                )
                .await
                .map_err(pg)?;
        }
        client
            .batch_execute("SELECT pg_advisory_unlock(72741)")
            .await
            .map_err(pg)?;
        Ok(PgStore {
            client: Mutex::new(client),
            changes,
        })
    }
}

async fn write(c: &impl tokio_postgres::GenericClient, t: &Task) -> Result<(), SchedulerError> {
    let data = serde_json::to_value(t).map_err(json_err)?;
    let state = serde_json::to_string(&t.state).map_err(json_err)?;
    c.execute(
        "INSERT INTO tasks (id, name, unique_name, hidden, state, next_run, lease_until, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET name = $2, unique_name = $3, hidden = $4, state = $5,
           next_run = $6, lease_until = $7, data = $8",
        &[
            &t.id,
            &t.spec.name,
            &t.spec.unique_name,
            &t.spec.hidden,
            &state,
            &t.next_run,
            &t.lease.as_ref().map(|l| l.until),
            &data,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

fn tasks(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Task>, SchedulerError> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r.get::<_, serde_json::Value>(0)).map_err(json_err))
        .collect()
}

#[async_trait]
impl Store for PgStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        if task.spec.unique_name {
            tx.batch_execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
                .await
                .map_err(pg)?;
            let n: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM tasks WHERE lower(name) = lower($1)",
                    &[&task.spec.name],
                )
                .await
                .map_err(pg)?
                .get(0);
            if n > 0 {
                return Err(SchedulerError::Invalid(format!(
                    "a task named `{}` already exists",
                    task.spec.name
                )));
            }
        }
        write(&tx, task).await?;
        tx.batch_execute("NOTIFY cipp_tasks").await.map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        let c = self.client.lock().await;
        Ok(tasks(
            c.query("SELECT data FROM tasks WHERE id = $1", &[&id])
                .await
                .map_err(pg)?,
        )?
        .pop())
    }
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError> {
        let c = self.client.lock().await;
        let sql = if include_hidden {
            "SELECT data FROM tasks ORDER BY id"
        } else {
            "SELECT data FROM tasks WHERE NOT hidden ORDER BY id"
        };
        tasks(c.query(sql, &[]).await.map_err(pg)?)
    }
    async fn update(&self, task: &Task) -> Result<(), SchedulerError> {
        let c = self.client.lock().await;
        write(&*c, task).await
    }
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        let c = self.client.lock().await;
        c.execute("DELETE FROM tasks WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        c.execute("DELETE FROM results WHERE task_id = $1", &[&id])
            .await
            .map_err(pg)?;
        c.execute("DELETE FROM runs WHERE task_id = $1", &[&id])
            .await
            .map_err(pg)?;
        Ok(())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Vec<Task>, SchedulerError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        let rows = tx
            .query(
                "SELECT data FROM tasks WHERE next_run IS NOT NULL AND next_run <= $1
                 AND (lease_until IS NULL OR lease_until <= $1) FOR UPDATE SKIP LOCKED",
                &[&now],
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::new();
        for mut t in tasks(rows)?.into_iter().filter(|t| claimable(t, now)) {
            t.lease = Some(lease.clone());
            t.state = TaskState::Pending;
            write(&tx, &t).await?;
            out.push(t);
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        let Some(mut t) = tasks(
            tx.query(
                "SELECT data FROM tasks WHERE id = $1 FOR UPDATE SKIP LOCKED",
                &[&id],
            )
            .await
            .map_err(pg)?,
        )?
        .pop() else {
            return Ok(None);
        };
        if t.lease.as_ref().is_some_and(|l| l.until > now) {
            return Ok(None);
        }
        t.lease = Some(lease.clone());
        t.state = TaskState::Pending;
        write(&tx, &t).await?;
        tx.commit().await.map_err(pg)?;
        Ok(Some(t))
    }
    async fn save_results(
        &self,
        task_id: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        for r in results {
            let v = serde_json::to_value(r).map_err(json_err)?;
            tx.execute(
                "INSERT INTO results (task_id, data) VALUES ($1, $2)",
                &[&task_id, &v],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        let c = self.client.lock().await;
        c.query(
            "SELECT data FROM results WHERE task_id = $1 ORDER BY seq",
            &[&task_id],
        )
        .await
        .map_err(pg)?
        .into_iter()
        .map(|r| serde_json::from_value(r.get::<_, serde_json::Value>(0)).map_err(json_err))
        .collect()
    }
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        let c = self.client.lock().await;
        let row = c
            .query_one(
                "SELECT LEAST(
                   (SELECT min(next_run) FROM tasks WHERE state IN
                      ('\"planned\"', '\"failedRecurring\"', '\"completedWithErrors\"')),
                   (SELECT min(GREATEST(not_before, COALESCE(lease_until, not_before)))
                      FROM work_items WHERE open))",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(row.get::<_, Option<DateTime<Utc>>>(0))
    }
    fn changes(&self) -> Option<Arc<Notify>> {
        Some(self.changes.clone())
    }
    fn shares_fan_out(&self) -> bool {
        true
    }
    async fn enqueue_run(
        &self,
        task: &Task,
        run_id: &str,
        tenants: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute(
            "INSERT INTO runs (run_id, task_id, started_at, remaining) VALUES ($1, $2, $3, 0)",
            &[&run_id, &task.id, &now],
        )
        .await
        .map_err(pg)?;
        // One statement for every tenant: an array parameter unnested server-side.
        let tenants: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let added = tx
            .execute(
                "INSERT INTO work_items (run_id, tenant, task_id, not_before)
                 SELECT $1, t, $2, $3 FROM unnest($4::text[]) AS t ON CONFLICT DO NOTHING",
                &[&run_id, &task.id, &now, &tenants],
            )
            .await
            .map_err(pg)?;
        tx.execute(
            "UPDATE runs SET remaining = $2 WHERE run_id = $1",
            &[&run_id, &i32::try_from(added).unwrap_or(i32::MAX)],
        )
        .await
        .map_err(pg)?;
        write(&tx, task).await?;
        tx.batch_execute("NOTIFY cipp_tasks").await.map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<WorkItem>, SchedulerError> {
        let c = self.client.lock().await;
        let max = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
        let rows = c
            .query(
                "UPDATE work_items SET lease_until = $2, worker = $3
                 WHERE (run_id, tenant) IN (
                   SELECT run_id, tenant FROM work_items
                   WHERE open AND not_before <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                   ORDER BY not_before, run_id, tenant
                   LIMIT $4 FOR UPDATE SKIP LOCKED)
                 RETURNING task_id, run_id, tenant, attempts",
                &[&now, &lease.until, &lease.worker, &max],
            )
            .await
            .map_err(pg)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                WorkItem::new(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
                )
            })
            .collect())
    }
    async fn release_item(
        &self,
        item: &WorkItem,
        not_before: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let c = self.client.lock().await;
        c.execute(
            "UPDATE work_items SET lease_until = NULL, worker = NULL, not_before = $3,
               attempts = attempts + 1
             WHERE run_id = $1 AND tenant = $2 AND open",
            &[&item.run_id, &item.tenant, &not_before],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }
    async fn finish_items(
        &self,
        done: &[(WorkItem, TenantResult)],
    ) -> Result<Vec<String>, SchedulerError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let run_ids: Vec<&str> = done.iter().map(|(i, _)| i.run_id.as_str()).collect();
        let tenants: Vec<&str> = done.iter().map(|(i, _)| i.tenant.as_str()).collect();
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(pg)?;
        let closed: std::collections::HashSet<(String, String)> = tx
            .query(
                "UPDATE work_items w SET open = false, lease_until = NULL
                 FROM unnest($1::text[], $2::text[]) AS d(run_id, tenant)
                 WHERE w.run_id = d.run_id AND w.tenant = d.tenant AND w.open
                 RETURNING w.run_id, w.tenant",
                &[&run_ids, &tenants],
            )
            .await
            .map_err(pg)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut task_ids = Vec::new();
        let mut data = Vec::new();
        for (item, result) in done {
            // Closed by another worker after this worker's lease expired: its result stands.
            if closed.contains(&(item.run_id.clone(), item.tenant.clone())) {
                task_ids.push(item.task_id.as_str());
                data.push(serde_json::to_value(result).map_err(json_err)?);
            }
        }
        if !data.is_empty() {
            tx.execute(
                "INSERT INTO results (task_id, data)
                 SELECT t, d FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS r(t, d, n)
                 ORDER BY n",
                &[&task_ids, &data],
            )
            .await
            .map_err(pg)?;
        }
        // Count down each run's open items. The row lock is taken last and held only
        // until commit; updates of one run serialise, so exactly one finisher sees zero.
        let mut per_run: std::collections::BTreeMap<&str, i32> = Default::default();
        for (run, _) in &closed {
            *per_run.entry(run.as_str()).or_default() += 1;
        }
        let mut finished = Vec::new();
        // One run at a time, in one order, so two finishers never deadlock.
        for (run, n) in per_run {
            let row = tx
                .query_opt(
                    "UPDATE runs SET remaining = remaining - $2 WHERE run_id = $1
                     RETURNING remaining",
                    &[&run, &n],
                )
                .await
                .map_err(pg)?;
            if row.is_some_and(|r| r.get::<_, i32>(0) == 0) {
                // The task's state comes from the run's results in this same transaction,
                // so it is right even if this worker dies before it finalises the run
                // (only the notification would be lost).
                if let Some((item, _)) = done.iter().find(|(i, _)| i.run_id == run) {
                    tx.execute(SET_STATE_FROM_RUN, &[&item.task_id, &run])
                        .await
                        .map_err(pg)?;
                }
                finished.push(run.to_owned());
            }
        }
        tx.commit().await.map_err(pg)?;
        Ok(finished)
    }
    async fn run_results(
        &self,
        task_id: &str,
        run_id: &str,
    ) -> Result<Vec<TenantResult>, SchedulerError> {
        let c = self.client.lock().await;
        c.query(
            "SELECT data FROM results WHERE task_id = $1 AND data->>'runId' = $2 ORDER BY seq",
            &[&task_id, &run_id],
        )
        .await
        .map_err(pg)?
        .into_iter()
        .map(|r| serde_json::from_value(r.get::<_, serde_json::Value>(0)).map_err(json_err))
        .collect()
    }
}
