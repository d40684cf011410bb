//! The built-in commands run by the scheduler engine on the simulator.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use cipp::commands::{register_builtin, FleetResolver};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, Target, TaskState, TenantOutcome};
use cipp::sim::{scenario, FaultKind, FaultRule, FaultTrigger, Simulator};
use cipp::templates::template::{Template, TemplateKind};
use cipp::Cipp;
use serde_json::{json, Value};

struct Rig {
    sim: Simulator,
    cipp: Cipp,
    engine: Engine,
    clock: ManualClock,
}

fn rig() -> Rig {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    // Commands fail fast on long throttling so the engine can retry that tenant later.
    let cipp = cipp.background(Duration::from_secs(1));
    let mut reg = Registry::new();
    register_builtin(&mut reg, &cipp);
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
    }
}

fn task(
    command: &str,
    parameters: Value,
    target: Target,
    now: chrono::DateTime<chrono::Utc>,
) -> NewTask {
    let once = Schedule::new(now, Recurrence::Once);
    let builder = NewTask::builder(command, command, once).parameters(parameters);
    NewTask {
        target,
        ..builder.reference("T-1").build()
    }
}

fn contoso_id(sim: &Simulator) -> String {
    sim.lock_state().tenant("contoso.com").unwrap().id.clone()
}

/// One tenant as a task's target.
fn one(id: String) -> Target {
    Target::Tenant { id }
}

/// Every tenant of the fleet as a task's target.
fn all_tenants() -> Target {
    Target::AllTenants {
        exclude_tenants: vec![],
        exclude_groups: vec![],
    }
}

/// The id of the group called `name` in `tenant`.
fn group_id(tenant: &cipp::sim::SimTenant, name: &str) -> String {
    let found = tenant.groups().iter().find(|g| g["displayName"] == name);
    found.unwrap()["id"].as_str().unwrap().to_owned()
}

impl Rig {
    /// Adds the task running `command` with `parameters` for `target`, due now.
    async fn add(
        &self,
        command: &str,
        parameters: Value,
        target: Target,
    ) -> Result<cipp::scheduler::task::Task, cipp::scheduler::SchedulerError> {
        let spec = task(command, parameters, target, self.clock.now());
        self.engine.add(spec).await
    }

    /// Adds the task running `command` with `parameters` for `target`, due now, and
    /// expects it to be accepted.
    async fn queue(&self, command: &str, parameters: Value, target: Target) {
        self.add(command, parameters, target).await.unwrap();
    }

    /// The one run the next tick makes.
    async fn run_next(&self) -> cipp::scheduler::engine::RunSummary {
        self.engine.tick().await.unwrap().pop().unwrap()
    }
}

#[tokio::test]
async fn parameters_are_checked_when_the_task_is_added() {
    let r = rig();
    let contoso = one(contoso_id(&r.sim));
    for (command, parameters, named) in [
        (
            "user.set_sign_in",
            json!({"user": "a@contoso.com"}),
            "enabled",
        ),
        (
            "user.revoke_sessions",
            json!({"user": "a@contoso.com", "typo": 1}),
            "typo",
        ),
    ] {
        let err = r
            .add(command, parameters, contoso.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(named), "{command}: {err}");
    }
}

#[tokio::test]
async fn scheduled_group_membership_and_offboarding_change_the_tenant() {
    let r = rig();
    let (sales, alex) = {
        let st = r.sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        let g = group_id(c, "Sales Team");
        (g, c.directory.user_id("alexw@contoso.com").unwrap())
    };
    let add = json!({"user": "alexw@contoso.com", "groups": [sales]});
    r.queue("user.add_to_groups", add, one(contoso_id(&r.sim)))
        .await;
    let offboard = json!({"user": "isaiahl@contoso.com", "disableSignIn": true, "hideFromGal": true,
                          "grantFullAccess": ["adelev@contoso.com"], "automap": true});
    r.queue("user.offboard", offboard, one(contoso_id(&r.sim)))
        .await;
    let runs = r.engine.tick().await.unwrap();
    assert!(
        runs.iter().all(|s| s.state == TaskState::Completed),
        "{runs:?}"
    );
    let st = r.sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    assert!(c.directory.members[&sales].contains(&alex));
    let isaiah = c.directory.user("isaiahl@contoso.com").unwrap();
    assert_eq!(isaiah["accountEnabled"], false);
    // The manager got full access to the mailbox, automapped.
    let granted = c.exchange.mailbox_permissions.iter().any(|p| {
        let s = p.to_string().to_lowercase();
        s.contains("isaiahl") && s.contains("adelev")
    });
    assert!(granted, "{:?}", c.exchange.mailbox_permissions);
}

#[tokio::test]
async fn a_fleet_task_reports_the_tenants_where_it_failed() {
    let r = rig();
    // The user exists only in Contoso: the other tenants fail, honestly.
    let adele = json!({"user": "adelev@contoso.com"});
    r.queue("user.revoke_sessions", adele, all_tenants()).await;
    let run = r.run_next().await;
    assert_eq!(run.state, TaskState::CompletedWithErrors);
    assert_eq!(run.results.iter().filter(|x| x.outcome.is_ok()).count(), 1);
    let failed = run.results.iter().find(|x| !x.outcome.is_ok()).unwrap();
    match &failed.outcome {
        TenantOutcome::Failed { error } => {
            assert!(
                error.message.contains("Request_ResourceNotFound")
                    || error.message.contains("does not exist"),
                "{error}"
            );
            // The service's status survives into the stored result, not only its text.
            assert_eq!(error.status, Some(404), "{error:?}");
            assert!(!error.retryable);
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(failed.reference.as_deref(), Some("T-1"));
    let _ = &r.cipp;
}

#[tokio::test(start_paused = true)]
async fn a_throttled_tenant_is_retried_later_while_the_others_finish() {
    let r = rig();
    let fabrikam = fabrikam_id(&r.sim);
    r.sim.add_fault(
        FaultRule::new(
            FaultKind::Throttle {
                retry_after: "30".into(),
            },
            FaultTrigger::Nth(1),
        )
        .on_path("/v1.0/reports/")
        .for_tenant(&fabrikam),
    );
    r.queue("tenant.mfa_registration", json!({}), all_tenants())
        .await;
    let start = tokio::time::Instant::now();
    let run = r.run_next().await;
    assert_eq!(run.state, TaskState::Completed, "{:?}", run.results);
    assert!(start.elapsed() >= Duration::from_secs(30));
    let last = run.results.last().unwrap();
    assert_eq!(
        last.tenant, fabrikam,
        "the throttled tenant finished last; the others did not wait for it"
    );
}

#[tokio::test]
async fn failure_notifications_are_emailed_from_the_partner_tenant() {
    use cipp::commands::GraphMailSender;
    use cipp::scheduler::notify::EmailNotifier;
    use cipp::scheduler::task::PostExecution;
    let r = rig();
    let partner = cipp::TenantId::parse(scenario::DEMO_PARTNER).unwrap();
    let sender = GraphMailSender::new(r.cipp.clone(), partner, "pat@msp.example").unwrap();
    let mut reg = Registry::new();
    register_builtin(&mut reg, &r.cipp);
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(FleetResolver::new(r.cipp.clone(), Default::default())),
        Arc::new(r.clock.clone()),
    )
    .with_notifier(Arc::new(
        EmailNotifier::new(Arc::new(sender), vec!["noc@msp.example".into()]).unwrap(),
    ));
    let mut t = task(
        "user.revoke_sessions",
        json!({"user": "adelev@contoso.com"}),
        all_tenants(),
        r.clock.now(),
    );
    t.post_execution = PostExecution {
        email: true,
        ..Default::default()
    };
    engine.add(t).await.unwrap();
    engine.tick().await.unwrap();
    let st = r.sim.lock_state();
    let sent = &st.tenant(scenario::DEMO_PARTNER).unwrap().mail.sent_mail;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "pat@msp.example");
    assert_eq!(
        sent[0].1["toRecipients"][0]["emailAddress"]["address"],
        "noc@msp.example"
    );
    assert!(sent[0].1["subject"]
        .as_str()
        .unwrap()
        .contains("Completed with errors"));
}

/// A template store in a fresh temporary directory holding `templates`.
async fn template_store(templates: Vec<Template>) -> String {
    use cipp::templates::store::{DirTemplateStore, TemplateStore};
    let dir = std::env::temp_dir().join(format!("cipp-templates-{}", uuid::Uuid::new_v4()));
    let store = DirTemplateStore::open(&dir).unwrap();
    for t in templates {
        store.put(t).await.unwrap();
    }
    dir.to_string_lossy().into_owned()
}

fn fabrikam_id(sim: &Simulator) -> String {
    sim.lock_state().tenant("fabrikam.com").unwrap().id.clone()
}

#[tokio::test]
async fn templates_deploy_creates_in_the_tenant_and_a_rerun_changes_nothing() {
    let group = Template::new(
        TemplateKind::Group,
        "Helpdesk %tenantname%",
        json!({"displayName": "Helpdesk", "groupType": "generic", "username": "helpdesk"}),
    );
    let store = template_store(vec![group.with_id("group-helpdesk")]).await;
    let r = rig();
    let params = json!({"templates": ["group-helpdesk"], "store": store});
    let target = one(fabrikam_id(&r.sim));
    let count = |sim: &Simulator| {
        let st = sim.lock_state();
        st.tenant("fabrikam.com")
            .unwrap()
            .groups()
            .iter()
            .filter(|g| g["displayName"] == "Helpdesk")
            .count()
    };
    for round in 0..2 {
        r.queue("templates.deploy", params.clone(), target.clone())
            .await;
        let run = r.run_next().await;
        assert_eq!(run.state, TaskState::Completed, "round {round}: {run:?}");
        assert_eq!(count(&r.sim), 1, "round {round}");
    }
    // Parameters are checked when the task is added.
    assert!(r
        .add("templates.deploy", json!({"store": "/nowhere"}), target)
        .await
        .is_err());
}

#[tokio::test]
async fn templates_deploy_fails_the_tenant_when_an_item_fails() {
    let r = rig();
    // Security defaults are on in Fabrikam: Graph refuses an enabled policy.
    let ca = Template::new(
        TemplateKind::ConditionalAccess,
        "Require MFA",
        json!({"displayName": "Require MFA", "state": "enabled",
               "conditions": {"clientAppTypes": ["all"],
                              "applications": {"includeApplications": ["All"]},
                              "users": {"includeUsers": ["All"]}},
               "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}),
    );
    let store = template_store(vec![ca.with_id("ca-mfa")]).await;
    // A missing template fails the tenant and is named; a refused policy fails it too.
    for (templates, named) in [
        (json!(["ca-mfa", "missing"]), "missing"),
        (json!(["ca-mfa"]), ""),
    ] {
        let parameters = json!({"templates": templates, "store": store});
        r.queue("templates.deploy", parameters, one(fabrikam_id(&r.sim)))
            .await;
        let run = r.run_next().await;
        assert!(
            !run.results.iter().any(|x| x.outcome.is_ok()),
            "{templates}: {run:?}"
        );
        match &run.results[0].outcome {
            TenantOutcome::Failed { error } => {
                assert!(error.message.contains(named), "{templates}: {error}")
            }
            o => panic!("{templates}: {o:?}"),
        }
    }
}
