//! Access control and the audit trail on the simulator: each permission enforced (an
//! allowed and a refused call per area), tenant scopes and exclusions, nothing sent when
//! refused, and an audit event for every write and refusal with secrets removed.

use std::sync::Arc;

use cipp::authz::{
    AccessControl, AuditOutcome, MemoryAuditLog, Permission, Principal, Role, TenantGroups,
    TenantScope,
};
use cipp::graph::password::PasswordStyle;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::{deploy, DeployError, DeployOptions};
use cipp::users::create::CreateUser;
use cipp::users::Guard;
use cipp::{Cipp, Tenant, TenantId};
use secrecy::SecretString;
use serde_json::json;

const CONTOSO: &str = "contoso.onmicrosoft.com";
const FABRIKAM: &str = "fabrikam.onmicrosoft.com";
const NORTHWIND: &str = "northwind.onmicrosoft.com";

fn client(sim: &Simulator) -> Cipp {
    Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .exclude(vec![TenantId::parse(NORTHWIND).unwrap()])
        .build()
        .unwrap()
}

/// A helpdesk technician: users (read and write) and every read, in Contoso and the
/// "EU" group (Fabrikam) only.
fn helpdesk(sim: &Simulator, log: &MemoryAuditLog) -> Cipp {
    let role = Role::custom("helpdesk")
        .allow("Identity.User.*")
        .allow("*.*.Read")
        .tenants(TenantScope::only([CONTOSO]).and_groups(["EU"]));
    let access = AccessControl::new(Principal::technician("alex@msp.example").with_role(role))
        .groups(TenantGroups::default().with("EU", [FABRIKAM]))
        .audit(Arc::new(log.clone()));
    client(sim).with_access_control(access)
}

fn t(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn allowed_calls_run_and_refused_calls_send_nothing() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let cipp = helpdesk(&sim, &log);
    let contoso = cipp.tenant(&t(CONTOSO)).unwrap();

    // Identity.User.ReadWrite in Contoso: allowed, audited, the password not in the event.
    let adele = contoso.user("adelev@contoso.com").unwrap();
    let r = adele
        .reset_password(
            Some(SecretString::from("Correct-Horse-9!")),
            &PasswordStyle::default(),
            true,
            Guard::RefusePrivileged,
        )
        .await
        .unwrap();
    assert!(r.report.overall().is_ok());

    // Each refused area sends nothing to the tenant.
    sim.clear_log();
    let refusals = [
        (
            "Exchange.Mailbox.ReadWrite",
            adele.hide_from_address_lists(true).await.unwrap_err(),
        ),
        (
            "Identity.Group.ReadWrite",
            adele
                .add_to_groups(&["00000000-0000-4000-8000-000000000001".into()])
                .await
                .unwrap_err(),
        ),
        (
            "Sharepoint.Site.ReadWrite",
            adele.provision_onedrive().await.unwrap_err(),
        ),
    ];
    for (permission, err) in &refusals {
        assert!(err.is_forbidden(), "{err}");
        assert!(err.to_string().contains(permission), "{err}");
    }
    assert!(sim.request_log().is_empty(), "{:?}", sim.request_log());

    // Reads are allowed everywhere in scope; a tenant outside the scope is refused.
    assert!(adele.view().await.is_ok());
    let fabrikam = cipp.tenant(&t(FABRIKAM)).unwrap();
    assert!(fabrikam
        .create_user(&CreateUser::new("Temp", "temp"))
        .await
        .is_ok());
    sim.clear_log();
    // The excluded Northwind: no handle at all, nothing sent.
    let err = cipp.tenant(&t(NORTHWIND)).unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(
        err.to_string().contains("excluded") && err.to_string().contains("CippBuilder::exclude"),
        "excluded from the fleet, with what to do: {err}"
    );
    assert!(sim.request_log().is_empty());

    // The audit trail: the writes and every refusal, secrets removed.
    let events = log.events();
    let reset = events
        .iter()
        .find(|e| e.operation == "user.reset_password")
        .unwrap();
    assert_eq!(reset.principal, "alex@msp.example");
    assert_eq!(reset.tenant.as_deref(), Some(CONTOSO));
    assert_eq!(reset.target.as_deref(), Some("adelev@contoso.com"));
    assert_eq!(reset.outcome, AuditOutcome::Succeeded);
    assert_eq!(reset.permission, "Identity.User.ReadWrite");
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("Correct-Horse"), "no password in the trail");
    let refused: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e.outcome, AuditOutcome::Refused { .. }))
        .map(|e| e.operation.as_str())
        .collect();
    assert_eq!(
        refused,
        [
            "user.hide_from_address_lists",
            "user.add_to_groups",
            "user.provision_onedrive"
        ],
        "operations refused are recorded; no handle on Northwind was ever made"
    );
    assert!(events.iter().any(|e| e.operation == "user.create"
        && e.tenant.as_deref() == Some(FABRIKAM)
        && e.outcome == AuditOutcome::Succeeded));
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_is_recorded_with_its_error() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let cipp = helpdesk(&sim, &log);
    let err = cipp
        .tenant(&t(CONTOSO))
        .unwrap()
        .user("nobody@contoso.com")
        .unwrap()
        .revoke_sessions()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let e = log.events().pop().unwrap();
    assert_eq!(e.operation, "user.revoke_sessions");
    let AuditOutcome::Failed { error, request_id } = e.outcome else {
        panic!("{:?}", e.outcome)
    };
    assert!(
        error.contains("404") || error.to_lowercase().contains("not"),
        "{error}"
    );
    assert!(request_id.is_some(), "the service's request id is kept");
}

#[tokio::test(start_paused = true)]
async fn templates_deploy_needs_standards_permission_per_tenant() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let cipp = helpdesk(&sim, &log);
    let group = Template::new(
        TemplateKind::Group,
        "Helpdesk",
        json!({"displayName": "Helpdesk", "groupType": "generic", "username": "helpdesk"}),
    );
    sim.clear_log();
    let report = deploy(
        &cipp,
        &[group],
        vec![Tenant::new(t(CONTOSO))],
        &DeployOptions::new(),
        cipp.fleet(),
    )
    .await;
    let err = report.tenants[0].error.as_ref().unwrap();
    assert!(matches!(err, DeployError::Forbidden(_)), "{err}");
    assert!(err.to_string().contains("Tenant.Standards.ReadWrite"));
    assert!(sim.request_log().is_empty());
}

#[tokio::test(start_paused = true)]
async fn no_access_control_means_unrestricted_and_exclusions_still_hold() {
    let sim = Simulator::demo();
    let cipp = client(&sim);
    assert!(cipp.access_control().is_none());
    let contoso = cipp.tenant(&t(CONTOSO)).unwrap();
    contoso
        .user("adelev@contoso.com")
        .unwrap()
        .hide_from_address_lists(true)
        .await
        .unwrap();
    let err = cipp.tenant(&t(NORTHWIND)).unwrap_err();
    assert!(err.to_string().contains("excluded"), "{err}");
    // An exclusion written as a domain also refuses the tenant's GUID: the handle exists
    // (the client has not learnt the domain yet) but its first check looks the domain up.
    let guid = sim.lock_state().tenant(NORTHWIND).unwrap().id.clone();
    let handle = cipp.tenant(&t(&guid)).unwrap();
    let err = handle
        .authorize("anything", &Permission::IDENTITY_USER_READ)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("excluded"), "{err}");
    // Now known: the handle itself is refused.
    assert!(cipp.tenant(&t(&guid)).unwrap_err().is_forbidden());
}

/// A role scoped by domain covers a handle made from the tenant's GUID once the client
/// knows the tenant's domains: from the fleet listing, or looked up by
/// `Cipp::resolve_tenant` (and by any check the scope alone refuses).
#[tokio::test]
async fn scopes_naming_a_domain_cover_a_handle_by_guid() {
    let sim = Simulator::demo();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant_relationships(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap();
    let role = Role::editor().tenants(TenantScope::only(["contoso.com"]));
    let tech = || {
        cipp.with_access_control(AccessControl::new(
            Principal::technician("t").with_role(role.clone()),
        ))
    };
    let guid = sim.lock_state().tenant("contoso.com").unwrap().id.clone();
    let other = sim.lock_state().tenant("fabrikam.com").unwrap().id.clone();

    // Before anything is learnt the client knows only the GUID: `tenant` refuses, with
    // the way out in the advice; `resolve_tenant` looks the scope's domain up.
    let first = tech();
    let err = first.tenant(&t(&guid)).unwrap_err();
    assert!(err.to_string().contains("resolve_tenant"), "{err}");
    let handle = first.resolve_tenant(&t(&guid)).await.unwrap();
    let perm = &Permission::IDENTITY_USER_READ;
    handle.authorize("test", perm).await.unwrap();
    assert_eq!(
        sim.request_log()
            .iter()
            .filter(|r| r.path.contains("findTenantInformationByDomainName"))
            .count(),
        1,
        "one lookup for the scope's one domain: {:?}",
        sim.request_log()
    );
    assert!(first.tenant(&t(&guid)).is_ok(), "remembered");
    assert!(first
        .resolve_tenant(&t(&other))
        .await
        .unwrap_err()
        .is_forbidden());

    // Or the fleet listing teaches the client the domains.
    let second = tech();
    assert_eq!(second.tenants().await.unwrap().len(), 3);
    second.tenant(&t(&guid)).unwrap();
    assert!(second.tenant(&t(&other)).unwrap_err().is_forbidden());
}

/// `resolve_tenant` records the refusal of a tenant outside the scope (`tenant.open`);
/// `tenant` refuses the same without a record.
#[tokio::test(start_paused = true)]
async fn resolve_tenant_records_a_refused_tenant() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let cipp = helpdesk(&sim, &log);
    assert!(cipp.tenant(&t(NORTHWIND)).unwrap_err().is_forbidden());
    assert!(log.events().is_empty());
    let err = cipp.resolve_tenant(&t(NORTHWIND)).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let events = log.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].operation, "tenant.open");
    assert_eq!(events[0].tenant.as_deref(), Some(NORTHWIND));
    assert!(matches!(events[0].outcome, AuditOutcome::Refused { .. }));
    assert!(cipp.resolve_tenant(&t(CONTOSO)).await.is_ok());
    assert_eq!(log.events().len(), 1);
    assert!(sim.request_log().is_empty(), "{:?}", sim.request_log());
}
