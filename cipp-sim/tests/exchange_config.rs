//! Exchange Online configuration on the simulator, over InvokeCommand: a new tenant's
//! documented defaults (organisation, transport, remote domain, OWA, sharing, role
//! assignment, Defender policies), singletons set without `-Identity`, named objects,
//! DKIM per accepted domain, client access and user settings, calendar permissions,
//! OPATH filters, and Exchange's errors (unbound parameters, bad values, unknown
//! identities, the "no settings modified" warning).

mod common;

use cipp_core::{Error, Pipeline, RetryPolicy};
use cipp_sim::kit::{TenantSeed, UserSeed};
use cipp_sim::Simulator;
use common::{exo, pipeline_with, Client};
use serde_json::{json, Value};

const T: &str = "contoso.onmicrosoft.com";

fn sim() -> Simulator {
    Simulator::builder()
        .tenant(
            TenantSeed::new(T, "Contoso")
                .domain("contoso.com")
                .user(UserSeed::new("adele@contoso.com", "Adele Vance"))
                .user(UserSeed::new("megan@contoso.com", "Megan Bowen"))
                .mailbox(
                    json!({"UserPrincipalName": "adele@contoso.com", "DisplayName": "Adele Vance"}),
                )
                .mailbox(
                    json!({"UserPrincipalName": "megan@contoso.com", "DisplayName": "Megan Bowen"}),
                )
                .mailbox(
                    json!({"UserPrincipalName": "info@contoso.com", "DisplayName": "Info",
                    "RecipientTypeDetails": "SharedMailbox"}),
                ),
        )
        .build()
}

fn pipeline(sim: &Simulator) -> Pipeline {
    pipeline_with(sim, sim.client_credentials(), RetryPolicy::default())
}

async fn err(p: &Pipeline, name: &str, params: Value) -> Error {
    p.send(exo(T, name, params)).await.unwrap_err()
}

fn rows(v: &Value) -> &Vec<Value> {
    v["value"].as_array().unwrap()
}

fn warned(v: &Value) -> bool {
    v["@adminapi.warnings"].as_array().is_some_and(|w| {
        w.iter()
            .any(|m| m.as_str().unwrap().contains("no settings"))
    })
}

#[tokio::test]
async fn a_new_tenant_has_exchange_onlines_documented_defaults() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    let org = &c.cmdlet("Get-OrganizationConfig", json!({})).await["value"][0];
    assert_eq!(org["AuditDisabled"], false);
    assert_eq!(org["AutoExpandingArchiveEnabled"], false);
    assert_eq!(org["MailTipsAllTipsEnabled"], true);
    assert_eq!(org["MailTipsExternalRecipientsTipsEnabled"], false);
    assert_eq!(org["MailTipsLargeAudienceThreshold"], 25);
    assert_eq!(org["SendFromAliasEnabled"], false);
    assert_eq!(org["MessageRecallEnabled"], Value::Null);
    let transport = &c.cmdlet("Get-TransportConfig", json!({})).await["value"][0];
    assert_eq!(transport["SmtpClientAuthenticationDisabled"], true);
    assert_eq!(transport["MessageExpiration"], "1.00:00:00");
    let remote = &c
        .cmdlet("Get-RemoteDomain", json!({"Identity": "Default"}))
        .await["value"][0];
    assert_eq!(remote["DomainName"], "*");
    assert_eq!(remote["TNEFEnabled"], Value::Null);
    let owa = &c
        .cmdlet(
            "Get-OwaMailboxPolicy",
            json!({"Identity": "OwaMailboxPolicy-Default"}),
        )
        .await["value"][0];
    assert_eq!(owa["AdditionalStorageProvidersAvailable"], true);
    let sharing = c.cmdlet("Get-SharingPolicy", json!({})).await;
    assert_eq!(rows(&sharing).len(), 1);
    assert_eq!(sharing["value"][0]["Name"], "Default Sharing Policy");
    assert_eq!(sharing["value"][0]["Default"], true);
    assert_eq!(sharing["value"][0]["Enabled"], true);
    let roles = &c.cmdlet("Get-RoleAssignmentPolicy", json!({})).await["value"][0];
    assert_eq!(roles["IsDefault"], true);
    assert!(roles["AssignedRoles"]
        .as_array()
        .unwrap()
        .contains(&json!("My Custom Apps")));
    let phish = c.cmdlet("Get-AntiPhishPolicy", json!({})).await;
    assert_eq!(phish["value"][0]["Name"], "Office365 AntiPhish Default");
    assert_eq!(phish["value"][0]["IsDefault"], true);
    let malware = &c
        .cmdlet("Get-MalwareFilterPolicy", json!({"Identity": "Default"}))
        .await["value"][0];
    assert_eq!(malware["FileTypes"].as_array().unwrap().len(), 53);
    let outbound = &c
        .cmdlet(
            "Get-HostedOutboundSpamFilterPolicy",
            json!({"Identity": "Default"}),
        )
        .await["value"][0];
    assert_eq!(outbound["AutoForwardingMode"], "Automatic");
    assert_eq!(outbound["NotifyOutboundSpam"], false);
    let outlook = &c.cmdlet("Get-ExternalInOutlook", json!({})).await["value"][0];
    assert_eq!(outlook["Enabled"], false);
    let atp = &c.cmdlet("Get-AtpPolicyForO365", json!({})).await["value"][0];
    assert_eq!(atp["EnableATPForSPOTeamsODB"], false);
    let report = c.cmdlet("Get-ReportSubmissionPolicy", json!({})).await;
    assert_eq!(report["value"][0]["Name"], "DefaultReportSubmissionPolicy");
    for noun in [
        "SafeAttachmentPolicy",
        "SafeAttachmentRule",
        "AntiPhishRule",
        "MalwareFilterRule",
        "ReportSubmissionRule",
    ] {
        let r = c.cmdlet(&format!("Get-{noun}"), json!({})).await;
        assert_eq!(r["value"], json!([]), "{noun}");
    }
    let domains = c.cmdlet("Get-AcceptedDomain", json!({})).await;
    let names: Vec<&str> = rows(&domains)
        .iter()
        .map(|d| d["DomainName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "contoso.onmicrosoft.com",
            "contoso.com",
            "contoso.mail.onmicrosoft.com"
        ]
    );
    let dkim = c.cmdlet("Get-DkimSigningConfig", json!({})).await;
    assert_eq!(rows(&dkim).len(), 1, "only the initial domain is signed");
    assert_eq!(dkim["value"][0]["Domain"], T);
    assert_eq!(dkim["value"][0]["Enabled"], true);
}

#[tokio::test]
async fn singletons_are_set_without_identity_and_say_when_nothing_changed() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    c.cmdlet(
        "Set-OrganizationConfig",
        json!({"MailTipsExternalRecipientsTipsEnabled": true, "MailTipsLargeAudienceThreshold": 30, "AutoExpandingArchive": true}),
    )
    .await;
    let org = &c.cmdlet("Get-OrganizationConfig", json!({})).await["value"][0];
    assert_eq!(org["MailTipsExternalRecipientsTipsEnabled"], true);
    assert_eq!(org["MailTipsLargeAudienceThreshold"], 30);
    assert_eq!(org["AutoExpandingArchiveEnabled"], true);
    let again = c
        .cmdlet(
            "Set-OrganizationConfig",
            json!({"MailTipsLargeAudienceThreshold": 30}),
        )
        .await;
    assert!(warned(&again), "{again}");
    let e = err(
        &p,
        "Set-OrganizationConfig",
        json!({"AutoExpandingArchive": false}),
    )
    .await;
    assert!(e.to_string().contains("can't be turned off"), "{e}");

    c.cmdlet(
        "Set-TransportConfig",
        json!({"MessageExpiration": "12:00:00"}),
    )
    .await;
    let tc = &c.cmdlet("Get-TransportConfig", json!({})).await["value"][0];
    assert_eq!(tc["MessageExpiration"], "12:00:00");
    let e = err(
        &p,
        "Set-TransportConfig",
        json!({"MessageExpiration": "06:00:00"}),
    )
    .await;
    assert!(e.to_string().contains("must be between"), "{e}");

    c.cmdlet(
        "Set-ExternalInOutlook",
        json!({"Enabled": true, "AllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["fabrikam.com"]}}),
    )
    .await;
    c.cmdlet(
        "Set-ExternalInOutlook",
        json!({"AllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["*.northwind.com", "FABRIKAM.com"]}}),
    )
    .await;
    let outlook = &c.cmdlet("Get-ExternalInOutlook", json!({})).await["value"][0];
    assert_eq!(outlook["Enabled"], true);
    assert_eq!(
        outlook["AllowList"],
        json!(["fabrikam.com", "*.northwind.com"])
    );
}

#[tokio::test]
async fn unbound_parameters_bad_values_and_unknown_identities_are_exchanges_errors() {
    let sim = sim();
    let p = pipeline(&sim);
    let e = err(&p, "Set-OrganizationConfig", json!({"IsDehydrated": true})).await;
    assert!(
        e.to_string()
            .contains("cannot be found that matches parameter name 'IsDehydrated'"),
        "{e}"
    );
    let e = err(&p, "Set-TransportConfig", json!({"Frobnicate": true})).await;
    assert!(e.to_string().contains("'Frobnicate'"), "{e}");
    let e = err(&p, "Set-OrganizationConfig", json!({"AuditDisabled": "no"})).await;
    assert!(e.to_string().contains("System.Boolean"), "{e}");
    let e = err(
        &p,
        "Set-HostedOutboundSpamFilterPolicy",
        json!({"Identity": "Default", "AutoForwardingMode": "Sometimes"}),
    )
    .await;
    assert!(e.to_string().contains("Automatic, On, Off"), "{e}");
    let e = err(
        &p,
        "Set-HostedOutboundSpamFilterPolicy",
        json!({"Identity": "Default", "NotifyOutboundSpamRecipients": ["not-an-address"]}),
    )
    .await;
    assert!(e.to_string().contains("isn't correct"), "{e}");
    let e = err(
        &p,
        "Set-AntiPhishPolicy",
        json!({"Identity": "Office365 AntiPhish Default", "PhishThresholdLevel": 5}),
    )
    .await;
    assert!(e.to_string().contains("maximum allowed range of 4"), "{e}");
    let e = err(
        &p,
        "Set-RemoteDomain",
        json!({"Identity": "Nowhere", "TNEFEnabled": false}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
    let e = err(
        &p,
        "Set-CASMailbox",
        json!({"Identity": "ghost@contoso.com", "PopEnabled": false}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
    let e = err(
        &p,
        "Get-Mailbox",
        json!({"Filter": "RecipientTypeDetails -eq"}),
    )
    .await;
    assert!(e.to_string().contains("Invalid filter syntax"), "{e}");
    let e = err(
        &p,
        "New-AntiPhishPolicy",
        json!({"Name": "Office365 AntiPhish Default"}),
    )
    .await;
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = err(&p, "New-ReportSubmissionPolicy", json!({})).await;
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = err(
        &p,
        "Remove-MalwareFilterPolicy",
        json!({"Identity": "Default"}),
    )
    .await;
    assert!(e.to_string().contains("default policy"), "{e}");
}

#[tokio::test]
async fn defender_policies_and_rules_are_created_bound_and_renumbered() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    c.cmdlet(
        "New-SafeAttachmentPolicy",
        json!({"Name": "Strict", "Enable": true, "Action": "dynamicdelivery", "QuarantineTag": "AdminOnlyAccessPolicy"}),
    )
    .await;
    let pol = &c
        .cmdlet("Get-SafeAttachmentPolicy", json!({"Identity": "Strict"}))
        .await["value"][0];
    assert_eq!(
        pol["Action"], "DynamicDelivery",
        "stored in Exchange's spelling"
    );
    let e = err(
        &p,
        "New-SafeAttachmentRule",
        json!({"Name": "Strict Rule", "SafeAttachmentPolicy": "Missing"}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
    for (name, prio) in [("First", 0), ("Second", 0)] {
        c.cmdlet(
            "New-SafeAttachmentRule",
            json!({"Name": name, "SafeAttachmentPolicy": "Strict", "Priority": prio,
                   "RecipientDomainIs": ["contoso.com"]}),
        )
        .await;
    }
    let rules = c.cmdlet("Get-SafeAttachmentRule", json!({})).await;
    let prio = |n: &str| rows(&rules).iter().find(|r| r["Name"] == n).unwrap()["Priority"].clone();
    assert_eq!((prio("Second"), prio("First")), (json!(0), json!(1)));
    c.cmdlet(
        "Set-SafeAttachmentRule",
        json!({"Identity": "First", "Priority": 0}),
    )
    .await;
    let rules = c.cmdlet("Get-SafeAttachmentRule", json!({})).await;
    let prio = |n: &str| rows(&rules).iter().find(|r| r["Name"] == n).unwrap()["Priority"].clone();
    assert_eq!((prio("First"), prio("Second")), (json!(0), json!(1)));
    let e = err(
        &p,
        "Remove-SafeAttachmentPolicy",
        json!({"Identity": "Strict"}),
    )
    .await;
    assert!(e.to_string().contains("used by rule"), "{e}");
}

#[tokio::test]
async fn dkim_is_created_and_enabled_per_accepted_domain() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    let e = err(
        &p,
        "New-DkimSigningConfig",
        json!({"DomainName": "elsewhere.com", "Enabled": true}),
    )
    .await;
    assert!(e.to_string().contains("isn't an accepted domain"), "{e}");
    let e = err(
        &p,
        "New-DkimSigningConfig",
        json!({"DomainName": "contoso.com", "Enabled": true, "KeySize": 4096}),
    )
    .await;
    assert!(e.to_string().contains("1024,2048"), "{e}");
    c.cmdlet(
        "New-DkimSigningConfig",
        json!({"DomainName": "contoso.com", "Enabled": false, "KeySize": 2048}),
    )
    .await;
    let e = err(
        &p,
        "New-DkimSigningConfig",
        json!({"DomainName": "contoso.com", "Enabled": true}),
    )
    .await;
    assert!(e.to_string().contains("already exists"), "{e}");
    c.cmdlet(
        "Set-DkimSigningConfig",
        json!({"Identity": "contoso.com", "Enabled": true}),
    )
    .await;
    let again = c
        .cmdlet(
            "Set-DkimSigningConfig",
            json!({"Identity": "contoso.com", "Enabled": true}),
        )
        .await;
    assert!(warned(&again));
    let d = &c
        .cmdlet("Get-DkimSigningConfig", json!({"Identity": "contoso.com"}))
        .await["value"][0];
    assert_eq!(
        (d["Enabled"].clone(), d["Status"].clone()),
        (json!(true), json!("Valid"))
    );
    assert_eq!(
        d["Selector1CNAME"],
        "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"
    );
    let e = err(
        &p,
        "Set-DkimSigningConfig",
        json!({"Identity": "nowhere.com", "Enabled": true}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
}

#[tokio::test]
async fn mailboxes_cas_users_and_calendars() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    // Filters, types and plans.
    let users = c
        .cmdlet(
            "Get-Mailbox",
            json!({"MailboxPlan": "ExchangeOnlineEnterprise",
                   "Filter": "ArchiveGuid -Eq \"00000000-0000-0000-0000-000000000000\" -AND RecipientTypeDetails -Eq \"UserMailbox\""}),
        )
        .await;
    assert_eq!(rows(&users).len(), 2);
    let shared = c
        .cmdlet(
            "Get-Mailbox",
            json!({"RecipientTypeDetails": "SharedMailbox"}),
        )
        .await;
    assert_eq!(shared["value"][0]["UserPrincipalName"], "info@contoso.com");
    c.cmdlet(
        "Enable-Mailbox",
        json!({"Identity": "adele@contoso.com", "Archive": true}),
    )
    .await;
    let users = c
        .cmdlet(
            "Get-Mailbox",
            json!({"Filter": "ArchiveGuid -eq '00000000-0000-0000-0000-000000000000' -and RecipientTypeDetails -eq 'UserMailbox'"}),
        )
        .await;
    assert_eq!(rows(&users).len(), 1, "adele has an archive now");
    c.cmdlet(
        "Set-Mailbox",
        json!({"Identity": "info@contoso.com", "MessageCopyForSentAsEnabled": true, "MessageCopyForSendOnBehalfEnabled": true}),
    )
    .await;
    let info = &c
        .cmdlet("Get-Mailbox", json!({"Identity": "info@contoso.com"}))
        .await["value"][0];
    assert_eq!(info["MessageCopyForSentAsEnabled"], true);
    let e = err(
        &p,
        "Set-Mailbox",
        json!({"Identity": "info@contoso.com", "AuditEnabled": "yes"}),
    )
    .await;
    assert!(e.to_string().contains("System.Boolean"), "{e}");

    // Client access: SMTP AUTH is inherited ($null) until set.
    let cas = c.cmdlet("Get-CASMailbox", json!({})).await;
    assert!(rows(&cas)
        .iter()
        .all(|r| r["SmtpClientAuthenticationDisabled"].is_null()));
    let guid = cas["value"][0]["Guid"].as_str().unwrap().to_owned();
    c.cmdlet(
        "Set-CASMailbox",
        json!({"Identity": guid, "SmtpClientAuthenticationDisabled": false}),
    )
    .await;
    let enabled = c
        .cmdlet(
            "Get-CASMailbox",
            json!({"Filter": "SmtpClientAuthenticationDisabled -eq $false"}),
        )
        .await;
    assert_eq!(rows(&enabled).len(), 1);
    c.cmdlet(
        "Set-CASMailbox",
        json!({"Identity": guid, "SmtpClientAuthenticationDisabled": null}),
    )
    .await;
    let again = c
        .cmdlet(
            "Set-CASMailbox",
            json!({"Identity": guid, "SmtpClientAuthenticationDisabled": null}),
        )
        .await;
    assert!(warned(&again));

    // Users: PowerShell access, shared mailboxes included.
    let all = c.cmdlet("Get-User", json!({})).await;
    assert_eq!(rows(&all).len(), 3);
    assert!(rows(&all)
        .iter()
        .all(|u| u["RemotePowerShellEnabled"] == true));
    c.cmdlet(
        "Set-User",
        json!({"Identity": "megan@contoso.com", "RemotePowerShellEnabled": false}),
    )
    .await;
    let on = c
        .cmdlet(
            "Get-User",
            json!({"Filter": "RemotePowerShellEnabled -eq $true"}),
        )
        .await;
    assert_eq!(rows(&on).len(), 2);
    let e = err(
        &p,
        "Set-User",
        json!({"Identity": "megan@contoso.com", "Department": "Sales"}),
    )
    .await;
    assert!(e.to_string().contains("'Department'"), "{e}");

    // The Default calendar entry exists from the start and is changed in place.
    let cal = c
        .cmdlet(
            "Get-MailboxFolderPermission",
            json!({"Identity": "adele@contoso.com:\\Calendar", "User": "Default"}),
        )
        .await;
    assert_eq!(cal["value"][0]["AccessRights"], json!(["AvailabilityOnly"]));
    c.cmdlet(
        "Set-MailboxFolderPermission",
        json!({"Identity": "adele@contoso.com:\\Calendar", "User": "Default", "AccessRights": "limiteddetails"}),
    )
    .await;
    let cal = c
        .cmdlet(
            "Get-MailboxFolderPermission",
            json!({"Identity": "adele@contoso.com:\\Calendar", "User": "Default"}),
        )
        .await;
    assert_eq!(cal["value"][0]["AccessRights"], json!(["LimitedDetails"]));
    assert_eq!(cal["value"][0]["User"], "Default");
    let e = err(
        &p,
        "Set-MailboxFolderPermission",
        json!({"Identity": "adele@contoso.com:\\Calendar", "User": "Default", "AccessRights": "Everything"}),
    )
    .await;
    assert!(e.to_string().contains("AvailabilityOnly"), "{e}");
}

#[tokio::test]
async fn role_assignments_removed_leave_the_default_policy() {
    let sim = sim();
    let p = pipeline(&sim);
    let c = Client::new(&p, T);
    let a = c
        .cmdlet(
            "Get-ManagementRoleAssignment",
            json!({"RoleAssignee": "Default Role Assignment Policy", "Role": "My Custom Apps"}),
        )
        .await;
    assert_eq!(rows(&a).len(), 1);
    let guid = a["value"][0]["Guid"].as_str().unwrap().to_owned();
    c.cmdlet(
        "Remove-ManagementRoleAssignment",
        json!({"Identity": guid, "Confirm": false}),
    )
    .await;
    let policy = &c.cmdlet("Get-RoleAssignmentPolicy", json!({})).await["value"][0];
    assert!(!policy["AssignedRoles"]
        .as_array()
        .unwrap()
        .contains(&json!("My Custom Apps")));
    let e = err(
        &p,
        "Remove-ManagementRoleAssignment",
        json!({"Identity": guid}),
    )
    .await;
    assert!(e.is_not_found(), "{e}");
    // A tenant that is not dehydrated needs no customization.
    let e = err(&p, "Enable-OrganizationCustomization", json!({})).await;
    assert!(e.to_string().contains("not required"), "{e}");
}
