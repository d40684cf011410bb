//! The recycle bin of one tenant (`handle.recycle_bin()`): deleted users and groups, restore
//! (checked first: a user whose UPN a live user took since is refused before anything is
//! sent, naming that user, unless a new UPN is given), and permanent deletion.
//!
//! ```no_run
//! # async fn demo(h: &cipp::TenantHandle) -> Result<(), cipp::core::Error> {
//! let bin = h.recycle_bin();
//! for u in bin.deleted_users().search("\"displayName:adele\"").await? {
//!     println!("{:?} {:?}", u.id, u.user_principal_name);
//! }
//! # Ok(()) }
//! ```

use cipp_core::Error;
use cipp_graph::model::{DirectoryObject, DirectoryObjectId, Group, User};
use cipp_graph::recycle_bin::RestoreOptions;
use cipp_graph::users::UserRef;

use std::future::IntoFuture;

use crate::authz::{succeeded, Act, Permission};
use crate::client::TenantHandle;

/// The recycle bin of one tenant.
#[derive(Clone, Debug)]
pub struct RecycleBin {
    handle: TenantHandle,
}

impl TenantHandle {
    /// The tenant's recycle bin.
    pub fn recycle_bin(&self) -> RecycleBin {
        RecycleBin {
            handle: self.clone(),
        }
    }
}

impl RecycleBin {
    fn bin(&self) -> cipp_graph::recycle_bin::RecycleBin {
        self.handle.graph().recycle_bin()
    }

    /// Deleted users, as a listing (`search`, `count`, `pages`, `select`…). Listings are
    /// reads of the graph handle: check [`TenantHandle::authorize`] first when acting for
    /// a restricted principal.
    pub fn deleted_users(&self) -> cipp_graph::List<User> {
        self.bin().deleted_users()
    }

    /// Deleted Microsoft 365 groups, as a listing.
    pub fn deleted_groups(&self) -> cipp_graph::List<Group> {
        self.bin().deleted_groups()
    }

    /// Restores a deleted user, under `new_upn` when given. Without one, a user whose UPN
    /// a live user holds now is refused before the restore is sent.
    pub async fn restore_user(
        &self,
        id: &str,
        new_upn: Option<&str>,
    ) -> Result<DirectoryObject, Error> {
        let act = Act {
            operation: "recycle_bin.restore_user",
            permission: &Permission::IDENTITY_USER_READWRITE,
            target: Some(id),
            parameters: serde_json::json!({"newUserPrincipalName": new_upn}),
        };
        self.handle
            .audited(act, succeeded, self.restore_user_unchecked(id, new_upn))
            .await
    }

    async fn restore_user_unchecked(
        &self,
        id: &str,
        new_upn: Option<&str>,
    ) -> Result<DirectoryObject, Error> {
        let id = DirectoryObjectId::from(id);
        let options = match new_upn {
            Some(upn) => RestoreOptions::default().new_user_principal_name(upn),
            None => {
                let deleted = self.bin().get(&id).await?;
                if let Some(upn) = deleted
                    .extra
                    .get("userPrincipalName")
                    .and_then(|v| v.as_str())
                {
                    self.refuse_if_taken(upn).await?;
                }
                RestoreOptions::default()
            }
        };
        self.bin().restore(&id, &options).await
    }

    async fn refuse_if_taken(&self, upn: &str) -> Result<(), Error> {
        let live = self
            .handle
            .graph()
            .users()
            .get(&UserRef::parse(upn)?)
            .select(["id", "userPrincipalName"])
            .await;
        match live {
            Ok(u) => Err(Error::invalid_input(
                "newUserPrincipalName",
                format!(
                    "`{upn}` now belongs to a live user ({}): restore with a new UPN",
                    u.id.map(|i| i.0).unwrap_or_default()
                ),
            )),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Restores a deleted Microsoft 365 group.
    pub async fn restore_group(&self, id: &str) -> Result<DirectoryObject, Error> {
        let act = Act {
            operation: "recycle_bin.restore_group",
            permission: &Permission::IDENTITY_GROUP_READWRITE,
            target: Some(id),
            parameters: serde_json::Value::Null,
        };
        let work = self
            .bin()
            .restore(&DirectoryObjectId::from(id), &RestoreOptions::default());
        self.handle
            .audited(act, succeeded, work.into_future())
            .await
    }

    /// Deletes a deleted user or group for good (it cannot be restored afterwards).
    pub async fn delete_permanently(&self, id: &str) -> Result<(), Error> {
        let act = Act {
            operation: "recycle_bin.delete_permanently",
            permission: &Permission::IDENTITY_USER_READWRITE,
            target: Some(id),
            parameters: serde_json::Value::Null,
        };
        let work = self.bin().delete_permanently(&DirectoryObjectId::from(id));
        self.handle
            .audited(act, succeeded, work.into_future())
            .await
    }
}
