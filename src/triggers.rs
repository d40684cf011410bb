//! Triggered tasks: a command that runs when a condition over a tenant's directory changes
//! becomes true — a user no longer synchronised from on-premises AD, a user created, a
//! group's membership changed.
//!
//! A trigger is a scheduler task running the command `trigger.evaluate` (registered by
//! [`register_triggers`]) with a [`TriggeredTask`] as parameters, on a recurrence (every
//! 15 minutes, say) for the tenants of its target. Each evaluation, per tenant:
//!
//! 1. reads the trigger's state from the scheduler's [`KvStore`] (namespace
//!    [`STATE_NAMESPACE`], key `<trigger id>/<tenant>`): the Graph delta link saved last
//!    time and what the condition needs to remember (the users known to be synced, the
//!    newest creation time seen);
//! 2. reads what changed since with a delta query (`users/delta` or `groups/delta`,
//!    [`cipp_graph::delta`]); an expired link restarts with a full sync, compared against
//!    the remembered state where the condition allows it;
//! 3. evaluates the condition into [`TriggerMatch`]es;
//! 4. writes the new state with compare-and-swap **before** running anything (the matches
//!    kept as pending), so two workers evaluating one tenant never both take the same
//!    changes;
//! 5. runs the target command through the registry for the matches — once per match with
//!    the match's object id in the parameter [`TriggeredTask::per_match`] names, or once
//!    for all — and adds the matches under `"trigger"` to the parameters when the command
//!    accepts that key; a match whose run failed stays pending and is run again at the
//!    next evaluation.
//!
//! **The first evaluation records the baseline**: the state as it is then is not a
//! change, so nothing matches (a tenant's existing cloud users are not "created", its
//! already-unsynced users not "no longer synced"). One exception: a
//! [`Trigger::UserNoLongerSynced`] naming a user counts that user as synced from the
//! moment the trigger was made, so it fires at its first evaluation if the user was taken
//! out of sync in between.
//!
//! A **one-shot** trigger ([`TriggeredTask::once`]) completes after it fired: the run that
//! fired it answers [`CommandOutput::Finished`], so the task ends (`Completed`, no next
//! run) once every tenant it targets has fired; a tenant that fired earlier answers
//! `Finished` again without reading anything. [`UserActions::clear_immutable_id_deferred`] uses one to clear a synced
//! user's immutable id once the user is no longer synced, which is what CIPP defers.
//!
//! `trigger.evaluate` checks `Identity.User.Read` (`Identity.Group.Read` for group
//! triggers) in the tenant; the target command checks its own permissions. For
//! [`crate::commands::OwnedCommands`], declare `trigger.evaluate`'s permissions with
//! `OwnedCommands::declare` (the target command's too).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{Error, Report, TenantId};
use cipp_graph::delta::{Delta, DeltaSync, GroupChange};
use cipp_graph::model::User;
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::Engine;
use cipp_scheduler::kv::KvStore;
use cipp_scheduler::recurrence::{Recurrence, Schedule};
use cipp_scheduler::task::{NewTask, Task};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::authz::{AuditOutcome, Permission};
use crate::users::UserActions;
use crate::{Cipp, TenantHandle};

/// The key-value namespace of the triggers' state.
pub const STATE_NAMESPACE: &str = "trigger-state";

/// The scheduler command that evaluates a trigger.
pub const EVALUATE_COMMAND: &str = "trigger.evaluate";

/// The user properties the user triggers read.
const USER_SELECT: &[&str] = &[
    "displayName",
    "userPrincipalName",
    "onPremisesSyncEnabled",
    "createdDateTime",
];

/// A condition over a tenant's directory changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
#[non_exhaustive]
pub enum Trigger {
    /// A user's `onPremisesSyncEnabled` went from `true` to `false` or `null` (taken out
    /// of AD Connect's scope, or sync turned off); only `user` (id or UPN) when given.
    #[serde(rename_all = "camelCase")]
    UserNoLongerSynced {
        /// Only this user (object id or user principal name).
        #[serde(default)]
        user: Option<String>,
    },
    /// A user was created.
    UserCreated,
    /// Members were added to or removed from the group.
    #[serde(rename_all = "camelCase")]
    GroupMembershipChanged {
        /// The group's object id.
        group: String,
    },
}

impl Trigger {
    fn name(&self) -> &'static str {
        match self {
            Trigger::UserNoLongerSynced { .. } => "userNoLongerSynced",
            Trigger::UserCreated => "userCreated",
            Trigger::GroupMembershipChanged { .. } => "groupMembershipChanged",
        }
    }

    fn permission(&self) -> &'static Permission {
        match self {
            Trigger::GroupMembershipChanged { .. } => &Permission::IDENTITY_GROUP_READ,
            _ => &Permission::IDENTITY_USER_READ,
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Trigger::GroupMembershipChanged { group } if uuid::Uuid::parse_str(group).is_err() => {
                return Err(format!("group `{group}` is not a group object id (GUID)"));
            }
            Trigger::UserNoLongerSynced { user: Some(u) } if u.trim().is_empty() => {
                return Err("user is empty: name a user or leave it out".into());
            }
            _ => {}
        }
        Ok(())
    }
}

/// The parameters of `trigger.evaluate`: the condition, and what to run when it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct TriggeredTask {
    /// The trigger's id, keying its state (with the tenant); the task id when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The condition.
    pub trigger: Trigger,
    /// The command to run (a registered scheduler command, e.g. `user.clear_immutable_id`).
    pub command: String,
    /// Its parameters (an object).
    #[serde(default = "empty_object")]
    pub parameters: Value,
    /// When set, the command runs once per match with the match's object id in this
    /// parameter (`"user"` for the `user.*` commands); otherwise once for all matches.
    #[serde(default)]
    pub per_match: Option<String>,
    /// Fire once, then complete.
    #[serde(default)]
    pub once: bool,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl TriggeredTask {
    /// Runs `command` with `parameters` when `trigger` holds.
    pub fn new(trigger: Trigger, command: impl Into<String>, parameters: Value) -> Self {
        TriggeredTask {
            id: None,
            trigger,
            command: command.into(),
            parameters,
            per_match: None,
            once: false,
        }
    }

    /// Runs the command once per match, the match's object id in `parameter`.
    pub fn per_match(mut self, parameter: impl Into<String>) -> Self {
        self.per_match = Some(parameter.into());
        self
    }

    /// Fires once, then completes.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Keys the state with `id` (instead of the task id).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// An object the condition matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TriggerMatch {
    /// The trigger's kind (`userNoLongerSynced`, `userCreated`, `groupMembershipChanged`).
    pub trigger: String,
    /// The object id (the user; for membership changes, the member).
    pub object_id: String,
    /// The user's principal name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// The display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The group (membership changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `added` or `removed` (membership changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// A trigger's state in one tenant, as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TriggerState {
    /// The delta link to continue from.
    delta_link: String,
    /// Users known to be synced (ids, lower case).
    #[serde(default)]
    synced: BTreeSet<String>,
    /// The newest `createdDateTime` seen, and the users created at that very time.
    #[serde(default)]
    newest: Option<DateTime<Utc>>,
    #[serde(default)]
    at_newest: BTreeSet<String>,
    /// Matches whose command has not succeeded yet.
    #[serde(default)]
    pending: Vec<TriggerMatch>,
    /// When a one-shot trigger fired.
    #[serde(default)]
    fired: Option<DateTime<Utc>>,
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::invalid_input("trigger state", e.to_string())
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn user_match(trigger: &Trigger, u: &User) -> Option<TriggerMatch> {
    Some(TriggerMatch {
        trigger: trigger.name().into(),
        object_id: u.id.as_ref()?.as_str().to_owned(),
        user_principal_name: u.user_principal_name.clone(),
        display_name: u.display_name.clone(),
        group: None,
        change: None,
    })
}

fn names(u: &User, who: &str) -> bool {
    u.id.as_ref()
        .is_some_and(|i| i.as_str().eq_ignore_ascii_case(who))
        || u.user_principal_name
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(who))
}

/// The users the condition matches in `delta`, updating `state` (`first`: this is the
/// baseline).
fn evaluate_users(
    trigger: &Trigger,
    delta: &Delta<User>,
    state: &mut TriggerState,
    first: bool,
) -> Vec<TriggerMatch> {
    let mut out = Vec::new();
    match trigger {
        Trigger::UserNoLongerSynced { user } => {
            let only = user.as_deref();
            let relevant = |u: &User| only.is_none_or(|who| names(u, who));
            if first {
                if let Some(who) = only {
                    // The registration vouches that the named user was synced.
                    let id = delta
                        .changed
                        .iter()
                        .find(|u| names(u, who))
                        .and_then(|u| u.id.as_ref())
                        .map_or_else(|| lower(who), |i| lower(i.as_str()));
                    state.synced.insert(id);
                } else {
                    state.synced = delta
                        .changed
                        .iter()
                        .filter(|u| u.is_synced())
                        .filter_map(|u| u.id.as_ref().map(|i| lower(i.as_str())))
                        .collect();
                    return out;
                }
            }
            let mut seen = BTreeSet::new();
            for u in delta.changed.iter().filter(|u| relevant(u)) {
                let Some(id) = u.id.as_ref().map(|i| lower(i.as_str())) else {
                    continue;
                };
                seen.insert(id.clone());
                if u.is_synced() {
                    state.synced.insert(id);
                } else if state.synced.remove(&id) {
                    out.extend(user_match(trigger, u));
                }
            }
            for r in &delta.removed {
                state.synced.remove(&lower(&r.id));
            }
            if delta.is_full() && !first {
                // A full list: users it lacks are gone.
                state
                    .synced
                    .retain(|id| seen.contains(id) || only.is_some());
            }
        }
        Trigger::UserCreated => {
            let newest = delta
                .changed
                .iter()
                .filter_map(|u| u.created_date_time)
                .max();
            for u in &delta.changed {
                let (Some(at), Some(id)) = (u.created_date_time, u.id.as_ref()) else {
                    continue;
                };
                let id = lower(id.as_str());
                let new = match state.newest {
                    None => false,
                    Some(n) => at > n || (at == n && !state.at_newest.contains(&id)),
                };
                if new && !first {
                    out.extend(user_match(trigger, u));
                }
            }
            if let Some(n) = newest {
                if state.newest.is_none_or(|old| n > old) {
                    state.newest = Some(n);
                    state.at_newest.clear();
                }
                if state.newest == Some(n) {
                    for u in &delta.changed {
                        if let (Some(at), Some(id)) = (u.created_date_time, u.id.as_ref()) {
                            if at == n {
                                state.at_newest.insert(lower(id.as_str()));
                            }
                        }
                    }
                }
            } else if first {
                state.newest = None;
            }
        }
        _ => {}
    }
    out
}

/// The member changes of the group in `delta` (none on a full list: the baseline, or a
/// restart, where adds cannot be told from existing members).
fn evaluate_group(trigger: &Trigger, group: &str, delta: &Delta<GroupChange>) -> Vec<TriggerMatch> {
    if delta.is_full() {
        return Vec::new();
    }
    delta
        .changed
        .iter()
        .filter(|g| g.id.eq_ignore_ascii_case(group))
        .flat_map(|g| {
            g.members.iter().map(|m| TriggerMatch {
                trigger: trigger.name().into(),
                object_id: m.id.clone(),
                user_principal_name: None,
                display_name: g.display_name.clone(),
                group: Some(g.id.clone()),
                change: Some(if m.removed { "removed" } else { "added" }.into()),
            })
        })
        .collect()
}

/// What `trigger.evaluate` needs besides the client.
#[derive(Clone)]
pub struct TriggerService {
    kv: Arc<dyn KvStore>,
    commands: Registry,
}

impl std::fmt::Debug for TriggerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerService")
            .field("commands", &self.commands)
            .finish_non_exhaustive()
    }
}

impl TriggerService {
    /// Triggers keeping their state in `kv` (the scheduler's store) and running the
    /// commands of `commands`.
    pub fn new(kv: Arc<dyn KvStore>, commands: Registry) -> Self {
        TriggerService { kv, commands }
    }

    fn target(&self, spec: &TriggeredTask) -> Result<&Arc<dyn Command>, String> {
        if spec.command.eq_ignore_ascii_case(EVALUATE_COMMAND) {
            return Err("a trigger cannot run trigger.evaluate".into());
        }
        self.commands.get(&spec.command).ok_or_else(|| {
            format!(
                "unknown command `{}` (registered: {})",
                spec.command,
                self.commands.names().join(", ")
            )
        })
    }

    /// The parameters of one run: the task's, the match's id in the `per_match`
    /// parameter, and the matches under `"trigger"` when the command accepts it.
    fn parameters(
        &self,
        command: &Arc<dyn Command>,
        spec: &TriggeredTask,
        matches: &[TriggerMatch],
    ) -> Value {
        let mut p = match &spec.parameters {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        if let (Some(name), [one]) = (&spec.per_match, matches) {
            p.insert(name.clone(), Value::String(one.object_id.clone()));
        }
        let mut with = p.clone();
        with.insert(
            "trigger".into(),
            json!({"kind": spec.trigger.name(), "matches": matches}),
        );
        let with = Value::Object(with);
        if command.validate(&with).is_ok() {
            with
        } else {
            Value::Object(p)
        }
    }

    fn validate(&self, parameters: &Value) -> Result<(), String> {
        let spec: TriggeredTask =
            serde_json::from_value(parameters.clone()).map_err(|e| e.to_string())?;
        spec.trigger.check()?;
        if !spec.parameters.is_object() {
            return Err("parameters must be an object".into());
        }
        let command = self.target(&spec)?;
        let sample = TriggerMatch {
            trigger: spec.trigger.name().into(),
            object_id: "00000000-0000-0000-0000-000000000000".into(),
            user_principal_name: None,
            display_name: None,
            group: None,
            change: None,
        };
        let p = self.parameters(command, &spec, std::slice::from_ref(&sample));
        command
            .validate(&p)
            .map_err(|e| format!("parameters of `{}`: {e}", spec.command))
    }

    /// Evaluates `spec` for the tenant of `handle` (its state under `key`), runs the
    /// command for the matches, and says what happened.
    pub async fn evaluate(
        &self,
        handle: &TenantHandle,
        ctx: &RunContext,
        spec: &TriggeredTask,
    ) -> Result<CommandOutput, CommandError> {
        spec.trigger.check().map_err(CommandError::failed)?;
        let command = self.target(spec).map_err(CommandError::failed)?.clone();
        handle
            .authorize(EVALUATE_COMMAND, spec.trigger.permission())
            .await
            .map_err(CommandError::from)?;
        let key = format!(
            "{}/{}",
            spec.id.as_deref().unwrap_or(&ctx.task_id),
            lower(handle.id().as_str())
        );
        let (mut state, version, note) = self.advance(handle, spec, &key).await?;
        if let (Some(at), true) = (state.fired, state.pending.is_empty()) {
            // Fired earlier (a task that ran on before this finished it): end it now.
            return Ok(CommandOutput::Finished {
                output: json!({"trigger": spec.trigger.name(), "firedAt": at.to_rfc3339()}),
                message: note,
            });
        }
        if state.pending.is_empty() {
            return Ok(CommandOutput::NoChange(note));
        }
        // Run the command for the pending matches.
        let batches: Vec<Vec<TriggerMatch>> = if spec.per_match.is_some() {
            state.pending.iter().map(|m| vec![m.clone()]).collect()
        } else {
            vec![state.pending.clone()]
        };
        let mut runs = Vec::new();
        let mut failed = Vec::new();
        let mut warnings = Vec::new();
        let mut still = Vec::new();
        for (i, batch) in batches.into_iter().enumerate() {
            let run = RunContext {
                task_id: ctx.task_id.clone(),
                run_id: format!("{}/trigger/{i}", ctx.run_id),
                tenant: ctx.tenant.clone(),
                parameters: self.parameters(&command, spec, &batch),
                reference: ctx.reference.clone(),
            };
            let outcome = command.run(run).await;
            let (status, output) = match &outcome {
                Ok(CommandOutput::Done(v)) => ("done", v.clone()),
                Ok(CommandOutput::NoChange(m)) => ("noChange", json!(m)),
                Ok(CommandOutput::Warning { output, message }) => {
                    warnings.push(message.clone());
                    ("warning", json!({"output": output, "message": message}))
                }
                Ok(CommandOutput::Finished { output, .. }) => ("done", output.clone()),
                Ok(_) => ("done", Value::Null),
                Err(CommandError::Failed(e)) => {
                    failed.push(e.message.clone());
                    ("failed", json!(e))
                }
                Err(CommandError::Throttled { retry_after }) => {
                    failed.push(format!("throttled; retry after {}s", retry_after.as_secs()));
                    ("throttled", Value::Null)
                }
                Err(_) => ("failed", Value::Null),
            };
            if matches!(status, "failed" | "throttled") {
                still.extend(batch.iter().cloned());
            }
            runs.push(json!({"matches": batch, "status": status, "output": output}));
        }
        let fired = state.pending.len() > still.len();
        state.pending = still;
        let finished = spec.once && fired && state.pending.is_empty();
        if finished {
            state.fired = Some(handle.cipp().clock().now());
        }
        let value = serde_json::to_value(&state)
            .map_err(|e| CommandError::failed(format!("trigger state: {e}")))?;
        // A lost write here only means the pending matches run again (at least once).
        let _ = self
            .kv
            .put(STATE_NAMESPACE, &key, &value, Some(version))
            .await;
        let output = json!({"trigger": spec.trigger.name(), "command": spec.command, "runs": runs, "note": note});
        if !failed.is_empty() {
            return Err(CommandError::failed(format!(
                "{} run(s) of `{}` failed (kept pending for the next evaluation): {}",
                failed.len(),
                spec.command,
                failed.join("; ")
            )));
        }
        if finished {
            // A one-shot trigger that fired is done for good: the task ends.
            let message = format!(
                "the one-shot trigger fired and ran `{}`{}; the task is complete",
                spec.command,
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!(" (with warnings: {})", warnings.join("; "))
                }
            );
            Ok(CommandOutput::Finished { output, message })
        } else if warnings.is_empty() {
            Ok(CommandOutput::Done(output))
        } else {
            Ok(CommandOutput::Warning {
                output,
                message: warnings.join("; "),
            })
        }
    }

    /// Reads the changes since the stored state, evaluates the condition, and stores the
    /// new state with the matches pending (compare-and-swap; two tries). Returns the
    /// state, its version and what happened, in words.
    async fn advance(
        &self,
        handle: &TenantHandle,
        spec: &TriggeredTask,
        key: &str,
    ) -> Result<(TriggerState, u64, String), CommandError> {
        let failed = |e: Error| CommandError::from(&e);
        for _ in 0..2 {
            let stored = self
                .kv
                .get(STATE_NAMESPACE, key)
                .await
                .map_err(|e| failed(store_error(e)))?;
            let (mut state, version) = match &stored {
                Some(v) => (
                    serde_json::from_value::<TriggerState>(v.value.clone()).map_err(|e| {
                        CommandError::failed(format!(
                            "the state of trigger {key} does not read ({e}); delete it to start over"
                        ))
                    })?,
                    Some(v.version),
                ),
                None => (TriggerState::default(), None),
            };
            if let Some(at) = state.fired {
                if state.pending.is_empty() {
                    let note = format!(
                        "the one-shot trigger fired at {} and is complete",
                        at.to_rfc3339()
                    );
                    return Ok((state, version.unwrap_or(0), note));
                }
            }
            let first = stored.is_none();
            let from = (!first).then(|| state.delta_link.clone());
            let graph = handle.graph().delta();
            let (matches, link, sync) = match &spec.trigger {
                Trigger::GroupMembershipChanged { group } => {
                    let select = ["displayName", "members"];
                    let d = graph
                        .groups(&select, &[group.as_str()], from.as_deref())
                        .await
                        .map_err(failed)?;
                    (
                        evaluate_group(&spec.trigger, group, &d),
                        d.delta_link,
                        d.sync,
                    )
                }
                _ => {
                    let d = graph
                        .users(USER_SELECT, from.as_deref())
                        .await
                        .map_err(failed)?;
                    let m = evaluate_users(&spec.trigger, &d, &mut state, first);
                    (m, d.delta_link, d.sync)
                }
            };
            let found = matches.len();
            state.delta_link = link;
            state.pending.extend(matches);
            let note = match (&sync, first) {
                (_, true) if found == 0 => {
                    "baseline recorded: later changes are evaluated from here".to_owned()
                }
                (DeltaSync::Restarted { reason }, _) => format!(
                    "the saved delta link had expired ({reason}); a full sync was compared \
                     with the remembered state: {found} match(es)"
                ),
                _ => format!("{found} new match(es)"),
            };
            let value = serde_json::to_value(&state)
                .map_err(|e| CommandError::failed(format!("trigger state: {e}")))?;
            match self
                .kv
                .put(STATE_NAMESPACE, key, &value, version)
                .await
                .map_err(|e| failed(store_error(e)))?
            {
                Ok(v) => return Ok((state, v, note)),
                Err(_) => continue,
            }
        }
        Err(CommandError::failed(format!(
            "another worker is evaluating trigger {key} at the same time; this evaluation \
             took nothing and the next one continues"
        )))
    }
}

struct EvaluateCommand {
    cipp: Cipp,
    service: TriggerService,
}

#[async_trait]
impl Command for EvaluateCommand {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        self.service.validate(parameters)
    }

    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let spec: TriggeredTask = serde_json::from_value(ctx.parameters.clone())
            .map_err(|e| CommandError::failed(format!("bad parameters: {e}")))?;
        let id = TenantId::parse(&ctx.tenant).map_err(|e| CommandError::from(&e))?;
        let handle = self.cipp.tenant(&id).map_err(|e| CommandError::from(&e))?;
        self.service.evaluate(&handle, &ctx, &spec).await
    }
}

/// Registers `trigger.evaluate` (parameters: a [`TriggeredTask`]), whose targets are the
/// commands registered in `registry` so far: register it **last**. The state lives in
/// `kv` (the scheduler's key-value store, so it survives restarts and is shared by
/// workers).
pub fn register_triggers(registry: &mut Registry, cipp: &Cipp, kv: Arc<dyn KvStore>) {
    let service = TriggerService::new(kv, registry.clone());
    registry.register(
        EVALUATE_COMMAND,
        Arc::new(EvaluateCommand {
            cipp: cipp.clone(),
            service,
        }),
    );
}

/// What [`UserActions::clear_immutable_id_deferred`] did.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImmutableIdClearing {
    /// The user is not synced: the id was cleared now (or there was none).
    Now(Report),
    /// The user is still synced: a one-shot triggered task clears the id once it no
    /// longer is.
    Deferred(Box<Task>),
}

impl UserActions {
    /// Clears the immutable id now when the user is not synchronised; when it still is
    /// (which [`UserActions::clear_immutable_id`] skips), adds a one-shot triggered task to
    /// `engine` — `trigger.evaluate` every `check_every` (CIPP's `15m`, `1h`, …) — that
    /// clears it once the user is no longer synced, as CIPP defers it. The engine's
    /// registry must hold `trigger.evaluate` ([`register_triggers`]) and
    /// `user.clear_immutable_id`. Needs `Identity.User.ReadWrite`, checked before the
    /// task is added; audited as `user.clear_immutable_id.defer`.
    pub async fn clear_immutable_id_deferred(
        &self,
        engine: &Engine,
        check_every: &str,
    ) -> Result<ImmutableIdClearing, Error> {
        let recurrence = Recurrence::parse(check_every)
            .map_err(|e| Error::invalid_input("check_every", e.to_string()))?;
        if recurrence == Recurrence::Once {
            return Err(Error::invalid_input(
                "check_every",
                "a deferred clearing must be checked repeatedly: give an interval (15m, 1h)",
            ));
        }
        // The write permission first: nothing is read for a caller who may not write.
        self.handle()
            .authorize(
                "user.clear_immutable_id.defer",
                &Permission::IDENTITY_USER_READWRITE,
            )
            .await?;
        let user = self.resolve().await?;
        if !user.is_synced() {
            return self
                .clear_immutable_id()
                .await
                .map(ImmutableIdClearing::Now);
        }
        let Some(id) = user.id.as_ref().map(|i| i.as_str().to_owned()) else {
            return Err(Error::protocol(
                Some(self.t().clone()),
                "user.resolve",
                "the user was read without its id",
            ));
        };
        let handle = self.handle();
        let cipp = handle.cipp();
        let spec = TriggeredTask::new(
            Trigger::UserNoLongerSynced {
                user: Some(id.clone()),
            },
            "user.clear_immutable_id",
            json!({}),
        )
        .per_match("user")
        .once();
        let task = NewTask::builder(
            format!(
                "Clear the immutable id of {} when no longer synced",
                user.user_principal_name.as_deref().unwrap_or(&id)
            ),
            EVALUATE_COMMAND,
            Schedule::new(cipp.clock().now(), recurrence),
        )
        .tenant(self.t().as_str())
        .parameters_from(&spec)
        .map_err(|e| Error::invalid_input("trigger", e.to_string()))?
        .build();
        let owner = cipp.access_control().map(|a| a.principal.name.clone());
        self.act(
            "user.clear_immutable_id.defer",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"checkEvery": check_every}),
            |_: &Task| AuditOutcome::Succeeded,
            async {
                engine.add_owned(task, owner).await.map_err(|e| {
                    Error::invalid_input(
                        "trigger",
                        format!("the scheduler refused the triggered task: {e}"),
                    )
                })
            },
        )
        .await
        .map(|t| ImmutableIdClearing::Deferred(Box::new(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipp_graph::delta::DeltaSync;

    fn user(id: &str, synced: Option<bool>, created: &str) -> User {
        serde_json::from_value(
            json!({"id": id, "userPrincipalName": format!("{id}@contoso.com"),
            "onPremisesSyncEnabled": synced, "createdDateTime": created}),
        )
        .unwrap()
    }

    fn delta(users: Vec<User>, sync: DeltaSync) -> Delta<User> {
        let mut d: Delta<User> = serde_json::from_value(
            json!({"changed": [], "removed": [], "deltaLink": "l", "sync": {"kind": "full"}}),
        )
        .unwrap();
        d.changed = users;
        d.sync = sync;
        d
    }

    #[test]
    fn parameters_are_camel_case_with_a_tagged_trigger() {
        let spec = TriggeredTask::new(
            Trigger::UserNoLongerSynced {
                user: Some("u1".into()),
            },
            "user.clear_immutable_id",
            json!({}),
        )
        .per_match("user")
        .once();
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            v["trigger"],
            json!({"kind": "userNoLongerSynced", "user": "u1"})
        );
        assert_eq!(v["perMatch"], "user");
        let back: TriggeredTask = serde_json::from_value(v).unwrap();
        assert_eq!(back, spec);
        assert!(serde_json::from_value::<TriggeredTask>(
            json!({"trigger": {"kind": "nope"}, "command": "x"})
        )
        .is_err());
    }

    #[test]
    fn the_baseline_matches_nothing_and_later_changes_do() {
        let t = Trigger::UserNoLongerSynced { user: None };
        let mut s = TriggerState::default();
        let base = delta(
            vec![
                user("a", Some(true), "2024-01-01T00:00:00Z"),
                user("b", None, "2024-01-01T00:00:00Z"),
            ],
            DeltaSync::Full,
        );
        assert!(evaluate_users(&t, &base, &mut s, true).is_empty());
        assert_eq!(s.synced.len(), 1);
        let later = delta(
            vec![user("a", Some(false), "2024-01-01T00:00:00Z")],
            DeltaSync::Changes,
        );
        let m = evaluate_users(&t, &later, &mut s, false);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].object_id, "a");
        // Already unsynced: no second match.
        assert!(evaluate_users(&t, &later, &mut s, false).is_empty());
    }

    #[test]
    fn created_users_are_told_by_their_creation_time() {
        let t = Trigger::UserCreated;
        let mut s = TriggerState::default();
        let base = delta(
            vec![user("a", None, "2024-01-01T00:00:00Z")],
            DeltaSync::Full,
        );
        assert!(evaluate_users(&t, &base, &mut s, true).is_empty());
        // A changed old user is not new; two created in the same second are both new once.
        let later = delta(
            vec![
                user("a", None, "2024-01-01T00:00:00Z"),
                user("b", None, "2026-01-01T00:00:00Z"),
            ],
            DeltaSync::Changes,
        );
        assert_eq!(evaluate_users(&t, &later, &mut s, false).len(), 1);
        let same_second = delta(
            vec![user("c", None, "2026-01-01T00:00:00Z")],
            DeltaSync::Changes,
        );
        assert_eq!(evaluate_users(&t, &same_second, &mut s, false).len(), 1);
        assert!(evaluate_users(&t, &same_second, &mut s, false).is_empty());
    }
}
