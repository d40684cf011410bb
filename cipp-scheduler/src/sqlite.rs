//! The SQLite store (feature `sqlite`): tasks in one file, durable across restarts on one
//! machine.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::alert_state::{self, AlertRecord, AlertStateStore, Change, Observation};
use crate::kv::{self, Conflict, KvStore, Versioned};
use crate::store::{rules, Store};
use crate::task::{Lease, Task, TenantResult};
use crate::SchedulerError;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

const MIGRATIONS: &[&str] = &[
    // 1: tasks and results.
    "CREATE TABLE tasks (
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
     CREATE INDEX results_task ON results(task_id);",
    // 2: when each task becomes claimable (milliseconds; `rules::claimable_at`), filled in
    // for existing rows right after.
    "ALTER TABLE tasks ADD COLUMN claimable_at INTEGER;
     CREATE INDEX tasks_claimable ON tasks(claimable_at);",
    // 3: the PSA tickets opened per condition (`notify::TicketBook`).
    "CREATE TABLE psa_tickets (key TEXT PRIMARY KEY, ticket INTEGER NOT NULL);",
    // 4: alert state per (tenant lower-cased, alert, subject), the record as JSON
    // (`alert_state::AlertStateStore`).
    "CREATE TABLE alert_state (
        tenant TEXT NOT NULL,
        alert TEXT NOT NULL,
        subject TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (tenant, alert, subject)
     );",
    // 5: versioned JSON values per (namespace, key) (`kv::KvStore`); `updated` in
    // microseconds since the epoch.
    "CREATE TABLE kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
     );",
];

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

    fn init(mut conn: rusqlite::Connection) -> Result<Self, SchedulerError> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        let version = usize::try_from(version).unwrap_or(0);
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            tx.execute_batch(m).map_err(db)?;
            if i == 1 {
                // Fill `claimable_at` in Rust, the one place the rule lives.
                for t in read_tasks(&tx, "SELECT data FROM tasks", &[])? {
                    write_task(&tx, &t)?;
                }
            }
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(db)?;
            tx.commit().map_err(db)?;
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
        "INSERT INTO tasks (id, name, unique_name, hidden, state, next_run, lease_until, data, claimable_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET name = ?2, unique_name = ?3, hidden = ?4, state = ?5,
           next_run = ?6, lease_until = ?7, data = ?8, claimable_at = ?9",
        rusqlite::params![
            t.id,
            t.spec.name,
            t.spec.unique_name,
            t.spec.hidden,
            serde_json::to_string(&t.state).map_err(json_err)?,
            t.next_run.map(|n| n.timestamp()),
            t.lease.as_ref().map(|l| l.until.timestamp()),
            data,
            rules::claimable_at(t).map(|c| c.timestamp_millis()),
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

fn read_task(c: &rusqlite::Connection, id: &str) -> Result<Option<Task>, SchedulerError> {
    Ok(read_tasks(c, "SELECT data FROM tasks WHERE id = ?1", &[&id])?.pop())
}

fn immediate(c: &mut rusqlite::Connection) -> Result<rusqlite::Transaction<'_>, SchedulerError> {
    c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let task = task.clone();
        self.with(move |c| {
            let tx = immediate(c)?;
            if task.spec.unique_name {
                let mut stmt = tx
                    .prepare("SELECT name FROM tasks WHERE lower(name) = lower(?1)")
                    .map_err(db)?;
                let names = stmt
                    .query_map([&task.spec.name], |r| r.get::<_, String>(0))
                    .map_err(db)?
                    .collect::<Result<Vec<String>, _>>()
                    .map_err(db)?;
                drop(stmt);
                rules::check_unique(&task, names.iter().map(String::as_str))?;
            }
            write_task(&tx, &task)?;
            tx.commit().map_err(db)
        })
        .await
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        let id = id.to_owned();
        self.with(move |c| read_task(c, &id)).await
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
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        let id = id.to_owned();
        self.with(move |c| {
            let tx = immediate(c)?;
            tx.execute("DELETE FROM tasks WHERE id = ?1", [&id])
                .map_err(db)?;
            tx.execute("DELETE FROM results WHERE task_id = ?1", [&id])
                .map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<Task>, SchedulerError> {
        let lease = lease.clone();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.with(move |c| {
            let tx = immediate(c)?;
            let candidates = read_tasks(
                &tx,
                "SELECT data FROM tasks WHERE claimable_at IS NOT NULL AND claimable_at <= ?1
                 ORDER BY claimable_at, id LIMIT ?2",
                &[&now.timestamp_millis(), &limit],
            )?;
            let mut out = Vec::new();
            for t in rules::pick_due(&candidates, now, max) {
                let mut t = t.clone();
                rules::claim(&mut t, &lease);
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
            let tx = immediate(c)?;
            let Some(mut t) = read_task(&tx, &id)? else {
                return Ok(None);
            };
            if !rules::is_free(&t, now) {
                return Ok(None);
            }
            rules::claim(&mut t, &lease);
            write_task(&tx, &t)?;
            tx.commit().map_err(db)?;
            Ok(Some(t))
        })
        .await
    }
    async fn renew(
        &self,
        id: &str,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.with(move |c| {
            let tx = immediate(c)?;
            let t = rules::renew(read_task(&tx, &id)?.as_ref(), &id, &token, until)?;
            write_task(&tx, &t)?;
            tx.commit().map_err(db)
        })
        .await
    }
    async fn update(
        &self,
        task: &Task,
        token: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        let (task, token, results) = (task.clone(), token.to_owned(), results.to_vec());
        self.with(move |c| {
            let tx = immediate(c)?;
            let t = rules::fenced_write(read_task(&tx, &task.id)?.as_ref(), &task, &token)?;
            write_task(&tx, &t)?;
            for r in &results {
                tx.execute(
                    "INSERT INTO results (task_id, data) VALUES (?1, ?2)",
                    rusqlite::params![task.id, serde_json::to_string(r).map_err(json_err)?],
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
        self.with(|c| {
            let ms: Option<i64> = c
                .query_row("SELECT min(claimable_at) FROM tasks", [], |r| r.get(0))
                .map_err(db)?;
            Ok(ms.and_then(DateTime::from_timestamp_millis))
        })
        .await
    }
}

/// The PSA tickets opened per condition, in the `psa_tickets` table.
#[async_trait]
impl crate::notify::TicketBook for SqliteStore {
    async fn ticket(&self, key: &str) -> Result<Option<i64>, SchedulerError> {
        let key = key.to_owned();
        self.with(move |c| {
            use rusqlite::OptionalExtension;
            c.query_row(
                "SELECT ticket FROM psa_tickets WHERE key = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
        })
        .await
    }
    async fn record(&self, key: &str, ticket: i64) -> Result<(), SchedulerError> {
        let key = key.to_owned();
        self.with(move |c| {
            c.execute(
                "INSERT INTO psa_tickets (key, ticket) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET ticket = excluded.ticket",
                rusqlite::params![key, ticket],
            )
            .map(drop)
            .map_err(db)
        })
        .await
    }
    async fn forget(&self, key: &str) -> Result<(), SchedulerError> {
        let key = key.to_owned();
        self.with(move |c| {
            c.execute("DELETE FROM psa_tickets WHERE key = ?1", [&key])
                .map(drop)
                .map_err(db)
        })
        .await
    }
}

/// Reads alert records: `sql` selects `tenant, alert, subject, record`.
fn read_alert_records(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<AlertRecord>, SchedulerError> {
    let mut stmt = c.prepare(sql).map_err(db)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        let (tenant, alert, subject, record) = r.map_err(db)?;
        let mut r: AlertRecord = serde_json::from_str(&record)
            .map_err(|e| alert_state::corrupt(&tenant, &alert, &subject, e))?;
        // The key columns are authoritative.
        (r.alert, r.subject) = (alert, subject);
        out.push(r);
    }
    Ok(out)
}

fn write_alert_record(
    c: &rusqlite::Connection,
    tenant: &str,
    r: &AlertRecord,
) -> Result<(), SchedulerError> {
    let record = serde_json::to_string(r).map_err(json_err)?;
    c.execute(
        "INSERT INTO alert_state (tenant, alert, subject, record) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant, alert, subject) DO UPDATE SET record = excluded.record",
        rusqlite::params![tenant, r.alert, r.subject, record],
    )
    .map_err(db)?;
    Ok(())
}

/// Alert state in the `alert_state` table, each observation in one IMMEDIATE transaction.
#[async_trait]
impl AlertStateStore for SqliteStore {
    async fn observe(
        &self,
        tenant: &str,
        alert: &str,
        observations: &[Observation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, SchedulerError> {
        let (tenant, alert, observations) =
            (tenant.to_owned(), alert.to_owned(), observations.to_vec());
        self.with(move |c| {
            let key = alert_state::tenant_key(&tenant);
            let tx = immediate(c)?;
            let previous = read_alert_records(
                &tx,
                "SELECT tenant, alert, subject, record FROM alert_state
                 WHERE tenant = ?1 AND alert = ?2",
                &[&key, &alert],
            )?;
            let (records, changes) =
                alert_state::next_state(&tenant, &alert, &previous, &observations, now);
            for r in &records {
                write_alert_record(&tx, &key, r)?;
            }
            tx.commit().map_err(db)?;
            Ok(changes)
        })
        .await
    }

    async fn snooze(
        &self,
        tenant: &str,
        alert: &str,
        subject: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), SchedulerError> {
        let (tenant, alert, subject) = (tenant.to_owned(), alert.to_owned(), subject.to_owned());
        self.with(move |c| {
            let key = alert_state::tenant_key(&tenant);
            let tx = immediate(c)?;
            let mut record = read_alert_records(
                &tx,
                "SELECT tenant, alert, subject, record FROM alert_state
                 WHERE tenant = ?1 AND alert = ?2 AND subject = ?3",
                &[&key, &alert, &subject],
            )?
            .pop()
            .ok_or_else(|| alert_state::not_found(&tenant, &alert, &subject))?;
            record.snoozed_until = Some(until.unwrap_or_else(alert_state::forever));
            write_alert_record(&tx, &key, &record)?;
            tx.commit().map_err(db)
        })
        .await
    }

    async fn records(&self, tenant: &str) -> Result<Vec<AlertRecord>, SchedulerError> {
        let key = alert_state::tenant_key(tenant);
        self.with(move |c| {
            read_alert_records(
                c,
                "SELECT tenant, alert, subject, record FROM alert_state
                 WHERE tenant = ?1 ORDER BY alert, subject",
                &[&key],
            )
        })
        .await
    }
}

/// Reads key-value rows: `sql` selects `namespace, key, value, version, updated`.
fn read_kv(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<(String, Versioned)>, SchedulerError> {
    let mut stmt = c.prepare(sql).map_err(db)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        let (namespace, key, value, version, updated) = r.map_err(db)?;
        let value = serde_json::from_str(&value).map_err(|e| kv::corrupt(&namespace, &key, e))?;
        let version = kv::stored_version(&namespace, &key, version)?;
        let updated = DateTime::from_timestamp_micros(updated).ok_or_else(|| {
            kv::corrupt(&namespace, &key, format!("updated {updated} is not a time"))
        })?;
        out.push((
            key,
            Versioned {
                value,
                version,
                updated,
            },
        ));
    }
    Ok(out)
}

fn read_kv_one(
    c: &rusqlite::Connection,
    namespace: &str,
    key: &str,
) -> Result<Option<Versioned>, SchedulerError> {
    Ok(read_kv(
        c,
        "SELECT namespace, key, value, version, updated FROM kv
         WHERE namespace = ?1 AND key = ?2",
        &[&namespace, &key],
    )?
    .pop()
    .map(|(_, v)| v))
}

/// Versioned JSON values in the `kv` table; each write compares and swaps in one IMMEDIATE
/// transaction, so writers on the same file (other processes too) never both win.
#[async_trait]
impl KvStore for SqliteStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Versioned>, SchedulerError> {
        kv::check_key(namespace, key)?;
        let (namespace, key) = (namespace.to_owned(), key.to_owned());
        self.with(move |c| read_kv_one(c, &namespace, &key)).await
    }

    async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Result<u64, Conflict>, SchedulerError> {
        kv::check_key(namespace, key)?;
        let text = kv::encode(namespace, key, value)?;
        let (namespace, key) = (namespace.to_owned(), key.to_owned());
        self.with(move |c| {
            let tx = immediate(c)?;
            let current = read_kv_one(&tx, &namespace, &key)?;
            let version = match (&current, expected_version) {
                (None, None) => 1,
                (Some(cur), Some(e)) if cur.version == e => kv::next_version(&namespace, &key, e)?,
                _ => return Ok(Err(Conflict { current })),
            };
            tx.execute(
                "INSERT INTO kv (namespace, key, value, version, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
                   version = excluded.version, updated = excluded.updated",
                rusqlite::params![
                    namespace,
                    key,
                    text,
                    kv::db_version(&namespace, &key, version)?,
                    kv::now().timestamp_micros(),
                ],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(Ok(version))
        })
        .await
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), SchedulerError> {
        kv::check_key(namespace, key)?;
        let (namespace, key) = (namespace.to_owned(), key.to_owned());
        self.with(move |c| {
            c.execute(
                "DELETE FROM kv WHERE namespace = ?1 AND key = ?2",
                [&namespace, &key],
            )
            .map(drop)
            .map_err(db)
        })
        .await
    }

    async fn list(&self, namespace: &str) -> Result<Vec<(String, Versioned)>, SchedulerError> {
        kv::check_name("namespace", namespace)?;
        let namespace = namespace.to_owned();
        self.with(move |c| {
            read_kv(
                c,
                "SELECT namespace, key, value, version, updated FROM kv
                 WHERE namespace = ?1 ORDER BY key",
                &[&namespace],
            )
        })
        .await
    }
}
