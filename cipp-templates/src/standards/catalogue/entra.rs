//! Entra (AAD) and global identity standards, with CIPP's names, labels, help, tags,
//! licence capabilities and settings.
//!
//! By what they touch:
//! - [`authorization`]: the authorization policy (who may create apps, tenants and
//!   security groups, guest invites and directory access, BitLocker keys, user consent).
//! - [`methods`]: the authentication methods policy, each method's configuration and
//!   security defaults.
//! - [`policies`]: admin consent requests, cross-tenant MFA trust, app credential
//!   restrictions, device registration (LAPS, local administrators), domain password
//!   expiry, self-service licences.
//! - [`directory`]: directory settings (banned passwords, smart lockout, Microsoft 365
//!   group creation).
//! - [`lifecycle`]: standards over many objects with a clock: inactive guests and members,
//!   stale devices.
//!
//! Settings are read the way CIPP's forms send them: an autoComplete choice is a plain
//! value or `{"label": …, "value": …}`, numbers may be strings, switches may be
//! `"true"`/`"false"`. Unknown keys (CIPP's `action`, `standardId`, …) are ignored.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cipp_core::Error;
use cipp_graph::settings::GraphSetting;
use serde_json::{json, Value};

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write, WriteFn};
use crate::standards::NoSettings;

#[path = "entra_authorization.rs"]
pub mod authorization;
#[path = "entra_directory.rs"]
pub mod directory;
#[path = "entra_lifecycle.rs"]
pub mod lifecycle;
#[path = "entra_methods.rs"]
pub mod methods;
#[path = "entra_policies.rs"]
pub mod policies;

/// Every Entra standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    let mut all: Vec<Arc<dyn Standard>> = vec![Arc::new(disable_app_creation())];
    all.extend(authorization::standards());
    all.extend(methods::standards());
    all.extend(policies::standards());
    all.extend(directory::standards());
    all.extend(lifecycle::standards());
    all
}

fn disable_app_creation() -> SettingStandard<NoSettings> {
    SettingStandard::new(
        StandardMeta {
            name: "DisableAppCreation",
            category: Category::Entra,
            impact: Impact::Low,
            label: "Disable App creation by users",
            help: "Disables the ability for users to create App registrations in the tenant.",
            tags: &["CIS M365 5.0 (1.2.2)", "CISA (MS.AAD.4.1v1)", "EIDSCA.AP10", "Essential 8 (1175)", "NIST CSF 2.0 (PR.AA-05)", "EIDSCAAP10"],
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

/// A [`SettingStandard`] whose write is built from the object as it is when remediating
/// (read again just before), not as the shared snapshot saw it: for objects replaced whole
/// (`PUT`) that several standards change, so that one standard's remediation never undoes
/// another's made from the same snapshot.
pub(crate) struct FreshWrite<S> {
    inner: SettingStandard<S>,
    setting: GraphSetting,
    write: WriteFn<S>,
}

impl<S> FreshWrite<S> {
    /// `inner` (which reads `setting`), remediated with `write` on a fresh read.
    pub(crate) fn new(inner: SettingStandard<S>, setting: GraphSetting, write: WriteFn<S>) -> Self {
        FreshWrite {
            inner,
            setting,
            write,
        }
    }
}

#[async_trait]
impl<S: DeserializeOwned + Send + Sync + 'static> Standard for FreshWrite<S> {
    fn meta(&self) -> &StandardMeta {
        self.inner.meta()
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        self.inner.validate(settings)
    }

    fn reads(&self, settings: &Value) -> Vec<Read> {
        self.inner.reads(settings)
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        self.inner.check(settings, snapshot)
    }

    async fn remediate(
        &self,
        settings: &Value,
        _: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: S = typed(self.inner.meta(), settings)?;
        let current = target.graph.settings().get(&self.setting).await?;
        (self.write)(&s, &current)?.send(target).await
    }
}

/// The error for a setting `field` of standard `name`.
pub(crate) fn invalid(name: &str, field: &str, message: impl Into<String>) -> Error {
    Error::invalid_input(format!("standards.{name}.{field}"), message)
}

/// A JSON timestamp (`"2024-01-02T03:04:05Z"`) read tolerantly; `None` for null or
/// unreadable.
pub(crate) fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(cipp_graph::model::parse_timestamp)
}

/// A snapshot object with `@odata.*` annotations removed (for a `PUT` of what was read).
pub(crate) fn without_annotations(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with("@odata.context") && !k.starts_with("@odata.etag"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Serde helpers for the shapes CIPP's standard forms send.
pub mod de {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// An autoComplete option `{"label": …, "value": …}` as its value; anything else as is.
    fn unwrap_option(v: Value) -> Value {
        match v {
            Value::Object(mut m) if m.contains_key("value") => {
                m.remove("value").unwrap_or(Value::Null)
            }
            other => other,
        }
    }

    /// Text: a string, an option's value, a number or a boolean as text; `null` and `""`
    /// are absent.
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Option::<Value>::deserialize(d)?.map(unwrap_option) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(D::Error::custom(format!("expected text, got {other}"))),
        }
    }

    /// A whole number: a number or a numeric string (or an option holding one).
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)?.map(unwrap_option) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("`{s}` is not a whole number"))),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("`{n}` is not a whole number"))),
            Some(other) => Err(D::Error::custom(format!(
                "expected a whole number, got {other}"
            ))),
        }
    }

    /// A switch: a boolean or `"true"`/`"false"` (or an option holding one).
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(d)?.map(unwrap_option) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(D::Error::custom(format!(
                "expected true or false, got {other}"
            ))),
        }
    }

    /// A list of texts: an array of strings or options, or one text.
    pub fn opt_texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let items = match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(one) => vec![one],
        };
        let mut out = Vec::new();
        for v in items.into_iter().map(unwrap_option) {
            match v {
                Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                Value::String(_) | Value::Null => {}
                other => return Err(D::Error::custom(format!("expected text, got {other}"))),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::catalogue::Catalogue;

    #[test]
    fn every_entra_standard_has_complete_metadata() {
        let all = standards();
        assert!(all.len() >= 27, "{} standards", all.len());
        let mut names: Vec<&str> = all.iter().map(|s| s.meta().name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "names are unique");
        for s in &all {
            let m = s.meta();
            assert!(
                matches!(m.category, Category::Entra | Category::Global),
                "{}",
                m.name
            );
            for text in [m.label, m.help, m.reads_doc] {
                assert!(!text.trim().is_empty(), "{}", m.name);
            }
            assert!(m.modes.report, "{} reports", m.name);
        }
        let c = Catalogue::builtin();
        for name in [
            "SecurityDefaults",
            "standards.DisableSMS",
            "laps",
            "SmartLockout",
        ] {
            assert!(c.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn cipp_form_shapes_are_read() {
        #[derive(serde::Deserialize)]
        struct S {
            #[serde(default, deserialize_with = "de::opt_text")]
            a: Option<String>,
            #[serde(default, deserialize_with = "de::opt_i64")]
            n: Option<i64>,
            #[serde(default, deserialize_with = "de::opt_bool")]
            b: Option<bool>,
            #[serde(default, deserialize_with = "de::opt_texts")]
            l: Vec<String>,
        }
        let s: S = serde_json::from_value(json!({"a": {"label": "Everyone", "value": "everyone"},
            "n": "90", "b": "True", "l": [{"label": "GA", "value": "x"}, "y", ""]}))
        .unwrap();
        assert_eq!(s.a.as_deref(), Some("everyone"));
        assert_eq!((s.n, s.b), (Some(90), Some(true)));
        assert_eq!(s.l, vec!["x", "y"]);
        let s: S = serde_json::from_value(json!({"a": true, "n": 7, "b": false})).unwrap();
        assert_eq!(
            (s.a.as_deref(), s.n, s.b),
            (Some("true"), Some(7), Some(false))
        );
        assert!(serde_json::from_value::<S>(json!({"n": "ninety"})).is_err());
        assert!(serde_json::from_value::<S>(json!({"b": "maybe"})).is_err());
    }
}
