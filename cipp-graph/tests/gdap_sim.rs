//! The whole GDAP flow on the simulator: partner groups → relationship → lock → the
//! customer approves → access assignments (pending, then active) → the customer joins the
//! tenant list; ETags change on every write and a stale one is refused.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::gdap::{self, roles, AutoExtend, Gdap, NewRelationship, RelationshipPatch};
use cipp_graph::model::{AssignmentStatus, GroupId, NewGroup, RelationshipStatus};
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::scenario::DEMO_PARTNER;
use cipp_sim::{SimTenant, Simulator};
use common::{demo, tid};

const ADATUM: &str = "6d1f4c2a-0000-4000-8000-00000000ada7";

/// The demo simulator with Adatum added (not yet a customer), and the partner's Graph.
fn setup() -> (Simulator, GraphClient, TenantGraph) {
    let (sim, graph, _) = demo();
    sim.add_tenant(SimTenant::new(ADATUM, "Adatum", "adatum.onmicrosoft.com"));
    let partner = graph.tenant(&tid(DEMO_PARTNER));
    (sim, graph, partner)
}

fn new_relationship(name: &str, roles: Vec<String>, auto_extend: AutoExtend) -> NewRelationship {
    NewRelationship {
        display_name: name.into(),
        duration: "P730D".into(),
        roles,
        customer: None,
        auto_extend,
    }
}

/// Whether Adatum is among the partner's customers.
async fn adatum_is_a_customer(gdap: &Gdap) -> bool {
    gdap.customers().await.unwrap().iter().any(|c| c.tenant_id == ADATUM)
}

#[tokio::test]
async fn the_whole_gdap_flow() {
    let (sim, _graph, partner) = setup();
    let gdap = partner.gdap();
    let chosen = ["Exchange Administrator", "User Administrator"];
    let mut groups = Vec::new();
    for role in chosen {
        let name = roles::group_name(role, None);
        let nickname = roles::group_mail_nickname(role, None);
        let g = partner.groups().create(&NewGroup::security(&name, &nickname)).await.unwrap();
        groups.push((role, g.id.unwrap().0));
    }
    let role_ids: Vec<String> =
        chosen.iter().map(|r| roles::role_id(r).unwrap().to_owned()).collect();
    let new = new_relationship("CIPP_adatum", role_ids.clone(), AutoExtend::SixMonths);
    let rel = gdap.create_relationship(&new).await.unwrap();
    assert_eq!(rel.status, Some(RelationshipStatus::Created));
    // Not active yet: the SDK refuses to assign access.
    let first_group = GroupId::from(groups[0].1.as_str());
    let early = gdap.create_access_assignment(&rel, &first_group, &role_ids[..1]).await;
    assert!(early.is_err());
    // A rename while created bumps the ETag; the old one is then stale (412).
    let rename =
        RelationshipPatch { display_name: Some("CIPP_adatum_2y".into()), ..Default::default() };
    let renamed = gdap.update_relationship(&rel, &rename).await.unwrap();
    assert_ne!(renamed.etag, rel.etag);
    let shorter = RelationshipPatch { duration: Some("P365D".into()), ..Default::default() };
    let stale = gdap.update_relationship(&rel, &shorter).await.unwrap_err();
    let api = stale.as_api().unwrap();
    assert_eq!((api.status.as_u16(), api.kind), (412, ApiErrorKind::Conflict));

    gdap.lock_for_approval(&rel.id).await.unwrap();
    let pending = gdap.relationship(&rel.id).await.unwrap();
    assert_eq!(pending.status, Some(RelationshipStatus::ApprovalPending));
    assert!(gdap::invite_url(&rel.id).ends_with(&rel.id));
    assert!(!adatum_is_a_customer(&gdap).await);

    sim.approve_relationship(DEMO_PARTNER, &rel.id, ADATUM).unwrap();
    let active = gdap.relationship(&rel.id).await.unwrap();
    assert!(active.is_active());
    let lasts = active.end_date_time.unwrap() - active.activated_date_time.unwrap();
    assert_eq!(lasts, chrono::Duration::days(730));
    for (i, (_, group)) in groups.iter().enumerate() {
        let group = GroupId::from(group.as_str());
        let a = gdap.create_access_assignment(&active, &group, &role_ids[i..=i]).await.unwrap();
        assert_eq!(a.status, Some(AssignmentStatus::Pending));
    }
    let assignments: Vec<_> = gdap.access_assignments(&rel.id).collect().await.unwrap();
    assert_eq!(assignments.len(), 2);
    let now: Vec<_> = gdap.access_assignments(&rel.id).collect().await.unwrap();
    assert!(now.iter().all(|a| a.status == Some(AssignmentStatus::Active)));
    // Widen the first assignment to both roles: an operation is recorded.
    gdap.update_access_assignment(&rel.id, &now[0], &role_ids).await.unwrap();
    let ops: Vec<_> = gdap.operations(&rel.id).collect().await.unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].data_json().unwrap()["id"], now[0].id.as_str());
    // The stale ETag of the first assignment no longer deletes it.
    assert!(gdap.delete_access_assignment(&rel.id, &now[0]).await.is_err());
    gdap.delete_access_assignment(&rel.id, &now[1]).await.unwrap();

    let customers = gdap.customers().await.unwrap();
    let adatum = customers.iter().find(|c| c.tenant_id == ADATUM).unwrap();
    assert_eq!(adatum.display_name.as_deref(), Some("Adatum"));
    assert!(adatum.auto_extends);

    gdap.terminate(&rel.id).await.unwrap();
    let gone = gdap.relationship(&rel.id).await.unwrap();
    assert_eq!(gone.status, Some(RelationshipStatus::Terminated));
    assert!(!adatum_is_a_customer(&gdap).await);
}

#[tokio::test]
async fn the_demo_partner_lists_its_customers_from_active_relationships() {
    let (_sim, _graph, partner) = setup();
    let gdap = partner.gdap();
    let customers = gdap.customers().await.unwrap();
    let names: Vec<_> = customers.iter().filter_map(|c| c.display_name.as_deref()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(customers.iter().all(|c| c.auto_extends && !c.only_microsoft_led));
    let all = gdap.relationships().query(cipp_graph::odata::Query::new());
    let rels: Vec<_> = all.collect().await.unwrap();
    assert!(rels.iter().all(|r| r.access_details.as_ref().unwrap().unified_roles.len() == 15
        && !r.includes_global_admin()));
}

#[tokio::test]
async fn the_role_mapping_workflow_is_idempotent_and_reported() {
    use cipp_core::Outcome;
    use cipp_graph::gdap::workflow;
    let (sim, _graph, partner) = setup();
    let ids: Vec<String> = ["Exchange Administrator", "User Administrator", "Global Reader"]
        .iter()
        .map(|r| roles::role_id(r).unwrap().to_owned())
        .collect();
    let (mappings, report) = workflow::ensure_role_groups(&partner, &ids, None).await.unwrap();
    assert_eq!(mappings.len(), 3);
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let (again, report) = workflow::ensure_role_groups(&partner, &ids, None).await.unwrap();
    assert_eq!(again, mappings, "the same groups are found by name");
    assert!(matches!(report.overall(), Outcome::NoChange { .. }));
    assert!(workflow::check_mappable("AdminAgents").is_err());

    let invite = workflow::invite(&partner, "CIPP_adatum", &mappings).await.unwrap();
    let rel = &invite.relationship.id;
    assert!(invite.url.ends_with(rel));
    let early = workflow::apply_mappings(&partner, rel, &mappings, false).await.unwrap();
    assert!(matches!(early.report.overall(), Outcome::Skipped { .. }));

    sim.approve_relationship(DEMO_PARTNER, rel, ADATUM).unwrap();
    let applied = workflow::apply_mappings(&partner, rel, &mappings, false).await.unwrap();
    let overall = applied.report.overall();
    assert!(matches!(overall, Outcome::Succeeded { .. }), "{:?}", applied.report);
    assert_eq!(applied.pending.len(), 3, "new assignments start pending");
    let settled = workflow::apply_mappings(&partner, rel, &mappings, false).await.unwrap();
    assert!(matches!(settled.report.overall(), Outcome::NoChange { .. }));
    assert!(settled.pending.is_empty());

    // Reset to two of the three groups: the third assignment is removed.
    let reset = workflow::apply_mappings(&partner, rel, &mappings[..2], true).await.unwrap();
    assert_eq!(reset.report.steps.len(), 3);
    assert!(matches!(reset.report.steps[2].outcome, Outcome::Succeeded { .. }));
    let left: Vec<_> = partner.gdap().access_assignments(rel).collect().await.unwrap();
    assert_eq!(left.len(), 2);

    // A Global Administrator relationship: cannot auto-extend until GA is removed.
    let gdap = partner.gdap();
    let roles = vec![roles::GLOBAL_ADMINISTRATOR.into(), ids[0].clone()];
    let ga = gdap.create_relationship(&new_relationship("Legacy_GA", roles, AutoExtend::Off));
    let ga = ga.await.unwrap();
    gdap.lock_for_approval(&ga.id).await.unwrap();
    sim.approve_relationship(DEMO_PARTNER, &ga.id, ADATUM).unwrap();
    let extend = workflow::enable_auto_extend(&partner).await.unwrap();
    let step = extend.steps.iter().find(|s| s.name == "Legacy_GA").unwrap();
    assert!(matches!(step.outcome, Outcome::Skipped { .. }));
    let removed = workflow::remove_global_admin(&partner).await.unwrap();
    assert!(matches!(removed.overall(), Outcome::Succeeded { .. }), "{removed:?}");
    let extend = workflow::enable_auto_extend(&partner).await.unwrap();
    let step = extend.steps.iter().find(|s| s.name == "Legacy_GA").unwrap();
    assert!(matches!(step.outcome, Outcome::Succeeded { .. }));
    let now = gdap.relationship(&ga.id).await.unwrap();
    assert!(now.auto_extends() && !now.includes_global_admin());
}
