//! Audit-log ingestion and rules on the simulator: each record delivered once (across
//! polls, restarts and two workers), late records caught by the overlap, an unacknowledged
//! claim delivered again (marked), both sources; a preset rule that disables the user who
//! created a forwarding inbox rule; the scheduler command reporting each hit once.

use crate::common;

use std::sync::Arc;

use chrono::Duration;
use cipp::audit_log::{register_audit_rules, AuditFeed, AuditRulesService, AuditSource};
use cipp::audit_rules::{presets, NoIpInfo, RuleAction};
use cipp::core::Clock;
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::kv::MemoryKv;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, Target};
use cipp::TenantId;
use serde_json::json;

fn feed(kv: &Arc<MemoryKv>, source: AuditSource) -> AuditFeed {
    let mut f = AuditFeed::new(kv.clone(), source);
    f.first_window = Duration::hours(48);
    f
}

fn seed_record(
    sim: &cipp::sim::Simulator,
    op: &str,
    user: &str,
    at: chrono::DateTime<chrono::Utc>,
) {
    let mut st = sim.lock_state();
    let t = st.tenant_mut("contoso.com").unwrap();
    t.record_unified(
        "ExchangeItem",
        op,
        user,
        &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        json!({"Workload": "Exchange", "ObjectId": user,
               "Parameters": [{"Name": "ForwardTo", "Value": "drop@evil.example"}]}),
    );
}

#[tokio::test(start_paused = true)]
async fn each_record_once_across_polls_restarts_and_workers() {
    for source in [AuditSource::GraphQuery, AuditSource::UnifiedAuditLog] {
        let clock = common::demo_clock();
        let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
        let h = cipp
            .tenant(&TenantId::parse("contoso.com").unwrap())
            .unwrap();
        let kv = Arc::new(MemoryKv::new());
        let f = feed(&kv, source);

        let first = f.poll(&h).await.unwrap();
        assert!(first.records.len() >= 3, "{source:?}: {first:?}");
        assert_eq!(first.redelivered, 0);
        f.ack(&h, &first.ids()).await.unwrap();
        assert!(f.poll(&h).await.unwrap().records.is_empty(), "{source:?}");

        // A record that arrives late (dated before the cursor) is caught by the overlap.
        clock.advance(std::time::Duration::from_secs(3600));
        seed_record(
            &sim,
            "New-InboxRule",
            "alexw@contoso.com",
            clock.now() - Duration::hours(2),
        );
        let late = f.poll(&h).await.unwrap();
        assert_eq!(late.records.len(), 1, "{source:?}: {late:?}");
        // Not acknowledged: after the lease it comes again, marked.
        assert!(f.poll(&h).await.unwrap().records.is_empty());
        clock.advance(std::time::Duration::from_secs(16 * 60));
        let again = f.poll(&h).await.unwrap();
        assert_eq!(
            (again.records.len(), again.redelivered),
            (1, 1),
            "{source:?}"
        );
        f.ack(&h, &again.ids()).await.unwrap();

        // A restart (a new feed on the same store) delivers nothing twice.
        let restarted = feed(&kv, source);
        assert!(
            restarted.poll(&h).await.unwrap().records.is_empty(),
            "{source:?}"
        );

        // Two workers polling at once share the new records without duplicates.
        clock.advance(std::time::Duration::from_secs(60));
        for i in 0..4 {
            seed_record(
                &sim,
                "Set-InboxRule",
                &format!("u{i}@contoso.com"),
                clock.now(),
            );
        }
        clock.advance(std::time::Duration::from_secs(1));
        let (a, b) = tokio::join!(f.poll(&h), restarted.poll(&h));
        let mut ids: Vec<String> = a.map(|x| x.ids()).unwrap_or_default();
        ids.extend(b.map(|x| x.ids()).unwrap_or_default());
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{source:?}: a record went to both workers");
        assert_eq!(n, 4, "{source:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_forwarding_rule_disables_its_user_once() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let kv = Arc::new(MemoryKv::new());
    let service = AuditRulesService {
        feed: feed(&kv, AuditSource::GraphQuery),
        ip: Arc::new(NoIpInfo),
        groups: Default::default(),
    };
    let mut reg = Registry::new();
    register_audit_rules(&mut reg, &cipp, service);
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(cipp::commands::FleetResolver::new(
            cipp.clone(),
            Default::default(),
        )),
        Arc::new(clock.clone()),
    );
    let rule = presets::get("New-InboxRuleForward")
        .unwrap()
        .rule
        .with_actions(vec![RuleAction::DisableUser, RuleAction::GenerateWebhook]);
    let contoso = sim.lock_state().tenant("contoso.com").unwrap().id.clone();
    let task = |now| {
        let spec = NewTask::builder(
            "Forwarding rules",
            "auditlog.process",
            Schedule::new(now, Recurrence::parse("15m").unwrap()),
        )
        .parameters(json!({"rules": [serde_json::to_value(&rule).unwrap()]}))
        .build();
        NewTask {
            target: Target::Tenant {
                id: contoso.clone(),
            },
            ..spec
        }
    };
    // Bad rules are refused when the task is added.
    let mut bad = task(clock.now());
    bad.parameters = json!({"rules": [{"id": "x", "logType": "exchange", "conditions": [{"property": "Bad Name!", "operator": "eq", "input": "x"}]}]});
    assert!(engine.add(bad).await.is_err());
    engine.add(task(clock.now())).await.unwrap();
    let run = engine.tick().await.unwrap().pop().unwrap();
    let r = &run.results[0];
    assert_eq!(r.outcome.findings(), 1, "{r:?}");
    let out = serde_json::to_value(&r.outcome).unwrap();
    let text = out.to_string();
    assert!(
        text.contains("meganb@contoso.com") && text.contains("disableuser"),
        "{text}"
    );
    let enabled = |sim: &cipp::sim::Simulator| {
        let st = sim.lock_state();
        st.tenant("contoso.com")
            .unwrap()
            .directory
            .user("meganb@contoso.com")
            .unwrap()["accountEnabled"]
            .clone()
    };
    assert_eq!(enabled(&sim), json!(false));
    // The next run: the same record is not evaluated again.
    clock.advance(std::time::Duration::from_secs(16 * 60));
    let run = engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(run.results[0].outcome.findings(), 0, "{run:?}");
}
