//! From a run to events: one per tenant or one per run
//! ([`crate::task::PostExecution::grouping`]), silent without findings when the task says
//! so, titled by the task's subject and carrying its comment.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::template::{render, Vars};
use super::{fingerprint, Event, SCHEMA_VERSION};
use crate::task::{NotifyPer, Task, TaskState, TenantResult};

/// The events a run of `task` raises at `now` (none without results).
///
/// - per run: one event over every tenant, titled `<task>: <state>` unless the task has a
///   subject; its fingerprint covers the kind, the task and the failed tenants;
/// - per tenant: one event per tenant result, titled `<task> - <tenant>: <outcome>`
///   unless the task has a subject; its fingerprint covers the kind, the task and the
///   tenant;
/// - with [`crate::task::PostExecution::only_with_findings`], an event without findings
///   and without a failure is left out.
pub fn events(
    task: &Task,
    run_id: &str,
    results: &[TenantResult],
    now: DateTime<Utc>,
) -> Vec<Event> {
    if results.is_empty() {
        return Vec::new();
    }
    let post = &task.spec.post_execution;
    let groups: Vec<(Option<&str>, Vec<&TenantResult>)> = match post.grouping(task.spec.hidden) {
        NotifyPer::Run => vec![(None, results.iter().collect())],
        NotifyPer::Tenant => results
            .iter()
            .map(|r| (Some(r.tenant.as_str()), vec![r]))
            .collect(),
    };
    groups
        .into_iter()
        .map(|(tenant, rs)| event(task, run_id, tenant, &rs, now))
        .filter(|e| !post.only_with_findings || e.findings > 0 || e.kind == "task.failed")
        .collect()
}

/// For an alert task (`alert.*` commands, whose output rows carry a `change`): `alert.raised`
/// when any row is raised or changed, `alert.resolved` when every row is resolved; for an
/// audit-log rules task (`auditlog.*`), `alert.raised` when a rule matched; `None` for other
/// tasks or no rows.
fn alert_kind(task: &Task, results: &[&TenantResult]) -> Option<&'static str> {
    let audit_rules = task.spec.command.starts_with("auditlog.");
    if !task.spec.command.starts_with("alert.") && !audit_rules {
        return None;
    }
    if audit_rules {
        // Audit-log rule hits: each is a new finding.
        let any = results.iter().any(|r| r.outcome.findings() > 0);
        return any.then_some("alert.raised");
    }
    let changes: Vec<&str> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            crate::task::TenantOutcome::Succeeded { output, .. } => output.as_array(),
            _ => None,
        })
        .flatten()
        .filter_map(|row| row["change"].as_str())
        .collect();
    if changes.is_empty() {
        None
    } else if changes.iter().all(|c| *c == "resolved") {
        Some("alert.resolved")
    } else {
        Some("alert.raised")
    }
}

fn event(
    task: &Task,
    run_id: &str,
    tenant: Option<&str>,
    results: &[&TenantResult],
    now: DateTime<Utc>,
) -> Event {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.outcome.is_ok())
        .map(|r| r.tenant.as_str())
        .collect();
    let kind = if failed.is_empty() {
        alert_kind(task, results).unwrap_or("task.completed")
    } else {
        "task.failed"
    };
    let tenants: Vec<String> = results.iter().map(|r| r.tenant.clone()).collect();
    let findings = results.iter().map(|r| r.outcome.findings()).sum();
    let joined = tenants.join(", ");
    let vars = Vars {
        tenant_name: &joined,
        tenant_id: &joined,
        result_count: findings,
        task_name: &task.spec.name,
    };
    let post = &task.spec.post_execution;
    let (title, parts) = match tenant {
        None => {
            let mut parts = vec![kind, task.id.as_str()];
            parts.extend(failed.iter().copied());
            (
                format!("{}: {}", task.spec.name, task.state.cipp_name()),
                parts,
            )
        }
        Some(t) => {
            let state =
                TaskState::from_results(&results.iter().map(|r| (*r).clone()).collect::<Vec<_>>());
            (
                format!("{} - {t}: {}", task.spec.name, state.cipp_name()),
                vec![kind, task.id.as_str(), t],
            )
        }
    };
    Event {
        schema_version: SCHEMA_VERSION,
        kind: kind.into(),
        source: "cipp-scheduler".into(),
        title: post.subject.as_deref().map_or(title, |s| render(s, &vars)),
        tenants,
        time: now,
        count: results.len(),
        findings,
        comment: post.comment.as_deref().map(|c| render(c, &vars)),
        reference: task.spec.reference.clone(),
        fingerprint: fingerprint(&parts),
        payload: json!({"taskId": task.id, "runId": run_id, "command": task.spec.command, "results": results}),
    }
}
