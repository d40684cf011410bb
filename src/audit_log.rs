//! Audit-log ingestion with a durable cursor per tenant, so each record is evaluated once.
//!
//! [`AuditFeed::poll`] reads a tenant's unified audit log from the Purview audit log query
//! API (Graph `security/auditLog/queries`, what CIPP uses) or from `Search-UnifiedAuditLog`
//! (Exchange), over the window from the cursor (less an overlap: Microsoft delivers records
//! up to hours late) to now, drops the records already seen (by record id), and claims the
//! rest by writing the cursor with a compare-and-swap in a [`KvStore`] (the scheduler's
//! store: memory, SQLite or PostgreSQL), so of several workers polling one tenant only one
//! gets each record. Claimed records stay pending until [`AuditFeed::ack`]; a worker that
//! stopped before acknowledging leaves them to be delivered again after the lease (marked
//! `redelivered`), so nothing is lost, and nothing is delivered twice unless a worker died
//! holding it — and then the batch says so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use cipp_core::Error;
use cipp_scheduler::kv::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TenantHandle;

/// The key-value namespace of the cursors.
pub const CURSOR_NAMESPACE: &str = "audit-log-cursor";

/// Where records come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AuditSource {
    /// Graph's audit log query API (`beta/security/auditLog/queries`).
    GraphQuery,
    /// Exchange's `Search-UnifiedAuditLog`.
    UnifiedAuditLog,
}

/// How a feed reads.
#[derive(Clone)]
pub struct AuditFeed {
    kv: Arc<dyn KvStore>,
    /// Where records come from.
    pub source: AuditSource,
    /// How far back each poll reaches before the cursor (late records); default 4 hours.
    pub overlap: Duration,
    /// How far back the first poll of a tenant reaches; default 1 hour.
    pub first_window: Duration,
    /// How long a claim lasts before unacknowledged records are delivered again; default
    /// 15 minutes.
    pub lease: Duration,
    /// Record types to ask for (Graph's names: `exchangeAdmin`, `azureActiveDirectory`, …;
    /// empty: all).
    pub record_types: Vec<String>,
    /// How many times to read a Graph query's status before giving up (with a growing
    /// wait between reads); default 10.
    pub max_status_reads: u32,
}

impl std::fmt::Debug for AuditFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditFeed")
            .field("source", &self.source)
            .field("overlap", &self.overlap)
            .field("first_window", &self.first_window)
            .field("lease", &self.lease)
            .field("record_types", &self.record_types)
            .finish_non_exhaustive()
    }
}

/// The cursor of one tenant, as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// Records up to here have been read.
    until: Option<DateTime<Utc>>,
    /// Ids seen within the overlap, with their times (pruned as the window moves).
    seen: BTreeMap<String, DateTime<Utc>>,
    /// Claimed, not yet acknowledged: id → (claim time, record).
    pending: BTreeMap<String, Pending>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    claimed: DateTime<Utc>,
    record: Value,
}

/// What one poll claimed.
#[derive(Clone, Debug, Default)]
pub struct AuditBatch {
    /// The records (`AuditData` objects, the unified audit log's shape), oldest first.
    pub records: Vec<Value>,
    /// How many of them were claimed before by a worker that did not acknowledge them.
    pub redelivered: usize,
    /// The window read.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl AuditBatch {
    /// The ids of the records (for [`AuditFeed::ack`]).
    pub fn ids(&self) -> Vec<String> {
        self.records.iter().filter_map(record_id).collect()
    }
}

/// A record's id (`Id` in `AuditData`).
pub fn record_id(record: &Value) -> Option<String> {
    record
        .get("Id")
        .or_else(|| record.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn record_time(record: &Value) -> Option<DateTime<Utc>> {
    let t = record.get("CreationTime").and_then(Value::as_str)?;
    let with_zone = if t.ends_with('Z') || t.contains('+') {
        t.to_owned()
    } else {
        format!("{t}Z")
    };
    DateTime::parse_from_rfc3339(&with_zone)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::invalid_input("audit log cursor", e.to_string())
}

impl AuditFeed {
    /// A feed from `source` with its cursors in `kv`.
    pub fn new(kv: Arc<dyn KvStore>, source: AuditSource) -> AuditFeed {
        AuditFeed {
            kv,
            source,
            overlap: Duration::hours(4),
            first_window: Duration::hours(1),
            lease: Duration::minutes(15),
            record_types: Vec::new(),
            max_status_reads: 10,
        }
    }

    /// The records of the tenant not delivered before (and those whose claim lapsed),
    /// claimed for this caller. Acknowledge them with [`AuditFeed::ack`] once processed.
    pub async fn poll(&self, handle: &TenantHandle) -> Result<AuditBatch, Error> {
        let tenant = handle.id().as_str().to_ascii_lowercase();
        let now = handle.cipp().clock().now();
        // Two tries: a lost compare-and-swap means another worker moved the cursor; read
        // it again and take what it left.
        for _ in 0..2 {
            let stored = self
                .kv
                .get(CURSOR_NAMESPACE, &tenant)
                .await
                .map_err(store_error)?;
            let (mut cursor, version) = match &stored {
                Some(v) => (
                    serde_json::from_value::<Cursor>(v.value.clone()).map_err(|e| {
                        store_error(format!(
                            "the cursor of {tenant} does not read ({e}); delete it to start over"
                        ))
                    })?,
                    Some(v.version),
                ),
                None => (Cursor::default(), None),
            };
            let start = cursor
                .until
                .map_or(now - self.first_window, |u| u - self.overlap);
            let end = now;
            let fetched = if end > start {
                self.fetch(handle, start, end).await?
            } else {
                Vec::new()
            };
            let mut batch = AuditBatch {
                window: Some((start, end)),
                ..AuditBatch::default()
            };
            // Lapsed claims first.
            for p in cursor.pending.values_mut() {
                if now - p.claimed >= self.lease {
                    p.claimed = now;
                    batch.records.push(p.record.clone());
                    batch.redelivered += 1;
                }
            }
            for r in fetched {
                let Some(id) = record_id(&r) else { continue };
                if cursor.seen.contains_key(&id) || cursor.pending.contains_key(&id) {
                    continue;
                }
                let at = record_time(&r).unwrap_or(now);
                cursor.seen.insert(id.clone(), at);
                cursor.pending.insert(
                    id,
                    Pending {
                        claimed: now,
                        record: r.clone(),
                    },
                );
                batch.records.push(r);
            }
            let horizon = end - self.overlap - Duration::hours(1);
            cursor.seen.retain(|_, t| *t >= horizon);
            cursor.until = Some(end);
            let value = serde_json::to_value(&cursor).map_err(store_error)?;
            match self
                .kv
                .put(CURSOR_NAMESPACE, &tenant, &value, version)
                .await
                .map_err(store_error)?
            {
                Ok(_) => {
                    batch.records.sort_by_key(|r| record_time(r).unwrap_or(now));
                    return Ok(batch);
                }
                Err(_) => continue,
            }
        }
        Err(Error::invalid_input(
            "audit log cursor",
            format!(
                "another worker is reading the audit log of {tenant} at the same time; this \
                 poll took nothing and the next one will continue"
            ),
        ))
    }

    /// Marks records as processed: they are never delivered again.
    pub async fn ack(&self, handle: &TenantHandle, ids: &[String]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let tenant = handle.id().as_str().to_ascii_lowercase();
        loop {
            let Some(stored) = self
                .kv
                .get(CURSOR_NAMESPACE, &tenant)
                .await
                .map_err(store_error)?
            else {
                return Ok(());
            };
            let mut cursor: Cursor =
                serde_json::from_value(stored.value.clone()).map_err(store_error)?;
            let before = cursor.pending.len();
            for id in ids {
                cursor.pending.remove(id);
            }
            if cursor.pending.len() == before {
                return Ok(());
            }
            let value = serde_json::to_value(&cursor).map_err(store_error)?;
            if self
                .kv
                .put(CURSOR_NAMESPACE, &tenant, &value, Some(stored.version))
                .await
                .map_err(store_error)?
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    /// The records of `[start, end)` from the source.
    async fn fetch(
        &self,
        handle: &TenantHandle,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Value>, Error> {
        match self.source {
            AuditSource::GraphQuery => self.fetch_graph(handle, start, end).await,
            AuditSource::UnifiedAuditLog => fetch_exchange(handle, start, end).await,
        }
    }

    async fn fetch_graph(
        &self,
        handle: &TenantHandle,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Value>, Error> {
        use cipp_graph::audit_queries::NewAuditLogQuery;
        let queries = handle.graph().audit_queries();
        let q = queries
            .create(&NewAuditLogQuery {
                display_name: format!("cipp-rs {}", end.format("%Y-%m-%dT%H:%M:%SZ")),
                filter_start_date_time: start,
                filter_end_date_time: end,
                record_type_filters: self.record_types.clone(),
                operation_filters: Vec::new(),
                user_principal_name_filters: Vec::new(),
            })
            .await?;
        let mut wait = StdDuration::from_secs(2);
        let mut status = q.clone();
        let mut reads = 0;
        while !status.succeeded() {
            if status.failed() {
                return Err(Error::invalid_input(
                    "audit log query",
                    format!(
                        "query {} ended {}; the window will be read again next time",
                        q.id,
                        status.status.as_deref().unwrap_or("?")
                    ),
                ));
            }
            if reads >= self.max_status_reads {
                return Err(Error::invalid_input(
                    "audit log query",
                    format!(
                        "query {} has not finished after {reads} reads; the window will be read \
                         again next time",
                        q.id
                    ),
                ));
            }
            if reads > 0 {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(StdDuration::from_secs(60));
            }
            status = queries.get(&q.id).await?;
            reads += 1;
        }
        Ok(queries
            .records(&q.id)
            .await?
            .into_iter()
            .map(|r| {
                if r.audit_data.is_object() && r.audit_data.get("Id").is_some() {
                    r.audit_data
                } else {
                    let mut d = r.audit_data.clone();
                    if let Value::Object(m) = &mut d {
                        m.insert("Id".into(), Value::String(r.id.clone()));
                    } else {
                        d = serde_json::json!({"Id": r.id, "Operation": r.operation});
                    }
                    d
                }
            })
            .collect())
    }
}

/// Every record of `[start, end)` through `Search-UnifiedAuditLog` (one session, pages of
/// 5,000), as `AuditData` objects.
async fn fetch_exchange(
    handle: &TenantHandle,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Value>, Error> {
    // A session pages one search: never share it between searches (a retry, another
    // worker), or the second search starts where the first stopped.
    static SEARCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEARCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = format!(
        "cipp-rs-{}-{}-{}-{n}",
        handle.id().as_str(),
        end.timestamp(),
        std::process::id()
    );
    let mut out = Vec::new();
    loop {
        let cmd = cipp_exchange::cmdlets::search_unified_audit_log(start, end, &[], &[], &session)?;
        let page = handle.exchange().invoke_as(&cmd).await?.value;
        let n = page.len();
        for r in page {
            let data = r
                .audit_data
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            if let Some(d) = data {
                out.push(d);
            }
        }
        if n < 5000 {
            break;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Rules over the feed

/// What one action did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    /// The action (`disableuser`, `becremediate`, or a notification channel).
    pub action: String,
    /// Done, skipped or failed, and why.
    pub outcome: cipp_core::Outcome,
}

/// A record a rule matched, and what its actions did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleHit {
    /// The rule.
    pub rule_id: String,
    /// The rule's name.
    pub rule: String,
    /// The record's id.
    pub record_id: Option<String>,
    /// The record's user.
    pub user: Option<String>,
    /// The operation.
    pub operation: Option<String>,
    /// The tenant-side actions' outcomes (notifications are the task's).
    pub actions: Vec<ActionOutcome>,
    /// Whether the record was delivered before to a worker that did not finish it (its
    /// actions may have run already).
    pub redelivered: bool,
}

/// Reads the tenant's new audit records from `feed`, evaluates every rule that applies to
/// the tenant (known by `names`, in `groups`), runs each match's tenant-side actions
/// (`disableuser`: block sign-in, refused for privileged users; `becremediate`: CIPP's
/// compromised-account remediation), acknowledges the records, and returns the hits.
/// Notification actions are left to the caller (a scheduler task notifies its channels
/// with the hits as findings).
pub async fn process_tenant(
    handle: &TenantHandle,
    feed: &AuditFeed,
    rules: &[crate::audit_rules::Rule],
    groups: &[&str],
    ip: &(dyn crate::audit_rules::IpInfo + Sync),
) -> Result<Vec<RuleHit>, Error> {
    use crate::audit_rules::{evaluate, RuleAction};
    handle
        .authorize(
            "auditlog.process",
            &crate::authz::Permission::TENANT_ALERT_READ,
        )
        .await?;
    let tenant = handle.id().as_str().to_owned();
    let rules: Vec<&crate::audit_rules::Rule> = rules
        .iter()
        .filter(|r| r.tenants.applies_to(&tenant, groups))
        .collect();
    let batch = feed.poll(handle).await?;
    let redelivered: std::collections::BTreeSet<String> = batch.records
        [batch.records.len() - batch.redelivered.min(batch.records.len())..]
        .iter()
        .filter_map(record_id)
        .collect();
    let mut hits = Vec::new();
    for rule in rules {
        for m in evaluate(rule, &batch.records, ip) {
            let mut actions = Vec::new();
            for a in &m.actions {
                let (name, outcome) = match a {
                    RuleAction::DisableUser => {
                        ("disableuser", disable(handle, m.user.as_deref()).await)
                    }
                    RuleAction::BecRemediate => {
                        ("becremediate", remediate(handle, m.user.as_deref()).await)
                    }
                    _ => continue,
                };
                actions.push(ActionOutcome {
                    action: name.to_owned(),
                    outcome,
                });
            }
            hits.push(RuleHit {
                rule_id: rule.id.clone(),
                rule: rule.name.clone(),
                redelivered: m
                    .record_id
                    .as_ref()
                    .is_some_and(|id| redelivered.contains(id)),
                record_id: m.record_id,
                user: m.user,
                operation: m
                    .record
                    .get("Operation")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                actions,
            });
        }
    }
    feed.ack(handle, &batch.ids()).await?;
    Ok(hits)
}

async fn disable(handle: &TenantHandle, user: Option<&str>) -> cipp_core::Outcome {
    let Some(user) = user.filter(|u| u.contains('@')) else {
        return cipp_core::Outcome::skipped("the record names no user to disable");
    };
    match handle.user(user) {
        Ok(u) => u
            .set_sign_in(false, crate::users::Guard::RefusePrivileged)
            .await
            .unwrap_or_else(|e| cipp_core::Outcome::failed(&e)),
        Err(e) => cipp_core::Outcome::failed(&e),
    }
}

async fn remediate(handle: &TenantHandle, user: Option<&str>) -> cipp_core::Outcome {
    let Some(user) = user.filter(|u| u.contains('@')) else {
        return cipp_core::Outcome::skipped("the record names no user to remediate");
    };
    match crate::remediation::remediate(handle, user, &Default::default()).await {
        Ok(r) => r.report.overall(),
        Err(e) => cipp_core::Outcome::failed(&e),
    }
}

/// What the `auditlog.process` command needs besides the client.
#[derive(Clone)]
pub struct AuditRulesService {
    /// The feed (its cursors in the scheduler's key-value store).
    pub feed: AuditFeed,
    /// IP address knowledge for location conditions.
    pub ip: Arc<dyn crate::audit_rules::IpInfo + Send + Sync>,
    /// Tenant groups rules name.
    pub groups: crate::authz::TenantGroups,
}

impl std::fmt::Debug for AuditRulesService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditRulesService")
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProcessParams {
    /// Rules in this crate's shape or CIPP's stored shape.
    rules: Vec<Value>,
}

fn parse_rules(values: &[Value]) -> Result<Vec<crate::audit_rules::Rule>, String> {
    if values.is_empty() {
        return Err("give at least one rule".into());
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let cipp_shape = v.get("Conditions").is_some() || v.get("RowKey").is_some();
            let parsed = if cipp_shape {
                crate::audit_rules::Rule::from_cipp(v).map_err(|e| e.to_string())
            } else {
                serde_json::from_value::<crate::audit_rules::Rule>(v.clone())
                    .map_err(|e| e.to_string())
            };
            parsed.map_err(|e| format!("rule {}: {e}", i + 1))
        })
        .collect()
}

struct ProcessCommand {
    cipp: crate::Cipp,
    service: AuditRulesService,
}

#[async_trait::async_trait]
impl cipp_scheduler::command::Command for ProcessCommand {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        let p: ProcessParams =
            serde_json::from_value(parameters.clone()).map_err(|e| e.to_string())?;
        parse_rules(&p.rules).map(drop)
    }

    async fn run(
        &self,
        ctx: cipp_scheduler::command::RunContext,
    ) -> Result<cipp_scheduler::command::CommandOutput, cipp_scheduler::command::CommandError> {
        use cipp_scheduler::command::{CommandError, CommandOutput};
        let p: ProcessParams = serde_json::from_value(ctx.parameters)
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let rules = parse_rules(&p.rules).map_err(CommandError::failed)?;
        let id = cipp_core::TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        let handle = self.cipp.tenant(&id).map_err(|e| CommandError::from(&e))?;
        let names = [ctx.tenant.as_str()];
        let groups = self.service.groups.groups_of(&names);
        let hits = process_tenant(
            &handle,
            &self.service.feed,
            &rules,
            &groups,
            self.service.ip.as_ref(),
        )
        .await
        .map_err(CommandError::from)?;
        if hits.is_empty() {
            return Ok(CommandOutput::NoChange("no audit record matched".into()));
        }
        let failed: Vec<String> = hits
            .iter()
            .flat_map(|h| h.actions.iter().filter(|a| a.outcome.is_failure()))
            .map(|a| format!("{}: {}", a.action, a.outcome.message()))
            .collect();
        let rows = serde_json::to_value(&hits).unwrap_or(Value::Null);
        if failed.is_empty() {
            Ok(CommandOutput::Done(rows))
        } else {
            Ok(CommandOutput::Warning {
                output: rows,
                message: failed.join("; "),
            })
        }
    }
}

/// Registers `auditlog.process` (parameters: `rules`, in this crate's shape or CIPP's):
/// per tenant, the new audit records evaluated once against the rules, tenant-side actions
/// run, the hits reported as the task's findings.
pub fn register_audit_rules(
    registry: &mut cipp_scheduler::command::Registry,
    cipp: &crate::Cipp,
    service: AuditRulesService,
) {
    registry.register(
        "auditlog.process",
        Arc::new(ProcessCommand {
            cipp: cipp.clone(),
            service,
        }),
    );
}
