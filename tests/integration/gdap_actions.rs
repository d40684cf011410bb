//! GDAP writes under access control on the simulator: an admin's access assignment is
//! audited with its target, an editor (no `Tenant.Relationship.ReadWrite`) is refused with
//! nothing sent and the refusal recorded, a failing write is recorded with the service's
//! request id, and `Cipp::tenant` refuses an excluded tenant.

use std::sync::Arc;

use cipp::authz::{AccessControl, AuditOutcome, MemoryAuditLog, Principal, Role};
use cipp::gdap::GdapActions;
use cipp::graph::gdap::{roles, AutoExtend, NewRelationship};
use cipp::graph::model::{GroupId, NewGroup};
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::{Cipp, TenantId};

const NORTHWIND: &str = "northwind.onmicrosoft.com";

fn t(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn client(sim: &Simulator) -> Cipp {
    Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .exclude(vec![t(NORTHWIND)])
        .build()
        .unwrap()
}

fn acting_as(sim: &Simulator, role: Role, log: &MemoryAuditLog) -> GdapActions {
    let access = AccessControl::new(Principal::technician("alex@msp.example").with_role(role))
        .audit(Arc::new(log.clone()));
    let cipp = client(sim).with_access_control(access);
    GdapActions::new(&cipp.tenant(&t(DEMO_PARTNER)).unwrap())
}

/// A security group in the partner tenant, to receive roles.
async fn partner_group(sim: &Simulator, name: &str) -> GroupId {
    let raw = client(sim).tenant(&t(DEMO_PARTNER)).unwrap();
    raw.graph()
        .groups()
        .create(&NewGroup::security(name, &name.replace(' ', "")))
        .await
        .expect("group created")
        .id
        .expect("group id")
}

#[tokio::test(start_paused = true)]
async fn an_admin_creates_an_access_assignment_audited_with_its_target() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let gdap = acting_as(&sim, Role::admin(), &log);
    let group = partner_group(&sim, "M365 GDAP User Administrator").await;

    let relationships = gdap.relationships().await.unwrap();
    assert_eq!(
        relationships.len(),
        3,
        "one active relationship per customer"
    );
    let rel = &relationships[0];
    let user_admin = roles::role_id("User Administrator").unwrap().to_owned();
    let assignment = gdap
        .create_access_assignment(rel, &group, std::slice::from_ref(&user_admin))
        .await
        .unwrap();
    assert_eq!(assignment.group_id(), Some(group.as_str()));
    let listed = gdap.access_assignments(&rel.id).await.unwrap();
    assert!(listed.iter().any(|a| a.id == assignment.id));

    let events = log.events();
    assert_eq!(events.len(), 1, "reads are not recorded: {events:?}");
    let e = &events[0];
    assert_eq!(e.operation, "gdap.create_access_assignment");
    assert_eq!(e.permission, "Tenant.Relationship.ReadWrite");
    assert_eq!(e.principal, "alex@msp.example");
    assert_eq!(e.tenant.as_deref(), Some(DEMO_PARTNER));
    assert_eq!(e.target.as_deref(), Some(rel.id.as_str()));
    assert_eq!(e.outcome, AuditOutcome::Succeeded);
    assert_eq!(e.parameters["group"], group.as_str());
    assert_eq!(e.parameters["roles"][0], user_admin.as_str());

    // Creating a relationship records the new relationship's id as its target.
    let created = gdap
        .create_relationship(&NewRelationship {
            display_name: "CIPP_adatum".into(),
            duration: "P730D".into(),
            roles: vec![user_admin.clone()],
            customer: None,
            auto_extend: AutoExtend::SixMonths,
        })
        .await
        .unwrap();
    gdap.lock_for_approval(&created.id).await.unwrap();
    let events = log.events();
    let ops: Vec<(&str, Option<&str>)> = events[1..]
        .iter()
        .map(|e| (e.operation.as_str(), e.target.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            ("gdap.create_relationship", Some(created.id.as_str())),
            ("gdap.lock_for_approval", Some(created.id.as_str())),
        ]
    );
    assert!(events.iter().all(|e| e.outcome == AuditOutcome::Succeeded));
}

#[tokio::test(start_paused = true)]
async fn an_editor_is_refused_gdap_writes_with_nothing_sent() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let gdap = acting_as(&sim, Role::editor(), &log);
    let group = partner_group(&sim, "M365 GDAP Helpdesk Administrator").await;

    // The editor may read relationships (Tenant.Relationship.Read)...
    let rel = gdap.relationships().await.unwrap().remove(0);
    let role = roles::role_id("Helpdesk Administrator").unwrap().to_owned();

    // ...but every write is refused before anything is sent.
    let before = sim.log().entries().len();
    let refusals = [
        gdap.create_access_assignment(&rel, &group, std::slice::from_ref(&role))
            .await
            .unwrap_err(),
        gdap.terminate(&rel.id).await.unwrap_err(),
        gdap.create_relationship(&NewRelationship {
            display_name: "CIPP_adatum".into(),
            duration: "P730D".into(),
            roles: vec![role.clone()],
            customer: None,
            auto_extend: AutoExtend::SixMonths,
        })
        .await
        .unwrap_err(),
        gdap.enable_auto_extend().await.unwrap_err(),
    ];
    assert_eq!(sim.log().entries().len(), before, "0 requests sent");
    for err in &refusals {
        assert!(err.is_forbidden(), "{err}");
        assert!(
            err.to_string().contains("Tenant.Relationship.ReadWrite"),
            "{err}"
        );
    }

    let events = log.events();
    let refused: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e.outcome, AuditOutcome::Refused { .. }))
        .map(|e| e.operation.as_str())
        .collect();
    assert_eq!(
        refused,
        [
            "gdap.create_access_assignment",
            "gdap.terminate",
            "gdap.create_relationship",
            "gdap.enable_auto_extend"
        ]
    );
    let e = &events[0];
    assert_eq!(e.target.as_deref(), Some(rel.id.as_str()));
    assert_eq!(e.permission, "Tenant.Relationship.ReadWrite");
    assert_eq!(e.tenant.as_deref(), Some(DEMO_PARTNER));

    // The relationship is untouched.
    let still = gdap.relationship(&rel.id).await.unwrap();
    assert!(still.is_active());
    assert!(gdap.access_assignments(&rel.id).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_readonly_principal_reads_and_no_role_cannot() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    assert_eq!(
        acting_as(&sim, Role::readonly(), &log)
            .relationships()
            .await
            .unwrap()
            .len(),
        3
    );
    let nobody = acting_as(
        &sim,
        Role::custom("users only").allow("Identity.User.*"),
        &log,
    );
    let before = sim.log().entries().len();
    let err = nobody.relationships().await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(
        err.to_string().contains("Tenant.Relationship.Read"),
        "{err}"
    );
    assert_eq!(sim.log().entries().len(), before);
    let e = log.events().pop().unwrap();
    assert_eq!(e.operation, "gdap.relationships");
    assert!(matches!(e.outcome, AuditOutcome::Refused { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_failing_gdap_write_is_recorded_with_the_request_id() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    let gdap = acting_as(&sim, Role::admin(), &log);
    let missing = "00000000-0000-4000-8000-0000000000aa";
    let err = gdap.terminate(missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let events = log.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.operation, "gdap.terminate");
    assert_eq!(e.target.as_deref(), Some(missing));
    let AuditOutcome::Failed { error, request_id } = &e.outcome else {
        panic!("{:?}", e.outcome)
    };
    assert!(
        error.contains("404") || error.contains("not found"),
        "{error}"
    );
    let request_id = request_id.as_deref().expect("the service's request id");
    assert_eq!(Some(request_id), err.request_id());
}

#[tokio::test(start_paused = true)]
async fn tenant_refuses_an_excluded_tenant() {
    let sim = Simulator::demo();
    let cipp = client(&sim);
    let err = cipp.tenant(&t(NORTHWIND)).unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(NORTHWIND) && text.contains("excluded"),
        "{text}"
    );
    let contoso = cipp.tenant(&t("contoso.onmicrosoft.com")).unwrap();
    assert_eq!(contoso.id().as_str(), "contoso.onmicrosoft.com");

    // A GDAP write through the partner's handle is checked in the customer's tenant too:
    // terminating the relationship with the excluded Northwind is refused after reading the
    // relationship (and looking up Northwind's domain), with no write sent.
    let log = MemoryAuditLog::new();
    let admin = cipp.with_access_control(
        AccessControl::new(Principal::technician("alex@msp.example").with_role(Role::admin()))
            .audit(Arc::new(log.clone())),
    );
    let northwind = sim.lock_state().tenant(NORTHWIND).unwrap().id.clone();
    let gdap = GdapActions::new(&admin.tenant(&t(DEMO_PARTNER)).unwrap());
    let rel = gdap
        .relationships()
        .await
        .unwrap()
        .into_iter()
        .find(|r| {
            r.customer
                .as_ref()
                .is_some_and(|c| c.tenant_id == northwind)
        })
        .expect("a relationship with Northwind");
    let writes = sim.log().writes().len();
    let err = gdap.terminate(&rel.id).await.unwrap_err();
    assert!(
        err.is_forbidden() && err.to_string().contains("excluded"),
        "{err}"
    );
    assert!(err.to_string().contains("CippBuilder::exclude"), "{err}");
    assert_eq!(sim.log().writes().len(), writes, "nothing written");
    let events = log.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].operation, "gdap.terminate");
    assert_eq!(events[0].tenant.as_deref(), Some(northwind.as_str()));
    assert!(matches!(events[0].outcome, AuditOutcome::Refused { .. }));
    assert!(gdap.relationship(&rel.id).await.unwrap().is_active());
}

/// A helpdesk role scoped to Contoso may change Contoso's relationship but not
/// Fabrikam's, and not the fleet-wide workflows; an unrestricted admin reads nothing extra.
#[tokio::test(start_paused = true)]
async fn gdap_writes_are_checked_in_the_customer_tenant() {
    let sim = Simulator::demo();
    let plain = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap();
    let (contoso, fabrikam) = {
        let st = sim.lock_state();
        (
            st.tenant("contoso.com").unwrap().id.clone(),
            st.tenant("fabrikam.com").unwrap().id.clone(),
        )
    };
    let log = MemoryAuditLog::new();
    let role = Role::custom("gdap-contoso")
        .allow("Tenant.Relationship.ReadWrite")
        .tenants(cipp::authz::TenantScope::only([
            DEMO_PARTNER,
            "contoso.com",
        ]));
    let scoped = plain.with_access_control(
        AccessControl::new(Principal::technician("sam@msp.example").with_role(role))
            .audit(Arc::new(log.clone())),
    );
    let gdap = GdapActions::new(&scoped.tenant(&t(DEMO_PARTNER)).unwrap());
    let rels = gdap.relationships().await.unwrap();
    let of = |id: &str| {
        rels.iter()
            .find(|r| r.customer.as_ref().is_some_and(|c| c.tenant_id == id))
            .cloned()
            .unwrap()
    };
    let group = partner_group(&sim, "M365 GDAP User Administrator").await;
    let user_admin = roles::role_id("User Administrator").unwrap().to_owned();

    // Contoso (in scope by domain, its GUID resolved through the partner): allowed.
    gdap.create_access_assignment(&of(&contoso), &group, std::slice::from_ref(&user_admin))
        .await
        .unwrap();
    // Fabrikam: refused in Fabrikam's tenant, nothing sent.
    let writes = sim.log().writes().len();
    let err = gdap
        .create_access_assignment(&of(&fabrikam), &group, std::slice::from_ref(&user_admin))
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(err.to_string().contains("tenant scope"), "{err}");
    let err = gdap.enable_auto_extend().await.unwrap_err();
    assert!(
        err.is_forbidden() && err.to_string().contains("every tenant"),
        "{err}"
    );
    assert_eq!(sim.log().writes().len(), writes, "nothing written");
    let outcomes: Vec<(String, Option<String>, bool)> = log
        .events()
        .iter()
        .map(|e| {
            (
                e.operation.clone(),
                e.tenant.clone(),
                matches!(e.outcome, AuditOutcome::Refused { .. }),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "gdap.create_access_assignment".into(),
                Some(DEMO_PARTNER.into()),
                false
            ),
            (
                "gdap.create_access_assignment".into(),
                Some(fabrikam.clone()),
                true
            ),
            (
                "gdap.enable_auto_extend".into(),
                Some(DEMO_PARTNER.into()),
                true
            ),
        ]
    );

    // An unrestricted admin without exclusions: a terminate is one request, no extra read.
    let admin = plain.with_access_control(AccessControl::new(
        Principal::technician("alex@msp.example").with_role(Role::admin()),
    ));
    let before = sim.log().entries().len();
    GdapActions::new(&admin.tenant(&t(DEMO_PARTNER)).unwrap())
        .terminate(&of(&fabrikam).id)
        .await
        .unwrap();
    let sent: Vec<String> = sim.log().entries()[before..]
        .iter()
        .filter(|e| !e.path.contains("/oauth2/"))
        .map(|e| e.method.clone())
        .collect();
    assert_eq!(sent, ["POST"]);
}
