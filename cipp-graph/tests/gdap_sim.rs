//! The whole GDAP flow on the simulator: partner groups → relationship → lock → the
//! customer approves → access assignments (pending, then active) → the customer joins the
//! tenant list; ETags change on every write and a stale one is refused.

use std::sync::Arc;

use cipp_core::{ApiErrorKind, ManualClock, Pipeline, TenantId};
use cipp_graph::gdap::{self, roles, AutoExtend, NewRelationship, RelationshipPatch};
use cipp_graph::model::{AssignmentStatus, NewGroup, RelationshipStatus};
use cipp_graph::GraphClient;
use cipp_sim::scenario::DEMO_PARTNER;
use cipp_sim::{SimTenant, Simulator};

const ADATUM: &str = "6d1f4c2a-0000-4000-8000-00000000ada7";

fn setup() -> (Simulator, GraphClient) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock));
    sim.add_tenant(SimTenant::new(ADATUM, "Adatum", "adatum.onmicrosoft.com"));
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap();
    (sim, GraphClient::new(pipeline))
}

#[tokio::test]
async fn the_whole_gdap_flow() {
    let (sim, graph) = setup();
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let chosen = ["Exchange Administrator", "User Administrator"];
    let mut groups = Vec::new();
    for role in chosen {
        let g = graph
            .tenant(&partner)
            .groups()
            .create(&NewGroup::security(
                &roles::group_name(role, None),
                &roles::group_mail_nickname(role, None),
            ))
            .await
            .unwrap();
        groups.push((role, g.id.unwrap().0));
    }
    let role_ids: Vec<String> =
        chosen.iter().map(|r| roles::role_id(r).unwrap().to_owned()).collect();
    let rel = graph
        .tenant(&partner)
        .gdap()
        .create_relationship(&NewRelationship {
            display_name: "CIPP_adatum".into(),
            duration: "P730D".into(),
            roles: role_ids.clone(),
            customer: None,
            auto_extend: AutoExtend::SixMonths,
        })
        .await
        .unwrap();
    assert_eq!(rel.status, Some(RelationshipStatus::Created));
    // Not active yet: the SDK refuses to assign access.
    assert!(graph
        .tenant(&partner)
        .gdap()
        .create_access_assignment(
            &rel,
            &cipp_graph::model::GroupId::from(groups[0].1.as_str()),
            &role_ids[..1]
        )
        .await
        .is_err());
    // A rename while created bumps the ETag; the old one is then stale (412).
    let renamed = graph
        .tenant(&partner)
        .gdap()
        .update_relationship(
            &rel,
            &RelationshipPatch {
                display_name: Some("CIPP_adatum_2y".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_ne!(renamed.etag, rel.etag);
    let stale = graph
        .tenant(&partner)
        .gdap()
        .update_relationship(
            &rel,
            &RelationshipPatch { duration: Some("P365D".into()), ..Default::default() },
        )
        .await
        .unwrap_err();
    let api = stale.as_api().unwrap();
    assert_eq!((api.status.as_u16(), api.kind), (412, ApiErrorKind::Conflict));

    graph.tenant(&partner).gdap().lock_for_approval(&rel.id).await.unwrap();
    let pending = graph.tenant(&partner).gdap().relationship(&rel.id).await.unwrap();
    assert_eq!(pending.status, Some(RelationshipStatus::ApprovalPending));
    assert!(gdap::invite_url(&rel.id).ends_with(&rel.id));
    assert!(graph
        .tenant(&partner)
        .gdap()
        .customers()
        .await
        .unwrap()
        .iter()
        .all(|c| c.tenant_id != ADATUM));

    sim.approve_relationship(DEMO_PARTNER, &rel.id, ADATUM).unwrap();
    let active = graph.tenant(&partner).gdap().relationship(&rel.id).await.unwrap();
    assert!(active.is_active());
    assert_eq!(
        active.end_date_time.unwrap() - active.activated_date_time.unwrap(),
        chrono::Duration::days(730)
    );
    for (i, (_, group)) in groups.iter().enumerate() {
        let a = graph
            .tenant(&partner)
            .gdap()
            .create_access_assignment(
                &active,
                &cipp_graph::model::GroupId::from(group.as_str()),
                &role_ids[i..=i],
            )
            .await
            .unwrap();
        assert_eq!(a.status, Some(AssignmentStatus::Pending));
    }
    let assignments: Vec<_> =
        graph.tenant(&partner).gdap().access_assignments(&rel.id).collect().await.unwrap();
    assert_eq!(assignments.len(), 2);
    let now: Vec<_> =
        graph.tenant(&partner).gdap().access_assignments(&rel.id).collect().await.unwrap();
    assert!(now.iter().all(|a| a.status == Some(AssignmentStatus::Active)));
    // Widen the first assignment to both roles: an operation is recorded.
    graph
        .tenant(&partner)
        .gdap()
        .update_access_assignment(&rel.id, &now[0], &role_ids)
        .await
        .unwrap();
    let ops: Vec<_> = graph.tenant(&partner).gdap().operations(&rel.id).collect().await.unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].data_json().unwrap()["id"], now[0].id.as_str());
    // The stale ETag of the first assignment no longer deletes it.
    assert!(graph
        .tenant(&partner)
        .gdap()
        .delete_access_assignment(&rel.id, &now[0])
        .await
        .is_err());
    graph.tenant(&partner).gdap().delete_access_assignment(&rel.id, &now[1]).await.unwrap();

    let customers = graph.tenant(&partner).gdap().customers().await.unwrap();
    let adatum = customers.iter().find(|c| c.tenant_id == ADATUM).unwrap();
    assert_eq!(adatum.display_name.as_deref(), Some("Adatum"));
    assert!(adatum.auto_extends);

    graph.tenant(&partner).gdap().terminate(&rel.id).await.unwrap();
    let gone = graph.tenant(&partner).gdap().relationship(&rel.id).await.unwrap();
    assert_eq!(gone.status, Some(RelationshipStatus::Terminated));
    assert!(graph
        .tenant(&partner)
        .gdap()
        .customers()
        .await
        .unwrap()
        .iter()
        .all(|c| c.tenant_id != ADATUM));
}

#[tokio::test]
async fn the_demo_partner_lists_its_customers_from_active_relationships() {
    let (_sim, graph) = setup();
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let customers = graph.tenant(&partner).gdap().customers().await.unwrap();
    let names: Vec<_> = customers.iter().filter_map(|c| c.display_name.as_deref()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(customers.iter().all(|c| c.auto_extends && !c.only_microsoft_led));
    let rels: Vec<_> = graph
        .tenant(&partner)
        .gdap()
        .relationships()
        .query(cipp_graph::odata::Query::new())
        .collect()
        .await
        .unwrap();
    assert!(rels.iter().all(|r| r.access_details.as_ref().unwrap().unified_roles.len() == 15
        && !r.includes_global_admin()));
}

#[tokio::test]
async fn the_role_mapping_workflow_is_idempotent_and_reported() {
    use cipp_core::Outcome;
    use cipp_graph::gdap::workflow;
    let (sim, graph) = setup();
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let ids: Vec<String> = ["Exchange Administrator", "User Administrator", "Global Reader"]
        .iter()
        .map(|r| roles::role_id(r).unwrap().to_owned())
        .collect();
    let (mappings, report) =
        workflow::ensure_role_groups(&graph.tenant(&partner), &ids, None).await.unwrap();
    assert_eq!(mappings.len(), 3);
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let (again, report) =
        workflow::ensure_role_groups(&graph.tenant(&partner), &ids, None).await.unwrap();
    assert_eq!(again, mappings, "the same groups are found by name");
    assert!(matches!(report.overall(), Outcome::NoChange { .. }));
    assert!(workflow::check_mappable("AdminAgents").is_err());

    let invite = workflow::invite(&graph.tenant(&partner), "CIPP_adatum", &mappings).await.unwrap();
    assert!(invite.url.ends_with(&invite.relationship.id));
    let early = workflow::apply_mappings(
        &graph.tenant(&partner),
        &invite.relationship.id,
        &mappings,
        false,
    )
    .await
    .unwrap();
    assert!(matches!(early.report.overall(), Outcome::Skipped { .. }));

    sim.approve_relationship(DEMO_PARTNER, &invite.relationship.id, ADATUM).unwrap();
    let applied = workflow::apply_mappings(
        &graph.tenant(&partner),
        &invite.relationship.id,
        &mappings,
        false,
    )
    .await
    .unwrap();
    assert!(matches!(applied.report.overall(), Outcome::Succeeded { .. }), "{:?}", applied.report);
    assert_eq!(applied.pending.len(), 3, "new assignments start pending");
    let settled = workflow::apply_mappings(
        &graph.tenant(&partner),
        &invite.relationship.id,
        &mappings,
        false,
    )
    .await
    .unwrap();
    assert!(matches!(settled.report.overall(), Outcome::NoChange { .. }));
    assert!(settled.pending.is_empty());

    // Reset to two of the three groups: the third assignment is removed.
    let reset = workflow::apply_mappings(
        &graph.tenant(&partner),
        &invite.relationship.id,
        &mappings[..2],
        true,
    )
    .await
    .unwrap();
    assert_eq!(reset.report.steps.len(), 3);
    assert!(matches!(reset.report.steps[2].outcome, Outcome::Succeeded { .. }));
    let left: Vec<_> = graph
        .tenant(&partner)
        .gdap()
        .access_assignments(&invite.relationship.id)
        .collect()
        .await
        .unwrap();
    assert_eq!(left.len(), 2);

    // A Global Administrator relationship: cannot auto-extend until GA is removed.
    let ga = graph
        .tenant(&partner)
        .gdap()
        .create_relationship(&NewRelationship {
            display_name: "Legacy_GA".into(),
            duration: "P730D".into(),
            roles: vec![roles::GLOBAL_ADMINISTRATOR.into(), ids[0].clone()],
            customer: None,
            auto_extend: AutoExtend::Off,
        })
        .await
        .unwrap();
    graph.tenant(&partner).gdap().lock_for_approval(&ga.id).await.unwrap();
    sim.approve_relationship(DEMO_PARTNER, &ga.id, ADATUM).unwrap();
    let extend = workflow::enable_auto_extend(&graph.tenant(&partner)).await.unwrap();
    let step = extend.steps.iter().find(|s| s.name == "Legacy_GA").unwrap();
    assert!(matches!(step.outcome, Outcome::Skipped { .. }));
    let removed = workflow::remove_global_admin(&graph.tenant(&partner)).await.unwrap();
    assert!(matches!(removed.overall(), Outcome::Succeeded { .. }), "{removed:?}");
    let extend = workflow::enable_auto_extend(&graph.tenant(&partner)).await.unwrap();
    let step = extend.steps.iter().find(|s| s.name == "Legacy_GA").unwrap();
    assert!(matches!(step.outcome, Outcome::Succeeded { .. }));
    let now = graph.tenant(&partner).gdap().relationship(&ga.id).await.unwrap();
    assert!(now.auto_extends() && !now.includes_global_admin());
}
