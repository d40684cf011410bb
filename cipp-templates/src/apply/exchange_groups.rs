//! Group templates of the kinds Exchange creates — distribution lists, mail-enabled
//! security groups and dynamic distribution groups — the way CIPP's `New-CIPPGroup` does.
//!
//! - Create: `New-DistributionGroup` (`-Type Distribution` or `Security`; `Name` and
//!   `DisplayName` from the template's display name, `Alias` from `username` — its local
//!   part when it is an address, which then is the `PrimarySmtpAddress`; without one
//!   Exchange gives the alias at the tenant's default domain —, `Description`,
//!   `RequireSenderAuthenticationEnabled` = not `allowExternal`) or
//!   `New-DynamicDistributionGroup` (`RecipientFilter` from `membershipRules`); then
//!   `Set-*` for what `New-*` cannot take (`hideFromGAL`, a dynamic group's
//!   `allowExternal`).
//! - Update: only the display name, description, membership rule (recipient filter),
//!   `allowExternal` and `hideFromGAL` change (`Set-DistributionGroup` /
//!   `Set-DynamicDistributionGroup`); any other difference fails the item, naming it.
//! - Existing groups are read from Exchange ([`fetch_existing`]) in CIPP's group template
//!   shape, so a second deploy is all no-op. Distribution lists and mail-enabled security
//!   groups are bound by their directory id (`ExternalDirectoryObjectId`, the id Graph
//!   lists them by), dynamic distribution groups — which are not directory objects — by
//!   their Exchange `Guid`.
//! - Verification reads the group back and compares it with the template.

use cipp_core::Outcome;
use cipp_exchange::distribution_groups::{
    get_distribution_groups, get_dynamic_distribution_groups, new_distribution_group,
    new_dynamic_distribution_group, set_distribution_group, set_dynamic_distribution_group,
    strip_system_exclusions, DistributionGroupType, GroupChanges, NewDistributionGroup,
    NewDynamicDistributionGroup,
};
use cipp_exchange::TenantExchange;
use serde_json::{Map, Value};

use super::{failed, item_result, str_field, ApplyOptions, ApplyReport, Done};
use crate::plan::{diff, object_name, Action, Binding, Existing, FieldChange, Plan, PlanItem};
use crate::template::{GroupType, Template, TemplateKind};

/// Whether a group template body is of a kind Exchange creates.
pub fn is_exchange_group(body: &Value) -> bool {
    matches!(
        GroupType::detect(body),
        Some(
            GroupType::Distribution
                | GroupType::MailEnabledSecurity
                | GroupType::DynamicDistribution
        )
    )
}

/// Whether `item` is a group template Exchange creates or updates.
pub fn is_exchange_group_write(item: &PlanItem) -> bool {
    item.kind == TemplateKind::Group
        && match &item.action {
            Action::Create { body } | Action::Update { body, .. } => is_exchange_group(body),
            _ => false,
        }
}

/// `template` with the `groupType` of an Exchange group written as CIPP writes it now
/// (`mailenabledsecurity` → `security`, …), so it compares equal with the groups read
/// back; a dynamic distribution group's filter (`membershipRules`, or an Exchange row's
/// `RecipientFilter` moved there) without the system exclusions Exchange appends, so only
/// the user's filter is planned and sent; other templates unchanged.
pub fn normalise_template(template: &Template) -> Template {
    let mut t = template.clone();
    if t.kind != TemplateKind::Group || !is_exchange_group(&t.body) {
        return t;
    }
    if is_dynamic(&t.body) {
        if let Some(obj) = t.body.as_object_mut() {
            let has_rules = obj
                .keys()
                .any(|k| k.eq_ignore_ascii_case("membershipRules"));
            if !has_rules {
                if let Some(k) = obj
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case("RecipientFilter"))
                    .cloned()
                {
                    if let Some(v) = obj.remove(&k) {
                        obj.insert("membershipRules".to_owned(), v);
                    }
                }
            }
            for (k, v) in obj.iter_mut() {
                if k.eq_ignore_ascii_case("membershipRules") || k == "membershipRule" {
                    if let Value::String(f) = v {
                        *f = strip_system_exclusions(f);
                    }
                }
            }
        }
    }
    if let Some(kind) = GroupType::detect(&t.body) {
        if let Some(obj) = t.body.as_object_mut() {
            if let Some(k) = obj
                .keys()
                .find(|k| k.eq_ignore_ascii_case("groupType"))
                .cloned()
            {
                obj.insert(k, Value::String(kind.cipp_name().to_owned()));
            }
        }
    }
    t
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(a) => {
            let s: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            (!s.is_empty()).then(|| s.join("\n"))
        }
        _ => None,
    }
}

/// An Exchange group row (`Get-DistributionGroup` / `Get-DynamicDistributionGroup`) in
/// CIPP's group template shape; `username` is the primary address when `by_address`, else
/// the alias.
fn shape(row: &Value, by_address: bool) -> Value {
    let mut m = Map::new();
    let dynamic = row["RecipientTypeDetails"] == "DynamicDistributionGroup"
        || row.get("RecipientFilter").is_some_and(|f| !f.is_null());
    let security = row["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
        || row["GroupType"]
            .as_str()
            .is_some_and(|t| t.contains("SecurityEnabled"));
    let kind = if dynamic {
        GroupType::DynamicDistribution
    } else if security {
        GroupType::MailEnabledSecurity
    } else {
        GroupType::Distribution
    };
    if let Some(n) = text(&row["DisplayName"]).or_else(|| text(&row["Name"])) {
        m.insert("displayName".into(), Value::String(n));
    }
    if let Some(d) = text(&row["Description"]) {
        m.insert("description".into(), Value::String(d));
    }
    m.insert("groupType".into(), Value::String(kind.cipp_name().into()));
    let user = if by_address {
        text(&row["PrimarySmtpAddress"])
    } else {
        text(&row["Alias"])
    };
    if let Some(u) = user {
        m.insert("username".into(), Value::String(u));
    }
    // Exchange appends its system exclusions to every filter: the template holds the
    // user's part only.
    if let Some(f) = text(&row["RecipientFilter"]) {
        m.insert(
            "membershipRules".into(),
            Value::String(strip_system_exclusions(&f)),
        );
    }
    if let Some(r) = row["RequireSenderAuthenticationEnabled"].as_bool() {
        m.insert("allowExternal".into(), Value::Bool(!r));
    }
    if let Some(h) = row["HiddenFromAddressListsEnabled"].as_bool() {
        m.insert("hideFromGAL".into(), Value::Bool(h));
    }
    Value::Object(m)
}

/// The id a group is bound by: its directory id, else (dynamic) its Exchange `Guid`.
fn id_of(row: &Value) -> Option<String> {
    text(&row["ExternalDirectoryObjectId"]).or_else(|| text(&row["Guid"]))
}

fn is_dynamic(body: &Value) -> bool {
    GroupType::detect(body) == Some(GroupType::DynamicDistribution)
}

fn username(body: &Value) -> Option<&str> {
    str_field(body, "username").or_else(|| str_field(body, "mailNickname"))
}

/// Whether the template of `name` among `templates` gives an address as its `username`.
fn by_address(templates: &[Template], name: &str) -> bool {
    templates.iter().any(|t| {
        object_name(&t.kind, &t.body).is_some_and(|n| n.eq_ignore_ascii_case(name))
            && username(&t.body).is_some_and(|u| u.contains('@'))
    })
}

/// Reads the tenant's Exchange groups that `templates` (group templates) may match, in
/// CIPP's group template shape: distribution lists and mail-enabled security groups
/// (`Get-DistributionGroup`) when a template is one, dynamic distribution groups
/// (`Get-DynamicDistributionGroup`) when a template is one, together.
pub async fn fetch_existing(
    exo: &TenantExchange,
    templates: &[Template],
) -> Result<Vec<Existing>, cipp_core::Error> {
    let groups: Vec<&Template> = templates
        .iter()
        .filter(|t| t.kind == TemplateKind::Group && is_exchange_group(&t.body))
        .collect();
    let want_dynamic = groups.iter().any(|t| is_dynamic(&t.body));
    let want_lists = groups.iter().any(|t| !is_dynamic(&t.body));
    let lists = async {
        if want_lists {
            exo.invoke(&get_distribution_groups(None)?)
                .await
                .map(|o| o.value)
        } else {
            Ok(Vec::new())
        }
    };
    let dynamic = async {
        if want_dynamic {
            exo.invoke(&get_dynamic_distribution_groups(None)?)
                .await
                .map(|o| o.value)
        } else {
            Ok(Vec::new())
        }
    };
    let (lists, dynamic) = futures::try_join!(lists, dynamic)?;
    Ok(lists
        .iter()
        .chain(dynamic.iter())
        .filter_map(|row| {
            let id = id_of(row)?;
            let name = text(&row["DisplayName"]).or_else(|| text(&row["Name"]))?;
            Some(Existing::new(id, shape(row, by_address(templates, &name))))
        })
        .collect())
}

/// The alias and primary address of the group to create for `body`: a `username` that is
/// a full address (holds `@`) gives both (the alias is its local part); any other gives the
/// alias only, and Exchange makes the address from it at the default domain —
/// `PrimarySmtpAddress` is never sent for it.
fn alias_and_address(body: &Value) -> (Option<String>, Option<String>) {
    match username(body) {
        Some(u) if u.contains('@') => (u.split('@').next().map(str::to_owned), Some(u.to_owned())),
        Some(u) => (Some(u.to_owned()), None),
        None => (None, None),
    }
}

fn allow_external(body: &Value) -> Option<bool> {
    body.get("allowExternal").and_then(Value::as_bool)
}

fn hide(body: &Value) -> Option<bool> {
    body.get("hideFromGAL").and_then(Value::as_bool)
}

/// Creates the group: its id (bound) or why not.
async fn create(exo: &TenantExchange, name: &str, body: &Value) -> Result<String, String> {
    let (alias, address) = alias_and_address(body);
    let kind = GroupType::detect(body);
    let mut after = GroupChanges::new();
    after.hidden_from_address_lists = hide(body).filter(|h| *h);
    let cmdlet = if kind == Some(GroupType::DynamicDistribution) {
        let rule = str_field(body, "membershipRules")
            .or_else(|| str_field(body, "membershipRule"))
            .ok_or("a dynamic distribution group template needs membershipRules")?;
        let mut g = NewDynamicDistributionGroup::new(name, rule).display_name(name);
        if let Some(a) = alias {
            g = g.alias(a);
        }
        if let Some(a) = address {
            g = g.primary_smtp_address(a);
        }
        // CIPP opens a dynamic group to outside senders afterwards.
        after.require_sender_authentication = allow_external(body).filter(|a| *a).map(|_| false);
        new_dynamic_distribution_group(&g)
    } else {
        let t = if kind == Some(GroupType::MailEnabledSecurity) {
            DistributionGroupType::Security
        } else {
            DistributionGroupType::Distribution
        };
        let mut g = NewDistributionGroup::new(name, t)
            .display_name(name)
            .require_sender_authentication(!allow_external(body).unwrap_or(false));
        if let Some(a) = alias {
            g = g.alias(a);
        }
        if let Some(a) = address {
            g = g.primary_smtp_address(a);
        }
        if let Some(d) = str_field(body, "description") {
            g = g.description(d);
        }
        new_distribution_group(&g)
    }
    .map_err(|e| format!("not created: {e}"))?;
    let out = exo.invoke(&cmdlet).await.map_err(|e| e.to_string())?;
    let id = out
        .value
        .first()
        .and_then(id_of)
        .ok_or("the group was created but Exchange returned no id")?;
    if !after.is_empty() {
        set(exo, &id, kind, &after)
            .await
            .map_err(|e| format!("created ({id}), but setting it up failed: {e}"))?;
    }
    Ok(id)
}

async fn set(
    exo: &TenantExchange,
    id: &str,
    kind: Option<GroupType>,
    changes: &GroupChanges,
) -> Result<(), cipp_core::Error> {
    let c = if kind == Some(GroupType::DynamicDistribution) {
        set_dynamic_distribution_group(id, changes)?
    } else {
        set_distribution_group(id, changes)?
    };
    exo.invoke(&c).await.map(drop)
}

/// The changes an update sends, or the properties that cannot change in place.
fn changes_for(body: &Value, changes: &[FieldChange]) -> Result<GroupChanges, Vec<String>> {
    let mut out = GroupChanges::new();
    let mut fixed = Vec::new();
    for c in changes {
        match c.path.as_str() {
            "/displayName" => out.display_name = str_field(body, "displayName").map(str::to_owned),
            "/description" if !is_dynamic(body) => {
                out.description = Some(str_field(body, "description").unwrap_or("").to_owned())
            }
            "/membershipRules" | "/membershipRule" if is_dynamic(body) => {
                out.recipient_filter = str_field(body, "membershipRules")
                    .or_else(|| str_field(body, "membershipRule"))
                    .map(str::to_owned)
            }
            "/allowExternal" => {
                out.require_sender_authentication = allow_external(body).map(|a| !a)
            }
            "/hideFromGAL" => out.hidden_from_address_lists = hide(body),
            other => fixed.push(other.to_owned()),
        }
    }
    if fixed.is_empty() {
        Ok(out)
    } else {
        Err(fixed)
    }
}

/// Reads the group back and compares it with `body`.
async fn verify(exo: &TenantExchange, id: &str, body: &Value, done: String) -> Outcome {
    let cmdlet = if is_dynamic(body) {
        get_dynamic_distribution_groups(Some(id))
    } else {
        get_distribution_groups(Some(id))
    };
    let read = match cmdlet {
        Ok(c) => exo.invoke(&c).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let row = match read {
        Ok(out) => match out.value.into_iter().next() {
            Some(r) => r,
            None => return Outcome::warning(format!("{done}; could not verify it: not found")),
        },
        Err(e) => return Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    let by_addr = username(body).is_some_and(|u| u.contains('@'));
    let read = shape(&row, by_addr);
    let differences = diff(&TemplateKind::Group, body, &read);
    if differences.is_empty() {
        return Outcome::succeeded(format!("{done}; verified"));
    }
    Outcome::Partial {
        message: format!(
            "{done}, but {} properties differ when read back",
            differences.len()
        ),
        failures: differences
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

/// Applies one plan item that creates or updates an Exchange group (see the module docs).
async fn apply_item(exo: &TenantExchange, item: &PlanItem, options: &ApplyOptions) -> Done {
    let (bound, body, changes) = match &item.action {
        Action::Create { body } => (None, body, None),
        Action::Update {
            object_id,
            body,
            changes,
            ..
        } => (Some(object_id.clone()), body, Some(changes)),
        Action::NoOp { object_id } | Action::Adopt { object_id } => {
            return (
                Some(object_id.clone()),
                Outcome::no_change("already as the template says"),
            )
        }
        Action::Conflict { reason } => return (None, failed(format!("not applied: {reason}"))),
    };
    let name = object_name(&item.kind, body)
        .unwrap_or(&item.name)
        .to_owned();
    let (id, done) = match (bound, changes) {
        (Some(id), Some(changes)) => {
            let c = match changes_for(body, changes) {
                Ok(c) => c,
                Err(fixed) => {
                    return (
                        Some(id.clone()),
                        failed(format!(
                            "group \"{name}\" ({id}) differs in {}, which cannot be changed in \
                             place; only its display name, description, membership rule, \
                             allowExternal and hideFromGAL are updated — recreate the group \
                             or edit the template",
                            fixed.join(", ")
                        )),
                    )
                }
            };
            if c.is_empty() {
                return (
                    Some(id),
                    Outcome::no_change(format!("group \"{name}\" already matches")),
                );
            }
            if let Err(e) = set(exo, &id, GroupType::detect(body), &c).await {
                return (Some(id), Outcome::failed(&e));
            }
            let done = format!("updated group \"{name}\" ({id})");
            (id, done)
        }
        _ => match create(exo, &name, body).await {
            Ok(id) => {
                let done = format!("created group \"{name}\" ({id})");
                (id, done)
            }
            Err(e) => return (None, failed(e)),
        },
    };
    if !options.verify {
        return (Some(id), Outcome::succeeded(done));
    }
    let outcome = verify(exo, &id, body, done).await;
    (Some(id), outcome)
}

/// Applies every item of `plan` (group templates Exchange creates, see
/// [`is_exchange_group_write`]) in order; one failure never stops the rest. The report's
/// bindings name every group the templates manage now.
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
            report
                .bindings
                .push(Binding::new(&item.template_id, &plan.tenant, id));
        }
        report.items.push(item_result(item, object_id, outcome));
    }
    report
}
