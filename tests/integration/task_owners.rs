//! Scheduled tasks run with their owner's permissions: checked when the task is added
//! through `OwnedCommands::add_task` (in every tenant the target names, nothing stored when
//! refused) and again each time it runs, on a client with the owner's access control, so a
//! role changed in between refuses the run before anything is sent. Adding and removing
//! tasks is audited (`scheduler.add_task` / `scheduler.remove_task`).
//!
//! The PostgreSQL test (shared work items) runs against 127.0.0.1:5432 (database `test`,
//! trust authentication; `CIPP_PG` overrides). In CI (`CI=true`) an unreachable server fails
//! it; elsewhere it says plainly that it was skipped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cipp::authz::{
    AccessControl, AuditEvent, AuditOutcome, MemoryAuditLog, Permission, Principal, Role,
    TenantScope,
};
use cipp::commands::{command_permissions, register_builtin, OwnedCommands, OwnerDirectory};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp::scheduler::engine::{current_task_owner, Engine, StaticTenants};
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::{MemoryStore, Store};
use cipp::scheduler::task::{NewTask, Target, TaskState, TenantOutcome};
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::Cipp;
use serde_json::{json, Value};

const CONTOSO: &str = "contoso.onmicrosoft.com";
const FABRIKAM: &str = "fabrikam.onmicrosoft.com";
const NORTHWIND: &str = "northwind.onmicrosoft.com";
const ALEX: &str = "alex@msp.example";

/// Users (read and write), every read and the scheduler, in Contoso and Fabrikam only.
fn helpdesk() -> Role {
    Role::custom("helpdesk")
        .allow("Identity.User.*")
        .allow("*.*.Read")
        .allow("CIPP.Scheduler.ReadWrite")
        .tenants(TenantScope::only([CONTOSO, FABRIKAM]))
}

struct Rig {
    sim: Simulator,
    clock: ManualClock,
    base: Cipp,
    owners: OwnerDirectory,
    log: MemoryAuditLog,
    owned: OwnedCommands,
    engine: Engine,
}

fn tenants() -> StaticTenants {
    StaticTenants {
        all: vec![CONTOSO.into(), FABRIKAM.into(), NORTHWIND.into()],
        groups: BTreeMap::from([
            (
                "eu".to_owned(),
                vec![FABRIKAM.to_owned(), NORTHWIND.to_owned()],
            ),
            (
                "mine".to_owned(),
                vec![CONTOSO.to_owned(), FABRIKAM.to_owned()],
            ),
        ]),
    }
}

fn base(sim: &Simulator, clock: &ManualClock) -> Cipp {
    Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .clock(Arc::new(clock.clone()))
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap()
}

fn rig_with(
    store: Arc<dyn Store>,
    make: impl FnOnce(&Cipp, OwnerDirectory) -> OwnedCommands,
) -> Rig {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let base = base(&sim, &clock);
    let log = MemoryAuditLog::new();
    let owners = OwnerDirectory::new();
    owners.set(alex_access(helpdesk(), &log));
    let owned = make(&base, owners.clone());
    let engine = Engine::new(
        store,
        owned.registry(),
        Arc::new(tenants()),
        Arc::new(clock.clone()),
    );
    Rig {
        sim,
        clock,
        base,
        owners,
        log,
        owned,
        engine,
    }
}

fn rig() -> Rig {
    rig_with(Arc::new(MemoryStore::new()), |c, o| {
        OwnedCommands::builtin(c, Arc::new(o))
    })
}

fn alex_access(role: Role, log: &MemoryAuditLog) -> AccessControl {
    AccessControl::new(Principal::technician(ALEX).with_role(role)).audit(Arc::new(log.clone()))
}

impl Rig {
    /// The client Alex works with.
    fn alex(&self) -> Cipp {
        self.base
            .with_access_control(alex_access(helpdesk(), &self.log))
    }

    /// A task running `command` with `parameters` for `target`, due now.
    fn spec(&self, command: &str, parameters: Value, target: Target) -> NewTask {
        let once = Schedule::new(self.clock.now(), Recurrence::Once);
        NewTask {
            target,
            ..NewTask::builder(format!("{command} task"), command, once)
                .parameters(parameters)
                .build()
        }
    }

    async fn stored(&self) -> usize {
        self.engine.store().list(true).await.unwrap().len()
    }

    fn events(&self, operation: &str) -> Vec<AuditEvent> {
        self.log
            .events()
            .into_iter()
            .filter(|e| e.operation == operation)
            .collect()
    }
}

fn tenant(id: &str) -> Target {
    Target::Tenant { id: id.into() }
}

fn group(name: &str) -> Target {
    Target::Group { name: name.into() }
}

fn revoke(user: &str) -> Value {
    json!({"user": user})
}

#[tokio::test]
async fn adding_checks_the_owner_permission_in_every_targeted_tenant() {
    let r = rig();
    let alex = r.alex();

    // Allowed: users in Contoso. The owner is the client's principal, stored with the task.
    let task = r
        .owned
        .add_task(
            &r.engine,
            &alex,
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap();
    assert_eq!(task.owner.as_deref(), Some(ALEX));
    let stored = r.engine.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.owner.as_deref(), Some(ALEX));

    // Refused, nothing stored, nothing sent: a permission Alex lacks, a tenant outside the
    // scope (by a group naming it, and by every tenant).
    r.sim.clear_log();
    let refusals = [
        (
            r.spec(
                "user.hide_from_address_lists",
                json!({"user": "adelev@contoso.com", "value": true}),
                tenant(CONTOSO),
            ),
            "Exchange.Mailbox.ReadWrite",
        ),
        (
            r.spec("tenant.mfa_registration", json!({}), group("eu")),
            NORTHWIND,
        ),
        (
            r.spec(
                "tenant.mfa_registration",
                json!({}),
                Target::AllTenants {
                    exclude_tenants: vec![],
                    exclude_groups: vec![],
                },
            ),
            NORTHWIND,
        ),
        (
            r.spec(
                "templates.deploy",
                json!({"templates": ["t"], "store": "/nowhere"}),
                tenant(CONTOSO),
            ),
            "Tenant.Standards.ReadWrite",
        ),
    ];
    for (spec, named) in refusals {
        let err = r.owned.add_task(&r.engine, &alex, spec).await.unwrap_err();
        assert!(err.is_forbidden(), "{err}");
        assert!(err.to_string().contains(named), "{named}: {err}");
    }
    assert_eq!(r.stored().await, 1, "refused tasks are not stored");
    assert!(r.sim.request_log().is_empty(), "{:?}", r.sim.request_log());

    // The same group without Northwind is allowed.
    r.owned
        .add_task(
            &r.engine,
            &alex,
            r.spec("tenant.mfa_registration", json!({}), group("mine")),
        )
        .await
        .unwrap();

    // Without CIPP.Scheduler.ReadWrite, nothing can be added, whatever the command.
    let no_scheduler = r.base.with_access_control(alex_access(
        Role::custom("users").allow("Identity.User.*"),
        &r.log,
    ));
    let err = r
        .owned
        .add_task(
            &r.engine,
            &no_scheduler,
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("CIPP.Scheduler.ReadWrite"),
        "{err}"
    );

    // A client without access control has no owner to give the task.
    let err = r
        .owned
        .add_task(
            &r.engine,
            &r.base,
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("with_access_control"), "{err}");

    // An owner the runners do not know could never run the task.
    let stranger = r.base.with_access_control(
        AccessControl::new(Principal::technician("kim@msp.example").with_role(helpdesk()))
            .audit(Arc::new(r.log.clone())),
    );
    let err = r
        .owned
        .add_task(
            &r.engine,
            &stranger,
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("kim@msp.example"), "{err}");
    assert_eq!(r.stored().await, 2);

    // The trail: two adds, by Alex, on their task ids; every refusal with its permission.
    let adds = r.events("scheduler.add_task");
    let ok: Vec<&AuditEvent> = adds
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Succeeded)
        .collect();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].principal, ALEX);
    assert_eq!(ok[0].permission, "CIPP.Scheduler.ReadWrite");
    assert_eq!(ok[0].target.as_deref(), Some(task.id.as_str()));
    assert_eq!(ok[0].tenant.as_deref(), Some(CONTOSO));
    assert_eq!(ok[0].parameters["command"], "user.revoke_sessions");
    assert_eq!(ok[0].parameters["owner"], ALEX);
    let refused: Vec<(&str, Option<&str>)> = adds
        .iter()
        .filter(|e| matches!(e.outcome, AuditOutcome::Refused { .. }))
        .map(|e| (e.permission.as_str(), e.tenant.as_deref()))
        .collect();
    assert_eq!(
        refused,
        [
            ("Exchange.Mailbox.ReadWrite", Some(CONTOSO)),
            ("CIPP.Scheduler.ReadWrite", Some(NORTHWIND)),
            ("CIPP.Scheduler.ReadWrite", Some(NORTHWIND)),
            ("Tenant.Standards.ReadWrite", Some(CONTOSO)),
            // Refused before any tenant: recorded on the task's tenant.
            ("CIPP.Scheduler.ReadWrite", Some(CONTOSO)),
        ]
    );
    let failed = adds
        .iter()
        .filter(|e| matches!(e.outcome, AuditOutcome::Failed { .. }))
        .count();
    assert_eq!(failed, 1, "the unknown owner's add is recorded as failed");
}

#[tokio::test]
async fn a_task_runs_as_its_owner_and_a_role_changed_in_between_refuses_it() {
    let r = rig();
    let alex = r.alex();
    r.owned
        .add_task(
            &r.engine,
            &alex,
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap();
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.state, TaskState::Completed, "{:?}", run.results);
    // The command ran on Alex's client: the write is audited as Alex.
    let revoked = r.events("user.revoke_sessions");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].principal, ALEX);
    assert_eq!(revoked[0].outcome, AuditOutcome::Succeeded);

    // Added while Alex may reset passwords, run after Alex became read-only.
    let later = Schedule::new(r.clock.now() + chrono::Duration::hours(1), Recurrence::Once);
    let spec = NewTask {
        target: tenant(CONTOSO),
        ..NewTask::builder("reset", "user.reset_password", later)
            .parameters(json!({"user": "adelev@contoso.com"}))
            .build()
    };
    let task = r.owned.add_task(&r.engine, &alex, spec).await.unwrap();
    r.owners.set(alex_access(
        Role::readonly().tenants(TenantScope::only([CONTOSO])),
        &r.log,
    ));
    r.clock.advance(Duration::from_secs(3600));
    r.sim.clear_log();
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.task_id, task.id);
    assert_eq!(run.state, TaskState::Failed);
    let TenantOutcome::Failed { error } = &run.results[0].outcome else {
        panic!("{:?}", run.results)
    };
    assert!(
        error.message.contains("Identity.User.ReadWrite"),
        "{}",
        error.message
    );
    assert!(
        r.sim.request_log().is_empty(),
        "refused before anything was sent"
    );
    let refused = r.events("user.reset_password");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].principal, ALEX);
    assert_eq!(refused[0].target.as_deref(), Some(task.id.as_str()));
    assert!(matches!(refused[0].outcome, AuditOutcome::Refused { .. }));

    // An owner removed from the directory: refused too.
    let again = Schedule::new(r.clock.now(), Recurrence::Once);
    let spec = NewTask {
        target: tenant(CONTOSO),
        ..NewTask::builder("mfa", "tenant.mfa_registration", again).build()
    };
    r.owners.set(alex_access(helpdesk(), &r.log));
    r.owned.add_task(&r.engine, &alex, spec).await.unwrap();
    r.owners.remove(ALEX);
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    let TenantOutcome::Failed { error } = &run.results[0].outcome else {
        panic!("{:?}", run.results)
    };
    assert!(
        error.message.contains("not among the task owners"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_scope_narrowed_in_between_refuses_the_tenant_it_left() {
    let r = rig();
    let alex = r.alex();
    let spec = r.spec("tenant.mfa_registration", json!({}), group("mine"));
    r.owned.add_task(&r.engine, &alex, spec).await.unwrap();
    r.owners.set(alex_access(
        helpdesk().tenants(TenantScope::only([CONTOSO])),
        &r.log,
    ));
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    let by_tenant: BTreeMap<&str, &TenantOutcome> = run
        .results
        .iter()
        .map(|t| (t.tenant.as_str(), &t.outcome))
        .collect();
    assert!(by_tenant[CONTOSO].is_ok(), "{:?}", by_tenant[CONTOSO]);
    let TenantOutcome::Failed { error } = by_tenant[FABRIKAM] else {
        panic!("{:?}", by_tenant[FABRIKAM])
    };
    assert!(
        error.message.contains("not among the allowed tenants"),
        "{}",
        error.message
    );
    assert_eq!(run.state, TaskState::CompletedWithErrors);
}

/// Answers with the owner it runs as (what `current_task_owner` and the client say).
struct WhoAmI {
    cipp: Cipp,
}

#[async_trait]
impl Command for WhoAmI {
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
    async fn run(&self, _: RunContext) -> Result<CommandOutput, CommandError> {
        let client = self.cipp.access_control().map(|a| a.principal.name.clone());
        Ok(CommandOutput::Done(
            json!({"owner": current_task_owner(), "client": client}),
        ))
    }
}

fn who_am_i(registry: &mut Registry, cipp: &Cipp) {
    registry.register("custom.whoami", Arc::new(WhoAmI { cipp: cipp.clone() }));
}

#[tokio::test]
async fn custom_commands_declare_their_permissions_and_ownerless_tasks_are_refused() {
    let r = rig_with(Arc::new(MemoryStore::new()), |c, o| {
        OwnedCommands::new(c, Arc::new(o), who_am_i)
    });
    let alex = r.alex();
    let spec = || r.spec("custom.whoami", json!({}), tenant(CONTOSO));
    // Undeclared: refused when added.
    let err = r
        .owned
        .add_task(&r.engine, &alex, spec())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("OwnedCommands::declare"), "{err}");

    // Declared: runs on the owner's client.
    let owned = r
        .owned
        .clone()
        .declare("custom.whoami", &[Permission::TENANT_ALERT_READ]);
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        owned.registry(),
        Arc::new(tenants()),
        Arc::new(r.clock.clone()),
    );
    owned.add_task(&engine, &alex, spec()).await.unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    let TenantOutcome::Succeeded { output, .. } = &run.results[0].outcome else {
        panic!("{:?}", run.results)
    };
    assert_eq!(output, &json!({"owner": ALEX, "client": ALEX}));

    // A task without an owner (Engine::add) is refused when it runs…
    engine.add(spec()).await.unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    let TenantOutcome::Failed { error } = &run.results[0].outcome else {
        panic!("{:?}", run.results)
    };
    assert!(error.message.contains("no owner"), "{}", error.message);

    // …unless ownerless tasks are allowed: then it runs as the base client.
    let lenient = owned.clone().run_ownerless_tasks();
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        lenient.registry(),
        Arc::new(tenants()),
        Arc::new(r.clock.clone()),
    );
    engine.add(spec()).await.unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    let TenantOutcome::Succeeded { output, .. } = &run.results[0].outcome else {
        panic!("{:?}", run.results)
    };
    assert_eq!(output, &json!({"owner": null, "client": null}));
}

#[tokio::test]
async fn removing_a_task_is_checked_and_audited() {
    let r = rig();
    let alex = r.alex();
    let fabrikam_task = r
        .owned
        .add_task(
            &r.engine,
            &alex,
            r.spec("tenant.mfa_registration", json!({}), tenant(FABRIKAM)),
        )
        .await
        .unwrap();
    // Someone whose scheduler permission covers Contoso only cannot remove it.
    let contoso_only = r.base.with_access_control(alex_access(
        helpdesk().tenants(TenantScope::only([CONTOSO])),
        &r.log,
    ));
    let err = r
        .owned
        .remove_task(&r.engine, &contoso_only, &fabrikam_task.id)
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert_eq!(r.stored().await, 1);

    r.owned
        .remove_task(&r.engine, &alex, &fabrikam_task.id)
        .await
        .unwrap();
    assert_eq!(r.stored().await, 0);
    let err = r
        .owned
        .remove_task(&r.engine, &alex, &fabrikam_task.id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no task"), "{err}");

    let removes = r.events("scheduler.remove_task");
    assert_eq!(removes.len(), 2, "{removes:?}");
    assert!(matches!(removes[0].outcome, AuditOutcome::Refused { .. }));
    assert_eq!(removes[1].outcome, AuditOutcome::Succeeded);
    assert_eq!(removes[1].permission, "CIPP.Scheduler.ReadWrite");
    assert_eq!(
        removes[1].target.as_deref(),
        Some(fabrikam_task.id.as_str())
    );
    assert_eq!(removes[1].tenant.as_deref(), Some(FABRIKAM));
    assert_eq!(removes[1].parameters["command"], "tenant.mfa_registration");
}

#[tokio::test]
async fn scheduler_events_hold_no_secret_parameters() {
    let r = rig_with(Arc::new(MemoryStore::new()), |c, o| {
        OwnedCommands::new(c, Arc::new(o), who_am_i)
            .declare("custom.whoami", &[Permission::TENANT_ALERT_READ])
    });
    let spec = r.spec(
        "custom.whoami",
        json!({"apiToken": "tok-123-secret", "password": "Hunter2!", "x": 1}),
        tenant(CONTOSO),
    );
    let task = r.owned.add_task(&r.engine, &r.alex(), spec).await.unwrap();
    r.owned
        .remove_task(&r.engine, &r.alex(), &task.id)
        .await
        .unwrap();
    let text = serde_json::to_string(&r.log.events()).unwrap();
    assert!(text.contains("scheduler.add_task") && text.contains("scheduler.remove_task"));
    assert!(
        !text.contains("tok-123") && !text.contains("Hunter2"),
        "{text}"
    );
    assert_eq!(
        r.events("scheduler.add_task")[0].parameters["parameters"]["x"],
        1
    );
}

#[test]
fn every_builtin_command_declares_its_permissions() {
    let sim = Simulator::demo();
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let mut registry = Registry::new();
    register_builtin(&mut registry, &base(&sim, &clock));
    let names = registry.names();
    assert!(names.len() > 40, "{names:?}");
    for name in &names {
        assert!(
            command_permissions(name).is_some(),
            "{name} declares nothing"
        );
    }

    // Each user action's command needs the permission the action declares (read from the
    // `self.act("user.x", &Permission::Y, …)` calls in src/users/).
    let mut checked = 0;
    for file in std::fs::read_dir("src/users").unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let flat: String = text.split_whitespace().collect();
        for (i, _) in flat.match_indices("self.act(\"user.") {
            let rest = &flat[i + "self.act(\"".len()..];
            let Some(end) = rest.find('"') else { continue };
            let op = &rest[..end];
            let Some(p) = rest.find("Permission::") else {
                continue;
            };
            let konst: String = rest[p + "Permission::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if !names.contains(&op) {
                continue;
            }
            let wanted = Permission::ALL
                .iter()
                .find(|perm| perm.to_string().replace('.', "_").to_ascii_uppercase() == konst)
                .unwrap_or_else(|| panic!("{konst}"));
            assert!(
                command_permissions(op).unwrap().contains(wanted),
                "{op} needs {wanted}"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} user actions checked");

    let p = |c: &str| command_permissions(c).unwrap();
    assert_eq!(
        p("templates.deploy"),
        [Permission::TENANT_STANDARDS_READWRITE]
    );
    assert_eq!(p("standards.run"), [Permission::TENANT_STANDARDS_READWRITE]);
    assert_eq!(p("alert.MFAAdmins"), [Permission::TENANT_ALERT_READ]);
    assert_eq!(p("auditlog.process"), [Permission::TENANT_ALERT_READWRITE]);
    assert_eq!(
        p("tenant.mfa_registration"),
        [Permission::IDENTITY_USER_READ]
    );
    assert_eq!(
        p("USER.RESET_PASSWORD"),
        [Permission::IDENTITY_USER_READWRITE]
    );
    assert!(command_permissions("custom.anything").is_none());
    assert!(command_permissions("user.not_an_action").is_none());
}

#[tokio::test]
async fn the_owner_survives_in_the_sqlite_store() {
    let dir = std::env::temp_dir().join(format!("cipp-owners-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let store = cipp::scheduler::sqlite::SqliteStore::open(&path).unwrap();
    let r = rig_with(Arc::new(store), |c, o| {
        OwnedCommands::builtin(c, Arc::new(o))
    });
    let task = r
        .owned
        .add_task(
            &r.engine,
            &r.alex(),
            r.spec(
                "user.revoke_sessions",
                revoke("adelev@contoso.com"),
                tenant(CONTOSO),
            ),
        )
        .await
        .unwrap();
    drop(r);
    let reopened = cipp::scheduler::sqlite::SqliteStore::open(&path).unwrap();
    let stored = reopened.get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.owner.as_deref(), Some(ALEX));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: a task over two tenants is split into work items (the shared fan-out path)

fn pg_config() -> String {
    std::env::var("CIPP_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

async fn pg_schema() -> Option<String> {
    let name = format!("cipp_owners_{}", uuid::Uuid::new_v4().simple());
    match tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls).await {
        Ok(_) => Some(name),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but PostgreSQL is unreachable at `{}`: {e}",
                    pg_config()
                );
            }
            eprintln!(
                "SKIPPED: no PostgreSQL at `{}` ({e}); set CI=true to make this a failure",
                pg_config()
            );
            None
        }
    }
}

#[tokio::test]
async fn shared_work_items_run_as_the_owner_on_postgres() {
    let Some(schema) = pg_schema().await else {
        return;
    };
    let store = cipp::scheduler::postgres::PgStore::connect(&pg_config(), &schema)
        .await
        .unwrap();
    let r = rig_with(Arc::new(store), |c, o| {
        OwnedCommands::new(c, Arc::new(o), who_am_i)
            .declare("custom.whoami", &[Permission::IDENTITY_USER_READ])
    });
    let alex = r.alex();
    let first = r
        .owned
        .add_task(
            &r.engine,
            &alex,
            r.spec("custom.whoami", json!({}), group("mine")),
        )
        .await
        .unwrap();
    r.engine.tick().await.unwrap();
    let results = r.engine.store().results(&first.id).await.unwrap();
    assert_eq!(results.len(), 2, "{results:?}");
    for res in &results {
        let TenantOutcome::Succeeded { output, .. } = &res.outcome else {
            panic!("{results:?}")
        };
        assert_eq!(output["owner"], ALEX);
    }

    // Alex loses every read: the next task's work items are refused as Alex.
    let second = r
        .owned
        .add_task(
            &r.engine,
            &alex,
            r.spec("custom.whoami", json!({}), group("mine")),
        )
        .await
        .unwrap();
    r.owners.set(alex_access(Role::custom("nothing"), &r.log));
    r.engine.tick().await.unwrap();
    let results = r.engine.store().results(&second.id).await.unwrap();
    assert_eq!(results.len(), 2, "{results:?}");
    for res in &results {
        let TenantOutcome::Failed { error } = &res.outcome else {
            panic!("{results:?}")
        };
        assert!(
            error.message.contains("Identity.User.Read"),
            "{}",
            error.message
        );
    }

    let (client, connection) = tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// A trigger needs its own reads plus what the command it runs needs, so a trigger cannot
/// run what its owner may not; a trigger running a trigger, or an undeclared command, is
/// refused.
#[tokio::test]
async fn a_trigger_needs_the_permissions_of_the_command_it_runs() {
    let r = rig();
    let owned = &r.owned;
    let offboard = owned
        .permissions_with("trigger.evaluate", &json!({"command": "user.offboard"}))
        .unwrap();
    for p in [
        Permission::IDENTITY_USER_READ,
        Permission::IDENTITY_GROUP_READ,
        Permission::IDENTITY_USER_READWRITE,
        Permission::EXCHANGE_MAILBOX_READWRITE,
    ] {
        assert!(offboard.contains(&p), "{p} in {offboard:?}");
    }
    assert_eq!(
        owned.permissions_with("user.revoke_sessions", &json!({"command": "user.offboard"})),
        command_permissions("user.revoke_sessions"),
        "only triggers add their target's"
    );
    for refused in [
        json!({"command": "trigger.evaluate"}),
        json!({"command": "custom.unknown"}),
        json!({}),
    ] {
        assert_eq!(
            owned.permissions_with("trigger.evaluate", &refused),
            None,
            "{refused}"
        );
    }
}
