//! Users: every typed operation in `cipp_graph::users` decodes the response example of its
//! Microsoft Graph documentation page, verbatim (`tests/fixtures/*.json`; each test names
//! its page).

mod fixtures;

use cipp_core::SecretString;
use cipp_graph::model::{
    AssignedLicense, DirectoryObject, Drive, NewUser, PasswordProfile, SharePointIds, SkuId,
    SubscribedSku, User, UserPatch,
};
use cipp_graph::odata::Query;
use cipp_graph::users;
use fixtures::*;

/// <https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0> (example 1
/// and example 3, `$select` with `identities`).
#[tokio::test]
async fn get_user() {
    let u: User = ok(users::get(&tenant(), &adele(), &[]), "user-get").await;
    assert_eq!(u.id.as_ref().unwrap().as_str(), "87d349ed-44d7-43e1-9a83-5f2406dee5bd");
    assert_eq!(u.user_principal_name.as_deref(), Some("AdeleV@contoso.com"));
    assert_eq!(u.business_phones, Some(vec!["+1 425 555 0109".to_owned()]));
    assert_eq!(u.office_location.as_deref(), Some("18/2111"));
    assert_eq!(u.preferred_language.as_deref(), Some("en-US"));

    let call =
        users::get(&tenant(), &adele(), &["displayName", "givenName", "postalCode", "identities"]);
    let u: User = ok(call, "user-get-select").await;
    assert_eq!(u.id, None, "not selected, not sent");
    assert_eq!(u.postal_code.as_deref(), Some("98004"));
    assert_eq!(
        u.extra["identities"][0]["issuerAssignedId"], "AdeleV@contoso.com",
        "unknown properties are kept"
    );
}

/// <https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0> (examples 1
/// and 4: nulls for unset properties; a guest's `#EXT#` UPN and `@odata.count`).
#[tokio::test]
async fn list_users() {
    let page: Page<User> =
        doc_page(users::list(&tenant(), &Query::new()).unwrap(), "user-list").await;
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].display_name.as_deref(), Some("Conf Room Adams"));
    assert_eq!(page.items[0].given_name, None, "null reads as absent");
    assert_eq!(page.items[0].business_phones, Some(vec![]));
    assert_eq!(page.items[1].mobile_phone.as_deref(), Some("425-555-0101"));

    let page =
        doc_page::<User>(users::list(&tenant(), &Query::new()).unwrap(), "user-list-count").await;
    assert_eq!(page.count, Some(1));
    assert_eq!(
        page.items[0].user_principal_name.as_deref(),
        Some("a_contoso.com#EXT#@microsoft.onmicrosoft.com")
    );
    assert_eq!(page.items[0].mail_nickname.as_deref(), Some("a_contoso.com#EXT#"));
}

/// <https://learn.microsoft.com/en-us/graph/api/user-post-users?view=graph-rest-1.0>
#[tokio::test]
async fn create_user() {
    let new = NewUser {
        account_enabled: true,
        display_name: "Adele Vance".into(),
        mail_nickname: "AdeleV".into(),
        user_principal_name: "AdeleV@contoso.onmicrosoft.com".into(),
        password_profile: PasswordProfile {
            force_change_password_next_sign_in: true,
            password: SecretString::from("xWwvJ]6NMw+bWH-d"),
        },
        usage_location: None,
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        extra: Default::default(),
    };
    let u: User = created(users::create(&tenant(), &new).unwrap(), "user-post-users").await;
    assert_eq!(u.id.unwrap().as_str(), "87d349ed-44d7-43e1-9a83-5f2406dee5bd");
    assert_eq!(u.job_title.as_deref(), Some("Product Marketing Manager"));
}

/// `PATCH /users/{id}` answers `204 No Content`:
/// <https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0>. Every
/// operation built on it reads that answer.
#[tokio::test]
async fn updates_read_no_content() {
    let t = tenant();
    let patch = UserPatch {
        job_title: cipp_graph::model::Field::Set("Director".into()),
        ..UserPatch::default()
    };
    no_content(users::update(&t, &adele(), &patch).unwrap()).await;
    no_content(users::set_sign_in_enabled(&t, &adele(), false).unwrap()).await;
    no_content(
        users::reset_password(&t, &adele(), &SecretString::from("Vx!93kd-aa.Qw"), true).unwrap(),
    )
    .await;
    no_content(users::set_password_never_expires(&t, &adele(), true).unwrap()).await;
    no_content(users::clear_immutable_id(&t, &adele()).unwrap()).await;
    no_content(users::require_password_change(&t, &adele()).unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/user-delete?view=graph-rest-1.0> and
/// <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-delete?view=graph-rest-1.0>:
/// `204 No Content`.
#[tokio::test]
async fn deletes_read_no_content() {
    no_content(users::delete(&tenant(), &adele())).await;
    no_content(
        users::delete_permanently(&tenant(), "46cc6179-19d0-473e-97ad-6ff84347bbbb").unwrap(),
    )
    .await;
}

/// <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-list?view=graph-rest-1.0>
/// (example 2: the only documented page of deleted items carries just id, name and
/// `deletedDateTime`, with `@odata.count`).
#[tokio::test]
async fn list_deleted_users() {
    let call = users::list_deleted(&tenant(), &Query::new()).unwrap();
    let page: Page<User> = doc_page(call, "directory-deleteditems-list").await;
    assert_eq!(page.count, Some(2));
    assert_eq!(page.items[1].deleted_date_time.unwrap().to_rfc3339(), "2021-10-26T16:58:37+00:00");
}

/// <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-restore?view=graph-rest-1.0>
#[tokio::test]
async fn restore_deleted_item() {
    let call = users::restore(&tenant(), "46cc6179-19d0-473e-97ad-6ff84347bbbb").unwrap();
    let o: DirectoryObject = ok(call, "directory-deleteditems-restore").await;
    assert_eq!(o.odata_type.as_deref(), Some("#microsoft.graph.group"));
    assert_eq!(o.display_name.as_deref(), Some("SampleGroup"));
    assert_eq!(o.extra["groupTypes"][0], "Unified");
}

/// <https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions?view=graph-rest-1.0>
#[tokio::test]
async fn revoke_sign_in_sessions() {
    let ok =
        ok(users::revoke_sign_in_sessions(&tenant(), &adele()), "user-revokesigninsessions").await;
    assert!(ok);
}

/// Password writeback reset (beta) answers `202 Accepted` with `{}`:
/// <https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword?view=graph-rest-beta>
/// (example 1).
#[tokio::test]
async fn reset_password_synced() {
    decode(
        users::reset_password_synced(&tenant(), &adele(), &SecretString::from("Cuyo5459!x"))
            .unwrap(),
        202,
        "{}",
    )
    .await;
}

/// <https://learn.microsoft.com/en-us/graph/api/user-list-manager?view=graph-rest-1.0>;
/// setting and removing answer `204`:
/// <https://learn.microsoft.com/en-us/graph/api/user-post-manager?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/user-delete-manager?view=graph-rest-1.0>.
#[tokio::test]
async fn manager() {
    let m: DirectoryObject = ok(users::get_manager(&tenant(), &adele()), "user-list-manager").await;
    assert_eq!(m.display_name.as_deref(), Some("Sara Davis"));
    assert_eq!(m.odata_type, None, "the example has no @odata.type");
    assert_eq!(m.extra["jobTitle"], "Finance VP");
    no_content(
        users::set_manager(
            &tenant(),
            &adele(),
            "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b",
            "https://graph.microsoft.com",
        )
        .unwrap(),
    )
    .await;
    no_content(users::remove_manager(&tenant(), &adele())).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/user-list-memberof?view=graph-rest-1.0>
/// (example 1: an item without an `id`; example 4: `$search` with `@odata.count`).
#[tokio::test]
async fn member_of() {
    let call = users::member_of(&tenant(), &adele(), false, &Query::new()).unwrap();
    let page: Page<DirectoryObject> = doc_page(call, "user-list-memberof").await;
    assert_eq!(page.items[0].odata_type.as_deref(), Some("#microsoft.graph.group"));
    assert_eq!(page.items[0].id, None);
    assert_eq!(page.items[0].extra["securityEnabled"], true);
    let call = users::member_of(&tenant(), &adele(), true, &Query::new()).unwrap();
    let page: Page<DirectoryObject> = doc_page(call, "user-list-memberof-search").await;
    assert_eq!(page.count, Some(7));
    assert_eq!(page.items[0].display_name.as_deref(), Some("Contoso-tier Query Notification"));
}

/// <https://learn.microsoft.com/en-us/graph/api/user-assignlicense?view=graph-rest-1.0>
/// (an upper-case SKU id, no `id`) and
/// <https://learn.microsoft.com/en-us/graph/api/user-reprocesslicenseassignment?view=graph-rest-1.0>
/// (a placeholder, not a GUID, as SKU id).
#[tokio::test]
async fn licences() {
    let add = [AssignedLicense {
        sku_id: SkuId("0118a350-71fc-4ec3-8f0c-6a1cb8867561".into()),
        disabled_plans: vec![],
    }];
    let u: User =
        ok(users::assign_licenses(&tenant(), &adele(), &add, &[]).unwrap(), "user-assignlicense")
            .await;
    let l = &u.assigned_licenses.unwrap()[0];
    assert_eq!(l.sku_id.as_str(), "0118A350-71FC-4EC3-8F0C-6A1CB8867561");
    assert_eq!(l.disabled_plans, ["11b0131d-43c8-4bbb-b2c8-e80f9a50834a"]);
    assert_eq!(u.city.as_deref(), Some("city-value"));
    assert!(u.extra.contains_key("assignedPlans"));
    let call = users::reprocess_license_assignment(&tenant(), &adele());
    let u: User = ok(call, "user-reprocesslicenseassignment").await;
    assert_eq!(u.assigned_licenses.unwrap()[0].sku_id.as_str(), "skuId-value");
}

/// <https://learn.microsoft.com/en-us/graph/api/subscribedsku-list?view=graph-rest-1.0>
#[tokio::test]
async fn subscribed_skus() {
    let page =
        doc_page::<SubscribedSku>(users::subscribed_skus(&tenant()), "subscribedsku-list").await;
    let s = &page.items[1];
    assert_eq!(s.sku_part_number.as_deref(), Some("CRMSTANDARD"));
    assert_eq!(s.capability_status.as_deref(), Some("Suspended"));
    let units = s.prepaid_units.as_ref().unwrap();
    assert_eq!((units.enabled, units.suspended), (Some(0), Some(25)));
    assert_eq!(units.extra["lockedOut"], 0, "unknown counters are kept");
    assert_eq!(s.extra["servicePlans"][0]["servicePlanName"], "CRMSTANDARD");
}

/// Beta updates answering `204 No Content`:
/// <https://learn.microsoft.com/en-us/graph/api/authentication-update-signinpreferences?view=graph-rest-beta>,
/// <https://learn.microsoft.com/en-us/graph/api/onpremisessyncbehavior-update?view=graph-rest-beta>.
#[tokio::test]
async fn beta_updates_read_no_content() {
    no_content(users::set_default_mfa_method(&tenant(), &adele(), "push").unwrap()).await;
    no_content(users::set_cloud_managed(&tenant(), &adele(), true).unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/drive-get?view=graph-rest-1.0>; a shortcut
/// is a `driveItem` created in the root
/// (<https://learn.microsoft.com/en-us/graph/api/driveitem-post-children?view=graph-rest-1.0>:
/// `201 Created`).
#[tokio::test]
async fn drive() {
    let d: Drive = ok(users::drive(&tenant(), &adele()), "drive-get").await;
    assert_eq!(d.drive_type.as_deref(), Some("business"));
    assert_eq!(d.web_url, None);
    assert_eq!(d.extra["quota"]["state"], "normal");
    let target = SharePointIds {
        site_id: "site-1".into(),
        web_id: "web-1".into(),
        list_id: "list-1".into(),
        list_item_unique_id: "root".into(),
        site_url: "https://contoso.sharepoint.com/sites/Sales".into(),
    };
    created(users::add_drive_shortcut(&tenant(), &adele(), "Sales", &target).unwrap(), "drive-get")
        .await;
}
