//! The PostgreSQL store (feature `postgres`): several workers on one database.
//!
//! Claims take a lease with `FOR UPDATE SKIP LOCKED`, at most as many tasks as the worker
//! asks for (its free slots), so a task runs on one worker at a time and a task whose
//! worker died is taken again once its lease expires. Every write of a claimed task or work
//! item is fenced by the claim's lease token ([`crate::store::rules`]). Adding a task sends
//! `NOTIFY cipp_tasks`, which wakes the other workers' runners.
//!
//! A task over many tenants is split into per-tenant work items (`runs` and `work_items`
//! tables) that every worker claims, so one 5,000-tenant task spreads across all workers;
//! see [`WorkQueue`].
//!
//! Each `PgStore` keeps a small pool of connections (no pooling crate: N connections,
//! checked out per operation and returned, a broken one replaced at the next checkout) and
//! one more connection that `LISTEN`s, reconnecting when it drops.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{Notify, Semaphore, SemaphorePermit};
use tokio_postgres::{AsyncMessage, Client, Config, GenericClient, NoTls};

use crate::alert_state::{self, AlertRecord, AlertStateStore, Change, Observation};
use crate::kv::{self, Conflict, KvStore, Versioned};
use crate::store::{rules, FinishedItems, Store, WorkItem, WorkQueue};
use crate::task::{Lease, Task, TenantResult};
use crate::SchedulerError;

/// The first key of the transaction-scoped advisory locks that serialise observations of
/// one (tenant, alert) (the second is a hash of the pair); two-key advisory locks never
/// conflict with the one-key lock of [`migrate`].
const ALERT_LOCK_CLASS: i32 = 72742;

/// The default number of pooled connections per [`PgStore`].
pub const DEFAULT_POOL_SIZE: usize = 4;

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
    // 3: when each task becomes claimable (`rules::claimable_at`, filled in for existing
    // rows right after), and lease tokens fencing work items.
    "ALTER TABLE tasks ADD COLUMN IF NOT EXISTS claimable_at TIMESTAMPTZ;
    CREATE INDEX IF NOT EXISTS tasks_claimable ON tasks (claimable_at);
    ALTER TABLE work_items ADD COLUMN IF NOT EXISTS lease_token TEXT;",
    // 4: the PSA tickets opened per condition (`notify::TicketBook`).
    "CREATE TABLE IF NOT EXISTS psa_tickets (
        key TEXT PRIMARY KEY,
        ticket BIGINT NOT NULL
    );",
    // 5: alert state per (tenant lower-cased, alert, subject), shared by every worker
    // (`alert_state::AlertStateStore`).
    "CREATE TABLE IF NOT EXISTS alert_state (
        tenant TEXT NOT NULL,
        alert TEXT NOT NULL,
        subject TEXT NOT NULL,
        record JSONB NOT NULL,
        PRIMARY KEY (tenant, alert, subject)
    );",
    // 6: versioned JSON values per (namespace, key), shared by every worker
    // (`kv::KvStore`).
    "CREATE TABLE IF NOT EXISTS kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value JSONB NOT NULL,
        version BIGINT NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (namespace, key)
    );",
];

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

/// A minimal connection pool: at most `size` connections, each checked out by one
/// operation at a time and returned when it ends; a connection found closed at checkout is
/// dropped and a new one opened.
struct Pool {
    config: Config,
    schema: String,
    idle: Mutex<Vec<Client>>,
    slots: Semaphore,
    size: usize,
}

/// A checked-out connection; goes back to the pool when dropped (unless it broke).
struct Conn<'a> {
    client: Option<Client>,
    pool: &'a Pool,
    _slot: SemaphorePermit<'a>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Always `Some` until drop.
        self.client.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            if !c.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(c);
            }
        }
    }
}

fn check_schema(schema: &str) -> Result<(), SchedulerError> {
    if schema.is_empty()
        || schema.len() > 63
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(SchedulerError::Invalid(format!(
            "`{schema}` is not a schema name (1 to 63 letters, digits or _)"
        )));
    }
    Ok(())
}

async fn open(config: &Config) -> Result<Client, SchedulerError> {
    let (client, connection) = config.connect(NoTls).await.map_err(pg)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

impl Pool {
    async fn get(&self) -> Result<Conn<'_>, SchedulerError> {
        let slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SchedulerError::Store("the connection pool is closed".into()))?;
        let reused = loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(c) if c.is_closed() => continue,
                other => break other,
            }
        };
        let client = match reused {
            Some(c) => c,
            None => {
                let c = open(&self.config).await?;
                c.batch_execute(&format!("SET search_path TO {}", self.schema))
                    .await
                    .map_err(pg)?;
                c
            }
        };
        Ok(Conn {
            client: Some(client),
            pool: self,
            _slot: slot,
        })
    }
}

/// Listens for `NOTIFY cipp_tasks` and wakes `wake`'s waiters; reconnects when the
/// connection drops.
async fn listen(config: Config, wake: Arc<Notify>) {
    loop {
        match open_listener(&config, wake.clone()).await {
            Ok(()) => tracing::warn!("postgres LISTEN connection ended; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "postgres LISTEN failed; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn open_listener(config: &Config, wake: Arc<Notify>) -> Result<(), SchedulerError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg)?;
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(_)) => wake.notify_waiters(),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "postgres LISTEN connection failed");
                    break;
                }
            }
        }
    });
    client
        .batch_execute("LISTEN cipp_tasks")
        .await
        .map_err(pg)?;
    // The client stays open while the driver reads notifications.
    let _ = driver.await;
    drop(client);
    Ok(())
}

/// Tasks in PostgreSQL.
pub struct PgStore {
    pool: Pool,
    changes: Arc<Notify>,
    listener: tokio::task::AbortHandle,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.pool.schema)
            .field("pool_size", &self.pool.size)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgStore {
    /// Connects (for example `host=127.0.0.1 user=postgres dbname=test`) with
    /// [`DEFAULT_POOL_SIZE`] connections, uses `schema` (created when missing) and applies
    /// pending migrations.
    pub async fn connect(config: &str, schema: &str) -> Result<Self, SchedulerError> {
        Self::connect_with_pool_size(config, schema, DEFAULT_POOL_SIZE).await
    }

    /// Like [`PgStore::connect`], with at most `pool_size` connections (at least 1) for
    /// queries, plus one that listens for other workers' changes.
    pub async fn connect_with_pool_size(
        config: &str,
        schema: &str,
        pool_size: usize,
    ) -> Result<Self, SchedulerError> {
        check_schema(schema)?;
        let config: Config = config.parse().map_err(|e| {
            SchedulerError::Invalid(format!(
                "the PostgreSQL connection string is not valid ({e}); write it as \
                 `host=127.0.0.1 user=postgres dbname=cipp`"
            ))
        })?;
        migrate(&config, schema).await?;
        let size = pool_size.max(1);
        let changes = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(config.clone(), changes.clone())).abort_handle();
        let store = PgStore {
            pool: Pool {
                config,
                schema: schema.to_owned(),
                idle: Mutex::new(Vec::with_capacity(size)),
                slots: Semaphore::new(size),
                size,
            },
            changes,
            listener,
        };
        // Fail now, not at the first operation, when the server refuses connections.
        drop(store.pool.get().await?);
        Ok(store)
    }

    /// The most connections this store opens for queries.
    pub fn pool_size(&self) -> usize {
        self.pool.size
    }
}

/// Creates the schema and applies pending migrations, on a connection of its own,
/// serialised across workers with an advisory lock (released when that connection closes,
/// even after an error).
async fn migrate(config: &Config, schema: &str) -> Result<(), SchedulerError> {
    let mut client = open(config).await?;
    client
        .batch_execute(&format!(
            "SELECT pg_advisory_lock(72741);
             CREATE SCHEMA IF NOT EXISTS {schema};
             SET search_path TO {schema};
             CREATE TABLE IF NOT EXISTS cipp_schema_version (version INT NOT NULL);"
        ))
        .await
        .map_err(pg)?;
    let version: i32 = client
        .query_opt("SELECT version FROM cipp_schema_version", &[])
        .await
        .map_err(pg)?
        .map_or(0, |r| r.get(0));
    let version = usize::try_from(version).unwrap_or(0);
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = client.transaction().await.map_err(pg)?;
        tx.batch_execute(m).await.map_err(pg)?;
        if i == 2 {
            // Fill `claimable_at` in Rust, the one place the rule lives.
            let rows = tx
                .query("SELECT data FROM tasks FOR UPDATE", &[])
                .await
                .map_err(pg)?;
            for t in tasks(rows)? {
                write(&tx, &t).await?;
            }
        }
        tx.batch_execute("DELETE FROM cipp_schema_version")
            .await
            .map_err(pg)?;
        let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO cipp_schema_version (version) VALUES ($1)",
            &[&v],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
    }
    client
        .batch_execute("SELECT pg_advisory_unlock(72741)")
        .await
        .map_err(pg)?;
    Ok(())
}

async fn write(c: &impl GenericClient, t: &Task) -> Result<(), SchedulerError> {
    let data = serde_json::to_value(t).map_err(json_err)?;
    let state = serde_json::to_string(&t.state).map_err(json_err)?;
    c.execute(
        "INSERT INTO tasks (id, name, unique_name, hidden, state, next_run, lease_until, data,
           claimable_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET name = $2, unique_name = $3, hidden = $4, state = $5,
           next_run = $6, lease_until = $7, data = $8, claimable_at = $9",
        &[
            &t.id,
            &t.spec.name,
            &t.spec.unique_name,
            &t.spec.hidden,
            &state,
            &t.next_run,
            &t.lease.as_ref().map(|l| l.until),
            &data,
            &rules::claimable_at(t),
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

fn results(rows: Vec<tokio_postgres::Row>) -> Result<Vec<TenantResult>, SchedulerError> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r.get::<_, serde_json::Value>(0)).map_err(json_err))
        .collect()
}

/// The task, locked until the transaction ends.
async fn locked_task(c: &impl GenericClient, id: &str) -> Result<Option<Task>, SchedulerError> {
    Ok(tasks(
        c.query("SELECT data FROM tasks WHERE id = $1 FOR UPDATE", &[&id])
            .await
            .map_err(pg)?,
    )?
    .pop())
}

async fn insert_results(
    c: &impl GenericClient,
    task_ids: &[&str],
    results: &[&TenantResult],
) -> Result<(), SchedulerError> {
    if results.is_empty() {
        return Ok(());
    }
    let data = results
        .iter()
        .map(|r| serde_json::to_value(r).map_err(json_err))
        .collect::<Result<Vec<_>, _>>()?;
    c.execute(
        "INSERT INTO results (task_id, data)
         SELECT t, d FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS r(t, d, n)
         ORDER BY n",
        &[&task_ids, &data],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

fn item_lost(item: &WorkItem) -> SchedulerError {
    SchedulerError::LeaseLost {
        what: format!("work item {}/{}", item.run_id, item.tenant),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if task.spec.unique_name {
            tx.batch_execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
                .await
                .map_err(pg)?;
            let names: Vec<String> = tx
                .query(
                    "SELECT name FROM tasks WHERE lower(name) = lower($1)",
                    &[&task.spec.name],
                )
                .await
                .map_err(pg)?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            rules::check_unique(task, names.iter().map(String::as_str))?;
        }
        write(&tx, task).await?;
        tx.batch_execute("NOTIFY cipp_tasks").await.map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        let c = self.pool.get().await?;
        Ok(tasks(
            c.query("SELECT data FROM tasks WHERE id = $1", &[&id])
                .await
                .map_err(pg)?,
        )?
        .pop())
    }
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError> {
        let c = self.pool.get().await?;
        let sql = if include_hidden {
            "SELECT data FROM tasks ORDER BY id"
        } else {
            "SELECT data FROM tasks WHERE NOT hidden ORDER BY id"
        };
        tasks(c.query(sql, &[]).await.map_err(pg)?)
    }
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        for sql in [
            "DELETE FROM tasks WHERE id = $1",
            "DELETE FROM results WHERE task_id = $1",
            "DELETE FROM runs WHERE task_id = $1",
        ] {
            tx.execute(sql, &[&id]).await.map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<Task>, SchedulerError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let candidates = tasks(
            tx.query(
                "SELECT data FROM tasks WHERE claimable_at <= $1
                 ORDER BY claimable_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&now, &limit],
            )
            .await
            .map_err(pg)?,
        )?;
        let mut out = Vec::new();
        for t in rules::pick_due(&candidates, now, max) {
            let mut t = t.clone();
            rules::claim(&mut t, lease);
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
        let mut c = self.pool.get().await?;
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
        if !rules::is_free(&t, now) {
            return Ok(None);
        }
        rules::claim(&mut t, lease);
        write(&tx, &t).await?;
        tx.commit().await.map_err(pg)?;
        Ok(Some(t))
    }
    async fn renew(
        &self,
        id: &str,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let t = rules::renew(locked_task(&tx, id).await?.as_ref(), id, token, until)?;
        write(&tx, &t).await?;
        tx.commit().await.map_err(pg)
    }
    async fn update(
        &self,
        task: &Task,
        token: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let t = rules::fenced_write(locked_task(&tx, &task.id).await?.as_ref(), task, token)?;
        write(&tx, &t).await?;
        let ids = vec![task.id.as_str(); results.len()];
        let rs: Vec<&TenantResult> = results.iter().collect();
        insert_results(&tx, &ids, &rs).await?;
        tx.commit().await.map_err(pg)
    }
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        let c = self.pool.get().await?;
        results(
            c.query(
                "SELECT data FROM results WHERE task_id = $1 ORDER BY seq",
                &[&task_id],
            )
            .await
            .map_err(pg)?,
        )
    }
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        let c = self.pool.get().await?;
        let row = c
            .query_one(
                "SELECT LEAST(
                   (SELECT min(claimable_at) FROM tasks),
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
    fn work_queue(&self) -> Option<&dyn WorkQueue> {
        Some(self)
    }
}

#[async_trait]
impl WorkQueue for PgStore {
    async fn enqueue_run(
        &self,
        task: &Task,
        token: &str,
        run_id: &str,
        tenants: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let t = rules::fenced_write(locked_task(&tx, &task.id).await?.as_ref(), task, token)?;
        tx.execute(
            "INSERT INTO runs (run_id, task_id, started_at, remaining) VALUES ($1, $2, $3, 0)
             ON CONFLICT (run_id) DO NOTHING",
            &[&run_id, &task.id, &now],
        )
        .await
        .map_err(pg)?;
        // One statement for every tenant: an array parameter unnested server-side. A
        // resumed run (same id) adds only the tenants it lacks.
        let tenants: Vec<&str> = tenants.iter().map(String::as_str).collect();
        tx.execute(
            "INSERT INTO work_items (run_id, tenant, task_id, not_before)
             SELECT $1, t, $2, $3 FROM unnest($4::text[]) AS t ON CONFLICT DO NOTHING",
            &[&run_id, &task.id, &now, &tenants],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "UPDATE runs SET remaining =
               (SELECT count(*) FROM work_items WHERE run_id = $1 AND open)
             WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .map_err(pg)?;
        write(&tx, &t).await?;
        tx.batch_execute("NOTIFY cipp_tasks").await.map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<WorkItem>, SchedulerError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let c = self.pool.get().await?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let token = rules::new_token();
        let rows = c
            .query(
                "UPDATE work_items SET lease_until = $2, worker = $3, lease_token = $5
                 WHERE (run_id, tenant) IN (
                   SELECT run_id, tenant FROM work_items
                   WHERE open AND not_before <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                   ORDER BY not_before, run_id, tenant
                   LIMIT $4 FOR UPDATE SKIP LOCKED)
                 RETURNING task_id, run_id, tenant, attempts",
                &[&now, &lease.until, &lease.worker, &limit, &token],
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
                    token.clone(),
                )
            })
            .collect())
    }
    async fn renew_item(
        &self,
        item: &WorkItem,
        until: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let c = self.pool.get().await?;
        let n = c
            .execute(
                "UPDATE work_items SET lease_until = GREATEST(lease_until, $4)
                 WHERE run_id = $1 AND tenant = $2 AND open AND lease_token = $3",
                &[&item.run_id, &item.tenant, &item.lease_token, &until],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(item_lost(item));
        }
        Ok(())
    }
    async fn release_item(
        &self,
        item: &WorkItem,
        not_before: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let c = self.pool.get().await?;
        let n = c
            .execute(
                "UPDATE work_items SET lease_until = NULL, worker = NULL, lease_token = NULL,
                   not_before = $3, attempts = attempts + 1
                 WHERE run_id = $1 AND tenant = $2 AND open AND lease_token = $4",
                &[&item.run_id, &item.tenant, &not_before, &item.lease_token],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(item_lost(item));
        }
        Ok(())
    }
    async fn finish_items(
        &self,
        done: &[(WorkItem, TenantResult)],
    ) -> Result<FinishedItems, SchedulerError> {
        if done.is_empty() {
            return Ok(FinishedItems::default());
        }
        let run_ids: Vec<&str> = done.iter().map(|(i, _)| i.run_id.as_str()).collect();
        let tenants: Vec<&str> = done.iter().map(|(i, _)| i.tenant.as_str()).collect();
        let tokens: Vec<&str> = done.iter().map(|(i, _)| i.lease_token.as_str()).collect();
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Close the items this worker still holds (fenced by their tokens).
        let closed: HashSet<(String, String)> = tx
            .query(
                "UPDATE work_items w SET open = false, lease_until = NULL
                 FROM unnest($1::text[], $2::text[], $3::text[]) AS d(run_id, tenant, token)
                 WHERE w.run_id = d.run_id AND w.tenant = d.tenant AND w.open
                   AND w.lease_token = d.token
                 RETURNING w.run_id, w.tenant",
                &[&run_ids, &tenants, &tokens],
            )
            .await
            .map_err(pg)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut task_ids = Vec::new();
        let mut kept = Vec::new();
        let mut lost = Vec::new();
        for (item, result) in done {
            if closed.contains(&(item.run_id.clone(), item.tenant.clone())) {
                task_ids.push(item.task_id.as_str());
                kept.push(result);
            } else {
                lost.push(item.clone());
            }
        }
        insert_results(&tx, &task_ids, &kept).await?;
        // Count down each run's open items, one run at a time in one order so two
        // finishers never deadlock; the row update serialises finishers of a run, so
        // exactly one sees zero.
        let mut per_run: BTreeMap<&str, i32> = BTreeMap::new();
        for (run, _) in &closed {
            *per_run.entry(run.as_str()).or_default() += 1;
        }
        let mut finished: Vec<(String, String)> = Vec::new();
        for (run, n) in per_run {
            let row = tx
                .query_opt(
                    "UPDATE runs SET remaining = remaining - $2 WHERE run_id = $1
                     RETURNING remaining, task_id",
                    &[&run, &n],
                )
                .await
                .map_err(pg)?;
            if let Some(r) = row {
                if r.get::<_, i32>(0) == 0 {
                    finished.push((r.get(1), run.to_owned()));
                }
            }
        }
        // Then the tasks (after every run row, in task order): their state from the run's
        // results, in Rust, in this same transaction — right even if this worker dies
        // before it finalises the run (only the notification would be lost).
        finished.sort();
        for (task_id, run) in &finished {
            let Some(mut task) = locked_task(&tx, task_id).await? else {
                continue;
            };
            let run_results = results(
                tx.query(
                    "SELECT data FROM results WHERE task_id = $1 AND data->>'runId' = $2
                     ORDER BY seq",
                    &[task_id, run],
                )
                .await
                .map_err(pg)?,
            )?;
            rules::close_shared_run(&mut task, run, &run_results);
            write(&tx, &task).await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(FinishedItems::new(
            finished.into_iter().map(|(_, r)| r).collect(),
            lost,
        ))
    }
    async fn run_results(
        &self,
        task_id: &str,
        run_id: &str,
    ) -> Result<Vec<TenantResult>, SchedulerError> {
        let c = self.pool.get().await?;
        results(
            c.query(
                "SELECT data FROM results WHERE task_id = $1 AND data->>'runId' = $2 ORDER BY seq",
                &[&task_id, &run_id],
            )
            .await
            .map_err(pg)?,
        )
    }
}

/// The PSA tickets opened per condition, in the `psa_tickets` table, shared by every worker.
#[async_trait]
impl crate::notify::TicketBook for PgStore {
    async fn ticket(&self, key: &str) -> Result<Option<i64>, SchedulerError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt("SELECT ticket FROM psa_tickets WHERE key = $1", &[&key])
            .await
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }
    async fn record(&self, key: &str, ticket: i64) -> Result<(), SchedulerError> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO psa_tickets (key, ticket) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET ticket = EXCLUDED.ticket",
            &[&key, &ticket],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }
    async fn forget(&self, key: &str) -> Result<(), SchedulerError> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM psa_tickets WHERE key = $1", &[&key])
            .await
            .map_err(pg)?;
        Ok(())
    }
}

/// Reads alert records from rows of `tenant, alert, subject, record`.
fn alert_records(rows: Vec<tokio_postgres::Row>) -> Result<Vec<AlertRecord>, SchedulerError> {
    rows.into_iter()
        .map(|row| {
            let (tenant, alert, subject): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let mut r: AlertRecord = serde_json::from_value(row.get::<_, serde_json::Value>(3))
                .map_err(|e| alert_state::corrupt(&tenant, &alert, &subject, e))?;
            // The key columns are authoritative.
            (r.alert, r.subject) = (alert, subject);
            Ok(r)
        })
        .collect()
}

async fn write_alert_records(
    c: &impl GenericClient,
    tenant: &str,
    alert: &str,
    records: &[AlertRecord],
) -> Result<(), SchedulerError> {
    if records.is_empty() {
        return Ok(());
    }
    let subjects: Vec<&str> = records.iter().map(|r| r.subject.as_str()).collect();
    let data = records
        .iter()
        .map(|r| serde_json::to_value(r).map_err(json_err))
        .collect::<Result<Vec<_>, _>>()?;
    c.execute(
        "INSERT INTO alert_state (tenant, alert, subject, record)
         SELECT $1, $2, s, r FROM unnest($3::text[], $4::jsonb[]) AS u(s, r)
         ON CONFLICT (tenant, alert, subject) DO UPDATE SET record = EXCLUDED.record",
        &[&tenant, &alert, &subjects, &data],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Alert state in the `alert_state` table, shared by every worker. An observation of a
/// (tenant, alert) holds a transaction-scoped advisory lock on the pair and locks its rows,
/// so concurrent observations run one after the other and a finding is raised once.
#[async_trait]
impl AlertStateStore for PgStore {
    async fn observe(
        &self,
        tenant: &str,
        alert: &str,
        observations: &[Observation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, SchedulerError> {
        let key = alert_state::tenant_key(tenant);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Serialises the first observation of a new pair too, when there is no row to lock.
        // The separator keeps (`ab`, `c`) and (`a`, `bc`) apart (a hash collision would only
        // serialise two pairs needlessly).
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(31) || $3))",
            &[&ALERT_LOCK_CLASS, &key, &alert],
        )
        .await
        .map_err(pg)?;
        let previous = alert_records(
            tx.query(
                "SELECT tenant, alert, subject, record FROM alert_state
                 WHERE tenant = $1 AND alert = $2 FOR UPDATE",
                &[&key, &alert],
            )
            .await
            .map_err(pg)?,
        )?;
        let (records, changes) =
            alert_state::next_state(tenant, alert, &previous, observations, now);
        write_alert_records(&tx, &key, alert, &records).await?;
        tx.commit().await.map_err(pg)?;
        Ok(changes)
    }

    async fn snooze(
        &self,
        tenant: &str,
        alert: &str,
        subject: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), SchedulerError> {
        let key = alert_state::tenant_key(tenant);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let mut record = alert_records(
            tx.query(
                "SELECT tenant, alert, subject, record FROM alert_state
                 WHERE tenant = $1 AND alert = $2 AND subject = $3 FOR UPDATE",
                &[&key, &alert, &subject],
            )
            .await
            .map_err(pg)?,
        )?
        .pop()
        .ok_or_else(|| alert_state::not_found(tenant, alert, subject))?;
        record.snoozed_until = Some(until.unwrap_or_else(alert_state::forever));
        write_alert_records(&tx, &key, alert, std::slice::from_ref(&record)).await?;
        tx.commit().await.map_err(pg)
    }

    async fn records(&self, tenant: &str) -> Result<Vec<AlertRecord>, SchedulerError> {
        let key = alert_state::tenant_key(tenant);
        let c = self.pool.get().await?;
        // Byte order, as the other stores sort, whatever the database's collation.
        alert_records(
            c.query(
                "SELECT tenant, alert, subject, record FROM alert_state WHERE tenant = $1
                 ORDER BY alert COLLATE \"C\", subject COLLATE \"C\"",
                &[&key],
            )
            .await
            .map_err(pg)?,
        )
    }
}

/// Reads key-value rows of `namespace, key, value, version, updated`.
fn kv_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<(String, Versioned)>, SchedulerError> {
    rows.into_iter()
        .map(|row| {
            let (namespace, key): (String, String) = (row.get(0), row.get(1));
            let value = row
                .try_get::<_, serde_json::Value>(2)
                .map_err(|e| kv::corrupt(&namespace, &key, e))?;
            let version = kv::stored_version(&namespace, &key, row.get(3))?;
            let updated = row
                .try_get::<_, DateTime<Utc>>(4)
                .map_err(|e| kv::corrupt(&namespace, &key, e))?;
            Ok((
                key,
                Versioned {
                    value,
                    version,
                    updated,
                },
            ))
        })
        .collect()
}

/// Whether a string or object key anywhere in `v` contains NUL, which `jsonb` refuses.
fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The current value of a key.
async fn kv_current(
    c: &impl GenericClient,
    namespace: &str,
    key: &str,
) -> Result<Option<Versioned>, SchedulerError> {
    Ok(kv_rows(
        c.query(
            "SELECT namespace, key, value, version, updated FROM kv
                 WHERE namespace = $1 AND key = $2",
            &[&namespace, &key],
        )
        .await
        .map_err(pg)?,
    )?
    .pop()
    .map(|(_, v)| v))
}

/// Versioned JSON values in the `kv` table, shared by every worker. A write is one
/// statement — `INSERT … ON CONFLICT DO NOTHING` to create, `UPDATE … WHERE version = n` to
/// replace — and succeeds only if it changed a row, so of two workers racing on one key
/// exactly one wins.
#[async_trait]
impl KvStore for PgStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Versioned>, SchedulerError> {
        kv::check_key(namespace, key)?;
        let c = self.pool.get().await?;
        kv_current(&*c, namespace, key).await
    }

    async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Result<u64, Conflict>, SchedulerError> {
        kv::check_key(namespace, key)?;
        kv::encode(namespace, key, value)?;
        if has_nul(value) {
            return Err(SchedulerError::Invalid(format!(
                "the key-value value of {namespace}/{key} has a NUL character (\\u0000) in a \
                 string, which PostgreSQL cannot store in jsonb; remove or replace it"
            )));
        }
        let c = self.pool.get().await?;
        let now = kv::now();
        let written = match expected_version {
            None => {
                let n = c
                    .execute(
                        "INSERT INTO kv (namespace, key, value, version, updated)
                         VALUES ($1, $2, $3, 1, $4)
                         ON CONFLICT (namespace, key) DO NOTHING",
                        &[&namespace, &key, value, &now],
                    )
                    .await
                    .map_err(pg)?;
                (n == 1).then_some(1)
            }
            // A version no store can hold matches no row: a conflict, like any other.
            Some(e) => match i64::try_from(e) {
                Ok(expected) => {
                    let next = kv::next_version(namespace, key, e)?;
                    let n = c
                        .execute(
                            "UPDATE kv SET value = $3, version = $4, updated = $5
                             WHERE namespace = $1 AND key = $2 AND version = $6",
                            &[
                                &namespace,
                                &key,
                                value,
                                &kv::db_version(namespace, key, next)?,
                                &now,
                                &expected,
                            ],
                        )
                        .await
                        .map_err(pg)?;
                    (n == 1).then_some(next)
                }
                Err(_) => None,
            },
        };
        match written {
            Some(v) => Ok(Ok(v)),
            None => Ok(Err(Conflict {
                current: kv_current(&*c, namespace, key).await?,
            })),
        }
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), SchedulerError> {
        kv::check_key(namespace, key)?;
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM kv WHERE namespace = $1 AND key = $2",
            &[&namespace, &key],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn list(&self, namespace: &str) -> Result<Vec<(String, Versioned)>, SchedulerError> {
        kv::check_name("namespace", namespace)?;
        let c = self.pool.get().await?;
        // Byte order, as the other stores sort, whatever the database's collation.
        kv_rows(
            c.query(
                "SELECT namespace, key, value, version, updated FROM kv WHERE namespace = $1
                 ORDER BY key COLLATE \"C\"",
                &[&namespace],
            )
            .await
            .map_err(pg)?,
        )
    }
}
