//! Open-kind templates ([`TemplateKind::Other`]) deployed to the Graph collection their
//! [`GraphTarget`] names, through `cipp_graph::collections` (raw JSON objects).
//!
//! - State ([`fill_state`], called by [`super::fetch_state`]): each target collection is
//!   listed once (every page); its objects become [`TenantState::existing`] of the
//!   template's kind, by `id`. Templates without a usable target are left out (the plan
//!   says why they are not deployable) and nothing is read for them. Two templates of one
//!   kind naming different collections are refused before anything is read: give each
//!   collection its own kind name.
//! - Create: `POST` of the planned body (variables substituted, server-owned fields and
//!   nulls removed) to the collection.
//! - Update: `PATCH` of only the top-level properties the plan's field-level diff names
//!   (nested differences send their whole top-level property), plus the body's
//!   `@odata.type` when it has one (Graph needs it to patch polymorphic objects).
//! - Adopt and no-op send nothing.
//! - Verification: the object is read back (`GET` collection/{id}) and compared with the
//!   template ([`crate::plan::diff`]): a difference makes the outcome `Partial`.
//!
//! An item without a target in the plan ([`crate::plan::Plan::targets`]) fails with the
//! reason, and nothing is sent.

use std::collections::BTreeMap;

use cipp_core::Outcome;
use cipp_graph::collections::CollectionPath;
use cipp_graph::TenantGraph;
use serde_json::{Map, Value};

use super::{failed, verified, ApplyError, ApplyOptions, Done};
use crate::graph_target::GraphTarget;
use crate::plan::{Action, Existing, FieldChange, PlanItem, TenantState};
use crate::template::{Template, TemplateKind};

/// The collection each open kind among `templates` is deployed to (templates without a
/// usable target left out), or the kinds that name two collections.
fn collections(
    templates: &[Template],
) -> Result<BTreeMap<TemplateKind, CollectionPath>, ApplyError> {
    let mut out: BTreeMap<TemplateKind, CollectionPath> = BTreeMap::new();
    for t in templates {
        let Some(Ok((_, path))) = t.deploy_target() else {
            continue;
        };
        match out.get(&t.kind) {
            Some(seen) if *seen != path => {
                return Err(ApplyError::Invalid {
                    what: format!("templates of kind \"{}\"", t.kind),
                    message: format!(
                        "they name two Graph collections ({seen} and {path}); give each \
                         collection its own kind name"
                    ),
                })
            }
            _ => {
                out.insert(t.kind.clone(), path);
            }
        }
    }
    Ok(out)
}

/// The objects of `collection`, by `id` (objects without one are left out).
pub async fn fetch_existing(
    graph: &TenantGraph,
    collection: &CollectionPath,
) -> Result<Vec<Existing>, cipp_core::Error> {
    let all = graph.collections().list(collection).await?;
    Ok(all
        .into_iter()
        .filter_map(|o| {
            let id = o.get("id")?.as_str()?.to_owned();
            Some(Existing::new(id, o))
        })
        .collect())
}

/// Fills `state.existing` for every open kind among `templates` that carries a usable
/// target: one listing per collection, concurrently.
pub async fn fill_state(
    graph: &TenantGraph,
    templates: &[Template],
    state: &mut TenantState,
) -> Result<(), ApplyError> {
    let wanted = collections(templates)?;
    if wanted.is_empty() {
        return Ok(());
    }
    let read =
        futures::future::try_join_all(wanted.values().map(|c| fetch_existing(graph, c))).await?;
    for (kind, existing) in wanted.into_keys().zip(read) {
        state.existing.insert(kind, existing);
    }
    Ok(())
}

/// Unescapes a JSON pointer segment (`~1` → `/`, `~0` → `~`).
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The `PATCH` body for `changes`: each changed top-level property of `body`, and its
/// `@odata.type`.
fn patch_body(body: &Value, changes: &[FieldChange]) -> Value {
    let mut patch = Map::new();
    let Some(obj) = body.as_object() else {
        return Value::Object(patch);
    };
    for c in changes {
        let top = c
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        let key = unescape(top);
        if let Some(v) = obj.get(&key) {
            patch.insert(key, v.clone());
        }
    }
    if !patch.is_empty() {
        if let Some(t) = obj.get("@odata.type") {
            patch.insert("@odata.type".to_owned(), t.clone());
        }
    }
    Value::Object(patch)
}

/// Reads the object back and compares it with `body`.
async fn verify(
    graph: &TenantGraph,
    item: &PlanItem,
    collection: &CollectionPath,
    id: &str,
    body: &Value,
    done: String,
) -> Outcome {
    match graph.collections().get(collection, id).await {
        Ok(back) => verified(&item.kind, body, &back, done),
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    }
}

/// Applies one open-kind item to the collection of `target` (see the module docs): its
/// object id (when bound to one) and its outcome.
pub(super) async fn apply_item(
    graph: &TenantGraph,
    item: &PlanItem,
    target: Option<&GraphTarget>,
    options: &ApplyOptions,
) -> Done {
    match &item.action {
        Action::NoOp { object_id } => {
            return (
                Some(object_id.clone()),
                Outcome::no_change("already as the template says"),
            )
        }
        Action::Adopt { object_id } => {
            return (
                Some(object_id.clone()),
                Outcome::no_change("adopted: the object found by name already matches"),
            )
        }
        Action::Conflict { reason } => return (None, failed(format!("not applied: {reason}"))),
        Action::Create { .. } | Action::Update { .. } => {}
    }
    let bound = match &item.action {
        Action::Update { object_id, .. } => Some(object_id.clone()),
        _ => None,
    };
    let Some(target) = target else {
        return (
            bound,
            failed(format!(
                "not applied: the plan names no Graph target for template {} (a {} template \
                 is deployed only to the collection it carries); plan it again",
                item.template_id, item.kind
            )),
        );
    };
    let collection = match target.collection_path() {
        Ok(c) => c,
        Err(e) => return (bound, failed(format!("not applied: {e}"))),
    };
    let name = &item.name;
    match &item.action {
        Action::Create { body } => {
            let created = match graph.collections().create(&collection, body).await {
                Ok(c) => c,
                Err(e) => return (None, Outcome::failed(&e)),
            };
            let Some(id) = created.get("id").and_then(Value::as_str).map(str::to_owned) else {
                return (
                    None,
                    failed(format!(
                        "\"{name}\" was created in {collection} but Graph returned no id"
                    )),
                );
            };
            let done = format!("created \"{name}\" in {collection} ({id})");
            if !options.verify {
                return (Some(id), Outcome::succeeded(done));
            }
            let outcome = verify(graph, item, &collection, &id, body, done).await;
            (Some(id), outcome)
        }
        Action::Update {
            object_id,
            changes,
            body,
            ..
        } => {
            let patch = patch_body(body, changes);
            if patch.as_object().is_none_or(Map::is_empty) {
                return (
                    Some(object_id.clone()),
                    Outcome::no_change(format!("\"{name}\" already matches")),
                );
            }
            if let Err(e) = graph
                .collections()
                .update(&collection, object_id, &patch)
                .await
            {
                return (Some(object_id.clone()), Outcome::failed(&e));
            }
            let fields: Vec<&String> = patch
                .as_object()
                .map(|m| m.keys().filter(|k| *k != "@odata.type").collect())
                .unwrap_or_default();
            let done = format!(
                "updated \"{name}\" in {collection} ({object_id}): {}",
                fields
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !options.verify {
                return (Some(object_id.clone()), Outcome::succeeded(done));
            }
            let outcome = verify(graph, item, &collection, object_id, body, done).await;
            (Some(object_id.clone()), outcome)
        }
        // Handled above.
        _ => (bound, failed("not applied")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_name_changed_top_level_properties_only() {
        let body = json!({"@odata.type": "#microsoft.graph.x", "displayName": "A",
                          "limit": 5, "nested": {"a": 1, "b": 2}, "a/b": 1});
        let change = |p: &str| FieldChange {
            path: p.to_owned(),
            from: None,
            to: Some(json!(1)),
        };
        let patch = patch_body(
            &body,
            &[change("/limit"), change("/nested/b"), change("/a~1b")],
        );
        assert_eq!(
            patch,
            json!({"@odata.type": "#microsoft.graph.x", "limit": 5,
                   "nested": {"a": 1, "b": 2}, "a/b": 1})
        );
        assert_eq!(patch_body(&body, &[]), json!({}));
    }
}
