//! Entra (AAD) and global identity standards.

use std::sync::Arc;

use cipp_graph::settings::GraphSetting;
use serde_json::json;

use crate::standards::model::{Category, Impact, Mode, Standard, StandardMeta};
use crate::standards::read::Read;
use crate::standards::setting::{Field, SettingStandard, Write};
use crate::standards::NoSettings;

/// Every Entra standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    vec![Arc::new(disable_app_creation())]
}

fn disable_app_creation() -> SettingStandard<NoSettings> {
    SettingStandard::new(
        StandardMeta {
            name: "DisableAppCreation",
            category: Category::Entra,
            impact: Impact::Low,
            label: "Disable App creation by users",
            help: "Disables the ability for users to create App registrations in the tenant.",
            tags: &["CISA (MS.AAD.4.1v1)", "EIDSCA.AP10", "Essential 8 (1175)", "NIST CSF 2.0 (PR.AA-05)"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {defaultUserRolePermissions.allowedToCreateApps: false}",
        },
        Read::Graph(GraphSetting::AuthorizationPolicy),
        |_| {
            vec![Field::new(
                "/defaultUserRolePermissions/allowedToCreateApps",
                false,
            )]
        },
        |_, _| {
            Ok(Write::Graph {
                setting: GraphSetting::AuthorizationPolicy,
                body: json!({"defaultUserRolePermissions": {"allowedToCreateApps": false}}),
            })
        },
    )
}
