//! OneDrive: pre-provisioning, external sharing and shortcuts.

use cipp_core::Error;
use cipp_graph::model::SharePointIds;
use cipp_graph::sharepoint::SharingCapability;

use super::UserActions;
use crate::authz::{succeeded, Permission};
use serde_json::{json, Value};

impl UserActions {
    /// Pre-provision OneDrive.
    pub async fn provision_onedrive(&self) -> Result<(), Error> {
        self.act(
            "user.provision_onedrive",
            &Permission::SHAREPOINT_SITE_READWRITE,
            Value::Null,
            succeeded,
            async {
                self.g()
                    .sharepoint()
                    .request_personal_sites(&[self.mailbox()?.as_str()])
                    .await
            },
        )
        .await
    }

    /// Set OneDrive external sharing.
    pub async fn set_onedrive_sharing(&self, level: SharingCapability) -> Result<(), Error> {
        self.act(
            "user.set_onedrive_sharing",
            &Permission::SHAREPOINT_SITE_READWRITE,
            json!({"level": format!("{level:?}")}),
            succeeded,
            async {
                self.g()
                    .sharepoint()
                    .set_onedrive_sharing(&self.user, level)
                    .await
            },
        )
        .await
    }

    /// Add a OneDrive shortcut to a SharePoint library or folder.
    pub async fn add_onedrive_shortcut(
        &self,
        name: &str,
        target: &SharePointIds,
    ) -> Result<(), Error> {
        self.act(
            "user.add_onedrive_shortcut",
            &Permission::SHAREPOINT_SITE_READWRITE,
            json!({"name": name}),
            succeeded,
            async {
                self.g()
                    .users()
                    .add_drive_shortcut(&self.user, name, target)
                    .await
            },
        )
        .await
    }
}
