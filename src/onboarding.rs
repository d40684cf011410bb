//! CIPP's tenant onboarding (`ExecOnboardTenant`) as one resumable workflow:
//!
//! 1. **invite** — a relationship with the mappings' roles, locked for approval
//!    ([`GdapActions::invite`]; skipped when an existing relationship is given);
//! 2. **approval** — the relationship's status is read (a few times when polling is set):
//!    `active` moves on, `created` / `approvalPending` waits for the customer's Global
//!    Administrator, anything else fails;
//! 3. **map roles** — the access assignments ([`GdapActions::apply_mappings`]); a role the
//!    relationship lacks fails the step, assignments still `pending` wait ("try later");
//! 4. **consent** — CPV in the customer tenant: the partner application's service
//!    principal (created when missing), its delegated grants (`oauth2PermissionGrants`,
//!    created or widened) and app role assignments (created), as CIPP's permission
//!    refresh does; audited as `gdap.onboard.consent` in the customer tenant;
//! 5. **check access** — [`crate::access::tenant_access_health`] for the customer: no Graph
//!    token fails, other problems are listed.
//!
//! Each step ends [`StepStatus::Done`], [`StepStatus::Waiting`] or [`StepStatus::Failed`]
//! with a reason. The state ([`OnboardingState`]: next step, relationship, customer,
//! each step's latest result) is kept in the scheduler's key-value store
//! ([`Onboarding::NAMESPACE`], one key per onboarding id) and written with
//! compare-and-swap after every step, so a later [`Onboarding::resume`] — by another
//! worker too — continues where the last one stopped, and two runs never both advance it.
//! A waiting or failed step runs again on the next resume. Progress arrives through a
//! callback as [`OnboardingEvent`]s. The scheduler command `gdap.onboard`
//! ([`register_gdap_onboarding`]) resumes an onboarding on each run: schedule it
//! recurring until it is done.
//!
//! Permissions: every write is a checked and audited [`GdapActions`] call
//! (`Tenant.Relationship.ReadWrite`, in the partner and the customer tenant); the consent
//! step checks `Tenant.Relationship.ReadWrite` in the customer tenant, the access check
//! `Tenant.Relationship.Read` there.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cipp_core::{Error, Outcome, Report, TenantId};
use cipp_graph::consent::{app_role_id, MICROSOFT_GRAPH_APP_ID};
use cipp_graph::gdap::workflow::RoleMapping;
use cipp_graph::model::RelationshipStatus;
use cipp_scheduler::command::{CommandError, CommandOutput, Registry};
use cipp_scheduler::kv::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::authz::{by_report, Act, Permission};
use crate::gdap::GdapActions;
use crate::gdap_templates::{store_error, GdapRoleTemplates};
use crate::{Cipp, TenantHandle};

/// Permissions of one resource application (`00000003-0000-0000-c000-000000000000` for
/// Microsoft Graph).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourcePermissions {
    /// The resource's application id.
    pub resource_app_id: String,
    /// Permission names (`Directory.ReadWrite.All`).
    pub permissions: Vec<String>,
}

/// What the partner application must be granted in the customer tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentSpec {
    /// The partner (CIPP-SAM) application's id.
    pub app_id: String,
    /// Delegated permissions, granted for all users.
    #[serde(default)]
    pub delegated: Vec<ResourcePermissions>,
    /// Application permissions (app roles).
    #[serde(default)]
    pub application: Vec<ResourcePermissions>,
}

impl ConsentSpec {
    /// The grant Partner Center's CPV consent makes: Microsoft Graph
    /// `DelegatedPermissionGrant.ReadWrite.All Directory.ReadWrite.All
    /// AppRoleAssignment.ReadWrite.All`, delegated.
    pub fn cpv(app_id: impl Into<String>) -> ConsentSpec {
        ConsentSpec {
            app_id: app_id.into(),
            delegated: vec![ResourcePermissions {
                resource_app_id: MICROSOFT_GRAPH_APP_ID.into(),
                permissions: vec![
                    "DelegatedPermissionGrant.ReadWrite.All".into(),
                    "Directory.ReadWrite.All".into(),
                    "AppRoleAssignment.ReadWrite.All".into(),
                ],
            }],
            application: Vec::new(),
        }
    }
}

/// What to onboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnboardingRequest {
    /// The new relationship's name (1–50 characters).
    pub display_name: String,
    /// Role → group mappings (or give `template`).
    #[serde(default)]
    pub mappings: Vec<RoleMapping>,
    /// A stored GDAP role template's name, read when the invite is made.
    #[serde(default)]
    pub template: Option<String>,
    /// An existing relationship to continue from (no invite is made).
    #[serde(default)]
    pub relationship_id: Option<String>,
    /// What the partner application needs in the customer tenant.
    pub consent: ConsentSpec,
}

/// A step of the onboarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Step {
    /// Create and lock the relationship.
    Invite,
    /// Wait for the customer's approval.
    Approval,
    /// Create the access assignments.
    MapRoles,
    /// Consent the partner application in the customer tenant.
    Consent,
    /// Check the access.
    CheckAccess,
    /// Nothing left.
    Done,
}

impl Step {
    fn following(self) -> Step {
        match self {
            Step::Invite => Step::Approval,
            Step::Approval => Step::MapRoles,
            Step::MapRoles => Step::Consent,
            Step::Consent => Step::CheckAccess,
            Step::CheckAccess | Step::Done => Step::Done,
        }
    }
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum StepStatus {
    /// Done: the next step follows.
    Done,
    /// Not yet (the customer's approval, pending assignments): resume later.
    Waiting,
    /// Failed: fix the cause and resume.
    Failed,
}

/// A step's latest result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StepResult {
    /// The step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// What happened, or why it waits or failed.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Details (the step's report, the access health).
    #[serde(default)]
    pub data: Value,
}

/// An onboarding's persisted state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OnboardingState {
    /// The onboarding's id.
    pub id: String,
    /// What was asked.
    pub request: OnboardingRequest,
    /// The mappings in use (from the request or its template).
    pub mappings: Vec<RoleMapping>,
    /// The relationship, once invited (or as given).
    pub relationship_id: Option<String>,
    /// The URL for the customer's Global Administrator.
    pub invite_url: Option<String>,
    /// The customer tenant, once approved.
    pub customer_tenant_id: Option<String>,
    /// The step the next resume runs.
    pub next: Step,
    /// Each step's latest result, in step order.
    pub results: Vec<StepResult>,
    /// While a run holds the onboarding: until when (a run that died releases it when
    /// this passes).
    #[serde(default)]
    pub running_until: Option<DateTime<Utc>>,
}

impl OnboardingState {
    /// Whether every step is done.
    pub fn is_done(&self) -> bool {
        self.next == Step::Done
    }

    /// The latest result of `step`.
    pub fn result(&self, step: Step) -> Option<&StepResult> {
        self.results.iter().find(|r| r.step == step)
    }

    fn record(&mut self, result: StepResult) {
        self.results.retain(|r| r.step != result.step);
        self.results.push(result);
        self.results.sort_by_key(|r| r.step);
    }
}

/// Progress of a run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OnboardingEvent {
    /// A step starts.
    Started {
        /// The onboarding.
        id: String,
        /// The step.
        step: Step,
    },
    /// A step ended.
    Finished {
        /// The onboarding.
        id: String,
        /// Its result.
        result: StepResult,
    },
}

/// Onboarding runs through the partner tenant's [`GdapActions`], with their state in a
/// key-value store. Cheap to clone.
#[derive(Clone)]
pub struct Onboarding {
    gdap: GdapActions,
    kv: Arc<dyn KvStore>,
    templates: Option<GdapRoleTemplates>,
    polls: u32,
    interval: Duration,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("polls", &self.polls)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn check_id(id: &str) -> Result<(), Error> {
    if id.trim().is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        Err(Error::invalid_input(
            "id",
            "an onboarding id is 1–200 characters without control characters",
        ))
    } else {
        Ok(())
    }
}

fn step_result(
    step: Step,
    status: StepStatus,
    detail: impl Into<String>,
    at: DateTime<Utc>,
) -> StepResult {
    StepResult {
        step,
        status,
        detail: detail.into(),
        at,
        data: Value::Null,
    }
}

impl Onboarding {
    /// The key-value namespace of the onboarding states.
    pub const NAMESPACE: &'static str = "gdap-onboarding";

    /// How long a run holds an onboarding (besides the approval polling).
    pub const LEASE: Duration = Duration::from_secs(15 * 60);

    /// Onboarding through `gdap` (the partner tenant's), state kept in `kv`. The approval
    /// is read once per resume (see [`Onboarding::poll_approval`]).
    pub fn new(gdap: GdapActions, kv: Arc<dyn KvStore>) -> Onboarding {
        Onboarding {
            gdap,
            kv,
            templates: None,
            polls: 1,
            interval: Duration::from_secs(30),
        }
    }

    /// Role templates, for requests naming a `template`.
    pub fn with_templates(mut self, templates: GdapRoleTemplates) -> Onboarding {
        self.templates = Some(templates);
        self
    }

    /// Reads the relationship up to `attempts` times (at least once), `interval` apart,
    /// while it waits for approval (Tokio time).
    pub fn poll_approval(mut self, attempts: u32, interval: Duration) -> Onboarding {
        self.polls = attempts.max(1);
        self.interval = interval;
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.gdap.handle().cipp().clock().now()
    }

    async fn load(&self, id: &str) -> Result<Option<(OnboardingState, u64)>, Error> {
        check_id(id)?;
        match self
            .kv
            .get(Self::NAMESPACE, id)
            .await
            .map_err(store_error)?
        {
            Some(v) => {
                let state: OnboardingState = serde_json::from_value(v.value).map_err(|e| {
                    Error::Config(format!(
                        "the stored onboarding `{id}` does not read ({e}); delete it and start again"
                    ))
                })?;
                Ok(Some((state, v.version)))
            }
            None => Ok(None),
        }
    }

    async fn store(&self, state: &OnboardingState, expected: Option<u64>) -> Result<u64, Error> {
        let value = serde_json::to_value(state).map_err(store_error)?;
        match self
            .kv
            .put(Self::NAMESPACE, &state.id, &value, expected)
            .await
            .map_err(store_error)?
        {
            Ok(v) => Ok(v),
            Err(_) => Err(Error::invalid_input(
                "id",
                format!(
                    "onboarding `{}` was changed by another run meanwhile; resume it again",
                    state.id
                ),
            )),
        }
    }

    /// The state of onboarding `id`, if it exists.
    pub async fn state(&self, id: &str) -> Result<Option<OnboardingState>, Error> {
        Ok(self.load(id).await?.map(|(s, _)| s))
    }

    /// Starts onboarding `id` (nothing is sent yet; [`Onboarding::resume`] runs the
    /// steps). The request is checked first. Starting an id that exists with the same
    /// request returns its state; with another request it is refused.
    pub async fn start(
        &self,
        id: &str,
        request: OnboardingRequest,
    ) -> Result<OnboardingState, Error> {
        check_id(id)?;
        validate(&request)?;
        if let Some((existing, _)) = self.load(id).await? {
            return if existing.request == request {
                Ok(existing)
            } else {
                Err(Error::invalid_input(
                    "id",
                    format!("onboarding `{id}` exists with another request"),
                ))
            };
        }
        let state = OnboardingState {
            id: id.to_owned(),
            mappings: request.mappings.clone(),
            relationship_id: request.relationship_id.clone(),
            invite_url: request
                .relationship_id
                .as_deref()
                .map(cipp_graph::gdap::invite_url),
            customer_tenant_id: None,
            next: Step::Invite,
            results: Vec::new(),
            running_until: None,
            request,
        };
        self.store(&state, None).await?;
        Ok(state)
    }

    /// Deletes onboarding `id`'s state (its relationship and grants stay).
    pub async fn forget(&self, id: &str) -> Result<(), Error> {
        check_id(id)?;
        self.kv
            .delete(Self::NAMESPACE, id)
            .await
            .map_err(store_error)
    }

    /// Runs onboarding `id` from its next step until it is done, a step waits or a step
    /// fails, saving the state after each step; `progress` sees each step start and end.
    /// The run first claims the onboarding (compare-and-swap, for [`Onboarding::LEASE`]
    /// plus the approval polling): another run meanwhile is refused, so no step is ever
    /// run twice at once. A refusal by access control is returned as the error (nothing
    /// recorded for that step); any other failure is the step's [`StepStatus::Failed`]
    /// result.
    pub async fn resume(
        &self,
        id: &str,
        progress: &(dyn Fn(&OnboardingEvent) + Send + Sync),
    ) -> Result<OnboardingState, Error> {
        let (mut state, mut version) = self.load(id).await?.ok_or_else(|| {
            Error::invalid_input(
                "id",
                format!("there is no onboarding `{id}`: start it first"),
            )
        })?;
        if state.is_done() {
            return Ok(state);
        }
        let now = self.now();
        if let Some(until) = state.running_until.filter(|u| *u > now) {
            return Err(Error::invalid_input(
                "id",
                format!(
                    "onboarding `{id}` is being run elsewhere (until {until}); resume it later"
                ),
            ));
        }
        let hold = self.interval.saturating_mul(self.polls) + Self::LEASE;
        state.running_until =
            Some(now + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::hours(1)));
        version = self.store(&state, Some(version)).await?;
        while !state.is_done() {
            let step = state.next;
            progress(&OnboardingEvent::Started {
                id: state.id.clone(),
                step,
            });
            let result = match self.run_step(&mut state, step).await {
                Ok(r) => r,
                Err(e) if e.is_forbidden() => {
                    state.running_until = None;
                    self.store(&state, Some(version)).await?;
                    return Err(e);
                }
                Err(e) => step_result(step, StepStatus::Failed, e.to_string(), self.now()),
            };
            let status = result.status;
            progress(&OnboardingEvent::Finished {
                id: state.id.clone(),
                result: result.clone(),
            });
            state.record(result);
            if status == StepStatus::Done {
                state.next = step.following();
            }
            if status != StepStatus::Done || state.is_done() {
                state.running_until = None;
            }
            version = self.store(&state, Some(version)).await?;
            if status != StepStatus::Done {
                break;
            }
        }
        Ok(state)
    }

    async fn run_step(&self, state: &mut OnboardingState, step: Step) -> Result<StepResult, Error> {
        let now = self.now();
        Ok(match step {
            Step::Invite => self.invite(state).await?,
            Step::Approval => self.approval(state).await?,
            Step::MapRoles => self.map_roles(state).await?,
            Step::Consent => self.consent(state).await?,
            Step::CheckAccess => self.check_access(state).await?,
            Step::Done => step_result(step, StepStatus::Done, "onboarded", now),
        })
    }

    async fn invite(&self, state: &mut OnboardingState) -> Result<StepResult, Error> {
        if state.mappings.is_empty() {
            if let Some(name) = &state.request.template {
                let templates = self.templates.as_ref().ok_or_else(|| {
                    Error::invalid_input(
                        "template",
                        "the request names a template but the onboarding has no template store (Onboarding::with_templates)",
                    )
                })?;
                state.mappings = templates.require(name).await?.template.mappings;
            }
        }
        if let Some(id) = &state.relationship_id {
            return Ok(step_result(
                Step::Invite,
                StepStatus::Done,
                format!("continuing with relationship {id}"),
                self.now(),
            ));
        }
        let invite = self
            .gdap
            .invite(&state.request.display_name, &state.mappings)
            .await?;
        state.relationship_id = Some(invite.relationship.id.clone());
        state.invite_url = Some(invite.url.clone());
        let mut r = step_result(
            Step::Invite,
            StepStatus::Done,
            format!(
                "relationship {} created and locked for approval; send the customer {}",
                invite.relationship.id, invite.url
            ),
            self.now(),
        );
        r.data = json!({"relationshipId": invite.relationship.id, "inviteUrl": invite.url});
        Ok(r)
    }

    async fn approval(&self, state: &mut OnboardingState) -> Result<StepResult, Error> {
        let id = relationship_of(state)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let rel = self.gdap.relationship(&id).await?;
            let status = rel.status.clone();
            match status {
                Some(RelationshipStatus::Active) => {
                    let customer = rel
                        .customer
                        .as_ref()
                        .map(|c| c.tenant_id.clone())
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| {
                            Error::protocol(
                                Some(self.gdap.handle().id().clone()),
                                "get GDAP relationship",
                                format!("active relationship {id} names no customer"),
                            )
                        })?;
                    let name = rel.customer.as_ref().and_then(|c| c.display_name.clone());
                    state.customer_tenant_id = Some(customer.clone());
                    let mut r = step_result(
                        Step::Approval,
                        StepStatus::Done,
                        format!(
                            "approved by {} ({customer})",
                            name.as_deref().unwrap_or("the customer")
                        ),
                        self.now(),
                    );
                    r.data = json!({"customerTenantId": customer, "customerName": name});
                    return Ok(r);
                }
                Some(RelationshipStatus::Created)
                | Some(RelationshipStatus::ApprovalPending)
                | Some(RelationshipStatus::Activating) => {
                    if attempt >= self.polls {
                        let url = state
                            .invite_url
                            .clone()
                            .unwrap_or_else(|| cipp_graph::gdap::invite_url(&id));
                        return Ok(step_result(
                            Step::Approval,
                            StepStatus::Waiting,
                            format!(
                                "relationship {id} is {}: waiting for the customer's Global Administrator to approve {url}",
                                status.map_or_else(String::new, |s| s.to_string())
                            ),
                            self.now(),
                        ));
                    }
                    tokio::time::sleep(self.interval).await;
                }
                other => {
                    return Ok(step_result(
                        Step::Approval,
                        StepStatus::Failed,
                        format!(
                            "relationship {id} is {}: it can no longer be approved; start a new onboarding",
                            other.map_or_else(|| "of unknown status".to_owned(), |s| s.to_string())
                        ),
                        self.now(),
                    ));
                }
            }
        }
    }

    async fn map_roles(&self, state: &mut OnboardingState) -> Result<StepResult, Error> {
        let id = relationship_of(state)?;
        if state.mappings.is_empty() {
            return Ok(step_result(
                Step::MapRoles,
                StepStatus::Failed,
                "no role mappings: give mappings or a template",
                self.now(),
            ));
        }
        let applied = self
            .gdap
            .apply_mappings(&id, &state.mappings, false)
            .await?;
        let data = serde_json::to_value(&applied.report).unwrap_or(Value::Null);
        let problems: Vec<String> = applied
            .report
            .steps
            .iter()
            .filter(|s| s.outcome.is_failure() || matches!(s.outcome, Outcome::Skipped { .. }))
            .map(|s| format!("{}: {}", s.name, s.outcome.message()))
            .collect();
        let mut r = if !problems.is_empty() {
            step_result(
                Step::MapRoles,
                StepStatus::Failed,
                problems.join("; "),
                self.now(),
            )
        } else if !applied.pending.is_empty() {
            step_result(
                Step::MapRoles,
                StepStatus::Waiting,
                format!(
                    "assignments still pending, try later: {}",
                    applied.pending.join(", ")
                ),
                self.now(),
            )
        } else {
            step_result(
                Step::MapRoles,
                StepStatus::Done,
                format!("{} group(s) mapped and active", applied.report.steps.len()),
                self.now(),
            )
        };
        r.data = data;
        Ok(r)
    }

    async fn customer(&self, state: &OnboardingState) -> Result<TenantHandle, Error> {
        let id = state.customer_tenant_id.as_deref().ok_or_else(|| {
            Error::invalid_input("customer", "the relationship has not been approved yet")
        })?;
        let id = TenantId::parse(id)?;
        self.gdap.handle().cipp().tenant(&id)
    }

    async fn consent(&self, state: &mut OnboardingState) -> Result<StepResult, Error> {
        let customer = self.customer(state).await?;
        let spec = state.request.consent.clone();
        let parameters = serde_json::to_value(&spec).unwrap_or(Value::Null);
        let report = customer
            .audited(
                Act {
                    operation: "gdap.onboard.consent",
                    permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
                    target: Some(spec.app_id.as_str()),
                    parameters,
                },
                by_report,
                consent_in(&customer, &spec),
            )
            .await?;
        let failed = report.overall().is_failure();
        let mut r = step_result(
            Step::Consent,
            if failed {
                StepStatus::Failed
            } else {
                StepStatus::Done
            },
            if failed {
                report
                    .steps
                    .iter()
                    .filter(|s| s.outcome.is_failure())
                    .map(|s| format!("{}: {}", s.name, s.outcome.message()))
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                format!("application {} consented", spec.app_id)
            },
            self.now(),
        );
        r.data = serde_json::to_value(&report).unwrap_or(Value::Null);
        Ok(r)
    }

    async fn check_access(&self, state: &mut OnboardingState) -> Result<StepResult, Error> {
        let customer = self.customer(state).await?;
        customer
            .authorize_act(&Act {
                operation: "gdap.onboard.check_access",
                permission: &Permission::TENANT_RELATIONSHIP_READ,
                target: None,
                parameters: Value::Null,
            })
            .await?;
        let tenant = customer.id().as_str().to_owned();
        let health = crate::access::tenant_access_health(
            self.gdap.handle().cipp(),
            self.gdap.handle().id(),
            &tenant,
        )
        .await?;
        let Some(health) = health else {
            return Ok(step_result(
                Step::CheckAccess,
                StepStatus::Failed,
                format!("no active relationship names {tenant}"),
                self.now(),
            ));
        };
        let mut r = if let crate::access::Check::Failed { reason } = &health.graph {
            step_result(
                Step::CheckAccess,
                StepStatus::Failed,
                format!("no Graph token: {reason}"),
                self.now(),
            )
        } else if health.problems.is_empty() {
            step_result(
                Step::CheckAccess,
                StepStatus::Done,
                "every check passed",
                self.now(),
            )
        } else {
            step_result(
                Step::CheckAccess,
                StepStatus::Done,
                format!("access works; to look at: {}", health.problems.join("; ")),
                self.now(),
            )
        };
        r.data = serde_json::to_value(&health).unwrap_or(Value::Null);
        Ok(r)
    }
}

fn relationship_of(state: &OnboardingState) -> Result<String, Error> {
    state.relationship_id.clone().ok_or_else(|| {
        Error::invalid_input(
            "relationship",
            "no relationship yet: the invite step has not run",
        )
    })
}

/// Checks a request before anything is stored or sent.
pub fn validate(request: &OnboardingRequest) -> Result<(), Error> {
    let name = request.display_name.trim();
    if request.relationship_id.is_none() && (name.is_empty() || name.chars().count() > 50) {
        return Err(Error::invalid_input(
            "displayName",
            "must be 1–50 characters",
        ));
    }
    if request.mappings.is_empty() && request.template.is_none() {
        return Err(Error::invalid_input(
            "mappings",
            "give role mappings or a template",
        ));
    }
    for m in &request.mappings {
        cipp_graph::gdap::workflow::check_mappable(&m.group_name)?;
        for id in [&m.role_definition_id, &m.group_id] {
            if !crate::gdap_templates::is_guid(id) {
                return Err(Error::invalid_input(
                    "mappings",
                    format!("`{id}` is not a GUID"),
                ));
            }
        }
    }
    let spec = &request.consent;
    if !crate::gdap_templates::is_guid(&spec.app_id) {
        return Err(Error::invalid_input(
            "consent.appId",
            format!("`{}` is not an application id", spec.app_id),
        ));
    }
    for r in spec.delegated.iter().chain(&spec.application) {
        if !crate::gdap_templates::is_guid(&r.resource_app_id) {
            return Err(Error::invalid_input(
                "consent.resourceAppId",
                format!("`{}` is not an application id", r.resource_app_id),
            ));
        }
        if r.permissions.is_empty() {
            return Err(Error::invalid_input(
                "consent.permissions",
                "at least one permission per resource",
            ));
        }
    }
    Ok(())
}

/// The CPV consent in one customer tenant, one report step per object.
async fn consent_in(customer: &TenantHandle, spec: &ConsentSpec) -> Result<Report, Error> {
    let graph = customer.graph();
    let apps = graph.applications();
    let consent = graph.consent();
    let mut report = Report::new();
    let client = match apps.find_service_principal(&spec.app_id).await? {
        Some(sp) => {
            report.push("service principal", Outcome::no_change("exists"));
            sp
        }
        None => {
            let sp = apps.create_service_principal(&spec.app_id).await?;
            report.push("service principal", Outcome::succeeded("created"));
            sp
        }
    };
    let resource = |app_id: String| {
        let apps = apps.clone();
        let consent = consent.clone();
        async move {
            match consent.resource(&app_id).await? {
                Some(sp) => Ok::<_, Error>((sp, false)),
                None => {
                    apps.create_service_principal(&app_id).await?;
                    let sp = consent.resource(&app_id).await?.ok_or_else(|| {
                        Error::protocol(
                            None,
                            "find service principal",
                            format!(
                                "the service principal of {app_id} was created but is not found"
                            ),
                        )
                    })?;
                    Ok((sp, true))
                }
            }
        }
    };
    if !spec.delegated.is_empty() {
        let grants = consent.grants(&client.id).await?;
        for want in &spec.delegated {
            let step = format!("delegated {}", want.resource_app_id);
            let (res, _) = match resource(want.resource_app_id.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    report.push(step, Outcome::failed(&e));
                    continue;
                }
            };
            let current = grants.iter().find(|g| {
                g.resource_id
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(&res.id))
                    && g.consent_type.as_deref() == Some("AllPrincipals")
            });
            let outcome = match current {
                None => match consent
                    .create_grant(&client.id, &res.id, &want.permissions)
                    .await
                {
                    Ok(_) => Outcome::succeeded(format!("granted {}", want.permissions.join(" "))),
                    Err(e) => Outcome::failed(&e),
                },
                Some(g) => {
                    let mut have: Vec<String> = g
                        .scope
                        .as_deref()
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect();
                    let missing: Vec<String> = want
                        .permissions
                        .iter()
                        .filter(|p| !have.iter().any(|h| h.eq_ignore_ascii_case(p)))
                        .cloned()
                        .collect();
                    if missing.is_empty() {
                        Outcome::no_change("already granted")
                    } else {
                        have.extend(missing.iter().cloned());
                        match consent.update_grant_scopes(&g.id, &have).await {
                            Ok(()) => Outcome::succeeded(format!("added {}", missing.join(" "))),
                            Err(e) => Outcome::failed(&e),
                        }
                    }
                }
            };
            report.push(step, outcome);
        }
    }
    if !spec.application.is_empty() {
        let held = consent.app_role_assignments(&client.id).await?;
        for want in &spec.application {
            let (res, _) = match resource(want.resource_app_id.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    report.push(
                        format!("application {}", want.resource_app_id),
                        Outcome::failed(&e),
                    );
                    continue;
                }
            };
            for permission in &want.permissions {
                let step = format!("application {permission}");
                let Some(role) = app_role_id(&res, permission) else {
                    report.push(
                        step,
                        Outcome::failed(&Error::invalid_input(
                            "permission",
                            format!(
                                "{} offers no application permission `{permission}`",
                                want.resource_app_id
                            ),
                        )),
                    );
                    continue;
                };
                let has = held.iter().any(|a| {
                    a.app_role_id
                        .as_deref()
                        .is_some_and(|r| r.eq_ignore_ascii_case(&role))
                        && a.resource_id
                            .as_deref()
                            .is_some_and(|r| r.eq_ignore_ascii_case(&res.id))
                });
                let outcome = if has {
                    Outcome::no_change("already assigned")
                } else {
                    match consent.assign_app_role(&client.id, &res.id, &role).await {
                        Ok(_) => Outcome::succeeded("assigned"),
                        Err(e) => Outcome::failed(&e),
                    }
                };
                report.push(step, outcome);
            }
        }
    }
    Ok(report)
}

/// Parameters of the `gdap.onboard` command.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OnboardParams {
    /// The onboarding's id.
    id: String,
    /// The request, to start it on the first run.
    #[serde(default)]
    request: Option<OnboardingRequest>,
}

/// Registers `gdap.onboard` (parameters: `id`, and `request` to start it on the first
/// run): run for the **partner** tenant, it resumes the onboarding from its persisted
/// step. Output: done (the state) once every step is done, no change while a step waits
/// (and once it is complete), a failure with the step's reason when one fails — so a
/// recurring task keeps resuming until the customer approved and everything is in place.
pub fn register_gdap_onboarding(
    registry: &mut Registry,
    cipp: &Cipp,
    kv: Arc<dyn KvStore>,
    templates: Option<GdapRoleTemplates>,
) {
    registry.register(
        "gdap.onboard",
        crate::commands::typed(
            cipp,
            move |cipp: Cipp, tenant: TenantId, p: OnboardParams| {
                let kv = kv.clone();
                let templates = templates.clone();
                async move {
                    let fail = |e: Error| CommandError::from(&e);
                    let handle = cipp.tenant(&tenant).map_err(fail)?;
                    let mut onboarding = Onboarding::new(GdapActions::new(&handle), kv);
                    if let Some(t) = templates {
                        onboarding = onboarding.with_templates(t);
                    }
                    let state = match onboarding.state(&p.id).await.map_err(fail)? {
                        Some(s) => s,
                        None => {
                            let request = p.request.ok_or_else(|| {
                                CommandError::failed(format!(
                                    "there is no onboarding `{}`: give its request",
                                    p.id
                                ))
                            })?;
                            onboarding.start(&p.id, request).await.map_err(fail)?
                        }
                    };
                    if state.is_done() {
                        return Ok(CommandOutput::NoChange(format!(
                            "onboarding {} is complete",
                            p.id
                        )));
                    }
                    let state = onboarding.resume(&p.id, &|_| {}).await.map_err(fail)?;
                    if state.is_done() {
                        return Ok(CommandOutput::Done(
                            serde_json::to_value(&state).unwrap_or(Value::Null),
                        ));
                    }
                    let last = state.result(state.next);
                    match last {
                        Some(r) if r.status == StepStatus::Failed => {
                            Err(CommandError::failed(format!("{:?}: {}", r.step, r.detail)))
                        }
                        Some(r) => Ok(CommandOutput::NoChange(r.detail.clone())),
                        None => Ok(CommandOutput::NoChange("waiting".into())),
                    }
                }
            },
        ),
    );
}
