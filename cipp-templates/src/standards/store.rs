//! Where standards results live: the latest result of each (tenant, standard[, template])
//! with its drift history, and every result in order. [`ResultStore::record`] applies the
//! one rule [`next_record`] and says what changed ([`Transition`](super::results::Transition)), so an alert is raised
//! once per new drift whichever worker ran the standard.
//!
//! Stores: [`MemoryResultStore`]; the SQLite and PostgreSQL template stores
//! (`SqliteTemplateStore`, `PgTemplateStore`, features `sqlite` / `postgres`) hold results
//! too, in tables `standard_results` and `standard_result_history`, so one database keeps an
//! MSP's templates and its compliance.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cipp_core::TenantId;

use super::results::{next_record, Recorded, ResultKey, ResultRecord, StandardResult};
use crate::store::{lock, StoreError};

/// Results storage. Every store follows [`next_record`].
#[async_trait]
pub trait ResultStore: Send + Sync {
    /// Records `results` (the latest per key replaced, each appended to the history) and
    /// returns each one's record and transition, in order.
    async fn record(&self, results: Vec<StandardResult>) -> Result<Vec<Recorded>, StoreError>;

    /// The latest record of every key, ordered by key; only `tenant`'s when given.
    async fn latest(&self, tenant: Option<&TenantId>) -> Result<Vec<ResultRecord>, StoreError>;

    /// The results of `key`, oldest first, at most the last `limit`.
    async fn history(
        &self,
        key: &ResultKey,
        limit: usize,
    ) -> Result<Vec<StandardResult>, StoreError>;
}

/// Results in memory (tests, one-off runs).
#[derive(Debug, Default)]
pub struct MemoryResultStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    latest: BTreeMap<ResultKey, ResultRecord>,
    history: BTreeMap<ResultKey, Vec<StandardResult>>,
}

impl MemoryResultStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryResultStore::default()
    }
}

#[async_trait]
impl ResultStore for MemoryResultStore {
    async fn record(&self, results: Vec<StandardResult>) -> Result<Vec<Recorded>, StoreError> {
        let mut g = lock(&self.inner);
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            let key = r.key.clone();
            let (record, transition) = next_record(g.latest.get(&key), r);
            g.history
                .entry(key.clone())
                .or_default()
                .push(record.result.clone());
            g.latest.insert(key, record.clone());
            out.push(Recorded { record, transition });
        }
        Ok(out)
    }

    async fn latest(&self, tenant: Option<&TenantId>) -> Result<Vec<ResultRecord>, StoreError> {
        let g = lock(&self.inner);
        Ok(g.latest
            .iter()
            .filter(|(k, _)| tenant.is_none_or(|t| &k.tenant == t))
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn history(
        &self,
        key: &ResultKey,
        limit: usize,
    ) -> Result<Vec<StandardResult>, StoreError> {
        let g = lock(&self.inner);
        let all = g.history.get(key).map(Vec::as_slice).unwrap_or_default();
        Ok(all[all.len().saturating_sub(limit)..].to_vec())
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn corrupt(key: &str, e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        id: key.to_owned(),
        location: "standard_results".into(),
        reason: e.to_string(),
    }
}

#[cfg(feature = "sqlite")]
fn serialise<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Database(format!("serialising: {e}")))
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::store::sqlite::db;
    use crate::store::SqliteTemplateStore;
    use rusqlite::OptionalExtension;

    #[async_trait]
    impl ResultStore for SqliteTemplateStore {
        async fn record(&self, results: Vec<StandardResult>) -> Result<Vec<Recorded>, StoreError> {
            self.with(move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(db)?;
                let mut out = Vec::with_capacity(results.len());
                for r in results {
                    let k = r.key.clone();
                    let tenant = k.tenant.to_string();
                    let template = k.template.clone().unwrap_or_default();
                    let prev: Option<String> = tx
                        .query_row(
                            "SELECT data FROM standard_results WHERE tenant = ?1 AND standard = ?2 AND template = ?3",
                            [&tenant, &k.standard, &template],
                            |row| row.get(0),
                        )
                        .optional()
                        .map_err(db)?;
                    let prev: Option<ResultRecord> = prev
                        .map(|d| serde_json::from_str(&d).map_err(|e| corrupt(&k.to_string(), e)))
                        .transpose()?;
                    let (record, transition) = next_record(prev.as_ref(), r);
                    tx.execute(
                        "INSERT INTO standard_results (tenant, standard, template, data) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (tenant, standard, template) DO UPDATE SET data = ?4",
                        [&tenant, &k.standard, &template, &serialise(&record)?],
                    )
                    .map_err(db)?;
                    tx.execute(
                        "INSERT INTO standard_result_history (tenant, standard, template, data) VALUES (?1, ?2, ?3, ?4)",
                        [&tenant, &k.standard, &template, &serialise(&record.result)?],
                    )
                    .map_err(db)?;
                    out.push(Recorded { record, transition });
                }
                tx.commit().map_err(db)?;
                Ok(out)
            })
            .await
        }

        async fn latest(&self, tenant: Option<&TenantId>) -> Result<Vec<ResultRecord>, StoreError> {
            let tenant = tenant.map(ToString::to_string);
            self.with(move |c| {
                let mut stmt = c
                    .prepare(
                        "SELECT tenant, standard, template, data FROM standard_results
                         WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, standard, template",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([&tenant], |r| {
                        Ok((r.get::<_, String>(1)?, r.get::<_, String>(3)?))
                    })
                    .map_err(db)?;
                let mut out = Vec::new();
                for row in rows {
                    let (standard, data) = row.map_err(db)?;
                    out.push(serde_json::from_str(&data).map_err(|e| corrupt(&standard, e))?);
                }
                Ok(out)
            })
            .await
        }

        async fn history(
            &self,
            key: &ResultKey,
            limit: usize,
        ) -> Result<Vec<StandardResult>, StoreError> {
            let k = key.clone();
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            self.with(move |c| {
                let mut stmt = c
                    .prepare(
                        "SELECT data FROM (SELECT seq, data FROM standard_result_history
                         WHERE tenant = ?1 AND standard = ?2 AND template = ?3
                         ORDER BY seq DESC LIMIT ?4) ORDER BY seq",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map(
                        rusqlite::params![
                            k.tenant.to_string(),
                            k.standard,
                            k.template.clone().unwrap_or_default(),
                            limit
                        ],
                        |r| r.get::<_, String>(0),
                    )
                    .map_err(db)?;
                let mut out = Vec::new();
                for row in rows {
                    let data = row.map_err(db)?;
                    out.push(serde_json::from_str(&data).map_err(|e| corrupt(&k.to_string(), e))?);
                }
                Ok(out)
            })
            .await
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::store::postgres::db;
    use crate::store::PgTemplateStore;

    #[async_trait]
    impl ResultStore for PgTemplateStore {
        async fn record(&self, results: Vec<StandardResult>) -> Result<Vec<Recorded>, StoreError> {
            self.with(move |c| {
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(db)?;
                    let mut out = Vec::with_capacity(results.len());
                    for r in results {
                        let k = r.key.clone();
                        let tenant = k.tenant.to_string();
                        let template = k.template.clone().unwrap_or_default();
                        // Row lock: two workers recording the same key apply the rule one
                        // after the other, so a new drift is reported once.
                        tx.execute(
                            "INSERT INTO standard_results (tenant, standard, template, data)
                             VALUES ($1, $2, $3, 'null'::jsonb) ON CONFLICT DO NOTHING",
                            &[&tenant, &k.standard, &template],
                        )
                        .await
                        .map_err(db)?;
                        let row = tx
                            .query_one(
                                "SELECT data FROM standard_results
                                 WHERE tenant = $1 AND standard = $2 AND template = $3 FOR UPDATE",
                                &[&tenant, &k.standard, &template],
                            )
                            .await
                            .map_err(db)?;
                        let prev: serde_json::Value = row.get(0);
                        let prev: Option<ResultRecord> = if prev.is_null() {
                            None
                        } else {
                            Some(
                                serde_json::from_value(prev)
                                    .map_err(|e| corrupt(&k.to_string(), e))?,
                            )
                        };
                        let (record, transition) = next_record(prev.as_ref(), r);
                        let data = serde_json::to_value(&record)
                            .map_err(|e| StoreError::Database(format!("serialising: {e}")))?;
                        let result = serde_json::to_value(&record.result)
                            .map_err(|e| StoreError::Database(format!("serialising: {e}")))?;
                        tx.execute(
                            "UPDATE standard_results SET data = $4
                             WHERE tenant = $1 AND standard = $2 AND template = $3",
                            &[&tenant, &k.standard, &template, &data],
                        )
                        .await
                        .map_err(db)?;
                        tx.execute(
                            "INSERT INTO standard_result_history (tenant, standard, template, data)
                             VALUES ($1, $2, $3, $4)",
                            &[&tenant, &k.standard, &template, &result],
                        )
                        .await
                        .map_err(db)?;
                        out.push(Recorded { record, transition });
                    }
                    tx.commit().await.map_err(db)?;
                    Ok(out)
                })
            })
            .await
        }

        async fn latest(&self, tenant: Option<&TenantId>) -> Result<Vec<ResultRecord>, StoreError> {
            let tenant = tenant.map(ToString::to_string);
            self.with(move |c| {
                Box::pin(async move {
                    let rows = c
                        .query(
                            "SELECT standard, data FROM standard_results
                             WHERE ($1::TEXT IS NULL OR tenant = $1) AND data <> 'null'::jsonb
                             ORDER BY tenant, standard, template",
                            &[&tenant],
                        )
                        .await
                        .map_err(db)?;
                    rows.into_iter()
                        .map(|r| {
                            let standard: String = r.get(0);
                            serde_json::from_value(r.get(1)).map_err(|e| corrupt(&standard, e))
                        })
                        .collect()
                })
            })
            .await
        }

        async fn history(
            &self,
            key: &ResultKey,
            limit: usize,
        ) -> Result<Vec<StandardResult>, StoreError> {
            let k = key.clone();
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            self.with(move |c| {
                Box::pin(async move {
                    let rows = c
                        .query(
                            "SELECT data FROM (SELECT seq, data FROM standard_result_history
                             WHERE tenant = $1 AND standard = $2 AND template = $3
                             ORDER BY seq DESC LIMIT $4) h ORDER BY seq",
                            &[
                                &k.tenant.to_string(),
                                &k.standard,
                                &k.template.clone().unwrap_or_default(),
                                &limit,
                            ],
                        )
                        .await
                        .map_err(db)?;
                    rows.into_iter()
                        .map(|r| {
                            serde_json::from_value(r.get(0)).map_err(|e| corrupt(&k.to_string(), e))
                        })
                        .collect()
                })
            })
            .await
        }
    }
}
