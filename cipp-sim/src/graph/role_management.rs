//! Directory role assignments (`roleManagement/directory/roleAssignments`): one
//! `unifiedRoleAssignment` per holder of a built-in directory role, at the tenant scope
//! (`/`), with the holder (a user or a role-assignable group) as `principal` when
//! `$expand=principal` asks for it.

use serde_json::{json, Value};

use super::users::directory_object;
use super::{list, routes, Answer, Ctx, Params, Route};
use crate::state::synthetic_guid;

pub(crate) const ROUTES: &[Route] = routes![
    GET "rolemanagement/directory/roleassignments" => role_assignments,
];

/// Whether `$expand` names `principal` (`principal`, `principal($select=…)`, or one of a
/// comma-separated list).
fn expands_principal(expand: Option<&str>) -> bool {
    expand.is_some_and(|e| {
        e.split(',').any(|p| {
            let p = p.trim();
            let name = p.find('(').map_or(p, |i| &p[..i]);
            name.eq_ignore_ascii_case("principal")
        })
    })
}

fn role_assignments(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let t = &*ctx.t;
    let expand = expands_principal(ctx.req.q("$expand"));
    let mut items = Vec::new();
    for (template, holders) in &t.directory.roles {
        for holder in holders {
            let mut a = json!({
                "id": synthetic_guid(&format!("{}-roleassignment-{template}-{holder}", t.id)),
                "principalId": holder,
                "roleDefinitionId": template,
                "directoryScopeId": "/",
            });
            if expand {
                a["principal"] = directory_object(t, holder).unwrap_or(Value::Null);
            }
            items.push(a);
        }
    }
    Ok(list(
        ctx.req,
        items,
        "roleManagement/directory/roleAssignments",
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::expands_principal;

    #[test]
    fn expand_names_the_principal() {
        assert!(expands_principal(Some("principal")));
        assert!(expands_principal(Some(
            "roleDefinition, Principal($select=id)"
        )));
        assert!(!expands_principal(Some("roleDefinition")));
        assert!(!expands_principal(None));
    }
}
