//! Entra ID devices (`/devices`): the directory's registered and joined devices, listed
//! with every OData option, created, updated (`accountEnabled` to disable one) and deleted
//! for good (devices have no recycle bin); writes are audited as Entra ID writes them.

use serde_json::{json, Value};

use super::collection::{Audited, Resource, Typing, NO_REPLACE_OPS};
use crate::state::{Area, SimTenant};

fn device_target(_: &SimTenant, d: &Value) -> Value {
    json!({"id": d["id"], "displayName": d["displayName"], "type": "Device", "modifiedProperties": []})
}

pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: "devices",
    entity: "devices",
    area: Area::Directory,
    noun: "Device",
    ops: NO_REPLACE_OPS,
    typing: Typing::Fixed("#microsoft.graph.device"),
    created: None,
    modified: None,
    required: &[
        "accountEnabled",
        "alternativeSecurityIds",
        "deviceId",
        "displayName",
        "operatingSystem",
        "operatingSystemVersion",
    ],
    audit: Some(Audited {
        category: "Device",
        add: "Add device",
        update: "Update device",
        delete: "Delete device",
        restore: "Restore device",
        purge: "Delete device",
        target: device_target,
    }),
    ..Resource::STANDARD
}];
