//! Templates for the fleet: everything of [`cipp_templates`] (re-exported here, so
//! `cipp::templates::plan` and friends keep working) and [`deploy()`], which deploys templates
//! to many tenants at once.
//!
//! Per tenant, concurrently (bounded by the [`Fleet`] given): the tenant's variables are
//! substituted into every template ([`Variables::resolve_for`] with the tenant's
//! [`TenantContext`]), the tenant's state is fetched ([`apply::fetch_state`]), planned
//! ([`plan::plan`]) and applied ([`apply::apply`]). Bindings go in through
//! [`DeployOptions::bindings`] and come back through [`DeployReport::bindings`], so a second
//! deploy with them is all no-op.

pub use cipp_templates::*;

use std::collections::HashMap;
use std::sync::Arc;

use cipp_core::{Error, Fleet, Outcome, Tenant};
use serde_json::{json, Value};

use cipp_templates::apply::{ApplyError, ApplyOptions, ApplyReport};
use cipp_templates::guardrails::{GuardrailError, SecurityDefaults};
use cipp_templates::plan::{Binding, Plan, PlanError, PlanOptions};
use cipp_templates::template::Template;
use cipp_templates::variables::{TenantContext, VariableError, Variables};

use crate::Cipp;

/// How [`deploy()`] deploys.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployOptions {
    /// Bindings from earlier deploys (any templates and tenants; each tenant uses its own).
    pub bindings: Vec<Binding>,
    /// Planning options (adopt by name, the report-only guardrail).
    pub plan: PlanOptions,
    /// Read every object back after writing it and compare.
    pub verify: bool,
    /// The variables substituted into the templates (global and per tenant).
    pub variables: Variables,
    /// Whether security defaults may be disabled when an enabled Conditional Access
    /// policy replaces them (default: refuse, and deploy nothing to that tenant).
    pub security_defaults: SecurityDefaults,
}

impl Default for DeployOptions {
    fn default() -> DeployOptions {
        DeployOptions {
            bindings: Vec::new(),
            plan: PlanOptions::default(),
            verify: true,
            variables: Variables::new(),
            security_defaults: SecurityDefaults::Refuse,
        }
    }
}

impl DeployOptions {
    /// Defaults: no bindings, default planning, verification on, no custom variables.
    pub fn new() -> DeployOptions {
        DeployOptions::default()
    }

    /// Sets the bindings of earlier deploys.
    pub fn bindings(mut self, bindings: Vec<Binding>) -> DeployOptions {
        self.bindings = bindings;
        self
    }

    /// Sets the planning options.
    pub fn plan(mut self, plan: PlanOptions) -> DeployOptions {
        self.plan = plan;
        self
    }

    /// Turns verification on or off.
    pub fn verify(mut self, verify: bool) -> DeployOptions {
        self.verify = verify;
        self
    }

    /// Sets the variables.
    pub fn variables(mut self, variables: Variables) -> DeployOptions {
        self.variables = variables;
        self
    }

    /// Allows (or refuses) disabling security defaults where an enabled Conditional
    /// Access policy replaces them.
    pub fn security_defaults(mut self, choice: SecurityDefaults) -> DeployOptions {
        self.security_defaults = choice;
        self
    }
}

/// Why one tenant's deploy did not get as far as applying.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DeployError {
    /// The tenant record lacks what variables need (a GUID id and a default domain).
    NoContext {
        /// The tenant.
        tenant: String,
    },
    /// A template's variables could not be substituted.
    Variables {
        /// The template.
        template_id: String,
        /// The variable error.
        source: VariableError,
    },
    /// A Conditional Access guardrail stopped the tenant (applications it lacks, security
    /// defaults) before anything was sent.
    Guardrail(GuardrailError),
    /// Reading the tenant's state failed.
    State(ApplyError),
    /// Planning failed.
    Plan(PlanError),
    /// The fleet runner failed the tenant before the deploy ran.
    Fleet(Error),
    /// The client's principal may not deploy templates to this tenant
    /// (`Tenant.Standards.ReadWrite`); nothing was sent.
    Forbidden(Error),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::NoContext { tenant } => write!(
                f,
                "tenant {tenant}: no variable context (needs a GUID tenant id and a default \
                 domain); nothing was deployed"
            ),
            DeployError::Variables {
                template_id,
                source,
            } => write!(f, "template {template_id}: {source}"),
            DeployError::Guardrail(e) => write!(f, "{e}; nothing was deployed"),
            DeployError::State(e) => write!(f, "reading the tenant's state: {e}"),
            DeployError::Plan(e) => write!(f, "planning: {e}"),
            DeployError::Fleet(e) | DeployError::Forbidden(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DeployError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeployError::NoContext { .. } => None,
            DeployError::Variables { source, .. } => Some(source),
            DeployError::Guardrail(e) => Some(e),
            DeployError::State(e) => Some(e),
            DeployError::Plan(e) => Some(e),
            DeployError::Fleet(e) | DeployError::Forbidden(e) => Some(e),
        }
    }
}

impl From<ApplyError> for DeployError {
    fn from(e: ApplyError) -> DeployError {
        DeployError::State(e)
    }
}

impl From<GuardrailError> for DeployError {
    fn from(e: GuardrailError) -> DeployError {
        DeployError::Guardrail(e)
    }
}

impl From<PlanError> for DeployError {
    fn from(e: PlanError) -> DeployError {
        DeployError::Plan(e)
    }
}

/// One tenant's deploy.
#[derive(Debug, Clone)]
pub struct TenantDeploy {
    /// The tenant.
    pub tenant: Tenant,
    /// The plan, when the tenant got as far as planning.
    pub plan: Option<Plan>,
    /// What applying did, when the tenant got as far as applying.
    pub report: Option<ApplyReport>,
    /// Why the tenant stopped before applying.
    pub error: Option<DeployError>,
    /// What the guardrails changed (applications dropped, security defaults disabled).
    pub warnings: Vec<String>,
}

impl TenantDeploy {
    /// Whether the tenant deployed with no failed item.
    pub fn is_ok(&self) -> bool {
        self.error.is_none() && self.report.as_ref().is_some_and(ApplyReport::is_ok)
    }

    /// Whether every item and dependency made no change.
    pub fn is_no_op(&self) -> bool {
        self.error.is_none()
            && self.report.as_ref().is_some_and(|r| {
                r.dependencies.is_empty()
                    && r.items
                        .iter()
                        .all(|i| matches!(i.outcome, Outcome::NoChange { .. }))
            })
    }
}

/// What [`deploy()`] did, one entry per tenant in the order given.
#[derive(Debug, Clone)]
pub struct DeployReport {
    /// Each tenant's deploy.
    pub tenants: Vec<TenantDeploy>,
    previous: Vec<Binding>,
}

impl DeployReport {
    /// Whether every tenant deployed with no failed item.
    pub fn is_ok(&self) -> bool {
        self.tenants.iter().all(TenantDeploy::is_ok)
    }

    /// Whether every tenant's deploy made no change.
    pub fn is_no_op(&self) -> bool {
        self.tenants.iter().all(TenantDeploy::is_no_op)
    }

    /// The tenant with this id, if deployed.
    pub fn tenant(&self, id: &str) -> Option<&TenantDeploy> {
        self.tenants
            .iter()
            .find(|t| t.tenant.id.as_str().eq_ignore_ascii_case(id))
    }

    /// The bindings to keep for the next deploy: the ones given, with those of every
    /// applied tenant replaced by what applying returned.
    pub fn bindings(&self) -> Vec<Binding> {
        let applied: Vec<&ApplyReport> = self
            .tenants
            .iter()
            .filter_map(|t| t.report.as_ref())
            .collect();
        let mut out: Vec<Binding> = self
            .previous
            .iter()
            .filter(|b| {
                !applied.iter().any(|r| {
                    r.tenant.eq_ignore_ascii_case(&b.tenant)
                        && r.bindings.iter().any(|n| n.template_id == b.template_id)
                })
            })
            .cloned()
            .collect();
        for r in applied {
            out.extend(r.bindings.iter().cloned());
        }
        out
    }

    /// The report as JSON: per tenant its plan, apply report and error.
    pub fn to_json(&self) -> Value {
        let tenants: Vec<Value> = self
            .tenants
            .iter()
            .map(|t| {
                json!({
                    "tenant": t.tenant.id.as_str(),
                    "displayName": t.tenant.label(),
                    "ok": t.is_ok(),
                    "plan": t.plan.as_ref().and_then(|p| serde_json::to_value(p).ok()),
                    "report": t.report.as_ref().and_then(|r| serde_json::to_value(r).ok()),
                    "error": t.error.as_ref().map(ToString::to_string),
                })
            })
            .collect();
        json!({"ok": self.is_ok(), "tenants": tenants, "bindings": self.bindings()})
    }

    /// A self-contained HTML page (every value escaped): one table per tenant, one row per
    /// dependency and item with its outcome.
    pub fn to_html(&self) -> String {
        let mut h = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Template deploy</title>\
             <style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1em}\
             td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
             .failed{color:#b00}.ok{color:#070}</style></head><body>\n<h1>Template deploy</h1>\n",
        );
        for t in &self.tenants {
            let class = if t.is_ok() { "ok" } else { "failed" };
            h.push_str(&format!(
                "<h2>{} <small>({})</small> <span class=\"{class}\">{}</span></h2>\n",
                escape(t.tenant.label()),
                escape(t.tenant.id.as_str()),
                if t.is_ok() { "ok" } else { "failed" }
            ));
            if let Some(e) = &t.error {
                h.push_str(&format!(
                    "<p class=\"failed\">{}</p>\n",
                    escape(&e.to_string())
                ));
            }
            let Some(r) = &t.report else { continue };
            h.push_str(
                "<table><tr><th>Name</th><th>Kind</th><th>Action</th><th>Status</th>\
                 <th>Message</th></tr>\n",
            );
            for d in &r.dependencies {
                row(
                    &mut h,
                    &d.name,
                    &format!("dependency: {}", d.kind.label()),
                    "create",
                    &d.outcome,
                );
            }
            for i in &r.items {
                row(&mut h, &i.name, i.kind.as_str(), &i.action, &i.outcome);
            }
            h.push_str("</table>\n");
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn row(h: &mut String, name: &str, kind: &str, action: &str, outcome: &Outcome) {
    let status = serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v["status"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let class = if outcome.is_failure() { "failed" } else { "ok" };
    h.push_str(&format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>\n",
        escape(name),
        escape(kind),
        escape(action),
        escape(&status),
        escape(&outcome.message())
    ));
}

/// Escapes text for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The templates with `variables` substituted for `tenant`.
fn resolve(
    templates: &[Template],
    variables: &Variables,
    tenant: &Tenant,
) -> Result<Vec<Template>, DeployError> {
    let context = TenantContext::from_tenant(tenant).ok_or_else(|| DeployError::NoContext {
        tenant: tenant.id.as_str().to_owned(),
    })?;
    let resolver = variables.resolve_for(&context);
    templates
        .iter()
        .map(|t| {
            let body =
                resolver
                    .substitute_json(&t.body)
                    .map_err(|source| DeployError::Variables {
                        template_id: t.id.clone(),
                        source,
                    })?;
            let mut out = t.clone();
            out.body = body;
            out.refresh_hash();
            Ok(out)
        })
        .collect()
}

/// The plan of `templates` in one tenant ([`cipp_templates::deploy::plan_tenant`] on the
/// handle's Graph and Exchange clients).
pub async fn plan_tenant(
    handle: &crate::TenantHandle,
    templates: &[Template],
    bindings: &[Binding],
    options: &PlanOptions,
) -> Result<Plan, DeployError> {
    cipp_templates::deploy::plan_tenant(
        handle.graph(),
        handle.exchange(),
        templates,
        bindings,
        options,
    )
    .await
    .map_err(|e| match e {
        cipp_templates::deploy::PlanTenantError::State(e) => DeployError::State(e),
        cipp_templates::deploy::PlanTenantError::Plan(e) => DeployError::Plan(e),
        other => DeployError::State(ApplyError::Invalid {
            what: "the tenant's plan".to_owned(),
            message: other.to_string(),
        }),
    })
}

/// Applies a plan in one tenant ([`cipp_templates::deploy::apply_tenant`] on the handle's
/// Graph and Exchange clients).
pub async fn apply_tenant(
    handle: &crate::TenantHandle,
    plan: &Plan,
    options: &ApplyOptions,
) -> ApplyReport {
    cipp_templates::deploy::apply_tenant(handle.graph(), handle.exchange(), plan, options).await
}

/// Deploys `templates` to every tenant, at most the fleet's concurrency at a time (its
/// progress callback sees each tenant start and finish). A tenant whose record gives no
/// variable context, whose variables fail, or whose state or plan fails is reported with
/// its [`DeployError`] and nothing is written to it; the other tenants go on.
pub async fn deploy(
    cipp: &Cipp,
    templates: &[Template],
    tenants: Vec<Tenant>,
    options: &DeployOptions,
    progress: Fleet,
) -> DeployReport {
    let order: Vec<String> = tenants.iter().map(|t| t.id.as_str().to_owned()).collect();
    let records: Arc<HashMap<String, Tenant>> = Arc::new(
        tenants
            .iter()
            .map(|t| (t.id.as_str().to_owned(), t.clone()))
            .collect(),
    );
    let templates: Arc<Vec<Template>> = Arc::new(templates.to_vec());
    let previous = options.bindings.clone();
    let options = Arc::new(options.clone());
    let run = cipp.for_each_tenant_with(progress, tenants, move |handle| {
        let records = records.clone();
        let templates = templates.clone();
        let options = options.clone();
        async move {
            let id = handle.id().as_str().to_owned();
            let tenant = records
                .get(&id)
                .cloned()
                .unwrap_or_else(|| Tenant::new(handle.id().clone()));
            let mut out = TenantDeploy {
                tenant: tenant.clone(),
                plan: None,
                report: None,
                error: None,
                warnings: Vec::new(),
            };
            if let Err(e) = handle
                .authorize(
                    "templates.deploy",
                    &crate::authz::Permission::TENANT_STANDARDS_READWRITE,
                )
                .await
            {
                out.error = Some(DeployError::Forbidden(e));
                return Ok(out);
            }
            let mut resolved = match resolve(&templates, &options.variables, &tenant) {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(e);
                    return Ok::<_, Error>(out);
                }
            };
            let graph = handle.graph();
            let planned = async {
                out.warnings =
                    cipp_templates::guardrails::drop_missing_applications(graph, &mut resolved)
                        .await?;
                let note = cipp_templates::guardrails::security_defaults(
                    graph,
                    &resolved,
                    options.plan.ca_state,
                    options.security_defaults,
                )
                .await?;
                out.warnings.extend(note);
                plan_tenant(&handle, &resolved, &options.bindings, &options.plan).await
            }
            .await;
            match planned {
                Ok(p) => {
                    let apply_options = ApplyOptions::new().verify(options.verify);
                    out.report = Some(apply_tenant(&handle, &p, &apply_options).await);
                    out.plan = Some(p);
                }
                Err(e) => out.error = Some(e),
            }
            Ok(out)
        }
    });
    let mut results: Vec<TenantDeploy> = run
        .collect()
        .await
        .into_iter()
        .map(|r| match r.result {
            Ok(d) => d,
            Err(e) => TenantDeploy {
                tenant: r.tenant,
                plan: None,
                report: None,
                error: Some(DeployError::Fleet(e)),
                warnings: Vec::new(),
            },
        })
        .collect();
    results.sort_by_key(|d| {
        order
            .iter()
            .position(|o| o == d.tenant.id.as_str())
            .unwrap_or(usize::MAX)
    });
    DeployReport {
        tenants: results,
        previous,
    }
}
