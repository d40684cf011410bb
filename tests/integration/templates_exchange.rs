//! The fleet deploy with Exchange kinds beside Graph kinds (simulator): a transport rule, a
//! spam filter with its rule, the connection filter (adopted by name: every tenant has its
//! `Default` policy) and a group go to two tenants in one deploy; a second deploy with the
//! bindings is all no-op.

use crate::common;

use cipp::exchange::cmdlet::Cmdlet;
use cipp::templates::exchange::capture;
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::{deploy, DeployOptions};
use serde_json::{json, Value};

async fn run(h: &cipp::TenantHandle, name: &str, params: Value) {
    let mut c = Cmdlet::new(name);
    for (k, v) in params.as_object().unwrap() {
        c = c.param(k, v.clone());
    }
    h.exchange().invoke(&c).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn exchange_and_graph_templates_deploy_together_and_again_is_no_op() {
    let (sim, cipp) = common::demo(None, common::Fleet::Relationships);
    let all = cipp.tenants().await.unwrap();
    let find = |n: &str| {
        all.iter()
            .find(|t| t.label().starts_with(n))
            .cloned()
            .unwrap()
    };
    let (contoso, targets) = (find("Contoso"), vec![find("Fabrikam"), find("Northwind")]);
    let a = cipp.tenant(&contoso.id).unwrap();
    run(
        &a,
        "New-TransportRule",
        json!({"Name": "External banner", "FromScope": "NotInOrganization", "PrependSubject": "[EXT] "}),
    )
    .await;
    run(
        &a,
        "New-HostedContentFilterPolicy",
        json!({"Name": "Strict spam", "BulkThreshold": 4, "SpamAction": "Quarantine"}),
    )
    .await;
    run(
        &a,
        "New-HostedContentFilterRule",
        json!({"Name": "Strict spam", "HostedContentFilterPolicy": "Strict spam", "RecipientDomainIs": ["contoso.com"]}),
    )
    .await;
    run(
        &a,
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Default", "IPBlockList": ["192.0.2.10"], "EnableSafeList": true}),
    )
    .await;
    let mut templates = Vec::new();
    for (kind, identity) in [
        (TemplateKind::TransportRule, "External banner"),
        (TemplateKind::SpamFilter, "Strict spam"),
        (TemplateKind::ConnectionFilter, "Default"),
    ] {
        templates.push(
            capture(a.exchange(), &kind, identity)
                .await
                .unwrap()
                .into_template(),
        );
    }
    templates.push(Template::new(
        TemplateKind::Group,
        "Mail admins",
        json!({"displayName": "Mail admins", "groupType": "generic", "username": "mailadmins"}),
    ));

    let report = deploy(
        &cipp,
        &templates,
        targets.clone(),
        &DeployOptions::new(),
        cipp.fleet(),
    )
    .await;
    assert!(report.is_ok(), "{:#}", report.to_json());
    for t in &report.tenants {
        let items = &t.report.as_ref().unwrap().items;
        assert_eq!(items.len(), 4, "{items:?}");
        let cf = items
            .iter()
            .find(|i| i.kind == TemplateKind::ConnectionFilter)
            .unwrap();
        assert_ne!(
            cf.action, "create",
            "the Default policy is adopted, never created"
        );
    }
    // The objects exist in Fabrikam as the templates say.
    let text = {
        let st = sim.lock_state();
        format!("{:?}", st.tenant("fabrikam.com").unwrap().protection)
    };
    assert!(
        text.contains("Strict spam") && text.contains("192.0.2.10"),
        "{text}"
    );

    let again = deploy(
        &cipp,
        &templates,
        targets,
        &DeployOptions::new().bindings(report.bindings()),
        cipp.fleet(),
    )
    .await;
    assert!(again.is_ok(), "{:#}", again.to_json());
    for t in &again.tenants {
        assert!(t.is_no_op(), "{:#?}", t.report);
    }
}
