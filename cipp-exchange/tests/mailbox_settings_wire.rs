//! Folder permissions (calendar, contacts), trusted and blocked senders and the typed
//! `Set-InboxRule` over the real HTTP path (wiremock): the exact InvokeCommand body and
//! headers, the documented rows read, Exchange's errors surfaced, bad input never sent.

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    ApiErrorKind, Credentials, Endpoints, Outcome, Pipeline, ReqwestTransport, RetryPolicy,
    SecretString, TenantId,
};
use cipp_exchange::folder_permissions::{FolderGrant, MailboxFolder};
use cipp_exchange::inbox_rules::InboxRuleUpdate;
use cipp_exchange::junk_email::JunkEmailChange;
use cipp_exchange::{ExoClient, TenantExchange};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const TENANT: &str = "8b9c6a5e-1111-4a2b-9c3d-0123456789ab";
const INVOKE: &str = "/adminapi/beta/8b9c6a5e-1111-4a2b-9c3d-0123456789ab/InvokeCommand";
const ADELE: &str = "adelev@contoso.com";

async fn setup() -> (MockServer, TenantExchange) {
    let server = MockServer::start().await;
    let p = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("exo-token")))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let t = TenantId::parse(TENANT).unwrap();
    (server, ExoClient::new(p).tenant(&t))
}

/// The InvokeCommand request running `name` with exactly `params`, anchored on Adele's
/// mailbox, with the token and the page-size preference.
fn cmdlet(name: &str, params: Value) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(
            json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
        ))
        .and(header("authorization", "Bearer exo-token"))
        .and(header("x-anchormailbox", ADELE))
        .and(header("prefer", "odata.maxpagesize=1000"))
}

fn rows(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)",
        "value": v}))
}

fn exo_error(status: u16, exception: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": "InternalServerError", "message": "Error executing cmdlet",
        "details": [{"code": "Context", "target": "", "message": format!("Ex6F9304|{exception}|{message}")}],
        "innererror": {"message": "Error executing cmdlet", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                       "internalException": {"message": message, "type": exception}}}}))
}

async fn nothing_sent(server: &MockServer) {
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn contacts_permissions_are_read_granted_changed_and_removed() {
    let (server, exo) = setup().await;
    let folder = json!({"Identity": "adelev@contoso.com:\\Contacts"});
    cmdlet("Get-MailboxFolderPermission", folder.clone())
        .respond_with(rows(json!([
            {"Identity": "adelev@contoso.com:\\Contacts", "FolderName": "Contacts", "User": "Default", "AccessRights": ["None"]},
            {"Identity": "adelev@contoso.com:\\Contacts", "FolderName": "Contacts", "User": "Megan Bowen", "AccessRights": ["Reviewer"]}])))
        .expect(1)
        .mount(&server)
        .await;
    let add = json!({"Identity": "adelev@contoso.com:\\Contacts", "User": "meganb@contoso.com", "AccessRights": ["Editor"]});
    cmdlet("Add-MailboxFolderPermission", add)
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let set = json!({"Identity": "adelev@contoso.com:\\Contacts", "User": "Default", "AccessRights": ["Reviewer"]});
    cmdlet("Set-MailboxFolderPermission", set)
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let remove = json!({"Identity": "adelev@contoso.com:\\Contacts", "User": "meganb@contoso.com", "Confirm": false});
    cmdlet("Remove-MailboxFolderPermission", remove)
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let entries = exo
        .folder_permissions(ADELE, MailboxFolder::Contacts)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].access_rights, ["Reviewer"]);
    exo.grant_folder_permission(
        ADELE,
        MailboxFolder::Contacts,
        "meganb@contoso.com",
        "editor",
        FolderGrant::Add,
    )
    .await
    .unwrap();
    exo.grant_folder_permission(
        ADELE,
        MailboxFolder::Contacts,
        "Default",
        "Reviewer",
        FolderGrant::Change,
    )
    .await
    .unwrap();
    exo.remove_folder_permission(ADELE, MailboxFolder::Contacts, "meganb@contoso.com")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_grant_surfaces_exchanges_error() {
    let (server, exo) = setup().await;
    let message = "An existing permission entry was found for user: Megan Bowen.";
    cmdlet(
        "Add-MailboxFolderPermission",
        json!({"Identity": "adelev@contoso.com:\\Calendar", "User": "meganb@contoso.com", "AccessRights": ["Reviewer"]}),
    )
    .respond_with(exo_error(
        400,
        "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException",
        message,
    ))
    .expect(1)
    .mount(&server)
    .await;
    let e = exo
        .grant_folder_permission(
            ADELE,
            MailboxFolder::Calendar,
            "meganb@contoso.com",
            "Reviewer",
            FolderGrant::Add,
        )
        .await
        .unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(api.operation, "Add-MailboxFolderPermission");
    assert!(api.detail.as_deref().unwrap().contains(message), "{e}");
}

#[tokio::test]
async fn bad_folder_grants_are_refused_before_sending() {
    let (server, exo) = setup().await;
    let cases = [
        (
            MailboxFolder::Contacts,
            "meganb@contoso.com",
            "AvailabilityOnly",
        ),
        (MailboxFolder::Calendar, "meganb@contoso.com", "Boss"),
        (MailboxFolder::Contacts, "megan", "Reviewer"),
    ];
    for (folder, to, rights) in cases {
        let r = exo
            .grant_folder_permission(ADELE, folder, to, rights, FolderGrant::Add)
            .await;
        assert!(r.is_err(), "{folder} {to} {rights}");
    }
    assert!(exo
        .remove_folder_permission(ADELE, MailboxFolder::Contacts, "Anonymous")
        .await
        .is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn junk_email_lists_are_read_and_changed_with_hashtables() {
    let (server, exo) = setup().await;
    cmdlet(
        "Get-MailboxJunkEmailConfiguration",
        json!({"Identity": ADELE}),
    )
    .respond_with(rows(json!([{
        "Identity": "Adele Vance", "Enabled": true, "ContactsTrusted": true, "TrustedListsOnly": false,
        "TrustedSendersAndDomains": ["fabrikam.com"], "BlockedSendersAndDomains": null,
        "TrustedRecipientsAndDomains": [], "IsValid": true}])))
    .expect(1)
    .mount(&server)
    .await;
    let set = json!({"Identity": ADELE,
        "TrustedSendersAndDomains": {"@odata.type": "#Exchange.GenericHashTable", "add": ["partner.example"], "remove": ["fabrikam.com"]},
        "BlockedSendersAndDomains": {"@odata.type": "#Exchange.GenericHashTable", "add": ["spam@tailspin.example"]}});
    cmdlet("Set-MailboxJunkEmailConfiguration", set)
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let unchanged = json!({"Identity": ADELE,
        "BlockedSendersAndDomains": {"@odata.type": "#Exchange.GenericHashTable", "remove": ["gone.example"]}});
    cmdlet("Set-MailboxJunkEmailConfiguration", unchanged)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@adminapi.warnings": ["The command completed successfully but no settings of 'Adele Vance' have been modified."],
            "value": []})))
        .expect(1)
        .mount(&server)
        .await;

    let config = exo.junk_email_configuration(ADELE).await.unwrap();
    assert_eq!(config.trusted_senders_and_domains, ["fabrikam.com"]);
    assert!(
        config.blocked_senders_and_domains.is_empty(),
        "null reads as empty"
    );
    assert_eq!(config.extra["IsValid"], true);
    let change = JunkEmailChange::default()
        .trust("partner.example")
        .untrust("fabrikam.com")
        .block("spam@tailspin.example");
    let o = exo.change_junk_email(ADELE, &change).await.unwrap();
    assert!(matches!(o, Outcome::Succeeded { .. }), "{o:?}");
    let o = exo
        .change_junk_email(ADELE, &JunkEmailChange::default().unblock("gone.example"))
        .await
        .unwrap();
    assert!(matches!(o, Outcome::NoChange { .. }), "{o:?}");
}

#[tokio::test]
async fn junk_email_errors_and_bad_entries() {
    let (server, exo) = setup().await;
    let message = "The Junk E-mail configuration couldn't be set. The user needs to sign in to Outlook on the web at least once to fix this issue.";
    cmdlet(
        "Set-MailboxJunkEmailConfiguration",
        json!({"Identity": ADELE, "TrustedSendersAndDomains": {"@odata.type": "#Exchange.GenericHashTable", "add": ["partner.example"]}}),
    )
    .respond_with(exo_error(
        400,
        "Microsoft.Exchange.Data.Storage.Management.JunkEmailValidationException",
        message,
    ))
    .expect(1)
    .mount(&server)
    .await;
    let e = exo
        .change_junk_email(ADELE, &JunkEmailChange::default().trust("partner.example"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("sign in to Outlook"), "{e}");

    // No row at all: a typed not-found naming the mailbox.
    let (server2, exo2) = setup().await;
    cmdlet(
        "Get-MailboxJunkEmailConfiguration",
        json!({"Identity": ADELE}),
    )
    .respond_with(rows(json!([])))
    .mount(&server2)
    .await;
    let e = exo2.junk_email_configuration(ADELE).await.unwrap_err();
    assert_eq!(e.as_api().unwrap().kind, ApiErrorKind::NotFound);

    let (server3, exo3) = setup().await;
    for bad in [
        JunkEmailChange::default(),
        JunkEmailChange::default().trust("not a domain"),
        JunkEmailChange::default()
            .trust("x.example")
            .block("X.example"),
    ] {
        assert!(
            exo3.change_junk_email(ADELE, &bad).await.is_err(),
            "{bad:?}"
        );
    }
    nothing_sent(&server3).await;
    drop(server);
}

#[tokio::test]
async fn set_inbox_rule_sends_only_what_is_set() {
    let (server, exo) = setup().await;
    let rule = "adelev\\11794723498573471745";
    let sent = json!({"Identity": rule, "Name": "Invoices", "Priority": 1,
        "SubjectContainsWords": ["invoice", "payment due"], "HasAttachment": true,
        "MoveToFolder": "adelev@contoso.com:\\Invoices", "ForwardTo": null,
        "MarkAsRead": true, "StopProcessingRules": true});
    cmdlet("Set-InboxRule", sent)
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let update = InboxRuleUpdate {
        name: Some("Invoices".into()),
        priority: Some(1),
        subject_contains: Some(vec!["invoice".into(), "payment due".into()]),
        has_attachment: Some(true),
        move_to_folder: Some(Some("Invoices".into())),
        forward_to: Some(vec![]),
        mark_as_read: Some(true),
        stop_processing_rules: Some(true),
        ..Default::default()
    };
    exo.update_inbox_rule(ADELE, rule, &update).await.unwrap();
}

#[tokio::test]
async fn set_inbox_rule_errors_and_refusals() {
    let (server, exo) = setup().await;
    cmdlet(
        "Set-InboxRule",
        json!({"Identity": "adelev\\404", "DeleteMessage": true}),
    )
    .respond_with(exo_error(
        404,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "The operation couldn't be performed because object 'adelev\\404' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'.",
    ))
    .expect(1)
    .mount(&server)
    .await;
    let update = InboxRuleUpdate {
        delete_message: Some(true),
        ..Default::default()
    };
    let e = exo
        .update_inbox_rule(ADELE, "adelev\\404", &update)
        .await
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().kind, ApiErrorKind::NotFound);

    let (server2, exo2) = setup().await;
    let bad = InboxRuleUpdate {
        redirect_to: Some(vec!["attacker@".into()]),
        ..Default::default()
    };
    assert!(exo2.update_inbox_rule(ADELE, "r", &bad).await.is_err());
    assert!(exo2
        .update_inbox_rule(ADELE, "r", &InboxRuleUpdate::default())
        .await
        .is_err());
    nothing_sent(&server2).await;
}
