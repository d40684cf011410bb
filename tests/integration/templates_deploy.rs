//! Fleet deploy of templates on the simulator: capture a Conditional Access policy and a
//! group from Contoso, deploy them to Fabrikam and Northwind concurrently, and deploy again
//! with the returned bindings: all no-op.

use crate::common;

use cipp::core::Outcome;
use cipp::graph::model::ConditionalAccessPolicy;
use cipp::sim::Simulator;
use cipp::templates::capture::{capture_conditional_access, capture_group};
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::{deploy, DeployOptions};
use cipp::{Cipp, Tenant};
use serde_json::json;

fn setup() -> (Simulator, Cipp) {
    common::demo(None, common::Fleet::Relationships)
}

async fn tenants(cipp: &Cipp) -> (Tenant, Vec<Tenant>) {
    let all = cipp.tenants().await.unwrap();
    let find = |name: &str| {
        all.iter()
            .find(|t| t.label().starts_with(name))
            .cloned()
            .unwrap()
    };
    (find("Contoso"), vec![find("Fabrikam"), find("Northwind")])
}

/// Security defaults off everywhere, a policy in Contoso, and the two captured templates.
async fn prepare(cipp: &Cipp) -> (Vec<Tenant>, Vec<Template>) {
    let (contoso, targets) = tenants(cipp).await;
    for t in std::iter::once(&contoso).chain(&targets) {
        cipp.tenant(&t.id)
            .unwrap()
            .graph()
            .conditional_access()
            .disable_security_defaults()
            .await
            .unwrap();
    }
    let a = cipp.tenant(&contoso.id).unwrap();
    let policy: ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": "Require MFA for admins",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    }))
    .unwrap();
    let created = a
        .graph()
        .conditional_access()
        .create_policy(&policy)
        .await
        .unwrap();
    let ca = capture_conditional_access(a.graph(), &created.id)
        .await
        .unwrap()
        .into_template()
        .with_id("ca-admins-mfa");
    let groups = a.graph().groups().list().await.unwrap();
    let sales = groups
        .iter()
        .find(|g| g.display_name.as_deref() == Some("Sales Team"))
        .and_then(|g| g.id.as_ref())
        .unwrap()
        .as_str()
        .to_owned();
    let group = capture_group(a.graph(), &sales)
        .await
        .unwrap()
        .into_template()
        .with_id("group-sales");
    (targets, vec![ca, group])
}

#[tokio::test]
async fn deploys_to_two_tenants_and_again_with_the_bindings_is_no_op() {
    let (_sim, cipp) = setup();
    let (targets, templates) = prepare(&cipp).await;
    let options = DeployOptions::new();
    let report = deploy(&cipp, &templates, targets.clone(), &options, cipp.fleet()).await;
    assert_eq!(report.tenants.len(), 2);
    assert_eq!(report.tenants[0].tenant.id, targets[0].id, "input order");
    assert!(report.is_ok(), "{:#?}", report.to_json());
    for t in &report.tenants {
        let r = t.report.as_ref().unwrap();
        assert_eq!(r.items.len(), 2);
        for i in &r.items {
            assert!(
                matches!(i.outcome, Outcome::Succeeded { .. }),
                "{}: {:?}",
                i.name,
                i.outcome
            );
        }
        let groups = cipp
            .tenant(&t.tenant.id)
            .unwrap()
            .graph()
            .groups()
            .list()
            .await
            .unwrap();
        assert_eq!(
            groups
                .iter()
                .filter(|g| g.display_name.as_deref() == Some("Sales Team"))
                .count(),
            1
        );
    }
    let bindings = report.bindings();
    assert_eq!(bindings.len(), 4, "{bindings:?}");
    let json = report.to_json();
    assert_eq!(json["ok"], json!(true));
    assert_eq!(json["tenants"].as_array().unwrap().len(), 2);

    let options = DeployOptions::new().bindings(bindings.clone());
    let again = deploy(&cipp, &templates, targets.clone(), &options, cipp.fleet()).await;
    assert!(again.is_ok());
    assert!(again.is_no_op(), "{:#?}", again.to_json());
    for t in &again.tenants {
        assert!(t.plan.as_ref().unwrap().is_empty());
    }
    assert_eq!(again.bindings().len(), 4);
    for t in &targets {
        let g = cipp.tenant(&t.id).unwrap();
        assert_eq!(
            g.graph()
                .conditional_access()
                .policies()
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn a_tenant_without_a_variable_context_fails_alone() {
    let (_sim, cipp) = setup();
    let (_, mut targets) = tenants(&cipp).await;
    targets[1].default_domain = None;
    let t = Template::new(
        TemplateKind::Group,
        "Helpdesk",
        json!({"displayName": "Helpdesk", "groupType": "generic", "username": "helpdesk"}),
    )
    .with_id("group-helpdesk");
    let report = deploy(&cipp, &[t], targets, &DeployOptions::new(), cipp.fleet()).await;
    assert!(report.tenants[0].is_ok(), "{:#?}", report.to_json());
    let failed = &report.tenants[1];
    assert!(!failed.is_ok());
    assert!(failed.report.is_none() && failed.plan.is_none());
    let message = failed.error.as_ref().unwrap().to_string();
    assert!(message.contains("no variable context"), "{message}");
    assert!(!report.is_ok());
}

#[tokio::test]
async fn the_html_report_escapes_names_and_variables_are_substituted() {
    let (_sim, cipp) = setup();
    let (_, targets) = tenants(&cipp).await;
    let name = "<script>alert(1)</script> %tenantname%";
    let t = Template::new(
        TemplateKind::Group,
        name,
        json!({"displayName": name, "groupType": "generic", "username": "xss"}),
    )
    .with_id("group-xss");
    let first = targets[..1].to_vec();
    let report = deploy(&cipp, &[t], first, &DeployOptions::new(), cipp.fleet()).await;
    assert!(report.is_ok(), "{:#?}", report.to_json());
    let html = report.to_html();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("<table>"));
    let item = &report.tenants[0].report.as_ref().unwrap().items[0];
    assert!(!item.name.contains("%tenantname%"), "{}", item.name);
}
