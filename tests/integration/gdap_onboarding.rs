//! GDAP onboarding on the simulator: role templates in the key-value store, the whole
//! onboarding (invite → waiting for approval → resumed after the customer approved →
//! pending assignments → consent → access check) resumed from its persisted step by a new
//! runner and by the `gdap.onboard` command, and the service-account membership report
//! with one nested membership, one PIM-eligible one and one missing one.

use std::sync::{Arc, Mutex};

use cipp::authz::{AccessControl, AuditOutcome, MemoryAuditLog, Principal, Role};
use cipp::gdap::GdapActions;
use cipp::gdap_membership::{account_access, Membership};
use cipp::gdap_templates::{GdapRoleTemplate, GdapRoleTemplates};
use cipp::graph::gdap::roles;
use cipp::onboarding::{
    register_gdap_onboarding, ConsentSpec, Onboarding, OnboardingEvent, OnboardingRequest,
    ResourcePermissions, Step, StepStatus,
};
use cipp::scheduler::command::{CommandOutput, Registry, RunContext};
use cipp::scheduler::kv::{KvStore, MemoryKv};
use cipp::sim::scenario::{DEMO_CLIENT_ID, DEMO_PARTNER};
use cipp::sim::state::{paths, synthetic_guid, SimTenant};
use cipp::sim::Simulator;
use cipp::{Cipp, TenantId};
use serde_json::json;

const TAILSPIN: &str = "tailspin.onmicrosoft.com";
const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";

fn t(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

/// The demo plus Tailspin Toys, a tenant with no relationship yet, whose Microsoft Graph
/// service principal offers `User.Read.All`.
fn simulator() -> Simulator {
    let sim = Simulator::demo();
    let mut tailspin = SimTenant::new(&synthetic_guid(TAILSPIN), "Tailspin Toys", TAILSPIN)
        .with_default_domain("tailspintoys.com");
    tailspin
        .directory
        .store
        .get_mut(paths::SERVICE_PRINCIPALS)
        .insert(json!({
            "id": synthetic_guid("tailspin-graph-sp"),
            "appId": GRAPH_APP,
            "displayName": "Microsoft Graph",
            "appRoles": [{"id": USER_READ_ALL, "value": "User.Read.All",
                "allowedMemberTypes": ["Application"], "isEnabled": true}]
        }));
    sim.add_tenant(tailspin);
    sim
}

fn admin(sim: &Simulator, log: &MemoryAuditLog) -> GdapActions {
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap();
    let access =
        AccessControl::new(Principal::technician("alex@msp.example").with_role(Role::admin()))
            .audit(Arc::new(log.clone()));
    let cipp = cipp.with_access_control(access);
    GdapActions::new(&cipp.tenant(&t(DEMO_PARTNER)).unwrap())
}

fn request() -> OnboardingRequest {
    let mut consent = ConsentSpec::cpv(DEMO_CLIENT_ID);
    consent.application.push(ResourcePermissions {
        resource_app_id: GRAPH_APP.into(),
        permissions: vec!["User.Read.All".into()],
    });
    OnboardingRequest {
        display_name: "CIPP_tailspin".into(),
        mappings: vec![],
        template: Some("Helpdesk".into()),
        relationship_id: None,
        consent,
    }
}

fn helpdesk_roles() -> Vec<String> {
    ["User Administrator", "Exchange Administrator"]
        .iter()
        .map(|r| roles::role_id(r).unwrap().to_owned())
        .collect()
}

fn status(state: &cipp::onboarding::OnboardingState, step: Step) -> StepStatus {
    state
        .result(step)
        .unwrap_or_else(|| panic!("no result for {step:?}"))
        .status
}

#[tokio::test(start_paused = true)]
async fn role_templates_are_versioned_and_checked() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let gdap = admin(&sim, &log);
    let templates = GdapRoleTemplates::new(Arc::new(MemoryKv::new()));
    let (template, report) = gdap
        .template_from_roles(&templates, "Helpdesk", &helpdesk_roles(), None)
        .await
        .unwrap();
    assert!(!report.overall().is_failure(), "{report:?}");
    assert_eq!(template.mappings.len(), 2);
    // Sorted by group name, as CIPP keeps them.
    assert_eq!(
        template.mappings[0].group_name,
        "M365 GDAP Exchange Administrator"
    );
    let stored = templates.get("HELPDESK").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(templates.list().await.unwrap().len(), 1);
    // A stale version is refused; the right one replaces.
    let err = gdap
        .save_role_template(&templates, &stored.template, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("version 1"), "{err}");
    assert_eq!(
        gdap.save_role_template(&templates, &stored.template, Some(1))
            .await
            .unwrap(),
        2
    );
    // A reserved group is refused before anything is stored.
    let mut bad = stored.template.mappings.clone();
    bad[0].group_name = "AdminAgents".into();
    assert!(templates
        .save(&GdapRoleTemplate::new("Bad", bad), None)
        .await
        .is_err());
    assert!(templates.get("bad").await.unwrap().is_none());
    // Saves are audited; a readonly principal is refused.
    assert!(log
        .events()
        .iter()
        .any(|e| e.operation == "gdap.save_template" && e.outcome == AuditOutcome::Succeeded));
    gdap.delete_role_template(&templates, "helpdesk")
        .await
        .unwrap();
    assert!(templates.get("helpdesk").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn onboarding_waits_for_approval_and_resumes_to_the_end() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let gdap = admin(&sim, &log);
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    let templates = GdapRoleTemplates::new(kv.clone());
    gdap.template_from_roles(&templates, "Helpdesk", &helpdesk_roles(), None)
        .await
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = {
        let events = events.clone();
        move |e: &OnboardingEvent| events.lock().unwrap().push(e.clone())
    };

    let onboarding = Onboarding::new(gdap.clone(), kv.clone()).with_templates(templates.clone());
    onboarding.start("tailspin", request()).await.unwrap();
    let state = onboarding.resume("tailspin", &seen).await.unwrap();
    assert_eq!(status(&state, Step::Invite), StepStatus::Done);
    assert_eq!(status(&state, Step::Approval), StepStatus::Waiting);
    assert_eq!(state.next, Step::Approval);
    let rel = state.relationship_id.clone().unwrap();
    assert!(state.invite_url.as_deref().unwrap().ends_with(&rel));
    assert!(state
        .result(Step::Approval)
        .unwrap()
        .detail
        .contains("approvalPending"));

    // Resumed again before approval: still waiting, no second relationship.
    let state = onboarding.resume("tailspin", &seen).await.unwrap();
    assert_eq!(state.next, Step::Approval);
    let posts = "POST /v1.0/tenantRelationships/delegatedAdminRelationships";
    sim.log()
        .expect_count("POST", posts.trim_start_matches("POST "), 1)
        .unwrap();

    // The customer approves; a new runner (another process) continues from the store.
    sim.approve_relationship(DEMO_PARTNER, &rel, TAILSPIN)
        .unwrap();
    let later = Onboarding::new(gdap.clone(), kv.clone()).with_templates(templates.clone());
    let state = later.resume("tailspin", &seen).await.unwrap();
    assert_eq!(status(&state, Step::Approval), StepStatus::Done);
    assert_eq!(
        state.customer_tenant_id.as_deref(),
        Some(synthetic_guid(TAILSPIN).as_str())
    );
    // Assignments are provisioned asynchronously: pending at first.
    assert_eq!(
        status(&state, Step::MapRoles),
        StepStatus::Waiting,
        "{state:#?}"
    );
    assert_eq!(state.next, Step::MapRoles);

    let state = later.resume("tailspin", &seen).await.unwrap();
    assert!(state.is_done(), "{state:#?}");
    for step in [Step::MapRoles, Step::Consent, Step::CheckAccess] {
        assert_eq!(
            status(&state, step),
            StepStatus::Done,
            "{step:?}: {state:#?}"
        );
    }

    // The partner app is consented in Tailspin: service principal, grant, app role.
    {
        let st = sim.lock_state();
        let tailspin = st.tenant(TAILSPIN).unwrap();
        let sp = tailspin
            .directory
            .service_principals()
            .items()
            .iter()
            .find(|s| s["appId"] == DEMO_CLIENT_ID)
            .cloned()
            .expect("partner app service principal");
        let grants = tailspin.directory.store.get(paths::GRANTS).items().to_vec();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0]["clientId"], sp["id"]);
        assert!(grants[0]["scope"]
            .as_str()
            .unwrap()
            .contains("Directory.ReadWrite.All"));
        let roles = tailspin
            .directory
            .store
            .get(paths::APP_ROLE_ASSIGNMENTS)
            .items()
            .to_vec();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0]["appRoleId"], USER_READ_ALL);
    }

    // Progress: every step started and finished, the waits included.
    let events = events.lock().unwrap().clone();
    let finished: Vec<(Step, StepStatus)> = events
        .iter()
        .filter_map(|e| match e {
            OnboardingEvent::Finished { result, .. } => Some((result.step, result.status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        finished,
        vec![
            (Step::Invite, StepStatus::Done),
            (Step::Approval, StepStatus::Waiting),
            (Step::Approval, StepStatus::Waiting),
            (Step::Approval, StepStatus::Done),
            (Step::MapRoles, StepStatus::Waiting),
            (Step::MapRoles, StepStatus::Done),
            (Step::Consent, StepStatus::Done),
            (Step::CheckAccess, StepStatus::Done),
        ]
    );

    // Every write audited; the consent in the customer's tenant.
    let audit = log.events();
    for op in ["gdap.invite", "gdap.apply_mappings", "gdap.onboard.consent"] {
        assert!(audit.iter().any(|e| e.operation == op), "{op} not audited");
    }
    let consent = audit
        .iter()
        .find(|e| e.operation == "gdap.onboard.consent")
        .unwrap();
    assert_eq!(
        consent.tenant.as_deref(),
        Some(synthetic_guid(TAILSPIN).as_str())
    );

    // A finished onboarding sends nothing more.
    sim.clear_log();
    let state = later.resume("tailspin", &seen).await.unwrap();
    assert!(state.is_done());
    assert!(sim.request_log().is_empty());

    // A second consent run changes nothing (already granted and assigned).
    let again = Onboarding::new(gdap, kv.clone());
    let mut r = request();
    r.template = None;
    r.mappings = state.mappings.clone();
    r.relationship_id = Some(rel);
    again.start("tailspin-again", r).await.unwrap();
    let state = again.resume("tailspin-again", &|_| {}).await.unwrap();
    assert!(state.is_done(), "{state:#?}");
    let report = &state.result(Step::Consent).unwrap().data;
    assert!(report.to_string().contains("already granted"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn an_editor_cannot_onboard_and_nothing_is_sent() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap()
        .with_access_control(
            AccessControl::new(Principal::technician("eve@msp.example").with_role(Role::editor()))
                .audit(Arc::new(log.clone())),
        );
    let gdap = GdapActions::new(&cipp.tenant(&t(DEMO_PARTNER)).unwrap());
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    let onboarding = Onboarding::new(gdap, kv);
    let mut r = request();
    r.template = None;
    r.mappings = vec![cipp::graph::gdap::workflow::RoleMapping {
        role_name: "User Administrator".into(),
        role_definition_id: helpdesk_roles()[0].clone(),
        group_id: synthetic_guid("some-group"),
        group_name: "M365 GDAP User Administrator".into(),
    }];
    onboarding.start("x", r).await.unwrap();
    sim.clear_log();
    let err = onboarding.resume("x", &|_| {}).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(sim.log().writes().is_empty());
    // The step was not recorded: it runs again once the role allows it.
    let state = onboarding.state("x").await.unwrap().unwrap();
    assert_eq!(state.next, Step::Invite);
    assert!(state.results.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_onboard_command_resumes_from_the_persisted_step() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let gdap = admin(&sim, &log);
    let cipp = gdap.handle().cipp().clone();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    let templates = GdapRoleTemplates::new(kv.clone());
    gdap.template_from_roles(&templates, "Helpdesk", &helpdesk_roles(), None)
        .await
        .unwrap();
    let mut registry = Registry::new();
    register_gdap_onboarding(&mut registry, &cipp, kv.clone(), Some(templates));
    let cmd = registry.get("gdap.onboard").unwrap().clone();
    let params = json!({"id": "tailspin", "request": serde_json::to_value(request()).unwrap()});
    assert!(cmd.validate(&params).is_ok());
    assert!(cmd.validate(&json!({"id": "x", "other": 1})).is_err());
    let ctx = || RunContext {
        task_id: "task".into(),
        run_id: "run".into(),
        tenant: DEMO_PARTNER.into(),
        parameters: params.clone(),
        reference: None,
    };
    // First run: invited, waiting for approval.
    match cmd.run(ctx()).await.unwrap() {
        CommandOutput::NoChange(m) => assert!(m.contains("waiting"), "{m}"),
        other => panic!("{other:?}"),
    }
    let state = Onboarding::new(gdap.clone(), kv.clone())
        .state("tailspin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.next, Step::Approval);
    sim.approve_relationship(
        DEMO_PARTNER,
        state.relationship_id.as_deref().unwrap(),
        TAILSPIN,
    )
    .unwrap();
    // Second run: pending assignments; third: done.
    match cmd.run(ctx()).await.unwrap() {
        CommandOutput::NoChange(m) => assert!(m.contains("pending"), "{m}"),
        other => panic!("{other:?}"),
    }
    match cmd.run(ctx()).await.unwrap() {
        CommandOutput::Done(v) => assert_eq!(v["next"], "done"),
        other => panic!("{other:?}"),
    }
    match cmd.run(ctx()).await.unwrap() {
        CommandOutput::NoChange(m) => assert!(m.contains("complete"), "{m}"),
        other => panic!("{other:?}"),
    }
    // One invite across every run.
    sim.log()
        .expect_count(
            "POST",
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
            1,
        )
        .unwrap();
    assert_eq!(
        cipp::commands::command_permissions("gdap.onboard"),
        Some(vec![cipp::authz::Permission::TENANT_RELATIONSHIP_READWRITE])
    );
}

#[tokio::test(start_paused = true)]
async fn membership_report_tells_nested_eligible_and_missing() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let gdap = admin(&sim, &log);
    let contoso_rel = gdap
        .relationships()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.display_name.as_deref() == Some("CIPP_contoso"))
        .unwrap();
    // Groups for three of Contoso's roles.
    let ids = [
        roles::role_id("User Administrator").unwrap().to_owned(),
        roles::role_id("Exchange Administrator").unwrap().to_owned(),
        roles::role_id("Security Administrator").unwrap().to_owned(),
    ];
    let (mappings, _) = gdap.ensure_role_groups(&ids, None).await.unwrap();
    let applied = gdap
        .apply_mappings(&contoso_rel.id, &mappings, false)
        .await
        .unwrap();
    assert!(!applied.report.overall().is_failure());
    let group = |role: &str| {
        mappings
            .iter()
            .find(|m| m.role_name == role)
            .unwrap()
            .group_id
            .clone()
    };
    let (user_admin, exchange_admin, security_admin) = (
        group("User Administrator"),
        group("Exchange Administrator"),
        group("Security Administrator"),
    );
    // Sam is in "Technicians", which is nested in the User Administrator group; Sam is
    // only eligible (PIM for Groups) for "Escalation", nested in the Exchange group; the
    // Security Administrator group has no path from Sam.
    let sam;
    {
        let mut st = sim.lock_state();
        let partner = st.tenant_mut(DEMO_PARTNER).unwrap();
        sam = partner.directory.user_id("sam@msp.example").unwrap();
        let technicians = synthetic_guid("technicians");
        let escalation = synthetic_guid("escalation");
        for (id, name) in [(&technicians, "Technicians"), (&escalation, "Escalation")] {
            partner
                .directory
                .store
                .get_mut(paths::GROUPS)
                .insert(json!({
                    "id": id, "displayName": name, "securityEnabled": true, "mailEnabled": false,
                    "groupTypes": [], "isAssignableToRole": true
                }));
        }
        partner
            .directory
            .members
            .entry(technicians.clone())
            .or_default()
            .push(sam.clone());
        partner
            .directory
            .members
            .entry(user_admin.clone())
            .or_default()
            .push(technicians);
        partner
            .directory
            .members
            .entry(exchange_admin.clone())
            .or_default()
            .push(escalation.clone());
        partner
            .directory
            .store
            .get_mut(paths::PIM_GROUP_ELIGIBILITIES)
            .insert(json!({
                "id": "elig-1", "accessId": "member", "groupId": escalation, "principalId": sam,
                "memberType": "direct", "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": null
            }));
    }
    sim.clear_log();
    let report = account_access(&gdap, "sam@msp.example").await.unwrap();
    assert_eq!(report.account_id, sam);
    let contoso = report
        .customers
        .iter()
        .find(|c| c.display_name.as_deref() == Some("Contoso Ltd"))
        .unwrap();
    let find = |list: &[cipp::gdap_membership::RoleGrant], id: &str| {
        list.iter().find(|r| r.role_definition_id == id).cloned()
    };
    let active = find(&contoso.active, &ids[0]).expect("User Administrator active");
    assert_eq!(active.groups[0].group_id, user_admin);
    assert_eq!(active.groups[0].membership, Membership::Nested);
    let eligible = find(&contoso.eligible, &ids[1]).expect("Exchange Administrator eligible");
    assert_eq!(eligible.groups[0].membership, Membership::Eligible);
    let missing = find(&contoso.missing, &ids[2]).expect("Security Administrator missing");
    assert_eq!(missing.groups[0].group_id, security_admin);
    assert_eq!(missing.groups[0].membership, Membership::NotMember);
    // Unmapped default roles are missing with no group.
    assert!(contoso.missing.iter().any(|r| r.groups.is_empty()));
    // Other customers: nothing mapped, nothing active.
    assert!(report
        .customers
        .iter()
        .filter(|c| c.tenant_id != contoso.tenant_id)
        .all(|c| c.active.is_empty() && c.eligible.is_empty()));
    // One transitive listing for the account (not one per group), the eligible group's
    // parents in a $batch.
    let log = sim.log();
    log.expect_count(
        "GET",
        "/v1.0/users/{upn}/transitiveMemberOf/microsoft.graph.group",
        1,
    )
    .unwrap();
    log.expect_count("GET", "/v1.0/groups/{id}/transitiveMembers", 0)
        .unwrap();
    log.expect_count("POST", "/v1.0/$batch", 1).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_in_progress_elsewhere_is_not_run_twice() {
    let sim = simulator();
    let log = MemoryAuditLog::new();
    let gdap = admin(&sim, &log);
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    let templates = GdapRoleTemplates::new(kv.clone());
    gdap.template_from_roles(&templates, "Helpdesk", &helpdesk_roles(), None)
        .await
        .unwrap();
    let onboarding = Onboarding::new(gdap.clone(), kv.clone()).with_templates(templates);
    onboarding.start("tailspin", request()).await.unwrap();
    // Another worker holds it.
    let stored = kv
        .get(Onboarding::NAMESPACE, "tailspin")
        .await
        .unwrap()
        .unwrap();
    let mut held = stored.value.clone();
    let until = gdap.handle().cipp().clock().now() + chrono::Duration::minutes(5);
    held["runningUntil"] = json!(until);
    kv.put(
        Onboarding::NAMESPACE,
        "tailspin",
        &held,
        Some(stored.version),
    )
    .await
    .unwrap()
    .unwrap();
    sim.clear_log();
    let err = onboarding.resume("tailspin", &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("being run elsewhere"), "{err}");
    assert!(sim.log().writes().is_empty());
    // Once its lease has passed (the worker died), the next run takes over.
    let stored = kv
        .get(Onboarding::NAMESPACE, "tailspin")
        .await
        .unwrap()
        .unwrap();
    let mut lapsed = stored.value.clone();
    lapsed["runningUntil"] = json!(until - chrono::Duration::minutes(10));
    kv.put(
        Onboarding::NAMESPACE,
        "tailspin",
        &lapsed,
        Some(stored.version),
    )
    .await
    .unwrap()
    .unwrap();
    let state = onboarding.resume("tailspin", &|_| {}).await.unwrap();
    assert_eq!(state.next, Step::Approval);
    assert_eq!(state.running_until, None);
}
