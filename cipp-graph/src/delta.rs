//! Delta queries (change tracking) on users and groups: what changed in a tenant since a
//! saved link, without reading everything again.
//!
//! The first query (`GET /v1.0/users/delta?$select=…`) returns every object: it is a
//! **full sync**. Its pages are followed through `@odata.nextLink` until the last page,
//! which carries an `@odata.deltaLink` instead. Saved, that link is the starting point of
//! the next query, which returns only the objects changed since (created, updated, deleted,
//! and for groups the members added and removed in `members@delta`).
//!
//! An object that left the collection comes back as its id with `"@removed": {"reason":
//! "changed"}` (a user or group deleted to the recycle bin, restorable) or `"deleted"`
//! (deleted for good): [`Delta::removed`]. A group's removed members carry `@removed` in
//! `members@delta`: [`MemberChange::removed`].
//!
//! Delta links of directory objects expire (after seven days): Graph then answers `400`
//! `syncStateNotFound` ("the delta token is expired and data must be synchronized again")
//! or `410 Gone` (`resyncRequired`). Both are handled by starting again with a full sync;
//! the result says so with [`DeltaSync::Restarted`], so a caller comparing against stored
//! state knows it got every object, not only changes.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::delta::{groups_delta, users_delta};
//! let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
//! let first = users_delta(&t, &["displayName", "onPremisesSyncEnabled"]).unwrap();
//! assert_eq!(first.target(), "/v1.0/users/delta?$select=displayName%2ConPremisesSyncEnabled");
//! let g = "02bd9fd6-8f93-4758-87c3-1fb73740a315";
//! let groups = groups_delta(&t, &["displayName", "members"], &[g]).unwrap();
//! assert!(groups.target().starts_with("/v1.0/groups/delta?"));
//! // Invalid input is refused before anything is sent.
//! assert!(users_delta(&t, &["display name"]).is_err());
//! assert!(groups_delta(&t, &["members"], &["not-a-guid"]).is_err());
//! ```

use cipp_core::{paging, ApiRequest, Audience, Error, Pipeline, TenantId};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::User;

/// The most groups one `groups/delta` query may name (Graph's limit for `$filter=id eq`).
pub const MAX_GROUP_IDS: usize = 50;

/// Why an object left the collection (`@removed.reason`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RemovalReason {
    /// `changed`: deleted to the recycle bin (it can be restored), or out of the query's
    /// scope.
    Changed,
    /// `deleted`: deleted for good.
    Deleted,
    /// A reason this crate does not know, as sent.
    Other(String),
}

impl RemovalReason {
    fn parse(s: &str) -> RemovalReason {
        match s.to_ascii_lowercase().as_str() {
            "changed" => RemovalReason::Changed,
            "deleted" => RemovalReason::Deleted,
            _ => RemovalReason::Other(s.to_owned()),
        }
    }
}

/// An object that left the collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// Its object id.
    pub id: String,
    /// Why.
    pub reason: RemovalReason,
}

/// What kind of answer a delta query got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum DeltaSync {
    /// The first query: every object in the collection (no removals).
    Full,
    /// Changes since the saved link.
    Changes,
    /// The saved link had expired (or the service asked for a resync): the query started
    /// again with a full sync, so [`Delta::changed`] holds every object and changes in
    /// between are not told apart.
    Restarted {
        /// What the service said.
        reason: String,
    },
}

/// The result of a delta query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delta<T> {
    /// Objects created or changed (every object on a full sync), with the selected
    /// properties.
    pub changed: Vec<T>,
    /// Objects removed since the saved link.
    pub removed: Vec<Removed>,
    /// The link to save for the next query.
    pub delta_link: String,
    /// Full sync, changes, or a restart after an expired link.
    pub sync: DeltaSync,
}

impl<T> Delta<T> {
    /// Whether this holds every object (a first query or a restart), not only changes.
    pub fn is_full(&self) -> bool {
        !matches!(self.sync, DeltaSync::Changes)
    }
}

/// One member added to or removed from a group (`members@delta`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberChange {
    /// The member's object id.
    pub id: String,
    /// Its type (`#microsoft.graph.user`, `#microsoft.graph.group`, …), when sent.
    pub odata_type: Option<String>,
    /// Whether it was removed (`@removed`); otherwise it was added.
    pub removed: bool,
}

/// A group in a `groups/delta` answer: its selected properties and its member changes.
/// Graph may return one group several times in one answer (member changes spread over
/// pages); they are merged into one.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupChange {
    /// The group id.
    pub id: String,
    /// Its display name, when selected and sent.
    pub display_name: Option<String>,
    /// Members added and removed (every member on a full sync).
    pub members: Vec<MemberChange>,
    /// Every other property sent.
    pub properties: Map<String, Value>,
}

fn check_select(select: &[&str]) -> Result<(), Error> {
    for s in select {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(Error::invalid_input(
                "select",
                format!("`{s}` is not a property name"),
            ));
        }
    }
    Ok(())
}

fn with_select(r: ApiRequest, select: &[&str]) -> ApiRequest {
    if select.is_empty() {
        r
    } else {
        r.query("$select", &select.join(","))
    }
}

/// The first request of a users delta query (`GET /v1.0/users/delta`, `$select` when
/// properties are named; `id` always comes back).
pub fn users_delta(tenant: &TenantId, select: &[&str]) -> Result<ApiRequest, Error> {
    check_select(select)?;
    let r = ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/users/delta")
        .operation("users delta")
        .idempotent(true);
    Ok(crate::workload::declare(with_select(r, select)))
}

/// The first request of a groups delta query (`GET /v1.0/groups/delta`), for the given
/// groups only when `group_ids` is not empty (`$filter=id eq '…' or …`, at most
/// [`MAX_GROUP_IDS`]). Select `members` to get `members@delta`.
pub fn groups_delta(
    tenant: &TenantId,
    select: &[&str],
    group_ids: &[&str],
) -> Result<ApiRequest, Error> {
    check_select(select)?;
    if group_ids.len() > MAX_GROUP_IDS {
        return Err(Error::invalid_input(
            "group_ids",
            format!(
                "{} groups named; a delta query tracks at most {MAX_GROUP_IDS}: split them",
                group_ids.len()
            ),
        ));
    }
    for g in group_ids {
        if !crate::users::is_guid(g) {
            return Err(Error::invalid_input(
                "group_ids",
                format!("`{g}` is not a group id (GUID)"),
            ));
        }
    }
    let mut r = with_select(
        ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/groups/delta")
            .operation("groups delta")
            .idempotent(true),
        select,
    );
    if !group_ids.is_empty() {
        let filter: Vec<String> = group_ids
            .iter()
            .map(|g| format!("id eq '{}'", g.to_ascii_lowercase()))
            .collect();
        r = r.query("$filter", &filter.join(" or "));
    }
    Ok(crate::workload::declare(r))
}

/// Refuses a saved link that is not a delta link of `collection` (`users`, `groups`).
fn check_link(link: &str, collection: &str) -> Result<(), Error> {
    let path = link.split('?').next().unwrap_or_default();
    let path = path
        .strip_prefix("https://")
        .or_else(|| path.strip_prefix("http://"))
        .map_or(path, |rest| rest.find('/').map_or("", |i| &rest[i..]));
    let lower = path.to_ascii_lowercase();
    let ok = [
        format!("/v1.0/{collection}/delta"),
        format!("/beta/{collection}/delta"),
        format!("/v1.0/{collection}/microsoft.graph.delta"),
        format!("/beta/{collection}/microsoft.graph.delta"),
    ]
    .iter()
    .any(|p| lower == *p || lower == format!("{p}()"));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "delta_link",
            format!("not a {collection} delta link (expected a link a {collection}/delta query returned)"),
        ))
    }
}

/// Whether `e` says the saved link can no longer be used and a full sync is needed:
/// `410 Gone`, or the codes `syncStateNotFound`, `syncStateInvalid`, `resyncRequired`
/// (any status).
pub fn needs_full_sync(e: &Error) -> bool {
    match e {
        Error::Api(a) => {
            a.status.as_u16() == 410
                || [&a.code, a.inner_code.as_ref().unwrap_or(&String::new())]
                    .iter()
                    .any(|c| {
                        let c = c.to_ascii_lowercase();
                        c.ends_with("syncstatenotfound")
                            || c.ends_with("syncstateinvalid")
                            || c.ends_with("resyncrequired")
                    })
        }
        _ => false,
    }
}

/// Raw items and the delta link, every page read.
async fn read_all(pipeline: &Pipeline, request: ApiRequest) -> Result<(Vec<Value>, String), Error> {
    let tenant = request.tenant().clone();
    let operation = request.operation_name();
    let mut pages = paging::pages::<Value>(pipeline.clone(), request).boxed();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page?;
        items.extend(page.items);
        if let Some(link) = page.delta_link {
            return Ok((items, link));
        }
        if page.next_link.is_none() {
            break;
        }
    }
    Err(Error::protocol(
        Some(tenant),
        operation,
        "the delta query's last page carried no @odata.deltaLink, so there is no link to \
         continue from; run the query again",
    ))
}

/// Reads from `from` (a saved link) or from `first`; an expired link restarts with `first`.
async fn run(
    pipeline: &Pipeline,
    first: ApiRequest,
    from: Option<&str>,
) -> Result<(Vec<Value>, String, DeltaSync), Error> {
    let Some(link) = from else {
        let (items, link) = read_all(pipeline, first).await?;
        return Ok((items, link, DeltaSync::Full));
    };
    match read_all(pipeline, first.clone().with_target(link)).await {
        Ok((items, link)) => Ok((items, link, DeltaSync::Changes)),
        Err(e) if needs_full_sync(&e) => {
            let reason = match &e {
                Error::Api(a) => format!("{} {}: {}", a.status.as_u16(), a.code, a.message),
                other => other.to_string(),
            };
            tracing::info!(tenant = %first.tenant(), operation = %first.operation_name(), %reason, "delta link expired; starting a full sync");
            let (items, link) = read_all(pipeline, first).await?;
            Ok((items, link, DeltaSync::Restarted { reason }))
        }
        Err(e) => Err(e),
    }
}

/// The `@removed` of an item, if any.
fn removal(item: &Value) -> Option<RemovalReason> {
    let r = item.get("@removed")?;
    Some(RemovalReason::parse(
        r.get("reason").and_then(Value::as_str).unwrap_or_default(),
    ))
}

fn item_id(tenant: &TenantId, operation: &str, item: &Value) -> Result<String, Error> {
    item.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::protocol(
                Some(tenant.clone()),
                operation.to_owned(),
                "a delta item has no id",
            )
        })
}

fn split<T: DeserializeOwned>(
    tenant: &TenantId,
    operation: &str,
    items: Vec<Value>,
) -> Result<(Vec<T>, Vec<Removed>), Error> {
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let id = item_id(tenant, operation, &item)?;
        match removal(&item) {
            Some(reason) => removed.push(Removed { id, reason }),
            None => changed.push(serde_json::from_value::<T>(item).map_err(|e| {
                Error::protocol(
                    Some(tenant.clone()),
                    operation.to_owned(),
                    format!("delta item {i} does not read: {e}"),
                )
            })?),
        }
    }
    Ok((changed, removed))
}

fn group_changes(
    tenant: &TenantId,
    operation: &str,
    items: Vec<Value>,
) -> Result<(Vec<GroupChange>, Vec<Removed>), Error> {
    let mut changed: Vec<GroupChange> = Vec::new();
    let mut removed = Vec::new();
    for item in items {
        let id = item_id(tenant, operation, &item)?;
        if let Some(reason) = removal(&item) {
            removed.push(Removed { id, reason });
            continue;
        }
        let Value::Object(mut m) = item else { continue };
        let members = match m.remove("members@delta") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| {
                    Some(MemberChange {
                        id: x.get("id")?.as_str()?.to_owned(),
                        odata_type: x
                            .get("@odata.type")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        removed: x.get("@removed").is_some(),
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        m.remove("id");
        let display_name = m
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match changed.iter_mut().find(|g| g.id.eq_ignore_ascii_case(&id)) {
            Some(g) => {
                g.members.extend(members);
                if display_name.is_some() {
                    g.display_name = display_name;
                }
                g.properties.extend(m);
            }
            None => changed.push(GroupChange {
                id,
                display_name,
                members,
                properties: m,
            }),
        }
    }
    Ok((changed, removed))
}

/// Delta queries of one tenant (`graph.tenant(&t).delta()`).
#[derive(Clone, Debug)]
pub struct DeltaQueries(pub(crate) crate::TenantGraph);

impl DeltaQueries {
    /// Users changed since `from` (a saved [`Delta::delta_link`]; `None`: a full sync of
    /// every user), with the `select`ed properties. An expired link restarts with a full
    /// sync ([`DeltaSync::Restarted`]).
    pub async fn users(&self, select: &[&str], from: Option<&str>) -> Result<Delta<User>, Error> {
        let first = users_delta(self.0.id(), select)?;
        if let Some(link) = from {
            check_link(link, "users")?;
        }
        let (items, delta_link, sync) = run(self.0.pipeline(), first, from).await?;
        let (changed, removed) = split(self.0.id(), "users delta", items)?;
        Ok(Delta {
            changed,
            removed,
            delta_link,
            sync,
        })
    }

    /// Groups changed since `from` (`None`: every group), only those of `group_ids` when
    /// given; select `members` for their member changes.
    pub async fn groups(
        &self,
        select: &[&str],
        group_ids: &[&str],
        from: Option<&str>,
    ) -> Result<Delta<GroupChange>, Error> {
        let first = groups_delta(self.0.id(), select, group_ids)?;
        if let Some(link) = from {
            check_link(link, "groups")?;
        }
        let (items, delta_link, sync) = run(self.0.pipeline(), first, from).await?;
        let (changed, removed) = group_changes(self.0.id(), "groups delta", items)?;
        Ok(Delta {
            changed,
            removed,
            delta_link,
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn saved_links_must_be_delta_links_of_the_collection() {
        assert!(check_link(
            "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc",
            "users"
        )
        .is_ok());
        assert!(check_link("/v1.0/groups/delta?$deltatoken=abc", "groups").is_ok());
        assert!(check_link("https://graph.microsoft.com/v1.0/users/delta?x", "groups").is_err());
        assert!(check_link("https://graph.microsoft.com/v1.0/users", "users").is_err());
    }

    proptest! {
        #[test]
        fn removal_reasons_read_case_insensitively(s in "[a-zA-Z]{0,12}") {
            let r = RemovalReason::parse(&s);
            match s.to_ascii_lowercase().as_str() {
                "changed" => prop_assert_eq!(r, RemovalReason::Changed),
                "deleted" => prop_assert_eq!(r, RemovalReason::Deleted),
                _ => prop_assert_eq!(r, RemovalReason::Other(s.clone())),
            }
        }

        #[test]
        fn any_link_check_never_panics(link in ".{0,80}") {
            let _ = check_link(&link, "users");
        }
    }
}
