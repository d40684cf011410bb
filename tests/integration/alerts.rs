//! Scripted alerts on the simulator: a finding raised once, silent while unchanged,
//! resolved when fixed (when asked), snoozed; as scheduler tasks, one `alert.raised` event
//! per tenant with findings to the channels asked for, none on the next run.

use crate::common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cipp::alerts::{register_alerts, run_alert, AlertCatalogue, AlertService};
use cipp::core::Clock;
use cipp::scheduler::alert_state::{AlertStateStore, Change, MemoryAlertState, Snooze};
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::notify::{Channel, Event, Notifier};
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, Target};
use cipp::scheduler::SchedulerError;
use cipp::TenantId;
use serde_json::{json, Value};

fn service() -> (AlertService, Arc<MemoryAlertState>) {
    let state = Arc::new(MemoryAlertState::new());
    (
        AlertService {
            catalogue: Arc::new(AlertCatalogue::builtin()),
            state: state.clone(),
            standards: None,
        },
        state,
    )
}

fn set_apns_expiry(sim: &cipp::sim::Simulator, days: i64, clock: &cipp::core::ManualClock) {
    let when = (clock.now() + chrono::Duration::days(days)).to_rfc3339();
    let mut st = sim.lock_state();
    let t = st.tenant_mut("contoso.com").unwrap();
    let certs = t.intune.store.get_mut(cipp::sim::state::paths::APNS);
    let mut cert = certs.items()[0].clone();
    cert["expirationDateTime"] = json!(when);
    certs.replace_all(vec![cert]);
}

#[tokio::test]
async fn apns_expiry_raises_once_resolves_and_snoozes() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let (service, state) = service();
    let alert = service.catalogue.get("ApnCertExpiry").unwrap().clone();
    let contoso = cipp
        .tenant(&TenantId::parse("contoso.com").unwrap())
        .unwrap();

    // The demo's certificate expires in 20 days: raised.
    let c = run_alert(&contoso, alert.as_ref(), &service, &Value::Null, true)
        .await
        .unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    let Change::Raised(r) = &c[0] else {
        panic!("{c:?}")
    };
    assert!(
        r.row["message"]
            .as_str()
            .unwrap()
            .contains("mdm@contoso.com"),
        "{r:?}"
    );
    // The next day, nothing changed: silent.
    clock.advance(std::time::Duration::from_secs(86_400));
    assert!(
        run_alert(&contoso, alert.as_ref(), &service, &Value::Null, true)
            .await
            .unwrap()
            .is_empty()
    );
    // Fabrikam has no certificate: nothing.
    let fabrikam = cipp
        .tenant(&TenantId::parse("fabrikam.com").unwrap())
        .unwrap();
    assert!(
        run_alert(&fabrikam, alert.as_ref(), &service, &Value::Null, true)
            .await
            .unwrap()
            .is_empty()
    );
    // Renewed: resolved (only reported when asked).
    set_apns_expiry(&sim, 365, &clock);
    let c = run_alert(&contoso, alert.as_ref(), &service, &Value::Null, true)
        .await
        .unwrap();
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    // Expiring again: raised again; snoozed for 7 days, a change is silent.
    set_apns_expiry(&sim, 10, &clock);
    let c = run_alert(&contoso, alert.as_ref(), &service, &Value::Null, false)
        .await
        .unwrap();
    assert!(matches!(c.as_slice(), [Change::Raised(_)]), "{c:?}");
    let subject = c[0].record().subject.clone();
    let tenant = contoso.id().as_str().to_owned();
    state
        .snooze(
            &tenant,
            "ApnCertExpiry",
            &subject,
            Snooze::Days7.until(clock.now()),
        )
        .await
        .unwrap();
    set_apns_expiry(&sim, 5, &clock);
    assert!(
        run_alert(&contoso, alert.as_ref(), &service, &Value::Null, false)
            .await
            .unwrap()
            .is_empty()
    );
    // Input is checked before anything is sent.
    let before = sim.log().entries().len();
    assert!(run_alert(
        &contoso,
        alert.as_ref(),
        &service,
        &json!({"days": 3}),
        false
    )
    .await
    .is_err());
    assert_eq!(sim.log().entries().len(), before);
}

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

#[tokio::test]
async fn as_scheduled_tasks_alerts_notify_once_per_change() {
    let clock = common::demo_clock();
    let (_sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let (service, _) = service();
    let mut reg = Registry::new();
    register_alerts(&mut reg, &cipp, service);
    let inbox = Inbox::default();
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(cipp::commands::FleetResolver::new(
            cipp.clone(),
            Default::default(),
        )),
        Arc::new(clock.clone()),
    )
    .with_notifier(Arc::new(inbox.clone()));
    let schedule = Schedule::new(clock.now(), Recurrence::parse("1d").unwrap());
    let spec = NewTask::builder("APNs expiry", "alert.ApnCertExpiry", schedule)
        .reference("T-42")
        .notify_on(Channel::Webhook)
        .notify_only_with_findings()
        .build();
    let spec = NewTask {
        target: Target::AllTenants {
            exclude_tenants: vec![],
            exclude_groups: vec![],
        },
        ..spec
    };
    // Bad input is refused when the task is added.
    let mut bad = spec.clone();
    bad.parameters = json!({"input": {"days": 3}});
    assert!(engine.add(bad).await.is_err());
    engine.add(spec).await.unwrap();
    engine.tick().await.unwrap();
    let events = inbox.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "alert.raised");
    assert_eq!(events[0].reference.as_deref(), Some("T-42"));
    assert_eq!(events[0].findings, 1);
    // The next day: the same finding, no event.
    clock.advance(std::time::Duration::from_secs(86_400 + 60));
    engine.tick().await.unwrap();
    assert_eq!(inbox.0.lock().unwrap().len(), 1);
}
