//! GDAP: every typed operation in `cipp_graph::gdap` decodes the response example of its
//! Microsoft Graph documentation page, verbatim.

mod fixtures;

use cipp_graph::gdap::{
    self, AutoExtend, DelegatedAdminCustomer, NewRelationship, RelationshipPatch,
};
use cipp_graph::model::{
    AccessAssignment, AssignmentStatus, DelegatedAdminRelationship, RelationshipCustomer,
    RelationshipOperation, RelationshipRequest, RelationshipStatus,
};
use fixtures::*;

const REL: &str = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836";

async fn relationship() -> DelegatedAdminRelationship {
    ok(gdap::get(&tenant(), REL).unwrap(), "delegatedadminrelationship-get").await
}

/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-get?view=graph-rest-1.0>
#[tokio::test]
async fn get_relationship() {
    let call = gdap::get(&tenant(), REL).unwrap();
    let r: DelegatedAdminRelationship = ok(call, "delegatedadminrelationship-get").await;
    assert_eq!(r.id, REL);
    assert_eq!(r.status, Some(RelationshipStatus::Active));
    assert_eq!(
        r.etag.as_deref(),
        Some("W/\"JyIxODAwZTY4My0wMDAwLTAyMDAtMDAwMC02MTU0OWFmMDAwMDAiJw==\"")
    );
    assert_eq!(r.customer.as_ref().unwrap().display_name.as_deref(), Some("Contoso Inc"));
    assert_eq!(r.access_details.as_ref().unwrap().unified_roles.len(), 3);
    assert_eq!(r.end_date_time.unwrap().to_rfc3339(), "2024-02-10T11:24:42.314826600+00:00");
    assert!(!r.auto_extends());
}

/// <https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships?view=graph-rest-1.0>
/// (a `resellerDelegatedAdminRelationship` among them, with `null` dates and two extra
/// properties).
#[tokio::test]
async fn list_relationships() {
    let call = gdap::list(&tenant(), &gdap::active_query()).unwrap();
    let page: Page<DelegatedAdminRelationship> =
        doc_page(call, "tenantrelationship-list-delegatedadminrelationships").await;
    let [first, terminated, reseller] = &page.items[..] else {
        panic!("{} relationships, not 3", page.items.len())
    };
    assert!(first.auto_extends());
    assert_eq!(terminated.status, Some(RelationshipStatus::Terminated));
    assert_eq!(reseller.status, Some(RelationshipStatus::ApprovalPending));
    assert_eq!(reseller.activated_date_time, None);
    assert_eq!(
        reseller.extra["@odata.type"],
        "#microsoft.graph.resellerDelegatedAdminRelationship"
    );
    assert_eq!(reseller.extra["isPartnerConsentPending"], true);
    assert!(!reseller.includes_global_admin());
}

/// <https://learn.microsoft.com/en-us/graph/api/tenantrelationship-post-delegatedadminrelationships?view=graph-rest-1.0>
/// (`""` as `activatedDateTime`).
#[tokio::test]
async fn create_relationship() {
    let new = NewRelationship {
        display_name: "Contoso admin relationship".into(),
        duration: "P730D".into(),
        roles: vec![
            "29232cdf-9323-42fd-ade2-1d097af3e4de".into(),
            "3a2c62db-5318-420d-8d74-23affee5d9d5".into(),
        ],
        customer: Some(RelationshipCustomer {
            tenant_id: "4b827261-d21f-4aa9-b7db-7fa1f56fb163".into(),
            display_name: Some("Contoso subsidiary Inc".into()),
        }),
        auto_extend: AutoExtend::SixMonths,
    };
    let call = gdap::create(&tenant(), &new).unwrap();
    let r: DelegatedAdminRelationship =
        created(call, "tenantrelationship-post-delegatedadminrelationships").await;
    assert_eq!(r.status, Some(RelationshipStatus::Created));
    assert_eq!(r.activated_date_time, None, "\"\" reads as absent");
    assert!(r.auto_extends());
}

/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-update?view=graph-rest-1.0>
/// (a customer without a display name).
#[tokio::test]
async fn update_relationship() {
    // Only a `created` relationship changes its name: start from the created example.
    let current: DelegatedAdminRelationship = serde_json::from_str(include_str!(
        "fixtures/tenantrelationship-post-delegatedadminrelationships.json"
    ))
    .unwrap();
    let patch = RelationshipPatch {
        display_name: Some("Updated Contoso admin relationship".into()),
        ..RelationshipPatch::default()
    };
    let op = gdap::update(&tenant(), &current, &patch).unwrap();
    assert_eq!(
        op.request().headers().get(http::header::IF_MATCH).unwrap(),
        current.etag.as_deref().unwrap()
    );
    let r: DelegatedAdminRelationship = ok(op, "delegatedadminrelationship-update").await;
    assert_eq!(r.duration.as_deref(), Some("P31D"));
    assert_eq!(r.customer.unwrap().display_name, None);
    assert_eq!(r.access_details.unwrap().unified_roles.len(), 4);
}

/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-requests?view=graph-rest-1.0>
/// for both actions.
#[tokio::test]
async fn requests() {
    for op in
        [gdap::lock_for_approval(&tenant(), REL).unwrap(), gdap::terminate(&tenant(), REL).unwrap()]
    {
        let r: RelationshipRequest = created(op, "delegatedadminrelationship-post-requests").await;
        assert_eq!(r.action, "lockForApproval");
        assert_eq!(r.status, "created");
        assert_eq!(r.extra["lastModifiedDateTime"], "2022-02-10T10:55:47.1180588Z");
    }
}

/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-accessassignments?view=graph-rest-1.0>
/// (a blank line before the first property),
/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminaccessassignment-update?view=graph-rest-1.0>
/// and <https://learn.microsoft.com/en-us/graph/api/delegatedadminaccessassignment-delete?view=graph-rest-1.0>.
#[tokio::test]
async fn access_assignments() {
    let call = gdap::list_assignments(&tenant(), REL).unwrap();
    let page: Page<AccessAssignment> =
        doc_page(call, "delegatedadminrelationship-list-accessassignments").await;
    let a = &page.items[1];
    assert_eq!(a.status, Some(AssignmentStatus::Active));
    assert_eq!(a.group_id(), Some("869713c9-0b28-4d08-8949-ae07ae1bf528"));
    assert_eq!(a.access_details.as_ref().unwrap().unified_roles.len(), 4);

    let rel = relationship().await;
    let call = gdap::create_assignment(
        &tenant(),
        &rel,
        "869713c9-0b28-4d08-8949-ae07ae1bf528",
        &["fe930be7-5e62-47db-91af-98c3a49a38b1".to_owned()],
    )
    .unwrap();
    let created: AccessAssignment =
        created(call, "delegatedadminrelationship-post-accessassignments").await;
    assert_eq!(created.status, Some(AssignmentStatus::Pending));
    assert!(created.etag.is_some());

    // Graph answers an assignment update with `202 Accepted`, `Location` (an operation) and
    // `{}`: the operation reports it as accepted (it read that as an empty assignment before).
    let call = gdap::update_assignment(
        &tenant(),
        REL,
        a,
        &["29232cdf-9323-42fd-ade2-1d097af3e4de".to_owned()],
    )
    .unwrap();
    let updated =
        decode(call, 202, include_str!("fixtures/delegatedadminaccessassignment-update.json"))
            .await;
    assert!(matches!(updated, gdap::AssignmentUpdate::Accepted { .. }), "{updated:?}");
    no_content(gdap::delete_assignment(&tenant(), REL, a).unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-operations?view=graph-rest-1.0>
/// (`data` is a JSON document inside a string).
#[tokio::test]
async fn operations() {
    let call = gdap::list_operations(&tenant(), REL).unwrap();
    let page: Page<RelationshipOperation> =
        doc_page(call, "delegatedadminrelationship-list-operations").await;
    let op = page.items.first().unwrap();
    assert_eq!(op.status, "succeeded");
    let data = op.data_json().unwrap();
    assert_eq!(
        data["accessDetails"]["unifiedRoles"][1]["roleDefinitionId"],
        "62e90394-69f5-4237-9190-012177145e10"
    );
}

/// <https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadmincustomers?view=graph-rest-1.0>
#[tokio::test]
async fn customers() {
    let call = gdap::list_customers(&tenant());
    let page: Page<DelegatedAdminCustomer> =
        doc_page(call, "tenantrelationship-list-delegatedadmincustomers").await;
    assert_eq!(page.items[1].tenant_id, "1c0fa218-5dec-49db-8247-cfa457af8116");
    assert_eq!(page.items[1].display_name.as_deref(), Some("Contoso subsidiary Inc"));
    assert!(page.items[0].extra.contains_key("@odata.etag"));
}
