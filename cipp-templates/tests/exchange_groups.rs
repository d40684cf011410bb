//! Group templates of the kinds Exchange creates (distribution list, mail-enabled security
//! group, dynamic distribution group) deployed on the simulator through
//! `deploy::plan_tenant` / `apply_tenant`: created through Exchange, verified, visible in
//! Graph as real tenants show them, and a second plan is all no-op.

mod wire;
use wire::*;

use cipp_core::{Outcome, TenantId};
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::distribution_groups::strip_system_exclusions;
use cipp_exchange::{ExoClient, TenantExchange};
use cipp_graph::TenantGraph;
use cipp_sim::kit::TenantSeed;
use cipp_sim::Simulator;
use cipp_templates::apply::ApplyOptions;
use cipp_templates::deploy::{apply_tenant, plan_tenant};
use cipp_templates::plan::{Action, PlanOptions};
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};

const DST: &str = "fabrikam.onmicrosoft.com";

fn setup() -> (Simulator, TenantGraph, TenantExchange) {
    let sim = Simulator::builder()
        .tenant(TenantSeed::new(DST, "Fabrikam").domain("fabrikam.com"))
        .build();
    let graph = tenant_graph(&sim_graph(&sim), DST);
    let exo = ExoClient::new(sim_pipeline(&sim)).tenant(&TenantId::parse(DST).unwrap());
    (sim, graph, exo)
}

fn templates() -> Vec<Template> {
    vec![
        Template::new(
            TemplateKind::Group,
            "Sales",
            json!({"displayName": "Sales", "groupType": "distribution", "username": "sales",
                   "description": "Everyone in sales", "allowExternal": true}),
        )
        .with_id("group-sales"),
        Template::new(
            TemplateKind::Group,
            "Finance Approvers",
            json!({"displayName": "Finance Approvers", "groupType": "mailenabledsecurity",
                   "username": "finapprovers@fabrikam.com"}),
        )
        .with_id("group-finance"),
        Template::new(
            TemplateKind::Group,
            "All Marketing",
            json!({"displayName": "All Marketing", "groupType": "dynamicDistribution",
                   "username": "allmarketing", "membershipRules": "Department -eq 'Marketing'"}),
        )
        .with_id("group-marketing"),
    ]
}

async fn run(exo: &TenantExchange, name: &str, params: Value) -> Vec<Value> {
    let mut c = Cmdlet::new(name);
    for (k, v) in params.as_object().unwrap() {
        c = c.param(k, v.clone());
    }
    exo.invoke(&c).await.unwrap().value
}

/// The cmdlets other than reads sent since log entry `from`, and every Graph write.
fn writes(sim: &Simulator, from: usize) -> Vec<String> {
    sim.request_log()[from..]
        .iter()
        .filter_map(|r| {
            if r.path.ends_with("/InvokeCommand") {
                r.operation.clone().filter(|o| !o.starts_with("Get-"))
            } else if r.method != "GET" && !r.path.contains("/token") {
                Some(format!("{} {}", r.method, r.path))
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn exchange_groups_deploy_verify_and_second_plan_is_no_op() {
    let (sim, graph, exo) = setup();
    let ts = templates();
    let options = PlanOptions::default();

    let plan = plan_tenant(&graph, &exo, &ts, &[], &options).await.unwrap();
    assert_eq!(plan.items.len(), 3);
    assert!(
        plan.items
            .iter()
            .all(|i| matches!(i.action, Action::Create { .. })),
        "{plan}"
    );
    let report = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    for i in &report.items {
        assert!(
            matches!(&i.outcome, Outcome::Succeeded { message } if message.contains("verified")),
            "{}: {:?}",
            i.name,
            i.outcome
        );
    }
    assert_eq!(report.bindings.len(), 3);

    // What was sent, and what Exchange holds now.
    assert_eq!(
        writes(&sim, 0),
        vec![
            "New-DistributionGroup",
            "New-DistributionGroup",
            "New-DynamicDistributionGroup"
        ]
    );
    let sales = run(&exo, "Get-DistributionGroup", json!({"Identity": "Sales"})).await;
    assert_eq!(sales[0]["Alias"], "sales");
    assert_eq!(sales[0]["Description"], json!(["Everyone in sales"]));
    assert_eq!(sales[0]["RequireSenderAuthenticationEnabled"], false);
    assert_eq!(
        sales[0]["RecipientTypeDetails"],
        "MailUniversalDistributionGroup"
    );
    let fin = run(
        &exo,
        "Get-DistributionGroup",
        json!({"Identity": "Finance Approvers"}),
    )
    .await;
    assert_eq!(fin[0]["GroupType"], "Universal, SecurityEnabled");
    assert_eq!(fin[0]["PrimarySmtpAddress"], "finapprovers@fabrikam.com");
    assert_eq!(fin[0]["RequireSenderAuthenticationEnabled"], true);

    // Graph lists the distribution list and the mail-enabled security group, not the
    // dynamic distribution group.
    let groups = graph.groups().list().await.unwrap();
    let as_json: Vec<Value> = groups
        .iter()
        .map(|g| serde_json::to_value(g).unwrap())
        .collect();
    let find = |n: &str| as_json.iter().find(|g| g["displayName"] == n).cloned();
    let sales = find("Sales").expect("Sales in Graph");
    assert_eq!(sales["mailEnabled"], true);
    assert_eq!(sales["securityEnabled"], false);
    assert_eq!(sales["groupTypes"], json!([]));
    // No address in the template: Exchange gives the alias at the default domain.
    assert_eq!(sales["mail"], "sales@fabrikam.com");
    let fin = find("Finance Approvers").expect("Finance Approvers in Graph");
    assert_eq!(fin["mailEnabled"], true);
    assert_eq!(fin["securityEnabled"], true);
    assert_eq!(fin["mail"], "finapprovers@fabrikam.com");
    assert!(find("All Marketing").is_none());
    let sales_id = sales["id"].as_str().unwrap();
    assert_eq!(
        report.item("group-sales").unwrap().object_id.as_deref(),
        Some(sales_id)
    );
    let ddg = run(
        &exo,
        "Get-DynamicDistributionGroup",
        json!({"Identity": "All Marketing"}),
    )
    .await;
    // Exchange keeps the user's filter with its system exclusions appended.
    let stored = ddg[0]["RecipientFilter"].as_str().unwrap();
    assert!(
        stored.contains("-and (-not(Name -like 'SystemMailbox{*'))"),
        "{stored}"
    );
    assert_eq!(
        strip_system_exclusions(stored),
        "Department -eq 'Marketing'"
    );

    // Second plan, with the bindings and without: all no-op / adopt, nothing to send.
    let again = plan_tenant(&graph, &exo, &ts, &report.bindings, &options)
        .await
        .unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|i| matches!(i.action, Action::NoOp { .. })),
        "{again}"
    );
    let before = sim.request_log().len();
    let second = apply_tenant(&graph, &exo, &again, &ApplyOptions::default()).await;
    assert!(second.is_ok());
    assert!(second
        .items
        .iter()
        .all(|i| matches!(i.outcome, Outcome::NoChange { .. })));
    assert!(writes(&sim, before).is_empty());
}

#[tokio::test]
async fn changed_description_and_filter_are_updated_through_exchange() {
    let (_sim, graph, exo) = setup();
    let ts = templates();
    let options = PlanOptions::default();
    let plan = plan_tenant(&graph, &exo, &ts, &[], &options).await.unwrap();
    let report = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{:?}", report.items);

    let mut changed = ts.clone();
    changed[0].body["description"] = json!("Sales and pre-sales");
    changed[2].body["membershipRules"] =
        json!("Department -eq 'Marketing' -or Department -eq 'PR'");
    let plan = plan_tenant(&graph, &exo, &changed, &report.bindings, &options)
        .await
        .unwrap();
    let updates: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Update { .. }))
        .map(|i| i.template_id.as_str())
        .collect();
    assert_eq!(updates, vec!["group-sales", "group-marketing"], "{plan}");
    let report2 = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    for id in ["group-sales", "group-marketing"] {
        let i = report2.item(id).unwrap();
        assert!(
            matches!(&i.outcome, Outcome::Succeeded { message } if message.contains("verified")),
            "{id}: {:?}",
            i.outcome
        );
    }
    let ddg = run(
        &exo,
        "Get-DynamicDistributionGroup",
        json!({"Identity": "All Marketing"}),
    )
    .await;
    let stored = ddg[0]["RecipientFilter"].as_str().unwrap();
    assert!(
        stored.contains("SupervisoryReviewPolicyMailbox"),
        "{stored}"
    );
    assert_eq!(
        strip_system_exclusions(stored),
        "Department -eq 'Marketing' -or Department -eq 'PR'"
    );
    let third = plan_tenant(&graph, &exo, &changed, &report2.bindings, &options)
        .await
        .unwrap();
    assert!(third
        .items
        .iter()
        .all(|i| matches!(i.action, Action::NoOp { .. })));
}

#[tokio::test]
async fn a_kind_changed_in_place_fails_and_sends_nothing() {
    let (sim, graph, exo) = setup();
    let ts = templates();
    let options = PlanOptions::default();
    let plan = plan_tenant(&graph, &exo, &ts, &[], &options).await.unwrap();
    let report = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    let mut changed = ts[..1].to_vec();
    changed[0].body["username"] = json!("sales2");
    let plan = plan_tenant(&graph, &exo, &changed, &report.bindings, &options)
        .await
        .unwrap();
    let before = sim.request_log().len();
    let r = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    let item = r.item("group-sales").unwrap();
    assert!(
        matches!(&item.outcome, Outcome::Failed { error } if error.message.contains("/username")),
        "{:?}",
        item.outcome
    );
    assert!(writes(&sim, before).is_empty());
}

#[tokio::test]
async fn the_simulator_refuses_like_exchange() {
    let (_sim, _graph, exo) = setup();
    let mut c = Cmdlet::new("New-DistributionGroup")
        .param("Name", "Sales")
        .param("Type", "Distribution");
    exo.invoke(&c).await.unwrap();
    let again = exo.invoke(&c).await.unwrap_err().to_string();
    assert!(again.contains("is already being used"), "{again}");
    c = c.param("Type", "Unified");
    let bad = exo.invoke(&c).await.unwrap_err().to_string();
    assert!(bad.contains("Cannot bind parameter 'Type'"), "{bad}");
    let no_filter = Cmdlet::new("New-DynamicDistributionGroup").param("Name", "All");
    let e = exo.invoke(&no_filter).await.unwrap_err().to_string();
    assert!(e.contains("missing mandatory parameters"), "{e}");
    let unknown = Cmdlet::new("Set-DynamicDistributionGroup")
        .param("Identity", "Nobody")
        .param("RecipientFilter", "Department -eq 'x'");
    let e = exo.invoke(&unknown).await.unwrap_err().to_string();
    assert!(e.contains("couldn't be found"), "{e}");
    let same = Cmdlet::new("Set-DistributionGroup")
        .param("Identity", "Sales")
        .param("RequireSenderAuthenticationEnabled", true);
    let out = exo.invoke(&same).await.unwrap();
    assert!(out.nothing_modified(), "{:?}", out.warnings);
}

/// A filter as Exchange Online returns it (a CIPP template captured from a real tenant
/// holds it so).
fn read_back(user: &str) -> String {
    format!(
        "(({user}) -and (-not(Name -like 'SystemMailbox{{*')) -and (-not(Name -like 'CAS_{{*')) \
         -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan')) \
         -and (-not(RecipientTypeDetailsValue -eq 'DiscoveryMailbox')) \
         -and (-not(RecipientTypeDetailsValue -eq 'PublicFolderMailbox')) \
         -and (-not(RecipientTypeDetailsValue -eq 'ArbitrationMailbox')) \
         -and (-not(RecipientTypeDetailsValue -eq 'AuditLogMailbox')) \
         -and (-not(RecipientTypeDetailsValue -eq 'AuxAuditLogMailbox')) \
         -and (-not(RecipientTypeDetailsValue -eq 'SupervisoryReviewPolicyMailbox')))"
    )
}

#[tokio::test]
async fn a_filter_with_exchanges_exclusions_is_sent_as_the_users_and_replans_no_op() {
    let (_sim, graph, exo) = setup();
    let ts = vec![
        // CIPP's shape, the filter captured with Exchange's block.
        Template::new(
            TemplateKind::Group,
            "All Hands",
            json!({"displayName": "All Hands", "groupType": "dynamicDistribution",
                   "username": "allhands",
                   "membershipRules": read_back("(Department -eq 'Sales') -or (Department -eq 'PR')")}),
        )
        .with_id("group-allhands"),
        // An Exchange row's shape: the filter as RecipientFilter.
        Template::new(
            TemplateKind::Group,
            "All Interns",
            json!({"displayName": "All Interns", "groupType": "dynamicDistribution",
                   "username": "interns@fabrikam.com",
                   "RecipientFilter": read_back("Title -eq 'Intern'")}),
        )
        .with_id("group-interns"),
    ];
    let options = PlanOptions::default();
    let plan = plan_tenant(&graph, &exo, &ts, &[], &options).await.unwrap();
    let report = apply_tenant(&graph, &exo, &plan, &ApplyOptions::default()).await;
    for i in &report.items {
        assert!(
            matches!(&i.outcome, Outcome::Succeeded { message } if message.contains("verified")),
            "{}: {:?}",
            i.name,
            i.outcome
        );
    }
    for (name, user) in [
        (
            "All Hands",
            "(Department -eq 'Sales') -or (Department -eq 'PR')",
        ),
        ("All Interns", "Title -eq 'Intern'"),
    ] {
        let row = run(
            &exo,
            "Get-DynamicDistributionGroup",
            json!({"Identity": name}),
        )
        .await;
        let stored = row[0]["RecipientFilter"].as_str().unwrap();
        // The block once: only the user's filter was sent.
        assert_eq!(stored.matches("SystemMailbox{*").count(), 1, "{stored}");
        assert_eq!(strip_system_exclusions(stored), user);
    }
    // No username address: Exchange made one at the default domain; a full one was kept.
    let hands = run(
        &exo,
        "Get-DynamicDistributionGroup",
        json!({"Identity": "All Hands"}),
    )
    .await;
    assert_eq!(hands[0]["PrimarySmtpAddress"], "allhands@fabrikam.com");
    let interns = run(
        &exo,
        "Get-DynamicDistributionGroup",
        json!({"Identity": "All Interns"}),
    )
    .await;
    assert_eq!(interns[0]["Alias"], "interns");

    // Re-plans: bound → no-op; unbound with adoption → adopt (matched by name, equal).
    let again = plan_tenant(&graph, &exo, &ts, &report.bindings, &options)
        .await
        .unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|i| matches!(i.action, Action::NoOp { .. })),
        "{again}"
    );
    let adopt = plan_tenant(&graph, &exo, &ts, &[], &options.clone().adopt_by_name(true))
        .await
        .unwrap();
    assert!(
        adopt
            .items
            .iter()
            .all(|i| matches!(i.action, Action::Adopt { .. })),
        "{adopt}"
    );
}

// The exact cmdlets (wiremock)

mod exact {
    use std::sync::Arc;
    use std::time::Duration;

    use cipp_core::{
        Credentials, Endpoints, Pipeline, ReqwestTransport, RetryPolicy, SecretString, TenantId,
        ThrottleSettings,
    };
    use cipp_exchange::{ExoClient, TenantExchange};
    use cipp_templates::apply::exchange_groups::{self, normalise_template};
    use cipp_templates::apply::ApplyOptions;
    use cipp_templates::plan::{plan, PlanOptions, TenantState};
    use cipp_templates::template::{Template, TemplateKind};
    use serde_json::{json, Value};
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const INVOKE: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";

    fn wire_exo(server: &MockServer) -> TenantExchange {
        let p = Pipeline::builder()
            .transport(Arc::new(ReqwestTransport::new().unwrap()))
            .endpoints(Endpoints::single_base(&server.uri()))
            .credentials(Credentials::StaticToken(SecretString::from("test-token")))
            .throttle(ThrottleSettings::none())
            .retry(RetryPolicy {
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            })
            .build()
            .unwrap();
        ExoClient::new(p).tenant(&TenantId::parse("contoso.onmicrosoft.com").unwrap())
    }

    async fn expect(server: &MockServer, name: &str, params: Value, row: Value) {
        Mock::given(method("POST"))
            .and(path(INVOKE))
            .and(body_json(
                json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [row]})))
            .expect(1)
            .named(name)
            .mount(server)
            .await;
    }

    /// Creates one group template through Exchange; every request must be expected.
    async fn create(server: &MockServer, body: Value) {
        let t = normalise_template(&Template::new(TemplateKind::Group, "G", body));
        let p = plan(
            &[t],
            &TenantState::new("contoso.onmicrosoft.com"),
            &[],
            &PlanOptions::default(),
        )
        .unwrap();
        let r =
            exchange_groups::apply(&wire_exo(server), &p, &ApplyOptions::new().verify(false)).await;
        assert!(r.is_ok(), "{:?}", r.items);
        assert_eq!(r.bindings.len(), 1);
    }

    #[tokio::test]
    async fn primary_smtp_address_is_sent_only_for_a_full_address() {
        const DDG: &str = "5d0c2b1a-0000-4000-8000-0000000000d1";
        const DL: &str = "5d0c2b1a-0000-4000-8000-0000000000a1";
        // A dynamic group with an alias only: Alias and Name, no address; the filter
        // without Exchange's block.
        let server = MockServer::start().await;
        expect(
            &server,
            "New-DynamicDistributionGroup",
            json!({"Name": "All Sales", "DisplayName": "All Sales", "Alias": "allsales",
                   "RecipientFilter": "Department -eq 'Sales'"}),
            json!({"Guid": DDG, "ExternalDirectoryObjectId": ""}),
        )
        .await;
        create(
            &server,
            json!({"displayName": "All Sales", "groupType": "dynamicDistribution",
                   "username": "allsales",
                   "membershipRules": "((Department -eq 'Sales') -and (-not(Name -like 'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*')))"}),
        )
        .await;

        // With a full address: the alias is its local part, and the address is sent.
        let server = MockServer::start().await;
        expect(
            &server,
            "New-DynamicDistributionGroup",
            json!({"Name": "All Sales", "DisplayName": "All Sales", "Alias": "allsales",
                   "PrimarySmtpAddress": "allsales@contoso.com",
                   "RecipientFilter": "Department -eq 'Sales'"}),
            json!({"Guid": DDG}),
        )
        .await;
        create(
            &server,
            json!({"displayName": "All Sales", "groupType": "dynamicDistribution",
                   "username": "allsales@contoso.com", "membershipRules": "Department -eq 'Sales'"}),
        )
        .await;

        // A distribution list the same way.
        let server = MockServer::start().await;
        expect(
            &server,
            "New-DistributionGroup",
            json!({"Name": "Sales", "DisplayName": "Sales", "Alias": "sales", "Type": "Distribution",
                   "RequireSenderAuthenticationEnabled": true}),
            json!({"ExternalDirectoryObjectId": DL}),
        )
        .await;
        create(
            &server,
            json!({"displayName": "Sales", "groupType": "distribution", "username": "sales"}),
        )
        .await;
        let server = MockServer::start().await;
        expect(
            &server,
            "New-DistributionGroup",
            json!({"Name": "Sales", "DisplayName": "Sales", "Alias": "sales", "Type": "Security",
                   "PrimarySmtpAddress": "sales@contoso.com",
                   "RequireSenderAuthenticationEnabled": true}),
            json!({"ExternalDirectoryObjectId": DL}),
        )
        .await;
        create(
            &server,
            json!({"displayName": "Sales", "groupType": "security", "username": "sales@contoso.com"}),
        )
        .await;
    }
}
