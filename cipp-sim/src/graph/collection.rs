//! The generic collection store: one [`Resource`] table entry gives a Graph collection
//! list (OData `$filter`/`$select`/`$top`/`$count`/`$orderby`/paging), create with
//! server-assigned ids and timestamps, get, `PATCH` (with `If-Match` when the resource
//! has ETags), `PUT`, `DELETE` (into `directory/deletedItems` where Graph does that) and
//! restore — with per-resource [`Hooks`] for the rules that make each resource itself.
//!
//! Adding a resource with standard semantics is one entry in an area's `RESOURCES` table
//! plus its seed data in that area's store:
//!
//! ```text
//! Resource { path: "identity/conditionalaccess/namedlocations",
//!            entity: "identity/conditionalAccess/namedLocations",
//!            area: Area::ConditionalAccess, ..Resource::STANDARD }
//! ```

use serde_json::{json, Map, Value};

use super::{
    error, id_of, list_with, project, routes, with_context, Answer, Ctx, Paging, Params, Route,
};
use crate::state::{Area, SimTenant, Store};
use crate::{Reply, Sim};

/// An operation a resource supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    Get,
    Create,
    Update,
    Replace,
    Delete,
}

/// Every operation.
pub(crate) const ALL_OPS: &[Op] = &[
    Op::List,
    Op::Get,
    Op::Create,
    Op::Update,
    Op::Replace,
    Op::Delete,
];
/// Every operation but `PUT`.
pub(crate) const NO_REPLACE_OPS: &[Op] = &[Op::List, Op::Get, Op::Create, Op::Update, Op::Delete];
/// Read-only resources.
pub(crate) const READ_OPS: &[Op] = &[Op::List, Op::Get];

/// What `DELETE` does.
#[derive(Clone, Copy)]
pub(crate) enum Deletion {
    /// Gone for good.
    Hard,
    /// Into `directory/deletedItems` (restorable for 30 days).
    Soft,
    /// Soft when the predicate holds (Microsoft 365 groups), hard otherwise.
    SoftIf(fn(&Value) -> bool),
}

/// How items are typed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typing {
    /// Kept as sent.
    Any,
    /// One type, named in `@odata.type` where Graph shows it (deleted items, casts).
    Fixed(&'static str),
    /// Abstract: a create must name a `#microsoft.graph.*` type, which never changes.
    Polymorphic,
}

/// What a successful `PATCH` answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpdateReply {
    NoContent,
    Object,
}

/// Directory audit records a resource's writes produce.
#[derive(Clone, Copy)]
pub(crate) struct Audited {
    pub category: &'static str,
    pub add: &'static str,
    pub update: &'static str,
    pub delete: &'static str,
    pub restore: &'static str,
    pub purge: &'static str,
    /// The item as an audit target resource.
    pub target: fn(&SimTenant, &Value) -> Value,
}

pub(crate) type CreateHook = fn(&mut Ctx<'_, '_>, &mut Map<String, Value>) -> Result<(), Reply>;
pub(crate) type CreatedHook = fn(&mut Ctx<'_, '_>, &Value) -> Vec<(&'static str, String)>;
pub(crate) type UpdateHook =
    fn(&mut Ctx<'_, '_>, &Value, &mut Map<String, Value>) -> Result<(), Reply>;
pub(crate) type ItemHook = fn(&mut Ctx<'_, '_>, &Value) -> Result<(), Reply>;
pub(crate) type DeletedHook = fn(&mut Ctx<'_, '_>, &Value, bool);

/// The rules that make a resource itself.
#[derive(Clone, Copy)]
pub(crate) struct Hooks {
    /// Checks and completes a create body (no `id` yet); may replace it entirely.
    pub before_create: Option<CreateHook>,
    /// After the item is stored; answers extra headers (`Location`).
    pub after_create: Option<CreatedHook>,
    /// Checks a `PATCH` (current item, changes); may change or drain the changes.
    pub before_update: Option<UpdateHook>,
    /// Refuses a `DELETE`.
    pub before_delete: Option<ItemHook>,
    /// After a delete (`true` when the item is gone for good).
    pub after_delete: Option<DeletedHook>,
    /// Refuses a restore.
    pub before_restore: Option<ItemHook>,
}

impl Hooks {
    pub(crate) const NONE: Hooks = Hooks {
        before_create: None,
        after_create: None,
        before_update: None,
        before_delete: None,
        after_delete: None,
        before_restore: None,
    };
}

/// One Graph collection with standard semantics.
#[derive(Clone, Copy)]
pub(crate) struct Resource {
    /// Path after the version, lower case (`groups`).
    pub path: &'static str,
    /// The entity set for `@odata.context` (`identity/conditionalAccess/policies`).
    pub entity: &'static str,
    /// Where the items live.
    pub area: Area,
    /// The resource type's name in error messages (`User`).
    pub noun: &'static str,
    pub ops: &'static [Op],
    pub typing: Typing,
    pub deletion: Deletion,
    /// `@odata.etag` on every write, and `If-Match` required on `PATCH`/`DELETE`.
    pub etag: bool,
    /// Stamped with now on create.
    pub created: Option<&'static str>,
    /// Stamped with now on create and every change.
    pub modified: Option<&'static str>,
    /// Properties answered without `$select`.
    pub defaults: Option<&'static [&'static str]>,
    /// Properties a create must carry (not null).
    pub required: &'static [&'static str],
    pub paging: Paging,
    /// Whether `key` (as sent in the path) names `item`.
    pub key: fn(&Value, &str) -> bool,
    pub update_reply: UpdateReply,
    pub not_found: fn(&str) -> Reply,
    pub audit: Option<Audited>,
    pub hooks: Hooks,
}

fn id_is(v: &Value, key: &str) -> bool {
    v["id"]
        .as_str()
        .is_some_and(|x| x.eq_ignore_ascii_case(key))
}

fn resource_not_found(key: &str) -> Reply {
    error(
        404,
        "ResourceNotFound",
        &format!("The resource '{key}' was not found."),
    )
}

impl Resource {
    /// Defaults for a resource with standard semantics: every operation, items kept as sent,
    /// hard delete,
    /// `createdDateTime`/`lastModifiedDateTime`, directory paging, found by `id`.
    pub(crate) const STANDARD: Resource = Resource {
        path: "",
        entity: "",
        area: Area::Directory,
        noun: "Entity",
        ops: ALL_OPS,
        typing: Typing::Any,
        deletion: Deletion::Hard,
        etag: false,
        created: Some("createdDateTime"),
        modified: Some("lastModifiedDateTime"),
        defaults: None,
        required: &[],
        paging: Paging::DIRECTORY,
        key: id_is,
        update_reply: UpdateReply::NoContent,
        not_found: resource_not_found,
        audit: None,
        hooks: Hooks::NONE,
    };

    fn allows(&self, op: Op) -> bool {
        self.ops.contains(&op)
    }

    fn check_typing(&self, body: &Map<String, Value>) -> Result<(), Reply> {
        if self.typing == Typing::Polymorphic
            && body
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_none_or(|s| !s.starts_with("#microsoft.graph."))
        {
            return Err(error(
                400,
                "BadRequest",
                "A type must be specified with @odata.type for this abstract entity.",
            ));
        }
        Ok(())
    }
}

/// The store an area keeps its collections in.
pub(crate) fn store(t: &SimTenant, area: Area) -> &Store {
    match area {
        Area::Directory => &t.directory.store,
        Area::Intune => &t.intune.store,
        Area::ConditionalAccess => &t.conditional_access.store,
        Area::Gdap => &t.gdap.store,
    }
}

/// The store an area keeps its collections in, mutably.
pub(crate) fn store_mut(t: &mut SimTenant, area: Area) -> &mut Store {
    match area {
        Area::Directory => &mut t.directory.store,
        Area::Intune => &mut t.intune.store,
        Area::ConditionalAccess => &mut t.conditional_access.store,
        Area::Gdap => &mut t.gdap.store,
    }
}

/// What [`serve`] made of a request.
pub(crate) enum Served {
    Reply(Reply),
    /// The path is this resource's, the method is not one it supports.
    WrongMethod,
    NotMine,
}

/// Answers a request on `res`'s collection or one of its items.
pub(crate) fn serve(ctx: &mut Ctx<'_, '_>, res: &Resource, lower: &[String]) -> Served {
    let parts: Vec<&str> = res.path.split('/').collect();
    if lower.len() < parts.len() || lower.iter().zip(&parts).any(|(a, b)| a != b) {
        return Served::NotMine;
    }
    let method = ctx.req.method.as_str();
    let answer = match (lower.len() - parts.len(), method) {
        (0, "GET") if res.allows(Op::List) => list_items(ctx, res),
        (0, "POST") if res.allows(Op::Create) => create(ctx, res),
        (1, m) => {
            let key = ctx.req.segments.last().cloned().unwrap_or_default();
            match m {
                "GET" if res.allows(Op::Get) => get(ctx, res, &key),
                "PATCH" if res.allows(Op::Update) => update(ctx, res, &key),
                "PUT" if res.allows(Op::Replace) => replace(ctx, res, &key),
                "DELETE" if res.allows(Op::Delete) => delete(ctx, res, &key),
                _ => return Served::WrongMethod,
            }
        }
        (0, _) => return Served::WrongMethod,
        _ => return Served::NotMine,
    };
    Served::Reply(answer.unwrap_or_else(|r| r))
}

fn list_items(ctx: &mut Ctx<'_, '_>, res: &Resource) -> Answer {
    let items = store(ctx.t, res.area).get(res.path).items().to_vec();
    Ok(list_with(
        ctx.req,
        items,
        res.entity,
        res.defaults,
        res.paging,
    ))
}

/// The item `key` names, or the resource's 404.
fn current(ctx: &Ctx<'_, '_>, res: &Resource, key: &str) -> Result<Value, Reply> {
    store(ctx.t, res.area)
        .get(res.path)
        .iter()
        .find(|v| (res.key)(v, key))
        .cloned()
        .ok_or_else(|| (res.not_found)(key))
}

/// The item as a single-entity answer.
fn entity(ctx: &Ctx<'_, '_>, res: &Resource, status: u16, item: Value) -> Reply {
    Reply::json(
        status,
        with_context(item, ctx.req.version, &format!("{}/$entity", res.entity)),
    )
}

fn get(ctx: &mut Ctx<'_, '_>, res: &Resource, key: &str) -> Answer {
    let item = current(ctx, res, key)?;
    let item = project(&item, ctx.req.q("$select"), res.defaults);
    Ok(entity(ctx, res, 200, item))
}

/// A new weak ETag.
pub(crate) fn etag(sim: &Sim) -> String {
    format!("W/\"JyI{:016x}Iic=\"", sim.next_n())
}

/// `If-Match` must be given and match the item's ETag (or be `*`).
pub(crate) fn check_etag(ctx: &Ctx<'_, '_>, current: &Value) -> Result<(), Reply> {
    let given = ctx
        .req
        .headers
        .get(http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    match given {
        None => Err(error(
            400,
            "BadRequest",
            "The If-Match header is required for this request.",
        )),
        Some(m) if m == "*" || Some(m) == current["@odata.etag"].as_str() => Ok(()),
        Some(_) => Err(error(
            412,
            "PreconditionFailed",
            "The resource has been modified since it was last retrieved. Get the latest version and retry.",
        )),
    }
}

fn create(ctx: &mut Ctx<'_, '_>, res: &Resource) -> Answer {
    let mut body = ctx.req.object()?;
    res.check_typing(&body)?;
    if let Typing::Fixed(_) = res.typing {
        body.remove("@odata.type");
    }
    for p in res.required {
        if body.get(*p).is_none_or(Value::is_null) {
            return Err(error(
                400,
                "Request_BadRequest",
                &format!(
                    "Invalid value specified for property '{p}' of resource '{}'.",
                    res.noun
                ),
            ));
        }
    }
    // The server assigns ids.
    body.remove("id");
    if let Some(hook) = res.hooks.before_create {
        hook(ctx, &mut body)?;
    }
    if !body.contains_key("id") {
        body.insert("id".into(), Value::String(ctx.new_id(res.path)));
    }
    let now = Value::String(ctx.req.now.clone());
    for stamp in [res.created, res.modified].into_iter().flatten() {
        body.insert(stamp.into(), now.clone());
    }
    if res.etag {
        body.insert("@odata.etag".into(), Value::String(etag(ctx.sim)));
    }
    let item = Value::Object(body);
    let id = id_of(&item);
    store_mut(ctx.t, res.area)
        .get_mut(res.path)
        .insert(item.clone());
    if let Some(a) = res.audit {
        let target = (a.target)(ctx.t, &item);
        ctx.audit(a.add, a.category, "Add", vec![target]);
    }
    let headers = match res.hooks.after_create {
        Some(hook) => hook(ctx, &item),
        None => Vec::new(),
    };
    let stored = store(ctx.t, res.area)
        .get(res.path)
        .get(&id)
        .cloned()
        .unwrap_or(item);
    let mut reply = entity(ctx, res, 201, stored);
    reply.headers.extend(headers);
    Ok(reply)
}

/// Writes `item` over the stored item with the same id.
fn store_item(ctx: &mut Ctx<'_, '_>, res: &Resource, item: Value) {
    if let Some(slot) = store_mut(ctx.t, res.area)
        .get_mut(res.path)
        .get_mut(&id_of(&item))
    {
        *slot = item;
    }
}

/// The item `key` names, its `If-Match` checked when the resource has ETags.
fn current_matching(ctx: &Ctx<'_, '_>, res: &Resource, key: &str) -> Result<Value, Reply> {
    let current = current(ctx, res, key)?;
    if res.etag {
        check_etag(ctx, &current)?;
    }
    Ok(current)
}

fn update(ctx: &mut Ctx<'_, '_>, res: &Resource, key: &str) -> Answer {
    let current = current_matching(ctx, res, key)?;
    let mut changes = ctx.req.object()?;
    if changes.contains_key("id") {
        return Err(error(
            400,
            "Request_BadRequest",
            "Property 'id' is read-only and cannot be set.",
        ));
    }
    if res.typing == Typing::Polymorphic
        && changes.get("@odata.type").is_some_and(Value::is_string)
        && changes.get("@odata.type") != current.get("@odata.type")
    {
        return Err(error(
            400,
            "BadRequest",
            &format!("The @odata.type of a {} cannot change.", res.noun),
        ));
    }
    if let Some(hook) = res.hooks.before_update {
        hook(ctx, &current, &mut changes)?;
    }
    changes.retain(|k, _| !k.contains('@'));
    let modified = crate::state::modified_properties(&current, &changes);
    let mut updated = current.clone();
    for (k, v) in &changes {
        updated[k.as_str()] = v.clone();
    }
    if !changes.is_empty() || res.etag {
        if let Some(stamp) = res.modified {
            updated[stamp] = Value::String(ctx.req.now.clone());
        }
    }
    if res.etag {
        updated["@odata.etag"] = Value::String(etag(ctx.sim));
    }
    store_item(ctx, res, updated.clone());
    if let Some(a) = res.audit {
        if !modified.is_empty() {
            let mut target = (a.target)(ctx.t, &updated);
            target["modifiedProperties"] = Value::Array(modified);
            ctx.audit(a.update, a.category, "Update", vec![target]);
        }
    }
    Ok(match res.update_reply {
        UpdateReply::NoContent => Reply::empty(204),
        UpdateReply::Object => entity(ctx, res, 200, updated),
    })
}

fn replace(ctx: &mut Ctx<'_, '_>, res: &Resource, key: &str) -> Answer {
    let current = current(ctx, res, key)?;
    let mut body = ctx.req.object()?;
    body.insert("id".into(), current["id"].clone());
    if let Some(stamp) = res.created {
        if let Some(v) = current.get(stamp) {
            body.insert(stamp.into(), v.clone());
        }
    }
    if let Some(stamp) = res.modified {
        body.insert(stamp.into(), Value::String(ctx.req.now.clone()));
    }
    if res.etag {
        body.insert("@odata.etag".into(), Value::String(etag(ctx.sim)));
    }
    store_item(ctx, res, Value::Object(body));
    Ok(Reply::empty(204))
}

fn delete(ctx: &mut Ctx<'_, '_>, res: &Resource, key: &str) -> Answer {
    let current = current_matching(ctx, res, key)?;
    if let Some(hook) = res.hooks.before_delete {
        hook(ctx, &current)?;
    }
    let target = res.audit.map(|a| (a.target)(ctx.t, &current));
    let soft = match res.deletion {
        Deletion::Hard => false,
        Deletion::Soft => true,
        Deletion::SoftIf(f) => f(&current),
    };
    let id = id_of(&current);
    let now = ctx.req.now.clone();
    let coll = store_mut(ctx.t, res.area).get_mut(res.path);
    if soft {
        coll.soft_delete(&id, &now);
    } else {
        coll.remove(&id);
    }
    if let (Some(a), Some(target)) = (res.audit, target) {
        ctx.audit(a.delete, a.category, "Delete", vec![target]);
    }
    if let Some(hook) = res.hooks.after_delete {
        hook(ctx, &current, !soft);
    }
    Ok(Reply::empty(204))
}

// ---- directory/deletedItems: the deleted side of every soft-deleting directory resource

/// Resources whose deleted items `directory/deletedItems` shows.
fn soft_deleting() -> impl Iterator<Item = &'static Resource> {
    super::resource_tables()
        .into_iter()
        .flatten()
        .filter(|r| r.area == Area::Directory && !matches!(r.deletion, Deletion::Hard))
}

fn typed(res: &Resource, item: &Value) -> Value {
    let mut v = item.clone();
    if let Typing::Fixed(t) = res.typing {
        v["@odata.type"] = json!(t);
    }
    v
}

/// The deleted item `key` names, with its resource, or Graph's 404.
fn find_deleted(t: &SimTenant, key: &str) -> Result<(&'static Resource, Value), Reply> {
    soft_deleting()
        .find_map(|res| {
            store(t, res.area)
                .get(res.path)
                .deleted()
                .iter()
                .find(|v| (res.key)(v, key))
                .map(|v| (res, v.clone()))
        })
        .ok_or_else(|| super::not_found(key))
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "directory/deleteditems" => deleted_without_cast,
    GET "directory/deleteditems/{item}" => deleted_get,
    DELETE "directory/deleteditems/{id}" => deleted_purge,
    POST "directory/deleteditems/{id}/restore" => deleted_restore,
];

fn deleted_without_cast(_: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    Err(error(
        400,
        "Request_BadRequest",
        "Listing deleted items needs a type cast: directory/deletedItems/microsoft.graph.user or microsoft.graph.group.",
    ))
}

fn deleted_get(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let key = p.get(0);
    if let Some(ty) = key
        .to_ascii_lowercase()
        .strip_prefix("microsoft.graph.")
        .map(str::to_owned)
    {
        let want = format!("#microsoft.graph.{ty}");
        let res = soft_deleting()
            .find(|r| matches!(r.typing, Typing::Fixed(t) if t.eq_ignore_ascii_case(&want)))
            .ok_or_else(|| {
                error(
                    400,
                    "BadRequest",
                    &format!("Resource not found for the segment 'microsoft.graph.{ty}'."),
                )
            })?;
        let items = store(ctx.t, res.area).get(res.path).deleted().to_vec();
        let entity = format!("directory/deletedItems/{}", &want[1..]);
        return Ok(list_with(ctx.req, items, &entity, res.defaults, res.paging));
    }
    let (res, item) = find_deleted(ctx.t, key)?;
    Ok(Reply::json(
        200,
        with_context(
            project(&typed(res, &item), ctx.req.q("$select"), None),
            ctx.req.version,
            "directory/deletedItems/$entity",
        ),
    ))
}

fn deleted_purge(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let (res, item) = find_deleted(ctx.t, p.get(0))?;
    let target = res.audit.map(|a| (a.target)(ctx.t, &item));
    store_mut(ctx.t, res.area)
        .get_mut(res.path)
        .take_deleted(&id_of(&item));
    if let (Some(a), Some(mut target)) = (res.audit, target) {
        // The target is gone from the directory: keep what the deleted item knew.
        for k in ["displayName", "userPrincipalName"] {
            if let Some(v) = item.get(k) {
                target[k] = v.clone();
            }
        }
        ctx.audit(a.purge, a.category, "Delete", vec![target]);
    }
    if let Some(hook) = res.hooks.after_delete {
        hook(ctx, &item, true);
    }
    Ok(Reply::empty(204))
}

fn deleted_restore(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let (res, mut item) = find_deleted(ctx.t, p.get(0))?;
    // Beta takes `newUserPrincipalName` and `autoReconcileProxyConflict`; v1.0 no body.
    let body = ctx.req.json()?;
    for (name, _) in body.as_object().into_iter().flatten() {
        let known = ["newUserPrincipalName", "autoReconcileProxyConflict"].contains(&name.as_str());
        if !known || ctx.req.version != "beta" {
            return Err(error(
                400,
                "BadRequest",
                &format!("The parameter '{name}' in the request payload is not a valid parameter for the operation 'restore'."),
            ));
        }
    }
    if let Some(upn) = body.get("newUserPrincipalName").and_then(Value::as_str) {
        if item.get("userPrincipalName").is_none() {
            return Err(error(
                400,
                "Request_BadRequest",
                "newUserPrincipalName applies to users only.",
            ));
        }
        item["userPrincipalName"] = json!(upn);
    }
    if let Some(hook) = res.hooks.before_restore {
        hook(ctx, &item)?;
    }
    if let Some(upn) = body.get("newUserPrincipalName") {
        let id = id_of(&item);
        if let Some(stored) = store_mut(ctx.t, res.area)
            .get_mut(res.path)
            .deleted_mut()
            .iter_mut()
            .find(|v| id_of(v) == id)
        {
            stored["userPrincipalName"] = upn.clone();
        }
    }
    let restored = store_mut(ctx.t, res.area)
        .get_mut(res.path)
        .restore(&id_of(&item))
        .cloned()
        .unwrap_or(item);
    if let Some(a) = res.audit {
        let target = (a.target)(ctx.t, &restored);
        ctx.audit(a.restore, a.category, "Restore", vec![target]);
    }
    Ok(Reply::json(
        200,
        with_context(
            typed(res, &restored),
            ctx.req.version,
            "directoryObjects/$entity",
        ),
    ))
}
