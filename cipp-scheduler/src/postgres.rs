//! The PostgreSQL store (feature `postgres`): several workers on one database. Claims take
//! a lease with `FOR UPDATE SKIP LOCKED`, so a task runs on one worker at a time and a
//! task whose worker died is taken again once its lease expires. Adding a task sends
//! `NOTIFY cipp_tasks`, which wakes the other workers' runners.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{Mutex, Notify};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::store::Store;
use crate::task::{Lease, Task, TaskState, TenantResult};
use crate::SchedulerError;

const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS tasks (
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
    CREATE INDEX IF NOT EXISTS results_task ON results (task_id);"];

fn pg(e: tokio_postgres::Error) -> SchedulerError {
    SchedulerError::Store(format!("postgres: {e}"))
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
            .query_one("SELECT min(next_run) FROM tasks WHERE state IN ('\"planned\"', '\"failedRecurring\"', '\"completedWithErrors\"')", &[])
            .await
            .map_err(pg)?;
        Ok(row.get::<_, Option<DateTime<Utc>>>(0))
    }
    fn changes(&self) -> Option<Arc<Notify>> {
        Some(self.changes.clone())
    }
}
