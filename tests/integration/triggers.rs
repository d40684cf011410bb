//! Triggered tasks on the simulator: `trigger.evaluate` run by the scheduler engine, its
//! delta link kept in the key-value store, and the deferred clearing of a synced user's
//! immutable id.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cipp::commands::{register_builtin, FleetResolver};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp::scheduler::engine::{Engine, RunSummary};
use cipp::scheduler::kv::{KvStore, MemoryKv};
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, TaskState, TenantOutcome};
use cipp::sim::Simulator;
use cipp::triggers::{
    register_triggers, ImmutableIdClearing, Trigger, TriggeredTask, STATE_NAMESPACE,
};
use cipp::Cipp;
use serde_json::{json, Value};

/// A command that records the parameters of every run (and accepts any).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Value>>>);

#[async_trait]
impl Command for Recorder {
    fn validate(&self, _parameters: &Value) -> Result<(), String> {
        Ok(())
    }
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        self.0.lock().unwrap().push(ctx.parameters);
        Ok(CommandOutput::Done(json!({"recorded": true})))
    }
}

impl Recorder {
    fn runs(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

struct Rig {
    sim: Simulator,
    cipp: Cipp,
    engine: Engine,
    clock: ManualClock,
    kv: Arc<MemoryKv>,
    recorder: Recorder,
}

fn rig() -> Rig {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let cipp = cipp.background(Duration::from_secs(1));
    let kv = Arc::new(MemoryKv::new());
    let recorder = Recorder::default();
    let mut reg = Registry::new();
    register_builtin(&mut reg, &cipp);
    reg.register("test.record", Arc::new(recorder.clone()));
    register_triggers(&mut reg, &cipp, kv.clone());
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(FleetResolver::new(cipp.clone(), Default::default())),
        Arc::new(clock.clone()),
    );
    Rig {
        sim,
        cipp,
        engine,
        clock,
        kv,
        recorder,
    }
}

fn contoso(sim: &Simulator) -> String {
    sim.lock_state().tenant("contoso.com").unwrap().id.clone()
}

impl Rig {
    /// Adds `trigger.evaluate` with `spec` for Contoso, every 15 minutes from now.
    async fn add(&self, spec: &TriggeredTask) -> Result<String, String> {
        let every = Schedule::new(self.clock.now(), Recurrence::parse("15m").unwrap());
        let task = NewTask::builder("trigger", "trigger.evaluate", every)
            .tenant(contoso(&self.sim))
            .parameters_from(spec)
            .unwrap()
            .build();
        self.engine
            .add(task)
            .await
            .map(|t| t.id)
            .map_err(|e| e.to_string())
    }

    /// The one run due now.
    async fn tick(&self) -> RunSummary {
        let mut runs = self.engine.tick().await.unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs.pop().unwrap()
    }

    /// Fifteen minutes later, the next evaluation.
    async fn later(&self) -> RunSummary {
        self.clock.advance(Duration::from_secs(15 * 60));
        self.tick().await
    }

    fn delta_calls(&self) -> usize {
        self.sim.log().count("GET", "/v1.0/users/delta")
    }
}

fn outcome(run: &RunSummary) -> &TenantOutcome {
    assert_eq!(run.results.len(), 1, "{run:?}");
    &run.results[0].outcome
}

fn no_change(run: &RunSummary) -> String {
    match outcome(run) {
        TenantOutcome::NoChange { message } => message.clone(),
        o => panic!("expected no change, got {o:?}"),
    }
}

#[tokio::test]
async fn a_created_user_fires_the_trigger_once_and_the_link_is_kept() {
    let r = rig();
    let spec = TriggeredTask::new(
        Trigger::UserCreated,
        "test.record",
        json!({"note": "hello"}),
    );
    let task = r.add(&spec).await.unwrap();
    // The first evaluation records the baseline: the existing users are not "created".
    let base = r.tick().await;
    assert!(no_change(&base).contains("baseline"), "{base:?}");
    assert!(r.recorder.runs().is_empty());
    let key = format!("{task}/{}", contoso(&r.sim));
    let stored =
        r.kv.get(STATE_NAMESPACE, &key)
            .await
            .unwrap()
            .expect("state stored");
    assert!(stored.value["deltaLink"]
        .as_str()
        .unwrap()
        .contains("/users/delta?$deltatoken="));

    // A user is created in the tenant.
    let hire = json!({"accountEnabled": true, "displayName": "New Hire", "mailNickname": "new.hire",
        "userPrincipalName": "new.hire@contoso.com", "passwordProfile": {"password": "Str0ng-Passw0rd!"}});
    let t = r
        .cipp
        .tenant(&cipp::core::TenantId::parse("contoso.com").unwrap())
        .unwrap();
    let created: Value = t
        .graph()
        .pipeline()
        .send(
            cipp::core::ApiRequest::post(
                t.id().clone(),
                cipp::core::Audience::Graph,
                "/v1.0/users",
            )
            .json(&hire)
            .unwrap(),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    let fired = r.later().await;
    match outcome(&fired) {
        TenantOutcome::Succeeded { output, .. } => {
            assert_eq!(output["runs"].as_array().unwrap().len(), 1, "{output}")
        }
        o => panic!("{o:?}"),
    }
    let runs = r.recorder.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["note"], "hello", "the task's parameters are kept");
    let m = &runs[0]["trigger"]["matches"][0];
    assert_eq!(runs[0]["trigger"]["kind"], "userCreated");
    assert_eq!(m["objectId"], created["id"]);
    assert_eq!(m["userPrincipalName"], "new.hire@contoso.com");

    // The link moved on and was saved: no change, nothing runs; the saved link was used.
    let calls = r.delta_calls();
    let quiet = r.later().await;
    assert!(no_change(&quiet).contains("0 new"), "{quiet:?}");
    assert_eq!(r.recorder.runs().len(), 1);
    let log = r.sim.log();
    let last = log
        .calls("GET", "/v1.0/users/delta")
        .last()
        .copied()
        .unwrap()
        .clone();
    assert!(
        last.query.unwrap_or_default().contains("$deltatoken="),
        "continued from the saved link"
    );
    assert_eq!(r.delta_calls(), calls + 1);
    let again = r.kv.get(STATE_NAMESPACE, &key).await.unwrap().unwrap();
    assert!(again.version > stored.version);
}

#[tokio::test]
async fn a_synced_users_immutable_id_is_cleared_once_it_is_no_longer_synced() {
    let r = rig();
    let adele = {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let id = c.directory.user_id("adelev@contoso.com").unwrap();
        let i = c.user_index(&id).unwrap();
        let u = &mut c.directory.users_mut()[i];
        u["onPremisesSyncEnabled"] = json!(true);
        u["onPremisesImmutableId"] = json!("fXR6W3xMQUq1uJJgNhJGAg==");
        id
    };
    let t = r
        .cipp
        .tenant(&cipp::core::TenantId::parse("contoso.com").unwrap())
        .unwrap();
    let user = t.user("adelev@contoso.com").unwrap();
    // Today's action skips a synced user…
    let skipped = user.clear_immutable_id().await.unwrap();
    assert!(
        matches!(skipped.overall(), cipp::core::Outcome::Skipped { .. }),
        "{skipped:?}"
    );
    // …the deferred one registers a one-shot triggered task.
    let deferred = user
        .clear_immutable_id_deferred(&r.engine, "15m")
        .await
        .unwrap();
    let ImmutableIdClearing::Deferred(task) = deferred else {
        panic!("{deferred:?}")
    };
    assert_eq!(task.spec.command, "trigger.evaluate");
    assert_eq!(task.spec.parameters["trigger"]["user"], adele.as_str());
    assert_eq!(task.spec.parameters["once"], true);

    // Still synced: the baseline, nothing written.
    let base = r.tick().await;
    no_change(&base);
    assert_eq!(r.sim.log().count("PATCH", "/v1.0/users/{id}"), 0);

    // AD Connect stops syncing her (out of scope): onPremisesSyncEnabled becomes null.
    {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let i = c.user_index(&adele).unwrap();
        c.directory.users_mut()[i]["onPremisesSyncEnabled"] = Value::Null;
    }
    let fired = r.later().await;
    match outcome(&fired) {
        TenantOutcome::Finished {
            message, output, ..
        } => {
            assert!(message.contains("complete"), "{message}");
            assert_eq!(output["command"], "user.clear_immutable_id", "{output}");
        }
        o => panic!("expected finished, got {o:?}"),
    }
    assert_eq!(r.sim.log().count("PATCH", "/v1.0/users/{id}"), 1);
    {
        let st = r.sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        let u = c.directory.user(&adele).unwrap();
        assert!(u["onPremisesImmutableId"].is_null(), "{u}");
        // Entra's audit record of the PATCH names the property it cleared.
        let audit = c.logs.directory_audits.last().unwrap();
        assert_eq!(audit["activityDisplayName"], "Update user");
        assert!(
            audit.to_string().contains("OnPremisesImmutableId"),
            "{audit}"
        );
    }

    // One-shot: the task is complete, with no next run; nothing runs or reads again.
    let ended = r.engine.task(&task.id).await.unwrap();
    assert_eq!(ended.state, TaskState::Completed, "{ended:?}");
    assert_eq!(ended.next_run, None);
    let calls = r.delta_calls();
    r.clock.advance(Duration::from_secs(3600));
    assert!(
        r.engine.tick().await.unwrap().is_empty(),
        "the task ran again"
    );
    assert_eq!(r.delta_calls(), calls);
}

#[tokio::test]
async fn an_unsynced_user_is_cleared_at_once() {
    let r = rig();
    {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let i = c.user_index("adelev@contoso.com").unwrap();
        c.directory.users_mut()[i]["onPremisesImmutableId"] = json!("abc==");
    }
    let t = r
        .cipp
        .tenant(&cipp::core::TenantId::parse("contoso.com").unwrap())
        .unwrap();
    let now = t
        .user("adelev@contoso.com")
        .unwrap()
        .clear_immutable_id_deferred(&r.engine, "15m")
        .await
        .unwrap();
    assert!(matches!(now, ImmutableIdClearing::Now(_)), "{now:?}");
    assert_eq!(r.sim.log().count("PATCH", "/v1.0/users/{id}"), 1);
    assert!(
        r.engine.tick().await.unwrap().is_empty(),
        "no task was added"
    );
}

#[tokio::test]
async fn an_expired_link_still_catches_a_user_taken_out_of_sync() {
    let r = rig();
    let adele = {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let i = c.user_index("adelev@contoso.com").unwrap();
        c.directory.users_mut()[i]["onPremisesSyncEnabled"] = json!(true);
        c.directory.user_id("adelev@contoso.com").unwrap()
    };
    let spec = TriggeredTask::new(
        Trigger::UserNoLongerSynced { user: None },
        "test.record",
        json!({}),
    )
    .per_match("user");
    r.add(&spec).await.unwrap();
    no_change(&r.tick().await);
    {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let i = c.user_index(&adele).unwrap();
        c.directory.users_mut()[i]["onPremisesSyncEnabled"] = json!(false);
        c.delta.expire();
    }
    let fired = r.later().await;
    match outcome(&fired) {
        TenantOutcome::Succeeded { output, .. } => {
            assert!(
                output["note"].as_str().unwrap().contains("expired"),
                "{output}"
            )
        }
        o => panic!("{o:?}"),
    }
    let runs = r.recorder.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0]["user"],
        adele.as_str(),
        "the match's id in the per-match parameter"
    );
}

#[tokio::test]
async fn group_membership_changes_fire_with_the_member_and_the_change() {
    let r = rig();
    let (sales, alex) = {
        let st = r.sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        let g = c
            .groups()
            .iter()
            .find(|g| g["displayName"] == "Sales Team")
            .unwrap();
        (
            g["id"].as_str().unwrap().to_owned(),
            c.directory.user_id("alexw@contoso.com").unwrap(),
        )
    };
    let spec = TriggeredTask::new(
        Trigger::GroupMembershipChanged {
            group: sales.clone(),
        },
        "test.record",
        json!({}),
    );
    r.add(&spec).await.unwrap();
    no_change(&r.tick().await);
    let is_member = |r: &Rig| {
        let st = r.sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        c.directory
            .members
            .get(&sales)
            .is_some_and(|m| m.iter().any(|x| x.eq_ignore_ascii_case(&alex)))
    };
    assert!(!is_member(&r), "Alex starts outside Sales Team");
    let t = r
        .cipp
        .tenant(&cipp::core::TenantId::parse("contoso.com").unwrap())
        .unwrap();
    t.graph()
        .groups()
        .add_member(&sales.as_str().into(), &alex.as_str().into())
        .await
        .unwrap();
    r.later().await;
    let runs = r.recorder.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let m = &runs[0]["trigger"]["matches"][0];
    assert_eq!(
        m["group"].as_str().unwrap().to_lowercase(),
        sales.to_lowercase()
    );
    assert_eq!(m["change"], "added");
    assert_eq!(
        m["objectId"].as_str().unwrap().to_lowercase(),
        alex.to_lowercase()
    );
    {
        let mut st = r.sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        c.directory
            .members
            .get_mut(&sales)
            .unwrap()
            .retain(|m| !m.eq_ignore_ascii_case(&alex));
    }
    r.later().await;
    let runs = r.recorder.runs();
    let last = &runs.last().unwrap()["trigger"]["matches"][0];
    assert_eq!(last["change"], "removed");
    assert_eq!(
        last["objectId"].as_str().unwrap().to_lowercase(),
        alex.to_lowercase()
    );
}

#[tokio::test]
async fn triggers_are_checked_when_the_task_is_added() {
    let r = rig();
    let unknown = TriggeredTask::new(Trigger::UserCreated, "no.such.command", json!({}));
    assert!(r
        .add(&unknown)
        .await
        .unwrap_err()
        .contains("no.such.command"));
    let bad_group = TriggeredTask::new(
        Trigger::GroupMembershipChanged {
            group: "sales".into(),
        },
        "test.record",
        json!({}),
    );
    assert!(r.add(&bad_group).await.unwrap_err().contains("GUID"));
    // The target's own parameters are checked too (user.revoke_sessions needs a user).
    let missing = TriggeredTask::new(Trigger::UserCreated, "user.revoke_sessions", json!({}));
    assert!(r.add(&missing).await.is_err());
    let fine = missing.clone().per_match("user");
    assert!(r.add(&fine).await.is_ok());
    assert!(r
        .cipp
        .tenant(&cipp::core::TenantId::parse("contoso.com").unwrap())
        .unwrap()
        .user("adelev@contoso.com")
        .unwrap()
        .clear_immutable_id_deferred(&r.engine, "0")
        .await
        .is_err());
    assert_eq!(r.sim.log().count("*", "/v1.0/*"), 0, "nothing was sent");
}
