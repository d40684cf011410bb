//! Conditional Access: every typed operation in `cipp_graph::conditional_access` decodes
//! the response example of its Microsoft Graph documentation page, verbatim.

mod fixtures;

use cipp_graph::conditional_access as ca;
use cipp_graph::model::{
    AuthenticationStrengthPolicy, ConditionalAccessPolicy, NamedLocation, NamedLocationKind,
    PolicyState, SecurityDefaultsPolicy,
};
use cipp_graph::odata::Query;
use fixtures::*;

const POLICY: &str = "6b5e999b-0ba8-4186-a106-e0296c1c4358";

async fn policy() -> ConditionalAccessPolicy {
    ok(ca::get_policy(&tenant(), POLICY).unwrap(), "conditionalaccesspolicy-get").await
}

/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccesspolicy-get?view=graph-rest-1.0>;
/// updating, switching and deleting answer `204`
/// (<https://learn.microsoft.com/en-us/graph/api/conditionalaccesspolicy-update?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccesspolicy-delete?view=graph-rest-1.0>).
#[tokio::test]
async fn get_update_and_delete_policy() {
    let p = policy().await;
    assert_eq!(p.state, Some(PolicyState::Disabled));
    assert_eq!(p.built_in_controls().len(), 5);
    assert!(p.built_in_controls().contains(&"compliantDevice"));
    assert_eq!(p.modified_date_time.unwrap().to_rfc3339(), "2019-09-27T00:12:12.598647300+00:00");
    assert!(p.referenced_ids().contains(&"d2136c9c-b049-47ae-b9cf-316e04ef7198".to_owned()));
    assert_eq!(p.session_controls.as_ref().unwrap()["signInFrequency"]["value"], 4);
    no_content(ca::update_policy(&tenant(), POLICY, &p).unwrap()).await;
    no_content(ca::set_policy_state(&tenant(), POLICY, &PolicyState::ReportOnly).unwrap()).await;
    no_content(ca::delete_policy(&tenant(), POLICY).unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-policies?view=graph-rest-1.0>
/// (`null` dates and `null` session controls).
#[tokio::test]
async fn list_policies() {
    let call = ca::list_policies(&tenant(), &Query::new()).unwrap();
    let page: Page<ConditionalAccessPolicy> =
        doc_page(call, "conditionalaccessroot-list-policies").await;
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].display_name, "SimplePolicy1");
    assert_eq!(page.items[0].created_date_time, None);
    assert_eq!(page.items[0].session_controls, None);
    assert_eq!(page.items[0].built_in_controls(), ["block"]);
}

/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-post-policies?view=graph-rest-1.0>
/// (example 1).
#[tokio::test]
async fn create_policy() {
    let p = policy().await;
    let created: ConditionalAccessPolicy =
        created(ca::create_policy(&tenant(), &p).unwrap(), "conditionalaccessroot-post-policies")
            .await;
    assert_eq!(created.id, "7359d0e0-d8a9-4afa-8a93-e23e099d7be8");
    assert_eq!(created.state, Some(PolicyState::Enabled));
    assert_eq!(created.modified_date_time, None);
    assert_eq!(created.created_date_time.unwrap().to_rfc3339(), "2019-10-14T19:52:00.050958+00:00");
}

/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-namedlocations?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-post-namedlocations?view=graph-rest-1.0>
/// (example 2); updating answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/ipnamedlocation-update?view=graph-rest-1.0>).
#[tokio::test]
async fn named_locations() {
    let call = ca::list_named_locations(&tenant(), &Query::new()).unwrap();
    let page: Page<NamedLocation> =
        doc_page(call, "conditionalaccessroot-list-namedlocations").await;
    let kinds: Vec<NamedLocationKind> = page.items.iter().map(NamedLocation::kind).collect();
    assert_eq!(kinds, [NamedLocationKind::Ip, NamedLocationKind::Country, NamedLocationKind::Ip]);
    assert_eq!(page.items[2].is_trusted, Some(true));
    assert_eq!(
        page.items[2].ip_ranges.as_ref().unwrap()[0]["@odata.type"],
        "#microsoft.graph.iPv6CidrRange"
    );
    assert_eq!(
        page.items[1].countries_and_regions.as_deref(),
        Some(&["US".to_owned(), "CA".to_owned()][..])
    );
    let new = NamedLocation::countries(
        "Named location with unknown countries and regions",
        &["US", "GB"],
        true,
    );
    let call = ca::create_named_location(&tenant(), &new).unwrap();
    let created: NamedLocation = created(call, "conditionalaccessroot-post-namedlocations").await;
    assert_eq!(created.kind(), NamedLocationKind::Country);
    assert_eq!(created.include_unknown_countries_and_regions, Some(true));
    no_content(ca::update_named_location(&tenant(), &page.items[0].id, &page.items[0]).unwrap())
        .await;
}

/// <https://learn.microsoft.com/en-us/graph/api/authenticationstrengthroot-list-policies?view=graph-rest-1.0>
/// (example 2; a `combinationConfigurations@odata.context` annotation per item).
#[tokio::test]
async fn authentication_strengths() {
    let call = ca::list_authentication_strengths(&tenant());
    let page: Page<AuthenticationStrengthPolicy> =
        doc_page(call, "authenticationstrengthroot-list-policies").await;
    let s = &page.items[0];
    assert_eq!(s.policy_type.as_deref(), Some("builtIn"));
    assert_eq!(s.allowed_combinations.len(), 17);
    assert_eq!(s.extra["requirementsSatisfied"], "mfa");
}

/// <https://learn.microsoft.com/en-us/graph/api/identitysecuritydefaultsenforcementpolicy-get?view=graph-rest-1.0>;
/// switching off answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/identitysecuritydefaultsenforcementpolicy-update?view=graph-rest-1.0>).
#[tokio::test]
async fn security_defaults() {
    let p: SecurityDefaultsPolicy =
        ok(ca::get_security_defaults(&tenant()), "identitysecuritydefaultsenforcementpolicy-get")
            .await;
    assert!(p.is_enabled);
    assert_eq!(p.id, "00000000-0000-0000-0000-000000000005");
    assert_eq!(p.extra["displayName"], "Security Defaults");
    no_content(ca::disable_security_defaults(&tenant()).unwrap()).await;
}
