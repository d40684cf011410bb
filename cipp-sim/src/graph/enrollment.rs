//! Collections the SDK has no typed handler for, served with standard semantics so that
//! templates of open kinds (raw JSON to a named Graph collection, `cipp_graph::collections`)
//! can be deployed and verified on the simulator as on a real tenant.
//!
//! - `deviceManagement/deviceEnrollmentConfigurations` (Intune enrollment limits, platform
//!   restrictions, Windows Hello, enrollment status pages): polymorphic — a create must name
//!   its `#microsoft.graph.*` type, as Graph requires for this abstract entity — with a
//!   required `displayName`; a new configuration gets `version` 1 and the default scope
//!   tag (`roleScopeTagIds: ["0"]`) when none is given, and each change bumps `version`.

use serde_json::{json, Map, Value};

use super::collection::{Hooks, Resource, Typing, NO_REPLACE_OPS};
use super::{error, Ctx};
use crate::state::Area;
use crate::Reply;

fn enrollment_not_found(_: &str) -> Reply {
    error(
        404,
        "ResourceNotFound",
        "The enrollment configuration was not found.",
    )
}

fn before_create(_: &mut Ctx<'_, '_>, p: &mut Map<String, Value>) -> Result<(), Reply> {
    let named = p
        .get("displayName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.trim().is_empty());
    if !named {
        return Err(error(
            400,
            "BadRequest",
            "The displayName of the enrollment configuration is required.",
        ));
    }
    p.insert("version".into(), json!(1));
    p.entry("roleScopeTagIds").or_insert_with(|| json!(["0"]));
    Ok(())
}

fn before_update(
    _: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    if changes
        .get("displayName")
        .is_some_and(|n| n.as_str().is_none_or(|n| n.trim().is_empty()))
    {
        return Err(error(
            400,
            "BadRequest",
            "The displayName of the enrollment configuration cannot be empty.",
        ));
    }
    let version = current["version"].as_i64().unwrap_or(1);
    changes.insert("version".into(), json!(version.saturating_add(1)));
    Ok(())
}

pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: "devicemanagement/deviceenrollmentconfigurations",
    entity: "deviceManagement/deviceEnrollmentConfigurations",
    area: Area::Intune,
    noun: "Enrollment configuration",
    ops: NO_REPLACE_OPS,
    typing: Typing::Polymorphic,
    not_found: enrollment_not_found,
    hooks: Hooks {
        before_create: Some(before_create),
        before_update: Some(before_update),
        ..Hooks::NONE
    },
    ..Resource::STANDARD
}];
