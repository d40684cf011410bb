//! The Exchange tab: aliases, forwarding, out of office, conversion, archive, address
//! book, inbox rules and mailbox permissions.

use cipp_core::{Error, Outcome, Report};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use cipp_exchange::inbox_rules::InboxRuleUpdate;
use cipp_exchange::Conversion;

use super::UserActions;
use crate::authz::{by_outcome, by_report, succeeded, Permission};
use serde_json::{json, Value};

impl UserActions {
    /// Aliases: add, remove, make primary.
    pub async fn change_aliases(&self, change: &AliasChange) -> Result<Outcome, Error> {
        self.act(
            "user.change_aliases",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"add": change.add, "remove": change.remove, "makePrimary": change.make_primary}),
            by_outcome,
            async {
                self.handle
                    .exchange()
                    .change_aliases(&self.mailbox()?, change)
                    .await
            },
        )
        .await
    }

    /// Set or disable forwarding.
    pub async fn set_forwarding(&self, forwarding: &Forwarding) -> Result<(), Error> {
        self.act(
            "user.set_forwarding",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"forwarding": format!("{forwarding:?}")}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .set_forwarding(&self.mailbox()?, forwarding)
                    .await
            },
        )
        .await
    }

    /// Set out of office.
    pub async fn set_out_of_office(
        &self,
        state: &AutoReply,
        internal: Option<&str>,
        external: Option<&str>,
    ) -> Result<(), Error> {
        self.act(
            "user.set_out_of_office",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"state": format!("{state:?}")}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .set_auto_reply(&self.mailbox()?, state, internal, external)
                    .await
            },
        )
        .await
    }

    /// Convert the mailbox.
    pub async fn convert_mailbox(&self, to: MailboxType) -> Result<Conversion, Error> {
        self.act(
            "user.convert_mailbox",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to.as_str()}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .convert_mailbox(&self.mailbox()?, to)
                    .await
            },
        )
        .await
    }

    /// Enable the online archive.
    pub async fn enable_archive(&self, auto_expanding: bool) -> Result<(), Error> {
        self.act(
            "user.enable_archive",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"autoExpanding": auto_expanding}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .enable_archive(&self.mailbox()?, auto_expanding)
                    .await
            },
        )
        .await
    }

    /// Hide from (or show in) the address book.
    pub async fn hide_from_address_lists(&self, hidden: bool) -> Result<(), Error> {
        self.act(
            "user.hide_from_address_lists",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"hidden": hidden}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .set_hidden_from_address_lists(&self.mailbox()?, hidden)
                    .await
            },
        )
        .await
    }

    /// Disable every inbox rule (hidden ones included; system rules left alone).
    pub async fn disable_inbox_rules(&self) -> Result<Report, Error> {
        self.act(
            "user.disable_inbox_rules",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            Value::Null,
            by_report,
            async {
                self.handle
                    .exchange()
                    .disable_all_inbox_rules(&self.mailbox()?)
                    .await
            },
        )
        .await
    }

    /// Grant another user full access to this mailbox.
    pub async fn grant_full_access(&self, to: &str, auto_mapping: bool) -> Result<(), Error> {
        self.act(
            "user.grant_full_access",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to, "autoMapping": auto_mapping}),
            succeeded,
            async {
                let c = cmdlets::add_full_access(&self.mailbox()?, to, auto_mapping)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Grant another user a calendar permission on this mailbox.
    pub async fn grant_calendar(&self, to: &str, rights: &str) -> Result<(), Error> {
        self.act(
            "user.grant_calendar",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to, "rights": rights}),
            succeeded,
            async {
                let c = cmdlets::set_calendar_permission(&self.mailbox()?, to, rights, false)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Remove FullAccess to the mailbox from `to`.
    pub async fn remove_full_access(&self, to: &str) -> Result<(), Error> {
        self.act(
            "user.remove_full_access",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to}),
            succeeded,
            async {
                let c = cmdlets::remove_full_access(&self.mailbox()?, to)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Grant `to` Send-As on the mailbox (`Add-RecipientPermission`).
    pub async fn grant_send_as(&self, to: &str) -> Result<(), Error> {
        self.act(
            "user.grant_send_as",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to}),
            succeeded,
            async {
                let c = cmdlets::add_send_as(&self.mailbox()?, to)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Remove Send-As on the mailbox from `to`.
    pub async fn remove_send_as(&self, to: &str) -> Result<(), Error> {
        self.act(
            "user.remove_send_as",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to}),
            succeeded,
            async {
                let c = cmdlets::remove_send_as(&self.mailbox()?, to)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Grant (`true`) or remove (`false`) Send-on-Behalf for `to`
    /// (`Set-Mailbox -GrantSendOnBehalfTo @{Add|Remove}`).
    pub async fn set_send_on_behalf(&self, to: &str, grant: bool) -> Result<(), Error> {
        self.act(
            "user.set_send_on_behalf",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to, "grant": grant}),
            succeeded,
            async {
                let c = cmdlets::send_on_behalf(&self.mailbox()?, to, grant)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Remove `to`'s permission on the mailbox's calendar.
    pub async fn remove_calendar(&self, to: &str) -> Result<(), Error> {
        self.act(
            "user.remove_calendar",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"to": to}),
            succeeded,
            async {
                let c = cmdlets::remove_calendar_permission(&self.mailbox()?, to)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }

    /// Change one inbox rule (by its identity, as `Get-InboxRule` gives it): only what
    /// `update` sets is sent (`Set-InboxRule`); the update is checked before sending.
    pub async fn update_inbox_rule(
        &self,
        rule_identity: &str,
        update: &InboxRuleUpdate,
    ) -> Result<(), Error> {
        self.act(
            "user.update_inbox_rule",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"rule": rule_identity, "update": update}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .update_inbox_rule(&self.mailbox()?, rule_identity, update)
                    .await
            },
        )
        .await
    }

    /// Remove one inbox rule by its identity (as `Get-InboxRule` gives it).
    pub async fn remove_inbox_rule(&self, rule_identity: &str) -> Result<(), Error> {
        self.act(
            "user.remove_inbox_rule",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"rule": rule_identity}),
            succeeded,
            async {
                let c = cmdlets::remove_inbox_rule(&self.mailbox()?, rule_identity)?;
                self.handle.exchange().invoke(&c).await.map(drop)
            },
        )
        .await
    }
}
