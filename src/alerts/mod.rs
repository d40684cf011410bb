//! CIPP's scripted alerts: each alert reads a tenant and reports [`Finding`]s, one per
//! subject (a user, a certificate, a licence…); the alert state
//! ([`cipp_scheduler::alert_state`]) turns them into changes, so a recurring alert notifies
//! once per new or changed finding and, when asked, once when it is resolved.
//!
//! Every alert is a scheduler command `alert.<Name>` (CIPP's `Get-CIPPAlert<Name>`), with
//! typed input checked when the task is added ([`register_alerts`]). A task running it
//! reports the changes as its findings, so "notify only with findings" sends one event per
//! change, per tenant, to the channels the task asks for; snooze a subject with
//! [`AlertStateStore::snooze`].
//!
//! Areas: [`intune`] (Apple certificates and tokens), [`identity`] (users, admins, MFA,
//! roles, sign-in activity), [`tenant`] (applications, licences, Conditional Access,
//! security defaults, directory sync, Secure Score), [`exchange`] (mailboxes, mail flow,
//! devices, and the fleet's own reports: access health, standards alignment).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{Error, TenantId};
use cipp_scheduler::alert_state::{AlertStateStore, Change, Observation};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authz::Permission;
use crate::{Cipp, TenantHandle};

pub mod exchange;
pub mod identity;
pub mod intune;
pub mod tenant;

/// An alert's metadata, as CIPP's `alerts.json` gives it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AlertMeta {
    /// CIPP's name (`ApnCertExpiry`); the command is `alert.<name>`.
    pub name: &'static str,
    /// What it alerts on (CIPP's label).
    pub label: &'static str,
    /// CIPP's recommended interval (`30m`, `1h`, `4h`, `1d`, `7d`, `30d`).
    pub interval: &'static str,
    /// The inputs it takes (CIPP's names), empty for none.
    pub inputs: &'static [&'static str],
    /// What it reads, for the docs.
    pub reads: &'static str,
}

impl AlertMeta {
    /// Metadata with no inputs.
    pub const fn new(
        name: &'static str,
        label: &'static str,
        interval: &'static str,
        reads: &'static str,
    ) -> AlertMeta {
        AlertMeta {
            name,
            label,
            interval,
            inputs: &[],
            reads,
        }
    }

    /// The same metadata with inputs.
    pub const fn inputs(mut self, inputs: &'static [&'static str]) -> AlertMeta {
        self.inputs = inputs;
        self
    }

    /// The scheduler command: `alert.<name>`.
    pub fn command(&self) -> String {
        format!("alert.{}", self.name)
    }
}

/// One thing an alert found.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What it is about, stable across runs (an object id, a UPN, a SKU id…).
    pub subject: String,
    /// One line for people.
    pub message: String,
    /// The details (the row CIPP would show); a change here is a changed finding.
    pub data: Value,
}

impl Finding {
    /// A finding about `subject`.
    pub fn new(subject: impl Into<String>, message: impl Into<String>, data: Value) -> Finding {
        Finding {
            subject: subject.into(),
            message: message.into(),
            data,
        }
    }
}

/// What an alert evaluates with.
#[derive(Clone)]
#[non_exhaustive]
pub struct AlertContext {
    /// The tenant.
    pub handle: TenantHandle,
    /// Now (the client's clock).
    pub now: DateTime<Utc>,
    /// The standards results, for alerts on alignment.
    pub standards: Option<Arc<dyn crate::standards::ResultStore>>,
}

impl std::fmt::Debug for AlertContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertContext")
            .field("tenant", self.handle.id())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// A scripted alert.
#[async_trait]
pub trait Alert: Send + Sync + 'static {
    /// Metadata.
    fn meta(&self) -> &AlertMeta;

    /// Checks the input before a task is added (and before anything is sent); the error
    /// names the field and says what to give.
    fn validate(&self, input: &Value) -> Result<(), Error>;

    /// What the alert finds in the tenant now.
    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error>;
}

/// Typed input from JSON (`null` as the defaults), or an error naming the alert and
/// saying what is wrong.
pub fn input<T: serde::de::DeserializeOwned + Default>(
    meta: &AlertMeta,
    input: &Value,
) -> Result<T, Error> {
    if input.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(input.clone()).map_err(|e| {
        Error::invalid_input(
            format!("alert.{}", meta.name),
            format!(
                "{e}; inputs: {}",
                if meta.inputs.is_empty() {
                    "none".to_owned()
                } else {
                    meta.inputs.join(", ")
                }
            ),
        )
    })
}

/// Alerts by name.
#[derive(Clone, Default)]
pub struct AlertCatalogue {
    by_name: BTreeMap<String, Arc<dyn Alert>>,
}

impl std::fmt::Debug for AlertCatalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl AlertCatalogue {
    /// Every built-in alert.
    pub fn builtin() -> AlertCatalogue {
        let mut c = AlertCatalogue::default();
        for a in intune::alerts()
            .into_iter()
            .chain(identity::alerts())
            .chain(tenant::alerts())
            .chain(exchange::alerts())
        {
            c.register(a);
        }
        c
    }

    /// Adds (or replaces) an alert.
    pub fn register(&mut self, alert: Arc<dyn Alert>) {
        self.by_name.insert(alert.meta().name.to_owned(), alert);
    }

    /// The alert named `name` (`ApnCertExpiry`, `alert.ApnCertExpiry` or
    /// `Get-CIPPAlertApnCertExpiry`).
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Alert>> {
        let key = name
            .strip_prefix("alert.")
            .or_else(|| name.strip_prefix("Get-CIPPAlert"))
            .unwrap_or(name);
        self.by_name.get(key)
    }

    /// Every alert, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Alert>> {
        self.by_name.values()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// What alert commands need besides the client.
#[derive(Clone)]
pub struct AlertService {
    /// The alerts.
    pub catalogue: Arc<AlertCatalogue>,
    /// Where alert state lives (the scheduler's store: memory, SQLite, PostgreSQL).
    pub state: Arc<dyn AlertStateStore>,
    /// The standards results (for `LowTenantAlignment`).
    pub standards: Option<Arc<dyn crate::standards::ResultStore>>,
}

impl std::fmt::Debug for AlertService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertService")
            .field("alerts", &self.catalogue.len())
            .finish_non_exhaustive()
    }
}

/// Parameters of an `alert.<Name>` task.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertParams {
    /// The alert's input (CIPP's `InputValue` or named inputs).
    #[serde(default)]
    input: Value,
    /// Also report findings that went away.
    #[serde(default)]
    notify_resolved: bool,
}

struct AlertCommand {
    cipp: Cipp,
    alert: Arc<dyn Alert>,
    service: AlertService,
}

/// Runs one alert in one tenant: access check (`Tenant.Alert.Read`), evaluate, state; the
/// changes (resolved ones only when asked).
pub async fn run_alert(
    handle: &TenantHandle,
    alert: &dyn Alert,
    service: &AlertService,
    input: &Value,
    notify_resolved: bool,
) -> Result<Vec<Change>, Error> {
    alert.validate(input)?;
    let name = alert.meta().name;
    handle
        .authorize(&format!("alert.{name}"), &Permission::TENANT_ALERT_READ)
        .await?;
    let ctx = AlertContext {
        handle: handle.clone(),
        now: handle.cipp().clock().now(),
        standards: service.standards.clone(),
    };
    let findings = alert.evaluate(&ctx, input).await?;
    let observations: Vec<Observation> = findings
        .into_iter()
        .map(|f| Observation {
            subject: f.subject,
            row: json!({"message": f.message, "data": f.data}),
        })
        .collect();
    let changes = service
        .state
        .observe(handle.id().as_str(), name, &observations, ctx.now)
        .await
        .map_err(|e| Error::invalid_input("alert state", e.to_string()))?;
    Ok(changes
        .into_iter()
        .filter(|c| notify_resolved || !matches!(c, Change::Resolved(_)))
        .collect())
}

/// A change as a task result row.
fn change_row(c: &Change) -> Value {
    let r = c.record();
    json!({
        "change": c.label(),
        "alert": r.alert,
        "subject": r.subject,
        "message": r.row["message"],
        "data": r.row["data"],
        "firstSeen": r.first_seen,
        "resolvedAt": r.resolved_at,
        "fingerprint": r.fingerprint(),
    })
}

#[async_trait]
impl Command for AlertCommand {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        let p: AlertParams =
            serde_json::from_value(parameters.clone()).map_err(|e| e.to_string())?;
        self.alert.validate(&p.input).map_err(|e| e.to_string())
    }

    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let p: AlertParams = serde_json::from_value(ctx.parameters)
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let tenant = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        let handle = self
            .cipp
            .tenant(&tenant)
            .map_err(|e| CommandError::from(&e))?;
        let changes = run_alert(
            &handle,
            self.alert.as_ref(),
            &self.service,
            &p.input,
            p.notify_resolved,
        )
        .await
        .map_err(CommandError::from)?;
        if changes.is_empty() {
            return Ok(CommandOutput::NoChange(format!(
                "{}: nothing new",
                self.alert.meta().name
            )));
        }
        Ok(CommandOutput::Done(Value::Array(
            changes.iter().map(change_row).collect(),
        )))
    }
}

/// Registers every alert of `service.catalogue` as the command `alert.<Name>`
/// (parameters: `input`, the alert's input; `notifyResolved`).
pub fn register_alerts(registry: &mut Registry, cipp: &Cipp, service: AlertService) {
    for alert in service.catalogue.iter() {
        registry.register(
            &alert.meta().command(),
            Arc::new(AlertCommand {
                cipp: cipp.clone(),
                alert: alert.clone(),
                service: service.clone(),
            }),
        );
    }
}
