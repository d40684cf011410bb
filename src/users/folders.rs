//! Sharing the mailbox's calendar and contacts: folder permissions for other users.

use cipp_core::Error;
use cipp_exchange::folder_permissions::{FolderGrant, MailboxFolder};
use cipp_exchange::model::FolderPermission;
use serde_json::json;

use super::UserActions;
use crate::authz::{succeeded, Permission};

impl UserActions {
    /// The permission entries of this mailbox's `folder` (the built-in `Default` included).
    pub async fn folder_permissions(
        &self,
        folder: MailboxFolder,
    ) -> Result<Vec<FolderPermission>, Error> {
        self.read("user.folder_permissions", async {
            self.handle
                .exchange()
                .folder_permissions(&self.mailbox()?, folder)
                .await
        })
        .await
    }

    /// Gives `to` (an address, `Default` or `Anonymous`) the access level `rights`
    /// (`Reviewer`, `Editor`, `Owner`, …) on this mailbox's `folder`
    /// (`Add-MailboxFolderPermission`; `to` must have no entry yet).
    pub async fn grant_folder_permission(
        &self,
        folder: MailboxFolder,
        to: &str,
        rights: &str,
    ) -> Result<(), Error> {
        self.act(
            "user.grant_folder_permission",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"folder": folder.as_str(), "to": to, "rights": rights}),
            succeeded,
            self.folder_grant(folder, to, rights, FolderGrant::Add),
        )
        .await
    }

    /// Changes `to`'s access level on this mailbox's `folder` to `rights`
    /// (`Set-MailboxFolderPermission`; `Default` and `Anonymous` too).
    pub async fn change_folder_permission(
        &self,
        folder: MailboxFolder,
        to: &str,
        rights: &str,
    ) -> Result<(), Error> {
        self.act(
            "user.change_folder_permission",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"folder": folder.as_str(), "to": to, "rights": rights}),
            succeeded,
            self.folder_grant(folder, to, rights, FolderGrant::Change),
        )
        .await
    }

    async fn folder_grant(
        &self,
        folder: MailboxFolder,
        to: &str,
        rights: &str,
        how: FolderGrant,
    ) -> Result<(), Error> {
        self.handle
            .exchange()
            .grant_folder_permission(&self.mailbox()?, folder, to, rights, how)
            .await
    }

    /// Removes `to`'s entry from this mailbox's `folder` (`Remove-MailboxFolderPermission`).
    pub async fn remove_folder_permission(
        &self,
        folder: MailboxFolder,
        to: &str,
    ) -> Result<(), Error> {
        self.act(
            "user.remove_folder_permission",
            &Permission::EXCHANGE_MAILBOX_READWRITE,
            json!({"folder": folder.as_str(), "to": to}),
            succeeded,
            async {
                self.handle
                    .exchange()
                    .remove_folder_permission(&self.mailbox()?, folder, to)
                    .await
            },
        )
        .await
    }
}
