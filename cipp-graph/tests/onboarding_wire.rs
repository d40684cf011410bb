//! The reads and writes behind GDAP onboarding over the real HTTP path: transitive group
//! memberships and PIM for Groups eligibility (partner tenant), delegated grants and app
//! role assignments (customer tenant). Exact method, path, query and body; the documented
//! answers read; errors with the service's code and request id; bad input refused with
//! nothing sent.

mod common;

use cipp_graph::consent::{self, MICROSOFT_GRAPH_APP_ID};
use cipp_graph::group_membership::EligibilityOf;
use cipp_graph::model::{GroupId, ServicePrincipal};
use common::*;
use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

const SAM: &str = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
const GROUP: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";
const PARENT: &str = "7a1d2c3b-4e5f-4a6b-9c8d-1e2f3a4b5c6d";
const CLIENT_SP: &str = "5b3f0f8e-5d2a-4a4e-9a3c-2f1c3d4e5f60";
const GRAPH_SP: &str = "9028d19c-26a9-4809-8e3f-20ff73e2d75e";
const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";
const ELIGIBILITY: &str =
    "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances";

fn group(id: &str, name: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.group", "id": id, "displayName": name})
}

#[tokio::test]
async fn user_groups_lists_transitive_groups_with_the_cast() {
    let (server, graph) = contoso().await;
    on(&server, "GET /v1.0/users/sam%40contoso.com/transitiveMemberOf/microsoft.graph.group?$select=id,displayName")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName)",
            "value": [group(GROUP, "Technicians"), group(PARENT, "M365 GDAP User Administrator")]
        }))
        .await;
    let groups = graph
        .group_membership()
        .user_groups(&user("sam@contoso.com"))
        .select(["id", "displayName"])
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1].display_name.as_deref(), Some("M365 GDAP User Administrator"));
    assert_eq!(groups[0].odata_type.as_deref(), Some("#microsoft.graph.group"));
}

#[tokio::test]
async fn user_groups_error_keeps_code_and_request_id() {
    let (server, graph) = contoso().await;
    on(&server, "GET /v1.0/users/ghost%40contoso.com/transitiveMemberOf/microsoft.graph.group")
        .fail(404, "Request_ResourceNotFound", "Resource 'ghost@contoso.com' does not exist.")
        .await;
    let err = graph.group_membership().user_groups(&user("ghost@contoso.com")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.request_id(), Some("rid-1"));
    assert_eq!(err.tenant().map(|t| t.as_str()), Some("contoso.onmicrosoft.com"));
}

#[tokio::test]
async fn group_groups_and_eligibility_refuse_non_guids_before_sending() {
    let (server, graph) = contoso().await;
    let m = graph.group_membership();
    assert!(m.group_groups(&GroupId::from("not-a-guid")).await.is_err());
    assert!(m.eligibilities(&EligibilityOf::Principal("sam@contoso.com".into())).await.is_err());
    assert!(m.eligibilities(&EligibilityOf::Group("x' or 1 eq 1".into())).await.is_err());
    assert!(m.groups_above(&["nope".into()]).await.is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn eligibilities_filter_by_principal_and_read_the_documented_shape() {
    let (server, graph) = contoso().await;
    on(&server, &format!("GET {ELIGIBILITY}"))
        .query("$filter", &format!("principalId eq '{SAM}'"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
            "value": [{
                "@odata.type": "#microsoft.graph.privilegedAccessGroupEligibilityScheduleInstance",
                "id": "2b5ed229-4072-478d-9504-a047ebd4b07d_member_9ee6f6ba-1a1f-4f52-8d4b-a9e3bb6e4c4c",
                "startDateTime": "2023-02-06T19:25:00Z",
                "endDateTime": "2024-02-06T19:25:00Z",
                "accessId": "member",
                "principalId": SAM,
                "groupId": GROUP,
                "memberType": "direct",
                "eligibilityScheduleId": "2b5ed229-4072-478d-9504-a047ebd4b07d_member_8"
            }, {
                "id": "owner-1", "accessId": "owner", "principalId": SAM, "groupId": PARENT,
                "memberType": "group", "startDateTime": "2023-02-06T19:25:00.1234567Z", "endDateTime": null
            }]
        }))
        .await;
    let list = graph
        .group_membership()
        .eligibilities(&EligibilityOf::Principal(SAM.to_ascii_uppercase()))
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].is_member());
    assert_eq!(list[0].group_id.as_deref(), Some(GROUP));
    assert_eq!(list[0].end_date_time.unwrap().to_rfc3339(), "2024-02-06T19:25:00+00:00");
    assert!(!list[1].is_member());
    assert_eq!(list[1].end_date_time, None);
    assert_eq!(list[1].member_type.as_deref(), Some("group"));
}

#[tokio::test]
async fn eligibilities_by_group_and_an_error() {
    let (server, graph) = contoso().await;
    on(&server, &format!("GET {ELIGIBILITY}"))
        .query("$filter", &format!("groupId eq '{GROUP}'"))
        .fail(403, "Forbidden", "Insufficient privileges to complete the operation.")
        .await;
    let err = graph
        .group_membership()
        .eligibilities(&EligibilityOf::Group(GROUP.into()))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn groups_above_sends_one_batch_and_maps_each_group() {
    let (server, graph) = contoso().await;
    let answer = |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let responses: Vec<Value> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let url = r["url"].as_str().unwrap();
                let value = if url.contains(GROUP) { vec![group(PARENT, "Parent")] } else { vec![] };
                json!({"id": r["id"], "status": 200, "headers": {"Content-Type": "application/json"},
                    "body": {"value": value}})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
    };
    on(&server, "POST /v1.0/$batch").respond(answer).await;
    let above =
        graph.group_membership().groups_above(&[GROUP.into(), PARENT.into()]).await.unwrap();
    assert_eq!(above[GROUP][0].id.as_deref(), Some(PARENT));
    assert!(above[PARENT].is_empty());
    let sent = received(&server, "POST", "/v1.0/$batch").await;
    let requests = sent["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["method"], "GET");
    assert_eq!(
        requests[0]["url"],
        format!(
            "/groups/{GROUP}/transitiveMemberOf/microsoft.graph.group?$select=id%2CdisplayName"
        )
    );
}

#[tokio::test]
async fn groups_above_fails_when_an_item_fails() {
    let (server, graph) = contoso().await;
    on(&server, "POST /v1.0/$batch")
        .reply(
            200,
            json!({"responses": [{"id": "1", "status": 404, "headers": {},
            "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone",
                "innerError": {"request-id": "rid-9"}}}}]}),
        )
        .await;
    let err = graph.group_membership().groups_above(&[GROUP.into()]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn create_grant_posts_the_documented_body() {
    let (server, graph) = contoso().await;
    on(&server, "POST /v1.0/oauth2PermissionGrants")
        .body(json!({"clientId": CLIENT_SP, "consentType": "AllPrincipals", "resourceId": GRAPH_SP,
            "scope": "Directory.ReadWrite.All AppRoleAssignment.ReadWrite.All"}))
        .reply(201, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants/$entity",
            "clientId": CLIENT_SP, "consentType": "AllPrincipals", "id": "l5-grant-id",
            "principalId": null, "resourceId": GRAPH_SP,
            "scope": "Directory.ReadWrite.All AppRoleAssignment.ReadWrite.All"
        }))
        .await;
    let scopes = vec!["Directory.ReadWrite.All".into(), "AppRoleAssignment.ReadWrite.All".into()];
    let g = graph.consent().create_grant(CLIENT_SP, GRAPH_SP, &scopes).await.unwrap();
    assert_eq!(g.id, "l5-grant-id");
    assert_eq!(g.consent_type.as_deref(), Some("AllPrincipals"));
}

#[tokio::test]
async fn update_grant_patches_the_scope_and_reports_errors() {
    let (server, graph) = contoso().await;
    on(&server, "PATCH /v1.0/oauth2PermissionGrants/l5-grant-id")
        .body(json!({"scope": "User.Read Directory.Read.All"}))
        .reply(204, Value::Null)
        .await;
    on(&server, "PATCH /v1.0/oauth2PermissionGrants/gone")
        .fail(404, "Request_ResourceNotFound", "Resource 'gone' does not exist.")
        .await;
    let scopes = vec!["User.Read".into(), "Directory.Read.All".into()];
    graph.consent().update_grant_scopes("l5-grant-id", &scopes).await.unwrap();
    let err = graph.consent().update_grant_scopes("gone", &scopes).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn consent_input_is_checked_before_sending() {
    let (server, graph) = contoso().await;
    let c = graph.consent();
    let ok = vec!["User.Read".to_owned()];
    assert!(c.create_grant("not-a-guid", GRAPH_SP, &ok).await.is_err());
    assert!(c.create_grant(CLIENT_SP, GRAPH_SP, &[]).await.is_err());
    assert!(c.create_grant(CLIENT_SP, GRAPH_SP, &["User.Read Mail.Send".into()]).await.is_err());
    assert!(c.update_grant_scopes("a/b", &ok).await.is_err());
    assert!(c.assign_app_role(CLIENT_SP, GRAPH_SP, "User.Read.All").await.is_err());
    assert!(c.app_role_assignments("x").await.is_err());
    assert!(c.resource("graph").await.is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn app_role_assignments_list_and_assign() {
    let (server, graph) = contoso().await;
    on(&server, &format!("GET /v1.0/servicePrincipals/{CLIENT_SP}/appRoleAssignments"))
        .reply(200, json!({"value": [{
            "id": "8_1-assignment", "deletedDateTime": null, "appRoleId": USER_READ_ALL,
            "createdDateTime": "2021-02-15T16:39:38.2975029Z", "principalDisplayName": "CIPP-SAM",
            "principalId": CLIENT_SP, "principalType": "ServicePrincipal",
            "resourceDisplayName": "Microsoft Graph", "resourceId": GRAPH_SP
        }]}))
        .await;
    on(&server, &format!("POST /v1.0/servicePrincipals/{CLIENT_SP}/appRoleAssignments"))
        .body(json!({"principalId": CLIENT_SP, "resourceId": GRAPH_SP, "appRoleId": USER_READ_ALL}))
        .fail(409, "Request_BadRequest", "Permission being assigned already exists on the object")
        .await;
    let held = graph.consent().app_role_assignments(CLIENT_SP).await.unwrap();
    assert_eq!(held[0].app_role_id.as_deref(), Some(USER_READ_ALL));
    assert_eq!(held[0].resource_display_name.as_deref(), Some("Microsoft Graph"));
    let err =
        graph.consent().assign_app_role(CLIENT_SP, GRAPH_SP, USER_READ_ALL).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn assign_app_role_reads_201() {
    let (server, graph) = contoso().await;
    on(&server, &format!("POST /v1.0/servicePrincipals/{CLIENT_SP}/appRoleAssignments"))
        .reply(
            201,
            json!({"id": "new-assignment", "appRoleId": USER_READ_ALL,
            "principalId": CLIENT_SP, "principalType": "ServicePrincipal", "resourceId": GRAPH_SP}),
        )
        .await;
    let a = graph.consent().assign_app_role(CLIENT_SP, GRAPH_SP, USER_READ_ALL).await.unwrap();
    assert_eq!(a.id.as_deref(), Some("new-assignment"));
}

#[tokio::test]
async fn resource_reads_app_roles_by_value() {
    let (server, graph) = contoso().await;
    on(&server, "GET /v1.0/servicePrincipals?$select=id,appId,displayName,appRoles")
        .query("$filter", &format!("appId eq '{MICROSOFT_GRAPH_APP_ID}'"))
        .reply(200, json!({"value": [{
            "id": GRAPH_SP, "appId": MICROSOFT_GRAPH_APP_ID, "displayName": "Microsoft Graph",
            "appRoles": [
                {"id": USER_READ_ALL, "value": "User.Read.All", "allowedMemberTypes": ["Application"], "isEnabled": true},
                {"id": "b0afded3-3588-46d8-8b3d-9842eff778da", "value": "AuditLog.Read.All", "allowedMemberTypes": ["Application"], "isEnabled": false},
                {"id": "c1", "value": "Delegated.Only", "allowedMemberTypes": ["User"], "isEnabled": true}
            ]
        }]}))
        .await;
    let sp: ServicePrincipal =
        graph.consent().resource(MICROSOFT_GRAPH_APP_ID).await.unwrap().expect("found");
    assert_eq!(consent::app_roles(&sp).len(), 3);
    assert_eq!(consent::app_role_id(&sp, "user.read.all").as_deref(), Some(USER_READ_ALL));
    assert_eq!(consent::app_role_id(&sp, "AuditLog.Read.All"), None, "disabled");
    assert_eq!(consent::app_role_id(&sp, "Delegated.Only"), None, "not an application role");
}
