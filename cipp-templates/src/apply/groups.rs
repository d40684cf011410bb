//! Groups: group templates created through Graph, and groups created by name for the
//! references of other templates.

use cipp_core::Outcome;
use cipp_graph::groups::GroupPatch;
use cipp_graph::model::{Group, GroupId, NewGroup};
use cipp_graph::TenantGraph;
use serde_json::Value;

use super::resolve::{Directory, Entry, GROUP_SELECT};
use super::{failed, str_field, verified, ApplyOptions, Done};
use crate::plan::{object_name, FieldChange, PlanItem};
use crate::template::GroupType;

/// A group in CIPP's group template shape (as [`crate::capture::capture_group`] writes it).
pub(super) fn group_shape(g: &Group) -> Value {
    Value::Object(crate::capture::group_template_body(
        g,
        g.display_name.as_deref().unwrap_or_default(),
        None,
    ))
}

/// A mail nickname Graph accepts, from a display name.
fn nickname(name: &str) -> String {
    let nick: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(64)
        .collect();
    if nick.is_empty() {
        "group".to_owned()
    } else {
        nick
    }
}

/// The group to create for a group template body.
fn new_group(name: &str, body: &Value) -> Result<NewGroup, String> {
    let kind = GroupType::detect(body).ok_or_else(|| {
        "the template does not say what kind of group (groupType) it is".to_owned()
    })?;
    let nick = str_field(body, "username")
        .or_else(|| str_field(body, "mailNickname"))
        .map_or_else(|| nickname(name), str::to_owned);
    let mut g = match kind {
        GroupType::Security => NewGroup::security(name, &nick),
        GroupType::Microsoft365 => NewGroup::microsoft365(name, &nick),
        GroupType::RoleAssignable => NewGroup::security(name, &nick).role_assignable(),
        GroupType::Dynamic => {
            let rule = str_field(body, "membershipRules")
                .or_else(|| str_field(body, "membershipRule"))
                .ok_or_else(|| "a dynamic group template needs membershipRules".to_owned())?;
            NewGroup::security(name, &nick).dynamic(rule)
        }
        other => {
            return Err(format!(
                "{} groups are created through Exchange: deploy them with \
                 deploy::apply_tenant, which has the tenant's Exchange",
                other.cipp_name()
            ))
        }
    };
    if let Some(d) = str_field(body, "description") {
        g = g.with_description(d);
    }
    Ok(g)
}

pub(super) async fn create_group(
    graph: &TenantGraph,
    item: &PlanItem,
    body: &Value,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> Done {
    let name = object_name(&item.kind, body)
        .unwrap_or(&item.name)
        .to_owned();
    let g = match new_group(&name, body) {
        Ok(g) => g,
        Err(e) => return (None, failed(format!("not created: {e}"))),
    };
    let created = match graph.groups().create(&g).await {
        Ok(c) => c,
        Err(e) => return (None, Outcome::failed(&e)),
    };
    let Some(id) = created.id.map(|i| i.as_str().to_owned()) else {
        return (
            None,
            failed("the group was created but Graph returned no id"),
        );
    };
    dir.groups.push(Entry::named(&id, &name));
    let done = format!("created group \"{name}\" ({id})");
    if !options.verify {
        return (Some(id), Outcome::succeeded(done));
    }
    let read = graph
        .groups()
        .get(&GroupId::from(id.as_str()))
        .select(GROUP_SELECT.iter().copied())
        .await;
    let outcome = match read {
        Ok(back) => verified(&item.kind, body, &group_shape(&back), done),
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    (Some(id), outcome)
}

/// Updates an existing group from its template the way CIPP's `GroupTemplate` does: only
/// the description and the membership rule change; any other difference (the kind, the
/// nickname…) cannot be changed in place and fails the item, naming the properties.
pub(super) async fn update_group(
    graph: &TenantGraph,
    item: &PlanItem,
    id: &str,
    changes: &[FieldChange],
    body: &Value,
    options: &ApplyOptions,
) -> Done {
    let mut patch = GroupPatch::default();
    let mut fixed: Vec<&str> = Vec::new();
    for c in changes {
        match c.path.as_str() {
            "/description" => {
                patch.description = Some(str_field(body, "description").unwrap_or("").to_owned())
            }
            "/membershipRules" | "/membershipRule" => {
                patch.membership_rule = str_field(body, "membershipRules")
                    .or_else(|| str_field(body, "membershipRule"))
                    .map(str::to_owned)
            }
            other => fixed.push(other),
        }
    }
    let name = &item.name;
    if !fixed.is_empty() {
        return (
            Some(id.to_owned()),
            failed(format!(
                "group \"{name}\" ({id}) differs in {}, which cannot be changed in place; \
                 only its description and membership rule are updated — recreate the group \
                 or edit the template",
                fixed.join(", ")
            )),
        );
    }
    if patch.is_empty() {
        return (
            Some(id.to_owned()),
            Outcome::no_change(format!("group \"{name}\" already matches")),
        );
    }
    let gid = GroupId::from(id);
    if let Err(e) = graph.groups().update(&gid, &patch).await {
        return (Some(id.to_owned()), Outcome::failed(&e));
    }
    let done = format!("updated group \"{name}\" ({id})");
    if !options.verify {
        return (Some(id.to_owned()), Outcome::succeeded(done));
    }
    let read = graph
        .groups()
        .get(&gid)
        .select(GROUP_SELECT.iter().copied())
        .await;
    let outcome = match read {
        Ok(back) => verified(&item.kind, body, &group_shape(&back), done),
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    (Some(id.to_owned()), outcome)
}

/// The group named `name` (created as a security group when the tenant has none by that
/// name): its id and outcome.
pub(super) async fn ensure_group(graph: &TenantGraph, name: &str, dir: &mut Directory) -> Done {
    if let Some(done) = super::exists_already(&dir.groups, name, "group") {
        return done;
    }
    let g = NewGroup::security(name, &nickname(name));
    match graph.groups().create(&g).await {
        Ok(created) => {
            let id = created
                .id
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default();
            dir.groups.push(Entry::named(&id, name));
            (
                Some(id),
                Outcome::succeeded(format!("created security group \"{name}\"")),
            )
        }
        Err(e) => (None, Outcome::failed(&e)),
    }
}
