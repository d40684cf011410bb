//! A user's sponsors (v1.0): the users and groups responsible for a guest's access.
//! `GET /users/{id}/sponsors`, `POST /users/{id}/sponsors/$ref` with the sponsor's
//! `@odata.id`, `DELETE /users/{id}/sponsors/{sponsorId}/$ref` (without `/$ref` Graph
//! would delete the sponsor object itself, so the path always ends with it).
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::sponsors::{self, Sponsor};
//! use cipp_graph::users::UserRef;
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let guest = UserRef::parse("48d31887-5fad-4d73-a9f5-3c356e68a038")?;
//! let sponsor = Sponsor::user("87d349ed-44d7-43e1-9a83-5f2406dee5bd");
//! let op = sponsors::add(&t, &guest, &sponsor, "https://graph.microsoft.com")?;
//! assert_eq!(op.request().path(), "/v1.0/users/48d31887-5fad-4d73-a9f5-3c356e68a038/sponsors/$ref");
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde_json::json;

use crate::model::{DirectoryObject, DirectoryObjectId};
use crate::odata::Query;
use crate::op::{self, unit, GraphOp};
use crate::users::UserRef;

/// A sponsor: a user or a group, by object id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sponsor {
    /// A user.
    User(DirectoryObjectId),
    /// A group.
    Group(DirectoryObjectId),
}

impl Sponsor {
    /// A user sponsor.
    pub fn user(id: impl Into<DirectoryObjectId>) -> Self {
        Sponsor::User(id.into())
    }

    /// A group sponsor.
    pub fn group(id: impl Into<DirectoryObjectId>) -> Self {
        Sponsor::Group(id.into())
    }

    /// The sponsor's object id.
    pub fn id(&self) -> &DirectoryObjectId {
        match self {
            Sponsor::User(id) | Sponsor::Group(id) => id,
        }
    }

    /// The sponsor's read URL for the `@odata.id` of a `$ref` body:
    /// `{graph}/v1.0/users/{id}` or `{graph}/v1.0/groups/{id}`.
    pub fn odata_id(&self, graph_base: &str) -> String {
        let (set, id) = match self {
            Sponsor::User(id) => ("users", id),
            Sponsor::Group(id) => ("groups", id),
        };
        format!("{}/v1.0/{set}/{id}", graph_base.trim_end_matches('/'))
    }
}

fn sponsor_id(id: &str) -> Result<String, Error> {
    op::guid("sponsor", id, "a sponsor's object id (GUID)")
}

/// Lists the user's sponsors (users and groups, as directory objects).
pub fn list(tenant: &TenantId, user: &UserRef, query: &Query) -> Result<ApiRequest, Error> {
    op::list(
        tenant,
        format!("/v1.0{}/sponsors", user.path()),
        "list sponsors",
        query,
    )
}

/// Adds a sponsor (204).
pub fn add(
    tenant: &TenantId,
    user: &UserRef,
    sponsor: &Sponsor,
    graph_base: &str,
) -> Result<GraphOp<()>, Error> {
    let id = sponsor_id(sponsor.id().as_str())?;
    let sponsor = match sponsor {
        Sponsor::User(_) => Sponsor::user(id),
        Sponsor::Group(_) => Sponsor::group(id),
    };
    op::with_body(
        tenant,
        Method::POST,
        format!("/v1.0{}/sponsors/$ref", user.path()),
        "add sponsor",
        &json!({"@odata.id": sponsor.odata_id(graph_base)}),
        unit,
    )
}

/// Removes a sponsor (204): only the reference, never the sponsor object.
pub fn remove(
    tenant: &TenantId,
    user: &UserRef,
    sponsor: &DirectoryObjectId,
) -> Result<GraphOp<()>, Error> {
    let id = sponsor_id(sponsor.as_str())?;
    Ok(op::delete(
        tenant,
        format!("/v1.0{}/sponsors/{id}/$ref", user.path()),
        "remove sponsor",
    ))
}

impl crate::users::Users {
    /// The user's sponsors (users and groups).
    pub fn sponsors(&self, user: &UserRef) -> crate::List<DirectoryObject> {
        let user = user.clone();
        self.0.list(move |t, q| list(t, &user, q))
    }

    /// Adds a sponsor to the user.
    pub fn add_sponsor(&self, user: &UserRef, sponsor: &Sponsor) -> crate::Call<()> {
        self.0.call(add(self.0.id(), user, sponsor, self.0.base()))
    }

    /// Removes a sponsor from the user (the sponsor itself is untouched).
    pub fn remove_sponsor(&self, user: &UserRef, sponsor: &DirectoryObjectId) -> crate::Call<()> {
        self.0.call(remove(self.0.id(), user, sponsor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_the_sponsor_kind() {
        let id = "87D349ED-44d7-43e1-9a83-5f2406dee5bd";
        assert_eq!(
            Sponsor::group(id).odata_id("https://graph.microsoft.com/"),
            format!("https://graph.microsoft.com/v1.0/groups/{id}")
        );
        let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        let u = UserRef::parse("guest@contoso.com").unwrap();
        let op = add(&t, &u, &Sponsor::user(id), "https://graph.microsoft.com").unwrap();
        assert_eq!(op.request().method(), &Method::POST);
        assert!(add(&t, &u, &Sponsor::user("adele@contoso.com"), "x").is_err());
        assert!(remove(&t, &u, &DirectoryObjectId::from("nope")).is_err());
    }
}
