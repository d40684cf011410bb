//! Microsoft Entra ID Protection: the users it flags as risky
//! (`GET /identityProtection/riskyUsers`, Entra ID P2; a tenant without it is refused
//! with 403). Identity protection calls share Conditional Access's throttling budget
//! (one request a second per tenant).
//!
//! `graph.tenant(&t).identity_protection().risky_users()`.

use cipp_core::{ApiRequest, Error, TenantId};
use serde::{Deserialize, Serialize};

use crate::model::Extra;
use crate::odata::Query;
use crate::op;

/// A user Identity Protection flags, or flagged, as risky (`riskyUser`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct RiskyUser {
    /// The user's object id.
    pub id: String,
    /// UPN.
    pub user_principal_name: Option<String>,
    /// Display name.
    pub user_display_name: Option<String>,
    /// `low`, `medium`, `high`, `hidden`, `none`.
    pub risk_level: Option<String>,
    /// `atRisk`, `confirmedCompromised`, `remediated`, `dismissed`, `confirmedSafe`, `none`.
    pub risk_state: Option<String>,
    /// Why the state last changed (`none`, `userPerformedSecuredPasswordChange`,
    /// `adminConfirmedUserCompromised`, …).
    pub risk_detail: Option<String>,
    /// When the risk last changed.
    #[serde(with = "crate::model::timestamp")]
    pub risk_last_updated_date_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the risk is still being processed.
    pub is_processing: Option<bool>,
    /// Whether the user has been deleted.
    pub is_deleted: Option<bool>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(RiskyUser, extra);

impl RiskyUser {
    /// Whether the user is at risk now: state `atRisk` or `confirmedCompromised`.
    pub fn is_at_risk(&self) -> bool {
        self.risk_state.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("atRisk") || s.eq_ignore_ascii_case("confirmedCompromised")
        })
    }
}

/// Lists risky users (`GET /identityProtection/riskyUsers`; `$filter` on `riskLevel`,
/// `riskState`, …; `$top` up to 500).
pub fn risky_users(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    query.validate(500)?;
    Ok(query.apply(op::request(
        tenant,
        http::Method::GET,
        "/v1.0/identityProtection/riskyUsers",
        "list risky users",
    )))
}

/// Identity Protection reads in one tenant (`graph.tenant(&t).identity_protection()`).
#[derive(Clone, Debug)]
pub struct IdentityProtection(pub(crate) crate::TenantGraph);

impl crate::TenantGraph {
    /// Identity Protection: risky users.
    pub fn identity_protection(&self) -> IdentityProtection {
        IdentityProtection(self.clone())
    }
}

impl IdentityProtection {
    /// Risky users, past and present (filter with [`RiskyUser::is_at_risk`] or
    /// `.filter("riskState eq 'atRisk'")`).
    pub fn risky_users(&self) -> crate::List<RiskyUser> {
        self.0.list(risky_users)
    }
}
