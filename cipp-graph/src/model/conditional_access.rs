//! Conditional Access policies, named locations, authentication strengths and the
//! security-defaults policy.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{model, string_enum, Extra};

string_enum!(
    /// Whether a policy is enforced.
    PolicyState {
        Enabled = "enabled",
        Disabled = "disabled",
        ReportOnly = "enabledForReportingButNotEnforced",
    }
);

model! {
    /// A Conditional Access policy. `conditions`, `grantControls` and `sessionControls` are
    /// kept whole as JSON, so a captured policy deploys exactly as read.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct ConditionalAccessPolicy {
        /// Id (absent on a new policy).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        id: String,
        /// Name.
        #[serde(default)]
        display_name: String,
        /// State.
        state: Option<PolicyState>,
        /// Users, applications, platforms, locations, risk levels…
        conditions: Option<Value>,
        /// Grant controls (operator, built-in controls, authentication strength…).
        grant_controls: Option<Value>,
        /// Session controls.
        session_controls: Option<Value>,
        /// Created (read-only).
        created_date_time: Timestamp,
        /// Modified (read-only).
        modified_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(ConditionalAccessPolicy, extra);

impl ConditionalAccessPolicy {
    /// The built-in grant controls (`block`, `mfa`, `compliantDevice`…).
    pub fn built_in_controls(&self) -> Vec<&str> {
        self.grant_controls
            .as_ref()
            .and_then(|g| g["builtInControls"].as_array())
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Group ids and location ids the policy refers to (which must exist in a tenant
    /// before it can be deployed there).
    pub fn referenced_ids(&self) -> Vec<String> {
        let Some(c) = &self.conditions else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (section, keys) in [
            ("users", &["includeGroups", "excludeGroups"][..]),
            ("locations", &["includeLocations", "excludeLocations"][..]),
        ] {
            for k in keys {
                if let Some(a) = c[section][*k].as_array() {
                    out.extend(
                        a.iter()
                            .filter_map(Value::as_str)
                            .filter(|s| !matches!(*s, "All" | "AllTrusted"))
                            .map(str::to_owned),
                    );
                }
            }
        }
        out
    }
}

/// What kind of named location.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamedLocationKind {
    /// IP ranges (`#microsoft.graph.ipNamedLocation`).
    Ip,
    /// Countries and regions (`#microsoft.graph.countryNamedLocation`).
    Country,
    /// Another type (kept as sent).
    Unknown(String),
}

model! {
    /// A named location (IP ranges or countries).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct NamedLocation {
        /// `#microsoft.graph.ipNamedLocation` or `#microsoft.graph.countryNamedLocation`.
        #[serde(rename = "@odata.type", default)]
        odata_type: String,
        /// Id.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        id: String,
        /// Name.
        #[serde(default)]
        display_name: String,
        /// IP locations: whether trusted.
        is_trusted: Option<bool>,
        /// IP locations: the ranges (`{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": …}`).
        ip_ranges: Option<Vec<Value>>,
        /// Country locations: ISO 3166 two-letter codes.
        countries_and_regions: Option<Vec<String>>,
        /// Country locations: whether unknown countries count.
        include_unknown_countries_and_regions: Option<bool>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(NamedLocation, extra);

impl NamedLocation {
    /// The kind, from `@odata.type`.
    pub fn kind(&self) -> NamedLocationKind {
        match self.odata_type.trim_start_matches('#') {
            "microsoft.graph.ipNamedLocation" => NamedLocationKind::Ip,
            "microsoft.graph.countryNamedLocation" => NamedLocationKind::Country,
            other => NamedLocationKind::Unknown(other.to_owned()),
        }
    }

    /// A new IP location (ranges in CIDR notation, v4 or v6).
    pub fn ip(display_name: &str, trusted: bool, cidrs: &[&str]) -> Self {
        NamedLocation {
            odata_type: "#microsoft.graph.ipNamedLocation".into(),
            display_name: display_name.into(),
            is_trusted: Some(trusted),
            ip_ranges: Some(
                cidrs
                    .iter()
                    .map(|c| {
                        let t = if c.contains(':') {
                            "#microsoft.graph.iPv6CidrRange"
                        } else {
                            "#microsoft.graph.iPv4CidrRange"
                        };
                        serde_json::json!({"@odata.type": t, "cidrAddress": c})
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    /// A new country location.
    pub fn countries(display_name: &str, codes: &[&str], include_unknown: bool) -> Self {
        NamedLocation {
            odata_type: "#microsoft.graph.countryNamedLocation".into(),
            display_name: display_name.into(),
            countries_and_regions: Some(codes.iter().map(|c| c.to_ascii_uppercase()).collect()),
            include_unknown_countries_and_regions: Some(include_unknown),
            ..Default::default()
        }
    }
}

model! {
    /// An authentication strength policy (built-in or custom).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct AuthenticationStrengthPolicy {
        /// Id.
        #[serde(default)]
        id: String,
        /// Name.
        #[serde(default)]
        display_name: String,
        /// `builtIn` or `custom`.
        policy_type: Option<String>,
        /// Allowed method combinations (`password,microsoftAuthenticatorPush`…).
        #[serde(default)]
        allowed_combinations: Vec<String>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(AuthenticationStrengthPolicy, extra);

model! {
    /// An authentication context (`authenticationContextClassReference`): a step-up
    /// requirement Conditional Access policies target by id (`c1` … `c99`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct AuthenticationContext {
        /// Id (`c1` … `c99`).
        #[serde(default)]
        id: String,
        /// Name.
        display_name: Option<String>,
        /// What it is for.
        description: Option<String>,
        /// Whether apps may use it.
        is_available: Option<bool>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(AuthenticationContext, extra);

/// The security-defaults policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct SecurityDefaultsPolicy {
    /// Id (`00000000-0000-0000-0000-000000000005`).
    #[serde(default)]
    pub id: String,
    /// Whether security defaults are on.
    #[serde(default)]
    pub is_enabled: bool,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(SecurityDefaultsPolicy, extra);
