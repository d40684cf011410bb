//! Template standards on the simulator: the current stored template is planned against the
//! tenant (variables resolved, matched by name), a missing object is drift, remediation
//! creates it and the re-check proves it, a second run sends nothing, an edited template
//! is drift again, `overwrite: false` leaves an existing object alone, and a wrong or
//! missing template fails that standard only.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cipp_core::{ManualClock, TenantId};
use cipp_exchange::ExoClient;
use cipp_graph::GraphClient;
use cipp_sim::kit::{Licence, TenantSeed};
use cipp_sim::Simulator;
use cipp_templates::standards::catalogue::templates;
use cipp_templates::standards::{
    resolve, run_tenant, Assignment, Catalogue, Mode, StandardsTemplate, Status, TemplateTarget,
    TenantTarget,
};
use cipp_templates::store::{MemoryTemplateStore, TemplateStore};
use cipp_templates::template::{Template, TemplateKind};
use cipp_templates::variables::Variables;
use serde_json::{json, Value};

mod wire;
use wire::sim_pipeline;

const TENANT: &str = "contoso.onmicrosoft.com";

fn sim() -> Simulator {
    sim_on(&ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap()))
}

fn sim_on(clock: &ManualClock) -> Simulator {
    Simulator::builder()
        .clock(Arc::new(clock.clone()))
        .tenant(
            TenantSeed::new(TENANT, "Contoso").licence(
                Licence::new("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", 25)
                    .plan(
                        "efb87545-963c-4e0d-99df-69c6916d9eb0",
                        "EXCHANGE_S_ENTERPRISE",
                    )
                    .plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A"),
            ),
        )
        .build()
}

fn target(sim: &Simulator) -> TenantTarget {
    let p = sim_pipeline(sim);
    let t = TenantId::parse(TENANT).unwrap();
    TenantTarget {
        graph: GraphClient::new(p.clone()).tenant(&t),
        exchange: ExoClient::new(p).tenant(&t),
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

fn group_template(description: &str) -> Template {
    Template::new(
        TemplateKind::Group,
        "Helpdesk",
        json!({"displayName": "Helpdesk %tenantname%", "description": description,
               "groupType": "generic", "username": "helpdesk"}),
    )
    .with_id("group-helpdesk")
}

fn rule_template() -> Template {
    Template::new(
        TemplateKind::TransportRule,
        "External banner",
        json!({"Name": "External banner", "FromScope": "NotInOrganization",
               "PrependSubject": "[EXTERNAL] ", "Enabled": true}),
    )
    .with_id("rule-banner")
}

async fn catalogue(store: &Arc<MemoryTemplateStore>) -> Catalogue {
    let mut c = Catalogue::builtin();
    templates::register(&mut c, store.clone(), Variables::new());
    c
}

fn assign(c: &Catalogue, name: &str, template: &str, mode: Mode, extra: Value) -> Assignment {
    let mut settings = json!({"TemplateList": {"label": template, "value": template}});
    if let (Value::Object(s), Value::Object(e)) = (&mut settings, extra) {
        s.extend(e);
    }
    let mut a = Assignment::new(c.require(name).unwrap().clone(), settings, mode);
    a.template = Some(template.to_owned());
    a
}

fn helpdesk_groups(sim: &Simulator) -> Vec<Value> {
    let st = sim.lock_state();
    st.tenant("contoso.onmicrosoft.com")
        .unwrap()
        .groups()
        .iter()
        .filter(|g| {
            g["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with("Helpdesk"))
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_group_template_is_drift_until_remediated_then_compliant_without_writes() {
    let sim = sim();
    let store = Arc::new(MemoryTemplateStore::new());
    store.put(group_template("Service desk")).await.unwrap();
    let c = catalogue(&store).await;
    let t = target(&sim);

    let report = [assign(
        &c,
        "GroupTemplate",
        "group-helpdesk",
        Mode::REPORT,
        json!({}),
    )];
    let r = run_tenant(&t, &report, now()).await;
    assert_eq!(r[0].status, Status::Drifted, "{r:?}");
    // The variable is resolved for the tenant: the drift names the tenant's group.
    assert_eq!(r[0].current, Some(json!({"Helpdesk Contoso": "missing"})));
    assert_eq!(r[0].key.template.as_deref(), Some("group-helpdesk"));
    assert!(sim.log().writes().is_empty(), "report mode wrote");

    let fix = [assign(
        &c,
        "GroupTemplate",
        "group-helpdesk",
        Mode::REMEDIATE,
        json!({}),
    )];
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
    assert_eq!(helpdesk_groups(&sim).len(), 1);
    assert_eq!(helpdesk_groups(&sim)[0]["displayName"], "Helpdesk Contoso");

    let writes = sim.log().writes().len();
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Compliant, "{r:?}");
    assert_eq!(sim.log().writes().len(), writes, "a compliant run wrote");

    // The stored template changes: the next run re-applies the current version.
    store
        .put(group_template("Service desk, tier 1"))
        .await
        .unwrap();
    let r = run_tenant(&t, &report, now()).await;
    assert_eq!(r[0].status, Status::Drifted, "{r:?}");
    assert_eq!(
        r[0].expected,
        Some(json!({"Helpdesk Contoso": {"/description": "Service desk, tier 1"}}))
    );
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
    assert_eq!(
        helpdesk_groups(&sim).len(),
        1,
        "updated in place, not duplicated"
    );
    assert_eq!(
        helpdesk_groups(&sim)[0]["description"],
        "Service desk, tier 1"
    );
}

#[tokio::test]
async fn transport_rules_are_created_and_overwrite_false_leaves_an_edited_rule() {
    let sim = sim();
    let store = Arc::new(MemoryTemplateStore::new());
    store.put(rule_template()).await.unwrap();
    let c = catalogue(&store).await;
    let t = target(&sim);
    let fix = |extra: Value| {
        [assign(
            &c,
            "TransportRuleTemplate",
            "rule-banner",
            Mode::REMEDIATE,
            extra,
        )]
    };
    let r = run_tenant(&t, &fix(json!({})), now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
    let rules = |sim: &Simulator| sim.log().writes().len();
    let after_create = rules(&sim);

    // An administrator edits the rule in the tenant.
    t.exchange
        .invoke(
            &cipp_exchange::cmdlet::Cmdlet::new("Set-TransportRule")
                .param("Identity", "External banner")
                .param("PrependSubject", "[EXT] "),
        )
        .await
        .unwrap();
    // Without overwrite: compliant, left alone.
    let r = run_tenant(&t, &fix(json!({"overwrite": false})), now()).await;
    assert_eq!(r[0].status, Status::Compliant, "{r:?}");
    assert_eq!(rules(&sim), after_create + 1);
    // With overwrite (CIPP's default): drift, overwritten, proved.
    let r = run_tenant(&t, &fix(json!({})), now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
    assert_eq!(
        r[0].differences[0].current,
        json!({"/PrependSubject": "[EXT] "}),
        "{:?}",
        r[0].differences
    );
}

#[tokio::test]
async fn a_missing_or_wrong_template_fails_that_standard_only() {
    let sim = sim();
    let store = Arc::new(MemoryTemplateStore::new());
    store.put(group_template("x")).await.unwrap();
    let c = catalogue(&store).await;
    let t = target(&sim);
    let r = run_tenant(
        &t,
        &[
            assign(
                &c,
                "GroupTemplate",
                "no-such-template",
                Mode::REPORT,
                json!({}),
            ),
            assign(
                &c,
                "TransportRuleTemplate",
                "group-helpdesk",
                Mode::REPORT,
                json!({}),
            ),
            assign(&c, "DisableTenantCreation", "", Mode::REPORT, json!({})),
        ],
        now(),
    )
    .await;
    assert_eq!(r[0].status, Status::Failed);
    let e = &r[0].error.as_ref().unwrap().message;
    assert!(e.contains("no-such-template") && e.contains("store"), "{e}");
    assert_eq!(r[1].status, Status::Failed);
    let e = &r[1].error.as_ref().unwrap().message;
    assert!(e.contains("does not deploy"), "{e}");
    assert_eq!(r[2].status, Status::Drifted, "{r:?}");

    // Settings are checked before anything is sent.
    let s = c.require("ConditionalAccessTemplate").unwrap();
    assert!(s.validate(&json!({})).is_err());
    assert!(s
        .validate(&json!({"templateId": "x", "state": "on"}))
        .unwrap_err()
        .to_string()
        .contains("enabledForReportingButNotEnforced"));
    assert!(s
        .validate(&json!({"templateId": "x", "AssignTo": "x"}))
        .is_err());
    assert!(s
        .validate(&json!({"TemplateList": {"value": "x"}, "state": "disabled", "DisableSD": true}))
        .is_ok());
}

#[tokio::test]
async fn a_standards_template_deploys_several_templates_one_result_each() {
    let sim = sim();
    let store = Arc::new(MemoryTemplateStore::new());
    store.put(group_template("x")).await.unwrap();
    let mut other = group_template("y");
    other.body["displayName"] = json!("Helpdesk admins");
    store.put(other.with_id("group-admins")).await.unwrap();
    let c = catalogue(&store).await;
    let tpl = StandardsTemplate::new("t", "Groups")
        .target(TemplateTarget::AllTenants)
        .standard(
            "GroupTemplate",
            Mode::REMEDIATE,
            json!({"TemplateList": {"value": "group-helpdesk"}}),
        )
        .standard(
            "GroupTemplate",
            Mode::REMEDIATE,
            json!({"TemplateList": {"value": "group-admins"}}),
        );
    assert!(tpl.validate(&c).is_empty());
    let res = resolve(&[tpl], &[TENANT], &[], &c);
    assert_eq!(res.assignments.len(), 2);
    let before = sim.log().entries().len();
    let r = run_tenant(&target(&sim), &res.assignments, now()).await;
    let keys: Vec<_> = r.iter().map(|x| x.key.template.clone().unwrap()).collect();
    assert_eq!(keys, ["group-admins", "group-helpdesk"]);
    assert!(r.iter().all(|x| x.status == Status::Remediated), "{r:?}");
    assert_eq!(helpdesk_groups(&sim).len(), 2);
    // The checks and remediations of both standards share one organization read; each
    // remediated standard's proof re-reads what it reads (one more each). Before the
    // shared read, every check, plan and re-check read it (10 here).
    let org_reads = sim.log().entries()[before..]
        .iter()
        .filter(|e| e.method == "GET" && e.path.ends_with("/organization"))
        .count();
    assert_eq!(
        org_reads, 3,
        "one shared read, and one per remediation's proof"
    );
}

#[tokio::test]
async fn an_unchanged_intune_policy_type_is_not_planned_again_until_something_changes() {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = sim_on(&clock);
    let store = Arc::new(MemoryTemplateStore::new());
    store
        .put(
            Template::new(
                TemplateKind::IntuneDeviceConfiguration,
                "Windows baseline",
                json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                       "displayName": "Windows baseline", "storeBlocked": true,
                       "passwordRequired": true, "passwordMinimumLength": 8}),
            )
            .with_id("intune-baseline"),
        )
        .await
        .unwrap();
    let c = catalogue(&store).await;
    let t = target(&sim);
    let fix = [assign(
        &c,
        "IntuneTemplate",
        "intune-baseline",
        Mode::REMEDIATE,
        json!({}),
    )];
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
    // The re-check planned and found it compliant: remembered. The next run lists the
    // policy type and stops there: no group listing, no assignment reads, no writes.
    let before = sim.log().entries().len();
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Compliant, "{r:?}");
    let log = sim.log();
    let sent: Vec<String> = log.entries()[before..]
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    drop(log);
    assert!(sent.iter().all(|s| !s.contains("/groups")), "{sent:?}");
    assert!(
        sent.iter()
            .all(|s| s.starts_with("GET") || s.contains("$batch")),
        "{sent:?}"
    );

    // Someone changes the policy in the tenant: its modified time moves, the next run plans
    // again, finds the drift and remediates it.
    let id = {
        let list = t
            .graph
            .intune()
            .list(cipp_graph::intune::IntuneKind::DeviceConfiguration)
            .await
            .unwrap();
        list.into_iter()
            .find(|p| p.title() == "Windows baseline")
            .unwrap()
            .id
    };
    let mut changed: cipp_graph::model::IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": "Windows baseline", "passwordMinimumLength": 4
    }))
    .unwrap();
    changed.id = id.clone();
    clock.advance(std::time::Duration::from_secs(3600));
    t.graph
        .intune()
        .update(
            cipp_graph::intune::IntuneKind::DeviceConfiguration,
            &id,
            &changed,
        )
        .await
        .unwrap();
    let report = [assign(
        &c,
        "IntuneTemplate",
        "intune-baseline",
        Mode::REPORT,
        json!({}),
    )];
    let r = run_tenant(&t, &report, now()).await;
    assert_eq!(r[0].status, Status::Drifted, "{r:?}");
    let r = run_tenant(&t, &fix, now()).await;
    assert_eq!(r[0].status, Status::Remediated, "{r:?}");
}
