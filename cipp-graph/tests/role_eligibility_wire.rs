//! Eligible (PIM) role assignments: the exact request and the documented answer.
//!
//! Source: "List roleEligibilityScheduleInstances" (v1.0), example response.

mod common;

use common::{contoso, nothing_sent, on};
use serde_json::json;

#[tokio::test]
async fn eligibilities_of_one_principal() {
    let (server, t) = contoso().await;
    on(
        &server,
        "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '92f37639-ba1e-471c-b9ba-922371c740cb'",
    )
    .reply(200, json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleInstances",
        "value": [{
            "id": "5wuT_mJe20eRr5jDpJo4sVbfbW3Mv95KpDw2H1MNfnM-1-e",
            "principalId": "92f37639-ba1e-471c-b9ba-922371c740cb",
            "roleDefinitionId": "fdd7a751-b60b-444a-984c-02652fe8fa1c",
            "directoryScopeId": "/",
            "appScopeId": null,
            "startDateTime": "2022-04-12T14:44:50.287Z",
            "endDateTime": null,
            "memberType": "Direct",
            "roleEligibilityScheduleId": "5wuT_mJe20eRr5jDpJo4sVbfbW3Mv95KpDw2H1MNfnM-1"
        }]
    }))
    .await;
    let got =
        t.directory().role_eligibilities("92f37639-ba1e-471c-b9ba-922371c740cb").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].role_definition_id.as_deref(), Some("fdd7a751-b60b-444a-984c-02652fe8fa1c"));
    assert_eq!(got[0].member_type.as_deref(), Some("Direct"));
    assert!(got[0].start_date_time.is_some() && got[0].end_date_time.is_none());
    assert!(got[0].extra.contains_key("roleEligibilityScheduleId"), "unknown properties kept");
}

#[tokio::test]
async fn a_principal_that_is_not_an_id_is_refused_before_sending() {
    let (server, t) = contoso().await;
    let err = t.directory().role_eligibilities("x' or 1 eq 1").await.unwrap_err();
    assert!(err.to_string().contains("principalId"), "{err}");
    nothing_sent(&server).await;
}
