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
    let contoso = cipp.tenant(&t(CONTOSO));

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
    let fabrikam = cipp.tenant(&t(FABRIKAM));
    assert!(fabrikam
        .create_user(&CreateUser::new("Temp", "temp"))
        .await
        .is_ok());
    sim.clear_log();
    let northwind = cipp.tenant(&t(NORTHWIND));
    let err = northwind
        .user("someone@northwind.com")
        .unwrap()
        .revoke_sessions()
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(
        err.to_string().contains("excluded"),
        "excluded from the fleet: {err}"
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
            "user.provision_onedrive",
            "user.revoke_sessions"
        ]
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
    let contoso = cipp.tenant(&t(CONTOSO));
    contoso
        .user("adelev@contoso.com")
        .unwrap()
        .hide_from_address_lists(true)
        .await
        .unwrap();
    let err = cipp
        .tenant(&t(NORTHWIND))
        .authorize("anything", &Permission::IDENTITY_USER_READ)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("excluded"), "{err}");
}

/// A role scoped by domain covers a handle made from the tenant's GUID once the fleet
/// listing has told the client the tenant's domains.
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
    let tech = cipp.with_access_control(AccessControl::new(
        Principal::technician("t").with_role(role),
    ));
    let guid = sim.lock_state().tenant("contoso.com").unwrap().id.clone();
    let handle = tech.tenant(&TenantId::parse(&guid).unwrap());
    // Before the fleet is listed the client knows only the GUID: refused.
    let perm = &cipp::authz::Permission::IDENTITY_USER_READ;
    assert!(handle.authorize("test", perm).await.is_err());
    let tenants = tech.tenants().await.unwrap();
    assert_eq!(tenants.len(), 3);
    handle.authorize("test", perm).await.unwrap();
    // Another tenant stays out of scope.
    let other = sim.lock_state().tenant("fabrikam.com").unwrap().id.clone();
    assert!(tech
        .tenant(&TenantId::parse(&other).unwrap())
        .authorize("test", perm)
        .await
        .is_err());
}
