//! Exchange templates: capture, the tenant's existing objects, and apply with verification
//! for transport rules, spam filters, the connection filter, connectors and Safe Links.
//!
//! # Template bodies
//!
//! Every body is a parameter set of the kind's `New-*` cmdlet, with `Name`:
//!
//! | kind | body | cmdlets |
//! |---|---|---|
//! | [`TemplateKind::TransportRule`] | `New-TransportRule` parameters; `Enabled` for the rule's state | `New/Set/Enable/Disable-TransportRule` |
//! | [`TemplateKind::SpamFilter`] | `New-HostedContentFilterPolicy` parameters, plus the rule's: [`RULE_PARAMETERS`] (`RuleName` when the rule is not named as the policy) | policy, then `New-HostedContentFilterRule` bound to it |
//! | [`TemplateKind::SafeLinks`] | `New-SafeLinksPolicy` parameters plus the rule's, as above | policy, then `New-SafeLinksRule` bound to it |
//! | [`TemplateKind::ConnectionFilter`] | `Set-HostedConnectionFilterPolicy` parameters; `Name` is `Default` | `Set-HostedConnectionFilterPolicy -Identity Default` only: the policy cannot be created |
//! | [`TemplateKind::ExchangeConnector`] | `New-InboundConnector` / `New-OutboundConnector` parameters and CIPP's `cippConnectorType` (`Inbound` / `Outbound`) | `New/Set-<type>Connector` |
//!
//! CIPP's spelling `PolicyName` is read as `Name`, and a rule `State` (`Enabled` /
//! `Disabled`) as `Enabled`. A spam filter or Safe Links template without any rule
//! parameter creates the policy alone (a policy without a rule applies to nobody; the
//! tenant's `Default` spam filter policy has none).
//!
//! # Deploying
//!
//! - Capture: [`capture`]`(exo, kind, identity) -> Result<Capture, CaptureError>` (identity:
//!   the object's name; for spam filters and Safe Links the policy's name).
//! - Existing objects: [`fetch_existing`]`(exo, kind) -> Result<Vec<Existing>, ApplyError>`
//!   gives the objects of one kind in template shape, keyed by GUID;
//!   [`fetch_state`]`(exo, tenant, templates) -> Result<TenantState, ApplyError>` fills
//!   [`TenantState::existing`] for every Exchange kind among the templates (concurrently), to
//!   merge with the Graph kinds' state.
//! - Plan with [`crate::plan::plan`] as for every kind. A connection filter template always
//!   means the tenant's `Default` policy: plan it with [`plan_options`]`(kind, options)`,
//!   which turns adoption by name on for that kind only (without it the plan says
//!   conflict; [`apply_item`] still updates `Default` for a create).
//! - Apply: [`apply_item`]`(exo, item, options) -> (Option<String>, Outcome)` for one plan
//!   item of an Exchange kind — the same pair as the Graph kinds' items in [`crate::apply`]:
//!   the object id to bind, and the outcome — or [`apply`]`(exo, plan, options) ->
//!   ApplyReport` for a plan of Exchange items only.
//!
//! Limits: recipients and domains in rule conditions (`RecipientDomainIs`, `SentTo`, …) and
//! connector domains (`SenderDomains`, `RecipientDomains`, `TlsSenderCertificateName`, …)
//! are kept as written (use variables such as `%defaultdomain%`; capture warns) — as CIPP
//! does: its connector standard and `AddExConnector` send the stored parameters and
//! substitute variables in the comment only; arrays compare in order; properties of a real `Get-*` row that are neither
//! server-owned ([`EXCHANGE_SERVER_OWNED`]) nor parameters are kept and sent on create,
//! where Exchange may refuse them (remove them from the template).
//!
//! Updates send only the parameters that differ (the plan's [`FieldChange`]s); a rule's
//! state changes through `Enable-`/`Disable-`. After each write the object is read back, put
//! in template shape and compared with the template ([`crate::plan::diff`]): a difference
//! makes the outcome [`Outcome::Partial`]. Objects are bound by GUID, so renaming a template
//! renames the object (`Set-* -Name`).

use std::collections::BTreeMap;

use cipp_core::{ErrorSummary, Outcome};
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::protection::{self, ProtectionKind, ProtectionObject};
use cipp_exchange::TenantExchange;
use serde_json::{Map, Value};

use crate::apply::{ApplyError, ApplyOptions, ApplyReport, ItemResult};
use crate::capture::{Capture, CaptureError, TRANSPORT_RULE_READ_ONLY};
use crate::plan::{diff, Action, Binding, FieldChange, Plan, PlanItem, PlanOptions, TenantState};
use crate::template::{Template, TemplateKind, TemplateSource};

/// The Exchange template kinds this module handles.
pub const EXCHANGE_KINDS: &[TemplateKind] = &[
    TemplateKind::TransportRule,
    TemplateKind::SpamFilter,
    TemplateKind::ConnectionFilter,
    TemplateKind::ExchangeConnector,
    TemplateKind::SafeLinks,
];

/// Parameters of a spam filter or Safe Links body that belong to its rule.
pub const RULE_PARAMETERS: &[&str] = &[
    "RuleName",
    "Enabled",
    "Priority",
    "Comments",
    "SentTo",
    "SentToMemberOf",
    "RecipientDomainIs",
    "ExceptIfSentTo",
    "ExceptIfSentToMemberOf",
    "ExceptIfRecipientDomainIs",
];

/// Properties every Exchange object has that are the server's, not parameters.
pub const EXCHANGE_SERVER_OWNED: &[&str] = &[
    "Identity",
    "Id",
    "Guid",
    "GUID",
    "DistinguishedName",
    "ExchangeObjectId",
    "ImmutableId",
    "OrganizationId",
    "OriginatingServer",
    "ExchangeVersion",
    "ObjectState",
    "IsValid",
    "ObjectCategory",
    "ObjectClass",
    "WhenCreated",
    "WhenCreatedUTC",
    "WhenChanged",
    "WhenChangedUTC",
    "RunspaceId",
    "PSComputerName",
    "PSShowComputerName",
    "IsDefault",
    "IsBuiltInProtection",
    "IsValidated",
    "LastValidationTimestamp",
    "LinkForModifiedConnector",
    "State",
    "PolicyName",
];

const CONNECTOR_TYPE: &str = "cippConnectorType";

/// Properties CIPP's stored templates carry that are no cmdlet parameter; left out of what
/// is sent.
pub const CIPP_BOOKKEEPING: &[&str] = &["TemplateName", "TemplateDescription", "GUID"];

/// Whether `kind` is one of [`EXCHANGE_KINDS`].
pub fn is_exchange_kind(kind: &TemplateKind) -> bool {
    EXCHANGE_KINDS.contains(kind)
}

/// The options to plan `kind` with: for [`TemplateKind::ConnectionFilter`] adoption by name
/// is on (every tenant has exactly the `Default` policy); other kinds keep `options`.
pub fn plan_options(kind: &TemplateKind, options: &PlanOptions) -> PlanOptions {
    if *kind == TemplateKind::ConnectionFilter {
        options.clone().adopt_by_name(true)
    } else {
        options.clone()
    }
}

// ---------------------------------------------------------------------------------------
// Kinds, bodies and shapes

/// The protection objects behind a template kind: the policy (or rule, or connector) and,
/// for spam filters and Safe Links, the rule bound to it.
fn objects(kind: &TemplateKind, body: Option<&Map<String, Value>>) -> Option<Objects> {
    let (main, rule) = match kind {
        TemplateKind::TransportRule => (ProtectionKind::TransportRule, None),
        TemplateKind::SpamFilter => (
            ProtectionKind::HostedContentFilterPolicy,
            Some(ProtectionKind::HostedContentFilterRule),
        ),
        TemplateKind::SafeLinks => (
            ProtectionKind::SafeLinksPolicy,
            Some(ProtectionKind::SafeLinksRule),
        ),
        TemplateKind::ConnectionFilter => (ProtectionKind::HostedConnectionFilterPolicy, None),
        TemplateKind::ExchangeConnector => {
            let outbound = body
                .and_then(|b| get_ci(b, CONNECTOR_TYPE))
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("Outbound"));
            let k = if outbound {
                ProtectionKind::OutboundConnector
            } else {
                ProtectionKind::InboundConnector
            };
            (k, None)
        }
        _ => return None,
    };
    Some(Objects { main, rule })
}

/// Every [`Objects`] a kind's objects can be (connectors: inbound and outbound).
fn variants(kind: &TemplateKind) -> Vec<Objects> {
    if *kind != TemplateKind::ExchangeConnector {
        return objects(kind, None).into_iter().collect();
    }
    [
        ProtectionKind::InboundConnector,
        ProtectionKind::OutboundConnector,
    ]
    .map(|main| Objects { main, rule: None })
    .to_vec()
}

#[derive(Clone, Copy)]
struct Objects {
    main: ProtectionKind,
    rule: Option<ProtectionKind>,
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn remove_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let k = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
    obj.remove(&k)
}

fn is_one_of(key: &str, list: &[&str]) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(key))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A row without server-owned and read-only properties, annotations and nulls (and, when
/// `drop_empty`, empty values: parameters not given).
fn clean(row: &Map<String, Value>, read_only: &[&str], drop_empty: bool) -> Map<String, Value> {
    row.iter()
        .filter(|(k, v)| {
            !(is_one_of(k, EXCHANGE_SERVER_OWNED)
                || is_one_of(k, read_only)
                || k.contains('@')
                || v.is_null()
                || (drop_empty && is_empty(v)))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn state_enabled(row: &Map<String, Value>) -> Option<bool> {
    match get_ci(row, "State")? {
        Value::String(s) => Some(!s.eq_ignore_ascii_case("Disabled")),
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn row_map(o: &ProtectionObject) -> Map<String, Value> {
    match serde_json::to_value(o) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn name_of(row: &Map<String, Value>) -> Option<&str> {
    ["Name", "PolicyName", "Identity"]
        .into_iter()
        .find_map(|k| get_ci(row, k).and_then(Value::as_str))
        .filter(|n| !n.trim().is_empty())
}

fn id_of(o: &ProtectionObject) -> Option<String> {
    o.guid
        .clone()
        .or_else(|| o.identity.clone())
        .or_else(|| o.name.clone())
}

/// An object (and its rule) in template shape. For a capture (`capture`) empty values and
/// a rule's `Priority` (its position among the source tenant's rules) are left out; the
/// tenant's existing objects keep them, so a template that sets a priority is compared.
fn shape(
    kind: &TemplateKind,
    objs: Objects,
    main: &ProtectionObject,
    rule: Option<&ProtectionObject>,
    capture: bool,
) -> Map<String, Value> {
    let row = row_map(main);
    let kept = |k: &&str| capture || !k.eq_ignore_ascii_case("Priority");
    let read_only: Vec<&str> = if objs.main == ProtectionKind::TransportRule {
        TRANSPORT_RULE_READ_ONLY
            .iter()
            .copied()
            .filter(kept)
            .collect()
    } else {
        Vec::new()
    };
    let mut out = clean(&row, &read_only, capture);
    if objs.main == ProtectionKind::TransportRule {
        if let Some(e) = state_enabled(&row) {
            out.insert("Enabled".to_owned(), Value::Bool(e));
        }
        if let Some(n) = main.name.clone() {
            out.insert("Name".to_owned(), Value::String(n));
        }
    }
    if *kind == TemplateKind::ExchangeConnector {
        let t = if objs.main == ProtectionKind::OutboundConnector {
            "Outbound"
        } else {
            "Inbound"
        };
        out.insert(CONNECTOR_TYPE.to_owned(), Value::String(t.to_owned()));
    }
    if let (Some(rule_kind), Some(rule)) = (objs.rule, rule) {
        let rrow = row_map(rule);
        let policy_param = rule_kind.policy_parameter().unwrap_or_default();
        for (k, v) in clean(&rrow, &["Name", policy_param], capture) {
            if is_one_of(&k, RULE_PARAMETERS) && !(capture && k.eq_ignore_ascii_case("Priority")) {
                out.insert(k, v);
            }
        }
        if let Some(e) = state_enabled(&rrow) {
            out.insert("Enabled".to_owned(), Value::Bool(e));
        }
        if rule.name.is_some() && rule.name != main.name {
            out.insert("RuleName".to_owned(), rule.name.clone().into());
        }
    }
    out
}

/// A template body split into the main object's parameters and the rule's. `Name`,
/// `PolicyName`, `RuleName` and `cippConnectorType` are left out of both; a rule `State`
/// becomes `Enabled`.
struct Split {
    name: String,
    main: Map<String, Value>,
    rule: Map<String, Value>,
    rule_name: String,
    /// Whether the body names the rule (`RuleName`); otherwise it is named as the policy.
    rule_named: bool,
}

fn split(objs: Objects, name: &str, body: &Map<String, Value>) -> Split {
    let mut main = body.clone();
    for k in ["Name", "PolicyName", CONNECTOR_TYPE] {
        remove_ci(&mut main, k);
    }
    // CIPP's template bookkeeping is no parameter (its description is the rule's comment).
    let description = remove_ci(&mut main, "TemplateDescription");
    for k in CIPP_BOOKKEEPING {
        remove_ci(&mut main, k);
    }
    if let (Some(d), Some(_)) = (description, objs.rule) {
        if get_ci(&main, "Comments").is_none() {
            main.insert("Comments".to_owned(), d);
        }
    }
    let mut rule = Map::new();
    let mut rule_name = name.to_owned();
    let mut rule_named = false;
    if objs.rule.is_some() || objs.main == ProtectionKind::TransportRule {
        if let Some(e) = state_enabled(&main) {
            main.insert("Enabled".to_owned(), Value::Bool(e));
        }
        remove_ci(&mut main, "State");
    }
    if objs.rule.is_some() {
        let keys: Vec<String> = main
            .keys()
            .filter(|k| is_one_of(k, RULE_PARAMETERS))
            .cloned()
            .collect();
        for k in keys {
            if let Some(v) = main.remove(&k) {
                if k.eq_ignore_ascii_case("RuleName") {
                    if let Some(n) = v.as_str().filter(|n| !n.trim().is_empty()) {
                        rule_name = n.to_owned();
                        rule_named = true;
                    }
                } else {
                    rule.insert(k, v);
                }
            }
        }
    }
    Split {
        name: name.to_owned(),
        main,
        rule,
        rule_name,
        rule_named,
    }
}

// ---------------------------------------------------------------------------------------
// Reading

async fn list(
    exo: &TenantExchange,
    kind: Option<ProtectionKind>,
) -> Result<Vec<ProtectionObject>, cipp_core::Error> {
    match kind {
        Some(k) => exo.protection_objects(k).await,
        None => Ok(Vec::new()),
    }
}

/// The rule among `rules` bound to the policy named `policy`.
fn rule_for<'a>(
    rules: &'a [ProtectionObject],
    rule_kind: Option<ProtectionKind>,
    policy: &str,
) -> Option<&'a ProtectionObject> {
    let k = rule_kind?;
    rules
        .iter()
        .find(|r| r.policy(k).is_some_and(|p| p.eq_ignore_ascii_case(policy)))
}

/// The objects of `kind` in the tenant, in template shape, keyed by GUID (see the module
/// docs): one listing per cmdlet noun (two for spam filters and Safe Links, policies and
/// rules; two for connectors, inbound and outbound), concurrently.
pub async fn fetch_existing(
    exo: &TenantExchange,
    kind: &TemplateKind,
) -> Result<Vec<crate::plan::Existing>, ApplyError> {
    let mut out = Vec::new();
    for objs in variants(kind) {
        let (mains, rules) =
            futures::try_join!(exo.protection_objects(objs.main), list(exo, objs.rule))?;
        for m in &mains {
            let rule = rule_for(&rules, objs.rule, m.name.as_deref().unwrap_or_default());
            let body = shape(kind, objs, m, rule, false);
            if let Some(id) = id_of(m) {
                out.push(crate::plan::Existing::new(id, Value::Object(body)));
            }
        }
    }
    Ok(out)
}

/// A [`TenantState`] for `tenant` whose [`TenantState::existing`] holds every Exchange kind
/// among `templates` (read concurrently). Merge it with the Graph kinds' state.
pub async fn fetch_state(
    exo: &TenantExchange,
    tenant: &str,
    templates: &[Template],
) -> Result<TenantState, ApplyError> {
    let mut kinds: Vec<&TemplateKind> = templates
        .iter()
        .map(|t| &t.kind)
        .filter(|k| is_exchange_kind(k))
        .collect();
    kinds.sort();
    kinds.dedup();
    let read = futures::future::try_join_all(kinds.iter().map(|k| fetch_existing(exo, k))).await?;
    let mut state = TenantState::new(tenant);
    state.existing = kinds
        .into_iter()
        .cloned()
        .zip(read)
        .collect::<BTreeMap<_, _>>();
    Ok(state)
}

// ---------------------------------------------------------------------------------------
// Capture

/// Captures the Exchange object `identity` of `kind` as a template (see the module docs for
/// the body): server-owned properties stripped, unknown ones kept; for spam filters and
/// Safe Links the policy with the rule bound to it.
pub async fn capture(
    exo: &TenantExchange,
    kind: &TemplateKind,
    identity: &str,
) -> Result<Capture, CaptureError> {
    let what = kind.to_string();
    if identity.trim().is_empty() {
        return Err(CaptureError::Invalid {
            what,
            message: "give the object's name or identity".to_owned(),
        });
    }
    let candidates = variants(kind);
    if candidates.is_empty() {
        return Err(CaptureError::Unsupported {
            what,
            reason: "not an Exchange template kind".to_owned(),
        });
    }
    let mut found = None;
    for objs in candidates {
        if let Some(o) = exo.protection_object(objs.main, identity).await? {
            found = Some((objs, o));
            break;
        }
    }
    let (objs, main) = found.ok_or_else(|| CaptureError::NotFound {
        what: what.clone(),
        id: identity.to_owned(),
        tenant: exo.id().to_string(),
    })?;
    let name = main.name.clone().unwrap_or_else(|| identity.to_owned());
    let rules = list(exo, objs.rule).await?;
    let rule = rule_for(&rules, objs.rule, &name);
    let mut body = shape(kind, objs, &main, rule, true);
    body.insert("Name".to_owned(), Value::String(name.clone()));
    let mut warnings = Vec::new();
    // Recipient conditions and connector domains name things of the source tenant.
    let recipients: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| k.contains("SentTo") || k.ends_with("DomainIs") || k.ends_with("Domains"))
        .collect();
    if !recipients.is_empty() {
        warnings.push(format!(
            "{} name recipients or domains of the source tenant; use variables \
             (%defaultdomain%) or check they exist in the target tenant",
            recipients.join(", ")
        ));
    }
    if objs.rule.is_some() && rule.is_none() {
        warnings.push(format!(
            "the policy \"{name}\" has no rule: deploying it creates the policy alone"
        ));
    }
    let description = ["Comments", "AdminDisplayName", "Comment"]
        .into_iter()
        .find_map(|k| body.get(k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    let template = Template::new(kind.clone(), name, Value::Object(body))
        .with_description(description)
        .with_source(TemplateSource::Tenant {
            tenant: exo.id().to_string(),
            object_id: None,
        });
    Ok(Capture {
        template,
        warnings,
        object_id: id_of(&main).unwrap_or_else(|| identity.to_owned()),
    })
}

// ---------------------------------------------------------------------------------------
// Applying

fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: ErrorSummary::from_message(message),
    }
}

/// The top-level body properties the plan's changes touch.
fn changed_keys(changes: &[FieldChange]) -> Vec<String> {
    let mut keys: Vec<String> = changes
        .iter()
        .filter_map(|c| c.path.strip_prefix('/'))
        .map(|p| {
            p.split('/')
                .next()
                .unwrap_or_default()
                .replace("~1", "/")
                .replace("~0", "~")
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Keeps only the entries of `params` named in `keys` (all when `keys` is `None`).
fn only(params: &Map<String, Value>, keys: Option<&[String]>) -> Map<String, Value> {
    params
        .iter()
        .filter(|(k, _)| keys.is_none_or(|ks| ks.iter().any(|x| x.eq_ignore_ascii_case(k))))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes with a cmdlet, turning an error into a failed step message.
async fn send(
    exo: &TenantExchange,
    c: Result<Cmdlet, cipp_core::Error>,
) -> Result<Vec<Value>, String> {
    let c = c.map_err(|e| e.to_string())?;
    exo.invoke(&c)
        .await
        .map(|o| o.value)
        .map_err(|e| format!("{} failed: {e}", c.name))
}

/// The object of `kind` whose GUID, identity or name is `id`.
async fn resolve(
    exo: &TenantExchange,
    kind: ProtectionKind,
    id: &str,
) -> Result<Option<ProtectionObject>, String> {
    let all = exo
        .protection_objects(kind)
        .await
        .map_err(|e| format!("reading the {} objects failed: {e}", kind.noun()))?;
    Ok(all.into_iter().find(|o| {
        [&o.guid, &o.identity, &o.name]
            .into_iter()
            .flatten()
            .any(|v| v.eq_ignore_ascii_case(id))
    }))
}

/// Enables or disables a rule when `enabled` says so.
async fn rule_state(
    exo: &TenantExchange,
    kind: ProtectionKind,
    name: &str,
    enabled: Option<&Value>,
) -> Result<(), String> {
    if let Some(on) = enabled.and_then(Value::as_bool) {
        send(exo, protection::set_enabled(kind, name, on)).await?;
    }
    Ok(())
}

/// Creates the rule of a split body bound to its policy.
async fn create_rule(
    exo: &TenantExchange,
    rule_kind: ProtectionKind,
    s: &Split,
) -> Result<(), String> {
    let mut params = s.rule.clone();
    params.insert(
        rule_kind.policy_parameter().unwrap_or_default().to_owned(),
        Value::String(s.name.clone()),
    );
    send(
        exo,
        protection::new_object(rule_kind, &s.rule_name, &params).map(|c| c.untyped()),
    )
    .await
    .map(drop)
}

/// Creates the object (and its rule) of a template body; its id.
async fn create(exo: &TenantExchange, objs: Objects, s: &Split) -> Result<String, String> {
    if !objs.main.can_create() {
        // The connection filter policy: every tenant has exactly the Default one.
        let default = resolve(exo, objs.main, "Default")
            .await?
            .ok_or_else(|| "the tenant has no Default connection filter policy".to_owned())?;
        if !s.main.is_empty() {
            send(exo, protection::set(objs.main, "Default", &s.main)).await?;
        }
        return Ok(id_of(&default).unwrap_or_else(|| "Default".to_owned()));
    }
    let rows = send(
        exo,
        protection::new_object(objs.main, &s.name, &s.main).map(|c| c.untyped()),
    )
    .await?;
    let id = rows
        .first()
        .and_then(|r| r.get("Guid").or_else(|| r.get("Identity")))
        .and_then(Value::as_str)
        .unwrap_or(&s.name)
        .to_owned();
    if let Some(rule_kind) = objs.rule {
        if !s.rule.is_empty() || !s.rule_name.eq_ignore_ascii_case(&s.name) {
            create_rule(exo, rule_kind, s).await.map_err(|e| {
                format!("created policy \"{}\" ({id}) but not its rule: {e}", s.name)
            })?;
        }
    }
    Ok(id)
}

/// Updates object `object_id` with the parameters of `s` named in `keys`.
async fn update(
    exo: &TenantExchange,
    objs: Objects,
    object_id: &str,
    s: &Split,
    keys: &[String],
) -> Result<(), String> {
    let current = resolve(exo, objs.main, object_id)
        .await?
        .ok_or_else(|| format!("{} {object_id} no longer exists", objs.main.noun()))?;
    let current_name = current.name.clone().unwrap_or_else(|| object_id.to_owned());
    let is_transport = objs.main == ProtectionKind::TransportRule;
    if keys.iter().any(|k| k.eq_ignore_ascii_case(CONNECTOR_TYPE)) {
        return Err(format!(
            "{current_name} is an {}: a connector's direction cannot change; remove it first",
            objs.main.noun()
        ));
    }
    let mut params = only(&s.main, Some(keys));
    let enabled = if is_transport {
        remove_ci(&mut params, "Enabled")
    } else {
        None
    };
    let identity = if objs.main.can_create() {
        current_name.as_str()
    } else {
        "Default"
    };
    let renamed = objs.main.can_create() && s.name != current_name;
    if let Some(c) = set_cmdlet(
        objs.main,
        identity,
        &params,
        renamed.then_some(s.name.as_str()),
    ) {
        send(exo, Ok(c)).await?;
    }
    if is_transport {
        rule_state(exo, objs.main, &s.name, enabled.as_ref()).await?;
    }
    let Some(rule_kind) = objs.rule else {
        return Ok(());
    };
    let rules = exo
        .protection_objects(rule_kind)
        .await
        .map_err(|e| format!("reading the {} objects failed: {e}", rule_kind.noun()))?;
    let Some(rule) = rule_for(&rules, Some(rule_kind), &s.name) else {
        if s.rule.is_empty() {
            return Ok(());
        }
        return create_rule(exo, rule_kind, s).await;
    };
    let rule_current = rule.name.clone().unwrap_or_default();
    let mut params = only(&s.rule, Some(keys));
    let enabled = remove_ci(&mut params, "Enabled");
    // The rule is renamed when the template names it, or when it was named as the policy
    // (so a renamed policy keeps its rule's name in step).
    let rename_rule = rule_current != s.rule_name
        && (s.rule_named || rule_current.eq_ignore_ascii_case(&current_name));
    if let Some(c) = set_cmdlet(
        rule_kind,
        &rule_current,
        &params,
        rename_rule.then_some(s.rule_name.as_str()),
    ) {
        send(exo, Ok(c)).await?;
    }
    let rule_now = if rename_rule {
        &s.rule_name
    } else {
        &rule_current
    };
    rule_state(exo, rule_kind, rule_now, enabled.as_ref()).await
}

/// `Set-<Noun> -Identity` with `params` and, when renaming, `-Name`; `None` when there is
/// nothing to set.
fn set_cmdlet(
    kind: ProtectionKind,
    identity: &str,
    params: &Map<String, Value>,
    new_name: Option<&str>,
) -> Option<Cmdlet> {
    if params.is_empty() && new_name.is_none() {
        return None;
    }
    let mut c = Cmdlet::new(&kind.cmdlet_name("Set")).param("Identity", identity);
    for (k, v) in params {
        c = c.param(k, v.clone());
    }
    Some(match new_name {
        Some(n) => c.param("Name", n),
        None => c,
    })
}

/// Reads the object named `name` back in template shape.
async fn read_back(
    exo: &TenantExchange,
    kind: &TemplateKind,
    objs: Objects,
    name: &str,
) -> Result<Value, String> {
    let main = resolve(exo, objs.main, name)
        .await?
        .ok_or_else(|| format!("{name} is not found when read back"))?;
    let rules = list(exo, objs.rule)
        .await
        .map_err(|e| format!("reading the rules failed: {e}"))?;
    let rule = rule_for(&rules, objs.rule, name);
    Ok(Value::Object(shape(kind, objs, &main, rule, false)))
}

/// `Succeeded` when the object read back has every property of `sent`, else `Partial`.
fn compare(kind: &TemplateKind, sent: &Value, read: &Value, done: String) -> Outcome {
    let changes = diff(kind, sent, read);
    if changes.is_empty() {
        return Outcome::succeeded(format!("{done}; verified"));
    }
    Outcome::Partial {
        message: format!(
            "{done}, but {} properties differ when read back",
            changes.len()
        ),
        failures: changes
            .iter()
            .map(|c| {
                format!(
                    "{}: expected {}, found {}",
                    c.path,
                    c.to.as_ref().map_or("(unset)".to_owned(), Value::to_string),
                    c.from
                        .as_ref()
                        .map_or("(unset)".to_owned(), Value::to_string)
                )
            })
            .collect(),
    }
}

/// Applies one plan item of an Exchange kind (see the module docs): the object id to bind
/// and the outcome. Items of other kinds fail with a message saying so; nothing is sent.
pub async fn apply_item(
    exo: &TenantExchange,
    item: &PlanItem,
    options: &ApplyOptions,
) -> (Option<String>, Outcome) {
    let (bound, body, keys) = match &item.action {
        Action::NoOp { object_id } => {
            return (
                Some(object_id.clone()),
                Outcome::no_change("already as the template says"),
            )
        }
        Action::Adopt { object_id } => {
            return (
                Some(object_id.clone()),
                Outcome::no_change("adopted: the object found by name already matches"),
            )
        }
        Action::Conflict { reason } => return (None, failed(format!("not applied: {reason}"))),
        Action::Create { body } => (None, body, None),
        Action::Update {
            object_id,
            body,
            changes,
            ..
        } => (Some(object_id.clone()), body, Some(changed_keys(changes))),
    };
    let Some(map) = body.as_object() else {
        return (bound, failed("not applied: the body is not a JSON object"));
    };
    let Some(objs) = objects(&item.kind, Some(map)) else {
        return (
            bound,
            failed(format!("{} is not an Exchange template kind", item.kind)),
        );
    };
    let name = name_of(map).unwrap_or(&item.name).to_owned();
    let s = split(objs, &name, map);
    let result = match (&bound, &keys) {
        (Some(id), Some(keys)) => update(exo, objs, id, &s, keys)
            .await
            .map(|()| (id.clone(), format!("updated {} \"{name}\"", item.kind))),
        _ => create(exo, objs, &s)
            .await
            .map(|id| (id, format!("created {} \"{name}\"", item.kind))),
    };
    let (id, done) = match result {
        Ok(r) => r,
        Err(e) => return (bound, failed(e)),
    };
    if !options.verify {
        return (Some(id), Outcome::succeeded(done));
    }
    let read_name = if objs.main.can_create() {
        name.as_str()
    } else {
        "Default"
    };
    let outcome = match read_back(exo, &item.kind, objs, read_name).await {
        Ok(read) => {
            let mut sent = body.clone();
            if let Value::Object(m) = &mut sent {
                for k in CIPP_BOOKKEEPING {
                    remove_ci(m, k);
                }
                if !objs.main.can_create() {
                    m.insert("Name".to_owned(), Value::String("Default".to_owned()));
                }
            }
            compare(&item.kind, &sent, &read, done)
        }
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    (Some(id), outcome)
}

/// Applies every item of `plan` with [`apply_item`], in order (a plan of Exchange items;
/// its dependencies are Graph objects and are not handled here). One failure never stops
/// the rest; bindings name every object the templates manage now.
pub async fn apply(exo: &TenantExchange, plan: &Plan, options: &ApplyOptions) -> ApplyReport {
    let mut report = ApplyReport {
        tenant: plan.tenant.clone(),
        dependencies: Vec::new(),
        items: Vec::new(),
        bindings: Vec::new(),
    };
    for item in &plan.items {
        let (object_id, outcome) = apply_item(exo, item, options).await;
        if let Some(id) = &object_id {
            report.bindings.push(Binding {
                template_id: item.template_id.clone(),
                tenant: plan.tenant.clone(),
                object_id: id.clone(),
            });
        }
        report.items.push(ItemResult {
            template_id: item.template_id.clone(),
            name: item.name.clone(),
            kind: item.kind.clone(),
            action: item.action.label().to_owned(),
            object_id,
            outcome,
        });
    }
    report
}
