//! Groups: every typed operation in `cipp_graph::groups` decodes the response example of
//! its Microsoft Graph documentation page, verbatim (`tests/fixtures/*.json`).

mod fixtures;

use cipp_graph::groups;
use cipp_graph::model::{DirectoryObject, Group, GroupKind, NewGroup};
use cipp_graph::odata::Query;
use fixtures::*;

const GROUP: &str = "02bd9fd6-8f93-4758-87c3-1fb73740a315";

/// <https://learn.microsoft.com/en-us/graph/api/group-get?view=graph-rest-1.0> (example 1:
/// a team with `null`s for unset dates and an SPO proxy address).
#[tokio::test]
async fn get_group() {
    let g: Group = ok(groups::get(&tenant(), GROUP, &[]).unwrap(), "group-get").await;
    assert_eq!(g.display_name.as_deref(), Some("HR Taskforce"));
    assert_eq!(g.kind(), GroupKind::Microsoft365);
    assert_eq!(g.membership_rule, None);
    assert_eq!(g.created_date_time.unwrap().to_rfc3339(), "2017-07-31T18:56:16+00:00");
    assert_eq!(g.extra["resourceProvisioningOptions"][0], "Team");
    assert!(g.extra["expirationDateTime"].is_null());
}

/// <https://learn.microsoft.com/en-us/graph/api/group-list?view=graph-rest-1.0> (example 1,
/// and example 6: a dynamic group with an `@odata.id` annotation).
#[tokio::test]
async fn list_groups() {
    let page =
        doc_page::<Group>(groups::list(&tenant(), &Query::new()).unwrap(), "group-list").await;
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].kind(), GroupKind::Microsoft365);
    assert_eq!(page.items[1].group_types, Some(vec![]));
    assert_eq!(page.items[1].visibility, None);
    assert_eq!(
        page.items[1].kind(),
        GroupKind::Distribution,
        "mail-enabled, not security, not unified"
    );
    let page =
        doc_page::<Group>(groups::list(&tenant(), &Query::new()).unwrap(), "group-list-dynamic")
            .await;
    assert_eq!(page.count, Some(1));
    let g = &page.items[0];
    assert_eq!(g.membership_rule_processing_state.as_deref(), Some("On"));
    assert!(g.membership_rule.as_deref().unwrap().contains("Nairobi"));
    assert!(g.extra["@odata.id"].as_str().unwrap().ends_with("Microsoft.DirectoryServices.Group"));
}

/// <https://learn.microsoft.com/en-us/graph/api/group-post-groups?view=graph-rest-1.0>
/// (example 1, indented with tabs in the documentation).
#[tokio::test]
async fn create_group() {
    let call =
        groups::create(&tenant(), &NewGroup::microsoft365("Library Assist", "library")).unwrap();
    let g: Group = created(call, "group-post-groups").await;
    assert_eq!(g.id.unwrap().as_str(), "b320ee12-b1cd-4cca-b648-a437be61c5cd");
    assert_eq!(g.mail.as_deref(), Some("library7423@contoso.com"));
    assert_eq!(g.extra["preferredDataLocation"], "CAN");
}

/// <https://learn.microsoft.com/en-us/graph/api/group-list-members?view=graph-rest-1.0>
/// (a placeholder id, nothing else) and
/// <https://learn.microsoft.com/en-us/graph/api/group-list-owners?view=graph-rest-1.0>.
#[tokio::test]
async fn members_and_owners() {
    let call = groups::members(&tenant(), GROUP, &Query::new()).unwrap();
    let page: Page<DirectoryObject> = doc_page(call, "group-list-members").await;
    assert_eq!(page.items[0].id.as_deref(), Some("id-value"));
    assert_eq!(page.items[0].odata_type, None);
    let call = groups::owners(&tenant(), GROUP, &Query::new()).unwrap();
    let page: Page<DirectoryObject> = doc_page(call, "group-list-owners").await;
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[1].display_name.as_deref(), Some("Megan Bowen"));
    assert_eq!(page.items[1].extra["userPrincipalName"], "MeganB@contoso.com");
}

/// Membership changes and deletion answer `204 No Content`:
/// <https://learn.microsoft.com/en-us/graph/api/group-post-members?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/group-delete-members?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/group-update?view=graph-rest-1.0>
/// (`members@odata.bind`), <https://learn.microsoft.com/en-us/graph/api/group-delete?view=graph-rest-1.0>.
#[tokio::test]
async fn writes_read_no_content() {
    let t = tenant();
    let user = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e";
    let base = "https://graph.microsoft.com";
    no_content(groups::add_member(&t, GROUP, user, base).unwrap()).await;
    no_content(groups::remove_member(&t, GROUP, user).unwrap()).await;
    let bulk = groups::add_members_bulk(&t, GROUP, &[user.to_owned()], base).unwrap();
    assert_eq!(bulk.len(), 1);
    for op in bulk {
        no_content(op).await;
    }
    no_content(groups::delete(&t, GROUP).unwrap()).await;
}
