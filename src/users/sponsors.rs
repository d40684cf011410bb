//! The user's sponsors: the users and groups responsible for a guest.

use cipp_core::Error;
use cipp_graph::model::{DirectoryObject, DirectoryObjectId};
use cipp_graph::sponsors::Sponsor;
use serde_json::json;

use super::UserActions;
use crate::authz::{succeeded, Permission};

impl UserActions {
    /// The user's sponsors (users and groups).
    pub async fn sponsors(&self) -> Result<Vec<DirectoryObject>, Error> {
        self.read("user.sponsors", async {
            self.g().users().sponsors(&self.user).collect().await
        })
        .await
    }

    /// Adds a sponsor (a user or a group, by object id).
    pub async fn add_sponsor(&self, sponsor: &Sponsor) -> Result<(), Error> {
        let kind = match sponsor {
            Sponsor::Group(_) => "group",
            _ => "user",
        };
        self.act(
            "user.add_sponsor",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"sponsor": sponsor.id().as_str(), "kind": kind}),
            succeeded,
            async { self.g().users().add_sponsor(&self.user, sponsor).await },
        )
        .await
    }

    /// Removes a sponsor by its object id (the sponsor itself is untouched).
    pub async fn remove_sponsor(&self, sponsor: &DirectoryObjectId) -> Result<(), Error> {
        self.act(
            "user.remove_sponsor",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"sponsor": sponsor.as_str()}),
            succeeded,
            async { self.g().users().remove_sponsor(&self.user, sponsor).await },
        )
        .await
    }
}
