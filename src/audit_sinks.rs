//! Where audit events go, and how an MSP reads them back.
//!
//! Every sink implements [`AuditSink`]; attach one with
//! [`crate::authz::AccessControl::audit`].
//!
//! - [`TracingAuditSink`]: one `tracing` event per audit event, at info level, target
//!   `cipp::audit`, with structured fields (`principal`, `operation`, `permission`,
//!   `tenant`, `object`, `outcome`, `detail`, `request_id`, `parameters`, `at`).
//! - [`JsonLinesAuditSink`]: one JSON object per line, appended to a file (created when
//!   missing).
//! - `SqliteAuditSink` (feature `sqlite`) and `PgAuditSink` (feature `postgres`): the
//!   table `audit_events`, created when missing. Times are kept to the microsecond.
//!
//! Sinks that can be read back implement [`AuditStore`]: [`AuditQuery`] selects events by
//! tenant, principal, target object, operation and time range, newest first, so an MSP
//! can show a customer what was changed in their tenant and by whom. [`MemoryAuditLog`]
//! implements it too.
//!
//! Recording never fails the audited operation (as [`AuditSink`] requires): a sink that
//! cannot write reports it through `tracing` (target `cipp::audit`, error level). Each sink's
//! `write` method returns the error instead, for callers that want it.
//!
//! No secret enters a sink: events are built with their parameters redacted
//! ([`crate::authz::redact`]), and every sink redacts them again before writing, so an
//! event made some other way (deserialized, say) cannot carry a password into a log.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cipp::audit_sinks::{AuditQuery, AuditStore, JsonLinesAuditSink};
//! use cipp::authz::{AccessControl, Principal, Role};
//! # let dir = std::env::temp_dir().join(format!("cipp-doc-{}", uuid::Uuid::new_v4()));
//! # std::fs::create_dir_all(&dir)?;
//! let sink = JsonLinesAuditSink::open(dir.join("audit.jsonl"))?;
//! let access = AccessControl::new(Principal::technician("alex@msp.example").with_role(Role::editor()))
//!     .audit(Arc::new(sink.clone()));
//! # let _ = access;
//! // … a client made with `cipp.with_access_control(access)` records every write …
//! let changes = sink
//!     .query(&AuditQuery::new().tenant("contoso.onmicrosoft.com").limit(50))
//!     .await?;
//! assert!(changes.is_empty());
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::authz::{redact, AuditEvent, AuditOutcome, AuditSink, MemoryAuditLog};

// ---------------------------------------------------------------------------------------
// Queries

/// Which audit events to read back. Every criterion left `None` matches everything; the
/// answer is newest first.
///
/// - `tenant`, `principal`, `target`: exact, case-insensitive.
/// - `operation`: exact, case-insensitive; a trailing `*` makes it a prefix (`user.*`).
/// - `from` (inclusive) and `to` (exclusive): the event's time.
/// - `limit`: at most this many (the newest).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditQuery {
    /// The tenant (its id as recorded).
    pub tenant: Option<String>,
    /// Who acted.
    pub principal: Option<String>,
    /// The object acted on (a UPN, an object id, a task id…).
    pub target: Option<String>,
    /// The operation (`user.reset_password`), or a prefix ending in `*`.
    pub operation: Option<String>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<DateTime<Utc>>,
    /// At most this many events.
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// Every event.
    pub fn new() -> AuditQuery {
        AuditQuery::default()
    }

    /// Only events in `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> AuditQuery {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only events by `principal`.
    pub fn principal(mut self, principal: impl Into<String>) -> AuditQuery {
        self.principal = Some(principal.into());
        self
    }

    /// Only events on `target`.
    pub fn target(mut self, target: impl Into<String>) -> AuditQuery {
        self.target = Some(target.into());
        self
    }

    /// Only events of `operation` (a trailing `*` matches a prefix: `user.*`).
    pub fn operation(mut self, operation: impl Into<String>) -> AuditQuery {
        self.operation = Some(operation.into());
        self
    }

    /// Only events at or after `from`.
    pub fn from(mut self, from: DateTime<Utc>) -> AuditQuery {
        self.from = Some(from);
        self
    }

    /// Only events before `to`.
    pub fn to(mut self, to: DateTime<Utc>) -> AuditQuery {
        self.to = Some(to);
        self
    }

    /// Only events in `[from, to)`.
    pub fn between(self, from: DateTime<Utc>, to: DateTime<Utc>) -> AuditQuery {
        self.from(from).to(to)
    }

    /// At most `n` events (the newest).
    pub fn limit(mut self, n: usize) -> AuditQuery {
        self.limit = Some(n);
        self
    }

    /// Whether `event` meets every criterion (the limit aside).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| match want {
            None => true,
            Some(w) => have.is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        let operation = match &self.operation {
            None => true,
            Some(op) => match op.strip_suffix('*') {
                Some(prefix) => event
                    .operation
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
                None => event.operation.eq_ignore_ascii_case(op),
            },
        };
        same(&self.tenant, event.tenant.as_deref())
            && same(&self.principal, Some(&event.principal))
            && same(&self.target, event.target.as_deref())
            && operation
            && self.from.is_none_or(|f| event.at >= f)
            && self.to.is_none_or(|t| event.at < t)
    }

    /// `events` (oldest first, as recorded) filtered, newest first, limited.
    fn select(&self, events: impl DoubleEndedIterator<Item = AuditEvent>) -> Vec<AuditEvent> {
        // Latest recorded first among events of the same time: reverse, then a stable sort.
        let mut out: Vec<AuditEvent> = events.rev().filter(|e| self.matches(e)).collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.at));
        if let Some(n) = self.limit {
            out.truncate(n);
        }
        out
    }

    /// The criteria as SQL filters (shared by the SQL sinks).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn filters(&self) -> Vec<Filter> {
        let mut f = Vec::new();
        for (column, value) in [
            ("tenant", &self.tenant),
            ("principal", &self.principal),
            ("target", &self.target),
        ] {
            if let Some(v) = value {
                f.push(Filter::Equal(column, v.clone()));
            }
        }
        if let Some(op) = &self.operation {
            match op.strip_suffix('*') {
                Some(prefix) => f.push(Filter::Prefix("operation", like_prefix(prefix))),
                None => f.push(Filter::Equal("operation", op.clone())),
            }
        }
        if let Some(from) = self.from {
            f.push(Filter::From(from));
        }
        if let Some(to) = self.to {
            f.push(Filter::To(to));
        }
        f
    }
}

/// One SQL criterion.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
enum Filter {
    /// `column` equals the value, case-insensitively.
    Equal(&'static str, String),
    /// `column` starts with the value (a `LIKE` pattern escaped with `\`).
    Prefix(&'static str, String),
    /// `at >= …`.
    From(DateTime<Utc>),
    /// `at < …`.
    To(DateTime<Utc>),
}

/// `prefix%` with `%`, `_` and `\` escaped by `\`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Why an audit store could not be written or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditStoreError {
    /// The file could not be opened, written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The database refused or could not be reached.
    Database(String),
    /// A stored event (or a setting) is not valid.
    Invalid(String),
}

impl fmt::Display for AuditStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditStoreError::Io { path, source } => write!(
                f,
                "audit log {}: {source} (check that the directory exists and is writable)",
                path.display()
            ),
            AuditStoreError::Database(m) => write!(f, "audit store: {m}"),
            AuditStoreError::Invalid(m) => write!(f, "audit store: {m}"),
        }
    }
}

impl std::error::Error for AuditStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditStoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A sink whose events can be read back.
#[async_trait]
pub trait AuditStore: AuditSink {
    /// The events `query` selects, newest first.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditStoreError>;
}

#[async_trait]
impl AuditStore for MemoryAuditLog {
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditStoreError> {
        Ok(query.select(self.events().into_iter()))
    }
}

/// The event with its parameters redacted (again: redaction is idempotent).
fn sanitized(mut event: AuditEvent) -> AuditEvent {
    event.parameters = redact(&event.parameters);
    event
}

/// Reports an event that could not be written; the operation goes on.
fn report_lost(event: &AuditEvent, sink: &str, e: &AuditStoreError) {
    tracing::error!(
        target: "cipp::audit",
        sink,
        error = %e,
        principal = %event.principal,
        operation = %event.operation,
        tenant = event.tenant.as_deref(),
        "an audit event could not be recorded"
    );
}

/// The outcome's status word, its detail, and the service's request id.
fn outcome_fields(o: &AuditOutcome) -> (&'static str, Option<&str>, Option<&str>) {
    match o {
        AuditOutcome::Succeeded => ("succeeded", None, None),
        AuditOutcome::Partial { message } => ("partial", Some(message), None),
        AuditOutcome::Failed { error, request_id } => {
            ("failed", Some(error), request_id.as_deref())
        }
        AuditOutcome::Refused { reason } => ("refused", Some(reason), None),
    }
}

// ---------------------------------------------------------------------------------------
// tracing

/// One `tracing` event per audit event: info level, target `cipp::audit`, fields
/// `at`, `principal`, `operation`, `permission`, `tenant`, `object` (the target object),
/// `outcome` (`succeeded`, `partial`, `failed`, `refused`), `detail` (the message, error or
/// reason), `request_id` and `parameters` (JSON, secrets removed).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingAuditSink;

impl TracingAuditSink {
    /// The sink.
    pub fn new() -> TracingAuditSink {
        TracingAuditSink
    }
}

#[async_trait]
impl AuditSink for TracingAuditSink {
    async fn record(&self, event: AuditEvent) {
        let e = sanitized(event);
        let (outcome, detail, request_id) = outcome_fields(&e.outcome);
        tracing::info!(
            target: "cipp::audit",
            at = %e.at.to_rfc3339(),
            principal = %e.principal,
            operation = %e.operation,
            permission = %e.permission,
            tenant = e.tenant.as_deref(),
            object = e.target.as_deref(),
            outcome,
            detail,
            request_id,
            parameters = %e.parameters,
            "audit: {} by {}: {outcome}",
            e.operation,
            e.principal,
        );
    }
}

// ---------------------------------------------------------------------------------------
// JSON lines

/// Audit events appended to a file, one JSON object per line (the [`AuditEvent`] in its
/// camelCase serde shape). The file is created when missing and opened for each write, so
/// a log rotated away is started again. Writes of one sink (and its clones) are serialized,
/// and each line is written with one call in append mode, so lines never interleave; open
/// one sink per file and clone it.
///
/// [`AuditStore::query`] scans the whole file; a line that is not an event (a torn write
/// after a crash) is skipped with a warning.
#[derive(Clone, Debug)]
pub struct JsonLinesAuditSink {
    path: Arc<PathBuf>,
    lock: Arc<Mutex<()>>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AuditStoreError + '_ {
    move |source| AuditStoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn lock(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn append(path: &Path) -> Result<std::fs::File, AuditStoreError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))
}

/// Runs blocking file or database work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AuditStoreError> + Send + 'static,
) -> Result<T, AuditStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AuditStoreError::Database(format!("the audit writer stopped: {e}")))?
}

impl JsonLinesAuditSink {
    /// A sink appending to `path`, created now when missing (so a path that cannot be
    /// written is refused here, not at the first event).
    pub fn open(path: impl Into<PathBuf>) -> Result<JsonLinesAuditSink, AuditStoreError> {
        let path = path.into();
        append(&path)?;
        Ok(JsonLinesAuditSink {
            path: Arc::new(path),
            lock: Arc::new(Mutex::new(())),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event (its parameters redacted), or says why it could not.
    pub async fn write(&self, event: &AuditEvent) -> Result<(), AuditStoreError> {
        let mut line = serde_json::to_vec(&sanitized(event.clone()))
            .map_err(|e| AuditStoreError::Invalid(format!("event not serializable: {e}")))?;
        line.push(b'\n');
        let (path, lock_) = (self.path.clone(), self.lock.clone());
        blocking(move || {
            let _serial = lock(&lock_);
            append(&path)?.write_all(&line).map_err(io_err(&path))
        })
        .await
    }
}

#[async_trait]
impl AuditSink for JsonLinesAuditSink {
    async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.write(&event).await {
            report_lost(&event, "json-lines", &e);
        }
    }
}

#[async_trait]
impl AuditStore for JsonLinesAuditSink {
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditStoreError> {
        let (path, lock_) = (self.path.clone(), self.lock.clone());
        let events = blocking(move || {
            let text = {
                let _serial = lock(&lock_);
                match std::fs::read_to_string(&*path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(e) => return Err(io_err(&path)(e)),
                }
            };
            let mut events = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<AuditEvent>(line) {
                    Ok(e) => events.push(e),
                    Err(e) => tracing::warn!(
                        target: "cipp::audit",
                        path = %path.display(),
                        line = i + 1,
                        error = %e,
                        "skipped a line of the audit log that is not an event"
                    ),
                }
            }
            Ok(events)
        })
        .await?;
        Ok(query.select(events.into_iter()))
    }
}

// ---------------------------------------------------------------------------------------
// SQLite

#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteAuditSink;

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    /// The table (and its indexes), created when missing. `at` in microseconds since the
    /// epoch; `event` the whole event as JSON; the other columns for queries.
    const SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS audit_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            principal TEXT NOT NULL COLLATE NOCASE,
            operation TEXT NOT NULL COLLATE NOCASE,
            permission TEXT NOT NULL,
            tenant TEXT COLLATE NOCASE,
            target TEXT COLLATE NOCASE,
            outcome TEXT NOT NULL,
            event TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
        CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (tenant, at);
        CREATE INDEX IF NOT EXISTS audit_events_principal ON audit_events (principal, at);
        CREATE INDEX IF NOT EXISTS audit_events_target ON audit_events (target, at);";

    fn db(e: rusqlite::Error) -> AuditStoreError {
        AuditStoreError::Database(format!("sqlite: {e}"))
    }

    /// Audit events in the SQLite table `audit_events` (created when missing; it may share
    /// the scheduler's database file). Each call runs on Tokio's blocking pool.
    #[derive(Clone)]
    pub struct SqliteAuditSink {
        conn: Arc<Mutex<rusqlite::Connection>>,
    }

    impl fmt::Debug for SqliteAuditSink {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SqliteAuditSink").finish_non_exhaustive()
        }
    }

    fn lock_conn(
        m: &Mutex<rusqlite::Connection>,
    ) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    impl SqliteAuditSink {
        /// Opens (or creates) the database at `path`, with the table.
        pub fn open(path: impl AsRef<Path>) -> Result<SqliteAuditSink, AuditStoreError> {
            let conn = rusqlite::Connection::open(path).map_err(db)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db)?;
            SqliteAuditSink::init(conn)
        }

        /// An in-memory database (tests).
        pub fn open_in_memory() -> Result<SqliteAuditSink, AuditStoreError> {
            SqliteAuditSink::init(rusqlite::Connection::open_in_memory().map_err(db)?)
        }

        fn init(conn: rusqlite::Connection) -> Result<SqliteAuditSink, AuditStoreError> {
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(db)?;
            conn.execute_batch(SCHEMA).map_err(db)?;
            Ok(SqliteAuditSink {
                conn: Arc::new(Mutex::new(conn)),
            })
        }

        async fn with<T: Send + 'static>(
            &self,
            f: impl FnOnce(&rusqlite::Connection) -> Result<T, AuditStoreError> + Send + 'static,
        ) -> Result<T, AuditStoreError> {
            let conn = self.conn.clone();
            blocking(move || f(&lock_conn(&conn))).await
        }

        /// Inserts one event (its parameters redacted), or says why it could not.
        pub async fn write(&self, event: &AuditEvent) -> Result<(), AuditStoreError> {
            let e = sanitized(event.clone());
            let json = serde_json::to_string(&e)
                .map_err(|x| AuditStoreError::Invalid(format!("event not serializable: {x}")))?;
            self.with(move |c| {
                c.execute(
                    "INSERT INTO audit_events
                        (at, principal, operation, permission, tenant, target, outcome, event)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    rusqlite::params![
                        e.at.timestamp_micros(),
                        e.principal,
                        e.operation,
                        e.permission,
                        e.tenant,
                        e.target,
                        outcome_fields(&e.outcome).0,
                        json
                    ],
                )
                .map(drop)
                .map_err(db)
            })
            .await
        }
    }

    #[async_trait]
    impl AuditSink for SqliteAuditSink {
        async fn record(&self, event: AuditEvent) {
            if let Err(e) = self.write(&event).await {
                report_lost(&event, "sqlite", &e);
            }
        }
    }

    #[async_trait]
    impl AuditStore for SqliteAuditSink {
        async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditStoreError> {
            use rusqlite::types::Value as V;
            let mut clauses = Vec::new();
            let mut params: Vec<V> = Vec::new();
            for f in query.filters() {
                // Columns are declared NOCASE: `=` and `LIKE` compare case-insensitively.
                match f {
                    Filter::Equal(col, v) => {
                        clauses.push(format!("{col} = ?"));
                        params.push(V::Text(v));
                    }
                    Filter::Prefix(col, p) => {
                        clauses.push(format!("{col} LIKE ? ESCAPE '\\'"));
                        params.push(V::Text(p));
                    }
                    Filter::From(t) => {
                        clauses.push("at >= ?".to_owned());
                        params.push(V::Integer(t.timestamp_micros()));
                    }
                    Filter::To(t) => {
                        clauses.push("at < ?".to_owned());
                        params.push(V::Integer(t.timestamp_micros()));
                    }
                }
            }
            let mut sql = "SELECT seq, event FROM audit_events".to_owned();
            if !clauses.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&clauses.join(" AND "));
            }
            sql.push_str(" ORDER BY at DESC, seq DESC");
            if let Some(n) = query.limit {
                sql.push_str(" LIMIT ?");
                params.push(V::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
            }
            self.with(move |c| {
                let mut stmt = c.prepare(&sql).map_err(db)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params), |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(db)?;
                let mut out = Vec::new();
                for row in rows {
                    let (seq, json) = row.map_err(db)?;
                    out.push(serde_json::from_str(&json).map_err(|e| {
                        AuditStoreError::Invalid(format!(
                            "audit_events row {seq} is not an audit event: {e}"
                        ))
                    })?);
                }
                Ok(out)
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

#[cfg(feature = "postgres")]
pub use self::postgres::PgAuditSink;

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use tokio_postgres::types::ToSql;
    use tokio_postgres::{Client, Config, NoTls};

    /// The advisory lock serialising table creation by several workers.
    const SCHEMA_LOCK: i64 = 72_743;

    /// The table (and its indexes), created when missing; `event` the whole event.
    const SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS audit_events (
            seq BIGSERIAL PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            principal TEXT NOT NULL,
            operation TEXT NOT NULL,
            permission TEXT NOT NULL,
            tenant TEXT,
            target TEXT,
            outcome TEXT NOT NULL,
            event JSONB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
        CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (lower(tenant), at);
        CREATE INDEX IF NOT EXISTS audit_events_principal ON audit_events (lower(principal), at);
        CREATE INDEX IF NOT EXISTS audit_events_target ON audit_events (lower(target), at);";

    fn pg(e: tokio_postgres::Error) -> AuditStoreError {
        match e.as_db_error() {
            Some(d) => AuditStoreError::Database(format!(
                "postgres: {} (SQLSTATE {})",
                d.message(),
                d.code().code()
            )),
            None => AuditStoreError::Database(format!("postgres: {e}")),
        }
    }

    /// Audit events in the PostgreSQL table `audit_events` of a schema (both created when
    /// missing), shared by every worker. One connection, re-opened when it drops; writes are
    /// one `INSERT` each.
    pub struct PgAuditSink {
        config: Config,
        schema: String,
        client: tokio::sync::Mutex<Option<Client>>,
    }

    impl fmt::Debug for PgAuditSink {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("PgAuditSink")
                .field("schema", &self.schema)
                .finish_non_exhaustive()
        }
    }

    async fn open(config: &Config, schema: &str) -> Result<Client, AuditStoreError> {
        let (client, connection) = config.connect(NoTls).await.map_err(pg)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "cipp::audit", error = %e, "postgres audit connection ended");
            }
        });
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .map_err(pg)?;
        Ok(client)
    }

    impl PgAuditSink {
        /// Connects (for example `host=127.0.0.1 user=postgres dbname=cipp`), creates
        /// `schema` and the table when missing.
        pub async fn connect(config: &str, schema: &str) -> Result<PgAuditSink, AuditStoreError> {
            if schema.is_empty()
                || schema.len() > 63
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(AuditStoreError::Invalid(format!(
                    "`{schema}` is not a schema name (1 to 63 letters, digits or _)"
                )));
            }
            let config: Config = config.parse().map_err(|e| {
                AuditStoreError::Invalid(format!(
                    "the PostgreSQL connection string is not valid ({e}); write it as \
                     `host=127.0.0.1 user=postgres dbname=cipp`"
                ))
            })?;
            // `search_path` may name the schema before it exists; it is resolved per query.
            let client = open(&config, schema).await?;
            client
                .batch_execute(&format!(
                    "BEGIN;
                     SELECT pg_advisory_xact_lock({SCHEMA_LOCK});
                     CREATE SCHEMA IF NOT EXISTS {schema};
                     {SCHEMA}
                     COMMIT;"
                ))
                .await
                .map_err(pg)?;
            Ok(PgAuditSink {
                config,
                schema: schema.to_owned(),
                client: tokio::sync::Mutex::new(Some(client)),
            })
        }

        /// The schema.
        pub fn schema(&self) -> &str {
            &self.schema
        }

        /// The connection, opened again when it dropped.
        async fn client(
            &self,
        ) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, AuditStoreError> {
            let mut guard = self.client.lock().await;
            if guard.as_ref().is_none_or(Client::is_closed) {
                *guard = None;
                *guard = Some(open(&self.config, &self.schema).await?);
            }
            Ok(guard)
        }

        /// Inserts one event (its parameters redacted), or says why it could not.
        pub async fn write(&self, event: &AuditEvent) -> Result<(), AuditStoreError> {
            let e = sanitized(event.clone());
            let json = serde_json::to_value(&e)
                .map_err(|x| AuditStoreError::Invalid(format!("event not serializable: {x}")))?;
            let guard = self.client().await?;
            let Some(client) = guard.as_ref() else {
                return Err(AuditStoreError::Database("postgres: not connected".into()));
            };
            client
                .execute(
                    "INSERT INTO audit_events
                        (at, principal, operation, permission, tenant, target, outcome, event)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &e.at,
                        &e.principal,
                        &e.operation,
                        &e.permission,
                        &e.tenant,
                        &e.target,
                        &outcome_fields(&e.outcome).0,
                        &json,
                    ],
                )
                .await
                .map(drop)
                .map_err(pg)
        }
    }

    #[async_trait]
    impl AuditSink for PgAuditSink {
        async fn record(&self, event: AuditEvent) {
            if let Err(e) = self.write(&event).await {
                report_lost(&event, "postgres", &e);
            }
        }
    }

    #[async_trait]
    impl AuditStore for PgAuditSink {
        async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditStoreError> {
            let mut clauses = Vec::new();
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            for f in query.filters() {
                let n = params.len() + 1;
                match f {
                    Filter::Equal(col, v) => {
                        clauses.push(format!("lower({col}) = lower(${n})"));
                        params.push(Box::new(v));
                    }
                    Filter::Prefix(col, p) => {
                        clauses.push(format!("lower({col}) LIKE lower(${n}) ESCAPE '\\'"));
                        params.push(Box::new(p));
                    }
                    Filter::From(t) => {
                        clauses.push(format!("at >= ${n}"));
                        params.push(Box::new(t));
                    }
                    Filter::To(t) => {
                        clauses.push(format!("at < ${n}"));
                        params.push(Box::new(t));
                    }
                }
            }
            let mut sql = "SELECT seq, event FROM audit_events".to_owned();
            if !clauses.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&clauses.join(" AND "));
            }
            sql.push_str(" ORDER BY at DESC, seq DESC");
            if let Some(n) = query.limit {
                sql.push_str(&format!(" LIMIT ${}", params.len() + 1));
                params.push(Box::new(i64::try_from(n).unwrap_or(i64::MAX)));
            }
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let guard = self.client().await?;
            let Some(client) = guard.as_ref() else {
                return Err(AuditStoreError::Database("postgres: not connected".into()));
            };
            let rows = client.query(&sql, &refs).await.map_err(pg)?;
            drop(guard);
            rows.into_iter()
                .map(|r| {
                    let seq: i64 = r.try_get(0).map_err(pg)?;
                    let json: serde_json::Value = r.try_get(1).map_err(pg)?;
                    serde_json::from_value(json).map_err(|e| {
                        AuditStoreError::Invalid(format!(
                            "audit_events row {seq} is not an audit event: {e}"
                        ))
                    })
                })
                .collect()
        }
    }
}
