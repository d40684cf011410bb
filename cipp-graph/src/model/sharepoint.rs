//! SharePoint and OneDrive: sites, drives, and the ids a OneDrive shortcut points at.

use serde::{Deserialize, Serialize};

use super::common::{model_with_nulls, Extra};

model_with_nulls! {
    /// A site (`GET /sites/root`); its `id` is `{hostname},{site collection id},{web id}`.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct Site {
        /// `{hostname},{site collection id},{web id}`.
        id: Option<String>,
        /// The site's display name.
        display_name: Option<String>,
        /// The site's URL.
        web_url: Option<String>,
        /// Properties this version does not model.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(Site, extra);

impl Site {
    /// The SharePoint host name, the first part of the id (`contoso.sharepoint.com`).
    pub fn hostname(&self) -> Option<&str> {
        self.id
            .as_deref()
            .and_then(|id| id.split(',').next())
            .filter(|h| !h.is_empty())
    }
}

model_with_nulls! {
    /// A drive (`GET /users/{id}/drive`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct Drive {
        /// The drive id.
        id: Option<String>,
        /// `personal` for OneDrive, `business` for OneDrive for Business, `documentLibrary`.
        drive_type: Option<String>,
        /// The drive's URL (`https://contoso-my.sharepoint.com/personal/…/Documents`).
        web_url: Option<String>,
        /// Properties this version does not model.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(Drive, extra);

impl Drive {
    /// The URL of the OneDrive site (the drive URL without its `/Documents` library).
    pub fn site_url(&self) -> Option<String> {
        self.web_url.as_deref().map(|u| {
            u.trim_end_matches("/Documents")
                .trim_end_matches("/documents")
                .to_owned()
        })
    }
}

/// Identifies a SharePoint library or folder, for a OneDrive shortcut.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharePointIds {
    /// Site id.
    pub site_id: String,
    /// Web id.
    pub web_id: String,
    /// List (library) id.
    pub list_id: String,
    /// The folder's unique id, or `root`.
    pub list_item_unique_id: String,
    /// The site URL.
    pub site_url: String,
}
