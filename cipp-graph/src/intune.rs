//! Intune as request values: device configurations, settings-catalog policies (beta),
//! compliance policies (with scheduled actions), administrative templates (beta, with
//! definition values, replaced with `updateDefinitionValues`), app protection and app
//! configuration policies, Windows Information Protection policies (with and without
//! enrollment), Windows feature / quality / driver update profiles and quality
//! update policies (beta), reusable policy settings and assignment filters (beta) — list,
//! get, create, update (PATCH; PUT for the settings catalog; compliance scheduled actions
//! through `scheduleActionsForRules`), delete and assign — plus the plain text of an
//! encrypted OMA-URI setting ([`oma_setting_plain_text_value`]), the Apple push
//! certificate, VPP tokens and DEP settings with their expiry dates.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::intune::{self, AssignTarget, FilterMode, IntuneKind};
//!
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let body = intune::assignments_body(
//!     IntuneKind::CompliancePolicy,
//!     &[AssignTarget::AllUsers, AssignTarget::ExcludeGroup("0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11".into())],
//!     Some(("7b0b0e8a-0000-4000-8000-000000000001", FilterMode::Include)),
//!     &[],
//! )?;
//! assert_eq!(body["assignments"].as_array().unwrap().len(), 2);
//! let op = intune::assign(&t, IntuneKind::CompliancePolicy, "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11", &body)?;
//! assert!(op.request().path().ends_with("/assign"));
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::model::{singleton, ApplePushCertificate, IntunePolicy};
use crate::odata::Query;
use crate::op::{json, unit, GraphOp};
use crate::users::is_guid;

/// The kinds of Intune policy this module handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntuneKind {
    /// `deviceManagement/deviceConfigurations` (v1.0, polymorphic).
    DeviceConfiguration,
    /// `deviceManagement/configurationPolicies` (beta settings catalog; updated with PUT).
    SettingsCatalog,
    /// `deviceManagement/deviceCompliancePolicies` (v1.0, polymorphic, scheduled actions).
    CompliancePolicy,
    /// `deviceManagement/groupPolicyConfigurations` (beta administrative templates).
    AdministrativeTemplate,
    /// `deviceAppManagement/iosManagedAppProtections` (v1.0).
    IosAppProtection,
    /// `deviceAppManagement/androidManagedAppProtections` (v1.0).
    AndroidAppProtection,
    /// `deviceAppManagement/mobileAppConfigurations` (v1.0, managed devices).
    AppConfiguration,
    /// `deviceManagement/windowsFeatureUpdateProfiles` (beta).
    WindowsFeatureUpdate,
    /// `deviceManagement/assignmentFilters` (beta; not assignable).
    AssignmentFilter,
    /// `deviceManagement/windowsDriverUpdateProfiles` (beta).
    WindowsDriverUpdate,
    /// `deviceManagement/windowsQualityUpdateProfiles` (beta).
    WindowsQualityUpdateProfile,
    /// `deviceManagement/windowsQualityUpdatePolicies` (beta).
    WindowsQualityUpdatePolicy,
    /// `deviceManagement/reusablePolicySettings` (beta; referenced by settings-catalog
    /// settings, not assignable).
    ReusableSetting,
    /// `deviceAppManagement/windowsManagedAppProtections` (beta).
    WindowsAppProtection,
    /// `deviceAppManagement/targetedManagedAppConfigurations` (v1.0, app configuration for
    /// managed apps).
    TargetedAppConfiguration,
    /// `deviceAppManagement/mdmWindowsInformationProtectionPolicies` (v1.0, Windows
    /// Information Protection for MDM-enrolled devices; assigned through
    /// `managedAppPolicies/{id}/assign`).
    MdmWindowsInformationProtection,
    /// `deviceAppManagement/windowsInformationProtectionPolicies` (v1.0, Windows Information
    /// Protection without enrollment (MAM); assigned through
    /// `managedAppPolicies/{id}/assign`).
    WindowsInformationProtection,
}

impl IntuneKind {
    /// Every kind.
    pub const ALL: [IntuneKind; 17] = [
        IntuneKind::DeviceConfiguration,
        IntuneKind::SettingsCatalog,
        IntuneKind::CompliancePolicy,
        IntuneKind::AdministrativeTemplate,
        IntuneKind::IosAppProtection,
        IntuneKind::AndroidAppProtection,
        IntuneKind::AppConfiguration,
        IntuneKind::WindowsFeatureUpdate,
        IntuneKind::AssignmentFilter,
        IntuneKind::WindowsDriverUpdate,
        IntuneKind::WindowsQualityUpdateProfile,
        IntuneKind::WindowsQualityUpdatePolicy,
        IntuneKind::ReusableSetting,
        IntuneKind::WindowsAppProtection,
        IntuneKind::TargetedAppConfiguration,
        IntuneKind::MdmWindowsInformationProtection,
        IntuneKind::WindowsInformationProtection,
    ];

    /// The collection path, with its API version.
    pub fn path(self) -> &'static str {
        match self {
            IntuneKind::DeviceConfiguration => "/v1.0/deviceManagement/deviceConfigurations",
            IntuneKind::SettingsCatalog => "/beta/deviceManagement/configurationPolicies",
            IntuneKind::CompliancePolicy => "/v1.0/deviceManagement/deviceCompliancePolicies",
            IntuneKind::AdministrativeTemplate => {
                "/beta/deviceManagement/groupPolicyConfigurations"
            }
            IntuneKind::IosAppProtection => "/v1.0/deviceAppManagement/iosManagedAppProtections",
            IntuneKind::AndroidAppProtection => {
                "/v1.0/deviceAppManagement/androidManagedAppProtections"
            }
            IntuneKind::AppConfiguration => "/v1.0/deviceAppManagement/mobileAppConfigurations",
            IntuneKind::WindowsFeatureUpdate => {
                "/beta/deviceManagement/windowsFeatureUpdateProfiles"
            }
            IntuneKind::AssignmentFilter => "/beta/deviceManagement/assignmentFilters",
            IntuneKind::WindowsDriverUpdate => "/beta/deviceManagement/windowsDriverUpdateProfiles",
            IntuneKind::WindowsQualityUpdateProfile => {
                "/beta/deviceManagement/windowsQualityUpdateProfiles"
            }
            IntuneKind::WindowsQualityUpdatePolicy => {
                "/beta/deviceManagement/windowsQualityUpdatePolicies"
            }
            IntuneKind::ReusableSetting => "/beta/deviceManagement/reusablePolicySettings",
            IntuneKind::WindowsAppProtection => {
                "/beta/deviceAppManagement/windowsManagedAppProtections"
            }
            IntuneKind::TargetedAppConfiguration => {
                "/v1.0/deviceAppManagement/targetedManagedAppConfigurations"
            }
            IntuneKind::MdmWindowsInformationProtection => {
                "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies"
            }
            IntuneKind::WindowsInformationProtection => {
                "/v1.0/deviceAppManagement/windowsInformationProtectionPolicies"
            }
        }
    }

    /// Whether objects of this kind need an `@odata.type` naming their concrete type.
    pub fn polymorphic(self) -> bool {
        matches!(
            self,
            IntuneKind::DeviceConfiguration
                | IntuneKind::CompliancePolicy
                | IntuneKind::AppConfiguration
        )
    }

    /// The `@odata.type` of one assignment of this kind (`None`: not assignable).
    pub fn assignment_type(self) -> Option<&'static str> {
        Some(match self {
            IntuneKind::DeviceConfiguration => "#microsoft.graph.deviceConfigurationAssignment",
            IntuneKind::SettingsCatalog => {
                "#microsoft.graph.deviceManagementConfigurationPolicyAssignment"
            }
            IntuneKind::CompliancePolicy => "#microsoft.graph.deviceCompliancePolicyAssignment",
            IntuneKind::AdministrativeTemplate => {
                "#microsoft.graph.groupPolicyConfigurationAssignment"
            }
            IntuneKind::IosAppProtection
            | IntuneKind::AndroidAppProtection
            | IntuneKind::WindowsAppProtection
            | IntuneKind::TargetedAppConfiguration
            | IntuneKind::MdmWindowsInformationProtection
            | IntuneKind::WindowsInformationProtection => {
                "#microsoft.graph.targetedManagedAppPolicyAssignment"
            }
            IntuneKind::AppConfiguration => {
                "#microsoft.graph.managedDeviceMobileAppConfigurationAssignment"
            }
            IntuneKind::WindowsFeatureUpdate => {
                "#microsoft.graph.windowsFeatureUpdateProfileAssignment"
            }
            IntuneKind::WindowsDriverUpdate => {
                "#microsoft.graph.windowsDriverUpdateProfileAssignment"
            }
            IntuneKind::WindowsQualityUpdateProfile => {
                "#microsoft.graph.windowsQualityUpdateProfileAssignment"
            }
            IntuneKind::WindowsQualityUpdatePolicy => {
                "#microsoft.graph.windowsQualityUpdatePolicyAssignment"
            }
            IntuneKind::AssignmentFilter | IntuneKind::ReusableSetting => return None,
        })
    }

    fn uses_name(self) -> bool {
        matches!(self, IntuneKind::SettingsCatalog)
    }

    /// The path of object `id`'s `assign` action. Windows Information Protection policies
    /// have no `assign` of their own: Graph documents the one they inherit from
    /// `managedAppPolicy`, `POST /deviceAppManagement/managedAppPolicies/{id}/assign`.
    fn assign_path(self, id: &str) -> Result<String, Error> {
        let item = item_path(self, id)?;
        Ok(match self {
            IntuneKind::MdmWindowsInformationProtection
            | IntuneKind::WindowsInformationProtection => format!(
                "/v1.0/deviceAppManagement/managedAppPolicies/{}/assign",
                encode_component(id)
            ),
            _ => format!("{item}/assign"),
        })
    }
}

fn item_path(kind: IntuneKind, id: &str) -> Result<String, Error> {
    // GUIDs, and the `{guid}_{suffix}` ids some Intune objects carry.
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(format!("{}/{}", kind.path(), encode_component(id)))
    } else {
        Err(Error::invalid_input(
            "policy",
            format!("`{id}` is not an Intune object id"),
        ))
    }
}

/// Lists a kind's objects, paged. (For the settings catalog, add
/// `$expand=settings` through [`Query::expand`] to read the settings too.)
pub fn list(tenant: &TenantId, kind: IntuneKind, query: &Query) -> Result<ApiRequest, Error> {
    query.validate(999)?;
    Ok(query.apply(
        ApiRequest::get(tenant.clone(), Audience::Graph, kind.path())
            .operation("list intune policies"),
    ))
}

/// Gets one object.
pub fn get(tenant: &TenantId, kind: IntuneKind, id: &str) -> Result<GraphOp<IntunePolicy>, Error> {
    Ok(GraphOp::new(
        ApiRequest::get(tenant.clone(), Audience::Graph, item_path(kind, id)?)
            .operation("get intune policy"),
        decode_singleton::<IntunePolicy>,
    ))
}

/// Lists a settings-catalog policy's settings, paged.
pub fn list_settings(tenant: &TenantId, id: &str) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("{}/settings", item_path(IntuneKind::SettingsCatalog, id)?),
    )
    .operation("list settings catalog settings"))
}

/// Lists an administrative template's definition values with their definitions and
/// presentation values, paged.
pub fn list_definition_values(tenant: &TenantId, id: &str) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!(
            "{}/definitionValues",
            item_path(IntuneKind::AdministrativeTemplate, id)?
        ),
    )
    .query(
        "$expand",
        "definition,presentationValues($expand=presentation)",
    )
    .operation("list administrative template values"))
}

/// Adds a definition value to an administrative template (`enabled`,
/// `definition@odata.bind`, `presentationValues` as captured).
pub fn add_definition_value(
    tenant: &TenantId,
    id: &str,
    value: &Value,
) -> Result<GraphOp<Value>, Error> {
    if value.get("definition@odata.bind").is_none() {
        return Err(Error::invalid_input(
            "definitionValue",
            "needs `definition@odata.bind` naming the group policy definition",
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!(
                "{}/definitionValues",
                item_path(IntuneKind::AdministrativeTemplate, id)?
            ),
        )
        .operation("add administrative template value")
        .json(value)?,
        json,
    ))
}

/// Replaces an administrative template's definition values in one call (`POST
/// …/groupPolicyConfigurations/{id}/updateDefinitionValues`, 204): `body` is
/// `{"added": [...], "updated": [...], "deletedIds": [...]}`; each added value binds its
/// definition with `definition@odata.bind` and each presentation value its presentation
/// with `presentation@odata.bind`.
pub fn update_definition_values(
    tenant: &TenantId,
    id: &str,
    body: &Value,
) -> Result<GraphOp<()>, Error> {
    let lists = ["added", "updated", "deletedIds"];
    if !body.is_object() || lists.iter().all(|k| body.get(*k).is_none()) {
        return Err(Error::invalid_input(
            "updateDefinitionValues",
            "needs at least one of `added`, `updated` or `deletedIds`",
        ));
    }
    let unbound = body
        .get("added")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|v| v.get("definition@odata.bind").is_none());
    if unbound {
        return Err(Error::invalid_input(
            "added",
            "every added definition value needs `definition@odata.bind` naming its group policy definition",
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!(
                "{}/updateDefinitionValues",
                item_path(IntuneKind::AdministrativeTemplate, id)?
            ),
        )
        .operation("update administrative template values")
        .json(body)?,
        unit,
    ))
}

/// Replaces a compliance policy's scheduled actions (`POST
/// …/deviceCompliancePolicies/{id}/scheduleActionsForRules`, 204, body
/// `{"deviceComplianceScheduledActionForRules": rules}`): a PATCH of the policy does not
/// change them.
pub fn schedule_actions_for_rules(
    tenant: &TenantId,
    id: &str,
    rules: &[Value],
) -> Result<GraphOp<()>, Error> {
    if rules.is_empty() {
        return Err(Error::invalid_input(
            "scheduledActionsForRule",
            "a compliance policy needs at least one scheduled action (block at once is Intune's default)",
        ));
    }
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                o.remove("id");
            }
            r
        })
        .collect();
    Ok(GraphOp::new(
        ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!(
                "{}/scheduleActionsForRules",
                item_path(IntuneKind::CompliancePolicy, id)?
            ),
        )
        .operation("schedule compliance actions")
        .json(&json!({ "deviceComplianceScheduledActionForRules": rules }))?,
        unit,
    ))
}

/// Read-only fields dropped when a captured object is written back.
const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "version",
    "settingCount",
    "isAssigned",
    "supportsScopeTags",
    "creationSource",
    "deployedAppCount",
    "assignments",
    "deviceStatuses",
    "userStatuses",
    "deviceStatusOverview",
    "userStatusOverview",
    "deviceSettingStateSummaries",
];

/// The object as a request body, checked and with read-only fields removed. A compliance
/// policy without scheduled actions gets Intune's default (mark non-compliant at once).
pub fn body(kind: IntuneKind, policy: &IntunePolicy) -> Result<Value, Error> {
    if policy.title().trim().is_empty() {
        let field = if kind.uses_name() {
            "name"
        } else {
            "displayName"
        };
        return Err(Error::invalid_input(field, "the policy needs a name"));
    }
    if kind.polymorphic()
        && policy
            .odata_type
            .as_deref()
            .is_none_or(|t| !t.starts_with("#microsoft.graph."))
    {
        return Err(Error::invalid_input(
            "@odata.type",
            "this kind of policy needs its concrete @odata.type (for example #microsoft.graph.windows10CompliancePolicy)",
        ));
    }
    let mut v = serde_json::to_value(policy)
        .map_err(|e| Error::invalid_input("policy", format!("cannot serialise: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| {
            // Read annotations go; `@odata.type` and `…@odata.bind` references stay.
            let odata_annotation = (k.starts_with("@odata.") && k != "@odata.type")
                || k.ends_with("@odata.context")
                || k.ends_with("@odata.navigationLink")
                || k.ends_with("@odata.associationLink");
            !(READ_ONLY.contains(&k.as_str()) || odata_annotation)
        });
        if kind == IntuneKind::CompliancePolicy && !o.contains_key("scheduledActionsForRule") {
            o.insert(
                "scheduledActionsForRule".into(),
                json!([{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                    {"actionType": "block", "gracePeriodHours": 0, "notificationTemplateId": "", "notificationMessageCCList": []}
                ]}]),
            );
        }
    }
    Ok(v)
}

/// Creates an object (201 + the object).
pub fn create(
    tenant: &TenantId,
    kind: IntuneKind,
    policy: &IntunePolicy,
) -> Result<GraphOp<IntunePolicy>, Error> {
    let b = body(kind, policy)?;
    Ok(GraphOp::new(
        ApiRequest::post(tenant.clone(), Audience::Graph, kind.path())
            .operation("create intune policy")
            .json(&b)?,
        json,
    ))
}

/// Updates an object: PATCH (204), or PUT with the whole policy and its settings for the
/// settings catalog.
pub fn update(
    tenant: &TenantId,
    kind: IntuneKind,
    id: &str,
    policy: &IntunePolicy,
) -> Result<GraphOp<()>, Error> {
    let path = item_path(kind, id)?;
    let mut b = body(kind, policy)?;
    let request = if kind == IntuneKind::SettingsCatalog {
        if b.get("settings").is_none_or(|s| !s.is_array()) {
            return Err(Error::invalid_input(
                "settings",
                "a settings catalog policy is replaced whole: include its settings",
            ));
        }
        ApiRequest::put(tenant.clone(), Audience::Graph, path)
    } else {
        if let Some(o) = b.as_object_mut() {
            // PATCH on a polymorphic type still names it; other kinds send only values.
            if !kind.polymorphic() {
                o.remove("@odata.type");
            }
            // Scheduled actions are changed with `scheduleActionsForRules`, not PATCH.
            if kind == IntuneKind::CompliancePolicy {
                o.remove("scheduledActionsForRule");
            }
        }
        ApiRequest::patch(tenant.clone(), Audience::Graph, path)
    };
    Ok(GraphOp::new(
        // A PATCH (or PUT) of the whole desired state: repeating it changes nothing.
        request
            .operation("update intune policy")
            .json(&b)?
            .idempotent(true),
        unit,
    ))
}

/// Deletes an object (204).
pub fn delete(tenant: &TenantId, kind: IntuneKind, id: &str) -> Result<GraphOp<()>, Error> {
    Ok(GraphOp::new(
        ApiRequest::delete(tenant.clone(), Audience::Graph, item_path(kind, id)?)
            .operation("delete intune policy"),
        unit,
    ))
}

/// Who a policy is assigned to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssignTarget {
    /// A group, by object id.
    Group(String),
    /// All licensed users.
    AllUsers,
    /// All devices.
    AllDevices,
    /// Excluded group, by object id.
    ExcludeGroup(String),
}

/// How an assignment filter applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterMode {
    /// Only matching devices.
    Include,
    /// All but matching devices.
    Exclude,
}

/// The body of an `assign` action. Assign replaces the whole set: to append, pass the
/// current assignments (from [`list_assignments`]) as `existing`; duplicates of a
/// target are not added twice. A filter applies to the include targets.
pub fn assignments_body(
    kind: IntuneKind,
    targets: &[AssignTarget],
    filter: Option<(&str, FilterMode)>,
    existing: &[Value],
) -> Result<Value, Error> {
    let Some(assignment_type) = kind.assignment_type() else {
        return Err(Error::invalid_input(
            "kind",
            "assignment filters cannot be assigned",
        ));
    };
    if targets.is_empty() && existing.is_empty() {
        return Err(Error::invalid_input("targets", "nothing to assign"));
    }
    if let Some((id, _)) = filter {
        if !is_guid(id) {
            return Err(Error::invalid_input(
                "filter",
                format!("`{id}` is not an assignment filter id"),
            ));
        }
    }
    let mut out: Vec<Value> = existing
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if let Some(o) = a.as_object_mut() {
                o.remove("id");
                o.remove("source");
                o.remove("sourceId");
                o.insert("@odata.type".into(), json!(assignment_type));
            }
            a
        })
        .collect();
    for t in targets {
        let mut target = match t {
            AssignTarget::Group(g) | AssignTarget::ExcludeGroup(g) => {
                if !is_guid(g) {
                    return Err(Error::invalid_input(
                        "group",
                        format!("`{g}` is not a group object id (GUID)"),
                    ));
                }
                let ty = if matches!(t, AssignTarget::Group(_)) {
                    "#microsoft.graph.groupAssignmentTarget"
                } else {
                    "#microsoft.graph.exclusionGroupAssignmentTarget"
                };
                json!({"@odata.type": ty, "groupId": g.to_ascii_lowercase()})
            }
            AssignTarget::AllUsers => {
                json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"})
            }
            AssignTarget::AllDevices => {
                json!({"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})
            }
        };
        if let (Some((id, mode)), false) = (filter, matches!(t, AssignTarget::ExcludeGroup(_))) {
            target["deviceAndAppManagementAssignmentFilterId"] = json!(id.to_ascii_lowercase());
            target["deviceAndAppManagementAssignmentFilterType"] = json!(match mode {
                FilterMode::Include => "include",
                FilterMode::Exclude => "exclude",
            });
        }
        let same = |a: &Value| {
            a["target"]["@odata.type"] == target["@odata.type"]
                && a["target"]["groupId"] == target["groupId"]
        };
        if let Some(i) = out.iter().position(same) {
            out[i] = json!({"@odata.type": assignment_type, "target": target});
        } else {
            out.push(json!({"@odata.type": assignment_type, "target": target}));
        }
    }
    Ok(json!({ "assignments": out }))
}

/// Assigns an object (`POST …/{id}/assign` with a body from [`assignments_body`]).
pub fn assign(
    tenant: &TenantId,
    kind: IntuneKind,
    id: &str,
    body: &Value,
) -> Result<GraphOp<()>, Error> {
    if kind.assignment_type().is_none() {
        return Err(Error::invalid_input(
            "kind",
            "assignment filters cannot be assigned",
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::post(tenant.clone(), Audience::Graph, kind.assign_path(id)?)
            .operation("assign intune policy")
            .json(body)?,
        unit,
    ))
}

/// Lists an object's assignments, paged.
pub fn list_assignments(
    tenant: &TenantId,
    kind: IntuneKind,
    id: &str,
) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("{}/assignments", item_path(kind, id)?),
    )
    .operation("list intune assignments"))
}

/// The plain text of an encrypted OMA-URI setting of a custom device configuration (`GET
/// /deviceManagement/deviceConfigurations/{id}/getOmaSettingPlainTextValue(secretReferenceValueId='…')`,
/// 200 with `{"value": "…"}`). Graph reads such a setting back with `isEncrypted: true`,
/// its `secretReferenceValueId` and the value masked; this returns the value. For an
/// `omaSettingStringXml` it is the XML text itself (the setting's `value` is its base64).
///
/// The answer is a [`SecretString`]: it never shows in `Debug` output, and a decode error
/// never quotes the body. Graph asks for `DeviceManagementConfiguration.ReadWrite.All`
/// (the permissions page lists `Read.All` too) and is reported to refuse app-only tokens.
pub fn oma_setting_plain_text_value(
    tenant: &TenantId,
    configuration_id: &str,
    secret_reference_value_id: &str,
) -> Result<GraphOp<SecretString>, Error> {
    let item = item_path(IntuneKind::DeviceConfiguration, configuration_id)?;
    let sid = secret_reference_value_id;
    let valid = !sid.is_empty()
        && sid.len() <= 200
        && sid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(Error::invalid_input(
            "secretReferenceValueId",
            format!("`{sid}` is not an OMA setting's secret reference id"),
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!(
                "{item}/getOmaSettingPlainTextValue(secretReferenceValueId='{}')",
                encode_component(sid)
            ),
        )
        .operation("get oma setting plain text value"),
        decode_plain_text,
    ))
}

/// `{"value": "…"}` as a secret; errors say what is wrong without quoting the body.
fn decode_plain_text(r: &cipp_core::ApiResponse) -> Result<SecretString, Error> {
    let refuse = |what: &str| {
        Error::protocol(
            Some(r.tenant.clone()),
            r.operation(),
            format!("unexpected shape: {what} (the body is not quoted: it holds a secret)"),
        )
    };
    let v: Value = serde_json::from_slice(&r.body).map_err(|_| refuse("not JSON"))?;
    match v.get("value") {
        Some(Value::String(s)) => Ok(SecretString::from(s.clone())),
        Some(_) => Err(refuse("`value` is not a string")),
        None => Err(refuse("no `value`")),
    }
}

/// Reads a single entity sent at the top level (as Graph does) or wrapped in `"value"` (as
/// Microsoft's documentation samples for Intune show it).
fn decode_singleton<T: serde::de::DeserializeOwned>(
    r: &cipp_core::ApiResponse,
) -> Result<T, Error> {
    let v: Value = json(r)?;
    singleton(v).map_err(|e| {
        Error::protocol(
            Some(r.tenant.clone()),
            r.operation(),
            format!("unexpected shape: {e}"),
        )
    })
}

/// The Apple push notification certificate (the singleton may come wrapped in `value`;
/// 404 when none is configured).
pub fn apple_push_certificate(tenant: &TenantId) -> GraphOp<ApplePushCertificate> {
    GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            "/v1.0/deviceManagement/applePushNotificationCertificate",
        )
        .operation("get apple push certificate"),
        decode_singleton::<ApplePushCertificate>,
    )
}

/// Lists VPP tokens (note: `deviceAppManagement`), paged.
pub fn list_vpp_tokens(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/v1.0/deviceAppManagement/vppTokens",
    )
    .operation("list vpp tokens")
}

/// Lists DEP onboarding settings (beta), paged.
pub fn list_dep_onboarding(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/beta/deviceManagement/depOnboardingSettings",
    )
    .operation("list dep onboarding settings")
}

/// Intune in one tenant (`graph.tenant(&t).intune()`).
#[derive(Clone, Debug)]
pub struct Intune(pub(crate) crate::TenantGraph);

impl Intune {
    /// Policies of one kind.
    pub fn list(&self, kind: IntuneKind) -> crate::List<IntunePolicy> {
        self.0.list(move |t, q| list(t, kind, q))
    }
    /// One policy.
    pub fn get(&self, kind: IntuneKind, id: &str) -> crate::Call<IntunePolicy> {
        self.0.call(get(self.0.id(), kind, id))
    }
    /// Creates a policy.
    pub fn create(&self, kind: IntuneKind, policy: &IntunePolicy) -> crate::Call<IntunePolicy> {
        self.0.call(create(self.0.id(), kind, policy))
    }
    /// Replaces a policy's settings (PUT for the settings catalog, PATCH otherwise).
    pub fn update(&self, kind: IntuneKind, id: &str, policy: &IntunePolicy) -> crate::Call<()> {
        self.0.call(update(self.0.id(), kind, id, policy))
    }
    /// Deletes a policy.
    pub fn delete(&self, kind: IntuneKind, id: &str) -> crate::Call<()> {
        self.0.call(delete(self.0.id(), kind, id))
    }
    /// A settings-catalog policy's settings.
    pub fn settings(&self, id: &str) -> crate::List<Value> {
        self.0.list_of(list_settings(self.0.id(), id))
    }
    /// An administrative template's definition values.
    pub fn definition_values(&self, id: &str) -> crate::List<Value> {
        self.0.list_of(list_definition_values(self.0.id(), id))
    }
    /// Adds a definition value to an administrative template.
    pub fn add_definition_value(&self, id: &str, value: &Value) -> crate::Call<Value> {
        self.0.call(add_definition_value(self.0.id(), id, value))
    }
    /// Replaces an administrative template's definition values
    /// ([`update_definition_values`]).
    pub fn update_definition_values(&self, id: &str, body: &Value) -> crate::Call<()> {
        self.0.call(update_definition_values(self.0.id(), id, body))
    }
    /// Replaces a compliance policy's scheduled actions ([`schedule_actions_for_rules`]).
    pub fn schedule_actions_for_rules(&self, id: &str, rules: &[Value]) -> crate::Call<()> {
        self.0
            .call(schedule_actions_for_rules(self.0.id(), id, rules))
    }
    /// Assigns a policy with a body from [`assignments_body`] (replacing its assignments).
    pub fn assign_body(&self, kind: IntuneKind, id: &str, body: &Value) -> crate::Call<()> {
        self.0.call(assign(self.0.id(), kind, id, body))
    }
    /// A policy's assignments.
    pub fn assignments(&self, kind: IntuneKind, id: &str) -> crate::List<Value> {
        self.0.list_of(list_assignments(self.0.id(), kind, id))
    }
    /// The plain text of an encrypted OMA-URI setting of device configuration
    /// `configuration_id` ([`oma_setting_plain_text_value`]).
    pub fn oma_setting_plain_text_value(
        &self,
        configuration_id: &str,
        secret_reference_value_id: &str,
    ) -> crate::Call<SecretString> {
        self.0.call(oma_setting_plain_text_value(
            self.0.id(),
            configuration_id,
            secret_reference_value_id,
        ))
    }
    /// Assigns a policy to groups (with an optional filter), replacing its assignments or,
    /// with `append`, adding to them.
    pub async fn assign(
        &self,
        kind: IntuneKind,
        id: &str,
        targets: &[AssignTarget],
        filter: Option<(&str, FilterMode)>,
        append: bool,
    ) -> Result<(), Error> {
        // Validate before reading anything.
        assignments_body(kind, targets, filter, &[])?;
        let existing = if append {
            self.assignments(kind, id).await?
        } else {
            Vec::new()
        };
        let body = assignments_body(kind, targets, filter, &existing)?;
        self.0.call(assign(self.0.id(), kind, id, &body)).await
    }
    /// The Apple push notification certificate.
    pub fn apple_push_certificate(&self) -> crate::Call<ApplePushCertificate> {
        self.0.call(Ok(apple_push_certificate(self.0.id())))
    }
    /// Apple VPP tokens.
    pub fn vpp_tokens(&self) -> crate::List<crate::model::VppToken> {
        self.0.list_of(Ok(list_vpp_tokens(self.0.id())))
    }
    /// Apple DEP (Automated Device Enrollment) tokens.
    pub fn dep_onboarding(&self) -> crate::List<crate::model::DepOnboardingSetting> {
        self.0.list_of(Ok(list_dep_onboarding(self.0.id())))
    }
}
