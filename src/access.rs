//! Access health: for each customer tenant, what the partner can really do there — the
//! GDAP roles granted and mapped to partner groups, relationship expiry and auto-extend,
//! whether Graph and Exchange tokens can be obtained (consent), and which licences the
//! features need — computed from the tenants themselves, so a caller sees why an
//! operation will fail before running it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! let sim = cipp::sim::Simulator::demo();
//! let cipp = cipp::Cipp::builder()
//!     .transport(std::sync::Arc::new(sim.clone()))
//!     .credentials(sim.demo_credentials())
//!     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
//!     .build()?;
//! let partner = cipp::TenantId::parse(cipp::sim::scenario::DEMO_PARTNER)?;
//! let report = cipp::access::access_health(&cipp, &partner).await?;
//! assert_eq!(report.len(), 3);
//! assert!(report.iter().all(|t| t.graph.is_ok()));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cipp_core::{Audience, Error, TenantId};
use cipp_graph::gdap::{self, roles};
use cipp_graph::model::{AssignmentStatus, DelegatedAdminRelationship};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::Cipp;

/// Whether a check passed, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Check {
    /// It works.
    Ok,
    /// It does not, with the reason and what to do.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Check {
    /// Whether it passed.
    pub fn is_ok(&self) -> bool {
        matches!(self, Check::Ok)
    }
}

/// One GDAP role granted to the partner in a customer tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleAccess {
    /// The role's name (or its id when not a known built-in role).
    pub name: String,
    /// The role's template id.
    pub role_definition_id: String,
    /// Whether an active access assignment grants it to a partner group (without one,
    /// no partner user can use it).
    pub mapped: bool,
}

/// Licences the features need, from the tenant's subscribed SKUs (`None`: unreadable).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Licences {
    /// Intune (device and app management).
    pub intune: Option<bool>,
    /// Entra ID P1 (Conditional Access, sign-in logs).
    pub entra_p1: Option<bool>,
    /// Entra ID P2 (risk-based policies, PIM).
    pub entra_p2: Option<bool>,
}

/// What the partner can do in one customer tenant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TenantAccess {
    /// The customer's tenant id.
    pub tenant_id: String,
    /// The customer's name.
    pub display_name: Option<String>,
    /// Its active relationships.
    pub relationships: Vec<String>,
    /// The roles granted through them.
    pub roles: Vec<RoleAccess>,
    /// CIPP's default roles that are not granted.
    pub missing_default_roles: Vec<String>,
    /// The latest end date.
    pub ends: Option<DateTime<Utc>>,
    /// Whether any relationship auto-extends.
    pub auto_extends: bool,
    /// Only Microsoft-led transition relationships (read-only roles).
    pub only_microsoft_led: bool,
    /// Whether a Graph token can be obtained for the tenant.
    pub graph: Check,
    /// Whether an Exchange token can be obtained for the tenant.
    pub exchange: Check,
    /// Licences.
    pub licences: Licences,
    /// Every problem found, one line each, with what it breaks.
    pub problems: Vec<String>,
}

fn has_plan(skus: &[cipp_graph::model::SubscribedSku], names: &[&str]) -> bool {
    skus.iter()
        .filter(|s| s.capability_status.as_deref() != Some("Suspended"))
        .flat_map(|s| {
            s.extra
                .get("servicePlans")
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .any(|p| {
            p["servicePlanName"]
                .as_str()
                .is_some_and(|n| names.contains(&n))
                && p["provisioningStatus"].as_str() != Some("Disabled")
        })
}

async fn token_check(cipp: &Cipp, tenant: &TenantId, audience: Audience) -> Check {
    match cipp.pipeline().tokens().token(tenant, &audience).await {
        Ok(_) => Check::Ok,
        Err(e) => Check::Failed {
            reason: e.to_string(),
        },
    }
}

/// The access health of every customer with an active relationship, sorted by name.
/// Relationships and assignments are read in the partner tenant; tokens and licences in
/// each customer tenant, concurrently (bounded by the client's concurrency).
pub async fn access_health(cipp: &Cipp, partner: &TenantId) -> Result<Vec<TenantAccess>, Error> {
    health(cipp, partner, None).await
}

/// The access health of one customer (by its tenant id, a GUID, as relationships name
/// it): `None` when no active relationship names it. Only that customer's relationships,
/// tokens and licences are read.
pub async fn tenant_access_health(
    cipp: &Cipp,
    partner: &TenantId,
    customer: &str,
) -> Result<Option<TenantAccess>, Error> {
    Ok(health(cipp, partner, Some(customer))
        .await?
        .into_iter()
        .next())
}

async fn health(
    cipp: &Cipp,
    partner: &TenantId,
    only: Option<&str>,
) -> Result<Vec<TenantAccess>, Error> {
    let gdap_api = cipp.graph().tenant(partner).gdap();
    let gdap_api = &gdap_api;
    let mut active: Vec<DelegatedAdminRelationship> =
        gdap_api.relationships().query(gdap::active_query()).await?;
    if let Some(only) = only {
        active.retain(|r| {
            r.customer
                .as_ref()
                .is_some_and(|c| c.tenant_id.eq_ignore_ascii_case(only))
        });
    }
    // Roles mapped per relationship: from its active assignments.
    // The futures are made first: a stream holding the closure would not be `Send` for
    // every lifetime, and callers (scheduler commands) need a `Send` future.
    let reads: Vec<_> = active.iter().map(|r| mapped_roles(gdap_api, r)).collect();
    let mapped: BTreeMap<String, Vec<String>> = futures::stream::iter(reads)
        .buffer_unordered(cipp.concurrency().max(1))
        .try_collect()
        .await?;
    let customers = gdap::customers(&active);
    let now = cipp.clock().now();
    let checks: Vec<_> = customers
        .into_iter()
        .map(|c| tenant_health(cipp, &active, &mapped, c, now))
        .collect();
    let out: Vec<TenantAccess> = futures::stream::iter(checks)
        .buffered(cipp.concurrency().max(1))
        .collect()
        .await;
    Ok(out)
}

/// The roles the active assignments of relationship `r` map.
async fn mapped_roles(
    api: &gdap::Gdap,
    r: &DelegatedAdminRelationship,
) -> Result<(String, Vec<String>), Error> {
    let assignments = api.access_assignments(&r.id).await?;
    let roles: Vec<String> = assignments
        .iter()
        .filter(|a| a.status == Some(AssignmentStatus::Active))
        .flat_map(|a| a.access_details.clone().unwrap_or_default().unified_roles)
        .map(|r| r.role_definition_id.to_ascii_lowercase())
        .collect();
    Ok((r.id.clone(), roles))
}

/// One customer's access health.
async fn tenant_health(
    cipp: &Cipp,
    active: &[DelegatedAdminRelationship],
    mapped: &BTreeMap<String, Vec<String>>,
    c: gdap::CustomerTenant,
    now: DateTime<Utc>,
) -> TenantAccess {
    let mut granted: BTreeMap<String, bool> = BTreeMap::new();
    for r in active.iter().filter(|r| c.relationships.contains(&r.id)) {
        let m = mapped.get(&r.id).cloned().unwrap_or_default();
        for role in r.access_details.clone().unwrap_or_default().unified_roles {
            let id = role.role_definition_id.to_ascii_lowercase();
            let is_mapped = m.contains(&id);
            let e = granted.entry(id).or_insert(false);
            *e |= is_mapped;
        }
    }
    let roles: Vec<RoleAccess> = granted
        .iter()
        .map(|(id, mapped)| RoleAccess {
            name: roles::role_name(id).unwrap_or(id).to_owned(),
            role_definition_id: id.clone(),
            mapped: *mapped,
        })
        .collect();
    let missing_default_roles: Vec<String> = roles::CIPP_DEFAULT_ROLES
        .iter()
        .filter(|(_, id)| !granted.contains_key(*id))
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let tenant = TenantId::parse(&c.tenant_id);
    let (graph_check, exchange_check, licences) = match &tenant {
        Ok(t) => {
            let (g, x) = futures::join!(
                token_check(cipp, t, Audience::Graph),
                token_check(cipp, t, Audience::Exchange)
            );
            let licences = if g.is_ok() {
                match cipp.graph().tenant(t).directory().subscribed_skus().await {
                    Ok(skus) => Licences {
                        intune: Some(has_plan(&skus, &["INTUNE_A", "INTUNE_EDU", "INTUNE_SMBIZ"])),
                        entra_p1: Some(has_plan(&skus, &["AAD_PREMIUM", "AAD_PREMIUM_P2"])),
                        entra_p2: Some(has_plan(&skus, &["AAD_PREMIUM_P2"])),
                    },
                    Err(_) => Licences::default(),
                }
            } else {
                Licences::default()
            };
            (g, x, licences)
        }
        Err(e) => {
            let f = Check::Failed {
                reason: e.to_string(),
            };
            (f.clone(), f, Licences::default())
        }
    };
    let mut problems = Vec::new();
    if c.only_microsoft_led {
        problems.push("only Microsoft-led transition (MLT_) relationships: read-only roles; create a GDAP relationship".to_owned());
    }
    if granted.contains_key(roles::GLOBAL_ADMINISTRATOR) {
        problems.push(
            "a relationship includes Global Administrator: it cannot auto-extend; remove the role"
                .to_owned(),
        );
    }
    let unmapped: Vec<&str> = roles
        .iter()
        .filter(|r| !r.mapped)
        .map(|r| r.name.as_str())
        .collect();
    if !unmapped.is_empty() {
        problems.push(format!(
            "{} granted role(s) not mapped to a partner group, so no technician can use them: {}",
            unmapped.len(),
            unmapped.join(", ")
        ));
    }
    if !missing_default_roles.is_empty() {
        problems.push(format!(
            "missing CIPP default roles: {}",
            missing_default_roles.join(", ")
        ));
    }
    if let Some(end) = c.ends {
        let days = (end - now).num_days();
        if !c.auto_extends && days <= 30 {
            problems.push(format!(
                "the relationship ends in {days} days and does not auto-extend"
            ));
        }
    }
    if let Check::Failed { reason } = &graph_check {
        problems.push(format!("no Graph token: {reason}"));
    }
    if let Check::Failed { reason } = &exchange_check {
        problems.push(format!("no Exchange token: {reason}"));
    }
    if licences.intune == Some(false) {
        problems.push("no Intune licence: device and app management calls will fail".to_owned());
    }
    if licences.entra_p1 == Some(false) {
        problems
            .push("no Entra ID P1: Conditional Access and sign-in logs are unavailable".to_owned());
    }
    TenantAccess {
        tenant_id: c.tenant_id.clone(),
        display_name: c.display_name.clone(),
        relationships: c.relationships.clone(),
        roles,
        missing_default_roles,
        ends: c.ends,
        auto_extends: c.auto_extends,
        only_microsoft_led: c.only_microsoft_led,
        graph: graph_check,
        exchange: exchange_check,
        licences,
        problems,
    }
}
