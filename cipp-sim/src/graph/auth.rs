//! Authentication methods: listing, Temporary Access Passes (policy-checked, one usable
//! pass), removal, password writeback resets, per-user MFA and the registration report.

use serde_json::{json, Value};

use super::{error, list, routes, Answer, Ctx, Params, Route};
use crate::state::synthetic_guid;
use crate::Reply;

const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

pub(crate) const ROUTES: &[Route] = routes![
    GET "users/{id}/authentication/methods" => list_methods,
    POST "users/{id}/authentication/methods/{method}/resetpassword" => reset_password,
    POST "users/{id}/authentication/temporaryaccesspassmethods" => create_tap,
    DELETE "users/{id}/authentication/{kind}/{method}" => delete_method,
    GET "users/{id}/authentication/requirements" => get_requirements,
    PATCH "users/{id}/authentication/requirements" => set_requirements,
    GET "policies/authenticationmethodspolicy/authenticationmethodconfigurations/temporaryaccesspass" => tap_policy,
    GET "reports/authenticationmethods/userregistrationdetails" => registration_details,
];

fn list_methods(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let mut items = vec![
        json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PASSWORD_METHOD_ID, "password": null}),
    ];
    items.extend(ctx.t.auth.methods.get(&uid).cloned().unwrap_or_default());
    Ok(list(ctx.req, items, "users/authentication/methods", None))
}

fn method_not_found(id: &str) -> Reply {
    error(
        404,
        "itemNotFound",
        &format!("The authentication method {id} was not found."),
    )
}

/// Password writeback reset for a synchronised user: 202 with a `Location` to poll.
fn reset_password(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    if !p.get(1).eq_ignore_ascii_case(PASSWORD_METHOD_ID) {
        return Err(method_not_found(p.get(1)));
    }
    let user = ctx.user(p.get(0))?.clone();
    let b = ctx.req.json()?;
    if b["newPassword"].as_str().is_none_or(str::is_empty) {
        return Err(error(400, "badRequest", "newPassword is required."));
    }
    if user["onPremisesSyncEnabled"] != json!(true) {
        return Err(error(400, "badRequest", "Password writeback is only for users synchronised from on-premises; reset cloud users through passwordProfile."));
    }
    let uid = user["id"].as_str().unwrap_or_default();
    ctx.audit_user("Reset user password", "Update", uid);
    let mut r = Reply::empty(202);
    r.headers.push((
        "location",
        format!(
            "https://graph.microsoft.com/beta/users/{uid}/authentication/operations/{}",
            synthetic_guid(&ctx.req.now)
        ),
    ));
    Ok(r)
}

fn create_tap(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let b = ctx.req.json()?;
    let policy = ctx.t.auth.tap_policy.clone();
    if policy["state"] != json!("enabled") {
        return Err(error(
            400,
            "badRequest",
            "The Temporary Access Pass authentication method is disabled by policy for this user.",
        ));
    }
    let lifetime = b["lifetimeInMinutes"]
        .as_u64()
        .unwrap_or(policy["defaultLifetimeInMinutes"].as_u64().unwrap_or(60));
    let (min, max) = (
        policy["minimumLifetimeInMinutes"].as_u64().unwrap_or(10),
        policy["maximumLifetimeInMinutes"].as_u64().unwrap_or(43200),
    );
    if !(10..=43200).contains(&lifetime) || lifetime < min || lifetime > max {
        return Err(error(
            400,
            "badRequest",
            &format!("lifetimeInMinutes must be between {min} and {max}."),
        ));
    }
    let once = b["isUsableOnce"]
        .as_bool()
        .unwrap_or(policy["isUsableOnce"].as_bool().unwrap_or(false));
    if policy["isUsableOnce"] == json!(true) && !once {
        return Err(error(
            400,
            "badRequest",
            "Policy requires Temporary Access Pass to be usable once.",
        ));
    }
    let now = ctx.req.now.clone();
    let id = synthetic_guid(&format!("tap-{uid}-{now}-{}", ctx.sim.next_n()));
    let pass = format!("Sim{}", &synthetic_guid(&id)[..8]);
    let start = b["startDateTime"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(now.clone());
    let stored = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": id,
        "createdDateTime": now, "startDateTime": start, "lifetimeInMinutes": lifetime, "isUsableOnce": once,
        "isUsable": true, "methodUsabilityReason": "EnabledByPolicy"});
    let methods = ctx.t.auth.methods.entry(uid.clone()).or_default();
    methods.retain(|m| {
        m["@odata.type"] != json!("#microsoft.graph.temporaryAccessPassAuthenticationMethod")
    });
    methods.push(stored.clone());
    ctx.audit_user("Admin registered security info", "Add", &uid);
    let mut out = stored;
    out["temporaryAccessPass"] = json!(pass);
    Ok(Reply::json(201, out))
}

/// `DELETE users/{id}/authentication/{kind}Methods/{id}`.
fn delete_method(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let kind = p.get(1).to_ascii_lowercase();
    let Some(kind) = kind.strip_suffix("methods").filter(|k| !k.is_empty()) else {
        return Err(error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", p.get(1)),
        ));
    };
    let uid = ctx.user_id(p.get(0))?;
    let want = format!("#microsoft.graph.{kind}AuthenticationMethod");
    let id = p.get(2);
    let methods = ctx.t.auth.methods.entry(uid.clone()).or_default();
    let pos = methods
        .iter()
        .position(|m| {
            m["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))
                && m["@odata.type"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&want))
        })
        .ok_or_else(|| method_not_found(id))?;
    methods.remove(pos);
    ctx.audit_user("Admin deleted security info", "Delete", &uid);
    Ok(Reply::empty(204))
}

fn get_requirements(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let stored = ctx.t.auth.per_user_mfa.get(&uid).cloned();
    let state = stored.unwrap_or_else(|| "disabled".into());
    Ok(Reply::json(200, json!({ "perUserMfaState": state })))
}

fn set_requirements(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let b = ctx.req.json()?;
    match b["perUserMfaState"].as_str().map(str::to_ascii_lowercase) {
        Some(s) if ["disabled", "enabled", "enforced"].contains(&s.as_str()) => {
            ctx.t.auth.per_user_mfa.insert(uid, s);
            Ok(Reply::empty(204))
        }
        _ => Err(error(
            400,
            "badRequest",
            "perUserMfaState must be disabled, enabled or enforced.",
        )),
    }
}

fn tap_policy(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    Ok(Reply::json(200, ctx.t.auth.tap_policy.clone()))
}

fn registration_details(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    if ctx.req.q("$top").is_some() || ctx.req.q("$select").is_some() {
        return Err(error(
            400,
            "BadRequest",
            "Only $filter and $orderby are supported on userRegistrationDetails.",
        ));
    }
    let now = ctx.req.now.clone();
    let t = &*ctx.t;
    let items: Vec<Value> = t
        .users()
        .iter()
        .map(|u| {
            let uid = u["id"].as_str().unwrap_or_default();
            let methods: Vec<String> = t
                .auth
                .methods
                .get(uid)
                .map(|ms| {
                    ms.iter()
                        .filter_map(|m| m["@odata.type"].as_str())
                        .filter(|m| !m.contains("temporaryAccessPass"))
                        .map(|m| {
                            m.trim_start_matches("#microsoft.graph.")
                                .trim_end_matches("AuthenticationMethod")
                                .to_owned()
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({"id": uid, "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["displayName"],
                "isAdmin": super::directory_roles::is_admin(t, uid), "isMfaRegistered": !methods.is_empty(), "isMfaCapable": !methods.is_empty(),
                "isSsprRegistered": !methods.is_empty(), "methodsRegistered": methods,
                "userPreferredMethodForSecondaryAuthentication": "",
                "userType": u["userType"].as_str().unwrap_or("Member").to_ascii_lowercase(),
                "lastUpdatedDateTime": now})
        })
        .collect();
    Ok(list(
        ctx.req,
        items,
        "reports/authenticationMethods/userRegistrationDetails",
        None,
    ))
}
