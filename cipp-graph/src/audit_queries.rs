//! The Microsoft Purview audit log query API (`beta/security/auditLog/queries`): create a
//! query over a time window (with record type, operation and user filters), read its
//! status until it has `succeeded`, then page through its records. Records arrive in the
//! unified audit log up to hours after the event, so callers query overlapping windows and
//! de-duplicate by record id.

use chrono::{DateTime, SecondsFormat, Utc};
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::op::{self, json, GraphOp};

const QUERIES: &str = "/beta/security/auditLog/queries";

/// A new audit log query.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAuditLogQuery {
    /// A name for the query (shown in Purview).
    pub display_name: String,
    /// Window start.
    #[serde(serialize_with = "iso")]
    pub filter_start_date_time: DateTime<Utc>,
    /// Window end.
    #[serde(serialize_with = "iso")]
    pub filter_end_date_time: DateTime<Utc>,
    /// Record types (`exchangeAdmin`, `azureActiveDirectory`, …); empty: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record_type_filters: Vec<String>,
    /// Operations (`New-InboxRule`, `Add member to role.`, …); empty: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operation_filters: Vec<String>,
    /// Users (UPNs); empty: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_principal_name_filters: Vec<String>,
}

fn iso<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An audit log query and its status.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditLogQuery {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `notStarted`, `running`, `succeeded`, `failed`, `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
}

impl AuditLogQuery {
    /// Whether its records can be read.
    pub fn succeeded(&self) -> bool {
        self.status.as_deref() == Some("succeeded")
    }

    /// Whether it ended without records (`failed`, `cancelled`).
    pub fn failed(&self) -> bool {
        matches!(self.status.as_deref(), Some("failed") | Some("cancelled"))
    }
}

/// One audit log record.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditLogRecord {
    /// The record id (the unified audit log's `Id`): de-duplicate by it.
    pub id: String,
    /// When the event happened.
    #[serde(default)]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Record type (`exchangeAdmin`, …).
    #[serde(default)]
    pub audit_log_record_type: Option<String>,
    /// Operation (`New-InboxRule`, …).
    #[serde(default)]
    pub operation: Option<String>,
    /// Who (UPN).
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// The service (`Exchange`, `AzureActiveDirectory`, …).
    #[serde(default)]
    pub service: Option<String>,
    /// The full record as the unified audit log has it (`AuditData`).
    #[serde(default)]
    pub audit_data: Value,
}

/// Creates a query (POST; the answer holds its id). The window must be non-empty and at
/// most 180 days (what the audit log keeps); a display name is required.
pub fn create_query(
    tenant: &TenantId,
    query: &NewAuditLogQuery,
) -> Result<GraphOp<AuditLogQuery>, Error> {
    if query.display_name.trim().is_empty() {
        return Err(Error::invalid_input("displayName", "name the query"));
    }
    if query.filter_end_date_time <= query.filter_start_date_time {
        return Err(Error::invalid_input(
            "filterEndDateTime",
            "the end is not after the start",
        ));
    }
    if query.filter_end_date_time - query.filter_start_date_time > chrono::Duration::days(180) {
        return Err(Error::invalid_input(
            "filterStartDateTime",
            "the audit log keeps at most 180 days: query a shorter window",
        ));
    }
    op::with_body(
        tenant,
        Method::POST,
        QUERIES,
        "create audit log query",
        query,
        json,
    )
}

fn query_path(id: &str) -> Result<String, Error> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid_input(
            "query",
            format!("`{id}` is not an audit log query id"),
        ));
    }
    Ok(format!("{QUERIES}/{id}"))
}

/// Reads a query (its status).
pub fn get_query(tenant: &TenantId, id: &str) -> Result<GraphOp<AuditLogQuery>, Error> {
    Ok(op::get(tenant, query_path(id)?, "get audit log query"))
}

/// Lists a query's records (paged).
pub fn list_records(tenant: &TenantId, id: &str) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("{}/records", query_path(id)?),
    )
    .operation("list audit log records"))
}

/// Audit log queries in one tenant (`graph.tenant(&t).audit_queries()`).
#[derive(Clone, Debug)]
pub struct AuditQueries(pub(crate) crate::TenantGraph);

impl AuditQueries {
    /// Creates a query.
    pub fn create(&self, query: &NewAuditLogQuery) -> crate::Call<AuditLogQuery> {
        self.0.call(create_query(self.0.id(), query))
    }

    /// Reads a query.
    pub fn get(&self, id: &str) -> crate::Call<AuditLogQuery> {
        self.0.call(get_query(self.0.id(), id))
    }

    /// A query's records, every page.
    pub fn records(&self, id: &str) -> crate::List<AuditLogRecord> {
        self.0.list_of(list_records(self.0.id(), id))
    }
}
