//! Role assignments, role definitions, directory roles and their members, nested groups,
//! and risky users: the exact requests and the documented answers.
//!
//! Sources: "List unifiedRoleAssignments", "List unifiedRoleDefinitions", "List
//! directoryRoles", "List members of a directory role", "List group transitive members"
//! and "List riskyUsers" (v1.0), example responses.

mod common;

use cipp_graph::model::GroupId;
use cipp_graph::role_management::GLOBAL_ADMINISTRATOR;
use common::{contoso, nothing_sent, on};
use serde_json::json;

const GROUP: &str = "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4";

#[tokio::test]
async fn role_assignments_with_their_principals() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/roleManagement/directory/roleAssignments?$expand=principal")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments",
            "value": [{
                "id": "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1",
                "principalId": "4ab0b690-479b-47ff-af8f-2576cf521872",
                "roleDefinitionId": GLOBAL_ADMINISTRATOR,
                "directoryScopeId": "/",
                "principal": {"@odata.type": "#microsoft.graph.user", "id": "4ab0b690-479b-47ff-af8f-2576cf521872",
                              "displayName": "Diego Siciliani", "userPrincipalName": "diegos@contoso.com"},
                "condition": null
            }]
        }))
        .await;
    let got = t.role_management().assignments().expand("principal").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].role_definition_id.as_deref(), Some(GLOBAL_ADMINISTRATOR));
    assert_eq!(got[0].directory_scope_id.as_deref(), Some("/"));
    let p = got[0].principal.as_ref().expect("principal expanded");
    assert_eq!(p.odata_type.as_deref(), Some("#microsoft.graph.user"));
    assert_eq!(p.extra["userPrincipalName"], "diegos@contoso.com");
    assert!(got[0].extra.contains_key("condition"), "unknown properties kept");
}

#[tokio::test]
async fn assignments_of_one_role_are_filtered_by_role() {
    let (server, t) = contoso().await;
    on(
        &server,
        "GET /v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'&$select=principalId",
    )
    .reply(200, json!({"value": [{"principalId": "4ab0b690-479b-47ff-af8f-2576cf521872"}]}))
    .await;
    let got = t
        .role_management()
        .assignments_of(GLOBAL_ADMINISTRATOR)
        .select(["principalId"])
        .await
        .unwrap();
    assert_eq!(got[0].principal_id.as_deref(), Some("4ab0b690-479b-47ff-af8f-2576cf521872"));
}

#[tokio::test]
async fn a_role_that_is_not_a_guid_is_refused_before_sending() {
    let (server, t) = contoso().await;
    let e = t.role_management().assignments_of("x' or 1 eq 1").await.unwrap_err();
    assert!(e.to_string().contains("roleDefinitionId"), "{e}");
    let e = t.role_management().role_members("Global Administrator").await.unwrap_err();
    assert!(e.to_string().contains("role template id"), "{e}");
    let e = t.role_management().nested_groups(&GroupId::from("../users")).await.unwrap_err();
    assert!(e.to_string().contains("group"), "{e}");
    nothing_sent(&server).await;
}

#[tokio::test]
async fn role_definitions() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleDefinitions(id,displayName)",
            "value": [
                {"id": GLOBAL_ADMINISTRATOR, "displayName": "Global Administrator"},
                {"id": "fdd7a751-b60b-444a-984c-02652fe8fa1c", "displayName": "Groups Administrator"}
            ]
        }))
        .await;
    let got = t.role_management().definitions().select(["id", "displayName"]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].display_name.as_deref(), Some("Groups Administrator"));
}

#[tokio::test]
async fn directory_roles_with_their_members() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/directoryRoles?$expand=members")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryRoles(members())",
            "value": [{
                "id": "02b238cb-0d15-454b-aae6-0e94993a3207",
                "deletedDateTime": null,
                "description": "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
                "displayName": "Global Administrator",
                "roleTemplateId": GLOBAL_ADMINISTRATOR,
                "members": [{"@odata.type": "#microsoft.graph.user", "id": "4ab0b690-479b-47ff-af8f-2576cf521872",
                             "displayName": "Diego Siciliani", "userPrincipalName": "diegos@contoso.com"}]
            }, {
                "id": "0bcb7361-8ef6-4cf9-b4a5-1a3b1ac1f5e0",
                "displayName": "Directory Readers",
                "roleTemplateId": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
            }]
        }))
        .await;
    let got = t.role_management().directory_roles().expand("members").await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].role_template_id.as_deref(), Some(GLOBAL_ADMINISTRATOR));
    assert_eq!(got[0].members.len(), 1);
    assert_eq!(got[0].members[0].extra["userPrincipalName"], "diegos@contoso.com");
    assert!(got[1].members.is_empty(), "a role without expanded members has none");
}

#[tokio::test]
async fn members_of_one_role_by_template() {
    let (server, t) = contoso().await;
    on(
        &server,
        "GET /v1.0/directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members?$select=id,displayName,userPrincipalName,otherMails",
    )
    .reply(200, json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        "value": [
            {"@odata.type": "#microsoft.graph.user", "id": "4ab0b690-479b-47ff-af8f-2576cf521872",
             "displayName": "Diego Siciliani", "userPrincipalName": "diegos@contoso.com", "otherMails": []},
            {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "9f1e3f5c-6f0e-4c47-8b1b-0ac3d0bb0c71",
             "displayName": "Automation"}
        ]
    }))
    .await;
    let got = t
        .role_management()
        .role_members(GLOBAL_ADMINISTRATOR)
        .select(["id", "displayName", "userPrincipalName", "otherMails"])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].odata_type.as_deref(), Some("#microsoft.graph.servicePrincipal"));
}

#[tokio::test]
async fn a_role_nobody_holds_is_not_found() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members")
        .fail(404, "Request_ResourceNotFound", "Resource 'roleTemplateId=62e90394-69f5-4237-9190-012177145e10' does not exist or one of its queried reference-property objects are not present.")
        .await;
    let e = t.role_management().role_members(GLOBAL_ADMINISTRATOR).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn groups_nested_under_a_group() {
    let (server, t) = contoso().await;
    on(&server, &format!("GET /v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.group?$select=id"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(id)",
            "value": [{"@odata.type": "#microsoft.graph.group", "id": "b320ee12-b1cd-4cca-b648-a437be61c5cd"}]
        }))
        .await;
    let got =
        t.role_management().nested_groups(&GroupId::from(GROUP)).select(["id"]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id.as_deref(), Some("b320ee12-b1cd-4cca-b648-a437be61c5cd"));
}

#[tokio::test]
async fn risky_users_as_documented() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/identityProtection/riskyUsers?$top=500")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityProtection/riskyUsers",
            "value": [{
                "id": "c2b6c2b9-dddc-acd0-2b39-d519d803dbc3",
                "riskLastUpdatedDateTime": "2016-01-29T20:03:57.7872426Z",
                "isProcessing": true,
                "isDeleted": false,
                "riskDetail": "adminConfirmedUserCompromised",
                "riskLevel": "high",
                "riskState": "confirmedCompromised",
                "userDisplayName": "Alex Wilber",
                "userPrincipalName": "alexw@contoso.com"
            }, {
                "id": "a1b2c3d4-dddc-acd0-2b39-d519d803dbc3",
                "riskDetail": "userPerformedSecuredPasswordChange",
                "riskLevel": "none",
                "riskState": "remediated",
                "userPrincipalName": "adelev@contoso.com"
            }]
        }))
        .await;
    let got = t.identity_protection().risky_users().top(500).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].risk_level.as_deref(), Some("high"));
    assert!(got[0].risk_last_updated_date_time.is_some());
    assert!(got[0].is_at_risk() && !got[1].is_at_risk());
}

#[tokio::test]
async fn risky_users_without_p2_is_forbidden() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/identityProtection/riskyUsers")
        .fail(403, "Forbidden", "Your tenant is not licensed for this feature.")
        .await;
    let e = t.identity_protection().risky_users().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e:?}");
}

#[tokio::test]
async fn a_page_size_over_500_is_refused() {
    let (server, t) = contoso().await;
    assert!(t.identity_protection().risky_users().top(501).await.is_err());
    nothing_sent(&server).await;
}
