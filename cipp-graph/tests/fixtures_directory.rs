//! Logs, consent, service principals, devices, the organization and its domains: every
//! typed operation in `cipp_graph::{audit, directory, applications}` decodes the response
//! example of its Microsoft Graph documentation page, verbatim.

mod fixtures;

use cipp_core::Error;
use cipp_graph::audit::{self, AuditFilter, SignInFilter};
use cipp_graph::model::{
    DirectoryAudit, Domain, ManagedDevice, OAuth2PermissionGrant, Organization, ServicePrincipal,
    SignIn,
};
use cipp_graph::{applications, directory};
use fixtures::*;
use futures::StreamExt;
use secrecy::ExposeSecret;

/// <https://learn.microsoft.com/en-us/graph/api/signin-list?view=graph-rest-1.0> (example
/// 2). The documented body is not JSON: a trailing comma closes
/// `appliedConditionalAccessPolicies`. The SDK refuses it as a decode error, without
/// panicking; with that comma alone removed, every field reads (seven fractional digits,
/// `""` as a device id, a `null` altitude, a next link).
#[tokio::test]
async fn sign_ins() {
    let verbatim = include_str!("fixtures/signin-list.json");
    let req = audit::sign_ins(&tenant(), &SignInFilter::default()).unwrap();
    let (_s, p) = serving(200, verbatim).await;
    let first = Box::pin(cipp_core::paging::pages::<SignIn>(p, req)).next().await.unwrap();
    assert!(matches!(first, Err(Error::Decode(_))), "{first:?}");

    let repaired = verbatim.replacen("},\n              ]", "}\n              ]", 1);
    assert_ne!(repaired, verbatim);
    let call = audit::sign_ins(&tenant(), &SignInFilter::default()).unwrap();
    let page: Page<SignIn> = first_page(call, &repaired).await;
    assert!(page.next_link.as_deref().unwrap().contains("$skiptoken="));
    let s = &page.items[0];
    assert_eq!(s.created_date_time.unwrap().to_rfc3339(), "2020-03-13T19:15:41.619583300+00:00");
    assert_eq!(s.client_app_used.as_deref(), Some("Browser"));
    let status = s.status.as_ref().unwrap();
    assert_eq!((status.error_code, status.failure_reason.as_deref()), (Some(0), None));
    let loc = s.location.as_ref().unwrap();
    assert_eq!(loc.country_or_region.as_deref(), Some("US"));
    let geo = loc.geo_coordinates.as_ref().unwrap();
    assert_eq!(geo.latitude, Some(47.68050003051758));
    assert!(geo.extra["altitude"].is_null(), "kept, as null");
    assert_eq!(s.extra["deviceDetail"]["deviceId"], "");
    assert_eq!(
        s.extra["appliedConditionalAccessPolicies"][1]["displayName"],
        "Medium signin risk block"
    );
}

/// <https://learn.microsoft.com/en-us/graph/api/directoryaudit-list?view=graph-rest-1.0>:
/// example 1 names the target type `Type` (capital T) and adds `groupType` (the SDK read
/// both as absent before); example 2 carries `@microsoft.graph.tips` and `type`.
#[tokio::test]
async fn directory_audits() {
    let call = audit::directory_audits(&tenant(), &AuditFilter::default()).unwrap();
    let page: Page<DirectoryAudit> = doc_page(call, "directoryaudit-list").await;
    let a = &page.items[0];
    assert_eq!(a.activity_display_name.as_deref(), Some("Add member to group"));
    assert_eq!(a.activity_date_time.unwrap().to_rfc3339(), "2018-01-09T21:20:02.721537400+00:00");
    assert_eq!(a.initiated_by.as_ref().unwrap()["user"]["ipAddress"], "127.0.0.1");
    let (group, user) = (&a.target_resources[0], &a.target_resources[1]);
    assert_eq!(group.kind.as_deref(), Some("Group"));
    assert_eq!(group.extra["groupType"], "unifiedGroups");
    assert_eq!(group.modified_properties[0].new_value.as_deref(), Some("DirectorySync"));
    assert_eq!(group.modified_properties[0].old_value, None);
    assert_eq!(user.kind.as_deref(), Some("User"));
    assert_eq!(user.user_principal_name.as_deref(), Some("bob@contoso.com"));
    assert_eq!(a.extra["additionalDetails"][0]["key"], "Additional Detail Name");

    let call = audit::directory_audits(&tenant(), &AuditFilter::default()).unwrap();
    let page: Page<DirectoryAudit> = doc_page(call, "directoryaudit-list-tips").await;
    let a = &page.items[0];
    assert_eq!(a.target_resources[0].kind.as_deref(), Some("N/A"));
    assert_eq!(a.extra["operationType"], "Update");
    assert!(a.initiated_by.as_ref().unwrap()["app"].is_null());
}

/// <https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-list?view=graph-rest-1.0>
/// (`@odata.id` annotations, a `null` principal for tenant-wide consent); revoking answers
/// `204` (<https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-delete?view=graph-rest-1.0>).
#[tokio::test]
async fn consent_grants() {
    let call = audit::oauth2_grants(&tenant(), None).unwrap();
    let page: Page<OAuth2PermissionGrant> = doc_page(call, "oauth2permissiongrant-list").await;
    let g = &page.items[1];
    assert_eq!(g.consent_type.as_deref(), Some("AllPrincipals"));
    assert_eq!(g.principal_id, None);
    assert!(g.scope.as_deref().unwrap().contains("Mail.ReadWrite "));
    assert!(g.extra.contains_key("@odata.id"));
    no_content(audit::revoke_oauth2_grant(&tenant(), &g.id).unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list?view=graph-rest-1.0>
/// for both listings, and
/// <https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-serviceprincipals?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/serviceprincipal-addpassword?view=graph-rest-1.0>.
#[tokio::test]
async fn service_principals() {
    let since = "2026-01-01T00:00:00Z".parse().unwrap();
    for req in [
        audit::service_principals_since(&tenant(), since),
        applications::find_service_principal(&tenant(), "65415bb1-9267-4313-bbf5-ae259732ee12")
            .unwrap(),
    ] {
        let page: Page<ServicePrincipal> = doc_page(req, "serviceprincipal-list").await;
        let sp = &page.items[0];
        assert_eq!(sp.app_id.as_deref(), Some("65415bb1-9267-4313-bbf5-ae259732ee12"));
        assert_eq!(sp.publisher_name.as_deref(), Some("Contoso"));
        assert_eq!(sp.created_date_time, None, "not in the example");
        assert_eq!(sp.extra["appDisplayName"], "My App");
    }
    let call =
        applications::create_service_principal(&tenant(), "65415bb1-9267-4313-bbf5-ae259732ee12")
            .unwrap();
    let sp: ServicePrincipal = created(call, "serviceprincipal-post-serviceprincipals").await;
    assert_eq!(sp.id, "59e617e5-e447-4adc-8b88-00af644d7c92");
    let end = "2021-09-09T19:50:29Z".parse().unwrap();
    let call = applications::add_service_principal_password(
        &tenant(),
        &sp.id,
        "Password friendly name",
        end,
    )
    .unwrap();
    let cred = ok(call, "serviceprincipal-addpassword").await;
    assert_eq!(cred.secret.expose_secret(), "[6gyXA5S20@MN+WRXAJ]I-TO7g1:h2P8");
    assert_eq!(cred.key_id.as_deref(), Some("f0b0b335-1d71-4883-8f98-567911bfdca6"));
    assert_eq!(cred.end_date_time.as_deref(), Some("2021-09-09T19:50:29.3086381Z"));
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-list?view=graph-rest-1.0>
/// (offsets of `-08:00`, nested `@odata.type`s without `#`, placeholders in date fields).
#[tokio::test]
async fn managed_devices() {
    let call = audit::managed_devices_of(&tenant(), "adelev@contoso.com").unwrap();
    let page: Page<ManagedDevice> = doc_page(call, "intune-devices-manageddevice-list").await;
    let d = &page.items[0];
    assert_eq!(d.compliance_state.as_deref(), Some("compliant"));
    assert_eq!(
        d.enrolled_date_time.unwrap().to_rfc3339(),
        "2017-01-01T07:59:43.797191+00:00",
        "-08:00 converted to UTC"
    );
    assert_eq!(
        d.extra["deviceHealthAttestationState"]["lastUpdateDateTime"],
        "Last Update Date Time value"
    );
}

/// <https://learn.microsoft.com/en-us/graph/api/organization-list?view=graph-rest-1.0>
/// and <https://learn.microsoft.com/en-us/graph/api/domain-list?view=graph-rest-1.0>
/// (placeholders as enum values); removing a role member answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/directoryrole-delete-member?view=graph-rest-1.0>).
#[tokio::test]
async fn organization_and_domains() {
    let page =
        doc_page::<Organization>(directory::organization(&tenant()), "organization-list").await;
    let o = page.items.first().unwrap();
    assert_eq!(o.display_name.as_deref(), Some("Contoso"));
    let d = &o.verified_domains[0];
    assert_eq!(d.name, "Contoso.onmicrosoft.com");
    assert_eq!((d.is_default, d.is_initial), (Some(true), Some(true)));
    assert_eq!(d.extra["type"], "Managed", "kept (was dropped)");
    assert_eq!(o.extra["partnerTenantType"], "ResellerPartnerDelegatedAdmin");

    let page: Page<Domain> = doc_page(directory::domains(&tenant()), "domain-list").await;
    let d = &page.items[0];
    assert_eq!(d.id, "contoso.com");
    assert_eq!(d.authentication_type.as_deref(), Some("authenticationType-value"));
    assert_eq!(d.is_verified, None);
    assert_eq!(d.extra["supportedServices"][1], "OfficeCommunicationsOnline");

    no_content(
        directory::remove_role_member(
            &tenant(),
            "62e90394-69f5-4237-9190-012177145e10",
            "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e",
        )
        .unwrap(),
    )
    .await;
}
