//! Import of CIPP's stored templates and community template folders (fixtures under
//! `tests/fixtures/import`).

use std::path::{Path, PathBuf};

use cipp_templates::import::{import_dir, import_file, import_str, ImportError, ImportReport};
use cipp_templates::store::{DirTemplateStore, TemplateStore};
use cipp_templates::template::{GroupType, SourceFormat, Template, TemplateKind, TemplateSource};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// The one template a file gives, with its report's warnings.
fn one(relative: &str) -> (Template, Vec<String>) {
    let report = import_file(fixtures().join(relative));
    assert!(report.errors.is_empty(), "{relative}: {:?}", report.errors);
    assert_eq!(report.templates.len(), 1, "{relative}");
    let warnings = report.warnings.iter().map(|w| w.to_string()).collect();
    let template = report.templates.into_iter().next().expect("one template");
    (template, warnings)
}

/// Every string anywhere in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn cipp_conditional_access_template() {
    let (t, warnings) = one("cipp/ca-template.json");
    assert_eq!(t.kind, TemplateKind::ConditionalAccess);
    assert_eq!(
        t.id, "0b5f2c7e-8d6a-4b8e-9c1d-2f3a4b5c6d7e",
        "CIPP's GUID is the id"
    );
    assert_eq!(t.name, "CIPP - Require MFA for admins");
    assert_eq!(t.content_hash, t.compute_hash());
    // Names are kept as given.
    let users = &t.body["conditions"]["users"];
    assert_eq!(users["includeGroups"], json!(["CA - Admins"]));
    assert_eq!(users["excludeGroups"], json!(["CA - Excluded"]));
    assert_eq!(users["excludeUsers"], json!(["Break Glass 1"]));
    assert_eq!(
        t.body["conditions"]["locations"]["excludeLocations"],
        json!(["Office - Head Office"])
    );
    // The body is the policy alone; what it uses is attached.
    for key in ["LocationInfo", "AuthContextInfo", "GUID"] {
        assert!(t.body.get(key).is_none(), "{key} left in the body");
    }
    assert_eq!(
        t.attachments.named_locations.len(),
        1,
        "the null is skipped"
    );
    assert_eq!(
        t.attachments.named_locations[0]["displayName"],
        "Office - Head Office"
    );
    assert_eq!(t.attachments.authentication_contexts.len(), 1);
    assert_eq!(
        t.attachments.authentication_contexts[0]["displayName"],
        "Sensitive actions"
    );
    // Role template ids are portable: no warning for them, nor for anything else here.
    assert!(warnings.is_empty(), "{warnings:?}");
    match &t.source {
        Some(TemplateSource::File { path, format }) => {
            assert!(path.ends_with("cipp/ca-template.json"), "{path}");
            assert_eq!(*format, SourceFormat::Cipp);
        }
        other => panic!("source {other:?}"),
    }
}

#[test]
fn cipp_intune_template_with_rawjson_string() {
    let (t, warnings) = one("cipp/intune-template.json");
    assert_eq!(t.kind, TemplateKind::IntuneSettingsCatalog);
    assert_eq!(t.id, "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    assert_eq!(t.name, "Win - Defender real-time protection");
    assert_eq!(t.description, "Defender AV baseline");
    // RAWJson (a string) became the body object.
    assert!(t.body.is_object());
    assert_eq!(t.body["platforms"], "windows10");
    assert_eq!(t.body["settings"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        t.body["roleScopeTagIds"],
        json!(["0"]),
        "the Default tag is kept"
    );
    // Nested ids are content (the settings' ids, the template reference): kept.
    assert_eq!(t.body["settings"][0]["id"], "0");
    assert!(t.body["templateReference"].get("templateId").is_some());
    // The reusable settings it references travel with it, as CIPP recorded them.
    assert_eq!(t.attachments.reusable_settings.len(), 1);
    assert_eq!(
        t.attachments.reusable_settings[0],
        json!({"displayName": "Approved USB devices",
               "templateId": "9d5c1f0e-1111-4a4a-8b8b-123456789abc",
               "sourceId": "9d5c1f0e-1111-4a4a-8b8b-123456789abc"})
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn cipp_table_row_with_an_intune_template() {
    let (t, warnings) = one("cipp/table-row-intune.json");
    assert_eq!(t.kind, TemplateKind::IntuneDeviceConfiguration);
    assert_eq!(t.id, "c0ffee00-1234-4cde-8f00-000000000001");
    assert_eq!(t.name, "Win - BitLocker");
    assert_eq!(
        t.body["@odata.type"],
        "#microsoft.graph.windows10EndpointProtectionConfiguration"
    );
    assert_eq!(t.body["bitLockerEncryptDevice"], true);
    // The source tenant's id and the server's fields are gone, and the report says so.
    for key in ["id", "lastModifiedDateTime", "version"] {
        assert!(t.body.get(key).is_none(), "{key}");
    }
    assert!(
        warnings
            .iter()
            .any(|w| w
                .contains("removed server-owned properties: id, lastModifiedDateTime, version")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("package tag \"Baseline\"")),
        "{warnings:?}"
    );
    assert!(matches!(
        &t.source,
        Some(TemplateSource::File {
            format: SourceFormat::CippTableRow,
            ..
        })
    ));
}

#[test]
fn cipp_group_template() {
    let (t, warnings) = one("cipp/group-template.json");
    assert_eq!(t.kind, TemplateKind::Group);
    assert_eq!(t.id, "5a5a5a5a-0000-4000-8000-000000000005");
    assert_eq!(t.name, "Dynamic - All Windows devices");
    assert_eq!(
        t.description,
        "Every Windows device, for Intune assignments"
    );
    assert_eq!(t.group_type(), Some(GroupType::Dynamic));
    // CIPP's spellings become one: displayName, description, membershipRules.
    assert_eq!(t.body["displayName"], "Dynamic - All Windows devices");
    assert_eq!(
        t.body["membershipRules"],
        "(device.deviceOSType -eq \"Windows\")"
    );
    assert_eq!(t.body["username"], "alldevices-windows");
    assert!(t.body.get("Displayname").is_none());
    assert!(t.body.get("GUID").is_none());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn community_conditional_access_policy_with_group_names() {
    let (t, warnings) = one("community/ConditionalAccess/CA001-Require-MFA-All-Users.json");
    assert_eq!(t.kind, TemplateKind::ConditionalAccess);
    assert_eq!(t.name, "CA001 - Require MFA - All users");
    assert_eq!(
        t.body["conditions"]["users"]["excludeGroups"],
        json!(["CA - Break glass", "CA - Exclusions"])
    );
    // The exported policy's id, timestamps, context and nulls are gone; @odata.type stays.
    for key in [
        "id",
        "createdDateTime",
        "modifiedDateTime",
        "@odata.context",
        "sessionControls",
    ] {
        assert!(t.body.get(key).is_none(), "{key}");
    }
    assert_eq!(
        t.body["@odata.type"],
        "#microsoft.graph.conditionalAccessPolicy"
    );
    let mut all = Vec::new();
    strings(&serde_json::to_value(&t).expect("json"), &mut all);
    assert!(
        !all.iter()
            .any(|s| s.contains("7e4b1c2d-9a8f-4e6d-b5c4-3a2b1c0d9e8f")),
        "the source tenant's policy id survived"
    );
    // No GUID in the file: a stable id derived from its path.
    assert!(uuid::Uuid::parse_str(&t.id).is_ok());
    let (again, _) = one("community/ConditionalAccess/CA001-Require-MFA-All-Users.json");
    assert_eq!(again.id, t.id);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("@odata.context, createdDateTime, id")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("object id")),
        "{warnings:?}"
    );
}

#[test]
fn community_policy_holding_source_tenant_ids_is_kept_and_reported() {
    let (t, warnings) = one("community/ConditionalAccess/CA002-Block-Legacy-Auth.json");
    // Nothing is rewritten or invented.
    assert_eq!(
        t.body["conditions"]["users"]["excludeGroups"],
        json!(["3c6d9a0e-7f41-4b52-9d8e-0a1b2c3d4e5f"])
    );
    assert_eq!(t.body["_notes"], "exported from the baseline tenant");
    let id_warnings: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("object id of the tenant"))
        .collect();
    assert_eq!(id_warnings.len(), 1, "{warnings:?}");
    assert!(id_warnings[0].contains("excludeGroups"));
    assert!(id_warnings[0].contains("3c6d9a0e-7f41-4b52-9d8e-0a1b2c3d4e5f"));
    // The nil id is the well-known trusted-IPs location: no warning.
    assert!(!warnings.iter().any(|w| w.contains("00000000-0000")));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"_notes\" is not a Conditional Access")),
        "{warnings:?}"
    );
}

#[test]
fn community_group_with_the_repository_s_own_keys() {
    let (t, warnings) = one("community/Groups/CA-Guests.json");
    assert_eq!(t.kind, TemplateKind::Group);
    assert_eq!(t.name, "CA - Guests");
    assert_eq!(t.group_type(), Some(GroupType::Security));
    assert_eq!(
        t.body["x-repo"]["layer"], "baseline",
        "unknown keys are kept"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"x-repo\" is not a group property")),
        "{warnings:?}"
    );
    assert!(matches!(
        &t.source,
        Some(TemplateSource::File {
            format: SourceFormat::Graph,
            ..
        })
    ));
}

#[test]
fn community_transport_rule_parameter_set() {
    let (t, warnings) = one("community/Exchange/Transport/External-Sender-Banner.json");
    assert_eq!(t.kind, TemplateKind::TransportRule);
    assert_eq!(t.name, "External sender banner");
    assert_eq!(
        t.description,
        "Warns recipients that a message came from outside the organisation."
    );
    // The parameter set is the body, as given (variables included).
    assert_eq!(t.body["Name"], "External sender banner");
    assert_eq!(t.body["SentToScope"], "InOrganization");
    assert_eq!(t.body["ExceptIfSenderDomainIs"], json!(["partner.example"]));
    assert!(t.body["ApplyHtmlDisclaimerText"]
        .as_str()
        .is_some_and(|s| s.contains("%tenantname%")));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn transport_rule_read_from_get_transportrule_loses_read_only_properties() {
    let report = import_str(
        r#"{"Name": "Block executables", "Identity": "Block executables",
            "Guid": "1a2b3c4d-0000-4000-8000-000000000000", "WhenChanged": "2024-01-01",
            "AttachmentHasExecutableContent": true, "DeleteMessage": true,
            "State": "Enabled", "Priority": 2, "MyOwnTag": "x"}"#,
        "rules/block-exe.json",
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let t = &report.templates[0];
    assert_eq!(t.kind, TemplateKind::TransportRule);
    for key in ["Identity", "Guid", "WhenChanged"] {
        assert!(t.body.get(key).is_none(), "{key}");
    }
    assert_eq!(t.body["MyOwnTag"], "x");
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(warnings
        .iter()
        .any(|w| w.contains("removed read-only properties")));
    assert!(warnings
        .iter()
        .any(|w| w.contains("\"MyOwnTag\" is not a New-TransportRule parameter")));
    assert!(warnings[0].starts_with("rules/block-exe.json (Block executables): "));
}

#[test]
fn other_cipp_shapes() {
    // CIPP's transport template as stored (lowercase name/comments) in a table row.
    let row = json!({
        "PartitionKey": "TransportTemplate",
        "RowKey": "0e0e0e0e-1111-4222-8333-444444444444",
        "JSON": serde_json::to_string(&json!({
            "name": "Quarantine macros", "comments": "From CIPP",
            "AttachmentExtensionMatchesWords": ["docm", "xlsm"], "Quarantine": true
        })).expect("json")
    });
    let report = import_str(&row.to_string(), "row.json");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let t = &report.templates[0];
    assert_eq!(t.kind, TemplateKind::TransportRule);
    assert_eq!(t.id, "0e0e0e0e-1111-4222-8333-444444444444");
    assert_eq!(t.name, "Quarantine macros");
    assert_eq!(t.description, "From CIPP");

    // A PowerShellCommand body.
    let cmd = json!({"PowerShellCommand": "{\"Name\":\"Stamp header\",\"SetHeaderName\":\"X-Stamp\",\"SetHeaderValue\":\"1\"}"});
    let report = import_str(&cmd.to_string(), "cmd.json");
    assert_eq!(report.templates[0].kind, TemplateKind::TransportRule);
    assert_eq!(report.templates[0].name, "Stamp header");

    // An anti-spam parameter set.
    let (t, _) = one("community/Exchange/AntiSpam/Standard.json");
    assert_eq!(t.kind, TemplateKind::SpamFilter);
    assert_eq!(t.name, "Standard anti-spam");

    // User defaults: the plain-text password is reported.
    let report = import_str(
        &json!({"templateName": "Sales starter", "usageLocation": "NL", "password": "Welcome1!",
                "licenses": [], "GUID": "9a9a9a9a-0000-4000-8000-000000000000"})
        .to_string(),
        "user.json",
    );
    let t = &report.templates[0];
    assert_eq!(t.kind, TemplateKind::UserDefaults);
    assert_eq!(t.id, "9a9a9a9a-0000-4000-8000-000000000000");
    assert!(report
        .warnings
        .iter()
        .any(|w| w.message.contains("password in plain text")));

    // A table row of a type not modelled yet is kept as an open kind.
    let row = json!({
        "PartitionKey": "TenantAllowBlockListTemplate",
        "RowKey": "abab0000-0000-4000-8000-000000000000",
        "JSON": "{\"templateName\":\"Allow partner\",\"entries\":[\"partner.example\"],\"listType\":\"Sender\"}"
    });
    let report = import_str(&row.to_string(), "tabl.json");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.templates[0].kind,
        TemplateKind::Other("TenantAllowBlockListTemplate".into())
    );
    assert_eq!(
        report.templates[0].body["entries"],
        json!(["partner.example"])
    );

    // A settings-catalog policy straight from Graph (CIPP's capture keeps no @odata.type).
    let report = import_str(
        r#"{"name": "macOS - FileVault", "description": "", "platforms": "macOS",
            "technologies": "mdm,appleRemoteManagement", "settings": []}"#,
        "fv.json",
    );
    assert_eq!(
        report.templates[0].kind,
        TemplateKind::IntuneSettingsCatalog
    );
    assert_eq!(report.templates[0].name, "macOS - FileVault");

    // CIPP's reusable-setting template (same wrapper, no Type) in its table row.
    let inner = json!({
        "DisplayName": "Approved USB devices",
        "Description": "Vendor/product ids",
        "RawJSON": serde_json::to_string(&json!({
            "settingDefinitionId": "device_vendor_msft_defender_configuration_devicecontrol_policygroups_{groupid}",
            "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance"}
        })).expect("json"),
        "GUID": "9d5c1f0e-1111-4a4a-8b8b-123456789abc"
    });
    let row = json!({
        "PartitionKey": "IntuneReusableSettingTemplate",
        "RowKey": "9d5c1f0e-1111-4a4a-8b8b-123456789abc",
        "DisplayName": "Approved USB devices",
        "JSON": inner.to_string()
    });
    let report = import_str(&row.to_string(), "reusable.json");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let t = &report.templates[0];
    assert_eq!(t.kind, TemplateKind::IntuneReusableSetting);
    assert_eq!(t.name, "Approved USB devices");
    assert_eq!(t.id, "9d5c1f0e-1111-4a4a-8b8b-123456789abc");
    assert!(t.body.get("settingInstance").is_some());

    // An administrative template as CIPP captures it (an updateDefinitionValues payload).
    let admx = json!({
        "Displayname": "Edge - Homepage", "Description": "", "Type": "Admin",
        "RAWJson": serde_json::to_string(&json!({"added": [{
            "definition@odata.bind": "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('0b1c2d3e-0000-4000-8000-000000000000')",
            "enabled": true, "presentationValues": []}], "updated": [], "deletedIds": []})).expect("json")
    });
    let report = import_str(&admx.to_string(), "admx.json");
    assert_eq!(
        report.templates[0].kind,
        TemplateKind::IntuneAdministrativeTemplate
    );
    assert_eq!(report.templates[0].body["added"][0]["enabled"], json!(true));

    // CA: location ids resolved from the file's own LocationInfo.
    let report = import_str(
        &json!({
            "displayName": "Block outside allowed countries",
            "conditions": {"locations": {"includeLocations": ["All"],
                                         "excludeLocations": ["5f5f5f5f-0000-4000-8000-000000000000"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]},
            "LocationInfo": {"id": "5f5f5f5f-0000-4000-8000-000000000000",
                             "displayName": "Allowed countries",
                             "@odata.type": "#microsoft.graph.countryNamedLocation",
                             "countriesAndRegions": ["NL", "BE"]}
        })
        .to_string(),
        "ca.json",
    );
    let t = &report.templates[0];
    assert_eq!(
        t.body["conditions"]["locations"]["excludeLocations"],
        json!(["Allowed countries"])
    );
    assert!(t.attachments.named_locations[0].get("id").is_none());
    assert!(!report
        .warnings
        .iter()
        .any(|w| w.message.contains("object id of the tenant")));
}

#[test]
fn junk_files_are_errors_naming_the_file() {
    let dir = fixtures().join("junk");
    let report = import_dir(&dir).expect("import");
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    // mixed-array.json: elements 0 and 1 are not objects; element 2 is a group.
    assert_eq!(report.templates.len(), 1, "{errors:?}");
    let g = &report.templates[0];
    assert_eq!(g.kind, TemplateKind::Group);
    assert_eq!(g.name, "From an array");
    assert!(
        g.body.get("members@odata.bind").is_none(),
        "members (ids of the source tenant) are not part of a group template"
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors[0].contains("mixed-array.json [0]: not a template"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("mixed-array.json [1]: not a template"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].contains("package.json: not a template"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].contains("truncated.json: not JSON"),
        "{}",
        errors[3]
    );
    assert!(matches!(report.errors[3], ImportError::NotJson { .. }));
    for e in &report.errors {
        assert!(e.path().starts_with(&dir));
    }

    // Text that is not JSON at all, and JSON that is no template.
    for (text, expect) in [
        ("hello", "not JSON"),
        ("42", "not a template"),
        ("{}", "not a template"),
        ("[]", "not a template"),
        (
            "{\"RAWJson\": \"{not json\", \"Type\": \"Catalog\", \"Displayname\": \"x\"}",
            "RAWJson is not JSON",
        ),
        (
            "{\"RAWJson\": \"{}\", \"Type\": \"Nonsense\", \"Displayname\": \"x\"}",
            "not an Intune template type",
        ),
        (
            "{\"PartitionKey\": \"CATemplate\", \"JSON\": \"[1]\"}",
            "not a JSON object",
        ),
        (
            "{\"conditions\": {}, \"grantControls\": {}}",
            "without a displayName",
        ),
    ] {
        let report = import_str(text, "x.json");
        assert!(report.templates.is_empty(), "{text}");
        let message = report
            .errors
            .first()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("x.json"), "{message}");
        assert!(message.contains(expect), "{text}: {message}");
    }
}

fn summary(report: &ImportReport) -> Vec<(String, String, String)> {
    report
        .templates
        .iter()
        .map(|t| (t.kind.to_string(), t.name.clone(), t.id.clone()))
        .collect()
}

#[tokio::test]
async fn importing_a_folder_is_deterministic_and_stores_without_new_versions() {
    let root = fixtures();
    let report = import_dir(&root).expect("import");
    let kinds: Vec<String> = report
        .templates
        .iter()
        .map(|t| t.kind.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "conditionalAccess",         // cipp/ca-template.json
            "group",                     // cipp/group-template.json
            "intuneSettingsCatalog",     // cipp/intune-template.json
            "intuneDeviceConfiguration", // cipp/table-row-intune.json
            "conditionalAccess",         // community/ConditionalAccess/CA001…
            "conditionalAccess",         // community/ConditionalAccess/CA002…
            "spamFilter",                // community/Exchange/AntiSpam
            "transportRule",             // community/Exchange/Transport
            "group",                     // community/Groups
            "group",                     // junk/mixed-array.json [2]
        ]
    );
    assert_eq!(report.errors.len(), 4);
    assert_eq!(report.skipped, [root.join("community/README.md")]);
    // Sources are relative to the folder, with '/'.
    assert!(matches!(
        &report.templates[4].source,
        Some(TemplateSource::File { path, .. })
            if path == "community/ConditionalAccess/CA001-Require-MFA-All-Users.json"
    ));
    // Same folder, same result.
    let again = import_dir(&root).expect("import");
    assert_eq!(summary(&again), summary(&report));
    let hashes = |r: &ImportReport| -> Vec<String> {
        r.templates.iter().map(|t| t.content_hash.clone()).collect()
    };
    assert_eq!(hashes(&again), hashes(&report));

    // Stored, then imported and stored again: nothing changes.
    let dir = std::env::temp_dir().join(format!(
        "cipp-templates-import-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let store = DirTemplateStore::open(&dir).expect("open");
    for t in report.templates {
        assert_eq!(store.put(t).await.expect("put").version, 1);
    }
    for t in again.templates {
        assert_eq!(store.put(t).await.expect("put").version, 1);
    }
    let listed = store.list(None).await.expect("list");
    assert_eq!(listed.templates.len(), 10);
    assert!(listed.unreadable.is_empty());
    // The store's own files import as themselves.
    let own = import_dir(&dir).expect("import");
    assert!(own.errors.is_empty(), "{:?}", own.errors);
    assert_eq!(own.templates.len(), 10);
    for t in &own.templates {
        let stored = store.get(&t.id).await.expect("get").expect("stored");
        assert_eq!(t.content_hash, stored.content_hash);
        assert!(matches!(
            &t.source,
            Some(TemplateSource::File {
                format: SourceFormat::CippRs,
                ..
            })
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let missing = fixtures().join("no-such-folder");
    let err = import_dir(&missing).expect_err("missing");
    assert!(err.to_string().contains("no-such-folder"), "{err}");
}
