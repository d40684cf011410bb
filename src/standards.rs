//! Standards for the fleet: everything of [`cipp_templates::standards`] (re-exported here)
//! and [`run`], which runs standards templates over many tenants at once.
//!
//! Per tenant, concurrently (bounded by the [`Fleet`] given): the templates that apply are
//! merged by CIPP's precedence ([`resolve`]: all tenants < tenant group < tenant); the
//! client's principal is checked (`Tenant.Standards.Read` to report or alert,
//! `Tenant.Standards.ReadWrite` when anything remediates) before anything is sent; the
//! engine reads each object once, checks, remediates and proves each remediation by a
//! re-read ([`run_tenant`]); results go to the [`ResultStore`], which says what changed;
//! each remediation is recorded in the audit trail; and new drift of alert-mode standards
//! becomes one `standard.drift_detected` event per tenant, delivered to the notifiers once
//! (a drift seen again has the same fingerprint and raises nothing).
//!
//! The scheduler command `standards.run` ([`register_standards`]) runs a stored standards
//! template on any schedule; the scheduler fans it out per tenant, across PostgreSQL
//! workers too.

pub use cipp_templates::standards::*;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cipp_core::{Error, Fleet, Tenant, TenantId};
use cipp_scheduler::notify::{fingerprint, Event, Notifier, SCHEMA_VERSION};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::authz::{Act, AuditOutcome, Permission, TenantGroups};
use crate::Cipp;

/// How [`run`] runs.
#[derive(Clone)]
pub struct RunOptions {
    /// The standards templates may name (default: [`Catalogue::builtin`]).
    pub catalogue: Arc<Catalogue>,
    /// Tenant groups that templates target.
    pub groups: TenantGroups,
    /// Where results and their drift history go (default: a new [`MemoryResultStore`]; keep
    /// one across runs, or a SQLite or PostgreSQL store, so drift alerts once).
    pub store: Arc<dyn ResultStore>,
    /// Who hears about new drift (webhook, e-mail, PSA).
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Run everything in report mode (alert kept), whatever the templates say: nothing is
    /// changed in any tenant.
    pub report_only: bool,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("standards", &self.catalogue.len())
            .field("groups", &self.groups)
            .field("notifiers", &self.notifiers.len())
            .field("report_only", &self.report_only)
            .finish_non_exhaustive()
    }
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            catalogue: Arc::new(Catalogue::builtin()),
            groups: TenantGroups::default(),
            store: Arc::new(MemoryResultStore::new()),
            notifiers: Vec::new(),
            report_only: false,
        }
    }
}

impl RunOptions {
    /// The built-in catalogue, no groups, a memory store, no notifiers.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Uses `catalogue` (the built-ins plus an integrator's own standards, say).
    pub fn catalogue(mut self, catalogue: Arc<Catalogue>) -> RunOptions {
        self.catalogue = catalogue;
        self
    }

    /// The tenant groups templates target.
    pub fn groups(mut self, groups: TenantGroups) -> RunOptions {
        self.groups = groups;
        self
    }

    /// Keeps results in `store`.
    pub fn store(mut self, store: Arc<dyn ResultStore>) -> RunOptions {
        self.store = store;
        self
    }

    /// Adds a notifier for new drift.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> RunOptions {
        self.notifiers.push(notifier);
        self
    }

    /// Runs in report mode only (see [`RunOptions::report_only`]).
    pub fn report_only(mut self, yes: bool) -> RunOptions {
        self.report_only = yes;
        self
    }
}

/// One tenant's run.
#[derive(Debug, Clone)]
pub struct TenantStandards {
    /// The tenant.
    pub tenant: Tenant,
    /// Each standard's result with what it changed since the last run, by standard name.
    pub results: Vec<Recorded>,
    /// Template entries that could not be used (an unknown standard), with the template.
    pub template_errors: Vec<(String, Error)>,
    /// Why the tenant did not run (access refused, the fleet runner) or why its results
    /// were not stored (then [`TenantStandards::results`] hold them with transition
    /// `First`).
    pub error: Option<Error>,
}

impl TenantStandards {
    /// Whether the tenant ran and no standard drifted or failed (compliant, remediated,
    /// not applicable and licence-missing results are aligned: a standard the tenant has no
    /// licence for is left out, as CIPP's alignment score does).
    pub fn is_aligned(&self) -> bool {
        self.error.is_none()
            && self.results.iter().all(|r| {
                let s = r.record.result.status;
                s.is_compliant() || matches!(s, Status::NotApplicable | Status::LicenceMissing)
            })
    }
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct StandardsReport {
    /// Each tenant that any template applies to, in the order given.
    pub tenants: Vec<TenantStandards>,
    /// The drift events raised (one per tenant with new or changed drift of an alert-mode
    /// standard), whether or not a notifier took them.
    pub alerts: Vec<Event>,
    /// Notifiers that failed, with the event's fingerprint and the error.
    pub notify_errors: Vec<String>,
}

impl StandardsReport {
    /// The tenant with this id or domain, if it ran.
    pub fn tenant(&self, name: &str) -> Option<&TenantStandards> {
        self.tenants.iter().find(|t| {
            names_of(&t.tenant)
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// Every result of the run.
    pub fn results(&self) -> impl Iterator<Item = &StandardResult> {
        self.tenants
            .iter()
            .flat_map(|t| t.results.iter().map(|r| &r.record.result))
    }

    /// The compliance matrix of this run.
    pub fn matrix(&self) -> Matrix {
        Matrix::new(self.results().cloned())
    }

    /// Whether every tenant ended aligned.
    pub fn is_aligned(&self) -> bool {
        self.tenants.iter().all(TenantStandards::is_aligned)
    }
}

/// The names a tenant is known by in targets, exclusions and groups: its id and domains.
fn names_of(tenant: &Tenant) -> Vec<String> {
    let mut names = vec![tenant.id.as_str().to_owned()];
    names.extend(tenant.default_domain.clone());
    names.extend(tenant.initial_domain.clone());
    names
}

/// The assignments of `templates` for `tenant`, in report mode when `report_only`.
fn assignments_for(
    templates: &[StandardsTemplate],
    tenant: &Tenant,
    options: &RunOptions,
) -> Resolution {
    let names = names_of(tenant);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let groups = options.groups.groups_of(&names);
    let mut resolution = resolve(templates, &names, &groups, &options.catalogue);
    if options.report_only {
        for a in &mut resolution.assignments {
            a.mode.remediate = false;
        }
    }
    resolution
}

/// Runs `templates` over `tenants`, at most the fleet's concurrency at a time. A tenant no
/// template applies to is left out of the report; a tenant whose access is refused is
/// reported with the refusal and nothing is sent to it; a failing standard or tenant never
/// stops the others.
pub async fn run(
    cipp: &Cipp,
    templates: &[StandardsTemplate],
    tenants: Vec<Tenant>,
    options: &RunOptions,
    progress: Fleet,
) -> StandardsReport {
    let mut order: Vec<String> = Vec::new();
    let mut unique: Vec<Tenant> = Vec::new();
    for t in tenants {
        let id = t.id.as_str().to_ascii_lowercase();
        if !order.contains(&id) {
            order.push(id);
            unique.push(t);
        }
    }
    let records: Arc<HashMap<String, Tenant>> = Arc::new(
        unique
            .iter()
            .map(|t| (t.id.as_str().to_ascii_lowercase(), t.clone()))
            .collect(),
    );
    let needs_domains = names_domains(templates, &options.groups);
    let templates: Arc<Vec<StandardsTemplate>> = Arc::new(templates.to_vec());
    let shared = Arc::new(options.clone());
    let run = cipp.for_each_tenant_with(progress, unique, move |handle| {
        let records = records.clone();
        let templates = templates.clone();
        let options = shared.clone();
        async move {
            let key = handle.id().as_str().to_ascii_lowercase();
            let mut tenant = records
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Tenant::new(handle.id().clone()));
            if needs_domains && tenant.default_domain.is_none() {
                // Targets name this tenant by domain: read its domains, once read access
                // is granted (nothing is sent before the check).
                if let Err(e) = handle
                    .authorize("standards.run", &Permission::TENANT_STANDARDS_READ)
                    .await
                {
                    return Ok(Some(refused(tenant, e)));
                }
                let org = handle.graph().directory().organization().await?;
                tenant.default_domain = org.default_domain().map(str::to_owned);
                tenant.initial_domain = org.initial_domain().map(str::to_owned);
            }
            let resolution = assignments_for(&templates, &tenant, &options);
            if resolution.assignments.is_empty() && resolution.errors.is_empty() {
                return Ok(None);
            }
            Ok(Some(
                run_one(&handle, tenant, resolution, options.store.as_ref()).await,
            ))
        }
    });
    let mut out: Vec<TenantStandards> = run
        .collect()
        .await
        .into_iter()
        .filter_map(|r| match r.result {
            Ok(t) => t,
            Err(e) => Some(refused(r.tenant, e)),
        })
        .collect();
    out.sort_by_key(|t| {
        let id = t.tenant.id.as_str().to_ascii_lowercase();
        order.iter().position(|o| *o == id).unwrap_or(usize::MAX)
    });
    let now = cipp.clock().now();
    let alerts: Vec<Event> = out.iter().filter_map(|t| drift_event(t, now)).collect();
    let notify_errors = deliver(&alerts, &options.notifiers).await;
    StandardsReport {
        tenants: out,
        alerts,
        notify_errors,
    }
}

/// A tenant that did not run, and why.
fn refused(tenant: Tenant, error: Error) -> TenantStandards {
    TenantStandards {
        tenant,
        results: Vec::new(),
        template_errors: Vec::new(),
        error: Some(error),
    }
}

/// Whether targets, exclusions or groups name tenants by something other than their id
/// (a domain), so that tenants known only by id need their domains read.
fn names_domains(templates: &[StandardsTemplate], groups: &TenantGroups) -> bool {
    let not_id = |s: &str| TenantId::parse(s).map(|t| !t.is_guid()).unwrap_or(true);
    templates.iter().any(|t| {
        t.excluded_tenants.iter().any(|e| not_id(e))
            || t.targets.iter().any(|x| match x {
                TemplateTarget::Tenant { id } => not_id(id),
                TemplateTarget::Group { name } => groups
                    .0
                    .get(name)
                    .is_some_and(|members| members.iter().any(|m| not_id(m))),
                _ => false,
            })
    })
}

/// One tenant: authorize, run, store, audit.
async fn run_one(
    handle: &crate::TenantHandle,
    tenant: Tenant,
    resolution: Resolution,
    store: &dyn ResultStore,
) -> TenantStandards {
    let mut out = TenantStandards {
        tenant,
        results: Vec::new(),
        template_errors: resolution.errors,
        error: None,
    };
    let remediates = resolution.assignments.iter().any(|a| a.mode.remediate);
    let permission = if remediates {
        &Permission::TENANT_STANDARDS_READWRITE
    } else {
        &Permission::TENANT_STANDARDS_READ
    };
    if let Err(e) = handle.authorize("standards.run", permission).await {
        out.error = Some(e);
        return out;
    }
    if resolution.assignments.is_empty() {
        return out;
    }
    let target = TenantTarget {
        graph: handle.graph().clone(),
        exchange: handle.exchange().clone(),
    };
    let now = handle.cipp().clock().now();
    // Boxed here, where the borrows are concrete, so the fleet's future is provably `Send`.
    let results =
        futures::FutureExt::boxed(run_tenant(&target, &resolution.assignments, now)).await;
    for (a, r) in resolution.assignments.iter().zip(&results) {
        let outcome = match r.status {
            Status::Remediated => AuditOutcome::Succeeded,
            Status::RemediationFailed => AuditOutcome::Failed {
                error: r
                    .error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .or_else(|| r.message.clone())
                    .unwrap_or_else(|| "the tenant still differs after remediation".to_owned()),
                request_id: r.error.as_ref().and_then(|e| e.request_id.clone()),
            },
            _ => continue,
        };
        let id = r.key.to_string();
        handle
            .record(
                &Act {
                    operation: "standards.remediate",
                    permission: &Permission::TENANT_STANDARDS_READWRITE,
                    target: Some(&id),
                    parameters: a.settings.clone(),
                },
                outcome,
            )
            .await;
    }
    match store.record(results.clone()).await {
        Ok(recorded) => out.results = recorded,
        Err(e) => {
            out.error = Some(Error::invalid_input(
                "store",
                format!("the results were not stored: {e}; drift alerts wait for the next run"),
            ));
            out.results = results
                .into_iter()
                .map(|result| Recorded {
                    record: ResultRecord {
                        result,
                        drift_since: None,
                        resolved_at: None,
                        fingerprint: None,
                    },
                    transition: Transition::First,
                })
                .collect();
        }
    }
    out
}

/// The tenant's drift event: its alert-mode results whose drift is new or changed, or
/// `None`. The fingerprint covers the tenant and each drift's fingerprint, so the same
/// drift always gives the same event fingerprint.
fn drift_event(t: &TenantStandards, now: DateTime<Utc>) -> Option<Event> {
    if t.error.is_some() {
        return None;
    }
    let new: Vec<&Recorded> = t
        .results
        .iter()
        .filter(|r| r.record.result.mode.alert && r.transition.notifies())
        .collect();
    if new.is_empty() {
        return None;
    }
    let tenant = t.tenant.id.as_str();
    let mut prints: Vec<&str> = new
        .iter()
        .filter_map(|r| r.record.fingerprint.as_deref())
        .collect();
    prints.sort_unstable();
    let mut parts = vec!["standard.drift_detected", tenant];
    parts.extend(prints);
    let rows: Vec<Value> = new
        .iter()
        .map(|r| {
            let res = &r.record.result;
            json!({
                "tenant": tenant,
                "standard": res.key.standard,
                "template": res.key.template,
                "outcome": {"status": res.status.label()},
                "differences": res.differences,
                "current": res.current,
                "expected": res.expected,
                "driftSince": r.record.drift_since,
                "fingerprint": r.record.fingerprint,
            })
        })
        .collect();
    Some(Event {
        schema_version: SCHEMA_VERSION,
        kind: "standard.drift_detected".to_owned(),
        source: "cipp-standards".to_owned(),
        title: format!("Standards drift in {}", t.tenant.label()),
        tenants: vec![tenant.to_owned()],
        time: now,
        count: new.len(),
        findings: new.len(),
        comment: None,
        reference: None,
        fingerprint: fingerprint(&parts),
        payload: json!({ "results": rows }),
    })
}

/// Sends every event to every notifier (four at a time); the failures, described.
async fn deliver(events: &[Event], notifiers: &[Arc<dyn Notifier>]) -> Vec<String> {
    let mut sends: Vec<futures::future::BoxFuture<'_, Option<String>>> = Vec::new();
    for e in events {
        for n in notifiers {
            sends.push(Box::pin(async move {
                n.notify(e).await.err().map(|err| {
                    format!(
                        "{} did not take the drift alert {} ({}): {err}",
                        n.name(),
                        e.fingerprint,
                        e.tenants.join(", ")
                    )
                })
            }));
        }
    }
    let done: Vec<Option<String>> = futures::stream::iter(sends)
        .buffer_unordered(4)
        .collect()
        .await;
    done.into_iter().flatten().collect()
}

/// The template kind standards templates are kept under in a template store (CIPP's
/// `StandardsTemplateV2`): the template's body is a [`StandardsTemplate`] or CIPP's shape.
pub const STANDARDS_TEMPLATE_KIND: &str = "StandardsTemplateV2";

/// A standards template from a stored template's body: this crate's shape, or CIPP's.
pub fn standards_template_from(body: &Value) -> Result<StandardsTemplate, Error> {
    if body.get("GUID").is_some() || body.get("templateName").is_some() {
        return StandardsTemplate::from_cipp(body);
    }
    serde_json::from_value(body.clone()).map_err(|e| {
        Error::invalid_input(
            "standardsTemplate",
            format!("not a standards template ({e}); give `id`, `name`, `targets`, `standards`"),
        )
    })
}

/// What the `standards.run` command needs besides the client: the catalogue, the groups,
/// the result store and the notifiers (as [`RunOptions`]).
#[derive(Clone, Debug, Default)]
pub struct StandardsService {
    /// How runs run; keep the same store across runs so drift alerts once.
    pub options: RunOptions,
}

/// Parameters of `standards.run`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StandardsRunParams {
    /// The standards template inline (this crate's shape or CIPP's).
    #[serde(default)]
    template: Option<Value>,
    /// Or: a directory of templates (`DirTemplateStore`) and the id of the standards
    /// template in it.
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    template_id: Option<String>,
    /// Report only, whatever the template says.
    #[serde(default)]
    report_only: bool,
}

impl StandardsRunParams {
    fn check(&self) -> Result<(), String> {
        match (&self.template, &self.store, &self.template_id) {
            (Some(t), None, None) => standards_template_from(t)
                .map(drop)
                .map_err(|e| e.to_string()),
            (None, Some(_), Some(_)) => Ok(()),
            _ => Err("give either `template` (inline) or both `store` and `templateId`".to_owned()),
        }
    }

    async fn template(&self) -> Result<StandardsTemplate, String> {
        use cipp_templates::store::{DirTemplateStore, TemplateStore};
        if let Some(t) = &self.template {
            return standards_template_from(t).map_err(|e| e.to_string());
        }
        let (Some(dir), Some(id)) = (&self.store, &self.template_id) else {
            return Err("give either `template` (inline) or both `store` and `templateId`".into());
        };
        let store =
            DirTemplateStore::open(dir).map_err(|e| format!("template store {dir}: {e}"))?;
        match store.get(id).await {
            Ok(Some(t)) => {
                standards_template_from(&t.body).map_err(|e| format!("template {id}: {e}"))
            }
            Ok(None) => Err(format!("template {id} is not in {dir}")),
            Err(e) => Err(format!("template {id}: {e}")),
        }
    }
}

struct StandardsRunCommand {
    cipp: Cipp,
    service: StandardsService,
}

#[async_trait::async_trait]
impl cipp_scheduler::command::Command for StandardsRunCommand {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        let p: StandardsRunParams =
            serde_json::from_value(parameters.clone()).map_err(|e| e.to_string())?;
        p.check()?;
        if let Some(t) = &p.template {
            let t = standards_template_from(t).map_err(|e| e.to_string())?;
            let errors = t.validate(&self.service.options.catalogue);
            if !errors.is_empty() {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return Err(list.join("; "));
            }
        }
        Ok(())
    }

    async fn run(
        &self,
        ctx: cipp_scheduler::command::RunContext,
    ) -> Result<cipp_scheduler::command::CommandOutput, cipp_scheduler::command::CommandError> {
        use cipp_scheduler::command::{CommandError, CommandOutput};
        let p: StandardsRunParams = serde_json::from_value(ctx.parameters)
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let template = p.template().await.map_err(CommandError::failed)?;
        let id = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        // The tenant's domains, so that targets and exclusions naming a domain match a task
        // that names the tenant by id.
        let org = self
            .cipp
            .graph()
            .tenant(&id)
            .directory()
            .organization()
            .await
            .map_err(CommandError::from)?;
        let mut tenant = Tenant::new(id.clone());
        tenant.default_domain = org.default_domain().map(str::to_owned);
        tenant.initial_domain = org.initial_domain().map(str::to_owned);
        // A task targets the tenant directly: the template's own targets still decide
        // which of its standards apply (a tenant it excludes runs nothing).
        let mut options = self.service.options.clone();
        options.report_only |= p.report_only;
        let report = run(
            &self.cipp,
            std::slice::from_ref(&template),
            vec![tenant],
            &options,
            self.cipp.fleet(),
        )
        .await;
        let Some(one) = report.tenants.into_iter().next() else {
            return Ok(CommandOutput::NoChange(format!(
                "standards template {} does not apply to {}",
                template.id, ctx.tenant
            )));
        };
        if let Some(e) = one.error {
            return Err(CommandError::from(e));
        }
        command_output(&one)
    }
}

/// A tenant's run as a task result: the new drift and the remediations as findings (so a
/// task that alerts only with findings alerts once per drift), failures as a warning.
fn command_output(
    t: &TenantStandards,
) -> Result<cipp_scheduler::command::CommandOutput, cipp_scheduler::command::CommandError> {
    use cipp_scheduler::command::CommandOutput;
    let findings: Vec<Value> = t
        .results
        .iter()
        .filter(|r| {
            (r.record.result.mode.alert && r.transition.notifies())
                || matches!(
                    r.record.result.status,
                    Status::Remediated | Status::RemediationFailed
                )
        })
        .map(|r| {
            let res = &r.record.result;
            json!({
                "standard": res.key.standard,
                "template": res.key.template,
                "status": res.status.label(),
                "differences": res.differences,
                "fingerprint": r.record.fingerprint,
            })
        })
        .collect();
    let mut failed: Vec<String> = t
        .results
        .iter()
        .filter(|r| {
            matches!(
                r.record.result.status,
                Status::Failed | Status::RemediationFailed
            )
        })
        .map(|r| {
            let res = &r.record.result;
            format!(
                "{}: {}",
                res.key.standard,
                res.error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .or_else(|| res.message.clone())
                    .unwrap_or_default()
            )
        })
        .collect();
    failed.extend(
        t.template_errors
            .iter()
            .map(|(tpl, e)| format!("{tpl}: {e}")),
    );
    let counts = summary(t);
    if !failed.is_empty() {
        return Ok(CommandOutput::Warning {
            output: json!({"findings": findings, "summary": counts}),
            message: failed.join("; "),
        });
    }
    if findings.is_empty() {
        return Ok(CommandOutput::NoChange(format!(
            "no new drift ({})",
            counts
                .as_object()
                .map(|m| m
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        )));
    }
    Ok(CommandOutput::Done(Value::Array(findings)))
}

/// How many results of each status.
fn summary(t: &TenantStandards) -> Value {
    let mut counts = serde_json::Map::new();
    for r in &t.results {
        let label = r.record.result.status.label();
        let n = counts.get(label).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(label.to_owned(), json!(n + 1));
    }
    Value::Object(counts)
}

/// Registers `standards.run` (parameters: `template` inline, or `store` and `templateId`;
/// `reportOnly`) with `service`'s options.
pub fn register_standards(
    registry: &mut cipp_scheduler::command::Registry,
    cipp: &Cipp,
    service: StandardsService,
) {
    registry.register(
        "standards.run",
        Arc::new(StandardsRunCommand {
            cipp: cipp.clone(),
            service,
        }),
    );
}

// ---------------------------------------------------------------------------------------
// Drift

/// What [`drift()`] and [`decide`] need besides the run options.
#[derive(Clone)]
pub struct DriftOptions {
    /// Where decisions are kept.
    pub book: Arc<dyn DriftBook>,
    /// The template store the template standards deploy from: with it, Conditional Access
    /// and Intune policies that no template of the tenant deploys are deviations too
    /// (CIPP's drift templates); without it, only standards are.
    pub templates: Option<Arc<dyn cipp_templates::store::TemplateStore>>,
    /// The variables the template standards use (template names may hold some).
    pub variables: cipp_templates::variables::Variables,
}

impl std::fmt::Debug for DriftOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriftOptions")
            .field("extra_policies", &self.templates.is_some())
            .finish_non_exhaustive()
    }
}

impl DriftOptions {
    /// Decisions in `book`; standards only.
    pub fn new(book: Arc<dyn DriftBook>) -> DriftOptions {
        DriftOptions {
            book,
            templates: None,
            variables: cipp_templates::variables::Variables::new(),
        }
    }

    /// Also reports the policies no template in `store` deploys, names resolved with
    /// `variables`.
    pub fn extra_policies(
        mut self,
        store: Arc<dyn cipp_templates::store::TemplateStore>,
        variables: cipp_templates::variables::Variables,
    ) -> DriftOptions {
        self.templates = Some(store);
        self.variables = variables;
        self
    }
}

/// One tenant's drift.
#[derive(Clone, Debug)]
pub struct DriftReport {
    /// The tenant (with its domains).
    pub tenant: Tenant,
    /// Every deviation with its status.
    pub deviations: Vec<Deviation>,
}

impl DriftReport {
    /// How many deviations count against the tenant (new or denied).
    pub fn open(&self) -> usize {
        self.deviations.iter().filter(|d| d.status.counts()).count()
    }
}

/// The Intune collections drift looks for extra policies in.
const DRIFT_INTUNE: [cipp_graph::intune::IntuneKind; 4] = [
    cipp_graph::intune::IntuneKind::DeviceConfiguration,
    cipp_graph::intune::IntuneKind::SettingsCatalog,
    cipp_graph::intune::IntuneKind::CompliancePolicy,
    cipp_graph::intune::IntuneKind::AdministrativeTemplate,
];

fn intune_collection(kind: cipp_graph::intune::IntuneKind) -> &'static str {
    use cipp_graph::intune::IntuneKind as K;
    match kind {
        K::DeviceConfiguration => "deviceConfigurations",
        K::SettingsCatalog => "configurationPolicies",
        K::CompliancePolicy => "deviceCompliancePolicies",
        K::AdministrativeTemplate => "groupPolicyConfigurations",
        _ => "other",
    }
}

/// The tenant record with its domains read from its organization.
async fn tenant_record(handle: &crate::TenantHandle) -> Result<Tenant, Error> {
    let org = handle.graph().directory().organization().await?;
    let mut t = Tenant::new(handle.id().clone());
    t.default_domain = org.default_domain().map(str::to_owned);
    t.initial_domain = org.initial_domain().map(str::to_owned);
    t.display_name = org.display_name.clone();
    Ok(t)
}

/// The names (lower-cased) of the policies the tenant's template standards deploy.
async fn deployed_names(
    tenant: &Tenant,
    resolution: &Resolution,
    store: &dyn cipp_templates::store::TemplateStore,
    variables: &cipp_templates::variables::Variables,
) -> Result<std::collections::BTreeSet<String>, Error> {
    let mut names = std::collections::BTreeSet::new();
    let context = cipp_templates::variables::TenantContext::from_tenant(tenant);
    for a in &resolution.assignments {
        let name = a.standard.meta().name;
        if name != "IntuneTemplate" && name != "ConditionalAccessTemplate" {
            continue;
        }
        let Some(id) = a.template.as_deref() else {
            continue;
        };
        let Some(t) = store
            .get(id)
            .await
            .map_err(|e| Error::invalid_input("templates", format!("template {id}: {e}")))?
        else {
            continue;
        };
        let body = match &context {
            Some(c) => variables
                .resolve_for(c)
                .substitute_json(&t.body)
                .unwrap_or_else(|_| t.body.clone()),
            None => t.body.clone(),
        };
        if let Some(n) = cipp_templates::plan::object_name(&t.kind, &body) {
            names.insert(n.to_lowercase());
        }
    }
    Ok(names)
}

/// The Conditional Access and Intune policies of the tenant whose names are not in
/// `deployed` (read together).
async fn extra_policies(
    handle: &crate::TenantHandle,
    deployed: &std::collections::BTreeSet<String>,
) -> Result<Vec<ExtraPolicy>, Error> {
    let graph = handle.graph();
    let ca = graph.conditional_access().policies();
    let intune = futures::future::try_join_all(DRIFT_INTUNE.iter().map(|k| {
        let list = graph.intune().list(*k);
        async move { list.await.map(|v| (*k, v)) }
    }));
    let (ca, intune) = futures::try_join!(async { ca.await }, intune)?;
    let mut out = Vec::new();
    for p in ca {
        if !deployed.contains(&p.display_name.to_lowercase()) {
            out.push(ExtraPolicy {
                kind: PolicyKind::ConditionalAccess,
                id: p.id.clone(),
                name: p.display_name.clone(),
                modified: None,
            });
        }
    }
    for (kind, policies) in intune {
        for p in policies {
            if !deployed.contains(&p.title().to_lowercase()) {
                out.push(ExtraPolicy {
                    kind: PolicyKind::Intune {
                        collection: intune_collection(kind).to_owned(),
                    },
                    id: p.id.clone(),
                    name: p.title().to_owned(),
                    modified: p.last_modified_date_time,
                });
            }
        }
    }
    Ok(out)
}

/// One tenant's drift from `templates`: its non-compliant standards (the latest results in
/// the run options' store, for the standards its templates still assign) and, with a
/// template store in `drift_options`, the policies no template of the tenant deploys —
/// each with its decision. Needs `Tenant.Standards.Read`.
pub async fn drift(
    handle: &crate::TenantHandle,
    templates: &[StandardsTemplate],
    options: &RunOptions,
    drift_options: &DriftOptions,
) -> Result<DriftReport, Error> {
    handle
        .authorize("standards.drift", &Permission::TENANT_STANDARDS_READ)
        .await?;
    let tenant = tenant_record(handle).await?;
    let resolution = assignments_for(templates, &tenant, options);
    let assigned: std::collections::BTreeSet<(String, Option<String>)> = resolution
        .assignments
        .iter()
        .map(|a| (a.standard.id(), a.template.clone()))
        .collect();
    let records: Vec<ResultRecord> = options
        .store
        .latest(Some(handle.id()))
        .await
        .map_err(|e| Error::invalid_input("store", e.to_string()))?
        .into_iter()
        .filter(|r| {
            assigned.contains(&(r.result.key.standard.clone(), r.result.key.template.clone()))
        })
        .collect();
    let extras = match &drift_options.templates {
        Some(store) => {
            let names = deployed_names(
                &tenant,
                &resolution,
                store.as_ref(),
                &drift_options.variables,
            )
            .await?;
            extra_policies(handle, &names).await?
        }
        None => Vec::new(),
    };
    let decisions = drift_options
        .book
        .decisions(handle.id())
        .await
        .map_err(|e| Error::invalid_input("drift book", e.to_string()))?;
    Ok(DriftReport {
        deviations: deviations(handle.id(), &records, &extras, &decisions),
        tenant,
    })
}

/// What [`decide`] did besides recording the decision.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DriftAction {
    /// Nothing else to do.
    Recorded,
    /// The standard was remediated (its result says whether the re-read proved it).
    Remediated(Box<StandardResult>),
    /// The extra policy was deleted.
    Deleted {
        /// The policy.
        policy: ExtraPolicy,
    },
}

/// Records a decision about `deviation` (an id from [`drift()`]) by the client's principal;
/// `DeniedRemediate` then remediates the standard (proved by a re-read, the result stored)
/// and `DeniedDelete` deletes the extra policy. Needs `Tenant.Standards.ReadWrite`; every
/// decision and action is in the audit trail. A status that does not fit the deviation
/// (deleting a standard, remediating a policy no template describes) is refused before
/// anything is recorded.
pub async fn decide(
    handle: &crate::TenantHandle,
    templates: &[StandardsTemplate],
    options: &RunOptions,
    drift_options: &DriftOptions,
    deviation: &str,
    status: DriftStatus,
    reason: Option<&str>,
) -> Result<DriftAction, Error> {
    handle
        .authorize(
            "standards.drift_decide",
            &Permission::TENANT_STANDARDS_READWRITE,
        )
        .await?;
    let report = drift(handle, templates, options, drift_options).await?;
    let Some(found) = report.deviations.iter().find(|d| d.id == deviation) else {
        return Err(Error::invalid_input(
            "deviation",
            format!("`{deviation}` is not a deviation of this tenant now; drift() lists them"),
        ));
    };
    match (&found.subject, status) {
        (Subject::Standard { .. }, DriftStatus::DeniedDelete) => {
            return Err(Error::invalid_input(
                "status",
                "a standard cannot be deleted: use DeniedRemediate to bring the tenant in line",
            ))
        }
        (Subject::ExtraPolicy(_), DriftStatus::DeniedRemediate) => {
            return Err(Error::invalid_input(
                "status",
                "no template describes this policy, so there is nothing to remediate it to: \
                 use DeniedDelete to delete it, or Accepted",
            ))
        }
        _ => {}
    }
    let by = handle
        .cipp()
        .access_control()
        .map(|a| a.principal.name.clone())
        .unwrap_or_else(|| "unidentified".to_owned());
    let decision = DriftDecision {
        tenant: handle.id().clone(),
        deviation: deviation.to_owned(),
        status,
        by,
        at: handle.cipp().clock().now(),
        reason: reason.map(str::to_owned),
    };
    drift_options
        .book
        .decide(decision)
        .await
        .map_err(|e| Error::invalid_input("drift book", e.to_string()))?;
    let act = |operation| Act {
        operation,
        permission: &Permission::TENANT_STANDARDS_READWRITE,
        target: Some(deviation),
        parameters: json!({"status": status.cipp_name(), "reason": reason}),
    };
    handle
        .record(&act("standards.drift_decide"), AuditOutcome::Succeeded)
        .await;
    match (&found.subject, status) {
        (Subject::Standard { standard, template }, DriftStatus::DeniedRemediate) => {
            let resolution = assignments_for(templates, &report.tenant, options);
            let Some(mut a) = resolution
                .assignments
                .into_iter()
                .find(|a| &a.standard.id() == standard && &a.template == template)
            else {
                return Err(Error::invalid_input(
                    "deviation",
                    "no template assigns this standard any more",
                ));
            };
            a.mode.remediate = true;
            a.mode.report = true;
            let target = TenantTarget {
                graph: handle.graph().clone(),
                exchange: handle.exchange().clone(),
            };
            let now = handle.cipp().clock().now();
            let results =
                futures::FutureExt::boxed(run_tenant(&target, std::slice::from_ref(&a), now)).await;
            let Some(result) = results.into_iter().next() else {
                return Err(Error::invalid_input(
                    "deviation",
                    "the standard did not run",
                ));
            };
            let outcome = if result.status.is_compliant() {
                AuditOutcome::Succeeded
            } else {
                AuditOutcome::Failed {
                    error: result
                        .error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .or_else(|| result.message.clone())
                        .unwrap_or_else(|| result.status.label().to_owned()),
                    request_id: result.error.as_ref().and_then(|e| e.request_id.clone()),
                }
            };
            handle.record(&act("standards.remediate"), outcome).await;
            options
                .store
                .record(vec![result.clone()])
                .await
                .map_err(|e| Error::invalid_input("store", e.to_string()))?;
            Ok(DriftAction::Remediated(Box::new(result)))
        }
        (Subject::ExtraPolicy(p), DriftStatus::DeniedDelete) => {
            let deleted = match &p.kind {
                PolicyKind::ConditionalAccess => {
                    handle
                        .graph()
                        .conditional_access()
                        .delete_policy(&p.id)
                        .await
                }
                PolicyKind::Intune { collection } => {
                    match DRIFT_INTUNE
                        .iter()
                        .find(|k| intune_collection(**k) == collection)
                    {
                        Some(k) => handle.graph().intune().delete(*k, &p.id).await,
                        None => Err(Error::invalid_input(
                            "deviation",
                            format!("policies in {collection} cannot be deleted here"),
                        )),
                    }
                }
                _ => Err(Error::invalid_input(
                    "deviation",
                    "this kind of policy cannot be deleted here",
                )),
            };
            let outcome = match &deleted {
                Ok(()) => AuditOutcome::Succeeded,
                Err(e) => AuditOutcome::Failed {
                    error: e.to_string(),
                    request_id: e.request_id().map(str::to_owned),
                },
            };
            handle.record(&act("standards.drift_delete"), outcome).await;
            deleted?;
            Ok(DriftAction::Deleted { policy: p.clone() })
        }
        _ => Ok(DriftAction::Recorded),
    }
}

/// Drift decisions in the scheduler's key-value store (memory, SQLite, PostgreSQL), so they
/// survive restarts and every worker sees the same: one value per tenant (namespace
/// `drift-decisions`), appended with compare-and-swap.
#[derive(Clone)]
pub struct KvDriftBook {
    kv: Arc<dyn cipp_scheduler::kv::KvStore>,
}

impl std::fmt::Debug for KvDriftBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvDriftBook").finish_non_exhaustive()
    }
}

impl KvDriftBook {
    /// The key-value namespace of the decisions.
    pub const NAMESPACE: &'static str = "drift-decisions";

    /// Decisions kept in `kv`.
    pub fn new(kv: Arc<dyn cipp_scheduler::kv::KvStore>) -> KvDriftBook {
        KvDriftBook { kv }
    }
}

fn book_error(e: impl std::fmt::Display) -> cipp_templates::store::StoreError {
    cipp_templates::store::StoreError::Database(e.to_string())
}

#[async_trait::async_trait]
impl DriftBook for KvDriftBook {
    async fn decide(
        &self,
        decision: DriftDecision,
    ) -> Result<(), cipp_templates::store::StoreError> {
        let key = decision.tenant.as_str().to_ascii_lowercase();
        // A few tries: another worker may decide for the same tenant at the same time.
        for _ in 0..8 {
            let current = self
                .kv
                .get(Self::NAMESPACE, &key)
                .await
                .map_err(book_error)?;
            let (mut list, version): (Vec<DriftDecision>, Option<u64>) = match &current {
                Some(v) => (
                    serde_json::from_value(v.value.clone()).map_err(book_error)?,
                    Some(v.version),
                ),
                None => (Vec::new(), None),
            };
            // Only the latest decision per deviation matters; keep the book small.
            list.retain(|d| d.deviation != decision.deviation);
            list.push(decision.clone());
            let value = serde_json::to_value(&list).map_err(book_error)?;
            if self
                .kv
                .put(Self::NAMESPACE, &key, &value, version)
                .await
                .map_err(book_error)?
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(book_error(format!(
            "the drift decisions of {key} kept changing under this write; try again"
        )))
    }

    async fn decisions(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<DriftDecision>, cipp_templates::store::StoreError> {
        let key = tenant.as_str().to_ascii_lowercase();
        match self
            .kv
            .get(Self::NAMESPACE, &key)
            .await
            .map_err(book_error)?
        {
            Some(v) => serde_json::from_value(v.value).map_err(book_error),
            None => Ok(Vec::new()),
        }
    }
}
