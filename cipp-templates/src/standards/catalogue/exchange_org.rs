//! Standards over the organisation and transport configuration and the admin audit log:
//! `AuditLog`, `EnableMailboxAuditing`, `EnableMailTips`, `AutoExpandArchive`,
//! `FocusedInbox`, `SendFromAlias`, `CloudMessageRecall`, `Bookings`,
//! `TeamsMeetingsByDefault`, `EXODirectSend` and `MessageExpiration`; and `DisableViva`,
//! the organization's people insights settings (Graph, in CIPP's Exchange category).

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_graph::settings::{explain_error, GraphSetting};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::entra::{de, invalid};
use super::{cmdlet, meta, one_of, ExoStandard};
use crate::standards::model::{Category, Check, Impact, Standard, StandardMeta, TenantTarget};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write};
use crate::standards::NoSettings;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(audit_log()),
        Arc::new(mailbox_auditing()),
        Arc::new(mail_tips()),
        Arc::new(auto_expand_archive()),
        Arc::new(focused_inbox()),
        Arc::new(send_from_alias()),
        Arc::new(cloud_message_recall()),
        Arc::new(bookings()),
        Arc::new(teams_meetings_by_default()),
        Arc::new(direct_send()),
        Arc::new(shorten_meetings()),
        Arc::new(message_expiration()),
        Arc::new(DisableViva::new()),
    ]
}

fn org() -> Read {
    Read::exchange("Get-OrganizationConfig")
}

fn transport() -> Read {
    Read::exchange("Get-TransportConfig")
}

fn audit_config() -> Read {
    Read::exchange("Get-AdminAuditLogConfig")
}

fn field(name: &str, pointer: &str, expected: impl Into<Value>) -> Field {
    Field {
        name: name.to_owned(),
        pointer: pointer.to_owned(),
        expected: expected.into(),
    }
}

/// `Set-OrganizationConfig` with `params`.
fn set_org(params: Value) -> Result<Write, Error> {
    Ok(Write::exchange("Set-OrganizationConfig", params))
}

// ---- AuditLog

fn audit_log() -> ExoStandard<NoSettings> {
    let mut m = meta(
        "AuditLog",
        Impact::Low,
        "Enable the Unified Audit Log",
        "Enables the Unified Audit Log for tracking and auditing activities. Also runs Enable-OrganizationCustomization if necessary.",
        &["CIS M365 5.0 (3.1.1)", "mip_search_auditlog", "NIST CSF 2.0 (DE.CM-09)", "CISAMSEXO171", "CISAMSEXO173"],
        "Get-AdminAuditLogConfig (UnifiedAuditLogIngestionEnabled); Get-OrganizationConfig (IsDehydrated)",
        "Enable-OrganizationCustomization (a dehydrated tenant only); Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true",
    );
    m.category = Category::Global;
    ExoStandard::<NoSettings>::new(
        m,
        |_| vec![audit_config(), org()],
        |_, snap| {
            let on =
                snap.first_row(&audit_config())?["UnifiedAuditLogIngestionEnabled"] == json!(true);
            Ok(Check::evaluated(
                json!({"UnifiedAuditLogIngestionEnabled": on}),
                json!({"UnifiedAuditLogIngestionEnabled": true}),
            ))
        },
        |_, snap| {
            let mut plan = Vec::new();
            // A dehydrated tenant refuses configuration changes until customised.
            if snap.first_row(&org())?["IsDehydrated"] == json!(true) {
                plan.push(vec![cmdlet("Enable-OrganizationCustomization", json!({}))]);
            }
            plan.push(vec![cmdlet(
                "Set-AdminAuditLogConfig",
                json!({"UnifiedAuditLogIngestionEnabled": true}),
            )]);
            Ok(plan)
        },
    )
}

// ---- EnableMailboxAuditing

fn mailbox_auditing() -> ExoStandard<NoSettings> {
    ExoStandard::<NoSettings>::new(
        meta(
            "EnableMailboxAuditing",
            Impact::Low,
            "Enable Mailbox auditing",
            "Enables Mailbox auditing for all mailboxes and on tenant level. Disables audit bypass on all mailboxes. Unified Audit Log needs to be enabled for this standard to function.",
            &["CIS M365 5.0 (6.1.1)", "CIS M365 5.0 (6.1.2)", "CIS M365 5.0 (6.1.3)", "exo_mailboxaudit", "Essential 8 (1509)", "Essential 8 (1683)", "NIST CSF 2.0 (DE.CM-09)", "CISAMSEXO131"],
            "Get-OrganizationConfig (AuditDisabled)",
            "Set-OrganizationConfig -AuditDisabled $false",
        ),
        |_| vec![org()],
        |_, snap| {
            // Mailbox auditing on by default: `AuditDisabled` false (or not set).
            let enabled = snap.first_row(&org())?["AuditDisabled"] != json!(true);
            Ok(Check::evaluated(
                json!({"EnableMailboxAuditing": enabled}),
                json!({"EnableMailboxAuditing": true}),
            ))
        },
        |_, _| {
            Ok(vec![vec![cmdlet(
                "Set-OrganizationConfig",
                json!({"AuditDisabled": false}),
            )]])
        },
    )
}

// ---- EnableMailTips

/// The largest large-audience threshold Exchange accepts.
pub const MAX_LARGE_AUDIENCE_THRESHOLD: i64 = 1000;

/// Settings of `EnableMailTips`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MailTipsSettings {
    /// Recipients that trigger the large-audience MailTip (default 25, Exchange's default;
    /// 0–1000).
    #[serde(
        rename = "MailTipsLargeAudienceThreshold",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub threshold: Option<i64>,
}

impl MailTipsSettings {
    fn threshold(&self) -> i64 {
        self.threshold.unwrap_or(25)
    }
}

fn mail_tips() -> SettingStandard<MailTipsSettings> {
    SettingStandard::<MailTipsSettings>::new(
        meta(
            "EnableMailTips",
            Impact::Low,
            "Enable all MailTips",
            "Enables all MailTips in Outlook. MailTips are the notifications Outlook and Outlook on the web shows when an email you create, meets some requirements",
            &["CIS M365 5.0 (6.5.2)", "exo_mailtipsenabled"],
            "Get-OrganizationConfig (MailTips*)",
            "Set-OrganizationConfig -MailTipsAllTipsEnabled $true -MailTipsExternalRecipientsTipsEnabled $true -MailTipsGroupMetricsEnabled $true -MailTipsLargeAudienceThreshold <n>",
        ),
        org(),
        |s| {
            vec![
                Field::new("/MailTipsAllTipsEnabled", true),
                Field::new("/MailTipsExternalRecipientsTipsEnabled", true),
                Field::new("/MailTipsGroupMetricsEnabled", true),
                Field::new("/MailTipsLargeAudienceThreshold", s.threshold()),
            ]
        },
        |s, _| {
            set_org(json!({
                "MailTipsAllTipsEnabled": true, "MailTipsExternalRecipientsTipsEnabled": true,
                "MailTipsGroupMetricsEnabled": true, "MailTipsLargeAudienceThreshold": s.threshold()
            }))
        },
    )
    .validated(|s| {
        let n = s.threshold();
        if !(0..=MAX_LARGE_AUDIENCE_THRESHOLD).contains(&n) {
            return Err(invalid(
                "EnableMailTips",
                "MailTipsLargeAudienceThreshold",
                format!("{n} is not a number of recipients from 0 to {MAX_LARGE_AUDIENCE_THRESHOLD}"),
            ));
        }
        Ok(())
    })
}

// ---- AutoExpandArchive

fn auto_expand_archive() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "AutoExpandArchive",
            Impact::Low,
            "Enable Auto-expanding archives",
            "Enables auto-expanding archives for the tenant",
            &[],
            "Get-OrganizationConfig (AutoExpandingArchiveEnabled)",
            "Set-OrganizationConfig -AutoExpandingArchive",
        ),
        org(),
        |_| {
            vec![field(
                "AutoExpandingArchive",
                "/AutoExpandingArchiveEnabled",
                true,
            )]
        },
        |_, _| set_org(json!({"AutoExpandingArchive": true})),
    )
}

// ---- state switches

/// Settings of the standards with a `state` choice (`FocusedInbox`, `SendFromAlias`,
/// `CloudMessageRecall`, `Bookings`, `TeamsMeetingsByDefault`, `EXODirectSend`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StateSettings {
    /// The wanted state; each standard names its values (`enabled`/`disabled` or
    /// `true`/`false`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
}

/// A standard that sets one `Set-OrganizationConfig` switch from `state` ("true"/"false").
macro_rules! org_switch {
    ($fn:ident, $name:literal, $impact:expr, $label:literal, $help:literal, $prop:literal) => {
        fn $fn() -> SettingStandard<StateSettings> {
            SettingStandard::<StateSettings>::new(
                meta(
                    $name,
                    $impact,
                    $label,
                    $help,
                    &[],
                    concat!("Get-OrganizationConfig (", $prop, ")"),
                    concat!("Set-OrganizationConfig -", $prop, " <state>"),
                ),
                org(),
                |s| {
                    vec![Field::new(
                        concat!("/", $prop),
                        bool_state($name, s).unwrap_or(false),
                    )]
                },
                |s, _| set_org(json!({ $prop: bool_state($name, s)? })),
            )
            .validated(|s| bool_state($name, s).map(drop))
        }
    };
}

fn bool_state(name: &str, s: &StateSettings) -> Result<bool, Error> {
    Ok(one_of(name, "state", s.state.as_deref(), &["true", "false"])? == "true")
}

org_switch!(
    cloud_message_recall,
    "CloudMessageRecall",
    Impact::Low,
    "Set Cloud Message Recall state",
    "Sets the Cloud Message Recall state for the tenant. This allows users to recall messages from the cloud.",
    "MessageRecallEnabled"
);

org_switch!(
    bookings,
    "Bookings",
    Impact::Medium,
    "Set Bookings state",
    "Sets the state of Bookings on the tenant. Bookings is a scheduling tool that allows users to book appointments with others both internal and external.",
    "BookingsEnabled"
);

org_switch!(
    teams_meetings_by_default,
    "TeamsMeetingsByDefault",
    Impact::Low,
    "Set Teams Meetings by default state",
    "Sets the default state for automatically turning meetings into Teams meetings for the tenant. This can be overridden by the user in Outlook.",
    "OnlineMeetingsByDefaultEnabled"
);

fn focused_inbox() -> SettingStandard<StateSettings> {
    fn on(s: &StateSettings) -> Result<bool, Error> {
        Ok(one_of(
            "FocusedInbox",
            "state",
            s.state.as_deref(),
            &["enabled", "disabled"],
        )? == "enabled")
    }
    SettingStandard::<StateSettings>::new(
        meta(
            "FocusedInbox",
            Impact::Low,
            "Set Focused Inbox state",
            "Sets the default Focused Inbox state for the tenant. This can be overridden by the user.",
            &[],
            "Get-OrganizationConfig (FocusedInboxOn)",
            "Set-OrganizationConfig -FocusedInboxOn <state>",
        ),
        org(),
        |s| vec![Field::new("/FocusedInboxOn", on(s).unwrap_or(false))],
        |s, _| set_org(json!({"FocusedInboxOn": on(s)?})),
    )
    .validated(|s| on(s).map(drop))
}

fn send_from_alias() -> SettingStandard<StateSettings> {
    // Settings saved before CIPP 10.1 have no state: they meant "enabled".
    fn on(s: &StateSettings) -> Result<bool, Error> {
        match s.state.as_deref() {
            None => Ok(true),
            v => Ok(one_of("SendFromAlias", "state", v, &["true", "false"])? == "true"),
        }
    }
    SettingStandard::<StateSettings>::new(
        meta(
            "SendFromAlias",
            Impact::Medium,
            "Set Send from alias state",
            "Enables or disables the ability for users to send from their alias addresses.",
            &[],
            "Get-OrganizationConfig (SendFromAliasEnabled)",
            "Set-OrganizationConfig -SendFromAliasEnabled <state>",
        ),
        org(),
        |s| vec![Field::new("/SendFromAliasEnabled", on(s).unwrap_or(true))],
        |s, _| set_org(json!({"SendFromAliasEnabled": on(s)?})),
    )
    .validated(|s| on(s).map(drop))
}

fn direct_send() -> SettingStandard<StateSettings> {
    // Exchange's property is the negation: RejectDirectSend.
    fn reject(s: &StateSettings) -> Result<bool, Error> {
        Ok(one_of(
            "EXODirectSend",
            "state",
            s.state.as_deref(),
            &["enabled", "disabled"],
        )? == "disabled")
    }
    let mut m = meta(
        "EXODirectSend",
        Impact::Medium,
        "Set Direct Send state",
        "Sets the state of Direct Send in Exchange Online. Direct Send allows applications to send emails directly to Exchange Online mailboxes as the tenants domains, without requiring authentication.",
        &[],
        "Get-OrganizationConfig (RejectDirectSend)",
        "Set-OrganizationConfig -RejectDirectSend <state = disabled>",
    );
    m.capabilities = &[];
    SettingStandard::<StateSettings>::new(
        m,
        org(),
        |s| vec![Field::new("/RejectDirectSend", reject(s).unwrap_or(false))],
        |s, _| set_org(json!({"RejectDirectSend": reject(s)?})),
    )
    .validated(|s| reject(s).map(drop))
}

// ---- ShortenMeetings

/// Where meetings are shortened: `None`, `EndEarly` or `StartLate`.
pub const SHORTEN_SCOPES: &[&str] = &["None", "EndEarly", "StartLate"];

/// Settings of `ShortenMeetings`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShortenMeetingsSettings {
    /// `None`, `EndEarly` or `StartLate` (required).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub shorten_event_scope_default: Option<String>,
    /// Minutes taken off meetings under an hour (default 5; 0 to 29).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub default_minutes_to_reduce_short_events_by: Option<i64>,
    /// Minutes taken off meetings of an hour or more (default 10; 0 to 59).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub default_minutes_to_reduce_long_events_by: Option<i64>,
}

impl ShortenMeetingsSettings {
    /// The scope and the two durations, validated.
    fn values(&self) -> Result<(String, i64, i64), Error> {
        const S: &str = "ShortenMeetings";
        let scope = one_of(
            S,
            "ShortenEventScopeDefault",
            self.shorten_event_scope_default.as_deref(),
            SHORTEN_SCOPES,
        )?;
        let short = self.default_minutes_to_reduce_short_events_by.unwrap_or(5);
        let long = self.default_minutes_to_reduce_long_events_by.unwrap_or(10);
        for (field, v, max) in [
            ("DefaultMinutesToReduceShortEventsBy", short, 29),
            ("DefaultMinutesToReduceLongEventsBy", long, 59),
        ] {
            if !(0..=max).contains(&v) {
                return Err(invalid(
                    S,
                    field,
                    format!("{v} minutes: Exchange accepts 0 to {max}"),
                ));
            }
        }
        Ok((scope, short, long))
    }
}

fn shorten_meetings() -> SettingStandard<ShortenMeetingsSettings> {
    SettingStandard::<ShortenMeetingsSettings>::new(
        meta(
            "ShortenMeetings",
            Impact::Medium,
            "Set shorten meetings state",
            "Sets the shorten meetings settings on a tenant level. This will shorten meetings by the selected amount of minutes. Valid values are 0 to 29. Short meetings are under 60 minutes, long meetings are over 60 minutes.",
            &[],
            "Get-OrganizationConfig (ShortenEventScopeDefault, DefaultMinutesToReduceShortEventsBy, DefaultMinutesToReduceLongEventsBy)",
            "Set-OrganizationConfig -ShortenEventScopeDefault -DefaultMinutesToReduceShortEventsBy -DefaultMinutesToReduceLongEventsBy",
        ),
        org(),
        |s| {
            let (scope, short, long) = s.values().unwrap_or_else(|_| ("None".into(), 5, 10));
            vec![
                Field::new("/ShortenEventScopeDefault", scope),
                Field::new("/DefaultMinutesToReduceShortEventsBy", short),
                Field::new("/DefaultMinutesToReduceLongEventsBy", long),
            ]
        },
        |s, _| {
            let (scope, short, long) = s.values()?;
            set_org(json!({"ShortenEventScopeDefault": scope,
                "DefaultMinutesToReduceShortEventsBy": short, "DefaultMinutesToReduceLongEventsBy": long}))
        },
    )
    .validated(|s| s.values().map(drop))
}

// ---- MessageExpiration

/// Settings of `MessageExpiration`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MessageExpirationSettings {
    /// Hours a message may wait in the transport queue (default 12, CIPP's value; Exchange
    /// Online accepts 12 to 24).
    #[serde(default, alias = "MessageExpiration", deserialize_with = "de::opt_i64")]
    pub hours: Option<i64>,
}

impl MessageExpirationSettings {
    fn hours(&self) -> i64 {
        self.hours.unwrap_or(12)
    }

    /// The time span Exchange prints (`12:00:00`, `1.00:00:00`).
    fn timespan(&self) -> String {
        let h = self.hours();
        if h >= 24 {
            format!("{}.{:02}:00:00", h / 24, h % 24)
        } else {
            format!("{h:02}:00:00")
        }
    }
}

fn message_expiration() -> SettingStandard<MessageExpirationSettings> {
    SettingStandard::<MessageExpirationSettings>::new(
        meta(
            "MessageExpiration",
            Impact::Low,
            "Lower Transport Message Expiration to 12 hours",
            "Sets the transport message configuration to timeout a message at 12 hours.",
            &[],
            "Get-TransportConfig (MessageExpiration)",
            "Set-TransportConfig -MessageExpiration 12:00:00",
        ),
        transport(),
        |s| vec![Field::new("/MessageExpiration", s.timespan())],
        |s, _| {
            Ok(Write::exchange(
                "Set-TransportConfig",
                json!({"MessageExpiration": s.timespan()}),
            ))
        },
    )
    .validated(|s| {
        if !(12..=24).contains(&s.hours()) {
            return Err(invalid(
                "MessageExpiration",
                "hours",
                format!("{} hours: Exchange Online accepts 12 to 24", s.hours()),
            ));
        }
        Ok(())
    })
}

// ---- DisableViva

/// `DisableViva`: turns off the daily Viva Insights / briefing reports for the whole
/// organization (CIPP's `Set-UserBriefingConfig` equivalent): the beta people insights
/// settings (`organization/{id}/settings/peopleInsights`) with `isEnabledInOrganization`
/// `false`. It reads the organization first, for its id, then the settings as a follow-up
/// read. Reading and changing the settings needs the Global Administrator role; a refusal
/// says to give it to the CIPP-SAM application (see [`explain_error`]).
pub struct DisableViva {
    meta: StandardMeta,
}

impl Default for DisableViva {
    fn default() -> Self {
        DisableViva::new()
    }
}

impl DisableViva {
    /// The standard with CIPP's metadata (no licence needed).
    pub fn new() -> Self {
        let mut m = meta(
            "DisableViva",
            Impact::Low,
            "Disable daily Insight/Viva reports",
            "Disables the daily viva reports for all users. This standard requires global admin permissions.",
            &[],
            "GET organization (its id); GET beta organization/{id}/settings/peopleInsights (isEnabledInOrganization)",
            "PATCH beta organization/{id}/settings/peopleInsights {isEnabledInOrganization: false}",
        );
        m.capabilities = &[];
        DisableViva { meta: m }
    }

    /// The first read: the tenant's organization (a one-element array).
    pub fn organization_read() -> Read {
        Read::GraphList(GraphListing::Organization)
    }

    /// The organization's id (the tenant GUID) from the [`DisableViva::organization_read`]
    /// answer in `snapshot`.
    pub fn organization_id(snapshot: &Snapshot) -> Result<String, Error> {
        snapshot
            .get(&Self::organization_read())?
            .as_array()
            .and_then(|a| a.first())
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::protocol(
                    None,
                    "list organization",
                    "the tenant's organization was answered without an id",
                )
            })
    }

    /// The people insights settings of the organization `id`.
    pub fn setting(id: &str) -> GraphSetting {
        GraphSetting::PeopleInsights(id.to_owned())
    }

    /// `isEnabledInOrganization` as read (`Null` when Graph left it out), or the error
    /// that stopped the read, with what to do about a refusal.
    fn enabled(snapshot: &Snapshot) -> Result<Value, Error> {
        let setting = Self::setting(&Self::organization_id(snapshot)?);
        match snapshot.get(&Read::Graph(setting.clone())) {
            Ok(v) => Ok(v
                .get("isEnabledInOrganization")
                .cloned()
                .unwrap_or(Value::Null)),
            Err(e) => Err(explain_error(&setting, e)),
        }
    }
}

#[async_trait]
impl Standard for DisableViva {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(drop)
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![Self::organization_read()]
    }

    fn follow_up_reads(&self, _: &Value, snapshot: &Snapshot) -> Vec<Read> {
        Self::organization_id(snapshot)
            .map(|id| vec![Read::Graph(Self::setting(&id))])
            .unwrap_or_default()
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        self.validate(settings)?;
        Ok(Check::evaluated(
            json!({"isEnabledInOrganization": Self::enabled(snapshot)?}),
            json!({"isEnabledInOrganization": false}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        self.validate(settings)?;
        let setting = Self::setting(&Self::organization_id(snapshot)?);
        // Already off as read: nothing to send. A read that failed is no reason not to try.
        if let Ok(Value::Bool(false)) = Self::enabled(snapshot) {
            return Ok(());
        }
        target
            .graph
            .settings()
            .update(&setting, &json!({"isEnabledInOrganization": false}))
            .await
            .map_err(|e| explain_error(&setting, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viva_reads_the_insights_of_the_organization_it_found() {
        let viva = DisableViva::new();
        let org = "84841066-274d-4ec0-a5c1-276be684bdd3";
        assert_eq!(
            viva.reads(&json!({})),
            vec![DisableViva::organization_read()]
        );
        let mut snap = Snapshot::from_answers([(
            DisableViva::organization_read(),
            Ok(json!([{"id": org, "displayName": "Contoso"}])),
        )]);
        let setting = GraphSetting::PeopleInsights(org.into());
        assert_eq!(
            viva.follow_up_reads(&json!({}), &snap),
            vec![Read::Graph(setting.clone())]
        );
        snap.insert(
            Read::Graph(setting.clone()),
            Ok(json!({"isEnabledInOrganization": true, "disabledForGroup": null})),
        );
        assert_eq!(
            viva.check(&json!({}), &snap).unwrap(),
            Check::evaluated(
                json!({"isEnabledInOrganization": true}),
                json!({"isEnabledInOrganization": false})
            )
        );
        // No organization id: no follow-up, and the check says why.
        let empty = Snapshot::from_answers([(DisableViva::organization_read(), Ok(json!([])))]);
        assert!(viva.follow_up_reads(&json!({}), &empty).is_empty());
        assert!(viva.check(&json!({}), &empty).is_err());
        assert!(viva.meta().capabilities.is_empty());
    }

    #[test]
    fn expiration_is_printed_as_exchange_prints_it() {
        let s = |h| MessageExpirationSettings { hours: Some(h) };
        assert_eq!(s(12).timespan(), "12:00:00");
        assert_eq!(s(24).timespan(), "1.00:00:00");
        assert_eq!(MessageExpirationSettings::default().timespan(), "12:00:00");
    }
}
