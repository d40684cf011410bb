//! Tenant-wide policy objects that standards read and set: the authorization policy, the
//! authentication methods policy and each method's configuration, security defaults, the
//! admin consent request policy, the cross-tenant access default, the default app
//! management policy, the device registration policy, the external identities policy,
//! directory settings (`groupSettings`), a domain's password policy, the includes of a
//! permission grant policy and the organization's people insights settings (the daily
//! Viva Insights / briefing reports).
//!
//! Each is a [`GraphSetting`]: where it lives (`path`), how it is changed (`PATCH`, or
//! `PUT` for the policies Graph documents as replaced whole), and the operation name used in
//! errors and logs. The objects are read and written as JSON values, since standards compare
//! and set a few of their properties and keep the rest as Graph sent them.
//!
//! Two are listings read whole, so that one read serves every standard that needs one of
//! their items: [`GraphSetting::DirectorySettings`] (`GET /groupSettings`; pick an item with
//! [`directory_setting`], change it with [`directory_setting_change`]) and
//! [`GraphSetting::PermissionGrantIncludes`]. Their [`get`] answers the items as a JSON
//! array.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::settings::{self, GraphSetting};
//! let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
//! let op = settings::get(&t, &GraphSetting::AuthorizationPolicy).unwrap();
//! assert_eq!(op.request().path(), "/v1.0/policies/authorizationPolicy");
//! let op = settings::get(&t, &GraphSetting::DirectorySettings).unwrap();
//! assert_eq!(op.request().path(), "/v1.0/groupSettings");
//! ```

use std::fmt;

use cipp_core::{ApiResponse, Error, TenantId};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::op::{get as get_op, json as json_op, request, unit, with_body};
use crate::GraphOp;

/// The authentication method configurations Graph knows
/// (`authenticationMethodConfigurations/{id}`), by their documented ids.
pub const AUTH_METHOD_IDS: &[&str] = &[
    "Fido2",
    "MicrosoftAuthenticator",
    "Sms",
    "Voice",
    "Email",
    "TemporaryAccessPass",
    "SoftwareOath",
    "HardwareOath",
    "X509Certificate",
    "QRCodePin",
];

/// The directory setting template "Password Rule Settings" (smart lockout and the custom
/// banned password list; needs Entra ID P1).
pub const PASSWORD_RULE_SETTINGS: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

/// The directory setting template "Group.Unified" (Microsoft 365 group creation, naming,
/// guests).
pub const GROUP_UNIFIED_SETTINGS: &str = "62375ab9-6b52-47ed-826b-58e47e0e304b";

/// A tenant-wide policy object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GraphSetting {
    /// `policies/authorizationPolicy`: default user role permissions, guest invites,
    /// guest user role, self-service sign-up, email-verified join.
    AuthorizationPolicy,
    /// `policies/authenticationMethodsPolicy`: registration campaign (nudge), report
    /// suspicious activity, system-preferred MFA, migration state.
    AuthenticationMethodsPolicy,
    /// One method's configuration
    /// (`policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}`), id
    /// from [`AUTH_METHOD_IDS`]. A `PATCH` names the method's `@odata.type`
    /// ([`auth_method_type`]). `HardwareOath` exists only in beta.
    AuthenticationMethod(String),
    /// `policies/identitySecurityDefaultsEnforcementPolicy`.
    SecurityDefaults,
    /// `policies/adminConsentRequestPolicy` (replaced whole with `PUT`).
    AdminConsentRequestPolicy,
    /// `policies/crossTenantAccessPolicy/default`: inbound trust (external MFA, compliant
    /// devices) and B2B defaults.
    CrossTenantAccessDefault,
    /// `policies/defaultAppManagementPolicy`: credential restrictions for apps and
    /// service principals.
    DefaultAppManagementPolicy,
    /// `policies/deviceRegistrationPolicy` (beta; replaced whole with `PUT`): who may
    /// register and join devices, local administrators, LAPS.
    DeviceRegistrationPolicy,
    /// `policies/externalIdentitiesPolicy` (beta): whether external users may leave.
    ExternalIdentitiesPolicy,
    /// Every directory setting (`groupSettings`), read as one JSON array. A change with an
    /// `id` is a `PATCH` of that setting (its `values`); without one it creates a setting
    /// from `templateId` (`POST`). See [`directory_setting_change`].
    DirectorySettings,
    /// One verified domain (`domains/{name}`): its password validity and notification
    /// window.
    Domain(String),
    /// The includes of one permission grant policy
    /// (`policies/permissionGrantPolicies/{id}/includes`), read as one JSON array; a
    /// missing policy answers 404. Read-only here: add includes with
    /// [`add_permission_grant_include`].
    PermissionGrantIncludes(String),
    /// The organization's people insights settings (Graph's `insightsSettings`, beta
    /// `organization/{id}/settings/peopleInsights`), by the organization's id (the tenant
    /// GUID): `isEnabledInOrganization` (whether Viva Insights / daily briefing features
    /// are on) and `disabledForGroup` (a group id or `null`). Reading or changing it needs
    /// the Global Administrator role in the tenant; Graph answers 403 otherwise (see
    /// [`explain_error`]).
    PeopleInsights(String),
}

impl GraphSetting {
    /// The path after the host, with the version.
    pub fn path(&self) -> String {
        match self {
            GraphSetting::AuthorizationPolicy => "/v1.0/policies/authorizationPolicy".into(),
            GraphSetting::AuthenticationMethodsPolicy => {
                "/v1.0/policies/authenticationMethodsPolicy".into()
            }
            GraphSetting::AuthenticationMethod(id) => format!(
                "/{}/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}",
                if id == "HardwareOath" { "beta" } else { "v1.0" }
            ),
            GraphSetting::SecurityDefaults => {
                "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy".into()
            }
            GraphSetting::AdminConsentRequestPolicy => {
                "/v1.0/policies/adminConsentRequestPolicy".into()
            }
            GraphSetting::CrossTenantAccessDefault => {
                "/v1.0/policies/crossTenantAccessPolicy/default".into()
            }
            GraphSetting::DefaultAppManagementPolicy => {
                "/v1.0/policies/defaultAppManagementPolicy".into()
            }
            GraphSetting::DeviceRegistrationPolicy => {
                "/beta/policies/deviceRegistrationPolicy".into()
            }
            GraphSetting::ExternalIdentitiesPolicy => {
                "/beta/policies/externalIdentitiesPolicy".into()
            }
            GraphSetting::DirectorySettings => "/v1.0/groupSettings".into(),
            GraphSetting::Domain(name) => format!("/v1.0/domains/{}", name.to_ascii_lowercase()),
            GraphSetting::PermissionGrantIncludes(id) => {
                format!("/v1.0/policies/permissionGrantPolicies/{id}/includes")
            }
            GraphSetting::PeopleInsights(id) => format!(
                "/beta/organization/{}/settings/peopleInsights",
                id.to_ascii_lowercase()
            ),
        }
    }

    /// How the object is changed: `PUT` for the policies Graph replaces whole, else
    /// `PATCH` (for [`GraphSetting::DirectorySettings`], `POST` when the change creates
    /// the setting).
    pub fn update_method(&self) -> Method {
        match self {
            GraphSetting::AdminConsentRequestPolicy | GraphSetting::DeviceRegistrationPolicy => {
                Method::PUT
            }
            _ => Method::PATCH,
        }
    }

    /// A short name for errors and logs (`authorizationPolicy`, `authentication method
    /// Sms`, `domain contoso.com`).
    pub fn name(&self) -> String {
        match self {
            GraphSetting::AuthenticationMethod(id) => format!("authentication method {id}"),
            GraphSetting::DirectorySettings => "directory settings".into(),
            GraphSetting::Domain(name) => format!("domain {}", name.to_ascii_lowercase()),
            GraphSetting::PermissionGrantIncludes(id) => {
                format!("permission grant policy {id} includes")
            }
            GraphSetting::PeopleInsights(_) => "people insights settings".into(),
            other => other
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// Whether [`get`] answers a JSON array (the listings) rather than one object.
    pub fn is_listing(&self) -> bool {
        matches!(
            self,
            GraphSetting::DirectorySettings | GraphSetting::PermissionGrantIncludes(_)
        )
    }

    fn check(&self) -> Result<(), Error> {
        match self {
            GraphSetting::AuthenticationMethod(id) if !AUTH_METHOD_IDS.contains(&id.as_str()) => {
                Err(Error::invalid_input(
                    "authentication method",
                    format!(
                        "`{id}` is not an authentication method configuration; use one of {}",
                        AUTH_METHOD_IDS.join(", ")
                    ),
                ))
            }
            GraphSetting::Domain(name) => check_domain(name),
            GraphSetting::PermissionGrantIncludes(id) => check_policy_id(id),
            GraphSetting::PeopleInsights(id) => crate::op::guid(
                "organization id",
                id,
                "an organization id (the tenant's GUID, as `organization` answers its `id`)",
            )
            .map(drop),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for GraphSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The advice added to a refusal (403) of [`GraphSetting::PeopleInsights`].
pub const PEOPLE_INSIGHTS_ADVICE: &str = "reading or changing the people insights settings needs the Global Administrator role: give the CIPP-SAM application (the partner app CIPP uses) the Global Administrator role in this tenant, then try again";

/// `error` from reading or changing `setting`, with what to do added where Graph's own
/// answer does not say it: a refusal (403) of [`GraphSetting::PeopleInsights`] ("Tenant
/// admin role is required") carries [`PEOPLE_INSIGHTS_ADVICE`] in its detail, keeping its
/// status, code and request id. Any other error is returned as it is.
///
/// ```
/// use cipp_graph::settings::{explain_error, GraphSetting};
/// let e = cipp_core::Error::Config("x".into());
/// let s = GraphSetting::PeopleInsights("00000000-0000-0000-0000-000000000001".into());
/// assert_eq!(explain_error(&s, e).to_string(), "configuration: x");
/// ```
pub fn explain_error(setting: &GraphSetting, error: Error) -> Error {
    match (setting, error) {
        (GraphSetting::PeopleInsights(_), Error::Api(mut api))
            if api.status == http::StatusCode::FORBIDDEN =>
        {
            let detail = match api.detail.take() {
                Some(d) if !d.is_empty() && d != api.message => {
                    format!("{d}; {PEOPLE_INSIGHTS_ADVICE}")
                }
                _ => PEOPLE_INSIGHTS_ADVICE.to_owned(),
            };
            api.detail = Some(detail);
            Error::Api(api)
        }
        (_, other) => other,
    }
}

/// The `@odata.type` of an authentication method configuration (`Sms` →
/// `#microsoft.graph.smsAuthenticationMethodConfiguration`), which a `PATCH` must carry;
/// `None` for an id not in [`AUTH_METHOD_IDS`].
pub fn auth_method_type(id: &str) -> Option<&'static str> {
    Some(match id {
        "Fido2" => "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "MicrosoftAuthenticator" => {
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration"
        }
        "Sms" => "#microsoft.graph.smsAuthenticationMethodConfiguration",
        "Voice" => "#microsoft.graph.voiceAuthenticationMethodConfiguration",
        "Email" => "#microsoft.graph.emailAuthenticationMethodConfiguration",
        "TemporaryAccessPass" => {
            "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
        }
        "SoftwareOath" => "#microsoft.graph.softwareOathAuthenticationMethodConfiguration",
        "HardwareOath" => "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration",
        "X509Certificate" => "#microsoft.graph.x509CertificateAuthenticationMethodConfiguration",
        "QRCodePin" => "#microsoft.graph.qrCodePinAuthenticationMethodConfiguration",
        _ => return None,
    })
}

/// A domain name as Graph takes it in a path: labels of letters, digits and hyphens.
fn check_domain(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.contains('.')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "domain",
            format!("`{name}` is not a domain name (contoso.com)"),
        ))
    }
}

/// A permission grant policy id: letters, digits, `-`, `_` and `.`.
fn check_policy_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "permission grant policy",
            format!("`{id}` is not a permission grant policy id (letters, digits, - _ .)"),
        ))
    }
}

#[derive(Deserialize)]
struct Listing {
    value: Vec<Value>,
}

/// A listing's items as one JSON array.
fn listing(r: &ApiResponse) -> Result<Value, Error> {
    r.json::<Listing>().map(|l| Value::Array(l.value))
}

/// Reads `setting` as Graph sends it (the listings as a JSON array of their items).
pub fn get(tenant: &TenantId, setting: &GraphSetting) -> Result<GraphOp<Value>, Error> {
    setting.check()?;
    let operation = format!("get {}", setting.name());
    if setting.is_listing() {
        return Ok(GraphOp::new(
            request(tenant, Method::GET, setting.path(), operation),
            listing,
        ));
    }
    Ok(get_op(tenant, setting.path(), operation))
}

/// Changes `setting`: `body` holds the properties to set (`PATCH`), or the whole object
/// (`PUT`, see [`GraphSetting::update_method`]). Idempotent: it sets fixed values. The body
/// must be a JSON object.
///
/// For [`GraphSetting::DirectorySettings`] the body is a directory setting: with an `id`,
/// its `values` are written to that setting (`PATCH groupSettings/{id}`, every value the
/// setting should keep included); without one, `templateId` and `values` create a setting
/// (`POST groupSettings`, not idempotent). [`directory_setting_change`] builds either.
/// [`GraphSetting::PermissionGrantIncludes`] is refused: add includes with
/// [`add_permission_grant_include`].
pub fn update(
    tenant: &TenantId,
    setting: &GraphSetting,
    body: &Value,
) -> Result<GraphOp<()>, Error> {
    setting.check()?;
    let Some(object) = body.as_object() else {
        return Err(Error::invalid_input(
            "body",
            format!("the change to {} must be a JSON object", setting.name()),
        ));
    };
    match setting {
        GraphSetting::DirectorySettings => return update_directory_setting(tenant, object),
        GraphSetting::PermissionGrantIncludes(_) => {
            return Err(Error::invalid_input(
                "setting",
                "the includes of a permission grant policy are added one by one with add_permission_grant_include",
            ))
        }
        GraphSetting::AuthenticationMethod(id) => {
            let want = auth_method_type(id).unwrap_or_default();
            match object.get("@odata.type").and_then(Value::as_str) {
                Some(t) if t == want => {}
                _ => {
                    return Err(Error::invalid_input(
                        "@odata.type",
                        format!("a change to the {id} configuration must carry \"@odata.type\": \"{want}\""),
                    ))
                }
            }
        }
        _ => {}
    }
    let method = setting.update_method();
    let op = with_body(
        tenant,
        method,
        setting.path(),
        format!("update {}", setting.name()),
        body,
        unit,
    )?;
    Ok(op.map_request(|r| r.idempotent(true)))
}

fn update_directory_setting(
    tenant: &TenantId,
    object: &Map<String, Value>,
) -> Result<GraphOp<()>, Error> {
    let values = match object.get("values") {
        Some(Value::Array(v)) => v.clone(),
        _ => {
            return Err(Error::invalid_input(
                "values",
                "a directory setting change needs `values`: [{\"name\": …, \"value\": …}]",
            ))
        }
    };
    for v in &values {
        if v.get("name").and_then(Value::as_str).is_none()
            || v.get("value").is_some_and(|x| !x.is_string())
        {
            return Err(Error::invalid_input(
                "values",
                "each directory setting value is {\"name\": string, \"value\": string}",
            ));
        }
    }
    match object.get("id") {
        Some(Value::String(id)) => {
            let id = crate::op::guid("id", id, "a directory setting id (GUID)")?;
            with_body(
                tenant,
                Method::PATCH,
                format!("/v1.0/groupSettings/{id}"),
                "update directory setting",
                &json!({ "values": values }),
                unit,
            )
        }
        Some(other) => Err(Error::invalid_input(
            "id",
            format!("`{other}` is not a directory setting id"),
        )),
        None => {
            let template = object
                .get("templateId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let template = crate::op::guid("templateId", template, "a setting template id (GUID)")?;
            with_body(
                tenant,
                Method::POST,
                "/v1.0/groupSettings",
                "create directory setting",
                &json!({ "templateId": template, "values": values }),
                unit,
            )
        }
    }
}

/// The directory setting made from `template_id` in a [`GraphSetting::DirectorySettings`]
/// answer, if the tenant has one.
pub fn directory_setting<'a>(settings: &'a Value, template_id: &str) -> Option<&'a Value> {
    settings.as_array()?.iter().find(|s| {
        s.get("templateId")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(template_id))
    })
}

/// The value named `name` (case-insensitive) of a directory setting.
pub fn directory_setting_value<'a>(setting: &'a Value, name: &str) -> Option<&'a str> {
    setting
        .get("values")?
        .as_array()?
        .iter()
        .find(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })?
        .get("value")?
        .as_str()
}

/// The [`GraphSetting::DirectorySettings`] change that sets `values` (name, value) on the
/// setting from `template_id`: for an `existing` setting its id and every value it has,
/// the named ones replaced (a value left out of a `PATCH` goes back to the template's
/// default); without one, a new setting from the template with `values` (the others take
/// the template's defaults).
pub fn directory_setting_change(
    existing: Option<&Value>,
    template_id: &str,
    values: &[(&str, String)],
) -> Value {
    let Some(existing) = existing else {
        let values: Vec<Value> = values
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        return json!({"templateId": template_id, "values": values});
    };
    let mut out: Vec<Value> = existing
        .get("values")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (name, value) in values {
        let slot = out.iter_mut().find(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        match slot {
            Some(v) => v["value"] = Value::String(value.clone()),
            None => out.push(json!({"name": name, "value": value})),
        }
    }
    json!({"id": existing.get("id").cloned().unwrap_or(Value::Null), "values": out})
}

/// Creates a permission grant policy (`POST policies/permissionGrantPolicies`) with the
/// caller's `id` (letters, digits, `-`, `_`, `.`). Not idempotent: Graph refuses an id in
/// use.
pub fn create_permission_grant_policy(
    tenant: &TenantId,
    id: &str,
    display_name: &str,
    description: &str,
) -> Result<GraphOp<Value>, Error> {
    check_policy_id(id)?;
    if display_name.trim().is_empty() {
        return Err(Error::invalid_input(
            "displayName",
            "a permission grant policy needs a display name",
        ));
    }
    with_body(
        tenant,
        Method::POST,
        "/v1.0/policies/permissionGrantPolicies",
        "create permission grant policy",
        &json!({"id": id, "displayName": display_name, "description": description}),
        json_op,
    )
}

/// Adds an include (a `permissionGrantConditionSet`: `permissionType`,
/// `permissionClassification`, `clientApplicationIds`, …) to the permission grant policy
/// `policy` (`POST policies/permissionGrantPolicies/{id}/includes`). Not idempotent.
pub fn add_permission_grant_include(
    tenant: &TenantId,
    policy: &str,
    include: &Value,
) -> Result<GraphOp<Value>, Error> {
    check_policy_id(policy)?;
    let Some(object) = include.as_object() else {
        return Err(Error::invalid_input(
            "include",
            "a permission grant condition set must be a JSON object",
        ));
    };
    match object.get("permissionType").and_then(Value::as_str) {
        Some("delegated" | "application" | "delegatedUserConsentable") => {}
        other => {
            return Err(Error::invalid_input(
                "permissionType",
                format!(
                    "`{}` is not a permission type; use delegated, application or delegatedUserConsentable",
                    other.unwrap_or("")
                ),
            ))
        }
    }
    with_body(
        tenant,
        Method::POST,
        format!("/v1.0/policies/permissionGrantPolicies/{policy}/includes"),
        "add permission grant include",
        include,
        json_op,
    )
}

/// Tenant-wide policy objects in one tenant (`graph.tenant(&t).settings()`).
#[derive(Clone, Debug)]
pub struct Settings(pub(crate) crate::TenantGraph);

impl Settings {
    /// Reads `setting`.
    pub fn get(&self, setting: &GraphSetting) -> crate::Call<Value> {
        self.0.call(get(self.0.id(), setting))
    }

    /// Changes `setting` (see [`update`]).
    pub fn update(&self, setting: &GraphSetting, body: &Value) -> crate::Call<()> {
        self.0.call(update(self.0.id(), setting, body))
    }

    /// Creates a permission grant policy (see [`create_permission_grant_policy`]).
    pub fn create_permission_grant_policy(
        &self,
        id: &str,
        display_name: &str,
        description: &str,
    ) -> crate::Call<Value> {
        self.0.call(create_permission_grant_policy(
            self.0.id(),
            id,
            display_name,
            description,
        ))
    }

    /// Adds an include to a permission grant policy (see
    /// [`add_permission_grant_include`]).
    pub fn add_permission_grant_include(
        &self,
        policy: &str,
        include: &Value,
    ) -> crate::Call<Value> {
        self.0
            .call(add_permission_grant_include(self.0.id(), policy, include))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("contoso.onmicrosoft.com").unwrap()
    }

    #[test]
    fn every_method_id_has_a_type() {
        for id in AUTH_METHOD_IDS {
            assert!(auth_method_type(id).is_some(), "{id}");
        }
        assert!(auth_method_type("Sms2").is_none());
    }

    #[test]
    fn directory_setting_changes() {
        let listing = json!([{"id": "a1", "templateId": PASSWORD_RULE_SETTINGS,
            "values": [{"name": "LockoutThreshold", "value": "10"}, {"name": "BannedPasswordList", "value": "x"}]}]);
        let s = directory_setting(&listing, &PASSWORD_RULE_SETTINGS.to_uppercase()).unwrap();
        assert_eq!(directory_setting_value(s, "lockoutthreshold"), Some("10"));
        assert!(directory_setting(&listing, GROUP_UNIFIED_SETTINGS).is_none());
        let c = directory_setting_change(
            Some(s),
            PASSWORD_RULE_SETTINGS,
            &[("LockoutThreshold", "5".into()), ("New", "y".into())],
        );
        assert_eq!(c["id"], "a1");
        assert_eq!(c["values"].as_array().unwrap().len(), 3);
        assert_eq!(c["values"][0]["value"], "5");
        let c = directory_setting_change(
            None,
            GROUP_UNIFIED_SETTINGS,
            &[("EnableGroupCreation", "false".into())],
        );
        assert_eq!(c["templateId"], GROUP_UNIFIED_SETTINGS);
        assert!(c.get("id").is_none());
    }

    #[test]
    fn bad_input_is_refused_before_a_request_exists() {
        let bad_domain = GraphSetting::Domain("contoso.com/../users".into());
        assert!(get(&t(), &bad_domain).is_err());
        let bad_policy = GraphSetting::PermissionGrantIncludes("a/b".into());
        assert!(get(&t(), &bad_policy).is_err());
        let bad_org = GraphSetting::PeopleInsights("contoso.onmicrosoft.com".into());
        let err = get(&t(), &bad_org).unwrap_err();
        assert!(err.to_string().contains("organization id"), "{err}");
        assert!(update(&t(), &bad_org, &json!({"isEnabledInOrganization": false})).is_err());
        assert!(update(
            &t(),
            &GraphSetting::DirectorySettings,
            &json!({"values": []})
        )
        .is_err());
        assert!(update(
            &t(),
            &GraphSetting::DirectorySettings,
            &json!({"id": "x", "values": []})
        )
        .is_err());
        assert!(update(
            &t(),
            &GraphSetting::AuthenticationMethod("Sms".into()),
            &json!({"state": "disabled"})
        )
        .is_err());
        assert!(
            add_permission_grant_include(&t(), "p", &json!({"permissionType": "all"})).is_err()
        );
    }
}
