//! GDAP over the real HTTP path: exact requests (method, path, query, `If-Match`, body),
//! the documented response shapes, and rules refused before anything is sent.

mod common;

use cipp_core::{ApiErrorKind, TenantId};
use cipp_graph::gdap::{self, roles, AutoExtend, NewRelationship, RelationshipPatch};
use cipp_graph::model::{
    AccessAssignment, AccessDetails, AssignmentStatus, DelegatedAdminRelationship,
    RelationshipCustomer, RelationshipStatus,
};
use cipp_graph::odata::Query;
use common::*;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REL: &str = "5e5594d3-6f82-458b-b567-77db4811f0cd-00000000-0000-0000-0000-000000001234";
const CUSTOMER: &str = "4b8c0b0e-1e43-4d0a-9a2c-bd4a1c3f0a11";
const GROUP: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";
const RELS: &str = "/v1.0/tenantRelationships/delegatedAdminRelationships";

fn partner() -> TenantId {
    TenantId::parse("partner.onmicrosoft.com").unwrap()
}

fn relationship(status: &str, roles: &[&str]) -> serde_json::Value {
    json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": "W/\"JyIwMzAwYzJhYy0wMDAwLTAyMDAtMDAwMC02NTM5ZmE4ZjAwMDAiJw==\"",
        "id": REL,
        "displayName": "CIPP_contoso",
        "duration": "P730D",
        "customer": {"tenantId": CUSTOMER, "displayName": "Contoso"},
        "accessDetails": {"unifiedRoles": roles.iter().map(|r| json!({"roleDefinitionId": r})).collect::<Vec<_>>()},
        "status": status,
        "autoExtendDuration": "P180D",
        "createdDateTime": "2022-02-10T11:24:42.3148266Z",
        "lastModifiedDateTime": "2022-02-10T11:26:44.9941884Z",
        "activatedDateTime": if status == "active" { json!("2022-02-10T11:26:44.9941884Z") } else { json!("") },
        "endDateTime": "2024-02-10T11:26:44.9941884Z"
    })
}

fn read(v: serde_json::Value) -> DelegatedAdminRelationship {
    serde_json::from_value(v).unwrap()
}

fn new_relationship() -> NewRelationship {
    NewRelationship {
        display_name: "CIPP_contoso".into(),
        duration: "P730D".into(),
        roles: vec![
            roles::role_id("Exchange Administrator").unwrap().into(),
            roles::role_id("User Administrator").unwrap().into(),
        ],
        customer: Some(RelationshipCustomer {
            tenant_id: CUSTOMER.into(),
            display_name: Some("Contoso".into()),
        }),
        auto_extend: AutoExtend::SixMonths,
    }
}

async fn nothing_sent(server: &MockServer) {
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn create_sends_the_documented_body_and_reads_201() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path(RELS))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "displayName": "CIPP_contoso",
            "duration": "P730D",
            "customer": {"tenantId": CUSTOMER, "displayName": "Contoso"},
            "accessDetails": {"unifiedRoles": [
                {"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"},
                {"roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1"}
            ]},
            "autoExtendDuration": "P180D"
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("location", format!("https://graph.microsoft.com/v1.0{RELS}/{REL}"))
                .set_body_json(relationship("created", &["29232cdf-9323-42fd-ade2-1d097af3e4de"])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = graph.tenant(&partner()).gdap().create_relationship(&new_relationship()).await.unwrap();
    assert_eq!(r.status, Some(RelationshipStatus::Created));
    assert!(r.etag.as_deref().unwrap().starts_with("W/"));
    assert_eq!(r.activated_date_time, None, "\"\" reads as absent");
    assert!(r.auto_extends());
    assert_eq!(r.extra["@odata.type"], "#microsoft.graph.delegatedAdminRelationship");
}

#[tokio::test]
async fn create_refuses_what_microsoft_would_refuse_before_sending() {
    let (server, graph) = client().await;
    let p = partner();
    let cases = [
        NewRelationship { roles: vec![roles::GLOBAL_ADMINISTRATOR.into()], ..new_relationship() },
        NewRelationship { display_name: "x".repeat(51), ..new_relationship() },
        NewRelationship { duration: "P3Y".into(), ..new_relationship() },
        NewRelationship { duration: "PT0S".into(), ..new_relationship() },
        NewRelationship { roles: vec![], ..new_relationship() },
        NewRelationship { roles: vec!["Exchange Administrator".into()], ..new_relationship() },
    ];
    for case in cases {
        let err = graph.tenant(&p).gdap().create_relationship(&case).await.unwrap_err();
        assert!(err.to_string().len() > 10, "{err}");
    }
    // Global Administrator without auto-extend is allowed.
    let ga = NewRelationship {
        roles: vec![roles::GLOBAL_ADMINISTRATOR.into()],
        auto_extend: AutoExtend::Off,
        ..new_relationship()
    };
    assert!(gdap::create(&p, &ga).is_ok());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn list_pages_filters_and_keeps_unknown_statuses_and_reseller_fields() {
    let (server, graph) = client().await;
    let next = format!("{}{RELS}?$skiptoken=page2", server.uri());
    let mut reseller = relationship("active", &[roles::GLOBAL_READER_ID]);
    reseller["@odata.type"] = json!("#microsoft.graph.resellerDelegatedAdminRelationship");
    reseller["isPartnerConsentPending"] = json!(true);
    Mock::given(method("GET"))
        .and(path(RELS))
        .and(query_param("$filter", "status eq 'active'"))
        .and(query_param("$top", "300"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships",
            "@odata.nextLink": next,
            "value": [reseller]
        })))
        .mount(&server)
        .await;
    let mut odd = relationship("someNewState", &[roles::GLOBAL_READER_ID]);
    odd["id"] = json!("11111111-2222-3333-4444-555555555555");
    Mock::given(method("GET"))
        .and(path(RELS))
        .and(query_param("$skiptoken", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [odd]})))
        .mount(&server)
        .await;
    let all: Vec<_> = graph
        .tenant(&partner())
        .gdap()
        .relationships()
        .query(gdap::active_query().top(300))
        .collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].extra["isPartnerConsentPending"], true);
    assert_eq!(all[1].status, Some(RelationshipStatus::Unknown("someNewState".into())));
    // $top above 300 is refused before sending.
    let err = graph
        .tenant(&partner())
        .gdap()
        .relationships()
        .query(Query::new().top(301))
        .collect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("300"), "{err}");
}

#[tokio::test]
async fn update_sends_if_match_and_only_the_changes_and_reads_412() {
    let (server, graph) = client().await;
    let current = read(relationship("created", &["29232cdf-9323-42fd-ade2-1d097af3e4de"]));
    let etag = current.etag.clone().unwrap();
    Mock::given(method("PATCH"))
        .and(path(format!("{RELS}/{REL}")))
        .and(header("if-match", etag.as_str()))
        .and(body_json(json!({"displayName": "CIPP_contoso_2", "duration": "P365D"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(relationship("created", &[])))
        .expect(1)
        .mount(&server)
        .await;
    let patch = RelationshipPatch {
        display_name: Some("CIPP_contoso_2".into()),
        duration: Some("P365D".into()),
        ..Default::default()
    };
    graph.tenant(&partner()).gdap().update_relationship(&current, &patch).await.unwrap();

    // A stale ETag: 412, reported as a conflict with the service's code.
    let server2 = MockServer::start().await;
    let graph2 = client_for(&server2);
    Mock::given(method("PATCH"))
        .and(path(format!("{RELS}/{REL}")))
        .respond_with(graph_error(
            412,
            "PreconditionFailed",
            "The resource has been modified since it was last retrieved.",
        ))
        .mount(&server2)
        .await;
    let err =
        graph2.tenant(&partner()).gdap().update_relationship(&current, &patch).await.unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status.as_u16(), 412);
    assert_eq!(api.kind, ApiErrorKind::Conflict);
    assert_eq!(api.code, "PreconditionFailed");
}

#[tokio::test]
async fn update_follows_the_status_rules() {
    let (server, graph) = client().await;
    let p = partner();
    let exo = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    let pending = read(relationship("approvalPending", &[exo]));
    let rename = RelationshipPatch { display_name: Some("x".into()), ..Default::default() };
    assert!(graph.tenant(&p).gdap().update_relationship(&pending, &rename).await.is_err());
    let active = read(relationship("active", &[exo, roles::GLOBAL_ADMINISTRATOR]));
    // Active: no rename, no role additions, no auto-extend while GA is present.
    assert!(graph.tenant(&p).gdap().update_relationship(&active, &rename).await.is_err());
    let add = RelationshipPatch {
        access_details: Some(AccessDetails::of([
            exo,
            roles::GLOBAL_ADMINISTRATOR,
            roles::GLOBAL_READER_ID,
        ])),
        ..Default::default()
    };
    assert!(graph.tenant(&p).gdap().update_relationship(&active, &add).await.is_err());
    let extend =
        RelationshipPatch { auto_extend_duration: Some("P180D".into()), ..Default::default() };
    assert!(graph.tenant(&p).gdap().update_relationship(&active, &extend).await.is_err());
    assert!(graph
        .tenant(&p)
        .gdap()
        .update_relationship(&active, &RelationshipPatch::default())
        .await
        .is_err());
    let mut no_etag = active.clone();
    no_etag.etag = None;
    let drop_ga =
        RelationshipPatch { access_details: Some(AccessDetails::of([exo])), ..Default::default() };
    assert!(graph.tenant(&p).gdap().update_relationship(&no_etag, &drop_ga).await.is_err());
    nothing_sent(&server).await;

    // Removing Global Administrator from an active relationship is allowed, and so is
    // turning on auto-extend in the same change.
    Mock::given(method("PATCH"))
        .and(path(format!("{RELS}/{REL}")))
        .and(body_json(json!({
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": exo}]},
            "autoExtendDuration": "P180D"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(relationship("active", &[exo])))
        .expect(1)
        .mount(&server)
        .await;
    let fixed = graph
        .tenant(&p)
        .gdap()
        .update_relationship(
            &active,
            &RelationshipPatch { auto_extend_duration: Some("P180D".into()), ..drop_ga },
        )
        .await
        .unwrap();
    assert!(!fixed.includes_global_admin());
}

#[tokio::test]
async fn lock_for_approval_and_terminate_post_requests() {
    let (server, graph) = client().await;
    for action in ["lockForApproval", "terminate"] {
        Mock::given(method("POST"))
            .and(path(format!("{RELS}/{REL}/requests")))
            .and(body_json(json!({"action": action})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships('x')/requests/$entity",
                "id": "ff23c6b9-9e2a-4b0c-9d5c-1ee3c1d0f3a1",
                "action": action,
                "status": "created",
                "createdDateTime": "2022-02-10T11:24:42.3148266Z",
                "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z"
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let lock = graph.tenant(&partner()).gdap().lock_for_approval(REL).await.unwrap();
    assert_eq!(lock.action, "lockForApproval");
    assert_eq!(lock.status, "created");
    let t = graph.tenant(&partner()).gdap().terminate(REL).await.unwrap();
    assert_eq!(t.action, "terminate");
    assert_eq!(
        gdap::invite_url(REL),
        format!("https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{REL}")
    );
    assert!(graph.tenant(&partner()).gdap().lock_for_approval("../users").await.is_err());
}

fn assignment(status: &str) -> serde_json::Value {
    json!({
        "@odata.etag": "W/\"JyIzNzAwNzIxNS0wMDAwLTAyMDAtMDAwMC02NTM5ZmIwMzAwMDAiJw==\"",
        "id": "f6a1bd3d-0bd1-4e5b-b4a2-1f0e6e2c9a77",
        "status": status,
        "accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"}]},
        "createdDateTime": "2022-02-10T11:24:42.3148266Z",
        "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z"
    })
}

#[tokio::test]
async fn access_assignments_create_update_delete_with_if_match() {
    let (server, graph) = client().await;
    let p = partner();
    let exo = "29232cdf-9323-42fd-ade2-1d097af3e4de".to_owned();
    let created = read(relationship("approvalPending", &[&exo]));
    // Not active yet; a role the relationship lacks; a group that is not a GUID.
    assert!(graph
        .tenant(&p)
        .gdap()
        .create_access_assignment(
            &created,
            &cipp_graph::model::GroupId::from(GROUP),
            std::slice::from_ref(&exo)
        )
        .await
        .is_err());
    let active = read(relationship("active", &[&exo]));
    let reader = roles::GLOBAL_READER_ID.to_owned();
    let err = graph
        .tenant(&p)
        .gdap()
        .create_access_assignment(&active, &cipp_graph::model::GroupId::from(GROUP), &[reader])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Global Reader"), "{err}");
    assert!(graph
        .tenant(&p)
        .gdap()
        .create_access_assignment(
            &active,
            &cipp_graph::model::GroupId::from("M365 GDAP Exchange"),
            std::slice::from_ref(&exo)
        )
        .await
        .is_err());
    nothing_sent(&server).await;

    Mock::given(method("POST"))
        .and(path(format!("{RELS}/{REL}/accessAssignments")))
        .and(body_json(json!({
            "accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": exo}]}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(assignment("pending")))
        .expect(1)
        .mount(&server)
        .await;
    let a = graph
        .tenant(&p)
        .gdap()
        .create_access_assignment(
            &active,
            &cipp_graph::model::GroupId::from(GROUP),
            std::slice::from_ref(&exo),
        )
        .await
        .unwrap();
    assert_eq!(a.status, Some(AssignmentStatus::Pending));
    assert_eq!(a.group_id(), Some(GROUP));
    let etag = a.etag.clone().unwrap();
    let one = format!("{RELS}/{REL}/accessAssignments/{}", a.id);
    Mock::given(method("PATCH"))
        .and(path(one.as_str()))
        .and(header("if-match", etag.as_str()))
        .and(body_json(json!({"accessDetails": {"unifiedRoles": [
            {"roleDefinitionId": exo}, {"roleDefinitionId": roles::GLOBAL_READER_ID}
        ]}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(assignment("active")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(one.as_str()))
        .and(header("if-match", etag.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let updated = graph
        .tenant(&p)
        .gdap()
        .update_access_assignment(REL, &a, &[exo.clone(), roles::GLOBAL_READER_ID.into()])
        .await
        .unwrap();
    match updated {
        cipp_graph::gdap::AssignmentUpdate::Updated(a) => {
            assert_eq!(a.status, Some(AssignmentStatus::Active))
        }
        other => panic!("{other:?}"),
    }
    graph.tenant(&p).gdap().delete_access_assignment(REL, &a).await.unwrap();
    let no_etag = AccessAssignment { etag: None, ..a.clone() };
    assert!(graph.tenant(&p).gdap().delete_access_assignment(REL, &no_etag).await.is_err());
}

#[tokio::test]
async fn assignments_and_operations_list_with_the_data_string_parsed() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("{RELS}/{REL}/accessAssignments")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [assignment("active")]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RELS}/{REL}/operations")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "@odata.type": "#microsoft.graph.delegatedAdminRelationshipOperation",
            "@odata.etag": "W/\"JyIzMTAwYmM0OS0wMDAwLTAyMDAtMDAwMC02MWQ1YjY5NzAwMDAiJw==\"",
            "id": "d3e3c1f0-4b41-4b4e-9d5b-1d5c1c2f7a10",
            "operationType": "delegatedAdminAccessAssignmentUpdate",
            "data": "{\"accessContainer\":{\"accessContainerId\":\"0be2b0e8\",\"accessContainerType\":\"securityGroup\"}}",
            "status": "succeeded",
            "createdDateTime": "2022-02-10T11:24:42.3148266Z",
            "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z"
        }]})))
        .mount(&server)
        .await;
    let a: Vec<_> =
        graph.tenant(&partner()).gdap().access_assignments(REL).collect().await.unwrap();
    assert_eq!(a.len(), 1);
    let ops: Vec<_> = graph.tenant(&partner()).gdap().operations(REL).collect().await.unwrap();
    assert_eq!(ops[0].status, "succeeded");
    assert_eq!(
        ops[0].data_json().unwrap()["accessContainer"]["accessContainerType"],
        "securityGroup"
    );
}

#[tokio::test]
async fn customer_tenants_come_from_active_relationships_merged_per_customer() {
    let (server, graph) = client().await;
    let mut second = relationship("active", &[roles::GLOBAL_READER_ID]);
    second["id"] = json!("11111111-2222-3333-4444-555555555555");
    second["autoExtendDuration"] = json!("PT0S");
    second["endDateTime"] = json!("2025-06-01T00:00:00Z");
    let mut mlt = relationship("active", &[roles::GLOBAL_READER_ID]);
    mlt["id"] = json!("22222222-2222-3333-4444-555555555555");
    mlt["displayName"] = json!("MLT_abc");
    mlt["customer"] =
        json!({"tenantId": "9f1e0c3a-0000-4000-8000-000000000001", "displayName": "Adatum"});
    Mock::given(method("GET"))
        .and(path(RELS))
        .and(query_param("$filter", "status eq 'active'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            relationship("active", &[roles::GLOBAL_READER_ID]), second, mlt
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let customers = graph.tenant(&partner()).gdap().customers().await.unwrap();
    assert_eq!(customers.len(), 2);
    assert_eq!(customers[0].display_name.as_deref(), Some("Adatum"));
    assert!(customers[0].only_microsoft_led);
    let contoso = &customers[1];
    assert_eq!(contoso.tenant_id, CUSTOMER);
    assert_eq!(contoso.relationships.len(), 2);
    assert!(contoso.auto_extends);
    assert!(!contoso.only_microsoft_led);
    assert_eq!(contoso.ends.unwrap().to_rfc3339(), "2025-06-01T00:00:00+00:00");
}

#[test]
fn roles_and_group_names() {
    assert_eq!(roles::BUILT_IN.len(), 41);
    for (name, id) in roles::CIPP_DEFAULT_ROLES {
        assert_eq!(roles::role_id(name), Some(id), "{name}");
    }
    assert_eq!(
        roles::group_name("Exchange Administrator", None),
        "M365 GDAP Exchange Administrator"
    );
    assert_eq!(
        roles::group_mail_nickname("Exchange Administrator", Some("EU")),
        "M365GDAPExchangeAdministratorEU"
    );
    assert_eq!(gdap::duration_days("P1Y6M"), Some(545));
    assert_eq!(gdap::duration_days("P"), None);
    assert_eq!(gdap::duration_days("P5X"), None);
}

#[tokio::test]
async fn role_groups_are_found_by_name_or_created_as_security_groups() {
    use cipp_graph::gdap::workflow;
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "displayName eq 'M365 GDAP Exchange Administrator'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": GROUP, "displayName": "M365 GDAP Exchange Administrator"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "displayName eq 'M365 GDAP User Administrator'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/groups"))
        .and(body_json(json!({
            "displayName": "M365 GDAP User Administrator",
            "mailNickname": "M365GDAPUserAdministrator",
            "mailEnabled": false,
            "securityEnabled": true,
            "groupTypes": []
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "11111111-1111-4111-8111-111111111111",
            "displayName": "M365 GDAP User Administrator",
            "mailEnabled": false, "securityEnabled": true, "groupTypes": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let ids = vec![
        "29232cdf-9323-42fd-ade2-1d097af3e4de".to_owned(),
        "fe930be7-5e62-47db-91af-98c3a49a38b1".to_owned(),
    ];
    let (mappings, report) =
        workflow::ensure_role_groups(&graph.tenant(&partner()), &ids, None).await.unwrap();
    assert_eq!(report.steps.len(), 2, "{report:?}");
    assert_eq!(mappings.len(), 2, "{report:?}");
    assert_eq!(mappings[0].group_id, GROUP);
    assert_eq!(mappings[1].group_id, "11111111-1111-4111-8111-111111111111");
    assert_eq!(report.steps.len(), 2);
}
