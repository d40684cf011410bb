//! GDAP over the real HTTP path: exact requests (method, path, query, `If-Match`, body),
//! the documented response shapes, and rules refused before anything is sent.

mod common;

use cipp_core::{ApiErrorKind, TenantId};
use cipp_graph::gdap::Gdap;
use cipp_graph::gdap::{self, roles, AutoExtend, NewRelationship, RelationshipPatch};
use cipp_graph::model::GroupId;
use cipp_graph::model::{
    AccessAssignment, AccessDetails, AssignmentStatus, DelegatedAdminRelationship,
    RelationshipCustomer, RelationshipStatus,
};
use cipp_graph::odata::Query;
use common::*;
use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

const REL: &str = "5e5594d3-6f82-458b-b567-77db4811f0cd-00000000-0000-0000-0000-000000001234";
const CUSTOMER: &str = "4b8c0b0e-1e43-4d0a-9a2c-bd4a1c3f0a11";
const GROUP: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";
const RELS: &str = "/v1.0/tenantRelationships/delegatedAdminRelationships";

fn partner() -> TenantId {
    tid("partner.onmicrosoft.com")
}

const EXO: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";

/// A mock server and GDAP as the partner tenant.
async fn setup() -> (MockServer, Gdap) {
    let (server, graph) = client().await;
    (server, graph.tenant(&partner()).gdap())
}

fn relationship(status: &str, roles: &[&str]) -> Value {
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

fn read(v: Value) -> DelegatedAdminRelationship {
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

#[tokio::test]
async fn create_sends_the_documented_body_and_reads_201() {
    let (server, gdap) = setup().await;
    let location = format!("https://graph.microsoft.com/v1.0{RELS}/{REL}");
    let created = ResponseTemplate::new(201).insert_header("location", location);
    on(&server, &format!("POST {RELS}"))
        .header("content-type", "application/json")
        .body(json!({
            "displayName": "CIPP_contoso",
            "duration": "P730D",
            "customer": {"tenantId": CUSTOMER, "displayName": "Contoso"},
            "accessDetails": {"unifiedRoles": [
                {"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"},
                {"roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1"}
            ]},
            "autoExtendDuration": "P180D"
        }))
        .respond(created.set_body_json(relationship("created", &[EXO])))
        .await;
    let r = gdap.create_relationship(&new_relationship()).await.unwrap();
    assert_eq!(r.status, Some(RelationshipStatus::Created));
    assert!(r.etag.as_deref().unwrap().starts_with("W/"));
    assert_eq!(r.activated_date_time, None, "\"\" reads as absent");
    assert!(r.auto_extends());
    assert_eq!(r.extra["@odata.type"], "#microsoft.graph.delegatedAdminRelationship");
}

#[tokio::test]
async fn create_refuses_what_microsoft_would_refuse_before_sending() {
    let (server, gdap) = setup().await;
    let cases = [
        (
            "Global Administrator with auto-extend",
            NewRelationship {
                roles: vec![roles::GLOBAL_ADMINISTRATOR.into()],
                ..new_relationship()
            },
        ),
        (
            "a name over 50 characters",
            NewRelationship { display_name: "x".repeat(51), ..new_relationship() },
        ),
        ("over two years", NewRelationship { duration: "P3Y".into(), ..new_relationship() }),
        ("no duration", NewRelationship { duration: "PT0S".into(), ..new_relationship() }),
        ("no roles", NewRelationship { roles: vec![], ..new_relationship() }),
        (
            "a role name, not an id",
            NewRelationship { roles: vec!["Exchange Administrator".into()], ..new_relationship() },
        ),
    ];
    for (name, case) in cases {
        let err = gdap.create_relationship(&case).await.unwrap_err();
        assert!(err.to_string().len() > 10, "{name}: {err}");
    }
    // Global Administrator without auto-extend is allowed.
    let ga = NewRelationship {
        roles: vec![roles::GLOBAL_ADMINISTRATOR.into()],
        auto_extend: AutoExtend::Off,
        ..new_relationship()
    };
    assert!(gdap::create(&partner(), &ga).is_ok());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn list_pages_filters_and_keeps_unknown_statuses_and_reseller_fields() {
    let (server, gdap) = setup().await;
    let next = format!("{}{RELS}?$skiptoken=page2", server.uri());
    let mut reseller = relationship("active", &[roles::GLOBAL_READER_ID]);
    reseller["@odata.type"] = json!("#microsoft.graph.resellerDelegatedAdminRelationship");
    reseller["isPartnerConsentPending"] = json!(true);
    stub(&server, &format!("GET {RELS}?$filter=status eq 'active'&$top=300"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships",
            "@odata.nextLink": next,
            "value": [reseller]
        }))
        .await;
    let mut odd = relationship("someNewState", &[roles::GLOBAL_READER_ID]);
    odd["id"] = json!("11111111-2222-3333-4444-555555555555");
    stub(&server, &format!("GET {RELS}?$skiptoken=page2"))
        .reply(200, json!({"value": [odd]}))
        .await;
    let active = gdap.relationships().query(gdap::active_query().top(300));
    let all: Vec<_> = active.collect().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].extra["isPartnerConsentPending"], true);
    assert_eq!(all[1].status, Some(RelationshipStatus::Unknown("someNewState".into())));
    // $top above 300 is refused before sending.
    let too_many = gdap.relationships().query(Query::new().top(301));
    let err = too_many.collect().await.unwrap_err();
    assert!(err.to_string().contains("300"), "{err}");
}

#[tokio::test]
async fn update_sends_if_match_and_only_the_changes_and_reads_412() {
    let (server, gdap) = setup().await;
    let current = read(relationship("created", &[EXO]));
    let etag = current.etag.clone().unwrap();
    on(&server, &format!("PATCH {RELS}/{REL}"))
        .header("if-match", &etag)
        .body(json!({"displayName": "CIPP_contoso_2", "duration": "P365D"}))
        .reply(200, relationship("created", &[]))
        .await;
    let patch = RelationshipPatch {
        display_name: Some("CIPP_contoso_2".into()),
        duration: Some("P365D".into()),
        ..Default::default()
    };
    gdap.update_relationship(&current, &patch).await.unwrap();

    // A stale ETag: 412, reported as a conflict with the service's code.
    let (server2, gdap2) = setup().await;
    stub(&server2, &format!("PATCH {RELS}/{REL}"))
        .fail(
            412,
            "PreconditionFailed",
            "The resource has been modified since it was last retrieved.",
        )
        .await;
    let err = gdap2.update_relationship(&current, &patch).await.unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status.as_u16(), 412);
    assert_eq!(api.kind, ApiErrorKind::Conflict);
    assert_eq!(api.code, "PreconditionFailed");
}

#[tokio::test]
async fn update_follows_the_status_rules() {
    let (server, gdap) = setup().await;
    let pending = read(relationship("approvalPending", &[EXO]));
    let rename = RelationshipPatch { display_name: Some("x".into()), ..Default::default() };
    let active = read(relationship("active", &[EXO, roles::GLOBAL_ADMINISTRATOR]));
    let add = RelationshipPatch {
        access_details: Some(AccessDetails::of([
            EXO,
            roles::GLOBAL_ADMINISTRATOR,
            roles::GLOBAL_READER_ID,
        ])),
        ..Default::default()
    };
    let extend =
        RelationshipPatch { auto_extend_duration: Some("P180D".into()), ..Default::default() };
    let mut no_etag = active.clone();
    no_etag.etag = None;
    let drop_ga =
        RelationshipPatch { access_details: Some(AccessDetails::of([EXO])), ..Default::default() };
    // Pending: no rename. Active: no rename, no role additions, no auto-extend while GA is
    // present, no empty change. Without an ETag: nothing.
    for (name, rel, patch) in [
        ("rename while pending", &pending, &rename),
        ("rename while active", &active, &rename),
        ("add roles while active", &active, &add),
        ("auto-extend with GA", &active, &extend),
        ("empty change", &active, &RelationshipPatch::default()),
        ("no ETag", &no_etag, &drop_ga),
    ] {
        assert!(gdap.update_relationship(rel, patch).await.is_err(), "{name}");
    }
    nothing_sent(&server).await;

    // Removing Global Administrator from an active relationship is allowed, and so is
    // turning on auto-extend in the same change.
    on(&server, &format!("PATCH {RELS}/{REL}"))
        .body(json!({
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": EXO}]},
            "autoExtendDuration": "P180D"
        }))
        .reply(200, relationship("active", &[EXO]))
        .await;
    let fix = RelationshipPatch { auto_extend_duration: Some("P180D".into()), ..drop_ga };
    let fixed = gdap.update_relationship(&active, &fix).await.unwrap();
    assert!(!fixed.includes_global_admin());
}

#[tokio::test]
async fn lock_for_approval_and_terminate_post_requests() {
    let (server, gdap) = setup().await;
    for action in ["lockForApproval", "terminate"] {
        on(&server, &format!("POST {RELS}/{REL}/requests"))
            .body(json!({ "action": action }))
            .reply(201, json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships('x')/requests/$entity",
                "id": "ff23c6b9-9e2a-4b0c-9d5c-1ee3c1d0f3a1",
                "action": action,
                "status": "created",
                "createdDateTime": "2022-02-10T11:24:42.3148266Z",
                "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z"
            }))
            .await;
    }
    let lock = gdap.lock_for_approval(REL).await.unwrap();
    assert_eq!(lock.action, "lockForApproval");
    assert_eq!(lock.status, "created");
    let t = gdap.terminate(REL).await.unwrap();
    assert_eq!(t.action, "terminate");
    assert_eq!(
        gdap::invite_url(REL),
        format!("https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{REL}")
    );
    assert!(gdap.lock_for_approval("../users").await.is_err());
}

fn assignment(status: &str) -> Value {
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
    let (server, gdap) = setup().await;
    let exo = [EXO.to_owned()];
    let group = GroupId::from(GROUP);
    let created = read(relationship("approvalPending", &[EXO]));
    // Not active yet; a role the relationship lacks; a group that is not a GUID.
    assert!(gdap.create_access_assignment(&created, &group, &exo).await.is_err());
    let active = read(relationship("active", &[EXO]));
    let reader = [roles::GLOBAL_READER_ID.to_owned()];
    let err = gdap.create_access_assignment(&active, &group, &reader).await.unwrap_err();
    assert!(err.to_string().contains("Global Reader"), "{err}");
    let by_name = GroupId::from("M365 GDAP Exchange");
    assert!(gdap.create_access_assignment(&active, &by_name, &exo).await.is_err());
    nothing_sent(&server).await;

    on(&server, &format!("POST {RELS}/{REL}/accessAssignments"))
        .body(json!({
            "accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": EXO}]}
        }))
        .reply(201, assignment("pending"))
        .await;
    let a = gdap.create_access_assignment(&active, &group, &exo).await.unwrap();
    assert_eq!(a.status, Some(AssignmentStatus::Pending));
    assert_eq!(a.group_id(), Some(GROUP));
    let etag = a.etag.clone().unwrap();
    let one = format!("{RELS}/{REL}/accessAssignments/{}", a.id);
    on(&server, &format!("PATCH {one}"))
        .header("if-match", &etag)
        .body(json!({"accessDetails": {"unifiedRoles": [
            {"roleDefinitionId": EXO}, {"roleDefinitionId": roles::GLOBAL_READER_ID}
        ]}}))
        .reply(200, assignment("active"))
        .await;
    on(&server, &format!("DELETE {one}")).header("if-match", &etag).reply(204, Value::Null).await;
    let widened = [EXO.to_owned(), roles::GLOBAL_READER_ID.into()];
    let updated = gdap.update_access_assignment(REL, &a, &widened).await.unwrap();
    match updated {
        cipp_graph::gdap::AssignmentUpdate::Updated(a) => {
            assert_eq!(a.status, Some(AssignmentStatus::Active))
        }
        other => panic!("{other:?}"),
    }
    gdap.delete_access_assignment(REL, &a).await.unwrap();
    let no_etag = AccessAssignment { etag: None, ..a.clone() };
    assert!(gdap.delete_access_assignment(REL, &no_etag).await.is_err());
}

#[tokio::test]
async fn assignments_and_operations_list_with_the_data_string_parsed() {
    let (server, gdap) = setup().await;
    stub(&server, &format!("GET {RELS}/{REL}/accessAssignments"))
        .reply(200, json!({"value": [assignment("active")]}))
        .await;
    stub(&server, &format!("GET {RELS}/{REL}/operations"))
        .reply(200, json!({"value": [{
            "@odata.type": "#microsoft.graph.delegatedAdminRelationshipOperation",
            "@odata.etag": "W/\"JyIzMTAwYmM0OS0wMDAwLTAyMDAtMDAwMC02MWQ1YjY5NzAwMDAiJw==\"",
            "id": "d3e3c1f0-4b41-4b4e-9d5b-1d5c1c2f7a10",
            "operationType": "delegatedAdminAccessAssignmentUpdate",
            "data": "{\"accessContainer\":{\"accessContainerId\":\"0be2b0e8\",\"accessContainerType\":\"securityGroup\"}}",
            "status": "succeeded",
            "createdDateTime": "2022-02-10T11:24:42.3148266Z",
            "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z"
        }]}))
        .await;
    let a: Vec<_> = gdap.access_assignments(REL).collect().await.unwrap();
    assert_eq!(a.len(), 1);
    let ops: Vec<_> = gdap.operations(REL).collect().await.unwrap();
    assert_eq!(ops[0].status, "succeeded");
    let data = ops[0].data_json().unwrap();
    assert_eq!(data["accessContainer"]["accessContainerType"], "securityGroup");
}

#[tokio::test]
async fn customer_tenants_come_from_active_relationships_merged_per_customer() {
    let (server, gdap) = setup().await;
    let mut second = relationship("active", &[roles::GLOBAL_READER_ID]);
    second["id"] = json!("11111111-2222-3333-4444-555555555555");
    second["autoExtendDuration"] = json!("PT0S");
    second["endDateTime"] = json!("2025-06-01T00:00:00Z");
    let mut mlt = relationship("active", &[roles::GLOBAL_READER_ID]);
    mlt["id"] = json!("22222222-2222-3333-4444-555555555555");
    mlt["displayName"] = json!("MLT_abc");
    mlt["customer"] =
        json!({"tenantId": "9f1e0c3a-0000-4000-8000-000000000001", "displayName": "Adatum"});
    let first = relationship("active", &[roles::GLOBAL_READER_ID]);
    on(&server, &format!("GET {RELS}?$filter=status eq 'active'"))
        .reply(200, json!({"value": [first, second, mlt]}))
        .await;
    let customers = gdap.customers().await.unwrap();
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
    let group = roles::group_name("Exchange Administrator", None);
    assert_eq!(group, "M365 GDAP Exchange Administrator");
    let nickname = roles::group_mail_nickname("Exchange Administrator", Some("EU"));
    assert_eq!(nickname, "M365GDAPExchangeAdministratorEU");
    assert_eq!(gdap::duration_days("P1Y6M"), Some(545));
    assert_eq!(gdap::duration_days("P"), None);
    assert_eq!(gdap::duration_days("P5X"), None);
}

#[tokio::test]
async fn role_groups_are_found_by_name_or_created_as_security_groups() {
    use cipp_graph::gdap::workflow;
    let (server, graph) = client().await;
    let by_name = |name: &str| format!("GET /v1.0/groups?$filter=displayName eq '{name}'");
    on(&server, &by_name("M365 GDAP Exchange Administrator"))
        .reply(
            200,
            json!({"value": [
                {"id": GROUP, "displayName": "M365 GDAP Exchange Administrator"}
            ]}),
        )
        .await;
    on(&server, &by_name("M365 GDAP User Administrator")).reply(200, json!({"value": []})).await;
    on(&server, "POST /v1.0/groups")
        .body(json!({
            "displayName": "M365 GDAP User Administrator",
            "mailNickname": "M365GDAPUserAdministrator",
            "mailEnabled": false,
            "securityEnabled": true,
            "groupTypes": []
        }))
        .reply(
            201,
            json!({
                "id": "11111111-1111-4111-8111-111111111111",
                "displayName": "M365 GDAP User Administrator",
                "mailEnabled": false, "securityEnabled": true, "groupTypes": []
            }),
        )
        .await;
    let ids = vec![EXO.to_owned(), "fe930be7-5e62-47db-91af-98c3a49a38b1".to_owned()];
    let partner = graph.tenant(&partner());
    let (mappings, report) = workflow::ensure_role_groups(&partner, &ids, None).await.unwrap();
    assert_eq!(report.steps.len(), 2, "{report:?}");
    assert_eq!(mappings.len(), 2, "{report:?}");
    assert_eq!(mappings[0].group_id, GROUP);
    assert_eq!(mappings[1].group_id, "11111111-1111-4111-8111-111111111111");
    assert_eq!(report.steps.len(), 2);
}

#[tokio::test]
async fn tenant_information_lookups_send_the_function_calls_and_read_the_answer() {
    let (server, gdap) = setup().await;
    let answer = |domain: &str| {
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.tenantInformation",
            "tenantId": CUSTOMER,
            "federationBrandName": null,
            "displayName": "Contoso",
            "defaultDomainName": domain
        })
    };
    on(
        &server,
        &format!(
            "GET /v1.0/tenantRelationships/findTenantInformationByTenantId(tenantId='{CUSTOMER}')"
        ),
    )
    .reply(200, answer("contoso.com"))
    .await;
    on(
        &server,
        "GET /v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='contoso.onmicrosoft.com')",
    )
    .reply(200, answer("contoso.com"))
    .await;
    on(
        &server,
        "GET /v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='nowhere.example')",
    )
    .fail(404, "Request_ResourceNotFound", "Resource 'nowhere.example' does not exist.")
    .await;

    let by_id = gdap.find_tenant_by_id(CUSTOMER).await.unwrap();
    assert_eq!(by_id.tenant_id, CUSTOMER);
    assert_eq!(by_id.default_domain_name.as_deref(), Some("contoso.com"));
    assert_eq!(by_id.display_name.as_deref(), Some("Contoso"));
    assert_eq!(by_id.federation_brand_name, None);
    let by_domain = gdap.find_tenant_by_domain("contoso.onmicrosoft.com").await.unwrap();
    assert_eq!(by_domain, by_id);
    let err = gdap.find_tenant_by_domain("nowhere.example").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Refused before sending: not a GUID, not a domain (a quote would end the literal).
    let before = sent(&server).await;
    assert!(gdap.find_tenant_by_id("contoso.com").await.is_err());
    assert!(gdap.find_tenant_by_domain("x') or ('1").await.is_err());
    assert!(gdap.find_tenant_by_domain("localhost").await.is_err());
    assert_eq!(sent(&server).await, before);
}
