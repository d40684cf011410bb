//! Authentication methods: every typed operation in `cipp_graph::auth_methods` decodes
//! the response example of its Microsoft Graph documentation page, verbatim.

mod fixtures;

use cipp_graph::auth_methods;
use cipp_graph::model::{
    AuthMethod, AuthMethodKind, NewTemporaryAccessPass, PerUserMfaState, TemporaryAccessPass,
    TemporaryAccessPassPolicy, UserRegistrationDetails,
};
use cipp_graph::odata::Query;
use fixtures::*;
use secrecy::ExposeSecret;

const USER: &str = "071cc716-8147-4397-a5ba-b2105951cc0b";

/// <https://learn.microsoft.com/en-us/graph/api/authentication-list-methods?view=graph-rest-1.0>:
/// a FIDO2 key reports its registration as `creationDateTime`, Windows Hello as
/// `createdDateTime` (the SDK read the FIDO2 date as absent before). Removal answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/fido2authenticationmethod-delete?view=graph-rest-1.0>).
#[tokio::test]
async fn list_and_delete_methods() {
    let call = auth_methods::list(&tenant(), &user(USER));
    let page: Page<AuthMethod> = doc_page(call, "authentication-list-methods").await;
    let (fido, hello) = (&page.items[0], &page.items[1]);
    assert_eq!(fido.kind(), AuthMethodKind::Fido2);
    assert_eq!(fido.created_date_time.unwrap().to_rfc3339(), "2020-08-10T06:44:09+00:00");
    assert_eq!(fido.extra["model"], "NFC key");
    assert_eq!(hello.kind(), AuthMethodKind::WindowsHelloForBusiness);
    assert_eq!(hello.created_date_time.unwrap().to_rfc3339(), "2020-11-27T23:12:49+00:00");
    let op = auth_methods::delete(&tenant(), &user(USER), fido).unwrap();
    assert!(op.request().path().ends_with("/authentication/fido2Methods/-2_GRUg2-HYz6_1YG4YRAQ2"));
    no_content(op).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/temporaryaccesspassauthenticationmethodconfiguration-get?view=graph-rest-1.0>
/// (with an `includeTargets@odata.context` annotation).
#[tokio::test]
async fn tap_policy() {
    let call = auth_methods::tap_policy(&tenant());
    let p: TemporaryAccessPassPolicy =
        ok(call, "temporaryaccesspassauthenticationmethodconfiguration-get").await;
    assert_eq!(
        (p.minimum_lifetime_in_minutes, p.maximum_lifetime_in_minutes),
        (Some(60), Some(480))
    );
    assert_eq!(p.state.as_deref(), Some("enabled"));
    assert_eq!(p.extra["includeTargets"][0]["id"], "all_users");
}

/// <https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods?view=graph-rest-1.0>
/// (six fractional digits in `createdDateTime`).
#[tokio::test]
async fn create_tap() {
    let req = NewTemporaryAccessPass {
        start_date_time: Some("2022-06-05T00:00:00Z".parse().unwrap()),
        lifetime_in_minutes: Some(60),
        is_usable_once: Some(false),
    };
    let call = auth_methods::create_tap(&tenant(), &user(USER), &req, None).unwrap();
    let tap: TemporaryAccessPass =
        created(call, "authentication-post-temporaryaccesspassmethods").await;
    assert_eq!(tap.temporary_access_pass.unwrap().expose_secret(), "+drkzqAD");
    assert_eq!(tap.created_date_time.unwrap().to_rfc3339(), "2022-06-02T16:21:09.765173+00:00");
    assert_eq!(tap.method_usability_reason.as_deref(), Some("NotYetValid"));
    assert_eq!(tap.is_usable, Some(false));
}

/// <https://learn.microsoft.com/en-us/graph/api/authentication-get?view=graph-rest-beta>
/// (per-user MFA); setting it answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/authentication-update?view=graph-rest-beta>).
#[tokio::test]
async fn per_user_mfa() {
    let r =
        ok(auth_methods::per_user_mfa(&tenant(), &user(USER)), "authentication-get-requirements")
            .await;
    assert_eq!(r.per_user_mfa_state, PerUserMfaState::Enforced);
    no_content(
        auth_methods::set_per_user_mfa(&tenant(), &user(USER), PerUserMfaState::Disabled).unwrap(),
    )
    .await;
}

/// <https://learn.microsoft.com/en-us/graph/api/authenticationmethodsroot-list-userregistrationdetails?view=graph-rest-1.0>
/// (seven fractional digits; `""` as the preferred method of a guest).
#[tokio::test]
async fn registration_details() {
    let call = auth_methods::registration_details(&tenant(), &Query::new()).unwrap();
    let page: Page<UserRegistrationDetails> =
        doc_page(call, "authenticationmethodsroot-list-userregistrationdetails").await;
    let [_, allan, bianca] = &page.items[..] else { panic!("{} users, not 3", page.items.len()) };
    assert_eq!(allan.is_mfa_registered, Some(false));
    assert_eq!(allan.user_type.as_deref(), Some("guest"));
    assert_eq!(allan.user_preferred_method_for_secondary_authentication.as_deref(), Some(""));
    assert_eq!(bianca.methods_registered.len(), 3);
    assert_eq!(
        bianca.last_updated_date_time.unwrap().to_rfc3339(),
        "2023-03-13T19:15:41.619583300+00:00"
    );
    assert_eq!(bianca.extra["systemPreferredAuthenticationMethods"][0], "push");
}
