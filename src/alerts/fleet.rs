//! The fleet's own reports as alerts: `TenantAccess` (can the partner still reach the
//! tenant, with the GDAP roles CIPP needs) and `LowTenantAlignment` (standards alignment
//! below a threshold). Part of [`super`] (`cipp::alerts::exchange`).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use cipp_core::{Error, TenantId};
use cipp_graph::gdap::{self, roles};
use cipp_graph::model::AssignmentStatus;
use cipp_templates::standards::matrix::Matrix;
use cipp_templates::standards::results::StandardResult;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{Alert, AlertContext, AlertMeta, Finding};
use super::{bad_input, named, no_input, stable_reason, whole};

// ---- TenantAccess -------------------------------------------------------------------------

/// `TenantAccess` (CIPP's name; the struct is `TenantAccessAlert` beside
/// [`crate::access::TenantAccess`]): whether the partner can still work in the tenant — a
/// Graph read (the organisation), an Exchange read (`Get-OrganizationConfig`) and, with
/// the partner tenant given ([`TenantAccessAlert::with_partner`]), the GDAP roles: each of
/// CIPP's twelve required default roles must be granted by an active relationship and
/// mapped to a partner group by an active access assignment (CIPP reads the same from the
/// customer's role assignments). Billing Administrator, Global Reader and Domain Name
/// Administrator are optional, as in CIPP.
///
/// At most one finding per tenant (subject `access`), worded as CIPP words it: both APIs
/// lost, Graph lost, Exchange lost, or accessible but missing roles. The reasons it keeps
/// are stable (status, code, message; no request ids), so an unchanged failure stays
/// silent.
#[derive(Debug, Clone, Default)]
pub struct TenantAccessAlert {
    partner: Option<TenantId>,
}

const ACCESS: AlertMeta = AlertMeta::new(
    "TenantAccess",
    "Alert on tenant accessibility issues (Graph, Exchange, GDAP roles)",
    "1d",
    "GET organization; Exchange Get-OrganizationConfig; in the partner tenant: GDAP relationships and access assignments",
);

impl TenantAccessAlert {
    /// Graph and Exchange access only (the client does not say which tenant is the
    /// partner).
    pub fn new() -> Self {
        TenantAccessAlert { partner: None }
    }

    /// Also the GDAP roles, read from `partner`'s relationships.
    pub fn with_partner(partner: TenantId) -> Self {
        TenantAccessAlert {
            partner: Some(partner),
        }
    }
}

/// The required roles (CIPP's defaults less the optional three) missing from `customer`'s
/// active relationships with `partner`, or not mapped to a partner group: their names.
async fn missing_roles(
    cipp: &crate::Cipp,
    partner: &TenantId,
    customer: &str,
) -> Result<Vec<String>, Error> {
    let gdap_api = cipp.graph().tenant(partner).gdap();
    let active = gdap_api.relationships().query(gdap::active_query()).await?;
    let mine: Vec<_> = active
        .iter()
        .filter(|r| r.is_active())
        .filter(|r| {
            r.customer
                .as_ref()
                .is_some_and(|c| c.tenant_id.eq_ignore_ascii_case(customer))
        })
        .collect();
    let mut usable: BTreeSet<String> = BTreeSet::new();
    for r in mine {
        let granted: BTreeSet<String> = r
            .access_details
            .clone()
            .unwrap_or_default()
            .unified_roles
            .into_iter()
            .map(|u| u.role_definition_id.to_ascii_lowercase())
            .collect();
        for a in gdap_api.access_assignments(&r.id).await? {
            if a.status != Some(AssignmentStatus::Active) {
                continue;
            }
            for u in a.access_details.unwrap_or_default().unified_roles {
                let id = u.role_definition_id.to_ascii_lowercase();
                if granted.contains(&id) {
                    usable.insert(id);
                }
            }
        }
    }
    Ok(roles::CIPP_DEFAULT_ROLES[..12]
        .iter()
        .filter(|(_, id)| !usable.contains(&id.to_ascii_lowercase()))
        .map(|(name, _)| (*name).to_owned())
        .collect())
}

#[async_trait]
impl Alert for TenantAccessAlert {
    fn meta(&self) -> &AlertMeta {
        &ACCESS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&ACCESS, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let tenant = ctx.handle.id().as_str().to_owned();
        let directory = ctx.handle.graph().directory();
        let (org, exo) = futures::join!(
            directory.organization(),
            ctx.handle.exchange().organization_config()
        );
        let customer_id = match (&org, ctx.handle.id().is_guid()) {
            (_, true) => Some(tenant.to_ascii_lowercase()),
            (Ok(o), false) => Some(o.id.to_ascii_lowercase()),
            (Err(_), false) => None,
        };
        // The roles only when Graph answers: CIPP reads them through Graph.
        let roles = match (&self.partner, &customer_id, &org) {
            (Some(p), Some(c), Ok(_)) => Some(missing_roles(ctx.handle.cipp(), p, c).await?),
            _ => None,
        };
        let graph_reason = org.as_ref().err().map(stable_reason);
        let exo_reason = exo.as_ref().err().map(stable_reason);
        let missing = roles.clone().unwrap_or_default();
        let mut issues = Vec::new();
        if let Some(r) = &graph_reason {
            issues.push(format!("Failed to connect to Graph API: {r}"));
        }
        if !missing.is_empty() {
            issues.push(format!(
                "Graph connected but missing required GDAP roles: {}",
                missing.join(", ")
            ));
        }
        if let Some(r) = &exo_reason {
            issues.push(format!("Failed to connect to Exchange Online: {r}"));
        }
        let message = match (&graph_reason, &exo_reason) {
            (Some(_), Some(_)) => format!(
                "Tenant {tenant} is inaccessible: Graph and Exchange Online both failed. GDAP permissions may have been removed, or consent needs a refresh"
            ),
            (Some(r), None) => format!("Tenant {tenant} has lost Graph access: {r}"),
            (None, Some(_)) => format!(
                "Tenant {tenant} has lost Exchange Online access: the Exchange Administrator GDAP role may be missing, or consent removed"
            ),
            (None, None) if !missing.is_empty() => format!(
                "Tenant {tenant} is accessible but missing required GDAP roles: {}. The partner's GDAP relationship or role mappings need updating",
                missing.join(", ")
            ),
            (None, None) => return Ok(Vec::new()),
        };
        Ok(vec![Finding::new(
            "access",
            message,
            json!({
                "graphStatus": graph_reason.is_none(),
                "exchangeStatus": exo_reason.is_none(),
                "missingRoles": roles,
                "issues": issues,
            }),
        )])
    }
}

// ---- LowTenantAlignment -------------------------------------------------------------------

/// `LowTenantAlignment`: the tenant's alignment with a standards template is below
/// `InputValue` percent (0–100, default 99), from the latest standards results
/// ([`super::super::AlertService::standards`], the store standards runs write to) through
/// the compliance [`Matrix`]: compliant out of compliant + drifted. One finding per
/// standards template (results of no template together as one), carrying the score and
/// counts, not the collection time, so an unchanged score stays silent. No results for the
/// tenant: nothing to find (CIPP logs a warning). No store configured: an error saying so.
#[derive(Debug, Clone, Copy)]
pub struct LowTenantAlignment;

const ALIGNMENT: AlertMeta = AlertMeta::new(
    "LowTenantAlignment",
    "Alert on low tenant alignment percentage",
    "1d",
    "the standards results store (latest result per standard) for the tenant",
)
.inputs(&["InputValue"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AlignmentInput {
    #[serde(rename = "InputValue", default, deserialize_with = "whole")]
    threshold: Option<i64>,
}

impl LowTenantAlignment {
    fn input(input: &Value) -> Result<i64, Error> {
        let i: AlignmentInput = super::super::input(&ALIGNMENT, &named(input, "InputValue"))?;
        let t = i.threshold.unwrap_or(99);
        if !(0..=100).contains(&t) {
            return Err(bad_input(
                &ALIGNMENT,
                format!("InputValue `{t}` is not a percentage: give 0 to 100 (default 99)"),
            ));
        }
        Ok(t)
    }
}

#[async_trait]
impl Alert for LowTenantAlignment {
    fn meta(&self) -> &AlertMeta {
        &ALIGNMENT
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        LowTenantAlignment::input(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let threshold = LowTenantAlignment::input(input)?;
        let Some(store) = ctx.standards.as_ref() else {
            return Err(Error::Config(
                "alert.LowTenantAlignment needs the standards results: set AlertService.standards \
                 to the ResultStore your standards runs write to"
                    .into(),
            ));
        };
        let records = store
            .latest(Some(ctx.handle.id()))
            .await
            .map_err(|e| Error::invalid_input("standards results", e.to_string()))?;
        let mut by_template: BTreeMap<Option<String>, Vec<StandardResult>> = BTreeMap::new();
        for r in records {
            by_template
                .entry(r.result.source.clone())
                .or_default()
                .push(r.result);
        }
        let mut out = Vec::new();
        for (template, results) in by_template {
            let matrix = Matrix::new(results);
            let Some(a) = matrix.alignment.first() else {
                continue;
            };
            if a.alignment_score >= threshold as f64 {
                continue;
            }
            let name = template.as_deref().unwrap_or("(no template)");
            out.push(Finding::new(
                match &template {
                    Some(t) => format!("template:{t}"),
                    None => "standards".to_owned(),
                },
                format!(
                    "Alignment with standards template {name} is {}% (below {threshold}%)",
                    a.alignment_score
                ),
                json!({
                    "standardsTemplate": template,
                    "alignmentScore": a.alignment_score,
                    "licenceMissingShare": a.licence_missing_share,
                    "compliant": a.compliant,
                    "drifted": a.drifted,
                    "failed": a.failed,
                    "threshold": threshold,
                }),
            ));
        }
        Ok(out)
    }
}
