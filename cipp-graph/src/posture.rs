//! Reads about a tenant's security and licensing posture, as CIPP's tenant alerts use them:
//! the credentials of app registrations, the SAML signing keys of enterprise applications,
//! the commercial subscriptions behind the licences (with their renewal dates), Secure
//! Score, the directory synchronisation status, and users' licence assignment states.
//!
//! Each read is a request value (the free functions) and a method of the [`Posture`]
//! handler, made from a tenant's Graph with [`Posture::new`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! # let sim = cipp_sim::Simulator::demo();
//! # let graph = cipp_graph::GraphClient::new(cipp_core::Pipeline::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
//! use cipp_graph::posture::Posture;
//! let contoso = graph.tenant(&cipp_core::TenantId::parse("contoso.onmicrosoft.com")?);
//! let posture = Posture::new(&contoso);
//! let subscriptions = posture.subscriptions().await?;
//! assert!(subscriptions.iter().all(|s| s.next_lifecycle_date_time.is_some()));
//! let sync = posture.organization_sync().await?;
//! assert_ne!(sync.on_premises_sync_enabled, Some(true));
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};
use cipp_core::{ApiRequest, ApiResponse, Error, TenantId};
use http::Method;
use serde::{Deserialize, Serialize};

use crate::model::{Extra, SubscribedSku};
use crate::op::{self, GraphOp};

/// Properties of an app registration the credential reads ask for.
pub const APPLICATION_FIELDS: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "passwordCredentials",
    "keyCredentials",
];

/// Properties of a service principal the signing-key read asks for.
pub const SIGNING_KEY_FIELDS: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "preferredTokenSigningKeyEndDateTime",
];

/// Properties of a commercial subscription the read asks for.
pub const SUBSCRIPTION_FIELDS: &[&str] = &[
    "id",
    "skuId",
    "skuPartNumber",
    "status",
    "totalLicenses",
    "isTrial",
    "createdDateTime",
    "nextLifecycleDateTime",
];

/// Properties of the organization the sync-status read asks for.
pub const ORGANIZATION_SYNC_FIELDS: &[&str] = &[
    "id",
    "onPremisesSyncEnabled",
    "onPremisesLastSyncDateTime",
    "onPremisesLastPasswordSyncDateTime",
];

/// Properties of a user the licence-state read asks for.
pub const LICENSE_STATE_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "licenseAssignmentStates",
];

/// The most days of Secure Score Graph keeps (and so the most one read may ask for).
pub const MAX_SECURE_SCORE_DAYS: u32 = 90;

/// A GET of `path` with `$select` of `fields`.
fn listing(tenant: &TenantId, path: &str, operation: &'static str, fields: &[&str]) -> ApiRequest {
    op::select(op::request(tenant, Method::GET, path, operation), fields)
}

/// The app registrations with their secrets and certificates
/// (`GET /applications?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999`).
pub fn app_credentials(tenant: &TenantId) -> ApiRequest {
    listing(
        tenant,
        "/v1.0/applications",
        "list application credentials",
        APPLICATION_FIELDS,
    )
    .query("$top", "999")
}

/// The service principals with the end of their preferred SAML token-signing key
/// (`GET /servicePrincipals?$select=id,appId,displayName,preferredTokenSigningKeyEndDateTime&$top=999`).
pub fn signing_keys(tenant: &TenantId) -> ApiRequest {
    listing(
        tenant,
        "/v1.0/servicePrincipals",
        "list service principal signing keys",
        SIGNING_KEY_FIELDS,
    )
    .query("$top", "999")
}

/// The commercial subscriptions behind the tenant's licences, with their renewal or
/// expiry dates (`GET /directory/subscriptions`).
pub fn subscriptions(tenant: &TenantId) -> ApiRequest {
    listing(
        tenant,
        "/v1.0/directory/subscriptions",
        "list company subscriptions",
        SUBSCRIPTION_FIELDS,
    )
}

/// One page of the latest `days` daily Secure Scores, newest first
/// (`GET /security/secureScores?$top={days}`; Graph keeps 90 days). Only that page is
/// read: a next link to older days is not followed.
pub fn secure_scores(tenant: &TenantId, days: u32) -> Result<GraphOp<Vec<SecureScore>>, Error> {
    if !(1..=MAX_SECURE_SCORE_DAYS).contains(&days) {
        return Err(Error::invalid_input(
            "days",
            format!("`{days}` is not a number of days from 1 to {MAX_SECURE_SCORE_DAYS}"),
        ));
    }
    let r = op::request(
        tenant,
        Method::GET,
        "/v1.0/security/secureScores",
        "list secure scores",
    )
    .query("$top", &days.to_string());
    Ok(GraphOp::new(r, read_scores))
}

fn read_scores(r: &ApiResponse) -> Result<Vec<SecureScore>, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        value: Vec<SecureScore>,
    }
    Ok(r.json::<Page>()?.value)
}

/// The organization's directory synchronisation status
/// (`GET /beta/organization?$select=…`: `onPremisesLastPasswordSyncDateTime` is a beta
/// property).
pub fn organization_sync(tenant: &TenantId) -> GraphOp<OrganizationSync> {
    let r = listing(
        tenant,
        "/beta/organization",
        "get organization sync status",
        ORGANIZATION_SYNC_FIELDS,
    );
    GraphOp::new(r, read_organization_sync)
}

fn read_organization_sync(r: &ApiResponse) -> Result<OrganizationSync, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        value: Vec<OrganizationSync>,
    }
    r.json::<Page>()?.value.into_iter().next().ok_or_else(|| {
        Error::protocol(
            Some(r.tenant.clone()),
            "get organization sync status",
            "Graph returned no organization object",
        )
    })
}

/// The users with their licence assignment states (direct and through groups, with the
/// error of each: `CountViolation`, `MutuallyExclusiveViolation`…)
/// (`GET /users?$select=id,userPrincipalName,displayName,licenseAssignmentStates&$top=999`).
pub fn license_assignment_states(tenant: &TenantId) -> ApiRequest {
    listing(
        tenant,
        "/v1.0/users",
        "list license assignment states",
        LICENSE_STATE_FIELDS,
    )
    .query("$top", "999")
}

/// The service plans of a licence, when the answer carried them (`$select` them with
/// `servicePlans`).
pub fn service_plans(sku: &SubscribedSku) -> Vec<ServicePlanInfo> {
    sku.extra
        .get("servicePlans")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// A secret (`passwordCredentials`) or certificate (`keyCredentials`) of an app
/// registration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct AppCredential {
    /// The key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Valid from.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<DateTime<Utc>>,
    /// Valid until.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<DateTime<Utc>>,
    /// Everything else the service sent (`hint`, `type`, `usage`…).
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AppCredential, extra);

/// An app registration with its credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct AppRegistration {
    /// Object id.
    pub id: String,
    /// Application (client) id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Client secrets (`null` reads as none).
    #[serde(deserialize_with = "null_as_empty")]
    pub password_credentials: Vec<AppCredential>,
    /// Certificates (`null` reads as none).
    #[serde(deserialize_with = "null_as_empty")]
    pub key_credentials: Vec<AppCredential>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AppRegistration, extra);

/// A service principal's SAML token-signing key end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct SigningKey {
    /// Service principal object id.
    pub id: String,
    /// Application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When the preferred token-signing certificate expires (`null` without SAML).
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub preferred_token_signing_key_end_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(SigningKey, extra);

/// A commercial subscription (`companySubscription`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct CompanySubscription {
    /// Subscription id.
    pub id: String,
    /// The SKU it provides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    /// The SKU's part number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_part_number: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Licences in this subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_licenses: Option<i64>,
    /// Whether it is a trial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_trial: Option<bool>,
    /// Created.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_date_time: Option<DateTime<Utc>>,
    /// When it moves to its next state (renews, or expires) unless the tenant acts.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_lifecycle_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(CompanySubscription, extra);

/// One day's Secure Score.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct SecureScore {
    /// Id (`{tenantId}_{date}`).
    pub id: String,
    /// The day it was computed.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_date_time: Option<DateTime<Utc>>,
    /// The points attained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_score: Option<f64>,
    /// The points attainable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_score: Option<f64>,
    /// Licensed users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licensed_user_count: Option<i64>,
    /// Active users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_user_count: Option<i64>,
    /// Everything else (control scores, comparative averages…).
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(SecureScore, extra);

impl SecureScore {
    /// The score as a percentage of the attainable, rounded to two decimals (`None` when
    /// either is missing or nothing is attainable).
    pub fn percentage(&self) -> Option<f64> {
        let (current, max) = (self.current_score?, self.max_score?);
        (max > 0.0).then(|| (current / max * 10_000.0).round() / 100.0)
    }
}

/// The organization's directory synchronisation status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct OrganizationSync {
    /// Tenant id.
    pub id: String,
    /// `true` when synchronised from on-premises (`null` for cloud-only tenants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_premises_sync_enabled: Option<bool>,
    /// The last directory synchronisation.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_premises_last_sync_date_time: Option<DateTime<Utc>>,
    /// The last password hash synchronisation (`null` without it).
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_premises_last_password_sync_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(OrganizationSync, extra);

/// How one licence reached one user, and whether that worked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct LicenseAssignmentState {
    /// The SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    /// The group it came through (`null`: assigned directly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_by_group: Option<String>,
    /// `Active`, `ActiveWithError`, `Disabled` or `Error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `None`, `CountViolation`, `MutuallyExclusiveViolation`, `DependencyViolation`,
    /// `ProhibitedInUsageLocationViolation`, `UniquenessViolation` or `Other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Last change.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(LicenseAssignmentState, extra);

impl LicenseAssignmentState {
    /// The error, unless there is none (`None` or empty).
    pub fn failure(&self) -> Option<&str> {
        self.error
            .as_deref()
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("none"))
    }
}

/// A user with the licence assignment states.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct UserLicenseStates {
    /// Object id.
    pub id: String,
    /// UPN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// One per licence and way it was assigned (`null` reads as none).
    #[serde(deserialize_with = "null_as_empty")]
    pub license_assignment_states: Vec<LicenseAssignmentState>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(UserLicenseStates, extra);

/// A service plan of a licence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicePlanInfo {
    /// Plan id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_plan_id: Option<String>,
    /// Plan name (`AAD_PREMIUM`, `INTUNE_A`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_plan_name: Option<String>,
    /// `Success`, `Disabled`, `PendingActivation`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<String>,
    /// `User` or `Company`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Posture reads in one tenant: `Posture::new(&graph.tenant(&t))`.
#[derive(Clone, Debug)]
pub struct Posture(crate::TenantGraph);

impl Posture {
    /// The posture reads of a tenant's Graph.
    pub fn new(graph: &crate::TenantGraph) -> Self {
        Posture(graph.clone())
    }
    /// App registrations with their secrets and certificates.
    pub fn app_credentials(&self) -> crate::List<AppRegistration> {
        self.0.list_of(Ok(app_credentials(self.0.id())))
    }
    /// Service principals with the end of their SAML token-signing key.
    pub fn signing_keys(&self) -> crate::List<SigningKey> {
        self.0.list_of(Ok(signing_keys(self.0.id())))
    }
    /// Commercial subscriptions with their renewal or expiry dates.
    pub fn subscriptions(&self) -> crate::List<CompanySubscription> {
        self.0.list_of(Ok(subscriptions(self.0.id())))
    }
    /// The latest `days` daily Secure Scores, newest first (1 to 90).
    pub fn secure_scores(&self, days: u32) -> crate::Call<Vec<SecureScore>> {
        self.0.call(secure_scores(self.0.id(), days))
    }
    /// The directory synchronisation status.
    pub fn organization_sync(&self) -> crate::Call<OrganizationSync> {
        self.0.call(Ok(organization_sync(self.0.id())))
    }
    /// Users with their licence assignment states.
    pub fn license_assignment_states(&self) -> crate::List<UserLicenseStates> {
        self.0.list_of(Ok(license_assignment_states(self.0.id())))
    }
}
