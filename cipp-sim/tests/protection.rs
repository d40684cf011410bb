//! Exchange Online Protection objects on the simulator, over InvokeCommand: defaults of a
//! new tenant, the life cycle of each family, and Exchange's errors.

mod common;

use cipp_core::{Error, Pipeline, RetryPolicy};
use cipp_sim::kit::TenantSeed;
use cipp_sim::Simulator;
use common::{exo, pipeline_with, Client};
use serde_json::{json, Value};

fn pipeline(sim: &Simulator) -> Pipeline {
    pipeline_with(sim, sim.demo_credentials(), RetryPolicy::default())
}

async fn cmdlet_err(p: &Pipeline, name: &str, params: Value) -> Error {
    p.send(exo("contoso.com", name, params)).await.unwrap_err()
}

fn api(e: &Error) -> &cipp_core::ApiError {
    match e {
        Error::Api(a) => a,
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn a_new_tenant_has_the_default_spam_and_connection_filter_policies() {
    let sim = Simulator::builder()
        .tenant(TenantSeed::new("northwind.onmicrosoft.com", "Northwind"))
        .build();
    let p = pipeline_with(&sim, sim.client_credentials(), RetryPolicy::default());
    let t = Client {
        p: &p,
        tenant: "northwind.onmicrosoft.com",
    };
    let spam = t.cmdlet("Get-HostedContentFilterPolicy", json!({})).await;
    assert_eq!(spam["value"].as_array().unwrap().len(), 1);
    let d = &spam["value"][0];
    assert_eq!(d["Identity"], "Default");
    assert_eq!(d["IsDefault"], true);
    assert_eq!(d["BulkThreshold"], 7);
    assert_eq!(d["SpamAction"], "MoveToJmf");
    let conn = t
        .cmdlet(
            "Get-HostedConnectionFilterPolicy",
            json!({"Identity": "Default"}),
        )
        .await;
    let c = &conn["value"][0];
    assert_eq!(c["Name"], "Default");
    assert_eq!(c["IPAllowList"], json!([]));
    assert_eq!(c["EnableSafeList"], false);
    for noun in [
        "HostedContentFilterRule",
        "InboundConnector",
        "OutboundConnector",
        "SafeLinksPolicy",
        "SafeLinksRule",
    ] {
        let rows = t.cmdlet(&format!("Get-{noun}"), json!({})).await;
        assert_eq!(rows["value"], json!([]), "{noun}");
    }
}

/// One family's life cycle: create, read, change, the no-op warning, remove.
struct Family {
    noun: &'static str,
    create: Value,
    change: Value,
    check: (&'static str, Value),
}

#[tokio::test]
async fn every_family_is_created_read_changed_and_removed() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let c = Client {
        p: &p,
        tenant: "contoso.com",
    };
    let families = [
        Family {
            noun: "HostedContentFilterPolicy",
            create: json!({"Name": "Strict", "BulkThreshold": 4, "Future": "kept"}),
            change: json!({"Identity": "Strict", "SpamAction": "Quarantine"}),
            check: ("SpamAction", json!("Quarantine")),
        },
        Family {
            noun: "InboundConnector",
            create: json!({"Name": "From partner", "ConnectorType": "Partner", "SenderDomains": ["partner.com"], "RequireTls": true}),
            change: json!({"Identity": "From partner", "Enabled": false}),
            check: ("Enabled", json!(false)),
        },
        Family {
            noun: "OutboundConnector",
            create: json!({"Name": "Smart host", "UseMXRecord": false, "SmartHosts": ["relay.contoso.com"]}),
            change: json!({"Identity": "Smart host", "RecipientDomains": ["*"]}),
            check: ("RecipientDomains", json!(["*"])),
        },
        Family {
            noun: "SafeLinksPolicy",
            create: json!({"Name": "Links", "EnableSafeLinksForEmail": true, "ScanUrls": true}),
            change: json!({"Identity": "Links", "TrackClicks": false}),
            check: ("TrackClicks", json!(false)),
        },
    ];
    for f in &families {
        let created = c.cmdlet(&format!("New-{}", f.noun), f.create.clone()).await;
        let row = &created["value"][0];
        let name = f.create["Name"].as_str().unwrap();
        assert_eq!(row["Identity"], name, "{}", f.noun);
        assert!(row["Guid"].as_str().is_some_and(|g| g.len() == 36));
        assert!(row["WhenCreated"].is_string());
        for (k, v) in f.create.as_object().unwrap() {
            assert_eq!(&row[k.as_str()], v, "{} {k}", f.noun);
        }
        let e = cmdlet_err(&p, &format!("New-{}", f.noun), f.create.clone()).await;
        assert_eq!(api(&e).status, 400, "{}: {e}", f.noun);
        assert!(
            e.to_string()
                .contains("ManagementObjectAlreadyExistsException")
                && e.to_string().contains("already exists"),
            "{e}"
        );

        let changed = c.cmdlet(&format!("Set-{}", f.noun), f.change.clone()).await;
        assert_eq!(changed["value"], json!([]));
        let again = c.cmdlet(&format!("Set-{}", f.noun), f.change.clone()).await;
        assert!(again["@adminapi.warnings"][0]
            .as_str()
            .unwrap()
            .contains("no settings"));
        let read = c
            .cmdlet(&format!("Get-{}", f.noun), json!({"Identity": name}))
            .await;
        assert_eq!(read["value"][0][f.check.0], f.check.1, "{}", f.noun);

        c.cmdlet(
            &format!("Remove-{}", f.noun),
            json!({"Identity": name, "Confirm": false}),
        )
        .await;
        let e = cmdlet_err(&p, &format!("Get-{}", f.noun), json!({"Identity": name})).await;
        assert!(e.is_not_found(), "{}: {e}", f.noun);
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[tokio::test]
async fn rules_bind_to_existing_policies_and_change_state_by_enable_and_disable() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let c = Client {
        p: &p,
        tenant: "contoso.com",
    };
    for (policy, rule) in [
        ("HostedContentFilterPolicy", "HostedContentFilterRule"),
        ("SafeLinksPolicy", "SafeLinksRule"),
    ] {
        let e = cmdlet_err(
            &p,
            &format!("New-{rule}"),
            json!({"Name": "R", policy: "Missing"}),
        )
        .await;
        assert!(e.is_not_found(), "{e}");
        let e = cmdlet_err(&p, &format!("New-{rule}"), json!({"Name": "R"})).await;
        assert!(e.to_string().contains(policy), "{e}");

        c.cmdlet(&format!("New-{policy}"), json!({"Name": "P"}))
            .await;
        let r = c
            .cmdlet(
                &format!("New-{rule}"),
                json!({"Name": "R", policy: "p", "RecipientDomainIs": ["contoso.com"], "Enabled": false}),
            )
            .await;
        assert_eq!(r["value"][0][policy], "P");
        assert_eq!(r["value"][0]["State"], "Disabled");
        assert_eq!(r["value"][0]["Priority"], 0);
        let e = cmdlet_err(
            &p,
            &format!("Set-{rule}"),
            json!({"Identity": "R", "Enabled": true}),
        )
        .await;
        assert!(e.to_string().contains("Enabled"), "{e}");
        c.cmdlet(&format!("Enable-{rule}"), json!({"Identity": "R"}))
            .await;
        let read = c
            .cmdlet(&format!("Get-{rule}"), json!({"Identity": "R"}))
            .await;
        assert_eq!(read["value"][0]["State"], "Enabled");

        // The policy cannot go while the rule uses it; a renamed policy is renamed in it.
        let e = cmdlet_err(&p, &format!("Remove-{policy}"), json!({"Identity": "P"})).await;
        assert!(e.to_string().contains("Remove the rule first"), "{e}");
        c.cmdlet(
            &format!("Set-{policy}"),
            json!({"Identity": "P", "Name": "P2"}),
        )
        .await;
        let read = c.cmdlet(&format!("Get-{rule}"), json!({})).await;
        assert_eq!(read["value"][0][policy], "P2");
        c.cmdlet(
            &format!("Disable-{rule}"),
            json!({"Identity": "R", "Confirm": false}),
        )
        .await;
        c.cmdlet(&format!("Remove-{rule}"), json!({"Identity": "R"}))
            .await;
        c.cmdlet(&format!("Remove-{policy}"), json!({"Identity": "P2"}))
            .await;
    }
}

#[tokio::test]
async fn the_connection_filter_policy_is_only_read_and_set() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let c = Client {
        p: &p,
        tenant: "contoso.com",
    };
    let e = cmdlet_err(
        &p,
        "New-HostedConnectionFilterPolicy",
        json!({"Name": "Second"}),
    )
    .await;
    assert!(e.to_string().contains("is not recognized"), "{e}");
    let e = cmdlet_err(
        &p,
        "Remove-HostedContentFilterPolicy",
        json!({"Identity": "Default"}),
    )
    .await;
    assert!(e.to_string().contains("default policy"), "{e}");
    c.cmdlet(
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Default", "IPAllowList": ["192.0.2.10"], "EnableSafeList": true}),
    )
    .await;
    let read = c
        .cmdlet(
            "Get-HostedConnectionFilterPolicy",
            json!({"Identity": "default"}),
        )
        .await;
    assert_eq!(read["value"][0]["IPAllowList"], json!(["192.0.2.10"]));
    assert_eq!(read["value"][0]["EnableSafeList"], true);
    let e = cmdlet_err(
        &p,
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Other", "EnableSafeList": true}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
}
