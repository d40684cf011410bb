//! Delta queries: `users/delta` and `groups/delta` with real change tracking.
//!
//! The first query answers every live user (group); its last page carries an
//! `@odata.deltaLink` whose `$deltatoken` names the tenant's snapshot taken then
//! ([`crate::state::DeltaTracker`]), with the `$select` and `$filter` of the first query
//! (later queries send only the token, as with Graph). A query on that link answers what
//! differs between that snapshot and now: users and groups created or whose selected
//! properties changed, removed ones with `"@removed": {"reason": "changed"}` (in the
//! recycle bin) or `"deleted"` (gone for good), and for groups with `members` selected the
//! members added and removed in `members@delta`. Pages follow `Prefer:
//! odata.maxpagesize` (default 100) through `@odata.nextLink`. An expired link answers
//! 400 `syncStateNotFound`; `$filter` is only `id eq '…'` (or several joined by `or`) on
//! groups.

use serde_json::{json, Map, Value};

use super::{error, project, routes, Answer, Ctx, Params, Route};
use crate::state::DeltaSnapshot;

pub(crate) const ROUTES: &[Route] = routes![
    GET "users/delta" => users_delta,
    GET "groups/delta" => groups_delta,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Groups => "groups",
        }
    }
}

/// Where a query stands: the snapshot compared against (`base`; none on a full sync), the
/// snapshot answered (`target`, once the first page was served), the offset in the
/// answer, and the first query's `$select` / `$filter`.
struct Cursor {
    kind: String,
    base: Option<u64>,
    target: Option<u64>,
    offset: usize,
    select: Option<String>,
    filter: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        let v = json!({"k": self.kind, "b": self.base, "t": self.target, "o": self.offset,
                       "s": self.select, "f": self.filter});
        v.to_string().bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(token: &str) -> Option<Cursor> {
        if token.len() % 2 != 0 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
            .collect();
        let v: Value = serde_json::from_slice(&bytes?).ok()?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Cursor {
            kind: text("k")?,
            base: v.get("b").and_then(Value::as_u64),
            target: v.get("t").and_then(Value::as_u64),
            offset: usize::try_from(v.get("o").and_then(Value::as_u64).unwrap_or(0)).ok()?,
            select: text("s"),
            filter: text("f"),
        })
    }
}

fn users_delta(ctx: &mut Ctx<'_, '_>, _p: &Params) -> Answer {
    serve(ctx, Kind::Users)
}

fn groups_delta(ctx: &mut Ctx<'_, '_>, _p: &Params) -> Answer {
    serve(ctx, Kind::Groups)
}

fn expired() -> crate::Reply {
    error(
        400,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    )
}

fn bad_token() -> crate::Reply {
    error(400, "Request_BadRequest", "Invalid delta or skip token.")
}

/// The group ids of `id eq '…' or id eq '…'`.
fn filter_ids(filter: &str) -> Result<Vec<String>, crate::Reply> {
    let mut ids = Vec::new();
    for part in filter.split(" or ") {
        let p = part.trim();
        let id = p
            .strip_prefix("id eq '")
            .and_then(|r| r.strip_suffix('\''))
            .filter(|id| !id.is_empty() && !id.contains('\''));
        match id {
            Some(id) => ids.push(id.to_ascii_lowercase()),
            None => {
                return Err(error(
                    400,
                    "Request_UnsupportedQuery",
                    "Unsupported query: delta supports only $filter=id eq '{id}' (joined by 'or').",
                ))
            }
        }
    }
    if ids.len() > 50 {
        return Err(error(
            400,
            "Request_UnsupportedQuery",
            "Too many ids in the filter: at most 50.",
        ));
    }
    Ok(ids)
}

fn page_size(ctx: &Ctx<'_, '_>) -> usize {
    ctx.req
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .filter(|n| *n > 0)
        .unwrap_or(100)
}

fn serve(ctx: &mut Ctx<'_, '_>, kind: Kind) -> Answer {
    let req = ctx.req;
    let mut cursor = if let Some(tok) = req.q("$deltatoken") {
        let mut c = Cursor::decode(tok).ok_or_else(bad_token)?;
        // A delta link names the snapshot it ended on: compare against it now.
        c.base = c.target.take();
        c.offset = 0;
        c
    } else if let Some(tok) = req.q("$skiptoken") {
        Cursor::decode(tok).ok_or_else(bad_token)?
    } else {
        Cursor {
            kind: kind.name().into(),
            base: None,
            target: None,
            offset: 0,
            select: req.q("$select").map(str::to_owned),
            filter: req.q("$filter").map(str::to_owned),
        }
    };
    if cursor.kind != kind.name() {
        return Err(bad_token());
    }
    let ids = match (&cursor.filter, kind) {
        (None, _) => None,
        (Some(f), Kind::Groups) => Some(filter_ids(f)?),
        (Some(_), Kind::Users) => {
            return Err(error(
                400,
                "Request_UnsupportedQuery",
                "Unsupported query: $filter is not supported on users/delta here.",
            ))
        }
    };
    let base = match cursor.base {
        Some(n) => Some(ctx.t.delta.get(n).cloned().ok_or_else(expired)?),
        None => None,
    };
    let target_n = match cursor.target {
        Some(n) => n,
        None => {
            let now = DeltaSnapshot::of(&ctx.t.directory);
            ctx.t.delta.record(now)
        }
    };
    let target = ctx.t.delta.get(target_n).cloned().ok_or_else(expired)?;
    cursor.target = Some(target_n);
    let select = cursor.select.as_deref();
    let items = match kind {
        Kind::Users => user_changes(base.as_ref(), &target, select),
        Kind::Groups => group_changes(base.as_ref(), &target, select, ids.as_deref()),
    };
    let size = page_size(ctx);
    let page: Vec<Value> = items
        .iter()
        .skip(cursor.offset)
        .take(size)
        .cloned()
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "https://graph.microsoft.com/{}/$metadata#{}",
            req.version,
            kind.name()
        )),
    );
    let link = format!("{}/{}/{}/delta", req.origin, req.version, kind.name());
    let next = cursor.offset.saturating_add(size);
    if next < items.len() {
        cursor.offset = next;
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{link}?$skiptoken={}", cursor.encode())),
        );
    } else {
        let done = Cursor {
            kind: kind.name().into(),
            base: None,
            target: Some(target_n),
            offset: 0,
            select: cursor.select.clone(),
            filter: cursor.filter.clone(),
        };
        body.insert(
            "@odata.deltaLink".into(),
            json!(format!("{link}?$deltatoken={}", done.encode())),
        );
    }
    body.insert("value".into(), Value::Array(page));
    Ok(crate::Reply::json(200, Value::Object(body)))
}

/// The selected properties of an object, `id` always.
fn shown(item: &Value, select: Option<&str>, defaults: &[&str]) -> Value {
    let mut v = project(item, select, Some(defaults));
    if let (Value::Object(m), Some(id)) = (&mut v, item.get("id")) {
        m.insert("id".into(), id.clone());
        m.remove("@odata.etag");
    }
    v
}

fn removed(id: &str, gone_for_good: bool) -> Value {
    json!({"id": id, "@removed": {"reason": if gone_for_good { "deleted" } else { "changed" }}})
}

fn user_changes(
    base: Option<&DeltaSnapshot>,
    now: &DeltaSnapshot,
    select: Option<&str>,
) -> Vec<Value> {
    let defaults = super::users::USER_DEFAULT_PROPS;
    let mut out = Vec::new();
    for (id, user) in &now.users {
        let view = shown(user, select, defaults);
        let before = base.and_then(|b| b.users.get(id));
        if before.is_none_or(|b| shown(b, select, defaults) != view) {
            out.push(view);
        }
    }
    if let Some(b) = base {
        for (id, user) in &b.users {
            if !now.users.contains_key(id) {
                let original = user.get("id").and_then(Value::as_str).unwrap_or(id);
                out.push(removed(original, !now.deleted_users.contains(id)));
            }
        }
    }
    out
}

/// Properties a group delta returns without `$select`.
const GROUP_DEFAULT_PROPS: &[&str] = &[
    "displayName",
    "description",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "members",
];

fn group_changes(
    base: Option<&DeltaSnapshot>,
    now: &DeltaSnapshot,
    select: Option<&str>,
    ids: Option<&[String]>,
) -> Vec<Value> {
    let wanted = |id: &str| ids.is_none_or(|ids| ids.iter().any(|x| x == id));
    let fields: Vec<&str> = match select {
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect(),
        None => GROUP_DEFAULT_PROPS.to_vec(),
    };
    let members_too = fields.iter().any(|f| f.eq_ignore_ascii_case("members"));
    let props: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| !f.eq_ignore_ascii_case("members"))
        .collect();
    let props = props.join(",");
    let view = |g: &Value| shown(g, Some(&props), &[]);
    let empty = Vec::new();
    let mut out = Vec::new();
    for (id, group) in now.groups.iter().filter(|(id, _)| wanted(id)) {
        let before = base.and_then(|b| b.groups.get(id));
        let mut item = view(group);
        let changed = before.is_none_or(|b| view(b) != item);
        let mut delta = Vec::new();
        if members_too {
            let current = now.members.get(id).unwrap_or(&empty);
            let previous = match base {
                Some(b) if before.is_some() => b.members.get(id).unwrap_or(&empty),
                _ => &empty,
            };
            for m in current.iter().filter(|m| !previous.contains(m)) {
                delta.push(json!({"@odata.type": now.type_of(m), "id": m}));
            }
            for m in previous.iter().filter(|m| !current.contains(m)) {
                let t = base.map_or("#microsoft.graph.directoryObject", |b| b.type_of(m));
                delta.push(json!({"@odata.type": t, "id": m, "@removed": {"reason": "deleted"}}));
            }
        }
        if !changed && delta.is_empty() {
            continue;
        }
        if members_too {
            if let Value::Object(m) = &mut item {
                m.insert("members@delta".into(), Value::Array(delta));
            }
        }
        out.push(item);
    }
    if let Some(b) = base {
        for (id, group) in b.groups.iter().filter(|(id, _)| wanted(id)) {
            if !now.groups.contains_key(id) {
                let original = group.get("id").and_then(Value::as_str).unwrap_or(id);
                out.push(removed(original, !now.deleted_groups.contains(id)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            kind: "users".into(),
            base: Some(3),
            target: Some(7),
            offset: 200,
            select: Some("displayName,onPremisesSyncEnabled".into()),
            filter: None,
        };
        let d = Cursor::decode(&c.encode()).unwrap();
        assert_eq!((d.base, d.target, d.offset), (Some(3), Some(7), 200));
        assert_eq!(d.select, c.select);
        for bad in ["", "zz", "abc", "7b7d"] {
            assert!(
                Cursor::decode(bad).is_none_or(|c| c.kind.is_empty()),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_id_filters_are_understood() {
        assert_eq!(
            filter_ids("id eq 'A' or id eq 'b'").ok().unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert!(filter_ids("displayName eq 'x'").is_err());
    }
}
