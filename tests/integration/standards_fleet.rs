//! Standards over the fleet on the simulator: template precedence (all tenants < group <
//! tenant) and exclusions, access control before anything is sent, remediations in the
//! audit trail, drift alerts once per drift, and the `standards.run` scheduler command.

use crate::common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cipp::authz::{AccessControl, AuditOutcome, MemoryAuditLog, Principal, Role, TenantGroups};
use cipp::core::Clock;
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::notify::{Channel, Event, Notifier};
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, Target, TaskState, TenantOutcome};
use cipp::scheduler::SchedulerError;
use cipp::standards::{
    run, MemoryResultStore, Mode, RunOptions, StandardsService, StandardsTemplate, Status,
    TemplateTarget, Transition,
};
use cipp::Cipp;
use serde_json::json;

const CONTOSO: &str = "contoso.onmicrosoft.com";
const FABRIKAM: &str = "fabrikam.onmicrosoft.com";
const NORTHWIND: &str = "northwind.onmicrosoft.com";

/// Events a test notifier took.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Event>>>);

#[async_trait]
impl Notifier for Inbox {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
    fn channel(&self) -> Channel {
        Channel::Webhook
    }
}

fn baseline() -> StandardsTemplate {
    StandardsTemplate::new("baseline", "Baseline")
        .target(TemplateTarget::AllTenants)
        .exclude("northwindtraders.com")
        .standard("DisableTenantCreation", Mode::ALERT, json!({}))
        .standard("DisableAppCreation", Mode::REPORT, json!({}))
}

fn contoso_strict() -> StandardsTemplate {
    StandardsTemplate::new("contoso-strict", "Contoso strict")
        .target(TemplateTarget::Tenant {
            id: "contoso.com".into(),
        })
        .standard("DisableTenantCreation", Mode::REMEDIATE, json!({}))
}

fn allowed_to_create_tenants(sim: &cipp::sim::Simulator, domain: &str) -> serde_json::Value {
    let st = sim.lock_state();
    let t = st.tenant(domain).unwrap();
    t.policies.authorization["defaultUserRolePermissions"]["allowedToCreateTenants"].clone()
}

#[tokio::test]
async fn precedence_exclusions_remediation_and_alerts_once() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let tenants = cipp.tenants().await.unwrap();
    let inbox = Inbox::default();
    let options = RunOptions::new().notifier(Arc::new(inbox.clone()));
    let templates = [baseline(), contoso_strict()];

    let report = run(&cipp, &templates, tenants.clone(), &options, cipp.fleet()).await;
    // Northwind is excluded by domain: not run at all.
    let ran: Vec<&str> = report.tenants.iter().map(|t| t.tenant.label()).collect();
    assert_eq!(report.tenants.len(), 2, "{ran:?}");
    assert!(report.tenant(NORTHWIND).is_none());
    for t in &report.tenants {
        assert!(t.error.is_none(), "{:?}", t.error);
    }
    let by = |tenant: &str, standard: &str| {
        report
            .tenant(tenant)
            .unwrap()
            .results
            .iter()
            .map(|r| &r.record.result)
            .find(|r| r.key.standard == format!("standards.{standard}"))
            .cloned()
            .unwrap_or_else(|| panic!("{tenant} {standard}"))
    };
    // Contoso's own template wins over the baseline: remediated, and from its template.
    let c = by(CONTOSO, "DisableTenantCreation");
    assert_eq!(c.status, Status::Remediated, "{c:?}");
    assert_eq!(c.source.as_deref(), Some("contoso-strict"));
    assert_eq!(allowed_to_create_tenants(&sim, "contoso.com"), json!(false));
    // Fabrikam has the baseline: drifted, alerted, not changed.
    let f = by(FABRIKAM, "DisableTenantCreation");
    assert_eq!(f.status, Status::Drifted);
    assert_eq!(f.source.as_deref(), Some("baseline"));
    assert_ne!(
        allowed_to_create_tenants(&sim, "fabrikam.com"),
        json!(false)
    );
    assert_eq!(by(CONTOSO, "DisableAppCreation").status, Status::Drifted);

    // One alert: Fabrikam's alert-mode drift. Contoso's is remediated, report-only drift
    // does not alert.
    let events = inbox.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.kind, "standard.drift_detected");
    assert_eq!(e.count, 1);
    assert_eq!(
        e.payload["results"][0]["standard"],
        "standards.DisableTenantCreation"
    );
    assert!(e.tenants[0].eq_ignore_ascii_case(report.tenant(FABRIKAM).unwrap().tenant.id.as_str()));
    assert_eq!(report.alerts.len(), 1);

    // The same drift on the next run: no alert, and the matrix shows it.
    clock.advance(std::time::Duration::from_secs(12 * 3600));
    let again = run(&cipp, &templates, tenants.clone(), &options, cipp.fleet()).await;
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert_eq!(inbox.0.lock().unwrap().len(), 1);
    let fab = again.tenant(FABRIKAM).unwrap();
    let rec = fab
        .results
        .iter()
        .find(|r| r.record.result.key.standard == "standards.DisableTenantCreation")
        .unwrap();
    assert_eq!(rec.transition, Transition::Unchanged);
    assert_eq!(rec.record.drift_since, Some(common::demo_clock().now()));
    let matrix = again.matrix();
    assert!(matrix.to_csv().contains("Drifted"));
    // Contoso stays compliant; a report-only run changes nothing anywhere.
    let writes = sim.log().writes().len();
    let ro = run(
        &cipp,
        &templates,
        tenants,
        &options.clone().report_only(true),
        cipp.fleet(),
    )
    .await;
    assert_eq!(sim.log().writes().len(), writes);
    assert_eq!(
        ro.tenant(CONTOSO)
            .unwrap()
            .results
            .iter()
            .find(|r| r.record.result.key.standard == "standards.DisableTenantCreation")
            .unwrap()
            .record
            .result
            .status,
        Status::Compliant
    );
}

#[tokio::test]
async fn groups_beat_all_tenants_and_multiple_standards_keep_each_instance() {
    let (_sim, cipp) = common::demo(None, common::Fleet::Partner);
    let tenants = cipp.tenants().await.unwrap();
    let groups = TenantGroups::default().with("EU", ["fabrikam.com"]);
    let eu = StandardsTemplate::new("eu", "EU")
        .target(TemplateTarget::Group { name: "EU".into() })
        .standard("DisableAppCreation", Mode::ALERT, json!({}));
    let all = StandardsTemplate::new("all", "All")
        .target(TemplateTarget::AllTenants)
        .standard("DisableAppCreation", Mode::REPORT, json!({}));
    // Listed all-tenants last: precedence does not depend on the order given.
    let options = RunOptions::new().groups(groups);
    let report = run(&cipp, &[eu, all], tenants, &options, cipp.fleet()).await;
    assert_eq!(report.tenants.len(), 3);
    for t in &report.tenants {
        let r = &t.results[0].record.result;
        let in_eu = t.tenant.default_domain.as_deref() == Some("fabrikam.com");
        assert_eq!(r.source.as_deref(), Some(if in_eu { "eu" } else { "all" }));
        assert_eq!(r.mode, if in_eu { Mode::ALERT } else { Mode::REPORT });
    }
}

#[tokio::test]
async fn access_is_checked_before_anything_is_sent_and_remediations_are_audited() {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    let tenants = cipp.tenants().await.unwrap();
    let log = MemoryAuditLog::new();
    // A read-only technician: report runs, remediation is refused before any request.
    let readonly = cipp.with_access_control(
        AccessControl::new(Principal::technician("rita").with_role(Role::readonly()))
            .audit(Arc::new(log.clone())),
    );
    let requests = sim.log().entries().len();
    let refused = run(
        &readonly,
        &[contoso_strict()],
        tenants.clone(),
        &RunOptions::new(),
        readonly.fleet(),
    )
    .await;
    let contoso = refused.tenant(CONTOSO).unwrap();
    assert!(contoso.results.is_empty());
    let err = contoso.error.as_ref().unwrap().to_string();
    assert!(err.contains("Tenant.Standards.ReadWrite"), "{err}");
    // The template names Contoso by domain, so each tenant's organization was read (read
    // access is granted); nothing else was sent.
    let log_now = sim.log();
    let sent: Vec<String> = log_now.entries()[requests..]
        .iter()
        .filter(|e| !e.path.contains("oauth2"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(
        sent.iter()
            .all(|s| s.starts_with("GET") && s.ends_with("/organization")),
        "{sent:?}"
    );
    drop(log_now);
    assert!(matches!(
        log.events()[0].outcome,
        AuditOutcome::Refused { .. }
    ));
    let report_only = run(
        &readonly,
        &[baseline()],
        tenants.clone(),
        &RunOptions::new(),
        readonly.fleet(),
    )
    .await;
    assert!(report_only.tenants.iter().all(|t| t.error.is_none()));

    // An editor remediates; each remediation is one audit event.
    let log = MemoryAuditLog::new();
    let editor = cipp.with_access_control(
        AccessControl::new(Principal::technician("eddie").with_role(Role::editor()))
            .audit(Arc::new(log.clone())),
    );
    let done = run(
        &editor,
        &[contoso_strict()],
        tenants,
        &RunOptions::new().store(Arc::new(MemoryResultStore::new())),
        editor.fleet(),
    )
    .await;
    assert!(done.is_aligned(), "{done:?}");
    let events = log.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].operation, "standards.remediate");
    assert_eq!(events[0].principal, "eddie");
    assert!(events[0]
        .target
        .as_deref()
        .unwrap()
        .contains("standards.DisableTenantCreation"));
    assert_eq!(events[0].outcome, AuditOutcome::Succeeded);
}

#[test]
fn cipp_templates_import_with_modes_targets_and_exclusions() {
    let cipp_json = json!({
        "GUID": "4f1c",
        "templateName": "MSP baseline",
        "tenantFilter": [{"label": "All", "value": "AllTenants"},
                         {"label": "EU", "value": "EU", "type": "Group"}],
        "excludedTenants": [{"label": "Northwind", "value": "northwindtraders.com"}],
        "standards": {
            "DisableTenantCreation": {"action": [{"label": "Remediate", "value": "Remediate"}]},
            "AuditLog": {"action": [{"value": "warn"}]},
        },
        "runManually": true
    });
    let t = StandardsTemplate::from_cipp(&cipp_json).unwrap();
    assert_eq!(t.id, "4f1c");
    assert!(t.run_manually);
    assert_eq!(t.targets.len(), 2);
    assert_eq!(
        t.standards["DisableTenantCreation"][0].mode,
        Mode::REMEDIATE
    );
    assert_eq!(
        t.standards["AuditLog"][0].mode,
        Mode {
            report: false,
            alert: true,
            remediate: false
        }
    );
    assert_eq!(t.applies_to(&["northwindtraders.com"], &[]), None);
    assert_eq!(t.applies_to(&["x"], &["EU"]), Some(1));
    assert!(t
        .validate(&cipp::standards::Catalogue::builtin())
        .is_empty());
    // An unknown action and a missing id are refused, named.
    let bad = json!({"GUID": "x", "standards": {"AuditLog": {"action": ["Fix"]}}});
    let e = StandardsTemplate::from_cipp(&bad).unwrap_err().to_string();
    assert!(e.contains("Fix"), "{e}");
    assert!(StandardsTemplate::from_cipp(&json!({"templateName": "no id"})).is_err());
    // Unknown standards and a repeated single standard are reported by validate.
    let t = StandardsTemplate::new("t", "t")
        .standard("NoSuchStandard", Mode::REPORT, json!({}))
        .standard("AuditLog", Mode::REPORT, json!({}))
        .standard("AuditLog", Mode::ALERT, json!({}));
    let errors = t.validate(&cipp::standards::Catalogue::builtin());
    assert_eq!(errors.len(), 2, "{errors:?}");
}

fn engine(cipp: &Cipp, clock: &cipp::core::ManualClock, options: RunOptions) -> Engine {
    let mut reg = Registry::new();
    cipp::standards::register_standards(&mut reg, cipp, StandardsService { options });
    Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(cipp::commands::FleetResolver::new(
            cipp.clone(),
            Default::default(),
        )),
        Arc::new(clock.clone()),
    )
}

#[tokio::test]
async fn the_scheduler_runs_standards_per_tenant_and_reports_new_drift_once() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let options = RunOptions::new();
    let engine = engine(&cipp, &clock, options);
    let template = serde_json::to_value(baseline()).unwrap();
    let add = |parameters: serde_json::Value| {
        let once = Schedule::new(clock.now(), Recurrence::Once);
        let spec = NewTask::builder("Standards", "standards.run", once)
            .parameters(parameters)
            .build();
        NewTask {
            target: Target::AllTenants {
                exclude_tenants: vec![],
                exclude_groups: vec![],
            },
            ..spec
        }
    };
    // Bad parameters are refused when the task is added.
    let bad = engine
        .add(add(
            json!({"template": {"id": "x", "name": "x", "targets": [],
                                     "standards": {"NoSuch": [{"mode": {"report": true}}]}}}),
        ))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("NoSuch"), "{bad}");
    assert!(engine.add(add(json!({}))).await.is_err());

    engine
        .add(add(json!({"template": template.clone()})))
        .await
        .unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.state, TaskState::Completed, "{run:?}");
    // Three tenants ran; Northwind is excluded by the template.
    assert_eq!(run.results.len(), 3);
    let northwind = sim
        .lock_state()
        .tenant("northwindtraders.com")
        .unwrap()
        .id
        .clone();
    for r in &run.results {
        let findings = r.outcome.findings();
        if r.tenant == northwind {
            assert!(matches!(r.outcome, TenantOutcome::NoChange { .. }), "{r:?}");
        } else {
            // DisableTenantCreation (alert) is new drift: one finding.
            assert_eq!(findings, 1, "{r:?}");
        }
    }
    // The same drift next time: no findings.
    engine
        .add(add(json!({"template": template})))
        .await
        .unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    assert!(
        run.results.iter().all(|r| r.outcome.findings() == 0),
        "{run:?}"
    );
}
