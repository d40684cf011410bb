//! Templates in PostgreSQL (feature `postgres`), shared by every worker that reaches the
//! database.

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, GenericClient, NoTls};

use super::{check_id, plan_put, PutPlan, StoreError, TemplateList, TemplateStore};
use crate::template::{Template, TemplateKind};

/// Migrations in order; `cipp_template_schema_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: current versions and history.
    "CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        content_hash TEXT NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        data JSONB NOT NULL
     );
     CREATE INDEX templates_kind ON templates(kind);
     CREATE TABLE template_history (
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        data JSONB NOT NULL,
        PRIMARY KEY (id, version)
     );",
    // 2: standards results (latest per key) and their history.
    "CREATE TABLE standard_results (
        tenant TEXT NOT NULL,
        standard TEXT NOT NULL,
        template TEXT NOT NULL,
        data JSONB NOT NULL,
        PRIMARY KEY (tenant, standard, template)
     );
     CREATE TABLE standard_result_history (
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        standard TEXT NOT NULL,
        template TEXT NOT NULL,
        data JSONB NOT NULL
     );
     CREATE INDEX standard_result_history_key ON standard_result_history(tenant, standard, template, seq);",
];

/// The advisory lock that serialises migrations across workers.
const MIGRATION_LOCK: i64 = 72742;

pub(crate) fn db(e: tokio_postgres::Error) -> StoreError {
    // tokio-postgres errors name the server's message and code, never the password of
    // the connection string.
    StoreError::Database(e.to_string())
}

/// Templates in PostgreSQL (feature `postgres`).
///
/// The same two tables as the SQLite store (`templates` with the current version of each
/// template and `template_history` with the previous ones; the template as `JSONB` in
/// `data`), in a schema of the caller's choosing, created when missing. Pending
/// migrations run when the store connects, serialised across workers by an advisory
/// lock. Each `put` and `delete` is one transaction that first takes a transaction-scoped
/// advisory lock on the template's id, so two workers storing the same template one
/// after the other get versions *n + 1* and *n + 2*, never two versions *n + 1*.
///
/// One connection, used by one call at a time and reopened when the server closed it:
/// template reads and writes are rare next to the requests a deploy sends.
pub struct PgTemplateStore {
    config: Config,
    schema: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgTemplateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection settings may hold a password: only the schema is shown.
        f.debug_struct("PgTemplateStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "`{schema}` is not a schema name: use 1 to 63 ASCII letters, digits or _, not \
             starting with a digit"
        )))
    }
}

async fn open(config: &Config, schema: &str) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(db)?;
    // A failed connection surfaces as an error on the next call, which reopens it.
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .map_err(db)?;
    Ok(client)
}

impl PgTemplateStore {
    /// Connects with a libpq-style connection string (`host=… port=… user=… dbname=…` or
    /// a `postgresql://` URL), creates `schema` when missing and applies pending
    /// migrations.
    pub async fn connect(config: &str, schema: &str) -> Result<PgTemplateStore, StoreError> {
        check_schema(schema)?;
        let config: Config = config.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Database(format!("the connection string is not valid: {e}"))
        })?;
        let (client, connection) = config.connect(NoTls).await.map_err(db)?;
        let driver = tokio::spawn(connection);
        let migrated = migrate(&client, schema).await;
        drop(client);
        let _ = driver.await;
        migrated?;
        let client = open(&config, schema).await?;
        Ok(PgTemplateStore {
            config,
            schema: schema.to_owned(),
            client: Mutex::new(Some(client)),
        })
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Runs `f` on the connection, reopening it first when the server closed it.
    pub(crate) async fn with<T>(
        &self,
        f: impl for<'c> FnOnce(&'c mut Client) -> futures::future::BoxFuture<'c, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(open(&self.config, &self.schema).await?);
        }
        match guard.as_mut() {
            Some(client) => f(client).await,
            None => Err(StoreError::Database("no connection".to_owned())),
        }
    }
}

/// Creates the schema and applies pending migrations under an advisory lock (released
/// when the migration connection closes, even if a migration fails).
async fn migrate(client: &Client, schema: &str) -> Result<(), StoreError> {
    client
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({MIGRATION_LOCK});
             CREATE SCHEMA IF NOT EXISTS {schema};
             SET search_path TO {schema};
             CREATE TABLE IF NOT EXISTS cipp_template_schema_version (version INT NOT NULL);"
        ))
        .await
        .map_err(db)?;
    let row = client
        .query_opt("SELECT version FROM cipp_template_schema_version", &[])
        .await
        .map_err(db)?;
    let version = row.map(|r| r.get::<_, i32>(0)).unwrap_or(0);
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "schema {schema} has template schema version {version}, newer than this version \
             of cipp-templates knows ({}); upgrade cipp-templates",
            MIGRATIONS.len()
        )));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
        let n = i32::try_from(i + 1).unwrap_or(i32::MAX);
        client.batch_execute("BEGIN").await.map_err(db)?;
        let step = async {
            client.batch_execute(m).await?;
            client
                .batch_execute("DELETE FROM cipp_template_schema_version")
                .await?;
            client
                .execute(
                    "INSERT INTO cipp_template_schema_version (version) VALUES ($1)",
                    &[&n],
                )
                .await?;
            client.batch_execute("COMMIT").await
        }
        .await;
        if let Err(e) = step {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(db(e));
        }
    }
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await
        .map_err(db)
}

fn parse(id: &str, location: &str, data: serde_json::Value) -> Result<Template, StoreError> {
    let mut t: Template = serde_json::from_value(data).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        location: location.to_owned(),
        reason: e.to_string(),
    })?;
    t.refresh_hash();
    Ok(t)
}

fn to_json(t: &Template) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(t).map_err(|e| StoreError::Database(format!("serialising: {e}")))
}

async fn read_current(c: &impl GenericClient, id: &str) -> Result<Option<Template>, StoreError> {
    let row = c
        .query_opt("SELECT data FROM templates WHERE id = $1", &[&id])
        .await
        .map_err(db)?;
    row.map(|r| parse(id, "templates", r.get(0))).transpose()
}

#[async_trait]
impl TemplateStore for PgTemplateStore {
    async fn put(&self, template: Template) -> Result<Template, StoreError> {
        check_id(&template.id)?;
        self.with(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('cipp_template:' || $1))",
                    &[&template.id],
                )
                .await
                .map_err(db)?;
                let existing = read_current(&tx, &template.id).await?;
                let plan = plan_put(existing, template, Utc::now())?;
                if let PutPlan::Write { new, previous } = &plan {
                    if let Some(p) = previous {
                        tx.execute(
                            "INSERT INTO template_history (id, version, data) VALUES ($1, $2, $3)
                             ON CONFLICT (id, version) DO UPDATE SET data = $3",
                            &[&p.id, &i64::from(p.version), &to_json(p)?],
                        )
                        .await
                        .map_err(db)?;
                    }
                    tx.execute(
                        "INSERT INTO templates (id, kind, name, version, content_hash, updated, data)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (id) DO UPDATE SET kind = $2, name = $3, version = $4,
                           content_hash = $5, updated = $6, data = $7",
                        &[
                            &new.id,
                            &new.kind.as_str(),
                            &new.name,
                            &i64::from(new.version),
                            &new.content_hash,
                            &new.updated,
                            &to_json(new)?,
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                Ok(plan.result())
            })
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| Box::pin(async move { read_current(c, &id).await }))
            .await
    }

    async fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                let Some(current) = read_current(&tx, &id).await? else {
                    return Ok(None);
                };
                if current.version == version {
                    return Ok(Some(current));
                }
                let row = tx
                    .query_opt(
                        "SELECT data FROM template_history WHERE id = $1 AND version = $2",
                        &[&id, &i64::from(version)],
                    )
                    .await
                    .map_err(db)?;
                row.map(|r| {
                    parse(
                        &id,
                        &format!("template_history version {version}"),
                        r.get(0),
                    )
                })
                .transpose()
            })
        })
        .await
    }

    async fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError> {
        let kind = kind.map(|k| k.as_str().to_owned());
        self.with(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT id, data FROM templates
                         WHERE $1::TEXT IS NULL OR kind = $1 ORDER BY id",
                        &[&kind],
                    )
                    .await
                    .map_err(db)?;
                let mut out = TemplateList::default();
                for row in rows {
                    let id: String = row.get(0);
                    match parse(&id, "templates", row.get(1)) {
                        Ok(t) => out.templates.push(t),
                        Err(e) => out.unreadable.push(e),
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn history(&self, id: &str) -> Result<Vec<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT version, data FROM template_history WHERE id = $1
                         ORDER BY version",
                        &[&id],
                    )
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|row| {
                        let version: i64 = row.get(0);
                        parse(
                            &id,
                            &format!("template_history version {version}"),
                            row.get(1),
                        )
                    })
                    .collect()
            })
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.with(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('cipp_template:' || $1))",
                    &[&id],
                )
                .await
                .map_err(db)?;
                let n = tx
                    .execute("DELETE FROM templates WHERE id = $1", &[&id])
                    .await
                    .map_err(db)?;
                tx.execute("DELETE FROM template_history WHERE id = $1", &[&id])
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(n > 0)
            })
        })
        .await
    }
}
