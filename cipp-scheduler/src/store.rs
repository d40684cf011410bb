//! Where tasks and results live: one trait, in-memory and SQLite implementations.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::task::{Lease, Task, TaskState, TenantResult};
use crate::SchedulerError;

/// Task storage. Claims are atomic: a task is held by one worker at a time, and a claim
/// whose lease expired can be taken again.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a task; refuses a duplicate unique name.
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError>;
    /// One task.
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError>;
    /// Every task (hidden ones too when asked).
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError>;
    /// Replaces a task's stored state.
    async fn update(&self, task: &Task) -> Result<(), SchedulerError>;
    /// Deletes a task and its results.
    async fn delete(&self, id: &str) -> Result<(), SchedulerError>;
    /// Claims every task due at `now` (planned and not leased, or whose lease expired).
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Vec<Task>, SchedulerError>;
    /// Claims one task regardless of its due time (run now), unless another worker holds it.
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError>;
    /// Appends results.
    async fn save_results(
        &self,
        task_id: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError>;
    /// A task's results, oldest first.
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError>;
    /// The earliest due time of any planned task.
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError>;
    /// Notified when another worker changes the tasks (PostgreSQL `LISTEN`), if the store
    /// can tell.
    fn changes(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }

    /// Whether the per-tenant runs of one task can be shared by several workers
    /// ([`Store::enqueue_run`] and the item methods below). Stores that answer `false`
    /// (memory, SQLite: one machine) have the engine run every tenant itself.
    fn shares_fan_out(&self) -> bool {
        false
    }
    /// Records one run of `task` as claimable work items, one per tenant, and stores the
    /// task as given (state, next run, lease released) in the same transaction, so no
    /// worker can finish the run before the task says it started.
    async fn enqueue_run(
        &self,
        task: &Task,
        run_id: &str,
        tenants: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let _ = (task, run_id, tenants, now);
        Err(SchedulerError::Store(
            "this store does not share fan-out between workers".into(),
        ))
    }
    /// Claims up to `max` open work items of any run that are due (not held by a live
    /// lease, not waiting for a throttling delay).
    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<WorkItem>, SchedulerError> {
        let _ = (now, lease, max);
        Ok(Vec::new())
    }
    /// Hands an item back to be retried at `not_before` (a throttled tenant), counting the
    /// attempt.
    async fn release_item(
        &self,
        item: &WorkItem,
        not_before: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let _ = (item, not_before);
        Ok(())
    }
    /// Stores finished items' results and closes the items, in one transaction. Returns
    /// the runs this call closed the last open item of: each run is reported to exactly
    /// one caller, which then finalises it. An item already closed by another worker (whose
    /// lease had expired) keeps the first result.
    async fn finish_items(
        &self,
        done: &[(WorkItem, TenantResult)],
    ) -> Result<Vec<String>, SchedulerError> {
        let _ = done;
        Err(SchedulerError::Store(
            "this store does not share fan-out between workers".into(),
        ))
    }
    /// The results of one run.
    async fn run_results(
        &self,
        task_id: &str,
        run_id: &str,
    ) -> Result<Vec<TenantResult>, SchedulerError> {
        Ok(self
            .results(task_id)
            .await?
            .into_iter()
            .filter(|r| r.run_id == run_id)
            .collect())
    }
}

/// One tenant's share of a run, claimable by any worker of a store that shares fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkItem {
    /// The task.
    pub task_id: String,
    /// The run (the idempotency key passed to the command).
    pub run_id: String,
    /// The tenant.
    pub tenant: String,
    /// Throttled attempts so far.
    pub attempts: u32,
}

impl WorkItem {
    /// An item (for store implementations).
    pub fn new(task_id: String, run_id: String, tenant: String, attempts: u32) -> Self {
        WorkItem {
            task_id,
            run_id,
            tenant,
            attempts,
        }
    }
}

fn claimable(t: &Task, now: DateTime<Utc>) -> bool {
    let free = t.lease.as_ref().is_none_or(|l| l.until <= now);
    let planned = t.state.is_planned()
        || (t.lease.as_ref().is_some_and(|l| l.until <= now)
            && matches!(t.state, TaskState::Pending | TaskState::Running));
    free && planned
}

/// Tasks in memory (tests, short-lived tools).
#[derive(Default)]
pub struct MemoryStore {
    tasks: Mutex<BTreeMap<String, Task>>,
    results: Mutex<BTreeMap<String, Vec<TenantResult>>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let mut tasks = lock(&self.tasks);
        if task.spec.unique_name
            && tasks
                .values()
                .any(|t| t.spec.name.eq_ignore_ascii_case(&task.spec.name))
        {
            return Err(SchedulerError::Invalid(format!(
                "a task named `{}` already exists",
                task.spec.name
            )));
        }
        tasks.insert(task.id.clone(), task.clone());
        Ok(())
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        Ok(lock(&self.tasks).get(id).cloned())
    }
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError> {
        Ok(lock(&self.tasks)
            .values()
            .filter(|t| include_hidden || !t.spec.hidden)
            .cloned()
            .collect())
    }
    async fn update(&self, task: &Task) -> Result<(), SchedulerError> {
        lock(&self.tasks).insert(task.id.clone(), task.clone());
        Ok(())
    }
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        lock(&self.tasks).remove(id);
        lock(&self.results).remove(id);
        Ok(())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Vec<Task>, SchedulerError> {
        let mut tasks = lock(&self.tasks);
        let mut out = Vec::new();
        for t in tasks.values_mut() {
            if t.next_run.is_some_and(|n| n <= now) && claimable(t, now) {
                t.lease = Some(lease.clone());
                t.state = TaskState::Pending;
                out.push(t.clone());
            }
        }
        Ok(out)
    }
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError> {
        let mut tasks = lock(&self.tasks);
        let Some(t) = tasks.get_mut(id) else {
            return Ok(None);
        };
        if t.lease.as_ref().is_some_and(|l| l.until > now) {
            return Ok(None);
        }
        t.lease = Some(lease.clone());
        t.state = TaskState::Pending;
        Ok(Some(t.clone()))
    }
    async fn save_results(
        &self,
        task_id: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        lock(&self.results)
            .entry(task_id.to_owned())
            .or_default()
            .extend(results.iter().cloned());
        Ok(())
    }
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        Ok(lock(&self.results)
            .get(task_id)
            .cloned()
            .unwrap_or_default())
    }
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        Ok(lock(&self.tasks)
            .values()
            .filter(|t| t.state.is_planned())
            .filter_map(|t| t.next_run)
            .min())
    }
}

/// Tasks in a SQLite file (WAL mode), durable across restarts. Each call runs on Tokio's
/// blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db(e: rusqlite::Error) -> SchedulerError {
    SchedulerError::Store(format!("sqlite: {e}"))
}

fn json_err(e: serde_json::Error) -> SchedulerError {
    SchedulerError::Store(format!("stored data is not valid: {e}"))
}

const MIGRATIONS: &[&str] = &["CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unique_name INTEGER NOT NULL,
        hidden INTEGER NOT NULL,
        state TEXT NOT NULL,
        next_run INTEGER,
        lease_until INTEGER,
        data TEXT NOT NULL
     );
     CREATE INDEX tasks_due ON tasks(next_run);
     CREATE TABLE results (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX results_task ON results(task_id);"];

impl SqliteStore {
    /// Opens (or creates) the database at `path` and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SchedulerError> {
        let conn = rusqlite::Connection::open(path).map_err(db)?;
        Self::init(conn)
    }

    /// An in-memory SQLite database (tests).
    pub fn open_in_memory() -> Result<Self, SchedulerError> {
        Self::init(rusqlite::Connection::open_in_memory().map_err(db)?)
    }

    fn init(conn: rusqlite::Connection) -> Result<Self, SchedulerError> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            conn.execute_batch(&format!(
                "BEGIN; {m} PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))
            .map_err(db)?;
        }
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T, F>(&self, f: F) -> Result<T, SchedulerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, SchedulerError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = lock(&conn);
            f(&mut c)
        })
        .await
        .map_err(|e| SchedulerError::Store(format!("the store task failed: {e}")))?
    }
}

fn write_task(c: &rusqlite::Connection, t: &Task) -> Result<(), SchedulerError> {
    let data = serde_json::to_string(t).map_err(json_err)?;
    c.execute(
        "INSERT INTO tasks (id, name, unique_name, hidden, state, next_run, lease_until, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET name = ?2, unique_name = ?3, hidden = ?4, state = ?5, next_run = ?6, lease_until = ?7, data = ?8",
        rusqlite::params![
            t.id,
            t.spec.name,
            t.spec.unique_name,
            t.spec.hidden,
            serde_json::to_string(&t.state).map_err(json_err)?,
            t.next_run.map(|n| n.timestamp()),
            t.lease.as_ref().map(|l| l.until.timestamp()),
            data
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn read_tasks(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Task>, SchedulerError> {
    let mut stmt = c.prepare(sql).map_err(db)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(serde_json::from_str(&r.map_err(db)?).map_err(json_err)?);
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let task = task.clone();
        self.with(move |c| {
            let tx = c.transaction().map_err(db)?;
            if task.spec.unique_name {
                let n: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM tasks WHERE lower(name) = lower(?1)",
                        [&task.spec.name],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if n > 0 {
                    return Err(SchedulerError::Invalid(format!(
                        "a task named `{}` already exists",
                        task.spec.name
                    )));
                }
            }
            write_task(&tx, &task)?;
            tx.commit().map_err(db)
        })
        .await
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        let id = id.to_owned();
        self.with(move |c| Ok(read_tasks(c, "SELECT data FROM tasks WHERE id = ?1", &[&id])?.pop()))
            .await
    }
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError> {
        self.with(move |c| {
            let sql = if include_hidden {
                "SELECT data FROM tasks ORDER BY id"
            } else {
                "SELECT data FROM tasks WHERE hidden = 0 ORDER BY id"
            };
            read_tasks(c, sql, &[])
        })
        .await
    }
    async fn update(&self, task: &Task) -> Result<(), SchedulerError> {
        let task = task.clone();
        self.with(move |c| write_task(c, &task)).await
    }
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        let id = id.to_owned();
        self.with(move |c| {
            c.execute("DELETE FROM tasks WHERE id = ?1", [&id])
                .map_err(db)?;
            c.execute("DELETE FROM results WHERE task_id = ?1", [&id])
                .map_err(db)?;
            Ok(())
        })
        .await
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Vec<Task>, SchedulerError> {
        let lease = lease.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
            let candidates = read_tasks(
                &tx,
                "SELECT data FROM tasks WHERE next_run IS NOT NULL AND next_run <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)",
                &[&now.timestamp()],
            )?;
            let mut out = Vec::new();
            for mut t in candidates.into_iter().filter(|t| claimable(t, now)) {
                t.lease = Some(lease.clone());
                t.state = TaskState::Pending;
                write_task(&tx, &t)?;
                out.push(t);
            }
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError> {
        let (id, lease) = (id.to_owned(), lease.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let Some(mut t) =
                read_tasks(&tx, "SELECT data FROM tasks WHERE id = ?1", &[&id])?.pop()
            else {
                return Ok(None);
            };
            if t.lease.as_ref().is_some_and(|l| l.until > now) {
                return Ok(None);
            }
            t.lease = Some(lease);
            t.state = TaskState::Pending;
            write_task(&tx, &t)?;
            tx.commit().map_err(db)?;
            Ok(Some(t))
        })
        .await
    }
    async fn save_results(
        &self,
        task_id: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        let (task_id, results) = (task_id.to_owned(), results.to_vec());
        self.with(move |c| {
            let tx = c.transaction().map_err(db)?;
            for r in &results {
                tx.execute(
                    "INSERT INTO results (task_id, data) VALUES (?1, ?2)",
                    rusqlite::params![task_id, serde_json::to_string(r).map_err(json_err)?],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)
        })
        .await
    }
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        let task_id = task_id.to_owned();
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT data FROM results WHERE task_id = ?1 ORDER BY seq")
                .map_err(db)?;
            let rows = stmt
                .query_map([&task_id], |r| r.get::<_, String>(0))
                .map_err(db)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(serde_json::from_str(&r.map_err(db)?).map_err(json_err)?);
            }
            Ok(out)
        })
        .await
    }
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        let tasks = self.list(true).await?;
        Ok(tasks
            .iter()
            .filter(|t| t.state.is_planned())
            .filter_map(|t| t.next_run)
            .min())
    }
}
