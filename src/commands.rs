//! The built-in scheduler commands: every user action and workflow of the facade, so each
//! scheduled use CIPP has works here, plus a tenant resolver over the fleet.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::{Error, Outcome, Report, TenantId};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::TenantResolver;
use cipp_scheduler::task::Target;
use cipp_scheduler::SchedulerError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::client::Cipp;
use crate::offboarding::{LicenseRemoval, OffboardingOptions};
use crate::users::Guard;

pub use crate::user_commands::USER_ACTIONS_WITHOUT_COMMAND;

fn to_command_error(e: Error) -> CommandError {
    CommandError::from(e)
}

/// A report becomes output when it is done, and a failure when any step failed — a task
/// never reports success for a tenant where something failed.
pub(crate) fn report_output(r: Report, extra: Value) -> Result<CommandOutput, CommandError> {
    match r.overall() {
        Outcome::Failed { error } => Err(CommandError::Failed(error)),
        Outcome::Partial { message, failures } => Err(CommandError::failed(format!(
            "{message}: {}",
            failures.join("; ")
        ))),
        Outcome::NoChange { message } => Ok(CommandOutput::NoChange(message)),
        Outcome::Skipped { reason } => Ok(CommandOutput::NoChange(reason)),
        Outcome::Warning { message } => Ok(CommandOutput::Warning {
            output: json!({"report": r, "extra": extra}),
            message,
        }),
        _ => Ok(CommandOutput::Done(json!({"report": r, "extra": extra}))),
    }
}

pub(crate) fn outcome_output(o: Outcome) -> Result<CommandOutput, CommandError> {
    let mut r = Report::new();
    r.push("action", o);
    report_output(r, Value::Null)
}

type Runner<P> = Arc<
    dyn Fn(
            Cipp,
            TenantId,
            P,
        ) -> futures::future::BoxFuture<'static, Result<CommandOutput, CommandError>>
        + Send
        + Sync,
>;

/// A command with typed parameters `P`, checked when the task is added.
struct Typed<P> {
    cipp: Cipp,
    run: Runner<P>,
}

#[async_trait]
impl<P: DeserializeOwned + Send + Sync + 'static> Command for Typed<P> {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        serde_json::from_value::<P>(parameters.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let p: P = serde_json::from_value(ctx.parameters)
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let tenant = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        (self.run)(self.cipp.clone(), tenant, p).await
    }
}

pub(crate) fn typed<P, F, Fut>(cipp: &Cipp, f: F) -> Arc<dyn Command>
where
    P: DeserializeOwned + Send + Sync + 'static,
    F: Fn(Cipp, TenantId, P) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CommandOutput, CommandError>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(Typed::<P> {
        cipp: cipp.clone(),
        run: Arc::new(move |c, t, p| {
            let f = f.clone();
            Box::pin(async move { f(c, t, p).await })
        }),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Remediate {
    user: String,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    allow_privileged: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Research {
    user: String,
    #[serde(default)]
    window_days: Option<i64>,
}

/// Offboarding options as task parameters (CIPP's switch names, camelCase).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Offboard {
    user: String,
    #[serde(default)]
    revoke_sessions: bool,
    #[serde(default)]
    reset_password: bool,
    #[serde(default)]
    disable_sign_in: bool,
    #[serde(default)]
    hide_from_gal: bool,
    #[serde(default)]
    remove_groups: bool,
    #[serde(default)]
    remove_rules: bool,
    #[serde(default)]
    remove_mobile_devices: bool,
    #[serde(default)]
    remove_calendar_invites: bool,
    #[serde(default)]
    out_of_office: Option<String>,
    #[serde(default)]
    forward_to: Option<String>,
    #[serde(default)]
    keep_copy: bool,
    #[serde(default)]
    disable_forwarding: bool,
    #[serde(default)]
    disable_onedrive_sharing: bool,
    /// Users (UPNs) to grant full access to the mailbox.
    #[serde(default)]
    grant_full_access: Vec<String>,
    /// Whether the granted mailboxes are automapped in Outlook.
    #[serde(default)]
    automap: bool,
    #[serde(default)]
    convert_to_shared: bool,
    #[serde(default)]
    remove_mfa_methods: bool,
    #[serde(default)]
    remove_licenses: bool,
    #[serde(default)]
    clear_immutable_id: bool,
    #[serde(default)]
    delete_user: bool,
    #[serde(default)]
    allow_privileged: bool,
}

fn guard(allow: bool) -> Guard {
    if allow {
        Guard::AllowPrivileged
    } else {
        Guard::RefusePrivileged
    }
}

/// Registers the built-in commands (`user.*` actions and workflows, `tenant.*` reports)
/// into `registry`.
pub fn register_builtin(registry: &mut Registry, cipp: &Cipp) {
    register_tenant_reports(registry, cipp);
    crate::user_commands::register(registry, cipp);
    registry.register(
        "user.research_compromised_account",
        typed(cipp, |c, t, p: Research| async move {
            let opts = crate::research::ResearchOptions {
                window: chrono::Duration::days(p.window_days.unwrap_or(7).clamp(1, 90)),
                ..Default::default()
            };
            let r = crate::research::research(&c.tenant(&t), &p.user, &opts)
                .await
                .map_err(to_command_error)?;
            Ok(CommandOutput::Done(
                json!({"verdict": r.verdict, "score": r.score, "indicators": r.indicators}),
            ))
        }),
    );
    registry.register(
        "user.remediate_compromised_account",
        typed(cipp, |c, t, p: Remediate| async move {
            let opts = crate::remediation::RemediationOptions {
                dry_run: p.dry_run,
                guard: guard(p.allow_privileged),
                ..Default::default()
            };
            let r = crate::remediation::remediate(&c.tenant(&t), &p.user, &opts)
                .await
                .map_err(to_command_error)?;
            report_output(r.report, Value::Null)
        }),
    );
    registry.register(
        "user.offboard",
        typed(cipp, |c, t, p: Offboard| async move {
            let options = OffboardingOptions {
                revoke_sessions: p.revoke_sessions,
                reset_password: p.reset_password,
                disable_sign_in: p.disable_sign_in,
                hide_from_gal: p.hide_from_gal,
                remove_groups: p.remove_groups,
                remove_rules: p.remove_rules,
                remove_mobile_devices: p.remove_mobile_devices,
                remove_calendar_invites: p.remove_calendar_invites,
                out_of_office: p.out_of_office,
                forward_to: p.forward_to.map(|f| (f, p.keep_copy)),
                disable_forwarding: p.disable_forwarding,
                disable_onedrive_sharing: p.disable_onedrive_sharing,
                grant_full_access: p
                    .grant_full_access
                    .iter()
                    .map(|u| (u.clone(), p.automap))
                    .collect(),
                convert_to_shared: p.convert_to_shared,
                remove_mfa_methods: p.remove_mfa_methods,
                licenses: if p.remove_licenses {
                    LicenseRemoval::Deferred
                } else {
                    LicenseRemoval::Keep
                },
                clear_immutable_id: p.clear_immutable_id,
                delete_user: p.delete_user,
                guard: guard(p.allow_privileged),
            };
            let r = crate::offboarding::offboard(&c.tenant(&t), &p.user, &options)
                .await
                .map_err(to_command_error)?;
            let follow_ups = serde_json::to_value(&r.follow_ups).unwrap_or(Value::Null);
            report_output(r.report, json!({"followUps": follow_ups}))
        }),
    );
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoParams {}

/// Parameters of `templates.deploy`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TemplatesDeploy {
    /// Template ids in the store.
    templates: Vec<String>,
    /// The directory of a `DirTemplateStore`.
    store: String,
    /// Create / update Conditional Access policies in report-only.
    #[serde(default)]
    report_only: bool,
    /// Disable security defaults where an enabled Conditional Access policy replaces them
    /// (otherwise such a tenant is refused before anything is sent).
    #[serde(default)]
    disable_security_defaults: bool,
}

/// Runs `templates.deploy` for one tenant: the templates from the store, the tenant's
/// record from its organization (variables need its default domain), deployed with
/// adopt-by-name (a task keeps no bindings, so a re-run adopts what an earlier run made).
async fn templates_deploy(
    c: Cipp,
    t: TenantId,
    p: TemplatesDeploy,
) -> Result<CommandOutput, CommandError> {
    use crate::templates::plan::{CaState, PlanOptions};
    use crate::templates::store::{DirTemplateStore, TemplateStore};
    use crate::templates::{deploy, DeployOptions};

    if p.templates.is_empty() {
        return Err(CommandError::failed("no templates given"));
    }
    let store = DirTemplateStore::open(&p.store)
        .map_err(|e| CommandError::failed(format!("template store {}: {e}", p.store)))?;
    let mut templates = Vec::with_capacity(p.templates.len());
    for id in &p.templates {
        match store.get(id).await {
            Ok(Some(template)) => templates.push(template),
            Ok(None) => {
                return Err(CommandError::failed(format!(
                    "template {id} is not in {}",
                    p.store
                )))
            }
            Err(e) => return Err(CommandError::failed(format!("template {id}: {e}"))),
        }
    }
    let org = c
        .graph()
        .tenant(&t)
        .directory()
        .organization()
        .await
        .map_err(to_command_error)?;
    let mut tenant = crate::Tenant::new(t);
    tenant.default_domain = org.default_domain().map(str::to_owned);
    tenant.initial_domain = org.initial_domain().map(str::to_owned);
    let mut plan = PlanOptions::default().adopt_by_name(true);
    if p.report_only {
        plan = plan.ca_state(CaState::ReportOnly);
    }
    let mut options = DeployOptions::new().plan(plan);
    if p.disable_security_defaults {
        options = options
            .security_defaults(crate::templates::guardrails::SecurityDefaults::DisableWhenReplaced);
    }
    let report = deploy(&c, &templates, vec![tenant], &options, c.fleet()).await;
    let extra = report.to_json();
    let Some(one) = report.tenants.into_iter().next() else {
        return Err(CommandError::failed("the tenant was not deployed"));
    };
    if let Some(e) = one.error {
        return Err(CommandError::failed(e.to_string()));
    }
    match one.report {
        Some(r) => report_output(r.report(), extra),
        None => Err(CommandError::failed("the tenant was not deployed")),
    }
}

/// Registers the tenant-wide report commands (`tenant.*`) and `templates.deploy`.
fn register_tenant_reports(registry: &mut Registry, cipp: &Cipp) {
    registry.register(
        "templates.deploy",
        typed(cipp, |c, t, p: TemplatesDeploy| templates_deploy(c, t, p)),
    );
    registry.register(
        "tenant.mfa_registration",
        typed(cipp, |c, t, _p: NoParams| async move {
            let rows: Vec<cipp_graph::model::UserRegistrationDetails> = c
                .graph()
                .tenant(&t)
                .auth_methods()
                .registration_details()
                .await
                .map_err(to_command_error)?;
            let without: Vec<String> = rows
                .iter()
                .filter(|r| r.is_mfa_registered != Some(true))
                .filter_map(|r| r.user_principal_name.clone())
                .collect();
            Ok(CommandOutput::Done(json!({"users": rows.len(), "withoutMfa": without.len(), "usersWithoutMfa": without})))
        }),
    );
}

/// Resolves targets over the client's fleet, with named tenant groups.
pub struct FleetResolver {
    cipp: Cipp,
    groups: BTreeMap<String, Vec<String>>,
}

impl FleetResolver {
    /// A resolver over `cipp.tenants()` and the given groups (name → tenant ids).
    pub fn new(cipp: Cipp, groups: BTreeMap<String, Vec<String>>) -> Self {
        FleetResolver { cipp, groups }
    }
}

#[async_trait]
impl TenantResolver for FleetResolver {
    async fn resolve(&self, target: &Target) -> Result<Vec<String>, SchedulerError> {
        match target {
            Target::Tenant { id } => Ok(vec![id.clone()]),
            Target::Group { name } => self
                .groups
                .get(name)
                .cloned()
                .ok_or_else(|| SchedulerError::Invalid(format!("no tenant group `{name}`"))),
            Target::AllTenants {
                exclude_tenants,
                exclude_groups,
            } => {
                let excluded: Vec<&String> = exclude_groups
                    .iter()
                    .filter_map(|g| self.groups.get(g))
                    .flatten()
                    .chain(exclude_tenants.iter())
                    .collect();
                let all = self.cipp.tenants().await.map_err(|e| {
                    SchedulerError::Invalid(format!("cannot list the tenants: {e}"))
                })?;
                Ok(all
                    .into_iter()
                    .map(|t| t.id.to_string())
                    .filter(|id| !excluded.iter().any(|x| x.eq_ignore_ascii_case(id)))
                    .collect())
            }
            _ => Err(SchedulerError::Invalid("unsupported target".into())),
        }
    }
}

/// Sends scheduler e-mail through Graph `sendMail` as a mailbox of the partner tenant.
pub struct GraphMailSender {
    cipp: Cipp,
    tenant: TenantId,
    from: String,
}

impl std::fmt::Debug for GraphMailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphMailSender")
            .field("tenant", &self.tenant)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl GraphMailSender {
    /// Sends as `from` (a mailbox UPN) in `tenant` (usually the partner tenant).
    pub fn new(cipp: Cipp, tenant: TenantId, from: &str) -> Result<Self, Error> {
        cipp_graph::users::validate_upn(from)?;
        Ok(GraphMailSender {
            cipp,
            tenant,
            from: from.to_owned(),
        })
    }
}

#[async_trait]
impl cipp_scheduler::notify::EmailSender for GraphMailSender {
    async fn send(&self, to: &[String], subject: &str, html: &str) -> Result<(), SchedulerError> {
        let from = cipp_graph::users::UserRef::parse(&self.from)
            .map_err(|e| SchedulerError::Invalid(e.to_string()))?;
        let message = cipp_graph::mail::MailMessage {
            to: to.to_vec(),
            subject: subject.to_owned(),
            html: html.to_owned(),
            save_to_sent_items: false,
        };
        self.cipp
            .graph()
            .tenant(&self.tenant)
            .mail()
            .send_mail(&from, &message)
            .await
            .map_err(|e| SchedulerError::Notify(e.to_string()))
    }
}
