//! Alerts, offline on the simulated Microsoft 365: CIPP's scripted alerts as scheduled
//! tasks over the fleet (Contoso's Apple push certificate expires in 20 days; admins
//! without MFA), notifying a webhook once per tenant with findings; the next day's run is
//! silent; the certificate is renewed and the alert says it is resolved. And one audit-log
//! rule: whoever creates an inbox rule that forwards mail outside is disabled.
//!
//! ```sh
//! cargo run --example alerts
//! ```

use std::sync::{Arc, Mutex};

use cipp::alerts::{register_alerts, AlertCatalogue, AlertService};
use cipp::audit_log::{register_audit_rules, AuditFeed, AuditRulesService, AuditSource};
use cipp::audit_rules::{presets, NoIpInfo, RuleAction};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::alert_state::MemoryAlertState;
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::kv::MemoryKv;
use cipp::scheduler::notify::{Channel, Event, Notifier};
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, NotifyPer, Target};
use cipp::scheduler::SchedulerError;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::Cipp;
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Prints events as a webhook would receive them, and counts them.
#[derive(Clone, Default)]
struct Console(Arc<Mutex<Vec<Event>>>);

#[async_trait::async_trait]
impl Notifier for Console {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        println!(
            "  → {} [{}] {} ({} finding(s))",
            event.kind,
            event.tenants.join(", "),
            event.title,
            event.findings
        );
        for row in event.payload["results"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                r["outcome"]["output"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
        {
            if let Some(m) = row["message"].as_str() {
                println!("      {}: {m}", row["change"].as_str().unwrap_or(""));
            }
        }
        if let Ok(mut v) = self.0.lock() {
            v.push(event.clone());
        }
        Ok(())
    }
    fn channel(&self) -> Channel {
        Channel::Webhook
    }
}

fn all_tenants() -> Target {
    Target::AllTenants {
        exclude_tenants: vec![],
        exclude_groups: vec![],
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse()?);
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .clock(Arc::new(clock.clone()))
        .partner_tenant_relationships(DEMO_PARTNER)?
        .build()?;

    let mut registry = Registry::new();
    register_alerts(
        &mut registry,
        &cipp,
        AlertService {
            catalogue: Arc::new(AlertCatalogue::builtin()),
            state: Arc::new(MemoryAlertState::new()),
            standards: None,
        },
    );
    let mut feed = AuditFeed::new(Arc::new(MemoryKv::new()), AuditSource::GraphQuery);
    feed.first_window = chrono::Duration::hours(48);
    register_audit_rules(
        &mut registry,
        &cipp,
        AuditRulesService {
            feed,
            ip: Arc::new(NoIpInfo),
            groups: Default::default(),
        },
    );
    let console = Console::default();
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        registry,
        Arc::new(cipp::commands::FleetResolver::new(
            cipp.clone(),
            Default::default(),
        )),
        Arc::new(clock.clone()),
    )
    .with_notifier(Arc::new(console.clone()));

    let daily = |name: &str, command: &str| {
        let spec = NewTask::builder(
            name,
            command,
            Schedule::new(clock.now(), Recurrence::parse("1d")?),
        )
        .parameters(json!({"notifyResolved": true}))
        .notify_on(Channel::Webhook)
        .notify_only_with_findings()
        .notify_per(NotifyPer::Tenant)
        .build();
        Ok::<_, BoxError>(NewTask {
            target: all_tenants(),
            ..spec
        })
    };
    engine
        .add(daily("APNs certificate expiry", "alert.ApnCertExpiry")?)
        .await?;
    engine
        .add(daily("Admins without MFA", "alert.MFAAdmins")?)
        .await?;
    let rule = presets::get("New-InboxRuleForward")
        .ok_or("no forwarding preset")?
        .rule
        .with_actions(vec![RuleAction::DisableUser, RuleAction::GenerateWebhook]);
    let spec = NewTask::builder(
        "Forwarding inbox rules",
        "auditlog.process",
        Schedule::new(clock.now(), Recurrence::parse("15m")?),
    )
    .parameters(json!({"rules": [serde_json::to_value(&rule)?]}))
    .notify_on(Channel::Webhook)
    .notify_only_with_findings()
    .notify_per(NotifyPer::Tenant)
    .build();
    engine
        .add(NewTask {
            target: all_tenants(),
            ..spec
        })
        .await?;

    println!("First run:");
    engine.tick().await?;
    let first = console.0.lock().map(|v| v.len()).unwrap_or_default();

    println!("\nThe next day (nothing changed):");
    clock.advance(std::time::Duration::from_secs(86_400 + 60));
    engine.tick().await?;
    let second = console.0.lock().map(|v| v.len()).unwrap_or_default() - first;
    println!("  {second} event(s)");

    println!("\nContoso renews its Apple push certificate; the day after:");
    {
        let mut st = sim.lock_state();
        let t = st.tenant_mut("contoso.com").ok_or("no Contoso")?;
        let certs = t.intune.store.get_mut(cipp::sim::state::paths::APNS);
        let mut cert = certs.items().first().cloned().ok_or("no certificate")?;
        cert["expirationDateTime"] =
            json!((clock.now() + chrono::Duration::days(365)).to_rfc3339());
        certs.replace_all(vec![cert]);
    }
    clock.advance(std::time::Duration::from_secs(86_400 + 60));
    engine.tick().await?;

    let events = console.0.lock().map(|v| v.clone()).unwrap_or_default();
    let raised = events.iter().filter(|e| e.kind == "alert.raised").count();
    let resolved = events.iter().filter(|e| e.kind == "alert.resolved").count();
    let disabled = {
        let st = sim.lock_state();
        st.tenant("contoso.com")
            .and_then(|t| t.directory.user("meganb@contoso.com").cloned())
            .map(|u| u["accountEnabled"] == json!(false))
            .unwrap_or(false)
    };
    println!(
        "\n{} event(s) in all: {raised} raised, {resolved} resolved; the next day was silent: {}; \
         meganb@contoso.com disabled by the audit-log rule: {disabled}",
        events.len(),
        second == 0
    );
    if raised == 0 || resolved == 0 || second != 0 || !disabled {
        return Err("the alerts did not behave as described".into());
    }
    Ok(())
}
