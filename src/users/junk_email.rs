//! Trusted (safe) and blocked senders of the mailbox.

use cipp_core::{Error, Outcome};
use cipp_exchange::junk_email::{JunkEmailChange, JunkEmailConfiguration};
use serde_json::json;

use super::UserActions;
use crate::authz::{by_outcome, Permission};

impl UserActions {
    /// The mailbox's junk e-mail settings: trusted and blocked senders and domains.
    pub async fn junk_email_configuration(&self) -> Result<JunkEmailConfiguration, Error> {
        self.read("user.junk_email_configuration", async {
            self.handle
                .exchange()
                .junk_email_configuration(&self.mailbox()?)
                .await
        })
        .await
    }

    /// Adds and removes trusted and blocked senders and domains (entries not named stay);
    /// `NoChange` when the lists were already as asked. Entries are checked before
    /// anything is sent.
    pub async fn change_junk_email(&self, change: &JunkEmailChange) -> Result<Outcome, Error> {
        self.act(
            "user.change_junk_email",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"trustedAdd": change.trusted_add, "trustedRemove": change.trusted_remove,
                   "blockedAdd": change.blocked_add, "blockedRemove": change.blocked_remove}),
            by_outcome,
            async {
                self.handle
                    .exchange()
                    .change_junk_email(&self.mailbox()?, change)
                    .await
            },
        )
        .await
    }
}
