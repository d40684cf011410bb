//! The simulator answers the onboarding reads and writes as Graph does: PIM for Groups
//! eligibility needs a filter, groups above a group, app role assignments checked against
//! the resource's app roles (400), duplicates refused (409), unknown principals 404.

mod common;

use cipp_graph::group_membership::EligibilityOf;
use cipp_graph::model::GroupId;
use cipp_sim::state::{paths, synthetic_guid};
use common::*;
use serde_json::json;

const ROLE: &str = "df021288-bdef-4463-88db-98f22de89214";

#[tokio::test(start_paused = true)]
async fn eligibility_groups_above_and_app_roles_answer_like_graph() {
    let (sim, graph, _) = demo();
    let contoso = graph.tenant(&tenant());
    let (parent, child, client, resource) = (
        synthetic_guid("parent"),
        synthetic_guid("child"),
        synthetic_guid("client-sp"),
        synthetic_guid("resource-sp"),
    );
    {
        let mut st = sim.lock_state();
        let t = st.tenant_mut("contoso.onmicrosoft.com").unwrap();
        for (id, name) in [(&parent, "Parent"), (&child, "Child")] {
            t.directory.store.get_mut(paths::GROUPS).insert(json!({"id": id, "displayName": name,
                "securityEnabled": true, "mailEnabled": false, "groupTypes": []}));
        }
        t.directory.members.entry(parent.clone()).or_default().push(child.clone());
        t.directory.store.get_mut(paths::PIM_GROUP_ELIGIBILITIES).insert(json!({
            "id": "e1", "accessId": "member", "groupId": child, "principalId": synthetic_guid("u"),
            "memberType": "direct", "startDateTime": "2024-01-01T00:00:00Z", "endDateTime": null}));
        let sps = t.directory.store.get_mut(paths::SERVICE_PRINCIPALS);
        sps.insert(
            json!({"id": client, "appId": synthetic_guid("client-app"), "displayName": "Client"}),
        );
        sps.insert(json!({"id": resource, "appId": synthetic_guid("resource-app"), "displayName": "API",
            "appRoles": [{"id": ROLE, "value": "User.Read.All", "allowedMemberTypes": ["Application"], "isEnabled": true}]}));
    }
    let m = contoso.group_membership();
    let above = m.group_groups(&GroupId::from(child.as_str())).await.unwrap();
    assert_eq!(above.len(), 1);
    assert_eq!(above[0].id.as_deref(), Some(parent.as_str()));
    let e = m.eligibilities(&EligibilityOf::Group(child.clone())).await.unwrap();
    assert_eq!(e.len(), 1);
    assert!(m.eligibilities(&EligibilityOf::Group(parent.clone())).await.unwrap().is_empty());
    // Without a filter Graph answers 400.
    let raw = cipp_core::ApiRequest::get(
        tenant(),
        cipp_core::Audience::Graph,
        "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
    );
    let err = sim_pipeline(&sim).send(raw).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));

    let c = contoso.consent();
    let err = c.assign_app_role(&client, &resource, &synthetic_guid("no-role")).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    c.assign_app_role(&client, &resource, ROLE).await.unwrap();
    let err = c.assign_app_role(&client, &resource, ROLE).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "{err}");
    let held = c.app_role_assignments(&client).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].resource_id.as_deref(), Some(resource.as_str()));
    let err = c.app_role_assignments(&synthetic_guid("nobody")).await.unwrap_err();
    assert!(err.is_not_found());
    // The assignment is audited.
    let audits = contoso.audit().directory_audits(&Default::default()).await.unwrap();
    assert!(audits.iter().any(|a| a.activity_display_name.as_deref()
        == Some("Add app role assignment to service principal")));
}
