//! Scheduled offboarding queues its deferred licence removal as a follow-up task (not
//! only as output): due five minutes later, owned like the offboarding task, run by the
//! engine's next tick once due, and queued once even when the run is retried.

use crate::common;

use std::sync::Arc;

use cipp::commands::{register_builtin, register_offboarding_follow_ups, FleetResolver};
use cipp::core::Clock;
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::{MemoryStore, Store};
use cipp::scheduler::task::{NewTask, Target, TaskState, TenantOutcome};
use serde_json::json;

fn licences(sim: &cipp::sim::Simulator, upn: &str) -> usize {
    let st = sim.lock_state();
    let user = st
        .tenant("contoso.com")
        .unwrap()
        .directory
        .user(upn)
        .unwrap();
    user["assignedLicenses"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn deferred_licence_removal_becomes_a_task_that_runs_when_due() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut reg = Registry::new();
    register_builtin(&mut reg, &cipp);
    register_offboarding_follow_ups(&mut reg, &cipp, store.clone());
    let engine = Engine::new(
        store.clone(),
        reg,
        Arc::new(FleetResolver::new(cipp.clone(), Default::default())),
        Arc::new(clock.clone()),
    );
    let upn = "meganb@contoso.com";
    assert!(licences(&sim, upn) > 0, "the demo user is licensed");
    let contoso = sim.lock_state().tenant("contoso.com").unwrap().id.clone();
    let spec = NewTask::builder(
        "Offboard Megan",
        "user.offboard",
        Schedule::new(clock.now(), Recurrence::Once),
    )
    .parameters(json!({"user": upn, "disableSignIn": true, "removeLicenses": true}))
    .reference("T-42")
    .build();
    let offboarding = engine
        .add(NewTask {
            target: Target::Tenant {
                id: contoso.clone(),
            },
            ..spec
        })
        .await
        .unwrap();

    // The offboarding run: sign-in blocked, licences kept for now, one task queued.
    let run = engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.state, TaskState::Completed, "{run:?}");
    let TenantOutcome::Succeeded { output, .. } = &run.results[0].outcome else {
        panic!("{:?}", run.results[0].outcome)
    };
    let queued = output["extra"]["queuedTasks"]
        .as_array()
        .unwrap_or_else(|| panic!("{output}"));
    assert_eq!(queued.len(), 1, "{output}");
    assert!(output["extra"].get("followUps").is_none(), "{output}");
    let id = queued[0].as_str().unwrap();
    let follow_up = store.get(id).await.unwrap().expect("the follow-up task");
    assert_eq!(follow_up.spec.command, "user.remove_licenses");
    assert_eq!(follow_up.spec.parameters, json!({"user": upn}));
    assert_eq!(
        follow_up.spec.target,
        Target::Tenant {
            id: contoso.clone()
        }
    );
    assert_eq!(follow_up.spec.reference.as_deref(), Some("T-42"));
    assert_eq!(follow_up.owner, offboarding.owner);
    let due = follow_up.next_run.unwrap();
    assert_eq!(due, clock.now() + chrono::Duration::minutes(5));
    assert!(licences(&sim, upn) > 0, "not removed yet");

    // Not due yet: a tick now runs nothing.
    assert!(engine.tick().await.unwrap().is_empty());
    // Due: the next tick removes the licences.
    clock.advance(std::time::Duration::from_secs(5 * 60));
    let run = engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.task_id, id);
    assert_eq!(run.state, TaskState::Completed, "{run:?}");
    assert_eq!(licences(&sim, upn), 0);
}
