//! The compromised-account report shows the evidence itself: each section's rows,
//! collapsible, sign-ins in time order, remediation steps, every value escaped.

use crate::common;

use cipp::core::TenantId;
use cipp::remediation::{remediate, RemediationOptions};
use cipp::research::{research, ResearchOptions};
use cipp::sim::scenario::DEMO_COMPROMISED_UPN;
use cipp::sim::Simulator;
use cipp::Cipp;
use serde_json::json;

fn setup() -> (Simulator, Cipp, TenantId) {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    (
        sim,
        cipp,
        TenantId::parse("contoso.onmicrosoft.com").unwrap(),
    )
}

/// The text between two markers, for order checks.
fn pos(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` missing"))
}

#[tokio::test]
async fn html_and_markdown_show_each_sections_rows() {
    let (sim, cipp, t) = setup();
    // A hostile rule name: it must come out escaped in both formats.
    {
        let mut st = sim.lock_state();
        let tenant = st.tenant_mut("contoso.com").unwrap();
        tenant
            .exchange
            .inbox_rules
            .entry(DEMO_COMPROMISED_UPN.to_owned())
            .or_default()
            .push(json!({"Identity": "meganb@contoso.com\\99", "Name": "<img src=x onerror=alert(1)>|x",
                         "Enabled": false, "Priority": 9, "RedirectTo": ["ext@evil.example"]}));
    }
    let handle = cipp.tenant(&t).unwrap();
    let r = research(&handle, DEMO_COMPROMISED_UPN, &ResearchOptions::default())
        .await
        .unwrap();
    let html = r.to_html();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
    // Rules with their conditions and actions.
    assert!(
        html.contains("subject or body contains invoice, payment, wire"),
        "rule conditions"
    );
    assert!(
        html.contains("forward to &quot;collector@evil-mail.example&quot;"),
        "rule actions"
    );
    assert!(html.contains("move to RSS Feeds; mark as read"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;|x"));
    assert!(!html.contains("<img"));
    assert!(html.contains("redirect to ext@evil.example"));
    // Forwarding, audit parameters, methods, consents: rows, not counts.
    assert!(html.contains("smtp:collector@evil-mail.example"));
    assert!(
        html.contains("198.51.100.66"),
        "client IP of the audit record"
    );
    assert!(html.contains("ForwardTo=collector@evil-mail.example"));
    assert!(html.contains("<details open><summary>Inbox rules"));
    // Sign-ins oldest first.
    let sign_ins = r.user_sign_ins.data.as_ref().unwrap();
    assert!(sign_ins.len() >= 2);
    let mut times: Vec<_> = sign_ins
        .iter()
        .filter_map(|s| s.created_date_time)
        .collect();
    times.sort();
    let first = times[0].format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let last = times[times.len() - 1]
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let section = &html[pos(&html, "Sign-ins of the user")..pos(&html, "<summary>Inbox rules")];
    assert!(pos(section, &first) < pos(section, &last), "oldest first");
    let ips: Vec<&str> = sign_ins
        .iter()
        .filter_map(|s| s.ip_address.as_deref())
        .collect();
    assert!(
        ips.iter().all(|ip| section.contains(ip)),
        "every sign-in IP listed"
    );
    assert!(!html.contains("Remediation</h2>"));

    let md = r.to_markdown();
    assert!(md.contains("### Inbox rules (4 item(s))"), "{md}");
    assert!(md.contains("| Name | State | Conditions | Actions | Changed in window |"));
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;\\|x"));
    assert!(!md.contains("<img"));

    // After remediation: each step's result in both formats.
    let fixed = remediate(
        &handle,
        DEMO_COMPROMISED_UPN,
        &RemediationOptions::default(),
    )
    .await
    .unwrap();
    let html = r.to_html_with(Some(&fixed.report));
    assert!(html.contains("<h2>Remediation</h2>"));
    for step in &fixed.report.steps {
        assert!(
            html.contains(&step.name.replace('&', "&amp;")),
            "step {}",
            step.name
        );
    }
    let md = r.to_markdown_with(Some(&fixed.report));
    assert!(md.contains("## Remediation\n\n| Step | Result |"));
    assert!(md.contains(&fixed.report.steps[0].name));
}
