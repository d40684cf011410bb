//! The built-in scheduler commands: every user action and workflow of the facade, so each
//! scheduled use CIPP has works here, plus a tenant resolver over the fleet.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::{Error, Outcome, Report, TenantId};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::task::Target;
use cipp_scheduler::SchedulerError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authz::{redact, Act, AuditEvent, AuditOutcome, Permission};
use crate::client::Cipp;
use crate::offboarding::{LicenseRemoval, OffboardingOptions};
use crate::users::Guard;
use cipp_scheduler::engine::Engine;
use cipp_scheduler::task::{NewTask, Task};

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
            let r =
                crate::research::research(&c.tenant(&t).map_err(to_command_error)?, &p.user, &opts)
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
            let r = crate::remediation::remediate(
                &c.tenant(&t).map_err(to_command_error)?,
                &p.user,
                &opts,
            )
            .await
            .map_err(to_command_error)?;
            report_output(r.report, Value::Null)
        }),
    );
    registry.register(
        "user.offboard",
        Arc::new(Offboarding {
            cipp: cipp.clone(),
            follow_ups: None,
        }),
    );
}

/// Registers `user.offboard` so that it **queues** its follow-ups as tasks in `store`
/// (the engine's store) instead of returning them in its output: the deferred licence
/// removal becomes a one-off `user.remove_licenses` task for the same tenant and user,
/// due when the follow-up may run, owned by the offboarding task's owner (so an
/// [`OwnedCommands`] engine checks that owner again when it runs), carrying the task's
/// reference. The follow-up task's id is derived from the run, tenant and follow-up, so
/// a retried run never queues it twice. Call it after [`register_builtin`] (it replaces
/// that registration).
pub fn register_offboarding_follow_ups(
    registry: &mut Registry,
    cipp: &Cipp,
    store: Arc<dyn cipp_scheduler::store::Store>,
) {
    registry.register(
        "user.offboard",
        Arc::new(Offboarding {
            cipp: cipp.clone(),
            follow_ups: Some(store),
        }),
    );
}

/// `user.offboard`: the offboarding steps, then its follow-ups returned (`followUps`) or
/// queued as tasks (`queuedTasks`).
struct Offboarding {
    cipp: Cipp,
    follow_ups: Option<Arc<dyn cipp_scheduler::store::Store>>,
}

impl Offboard {
    fn options(&self) -> OffboardingOptions {
        let p = self;
        OffboardingOptions {
            revoke_sessions: p.revoke_sessions,
            reset_password: p.reset_password,
            disable_sign_in: p.disable_sign_in,
            hide_from_gal: p.hide_from_gal,
            remove_groups: p.remove_groups,
            remove_rules: p.remove_rules,
            remove_mobile_devices: p.remove_mobile_devices,
            remove_calendar_invites: p.remove_calendar_invites,
            out_of_office: p.out_of_office.clone(),
            forward_to: p.forward_to.clone().map(|f| (f, p.keep_copy)),
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
        }
    }
}

#[async_trait]
impl Command for Offboarding {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        serde_json::from_value::<Offboard>(parameters.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let p: Offboard = serde_json::from_value(ctx.parameters.clone())
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let tenant = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        let handle = self.cipp.tenant(&tenant).map_err(to_command_error)?;
        let r = crate::offboarding::offboard(&handle, &p.user, &p.options())
            .await
            .map_err(to_command_error)?;
        let Some(store) = &self.follow_ups else {
            let follow_ups = serde_json::to_value(&r.follow_ups).unwrap_or(Value::Null);
            return report_output(r.report, json!({"followUps": follow_ups}));
        };
        let mut queued = Vec::new();
        for (i, f) in r.follow_ups.iter().enumerate() {
            let id = crate::follow_ups::queue(store.as_ref(), &ctx, i, f)
                .await
                .map_err(|e| {
                    CommandError::failed(format!(
                        "offboarding ran, but its follow-up could not be queued: {e}; run it \
                         yourself: {}",
                        serde_json::to_string(f).unwrap_or_default()
                    ))
                })?;
            queued.push(id);
        }
        report_output(r.report, json!({"queuedTasks": queued}))
    }
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

mod fleet;
pub use fleet::FleetResolver;

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

// ---------------------------------------------------------------------------------------
// Scheduled tasks that run with their owner's permissions

/// The permissions a built-in command needs in each tenant it runs for: checked when a task
/// is added through [`OwnedCommands::add_task`] and again each time it runs.
///
/// - `user.<action>`: the action's own permission (`Identity.User.ReadWrite`,
///   `Exchange.Mailbox.ReadWrite` for mailbox actions, `Identity.Group.ReadWrite` for group
///   membership, `Sharepoint.Site.ReadWrite` for OneDrive); the workflows what they always
///   need (`user.offboard` and `user.remediate_compromised_account`: user and mailbox
///   read/write; `user.research_compromised_account`: user and mailbox read);
/// - `recycle_bin.*`: user (or group) read/write;
/// - `templates.deploy`, `standards.run`: `Tenant.Standards.ReadWrite`;
/// - `alert.<Name>`: `Tenant.Alert.Read`; `auditlog.process`: `Tenant.Alert.ReadWrite`;
/// - `gdap.onboard`: `Tenant.Relationship.ReadWrite`;
/// - `trigger.evaluate`: `Identity.User.Read` and `Identity.Group.Read` (the delta reads),
///   plus, through [`OwnedCommands::permissions_with`], those of the command it runs;
/// - `tenant.mfa_registration`: `Identity.User.Read`.
///
/// `None` for any other command: declare its permissions with [`OwnedCommands::declare`].
/// The operations a command calls check their own permissions as well, as the owner.
pub fn command_permissions(command: &str) -> Option<Vec<Permission>> {
    use Permission as P;
    let c = command.to_ascii_lowercase();
    let user_rw = || vec![P::IDENTITY_USER_READWRITE];
    let mailbox_rw = || vec![P::EXCHANGE_MAILBOX_READWRITE];
    Some(match c.as_str() {
        "user.research_compromised_account" => {
            vec![P::IDENTITY_USER_READ, P::EXCHANGE_MAILBOX_READ]
        }
        "user.remediate_compromised_account" | "user.offboard" => {
            vec![P::IDENTITY_USER_READWRITE, P::EXCHANGE_MAILBOX_READWRITE]
        }
        "user.add_to_groups" | "user.remove_from_groups" => vec![P::IDENTITY_GROUP_READWRITE],
        "user.provision_onedrive" | "user.set_onedrive_sharing" | "user.add_onedrive_shortcut" => {
            vec![P::SHAREPOINT_SITE_READWRITE]
        }
        "user.set_out_of_office"
        | "user.change_aliases"
        | "user.set_forwarding"
        | "user.convert_mailbox"
        | "user.enable_archive"
        | "user.hide_from_address_lists"
        | "user.disable_inbox_rules"
        | "user.grant_full_access"
        | "user.grant_calendar"
        | "user.remove_full_access"
        | "user.grant_send_as"
        | "user.remove_send_as"
        | "user.set_send_on_behalf"
        | "user.remove_calendar"
        | "user.remove_inbox_rule"
        | "user.grant_folder_permission"
        | "user.change_folder_permission"
        | "user.remove_folder_permission"
        | "user.change_junk_email"
        | "user.update_inbox_rule" => mailbox_rw(),
        "user.set_sign_in"
        | "user.revoke_sessions"
        | "user.reset_password"
        | "user.rerequire_mfa"
        | "user.remove_licenses"
        | "user.manage_licenses"
        | "user.reprocess_licenses"
        | "user.edit"
        | "user.require_password_change"
        | "user.set_password_never_expires"
        | "user.clear_immutable_id"
        | "user.set_cloud_managed"
        | "user.delete"
        | "user.change_upn"
        | "user.remove_admin_role"
        | "user.create_temporary_access_pass"
        | "user.remove_mfa_method"
        | "user.set_per_user_mfa"
        | "user.set_default_mfa_method"
        | "user.add_sponsor"
        | "user.remove_sponsor" => user_rw(),
        "recycle_bin.restore_group" => vec![P::IDENTITY_GROUP_READWRITE],
        "recycle_bin.restore_user" | "recycle_bin.delete_permanently" => user_rw(),
        "templates.deploy" | "standards.run" => vec![P::TENANT_STANDARDS_READWRITE],
        "auditlog.process" => vec![P::TENANT_ALERT_READWRITE],
        "gdap.onboard" => vec![P::TENANT_RELATIONSHIP_READWRITE],
        // Plus the permissions of the command it runs (`OwnedCommands::permissions_with`).
        "trigger.evaluate" => vec![P::IDENTITY_USER_READ, P::IDENTITY_GROUP_READ],
        "tenant.mfa_registration" => vec![P::IDENTITY_USER_READ],
        a if a.starts_with("alert.") => vec![P::TENANT_ALERT_READ],
        _ => return None,
    })
}

/// Who task owners are, now: looked up each time an owned task runs, so a role changed (or
/// an owner removed) after a task was added applies to its next run.
#[async_trait]
pub trait TaskOwners: Send + Sync + 'static {
    /// The access control `owner` acts under now (principal with its roles, tenant groups,
    /// audit sink); `None` when the owner is not known (any more): their tasks are refused.
    async fn access_control(&self, owner: &str) -> Option<crate::authz::AccessControl>;
}

/// Task owners kept in memory, by principal name (case-insensitive). Cheap to clone;
/// clones share the owners, so [`OwnerDirectory::set`] changes a role for every runner.
#[derive(Clone, Default)]
pub struct OwnerDirectory(Arc<std::sync::RwLock<BTreeMap<String, crate::authz::AccessControl>>>);

impl std::fmt::Debug for OwnerDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owners = self.0.read().unwrap_or_else(|p| p.into_inner());
        f.debug_set().entries(owners.keys()).finish()
    }
}

impl OwnerDirectory {
    /// No owners yet.
    pub fn new() -> OwnerDirectory {
        OwnerDirectory::default()
    }

    /// Adds an owner, or replaces their access control (new roles apply to the next run of
    /// their tasks).
    pub fn set(&self, access: crate::authz::AccessControl) {
        let key = access.principal.name.to_lowercase();
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, access);
    }

    /// Removes an owner: their tasks are refused from their next run.
    pub fn remove(&self, owner: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&owner.to_lowercase());
    }
}

#[async_trait]
impl TaskOwners for OwnerDirectory {
    async fn access_control(&self, owner: &str) -> Option<crate::authz::AccessControl> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&owner.to_lowercase())
            .cloned()
    }
}

type Register = Arc<dyn Fn(&mut Registry, &Cipp) + Send + Sync>;

/// Scheduler commands that run with their task owner's permissions.
///
/// - **Adding** a task through [`OwnedCommands::add_task`] makes the client's principal its
///   owner ([`cipp_scheduler::task::Task::owner`]) and checks, before the task is stored,
///   `CIPP.Scheduler.ReadWrite` and the command's permissions ([`command_permissions`], or
///   those [declared](OwnedCommands::declare)) in every tenant the target names now: a
///   refusal refuses the add, as [`Error::Forbidden`] naming the permission or the tenant,
///   and is recorded. The add (and [`OwnedCommands::remove_task`]) is audited as
///   `scheduler.add_task` / `scheduler.remove_task`.
/// - **Running**: each command of the [registry](OwnedCommands::register_into) looks the
///   owner up in [`TaskOwners`] and runs on `base.with_access_control(<owner's>)`, after
///   checking the command's permissions in the tenant again, so a role changed in between
///   refuses the run (recorded in the owner's audit sink; the tenant's result says which
///   permission is missing). The commands are built for that client by the `register`
///   function given to [`OwnedCommands::new`], so every operation they call checks and
///   audits as the owner.
///
/// A task without an owner (added with `Engine::add`) is refused when it runs, unless
/// [`OwnedCommands::run_ownerless_tasks`] lets it run as `base`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use cipp::authz::{AccessControl, Principal, Role};
/// use cipp::commands::{OwnedCommands, OwnerDirectory};
/// use cipp::scheduler::engine::{Engine, StaticTenants};
/// use cipp::scheduler::recurrence::{Recurrence, Schedule};
/// use cipp::scheduler::store::MemoryStore;
/// use cipp::scheduler::task::NewTask;
/// let sim = cipp::sim::Simulator::demo();
/// let cipp = cipp::Cipp::builder()
///     .transport(Arc::new(sim.clone()))
///     .credentials(sim.demo_credentials())
///     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
///     .build()?;
/// let owners = OwnerDirectory::new();
/// let alex = AccessControl::new(Principal::technician("alex@msp.example").with_role(Role::editor()));
/// owners.set(alex.clone());
/// let owned = OwnedCommands::builtin(&cipp, Arc::new(owners.clone()));
/// let engine = Engine::new(
///     Arc::new(MemoryStore::new()),
///     owned.registry(),
///     Arc::new(StaticTenants::default()),
///     cipp.clock().clone(),
/// );
/// let spec = NewTask::builder("Weekly MFA report", "tenant.mfa_registration", Schedule::new(cipp.clock().now(), Recurrence::parse("7d")?))
///     .tenant("contoso.onmicrosoft.com")
///     .build();
/// let task = owned.add_task(&engine, &cipp.with_access_control(alex), spec).await?;
/// assert_eq!(task.owner.as_deref(), Some("alex@msp.example"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OwnedCommands {
    base: Cipp,
    owners: Arc<dyn TaskOwners>,
    register: Register,
    declared: BTreeMap<String, Vec<Permission>>,
    ownerless: bool,
}

impl std::fmt::Debug for OwnedCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedCommands")
            .field("declared", &self.declared.keys().collect::<Vec<_>>())
            .field("ownerless", &self.ownerless)
            .finish_non_exhaustive()
    }
}

impl OwnedCommands {
    /// The commands `register` registers for a client (it is called with `base` to build
    /// the registry, and with the owner's client each time a command runs), run as their
    /// task's owner found in `owners`. For example
    /// `|r, c| { register_builtin(r, c); cipp::standards::register_standards(r, c, service.clone()) }`.
    pub fn new(
        base: &Cipp,
        owners: Arc<dyn TaskOwners>,
        register: impl Fn(&mut Registry, &Cipp) + Send + Sync + 'static,
    ) -> OwnedCommands {
        OwnedCommands {
            base: base.clone(),
            owners,
            register: Arc::new(register),
            declared: BTreeMap::new(),
            ownerless: false,
        }
    }

    /// The built-in commands ([`register_builtin`]) run as their owner.
    pub fn builtin(base: &Cipp, owners: Arc<dyn TaskOwners>) -> OwnedCommands {
        OwnedCommands::new(base, owners, register_builtin)
    }

    /// Declares the permissions `command` needs in each tenant (for commands of your own,
    /// or to replace a built-in command's).
    pub fn declare(mut self, command: &str, permissions: &[Permission]) -> OwnedCommands {
        self.declared
            .insert(command.to_ascii_lowercase(), permissions.to_vec());
        self
    }

    /// Lets tasks without an owner run, as `base` (by default they are refused).
    pub fn run_ownerless_tasks(mut self) -> OwnedCommands {
        self.ownerless = true;
        self
    }

    /// The permissions `command` needs in each tenant: declared, else built-in.
    pub fn permissions(&self, command: &str) -> Option<Vec<Permission>> {
        self.declared
            .get(&command.to_ascii_lowercase())
            .cloned()
            .or_else(|| command_permissions(command))
    }

    /// The permissions a task running `command` with `parameters` needs: those of
    /// [`OwnedCommands::permissions`] and, for `trigger.evaluate`, also those of the command
    /// the trigger runs (its `command` parameter), so a trigger cannot run what its owner
    /// may not. `None` when either declares none.
    pub fn permissions_with(&self, command: &str, parameters: &Value) -> Option<Vec<Permission>> {
        let mut all = self.permissions(command)?;
        if command.eq_ignore_ascii_case("trigger.evaluate") {
            let target = parameters.get("command").and_then(Value::as_str)?;
            if target.eq_ignore_ascii_case("trigger.evaluate") {
                return None;
            }
            for p in self.permissions(target)? {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
        }
        Some(all)
    }

    /// Registers every command into `registry`, each running as its task's owner.
    pub fn register_into(&self, registry: &mut Registry) {
        let mut plain = Registry::new();
        (self.register)(&mut plain, &self.base);
        for name in plain.names() {
            if let Some(inner) = plain.get(name) {
                registry.register(
                    name,
                    Arc::new(AsOwner {
                        name: name.to_owned(),
                        inner: inner.clone(),
                        owned: self.clone(),
                    }),
                );
            }
        }
    }

    /// A registry of the commands, each running as its task's owner (for
    /// `Engine::new`).
    pub fn registry(&self) -> Registry {
        let mut r = Registry::new();
        self.register_into(&mut r);
        r
    }

    /// Adds `spec` with the principal of `cipp` as its owner, after checking that it may
    /// change scheduled tasks and use the command in every tenant the target names now;
    /// audited as `scheduler.add_task` (target: the task id, or its name when it was not
    /// added). Refused ([`Error::Forbidden`]) with nothing stored when a permission or a
    /// tenant is refused; refused ([`Error::InvalidInput`]) for a client without access
    /// control, an owner unknown to the [`TaskOwners`], a command without declared
    /// permissions, or a task the engine refuses.
    pub async fn add_task(
        &self,
        engine: &Engine,
        cipp: &Cipp,
        spec: NewTask,
    ) -> Result<Task, Error> {
        let Some(access) = cipp.access_control() else {
            return Err(Error::invalid_input(
                "owner",
                "a task added through OwnedCommands runs with its owner's permissions: add it \
                 with a client made by Cipp::with_access_control (or use Engine::add for a \
                 task without an owner)",
            ));
        };
        let owner = access.principal.name.clone();
        let parameters = redact(&json!({
            "name": spec.name,
            "command": spec.command,
            "target": spec.target,
            "schedule": spec.schedule,
            "parameters": spec.parameters,
            "reference": spec.reference,
            "owner": owner,
        }));
        let act = TaskAct {
            operation: "scheduler.add_task",
            target: spec.name.clone(),
            tenant: single_tenant(&spec.target),
            parameters,
        };
        let Some(permissions) = self.permissions_with(&spec.command, &spec.parameters) else {
            let e = Error::invalid_input(
                "command",
                format!(
                    "`{}` declares no permission: declare the permissions it needs with \
                     OwnedCommands::declare",
                    spec.command
                ),
            );
            act.failed(cipp, &e).await;
            return Err(e);
        };
        act.authorize(cipp, engine, &spec.target, &permissions)
            .await?;
        if self.owners.access_control(&owner).await.is_none() {
            let e = Error::invalid_input(
                "owner",
                format!(
                    "`{owner}` is not among the task owners, so the task could never run: add \
                     the owner to the TaskOwners given to OwnedCommands"
                ),
            );
            act.failed(cipp, &e).await;
            return Err(e);
        }
        match engine.add_owned(spec, Some(owner)).await {
            Ok(task) => {
                let mut done = act;
                done.target = task.id.clone();
                if let Value::Object(m) = &mut done.parameters {
                    m.insert("taskId".into(), json!(task.id));
                }
                done.record(
                    cipp,
                    &Permission::CIPP_SCHEDULER_READWRITE,
                    AuditOutcome::Succeeded,
                )
                .await;
                Ok(task)
            }
            Err(e) => {
                let e = scheduler_error(e);
                act.failed(cipp, &e).await;
                Err(e)
            }
        }
    }

    /// Removes task `id`, after checking that the principal of `cipp` may change scheduled
    /// tasks in every tenant its target names now (a client without access control is not
    /// restricted); audited as `scheduler.remove_task` (target: the task id).
    pub async fn remove_task(&self, engine: &Engine, cipp: &Cipp, id: &str) -> Result<(), Error> {
        let task = engine
            .store()
            .get(id)
            .await
            .map_err(scheduler_error)?
            .ok_or_else(|| Error::invalid_input("task", format!("there is no task `{id}`")))?;
        let act = TaskAct {
            operation: "scheduler.remove_task",
            target: task.id.clone(),
            tenant: single_tenant(&task.spec.target),
            parameters: redact(&json!({
                "taskId": task.id,
                "name": task.spec.name,
                "command": task.spec.command,
                "target": task.spec.target,
                "owner": task.owner,
            })),
        };
        act.authorize(cipp, engine, &task.spec.target, &[]).await?;
        match engine.store().delete(&task.id).await {
            Ok(()) => {
                act.record(
                    cipp,
                    &Permission::CIPP_SCHEDULER_READWRITE,
                    AuditOutcome::Succeeded,
                )
                .await;
                Ok(())
            }
            Err(e) => {
                let e = scheduler_error(e);
                act.failed(cipp, &e).await;
                Err(e)
            }
        }
    }
}

/// The tenant of a one-tenant target.
fn single_tenant(target: &Target) -> Option<String> {
    match target {
        Target::Tenant { id } => Some(id.clone()),
        _ => None,
    }
}

/// A scheduler error as the facade's error.
fn scheduler_error(e: SchedulerError) -> Error {
    match e {
        SchedulerError::Invalid(_) | SchedulerError::Schedule(_) | SchedulerError::NotFound(_) => {
            Error::invalid_input("task", e.to_string())
        }
        other => Error::Config(format!(
            "the scheduler could not store the change ({other}); check its store and retry"
        )),
    }
}

/// An audited change of the scheduler.
struct TaskAct {
    operation: &'static str,
    target: String,
    tenant: Option<String>,
    parameters: Value,
}

impl TaskAct {
    /// Records an event in the client's audit sink (nothing without one).
    async fn record(&self, cipp: &Cipp, permission: &Permission, outcome: AuditOutcome) {
        record_event(
            cipp,
            self.operation,
            permission,
            self.tenant.as_deref(),
            Some(&self.target),
            &self.parameters,
            outcome,
        )
        .await;
    }

    async fn failed(&self, cipp: &Cipp, e: &Error) {
        let outcome = AuditOutcome::Failed {
            error: e.to_string(),
            request_id: e.request_id().map(str::to_owned),
        };
        self.record(cipp, &Permission::CIPP_SCHEDULER_READWRITE, outcome)
            .await;
    }

    /// `CIPP.Scheduler.ReadWrite`, then in every tenant `target` names now (resolved by the
    /// engine's resolver) that and `permissions`. A refusal is recorded and returned.
    async fn authorize(
        &self,
        cipp: &Cipp,
        engine: &Engine,
        target: &Target,
        permissions: &[Permission],
    ) -> Result<(), Error> {
        let scheduler = Permission::CIPP_SCHEDULER_READWRITE;
        if let Some(access) = cipp.access_control() {
            if let Err(r) = access.principal.check(&scheduler, None, &access.groups) {
                self.record(
                    cipp,
                    &scheduler,
                    AuditOutcome::Refused {
                        reason: r.reason.clone(),
                    },
                )
                .await;
                return Err(r.into());
            }
        }
        let tenants = match engine.resolver().resolve(target).await {
            Ok(t) => t,
            Err(e) => {
                let e = Error::invalid_input("target", e.to_string());
                self.failed(cipp, &e).await;
                return Err(e);
            }
        };
        for tenant in tenants {
            let id = match TenantId::parse(&tenant) {
                Ok(id) => id,
                Err(e) => {
                    self.failed(cipp, &e).await;
                    return Err(e);
                }
            };
            let handle = cipp.handle(&id);
            for p in std::iter::once(&scheduler).chain(permissions) {
                handle
                    .authorize_act(&Act {
                        operation: self.operation,
                        permission: p,
                        target: Some(&self.target),
                        parameters: self.parameters.clone(),
                    })
                    .await?;
            }
        }
        Ok(())
    }
}

/// Records an event in `cipp`'s audit sink, if it has one.
async fn record_event(
    cipp: &Cipp,
    operation: &str,
    permission: &Permission,
    tenant: Option<&str>,
    target: Option<&str>,
    parameters: &Value,
    outcome: AuditOutcome,
) {
    let Some(access) = cipp.access_control() else {
        return;
    };
    let Some(sink) = &access.audit else {
        return;
    };
    sink.record(AuditEvent {
        at: cipp.clock().now(),
        principal: access.principal.name.clone(),
        operation: operation.to_owned(),
        permission: permission.to_string(),
        tenant: tenant.map(str::to_owned),
        target: target.map(str::to_owned),
        parameters: redact(parameters),
        outcome,
    })
    .await;
}

/// One command of [`OwnedCommands`]: runs as the task's owner.
struct AsOwner {
    name: String,
    /// The command built for the base client: validates parameters, runs ownerless tasks
    /// when allowed.
    inner: Arc<dyn Command>,
    owned: OwnedCommands,
}

fn refused(e: &Error) -> CommandError {
    CommandError::Failed(cipp_core::ErrorSummary::from(e))
}

#[async_trait]
impl Command for AsOwner {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        self.inner.validate(parameters)
    }

    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let owned = &self.owned;
        let Some(permissions) = owned.permissions_with(&self.name, &ctx.parameters) else {
            return Err(CommandError::failed(format!(
                "`{}` declares no permission: declare the permissions it needs with \
                 OwnedCommands::declare",
                self.name
            )));
        };
        let tenant = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        let first = permissions
            .first()
            .cloned()
            .unwrap_or(Permission::CIPP_SCHEDULER_READWRITE);
        let Some(owner) = cipp_scheduler::engine::current_task_owner() else {
            if owned.ownerless {
                return self.inner.run(ctx).await;
            }
            return Err(refused(&Error::forbidden(
                first.to_string(),
                Some(tenant.to_string()),
                "the task has no owner, so it has no permissions: add it with \
                 OwnedCommands::add_task (or allow ownerless tasks with \
                 OwnedCommands::run_ownerless_tasks)",
            )));
        };
        let parameters =
            json!({"taskId": ctx.task_id, "runId": ctx.run_id, "parameters": ctx.parameters});
        let Some(access) = owned.owners.access_control(&owner).await else {
            let e = Error::forbidden(
                first.to_string(),
                Some(tenant.to_string()),
                format!("the task's owner `{owner}` is not among the task owners any more"),
            );
            record_event(
                &owned.base,
                &self.name,
                &first,
                Some(tenant.as_str()),
                Some(&ctx.task_id),
                &parameters,
                AuditOutcome::Refused {
                    reason: e.to_string(),
                },
            )
            .await;
            return Err(refused(&e));
        };
        let client = owned.base.with_access_control(access);
        let handle = client.handle(&tenant);
        for p in &permissions {
            handle
                .authorize_act(&Act {
                    operation: &self.name,
                    permission: p,
                    target: Some(&ctx.task_id),
                    parameters: parameters.clone(),
                })
                .await
                .map_err(|e| refused(&e))?;
        }
        let mut commands = Registry::new();
        (owned.register)(&mut commands, &client);
        let Some(command) = commands.get(&self.name).cloned() else {
            return Err(CommandError::failed(format!(
                "`{}` is no longer registered for the task's owner",
                self.name
            )));
        };
        command.run(ctx).await
    }
}
