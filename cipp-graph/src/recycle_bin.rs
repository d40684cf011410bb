//! The recycle bin (`directory/deletedItems`): deleted users and groups listed (with
//! `$count`, `$search` and paging, like any listing), restored — optionally under a new
//! user principal name, or reconciling proxy-address conflicts (beta) — or deleted for good.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::recycle_bin::{restore, RestoreOptions};
//! let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
//! let id = "78bf875b-9343-4edc-9130-0d3958113563";
//! let plain = restore(&t, id, &RestoreOptions::default()).unwrap();
//! assert_eq!(plain.request().path(), format!("/v1.0/directory/deletedItems/{id}/restore"));
//! let renamed = RestoreOptions::default().new_user_principal_name("johndoe@contoso.com");
//! let op = restore(&t, id, &renamed).unwrap();
//! assert_eq!(op.request().path(), format!("/beta/directory/deletedItems/{id}/restore"));
//! ```

use cipp_core::{ApiRequest, Audience, Error, TenantId};
use serde::Serialize;

use crate::model::{DirectoryObject, DirectoryObjectId, Group, User};
use crate::odata::Query;
use crate::op::{json, GraphOp};

/// What kind of deleted object to list (Graph requires the type cast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletedKind {
    /// Deleted users.
    User,
    /// Deleted Microsoft 365 groups (security groups are deleted for good at once).
    Group,
}

impl DeletedKind {
    fn cast(self) -> &'static str {
        match self {
            DeletedKind::User => "microsoft.graph.user",
            DeletedKind::Group => "microsoft.graph.group",
        }
    }
}

/// Lists deleted objects of one kind (page size up to 999).
pub fn list_deleted(
    tenant: &TenantId,
    kind: DeletedKind,
    query: &Query,
) -> Result<ApiRequest, Error> {
    query.validate(999)?;
    Ok(query.apply(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!("/v1.0/directory/deletedItems/{}", kind.cast()),
        )
        .operation(match kind {
            DeletedKind::User => "list deleted users",
            DeletedKind::Group => "list deleted groups",
        }),
    ))
}

/// Reads one deleted object (user, group, application…).
pub fn get_deleted(tenant: &TenantId, id: &str) -> Result<GraphOp<DirectoryObject>, Error> {
    if !crate::users::is_guid(id) {
        return Err(Error::invalid_input(
            "id",
            format!("`{id}` is not an object id (GUID)"),
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!("/v1.0/directory/deletedItems/{}", id.to_ascii_lowercase()),
        )
        .operation("get deleted item"),
        json,
    ))
}

/// How to restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Restore the user under this user principal name (when the old one is taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_user_principal_name: Option<String>,
    /// Remove proxy addresses that a live user already uses.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto_reconcile_proxy_conflict: bool,
}

impl RestoreOptions {
    /// Restores under `upn`.
    pub fn new_user_principal_name(mut self, upn: impl Into<String>) -> Self {
        self.new_user_principal_name = Some(upn.into());
        self
    }

    /// Removes conflicting proxy addresses while restoring.
    pub fn auto_reconcile_proxy_conflict(mut self, on: bool) -> Self {
        self.auto_reconcile_proxy_conflict = on;
        self
    }

    fn is_plain(&self) -> bool {
        self == &RestoreOptions::default()
    }
}

/// Restores a deleted object: v1.0 without a body, or — with options, which only the beta
/// endpoint takes — beta with them.
pub fn restore(
    tenant: &TenantId,
    id: &str,
    options: &RestoreOptions,
) -> Result<GraphOp<DirectoryObject>, Error> {
    if options.is_plain() {
        return crate::users::restore(tenant, id);
    }
    if !crate::users::is_guid(id) {
        return Err(Error::invalid_input(
            "id",
            format!("`{id}` is not an object id (GUID)"),
        ));
    }
    if let Some(upn) = &options.new_user_principal_name {
        crate::users::validate_upn(upn)?;
    }
    let r = ApiRequest::post(
        tenant.clone(),
        Audience::Graph,
        format!(
            "/beta/directory/deletedItems/{}/restore",
            id.to_ascii_lowercase()
        ),
    )
    .operation("restore deleted item")
    .json(options)?
    .idempotent(true);
    Ok(GraphOp::new(r, json))
}

/// The recycle bin of one tenant (`graph.tenant(&t).recycle_bin()`).
#[derive(Clone, Debug)]
pub struct RecycleBin(pub(crate) crate::TenantGraph);

impl RecycleBin {
    /// Deleted users (`.search("\"displayName:adele\"")`, `.count()`, `.pages()` as any
    /// listing).
    pub fn deleted_users(&self) -> crate::List<User> {
        self.0.list(|t, q| list_deleted(t, DeletedKind::User, q))
    }

    /// Deleted Microsoft 365 groups.
    pub fn deleted_groups(&self) -> crate::List<Group> {
        self.0.list(|t, q| list_deleted(t, DeletedKind::Group, q))
    }

    /// One deleted object.
    pub fn get(&self, id: &DirectoryObjectId) -> crate::Call<DirectoryObject> {
        self.0.call(get_deleted(self.0.id(), id.as_str()))
    }

    /// Restores a deleted user or group.
    pub fn restore(
        &self,
        id: &DirectoryObjectId,
        options: &RestoreOptions,
    ) -> crate::Call<DirectoryObject> {
        self.0.call(restore(self.0.id(), id.as_str(), options))
    }

    /// Deletes a deleted object for good.
    pub fn delete_permanently(&self, id: &DirectoryObjectId) -> crate::Call<()> {
        self.0
            .call(crate::users::delete_permanently(self.0.id(), id.as_str()))
    }
}
