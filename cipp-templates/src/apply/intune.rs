//! Intune: every Intune template kind read as state, created, updated and verified.
//!
//! | template kind | collection | create | update |
//! |---|---|---|---|
//! | device configuration, app configuration, app protection (iOS, Android, Windows, targeted app configurations, Windows Information Protection with and without enrollment), update profiles and policies, assignment filters, reusable settings | `deviceManagement/…` or `deviceAppManagement/…` | `POST` the body | `PATCH` the body |
//! | settings catalog | `beta/deviceManagement/configurationPolicies` | `POST` with `settings` | `PUT` of the whole policy with `settings` |
//! | compliance | `deviceManagement/deviceCompliancePolicies` | `POST` with `scheduledActionsForRule` | `PATCH` without them, then `scheduleActionsForRules` when they changed |
//! | administrative template | `beta/deviceManagement/groupPolicyConfigurations` | `POST` of `{displayName, description, roleScopeTagIds}`, then `updateDefinitionValues` with `added` | `PATCH` of the name and description, `updateDefinitionValues` deleting every current value, then one adding the template's |
//!
//! Name space: compliance notification CC groups are group display names and settings
//! catalog references to reusable settings (`…ReferenceSettingValue`) are reusable
//! setting display names, both in templates and in the state read; apply maps them to the
//! tenant's ids. Administrative templates are compared as their `updateDefinitionValues`
//! payload (`added`, with `definition@odata.bind` and `presentation@odata.bind`).
//!
//! App protection objects are assigned with `POST …/{id}/assign`; Windows Information
//! Protection policies through the `assign` Graph documents for them, the one of
//! `deviceAppManagement/managedAppPolicies/{id}`.
//!
//! Encrypted OMA-URI settings of custom device configurations: when a configuration is
//! read as state or read back to verify, each setting Intune holds encrypted is decrypted
//! (`getOmaSettingPlainTextValue`, one request per setting, at most
//! [`OMA_READS_AT_ONCE`] at once) and sealed, so it compares with the template's value
//! without the tenant's secret entering a plan (see [`crate::secrets`]).
//!
//! Settings the tenant's Intune does not offer: when Graph refuses a settings catalog
//! policy naming setting definitions of its body, those settings are left out, the policy
//! is sent again once, and the outcome is a warning naming each.

use cipp_core::Outcome;
use cipp_graph::intune::IntuneKind;
use cipp_graph::model::IntunePolicy;
use cipp_graph::TenantGraph;
use serde_json::{json, Map, Value};

use super::resolve::{id_of, name_of, Directory};
use super::{failed, to_json, verified, ApplyError, ApplyOptions, Done, Write};
use crate::canonical::{strip_fields, strip_server_owned};
use crate::capture::{
    each_reusable_reference, strip_annotations, COMPLIANCE_EXPAND, INTUNE_READ_ONLY,
};
use crate::plan::{object_name, Existing};
use crate::template::TemplateKind;

/// The Graph collections holding a template kind's objects (empty: not an Intune kind).
pub(crate) fn collections(kind: &TemplateKind) -> &'static [IntuneKind] {
    match kind {
        TemplateKind::IntuneDeviceConfiguration => &[IntuneKind::DeviceConfiguration],
        TemplateKind::IntuneSettingsCatalog => &[IntuneKind::SettingsCatalog],
        TemplateKind::IntuneCompliance => &[IntuneKind::CompliancePolicy],
        TemplateKind::IntuneAdministrativeTemplate => &[IntuneKind::AdministrativeTemplate],
        TemplateKind::IntuneAppProtection => &[
            IntuneKind::IosAppProtection,
            IntuneKind::AndroidAppProtection,
            IntuneKind::WindowsAppProtection,
            IntuneKind::TargetedAppConfiguration,
            IntuneKind::MdmWindowsInformationProtection,
            IntuneKind::WindowsInformationProtection,
        ],
        TemplateKind::IntuneAppConfiguration => &[IntuneKind::AppConfiguration],
        TemplateKind::WindowsDriverUpdateProfile => &[IntuneKind::WindowsDriverUpdate],
        TemplateKind::WindowsFeatureUpdateProfile => &[IntuneKind::WindowsFeatureUpdate],
        TemplateKind::WindowsQualityUpdatePolicy => &[IntuneKind::WindowsQualityUpdatePolicy],
        TemplateKind::WindowsQualityUpdateProfile => &[IntuneKind::WindowsQualityUpdateProfile],
        TemplateKind::IntuneReusableSetting => &[IntuneKind::ReusableSetting],
        TemplateKind::AssignmentFilter => &[IntuneKind::AssignmentFilter],
        _ => &[],
    }
}

/// The `@odata.type` of a typed collection's objects (Graph leaves it out on typed URLs).
pub(crate) fn implied_type(ik: IntuneKind) -> Option<&'static str> {
    Some(match ik {
        IntuneKind::IosAppProtection => "#microsoft.graph.iosManagedAppProtection",
        IntuneKind::AndroidAppProtection => "#microsoft.graph.androidManagedAppProtection",
        IntuneKind::WindowsAppProtection => "#microsoft.graph.windowsManagedAppProtection",
        IntuneKind::TargetedAppConfiguration => "#microsoft.graph.targetedManagedAppConfiguration",
        IntuneKind::MdmWindowsInformationProtection => {
            "#microsoft.graph.mdmWindowsInformationProtectionPolicy"
        }
        IntuneKind::WindowsInformationProtection => {
            "#microsoft.graph.windowsInformationProtectionPolicy"
        }
        _ => return None,
    })
}

/// The collection a template body of `kind` goes to.
pub(super) fn collection_for(kind: &TemplateKind, body: &Value) -> Result<IntuneKind, String> {
    match collections(kind) {
        [] => Err(format!("{kind} is not an Intune kind")),
        [one] => Ok(*one),
        many => {
            let t = body
                .get("@odata.type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            many.iter()
                .copied()
                .find(|k| implied_type(*k).is_some_and(|i| i.eq_ignore_ascii_case(t)))
                .ok_or_else(|| {
                    format!(
                        "the template's @odata.type {t:?} is not one apply handles for {kind} \
                         (iOS, Android and Windows app protection, targeted app configuration, \
                         Windows Information Protection with and without enrollment)"
                    )
                })
        }
    }
}

/// The collection holding object `id` of `kind` (probed when the kind spans several).
pub(crate) async fn locate(
    graph: &TenantGraph,
    kind: &TemplateKind,
    id: &str,
) -> Result<IntuneKind, String> {
    let all = collections(kind);
    if let [one] = all {
        return Ok(*one);
    }
    for ik in all {
        if graph.intune().get(*ik, id).await.is_ok() {
            return Ok(*ik);
        }
    }
    Err(format!("object {id} is in none of the {kind} collections"))
}

// ---------------------------------------------------------------------------------------
// References (name space ↔ id space)

/// What a reference names.
#[derive(Clone, Copy)]
enum Ref {
    Group,
    Reusable,
}

/// Calls `f` on every reference of `body`: compliance notification CC groups and settings
/// catalog reusable-setting references.
fn each_reference(body: &mut Value, ik: IntuneKind, f: &mut dyn FnMut(Ref, &mut Value)) {
    match ik {
        IntuneKind::CompliancePolicy => {
            let rules = body
                .get_mut("scheduledActionsForRule")
                .and_then(Value::as_array_mut);
            for rule in rules.into_iter().flatten() {
                let configs = rule
                    .get_mut("scheduledActionConfigurations")
                    .and_then(Value::as_array_mut);
                for config in configs.into_iter().flatten() {
                    let cc = config
                        .get_mut("notificationMessageCCList")
                        .and_then(Value::as_array_mut);
                    for item in cc.into_iter().flatten() {
                        f(Ref::Group, item);
                    }
                }
            }
        }
        IntuneKind::SettingsCatalog => {
            if let Some(settings) = body.get_mut("settings") {
                each_reusable_reference(settings, &mut |v| f(Ref::Reusable, v));
            }
        }
        _ => {}
    }
}

impl Directory {
    fn entries(&self, r: Ref) -> (&[super::resolve::Entry], &'static str) {
        match r {
            Ref::Group => (&self.groups, "group"),
            Ref::Reusable => (&self.reusable, "reusable setting"),
        }
    }

    /// An Intune body with this tenant's ids named (unknown ids kept).
    fn intune_names(&self, ik: IntuneKind, body: &mut Value) {
        each_reference(body, ik, &mut |r, v| {
            let named = v.as_str().and_then(|id| name_of(self.entries(r).0, id));
            if let Some(n) = named {
                *v = Value::String(n);
            }
        });
    }

    /// An Intune body with names mapped to this tenant's ids, or every name that could not
    /// be mapped.
    fn intune_ids(&self, ik: IntuneKind, body: &Value) -> Result<Value, Vec<String>> {
        let mut v = body.clone();
        let mut errors = Vec::new();
        each_reference(&mut v, ik, &mut |r, v| {
            let (entries, what) = self.entries(r);
            if let Some(name) = v.as_str() {
                match id_of(entries, name, what) {
                    Ok(id) => *v = Value::String(id),
                    Err(e) => errors.push(e),
                }
            }
        });
        if errors.is_empty() {
            Ok(v)
        } else {
            Err(errors)
        }
    }
}

/// Whether reading `kind`'s state needs the tenant's groups / reusable settings.
pub(super) fn needs(kind: &TemplateKind) -> (bool, bool) {
    (
        *kind == TemplateKind::IntuneCompliance,
        matches!(
            kind,
            TemplateKind::IntuneSettingsCatalog | TemplateKind::IntuneReusableSetting
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Reading

/// The binding URL of a group policy definition (and of one of its presentations).
fn definition_bind(definition: &str, presentation: Option<&str>) -> String {
    let base = format!(
        "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{definition}')"
    );
    match presentation {
        Some(p) => format!("{base}/presentations('{p}')"),
        None => base,
    }
}

/// An administrative template as its `updateDefinitionValues` payload: the configuration's
/// name, description and scope tags, and `added` from its definition values (read with
/// `$expand=definition,presentationValues($expand=presentation)`).
pub(crate) fn admin_shape(config: &Value, values: &[Value]) -> Value {
    let mut out = Map::new();
    for k in ["displayName", "description", "roleScopeTagIds"] {
        if let Some(v) = config.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    let added: Vec<Value> = values
        .iter()
        .map(|dv| {
            let def = dv
                .pointer("/definition/id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let presentations: Vec<Value> = dv
                .get("presentationValues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|pv| {
                    let mut p = pv.clone();
                    let pid = pv
                        .pointer("/presentation/id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    strip_annotations(&mut p);
                    strip_server_owned(&mut p);
                    strip_fields(&mut p, &["presentation", "definitionValue"]);
                    if let (Some(pid), Some(o)) = (pid, p.as_object_mut()) {
                        o.insert(
                            "presentation@odata.bind".to_owned(),
                            Value::String(definition_bind(def, Some(&pid))),
                        );
                    }
                    p
                })
                .collect();
            json!({
                "definition@odata.bind": definition_bind(def, None),
                "enabled": dv.get("enabled").cloned().unwrap_or(Value::Bool(false)),
                "presentationValues": presentations,
            })
        })
        .collect();
    out.insert("added".to_owned(), Value::Array(added));
    Value::Object(out)
}

/// An object as read, in the shape templates have: server-owned and read-only fields
/// removed, the typed collection's `@odata.type` added, scheduled actions and settings
/// without their ids, references named.
fn shape(ik: IntuneKind, mut v: Value, dir: &Directory) -> Value {
    strip_annotations(&mut v);
    strip_server_owned(&mut v);
    strip_fields(&mut v, INTUNE_READ_ONLY);
    if let (Some(t), Some(o)) = (implied_type(ik), v.as_object_mut()) {
        o.entry("@odata.type")
            .or_insert_with(|| Value::String(t.to_owned()));
    }
    let nested: &[&str] = match ik {
        IntuneKind::CompliancePolicy => &["scheduledActionsForRule"],
        IntuneKind::SettingsCatalog => &["settings"],
        _ => &[],
    };
    for key in nested {
        for item in v
            .get_mut(*key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            strip_fields(item, &["id", "settingDefinitions"]);
            for config in item
                .get_mut("scheduledActionConfigurations")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                strip_fields(config, &["id"]);
            }
        }
    }
    dir.intune_names(ik, &mut v);
    v
}

/// One object of `ik` read whole: compliance with its scheduled actions, settings catalog
/// with its settings, administrative templates with their definition values.
pub(crate) async fn read_raw(
    graph: &TenantGraph,
    ik: IntuneKind,
    policy: &IntunePolicy,
) -> Result<Value, String> {
    let v = to_json("Intune object", policy)?;
    if ik != IntuneKind::AdministrativeTemplate {
        return Ok(v);
    }
    let values = graph
        .intune()
        .definition_values(&policy.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(admin_shape(&v, &values))
}

fn list_expand(ik: IntuneKind) -> Option<&'static str> {
    match ik {
        IntuneKind::CompliancePolicy => Some(COMPLIANCE_EXPAND),
        IntuneKind::SettingsCatalog => Some("settings"),
        _ => None,
    }
}

/// A collection's listing as the state reads it: with what its objects carry (compliance
/// scheduled actions, settings catalog settings).
pub(super) fn state_listing(graph: &TenantGraph, ik: IntuneKind) -> cipp_graph::List<IntunePolicy> {
    let list = graph.intune().list(ik);
    match list_expand(ik) {
        Some(e) => list.expand(e),
        None => list,
    }
}

/// The existing objects of an Intune template kind, in name space, from its collections'
/// listings ([`state_listing`]); administrative templates' definition values are read here.
pub(super) async fn existing(
    graph: &TenantGraph,
    kind: &TemplateKind,
    listed: Vec<(IntuneKind, Vec<IntunePolicy>)>,
    dir: &Directory,
) -> Result<Vec<Existing>, ApplyError> {
    let mut out = Vec::new();
    for (ik, policies) in listed {
        let mut raws = Vec::with_capacity(policies.len());
        for p in policies {
            let raw = read_raw(graph, ik, &p)
                .await
                .map_err(|message| ApplyError::Invalid {
                    what: format!("{kind} {}", p.id),
                    message,
                })?;
            raws.push((p.id.clone(), raw));
        }
        if ik == IntuneKind::DeviceConfiguration {
            decrypt_oma_settings(graph, &mut raws, Secrets::Seal).await?;
        }
        for (id, raw) in raws {
            out.push(Existing::new(id, shape(ik, raw, dir)));
        }
    }
    Ok(out)
}

/// What [`decrypt_oma_settings`] puts in place of an encrypted setting's masked value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Secrets {
    /// The plain text (base64 for XML), as a template holds it (capture).
    Reveal,
    /// The plain text sealed ([`crate::secrets::seal`]): state and verification.
    Seal,
}

/// At most this many `getOmaSettingPlainTextValue` requests are under way at once.
pub const OMA_READS_AT_ONCE: usize = 4;

/// Decrypts the encrypted OMA-URI settings of device configurations (`(id, body)` pairs):
/// one `getOmaSettingPlainTextValue` per setting with `isEncrypted: true` and a
/// `secretReferenceValueId`, at most [`OMA_READS_AT_ONCE`] at once. Each decrypted setting
/// gets its value as `mode` says and `isEncrypted: false`; every setting loses its
/// `secretReferenceValueId` (a reference into the tenant read). Returns the `omaUri`s of
/// encrypted settings Graph gave no reference for (left as read); the first failed read
/// is the error (it names the operation, never the value).
pub(crate) async fn decrypt_oma_settings(
    graph: &TenantGraph,
    objects: &mut [(String, Value)],
    mode: Secrets,
) -> Result<Vec<String>, cipp_core::Error> {
    use futures::stream::{self, StreamExt};
    use secrecy::ExposeSecret;

    let mut jobs = Vec::new();
    let mut unreadable = Vec::new();
    for (oi, (id, body)) in objects.iter().enumerate() {
        let settings = body.get("omaSettings").and_then(Value::as_array);
        for (si, s) in settings.into_iter().flatten().enumerate() {
            if s.get("isEncrypted").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            match s.get("secretReferenceValueId").and_then(Value::as_str) {
                Some(sid) if !sid.is_empty() => jobs.push((oi, si, id.clone(), sid.to_owned())),
                _ => unreadable.push(
                    s.get("omaUri")
                        .and_then(Value::as_str)
                        .unwrap_or("(no omaUri)")
                        .to_owned(),
                ),
            }
        }
    }
    let intune = graph.intune();
    let read: Vec<_> = stream::iter(jobs)
        .map(|(oi, si, id, sid)| {
            let call = intune.oma_setting_plain_text_value(&id, &sid);
            async move { (oi, si, call.await) }
        })
        .buffer_unordered(OMA_READS_AT_ONCE)
        .collect()
        .await;
    for (oi, si, plain) in read {
        let plain = plain?;
        let Some(setting) = objects
            .get_mut(oi)
            .and_then(|(_, b)| b.get_mut("omaSettings"))
            .and_then(|s| s.get_mut(si))
        else {
            continue;
        };
        let value = crate::secrets::template_value(setting, plain.expose_secret());
        let value = match mode {
            Secrets::Reveal => value,
            Secrets::Seal => crate::secrets::seal(&value),
        };
        if let Some(o) = setting.as_object_mut() {
            o.insert("value".to_owned(), Value::String(value));
            o.insert("isEncrypted".to_owned(), Value::Bool(false));
        }
    }
    for (_, body) in objects.iter_mut() {
        let settings = body.get_mut("omaSettings").and_then(Value::as_array_mut);
        for s in settings.into_iter().flatten() {
            strip_fields(s, &["secretReferenceValueId"]);
        }
    }
    Ok(unreadable)
}

/// Reads object `id` back in name space.
async fn read_back(
    graph: &TenantGraph,
    ik: IntuneKind,
    id: &str,
    dir: &Directory,
) -> Result<Value, String> {
    let mut call = graph.intune().get(ik, id);
    if let Some(e) = list_expand(ik) {
        call = call.map_request(|r| r.query("$expand", e));
    }
    let p = call.await.map_err(|e| e.to_string())?;
    let raw = read_raw(graph, ik, &p).await?;
    if ik != IntuneKind::DeviceConfiguration {
        return Ok(shape(ik, raw, dir));
    }
    let mut one = [(id.to_owned(), raw)];
    decrypt_oma_settings(graph, &mut one, Secrets::Seal)
        .await
        .map_err(|e| e.to_string())?;
    let [(_, raw)] = one;
    Ok(shape(ik, raw, dir))
}

// ---------------------------------------------------------------------------------------
// Writing

/// The settings of `body` whose definition ids an error message names.
fn named_settings(body: &Value, message: &str) -> Vec<String> {
    let lower = message.to_lowercase();
    body.get("settings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.pointer("/settingInstance/settingDefinitionId")?.as_str())
        .filter(|d| lower.contains(&d.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

/// Sends `body` with `send`; for the settings catalog, a refusal naming setting definitions
/// of the body drops those settings (each reported in `warnings`) and sends it once more.
async fn send_offered<T, F, Fut>(
    ik: IntuneKind,
    body: &mut Value,
    warnings: &mut Vec<String>,
    send: F,
) -> Result<T, cipp_core::Error>
where
    F: Fn(IntunePolicy) -> Fut,
    Fut: std::future::Future<Output = Result<T, cipp_core::Error>>,
{
    let policy = |b: &Value| serde_json::from_value::<IntunePolicy>(b.clone()).unwrap_or_default();
    match send(policy(body)).await {
        Err(e)
            if ik == IntuneKind::SettingsCatalog
                && e.status().is_some_and(|s| s.as_u16() == 400) =>
        {
            let missing = named_settings(body, &e.to_string());
            if missing.is_empty() {
                return Err(e);
            }
            if let Some(settings) = body.get_mut("settings").and_then(Value::as_array_mut) {
                settings.retain(|s| {
                    s.pointer("/settingInstance/settingDefinitionId")
                        .and_then(Value::as_str)
                        .is_none_or(|d| !missing.iter().any(|m| m == d))
                });
            }
            for m in &missing {
                warnings.push(format!(
                    "the tenant's Intune does not offer the setting {m}; it was left out"
                ));
            }
            send(policy(body)).await
        }
        other => other,
    }
}

/// The shell of an administrative template and its `updateDefinitionValues` payload.
fn admin_parts(body: &Value) -> (Value, Value) {
    let mut shell = Map::new();
    for k in ["displayName", "description", "roleScopeTagIds"] {
        if let Some(v) = body.get(k) {
            shell.insert(k.to_owned(), v.clone());
        }
    }
    shell
        .entry("roleScopeTagIds")
        .or_insert_with(|| json!(["0"]));
    let values = json!({
        "added": body.get("added").cloned().unwrap_or_else(|| json!([])),
        "updated": [],
        "deletedIds": [],
    });
    (Value::Object(shell), values)
}

/// Replaces an administrative template's definition values: every current one deleted,
/// then the template's added.
async fn replace_definition_values(
    graph: &TenantGraph,
    id: &str,
    values: &Value,
) -> Result<(), cipp_core::Error> {
    let intune = graph.intune();
    let current = intune.definition_values(id).await?;
    let ids: Vec<Value> = current
        .iter()
        .filter_map(|v| v.get("id").cloned())
        .collect();
    if !ids.is_empty() {
        intune
            .update_definition_values(id, &json!({"added": [], "updated": [], "deletedIds": ids}))
            .await?;
    }
    intune.update_definition_values(id, values).await
}

/// Creates or updates an Intune object (`object_id` given: update), then verifies it.
pub(super) async fn apply_intune(
    graph: &TenantGraph,
    w: &Write<'_>,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> (Done, Option<IntuneKind>) {
    let (item, object_id, changes, body) = (w.item, w.object_id, w.changes, w.body);
    let bound = object_id.cloned();
    let ik = match collection_for(&item.kind, body) {
        Ok(k) => k,
        Err(e) => return ((bound, failed(format!("not applied: {e}"))), None),
    };
    // The name space body: admin templates carry their name only in the template.
    let mut named = body.clone();
    if let Some(o) = named.as_object_mut() {
        if object_name(&item.kind, body).is_none() {
            let key = crate::plan::name_key(&item.kind);
            o.insert(key.to_owned(), Value::String(item.name.clone()));
        }
    }
    let mut sent = match dir.intune_ids(ik, &named) {
        Ok(v) => v,
        Err(errors) => {
            let msg = format!("not applied, nothing was sent: {}", errors.join("; "));
            return ((bound, failed(msg)), Some(ik));
        }
    };
    let handle = graph.intune();
    let intune = &handle;
    let mut warnings = Vec::new();
    let written: Result<String, cipp_core::Error> = async {
        match (ik, object_id) {
            (IntuneKind::AdministrativeTemplate, None) => {
                let (shell, values) = admin_parts(&sent);
                let p = serde_json::from_value::<IntunePolicy>(shell).unwrap_or_default();
                let created = intune.create(ik, &p).await?;
                intune
                    .update_definition_values(&created.id, &values)
                    .await?;
                Ok(created.id)
            }
            (IntuneKind::AdministrativeTemplate, Some(id)) => {
                let (shell, values) = admin_parts(&sent);
                let p = serde_json::from_value::<IntunePolicy>(shell).unwrap_or_default();
                intune.update(ik, id, &p).await?;
                replace_definition_values(graph, id, &values).await?;
                Ok(id.clone())
            }
            (_, None) => {
                let created = send_offered(ik, &mut sent, &mut warnings, |p| async move {
                    intune.create(ik, &p).await
                })
                .await?;
                Ok(created.id)
            }
            (_, Some(id)) => {
                send_offered(ik, &mut sent, &mut warnings, |p| async move {
                    intune.update(ik, id, &p).await
                })
                .await?;
                let actions_changed = changes
                    .iter()
                    .any(|c| c.path.starts_with("/scheduledActionsForRule"));
                if ik == IntuneKind::CompliancePolicy && actions_changed {
                    let rules = sent
                        .get("scheduledActionsForRule")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    intune.schedule_actions_for_rules(id, &rules).await?;
                }
                Ok(id.clone())
            }
        }
    }
    .await;
    let id = match written {
        Ok(id) if !id.is_empty() => id,
        Ok(_) => {
            return (
                (
                    None,
                    failed("the object was created but Graph returned no id"),
                ),
                Some(ik),
            )
        }
        Err(e) => return ((bound, Outcome::failed(&e)), Some(ik)),
    };
    if ik == IntuneKind::ReusableSetting {
        if let Some(name) = object_name(&item.kind, &named) {
            dir.reusable.push(super::resolve::Entry::named(&id, name));
        }
    }
    if ik == IntuneKind::AssignmentFilter {
        if let Some(name) = object_name(&item.kind, &named) {
            dir.filters.push(super::resolve::Entry::named(&id, name));
        }
    }
    let verb = if object_id.is_some() {
        "updated"
    } else {
        "created"
    };
    let mut done = format!("{verb} {} \"{}\" ({id})", item.kind, item.name);
    // What was sent, in name space (settings the tenant does not offer left out).
    let mut expected = sent.clone();
    dir.intune_names(ik, &mut expected);
    if !warnings.is_empty() {
        done = format!("{done}; {}", warnings.join("; "));
    }
    let outcome = if !options.verify {
        Outcome::succeeded(done.clone())
    } else {
        match read_back(graph, ik, &id, dir).await {
            Ok(back) => verified(&item.kind, &expected, &back, done.clone()),
            Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
        }
    };
    let outcome = match outcome {
        Outcome::Succeeded { message } if !warnings.is_empty() => Outcome::warning(message),
        other => other,
    };
    ((Some(id), outcome), Some(ik))
}

/// Creates a reusable policy setting from a template's attachment.
pub(super) async fn create_reusable(
    graph: &TenantGraph,
    name: &str,
    body: Option<&Value>,
    dir: &mut Directory,
) -> Done {
    if let Some(done) = super::exists_already(&dir.reusable, name, "reusable setting") {
        return done;
    }
    let Some(body) = body else {
        return (
            None,
            failed("the template does not carry the reusable setting's definition"),
        );
    };
    let mut b = body.clone();
    strip_annotations(&mut b);
    strip_server_owned(&mut b);
    strip_fields(
        &mut b,
        &[
            "referencingConfigurationPolicies",
            "referencingConfigurationPolicyCount",
        ],
    );
    let p = match serde_json::from_value::<IntunePolicy>(b) {
        Ok(p) => p,
        Err(e) => {
            return (
                None,
                failed(format!("the attached reusable setting cannot be read: {e}")),
            )
        }
    };
    match graph.intune().create(IntuneKind::ReusableSetting, &p).await {
        Ok(created) => {
            dir.reusable
                .push(super::resolve::Entry::named(&created.id, name));
            (
                Some(created.id),
                Outcome::succeeded(format!("created reusable setting \"{name}\"")),
            )
        }
        Err(e) => (None, Outcome::failed(&e)),
    }
}

/// The listing of the tenant's assignment filters or reusable settings by name (`$select`
/// of id and display name).
pub(super) fn entries_listing(
    graph: &TenantGraph,
    ik: IntuneKind,
) -> cipp_graph::List<IntunePolicy> {
    graph.intune().list(ik).select(["id", "displayName"])
}

/// Assignment filters or reusable settings as entries (by id and name).
pub(super) fn entries(all: Vec<IntunePolicy>) -> Vec<super::resolve::Entry> {
    all.into_iter()
        .map(|p| super::resolve::Entry::named(p.id.clone(), p.title()))
        .collect()
}
