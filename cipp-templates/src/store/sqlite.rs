//! Templates in a SQLite file (feature `sqlite`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{params, OptionalExtension};

use super::{blocking, check_id, lock, plan_put, PutPlan, StoreError, TemplateList, TemplateStore};
use crate::template::{Template, TemplateKind};

const MIGRATIONS: &[&str] = &[
    // 1: current versions and history.
    "CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        updated TEXT NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX templates_kind ON templates(kind);
     CREATE TABLE template_history (
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (id, version)
     );",
    // 2: standards results (latest per key) and their history.
    "CREATE TABLE standard_results (
        tenant TEXT NOT NULL,
        standard TEXT NOT NULL,
        template TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (tenant, standard, template)
     );
     CREATE TABLE standard_result_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        standard TEXT NOT NULL,
        template TEXT NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX standard_result_history_key ON standard_result_history(tenant, standard, template, seq);",
];

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Templates in a SQLite file (feature `sqlite`).
///
/// Two tables: `templates` (the current version of each template, with its id, kind,
/// name, version and hash as columns and the whole template as JSON in `data`) and
/// `template_history` (previous versions, keyed by id and version). The schema version is
/// SQLite's `user_version`; pending migrations run when the store opens. WAL journal,
/// every call on Tokio's blocking pool, each `put` and `delete` one transaction.
#[derive(Clone)]
pub struct SqliteTemplateStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl std::fmt::Debug for SqliteTemplateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTemplateStore")
            .finish_non_exhaustive()
    }
}

impl SqliteTemplateStore {
    /// Opens (or creates) the database at `path` and applies pending migrations.
    /// Blocking: call it at start-up, or inside `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteTemplateStore, StoreError> {
        SqliteTemplateStore::init(rusqlite::Connection::open(path).map_err(db)?)
    }

    /// A database in memory (tests).
    pub fn open_in_memory() -> Result<SqliteTemplateStore, StoreError> {
        SqliteTemplateStore::init(rusqlite::Connection::open_in_memory().map_err(db)?)
    }

    fn init(mut conn: rusqlite::Connection) -> Result<SqliteTemplateStore, StoreError> {
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
        if version > MIGRATIONS.len() {
            return Err(StoreError::Database(format!(
                "the database has schema version {version}, newer than this version of \
                 cipp-templates knows ({}); upgrade cipp-templates",
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            tx.execute_batch(m).map_err(db)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(SqliteTemplateStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub(crate) async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        blocking(move || f(&mut lock(&conn))).await
    }
}

fn parse(id: &str, location: &str, data: &str) -> Result<Template, StoreError> {
    let mut t: Template = serde_json::from_str(data).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        location: location.to_owned(),
        reason: e.to_string(),
    })?;
    t.refresh_hash();
    Ok(t)
}

fn to_json(t: &Template) -> Result<String, StoreError> {
    serde_json::to_string(t).map_err(|e| StoreError::Database(format!("serialising: {e}")))
}

fn read_current(c: &rusqlite::Connection, id: &str) -> Result<Option<Template>, StoreError> {
    let data: Option<String> = c
        .query_row("SELECT data FROM templates WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    data.map(|d| parse(id, "templates", &d)).transpose()
}

#[async_trait]
impl TemplateStore for SqliteTemplateStore {
    async fn put(&self, template: Template) -> Result<Template, StoreError> {
        check_id(&template.id)?;
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let existing = read_current(&tx, &template.id)?;
            let plan = plan_put(existing, template, Utc::now())?;
            if let PutPlan::Write { new, previous } = &plan {
                if let Some(p) = previous {
                    tx.execute(
                        "INSERT OR REPLACE INTO template_history (id, version, data)
                         VALUES (?1, ?2, ?3)",
                        params![p.id, p.version, to_json(p)?],
                    )
                    .map_err(db)?;
                }
                tx.execute(
                    "INSERT INTO templates (id, kind, name, version, content_hash, updated, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(id) DO UPDATE SET kind = ?2, name = ?3, version = ?4,
                       content_hash = ?5, updated = ?6, data = ?7",
                    params![
                        new.id,
                        new.kind.as_str(),
                        new.name,
                        new.version,
                        new.content_hash,
                        new.updated.to_rfc3339(),
                        to_json(new)?,
                    ],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(plan.result())
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| read_current(c, &id)).await
    }

    async fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            let tx = c.transaction().map_err(db)?;
            let Some(current) = read_current(&tx, &id)? else {
                return Ok(None);
            };
            if current.version == version {
                return Ok(Some(current));
            }
            let data: Option<String> = tx
                .query_row(
                    "SELECT data FROM template_history WHERE id = ?1 AND version = ?2",
                    params![id, version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            data.map(|d| parse(&id, &format!("template_history version {version}"), &d))
                .transpose()
        })
        .await
    }

    async fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError> {
        let kind = kind.map(|k| k.as_str().to_owned());
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT id, data FROM templates WHERE ?1 IS NULL OR kind = ?1 ORDER BY id")
                .map_err(db)?;
            let rows = stmt
                .query_map([kind], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(db)?;
            let mut out = TemplateList::default();
            for row in rows {
                let (id, data) = row.map_err(db)?;
                match parse(&id, "templates", &data) {
                    Ok(t) => out.templates.push(t),
                    Err(e) => out.unreadable.push(e),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn history(&self, id: &str) -> Result<Vec<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT version, data FROM template_history WHERE id = ?1 ORDER BY version",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([&id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (version, data) = row.map_err(db)?;
                out.push(parse(
                    &id,
                    &format!("template_history version {version}"),
                    &data,
                )?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let n = tx
                .execute("DELETE FROM templates WHERE id = ?1", [&id])
                .map_err(db)?;
            tx.execute("DELETE FROM template_history WHERE id = ?1", [&id])
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(n > 0)
        })
        .await
    }
}
