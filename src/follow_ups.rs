//! Follow-ups queued as scheduler tasks: work a command cannot do yet (the licence removal
//! offboarding defers) becomes a one-off task in the engine's store, due when it may run,
//! so nothing depends on the caller reading the command's output and acting on it.
//!
//! See [`crate::commands::register_offboarding_follow_ups`].

use cipp_scheduler::command::RunContext;
use cipp_scheduler::recurrence::{Recurrence, Schedule};
use cipp_scheduler::store::Store;
use cipp_scheduler::task::{NewTask, PostExecution, Target, Task, TaskState};
use cipp_scheduler::SchedulerError;
use serde_json::json;

use crate::offboarding::FollowUp;

/// The id of the task queued for follow-up `index` of the run in `ctx`: the same run,
/// tenant and follow-up always give the same id, so a retried run finds the task it
/// already queued.
pub(crate) fn task_id(ctx: &RunContext, index: usize) -> String {
    format!(
        "follow-up:{}:{}:{}",
        ctx.run_id,
        ctx.tenant.to_ascii_lowercase(),
        index
    )
}

/// The task that carries out `follow_up`.
pub(crate) fn task_for(ctx: &RunContext, index: usize, follow_up: &FollowUp) -> Task {
    let (name, command, parameters, tenant, due) = match follow_up {
        FollowUp::RemoveLicenses {
            tenant,
            user,
            not_before,
        } => (
            format!("Remove the licences of {user} (offboarding follow-up)"),
            "user.remove_licenses",
            json!({ "user": user }),
            tenant.as_str().to_owned(),
            *not_before,
        ),
    };
    Task {
        id: task_id(ctx, index),
        spec: NewTask {
            name,
            command: command.to_owned(),
            parameters,
            target: Target::Tenant { id: tenant },
            schedule: Schedule::new(due, Recurrence::Once),
            post_execution: PostExecution::default(),
            reference: ctx.reference.clone(),
            hidden: false,
            unique_name: false,
        },
        state: TaskState::Planned,
        attempts: 0,
        last_run: None,
        next_run: Some(due),
        lease: None,
        current_run: None,
        owner: cipp_scheduler::engine::current_task_owner(),
    }
}

/// Queues `follow_up` (the `index`-th of the run in `ctx`) in `store`, once: when the
/// task is already there (a retried run), its id is returned and nothing is written.
pub(crate) async fn queue(
    store: &dyn Store,
    ctx: &RunContext,
    index: usize,
    follow_up: &FollowUp,
) -> Result<String, SchedulerError> {
    let task = task_for(ctx, index, follow_up);
    if store.get(&task.id).await?.is_none() {
        store.insert(&task).await?;
    }
    Ok(task.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipp_core::TenantId;
    use cipp_scheduler::store::MemoryStore;

    #[tokio::test]
    async fn a_retried_run_queues_its_follow_up_once() {
        let store = MemoryStore::new();
        let ctx = RunContext {
            task_id: "t".into(),
            run_id: "run-1".into(),
            tenant: "Contoso.onmicrosoft.com".into(),
            parameters: serde_json::Value::Null,
            reference: None,
        };
        let f = FollowUp::RemoveLicenses {
            tenant: TenantId::parse("contoso.onmicrosoft.com").unwrap(),
            user: "meganb@contoso.com".into(),
            not_before: chrono::DateTime::UNIX_EPOCH,
        };
        let first = queue(&store, &ctx, 0, &f).await.unwrap();
        let again = queue(&store, &ctx, 0, &f).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(first, "follow-up:run-1:contoso.onmicrosoft.com:0");
        assert_eq!(store.list(true).await.unwrap().len(), 1);
        // Another run queues its own.
        let other = RunContext {
            run_id: "run-2".into(),
            ..ctx
        };
        queue(&store, &other, 0, &f).await.unwrap();
        assert_eq!(store.list(true).await.unwrap().len(), 2);
    }
}
