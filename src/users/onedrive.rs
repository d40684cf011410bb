//! OneDrive: pre-provisioning, external sharing and shortcuts.

use cipp_core::Error;
use cipp_graph::model::SharePointIds;
use cipp_graph::sharepoint::SharingCapability;

use super::UserActions;

impl UserActions {
    /// Pre-provision OneDrive.
    pub async fn provision_onedrive(&self) -> Result<(), Error> {
        self.g()
            .sharepoint()
            .request_personal_sites(&[self.mailbox()?.as_str()])
            .await
    }

    /// Set OneDrive external sharing.
    pub async fn set_onedrive_sharing(&self, level: SharingCapability) -> Result<(), Error> {
        self.g()
            .sharepoint()
            .set_onedrive_sharing(&self.user, level)
            .await
    }

    /// Add a OneDrive shortcut to a SharePoint library or folder.
    pub async fn add_onedrive_shortcut(
        &self,
        name: &str,
        target: &SharePointIds,
    ) -> Result<(), Error> {
        self.g()
            .users()
            .add_drive_shortcut(&self.user, name, target)
            .await
    }
}
