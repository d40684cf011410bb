//! Intune per tenant: policies of every kind the SDK handles, kept as sent (polymorphic
//! by `@odata.type`), with assignments, settings-catalog settings and the Apple tokens.

use serde_json::{json, Value};

use super::{error, list, GraphRequest};
use crate::state::synthetic_guid;
use crate::{Reply, Sim};

/// Collections (lower-case path after the version) and whether they are polymorphic.
const COLLECTIONS: &[(&str, bool)] = &[
    ("devicemanagement/deviceconfigurations", true),
    ("devicemanagement/configurationpolicies", false),
    ("devicemanagement/devicecompliancepolicies", true),
    ("devicemanagement/grouppolicyconfigurations", false),
    ("deviceappmanagement/iosmanagedappprotections", false),
    ("deviceappmanagement/androidmanagedappprotections", false),
    ("deviceappmanagement/mobileappconfigurations", true),
    ("devicemanagement/windowsfeatureupdateprofiles", false),
    ("devicemanagement/assignmentfilters", false),
];

fn body(req: &GraphRequest<'_>) -> Result<Value, Reply> {
    serde_json::from_slice(req.body).map_err(|e| {
        error(
            400,
            "BadRequest",
            &format!("Unable to read JSON request payload. ({e})"),
        )
    })
}

/// Routes Intune paths; `None` for others.
pub(crate) fn route(sim: &Sim, req: &GraphRequest<'_>) -> Option<Reply> {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if segs.len() < 2 || !matches!(segs[0].as_str(), "devicemanagement" | "deviceappmanagement") {
        return None;
    }
    let key = format!("{}/{}", segs[0], segs[1]);
    let m = req.method.as_str();
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(&req.tenant) else {
        return Some(error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ));
    };
    if key == "devicemanagement/applepushnotificationcertificate" && m == "GET" {
        return Some(match t.intune.get(&key).and_then(|v| v.first()) {
            // A singleton is the top-level object (the documented sample's `value` wrapper
            // is a documentation artefact: Microsoft's SDKs read it as an empty entity).
            Some(c) => Reply::json(
                200,
                super::with_context(
                    c.clone(),
                    req.version,
                    "deviceManagement/applePushNotificationCertificate/$entity",
                ),
            ),
            None => error(
                404,
                "ResourceNotFound",
                "No Apple push notification certificate is configured.",
            ),
        });
    }
    if matches!(
        key.as_str(),
        "deviceappmanagement/vpptokens" | "devicemanagement/deponboardingsettings"
    ) && m == "GET"
    {
        let items = t.intune.get(&key).cloned().unwrap_or_default();
        drop(state);
        return Some(list(req, items, &key, None));
    }
    let &(_, polymorphic) = COLLECTIONS.iter().find(|(c, _)| *c == key)?;
    let id = req.segments.get(2).cloned();
    let find = |items: &[Value], id: &str| {
        items
            .iter()
            .position(|p| p["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
    };
    let not_found = || error(404, "ResourceNotFound", "The Intune object was not found.");
    let reply = match (m, segs.len()) {
        ("GET", 2) => {
            let items = t.intune.get(&key).cloned().unwrap_or_default();
            drop(state);
            list(req, items, &key, None)
        }
        ("POST", 2) => {
            let mut p = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if polymorphic
                && p["@odata.type"]
                    .as_str()
                    .is_none_or(|s| !s.starts_with("#microsoft.graph."))
            {
                return Some(error(
                    400,
                    "BadRequest",
                    "A type must be specified with @odata.type for this abstract entity.",
                ));
            }
            let named = p["displayName"]
                .as_str()
                .or(p["name"].as_str())
                .is_some_and(|n| !n.is_empty());
            if !named {
                return Some(error(
                    400,
                    "BadRequest",
                    "The name of the policy is required.",
                ));
            }
            if key == "devicemanagement/devicecompliancepolicies"
                && !p["scheduledActionsForRule"].is_array()
            {
                return Some(error(
                    400,
                    "BadRequest",
                    "ScheduledActionsForRule is required for compliance policies.",
                ));
            }
            p["id"] = json!(synthetic_guid(&format!("intune{}", sim.next_n())));
            p["createdDateTime"] = json!(req.now);
            p["lastModifiedDateTime"] = json!(req.now);
            p.as_object_mut()
                .map(|o| o.remove("scheduledActionsForRule"));
            t.intune.entry(key.clone()).or_default().push(p.clone());
            Reply::json(201, p)
        }
        ("GET", 3) => {
            let items = t.intune.entry(key.clone()).or_default();
            match id.as_deref().and_then(|i| find(items, i)) {
                Some(i) => Reply::json(200, items[i].clone()),
                None => not_found(),
            }
        }
        ("PATCH" | "PUT", 3) => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let items = t.intune.entry(key.clone()).or_default();
            let Some(i) = id.as_deref().and_then(|i| find(items, i)) else {
                return Some(not_found());
            };
            if m == "PUT" {
                let keep = items[i]["id"].clone();
                items[i] = b;
                items[i]["id"] = keep;
            } else {
                if polymorphic
                    && b["@odata.type"].is_string()
                    && b["@odata.type"] != items[i]["@odata.type"]
                {
                    return Some(error(
                        400,
                        "BadRequest",
                        "The @odata.type of an Intune object cannot change.",
                    ));
                }
                for (k, v) in b.as_object().into_iter().flatten() {
                    items[i][k.as_str()] = v.clone();
                }
            }
            items[i]["lastModifiedDateTime"] = json!(req.now);
            Reply::empty(204)
        }
        ("DELETE", 3) => {
            let items = t.intune.entry(key.clone()).or_default();
            match id.as_deref().and_then(|i| find(items, i)) {
                Some(i) => {
                    items.remove(i);
                    Reply::empty(204)
                }
                None => not_found(),
            }
        }
        (_, 4) => {
            let id = id.unwrap_or_default();
            let exists = t
                .intune
                .get(&key)
                .is_some_and(|items| find(items, &id).is_some());
            if !exists {
                return Some(not_found());
            }
            match (m, segs[3].as_str()) {
                ("POST", "assign") => {
                    if key == "devicemanagement/assignmentfilters" {
                        return Some(error(
                            400,
                            "BadRequest",
                            "Assignment filters cannot be assigned.",
                        ));
                    }
                    let b = match body(req) {
                        Ok(b) => b,
                        Err(r) => return Some(r),
                    };
                    let Some(list) = b["assignments"].as_array() else {
                        return Some(error(400, "BadRequest", "The assignments are required."));
                    };
                    let stored: Vec<Value> = list
                        .iter()
                        .map(|a| {
                            let mut a = a.clone();
                            a["id"] = json!(synthetic_guid(&format!("asg{}", sim.next_n())));
                            a
                        })
                        .collect();
                    t.intune_assignments
                        .insert(id.to_ascii_lowercase(), stored.clone());
                    Reply::json(200, json!({"value": stored}))
                }
                ("GET", "assignments") => {
                    let items = t
                        .intune_assignments
                        .get(&id.to_ascii_lowercase())
                        .cloned()
                        .unwrap_or_default();
                    drop(state);
                    list(req, items, "assignments", None)
                }
                ("GET", "settings") if key == "devicemanagement/configurationpolicies" => {
                    let items = t
                        .intune
                        .get(&key)
                        .and_then(|items| find(items, &id).map(|i| items[i]["settings"].clone()))
                        .and_then(|s| s.as_array().cloned())
                        .unwrap_or_default();
                    drop(state);
                    list(req, items, "settings", None)
                }
                _ => error(400, "BadRequest", "Resource not found for the segment."),
            }
        }
        _ => error(400, "BadRequest", "Resource not found for the segment."),
    };
    Some(reply)
}
