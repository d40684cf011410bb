//! Mail and SharePoint: every typed operation in `cipp_graph::mail` and
//! `cipp_graph::sharepoint::root_site` decodes the response example of its Microsoft Graph
//! documentation page, verbatim.

mod fixtures;

use cipp_graph::mail::{self, MailMessage};
use cipp_graph::model::{
    AutomaticRepliesSetting, AutomaticRepliesStatus, DateTimeTimeZone, ExternalAudience,
    MailboxSettings, MessageRule, Site,
};
use cipp_graph::sharepoint;
use fixtures::*;

/// <https://learn.microsoft.com/en-us/graph/api/mailfolder-list-messagerules?view=graph-rest-1.0>,
/// <https://learn.microsoft.com/en-us/graph/api/messagerule-update?view=graph-rest-1.0>;
/// deleting answers `204`
/// (<https://learn.microsoft.com/en-us/graph/api/messagerule-delete?view=graph-rest-1.0>).
#[tokio::test]
async fn inbox_rules() {
    let call = mail::inbox_rules(&tenant(), &adele());
    let page: Page<MessageRule> = doc_page(call, "mailfolder-list-messagerules").await;
    let (spam, partner) = (&page.items[0], &page.items[1]);
    assert_eq!(spam.actions.as_ref().unwrap().delete, Some(true));
    assert_eq!(spam.conditions.as_ref().unwrap()["subjectContains"][0], "enter to win");
    let fwd = &partner.actions.as_ref().unwrap().forward_to[0].email_address;
    assert_eq!(fwd.address.as_deref(), Some("AlexW@contoso.onmicrosoft.com"));
    assert_eq!(partner.sequence, Some(2));
    assert_eq!(partner.extra["isReadOnly"], false);

    let call = mail::set_inbox_rule_enabled(&tenant(), &adele(), "AQAAAJ5dZqA=", true).unwrap();
    let r: MessageRule = ok(call, "messagerule-update").await;
    assert_eq!(r.display_name.as_deref(), Some("Important from partner"));
    assert_eq!(r.actions.unwrap().extra["markImportance"], "high");
    no_content(mail::delete_inbox_rule(&tenant(), &adele(), "AQAAAJ5dZqA=").unwrap()).await;
}

/// <https://learn.microsoft.com/en-us/graph/api/user-get-mailboxsettings?view=graph-rest-1.0>
/// (example 1: `Scheduled` and `All` in PascalCase) and
/// <https://learn.microsoft.com/en-us/graph/api/user-update-mailboxsettings?view=graph-rest-1.0>
/// (example 1: the same values in camelCase).
#[tokio::test]
async fn mailbox_settings() {
    let s: MailboxSettings =
        ok(mail::mailbox_settings(&tenant(), &adele()), "user-get-mailboxsettings").await;
    let ar = s.automatic_replies_setting.as_ref().unwrap();
    assert_eq!(ar.status, AutomaticRepliesStatus::Scheduled);
    assert_eq!(ar.external_audience, Some(ExternalAudience::All));
    assert_eq!(
        ar.scheduled_end_date_time.as_ref().unwrap().date_time,
        "2016-03-28T07:00:00.0000000"
    );
    assert!(ar.internal_reply_message.as_deref().unwrap().contains("worldwide reunion"));
    assert_eq!(s.time_zone.as_deref(), Some("UTC"));
    assert_eq!(s.extra["workingHours"]["timeZone"]["name"], "Pacific Standard Time");

    let setting = AutomaticRepliesSetting {
        status: AutomaticRepliesStatus::Scheduled,
        external_audience: Some(ExternalAudience::All),
        scheduled_start_date_time: Some(DateTimeTimeZone {
            date_time: "2016-03-20T18:00:00.0000000".into(),
            time_zone: "UTC".into(),
        }),
        scheduled_end_date_time: Some(DateTimeTimeZone {
            date_time: "2016-03-28T18:00:00.0000000".into(),
            time_zone: "UTC".into(),
        }),
        internal_reply_message: Some("Away".into()),
        external_reply_message: None,
    };
    ok(
        mail::set_automatic_replies(&tenant(), &adele(), &setting).unwrap(),
        "user-update-mailboxsettings",
    )
    .await;
    let updated: MailboxSettings =
        serde_json::from_str(include_str!("fixtures/user-update-mailboxsettings.json")).unwrap();
    assert_eq!(
        updated.automatic_replies_setting.unwrap().status,
        AutomaticRepliesStatus::Scheduled,
        "camelCase reads the same"
    );
}

/// `sendMail` answers `202 Accepted` with no body:
/// <https://learn.microsoft.com/en-us/graph/api/user-sendmail?view=graph-rest-1.0>.
#[tokio::test]
async fn send_mail() {
    let m = MailMessage {
        to: vec!["noc@msp.example".into()],
        subject: "Report".into(),
        html: "<p>done</p>".into(),
        save_to_sent_items: false,
    };
    decode(mail::send_mail(&tenant(), &adele(), &m).unwrap(), 202, "").await;
}

/// <https://learn.microsoft.com/en-us/graph/api/site-get?view=graph-rest-1.0> (upper-case
/// GUIDs in the composite id).
#[tokio::test]
async fn root_site() {
    let s: Site = ok(sharepoint::root_site(&tenant()), "site-get").await;
    assert_eq!(s.hostname(), Some("contoso.sharepoint.com"));
    assert_eq!(s.web_url.as_deref(), Some("https://contoso.sharepoint.com/teams/1drvteam"));
    assert_eq!(s.extra["name"], "1drvteam");
}
