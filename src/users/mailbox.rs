//! The Exchange tab: aliases, forwarding, out of office, conversion, archive, address
//! book, inbox rules and mailbox permissions.

use cipp_core::{Error, Outcome, Report};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use cipp_exchange::Conversion;

use super::UserActions;

impl UserActions {
    /// Aliases: add, remove, make primary.
    pub async fn change_aliases(&self, change: &AliasChange) -> Result<Outcome, Error> {
        self.handle
            .exchange()
            .change_aliases(&self.mailbox()?, change)
            .await
    }

    /// Set or disable forwarding.
    pub async fn set_forwarding(&self, forwarding: &Forwarding) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_forwarding(&self.mailbox()?, forwarding)
            .await
    }

    /// Set out of office.
    pub async fn set_out_of_office(
        &self,
        state: &AutoReply,
        internal: Option<&str>,
        external: Option<&str>,
    ) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_auto_reply(&self.mailbox()?, state, internal, external)
            .await
    }

    /// Convert the mailbox.
    pub async fn convert_mailbox(&self, to: MailboxType) -> Result<Conversion, Error> {
        self.handle
            .exchange()
            .convert_mailbox(&self.mailbox()?, to)
            .await
    }

    /// Enable the online archive.
    pub async fn enable_archive(&self, auto_expanding: bool) -> Result<(), Error> {
        self.handle
            .exchange()
            .enable_archive(&self.mailbox()?, auto_expanding)
            .await
    }

    /// Hide from (or show in) the address book.
    pub async fn hide_from_address_lists(&self, hidden: bool) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_hidden_from_address_lists(&self.mailbox()?, hidden)
            .await
    }

    /// Disable every inbox rule (hidden ones included; system rules left alone).
    pub async fn disable_inbox_rules(&self) -> Result<Report, Error> {
        self.handle
            .exchange()
            .disable_all_inbox_rules(&self.mailbox()?)
            .await
    }

    /// Grant another user full access to this mailbox.
    pub async fn grant_full_access(&self, to: &str, auto_mapping: bool) -> Result<(), Error> {
        let c = cmdlets::add_full_access(&self.mailbox()?, to, auto_mapping)?;
        self.handle.exchange().invoke(&c).await.map(drop)
    }

    /// Grant another user a calendar permission on this mailbox.
    pub async fn grant_calendar(&self, to: &str, rights: &str) -> Result<(), Error> {
        let c = cmdlets::set_calendar_permission(&self.mailbox()?, to, rights, false)?;
        self.handle.exchange().invoke(&c).await.map(drop)
    }
}
