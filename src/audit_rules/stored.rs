//! Reading a row of CIPP's `WebhookRules` table (`Invoke-AddAlert` writes it).

use serde_json::{Map, Value};

use super::conditions::{get_key, scalar_text, Condition, Operator, PropertyPath};
use super::{LogType, Rule, RuleAction, RuleError, RuleTenants, TenantRef, TenantSelection};

pub(super) fn from_cipp(row: &Value) -> Result<Rule, RuleError> {
    let row = row.as_object().ok_or_else(|| RuleError::InvalidStored {
        field: "(row)".to_owned(),
        reason: "is not a JSON object".to_owned(),
    })?;

    let id = get_key(row, "RowKey")
        .map(|v| scalar_text(v).into_owned())
        .unwrap_or_default();

    let log_type = match get_key(row, "type").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => t.parse::<LogType>()?,
        _ => {
            return Err(RuleError::InvalidStored {
                field: "type".to_owned(),
                reason: "is missing; CIPP writes the log, e.g. Audit.Exchange".to_owned(),
            })
        }
    };

    let tenants = RuleTenants {
        include: tenant_selection(&list_field(row, "Tenants")?),
        exclude: tenant_refs(&list_field(row, "excludedTenants")?),
    };

    let mut conditions = Vec::new();
    let mut labels = Vec::new();
    for (i, item) in list_field(row, "Conditions")?.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(RuleError::InvalidStored {
                field: "Conditions".to_owned(),
                reason: format!("has entry {i} that is not an object"),
            });
        };
        if let Some((condition, label)) = condition(obj, i)? {
            conditions.push(condition);
            labels.push(label);
        }
    }

    let mut actions = Vec::new();
    for item in list_field(row, "Actions")? {
        let value = match &item {
            Value::Object(o) => get_key(o, "value").map(|v| scalar_text(v).into_owned()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let action = value.parse::<RuleAction>()?;
        if !actions.contains(&action) {
            actions.push(action);
        }
    }

    let text = |key: &str| {
        get_key(row, key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };

    Ok(Rule {
        id,
        name: labels.join(" and "),
        tenants,
        log_type,
        conditions,
        actions,
        comment: text("AlertComment"),
        subject: text("CustomSubject"),
    })
}

/// One stored condition and CIPP's clause text for it (`Operation is Equals to
/// New-InboxRule`); `None` when its input is empty (CIPP leaves those out).
fn condition(obj: &Map<String, Value>, i: usize) -> Result<Option<(Condition, String)>, RuleError> {
    let missing = |what: &str| RuleError::InvalidStored {
        field: "Conditions".to_owned(),
        reason: format!("has entry {i} without {what}"),
    };
    let property_obj = get_key(obj, "Property").ok_or_else(|| missing("Property"))?;
    let property = match property_obj {
        Value::Object(p) => get_key(p, "label").and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
    .ok_or_else(|| missing("Property.label"))?;
    let operator_obj = get_key(obj, "Operator").ok_or_else(|| missing("Operator"))?;
    let (operator_text, operator_label) = match operator_obj {
        Value::Object(o) => (
            get_key(o, "value").and_then(Value::as_str),
            get_key(o, "label").and_then(Value::as_str),
        ),
        Value::String(s) => (Some(s.as_str()), None),
        _ => (None, None),
    };
    let operator_text = operator_text.ok_or_else(|| missing("Operator.value"))?;

    let path = PropertyPath::parse(property)?;
    let operator = operator_text
        .parse::<Operator>()
        .map_err(|_| RuleError::UnknownOperator {
            operator: operator_text.to_owned(),
            property: Some(property.to_owned()),
        })?;

    let input = input_value(get_key(obj, "Input"));
    let empty = match &input {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    let label = format!(
        "{property} is {} {}",
        operator_label.unwrap_or(operator.as_str()),
        match &input {
            Value::Array(items) => items
                .iter()
                .map(|v| scalar_text(v).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            other => scalar_text(other).into_owned(),
        }
    );
    Ok(Some((Condition::new(path, operator, input)?, label)))
}

/// CIPP's `Input.value`: a `{value, label}` object gives its value; a list of them gives
/// the list of values (PowerShell's member enumeration).
fn input_value(input: Option<&Value>) -> Value {
    match input {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(o)) => get_key(o, "value").cloned().unwrap_or(Value::Null),
        Some(Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(o) => get_key(o, "value").cloned(),
                    Value::Null => None,
                    other => Some(other.clone()),
                })
                .collect(),
        ),
        Some(other) => other.clone(),
    }
}

/// A field holding a JSON list, as JSON text or parsed; a single object (PowerShell's
/// `ConvertTo-Json` of a one-element list) counts as a list of one. Missing, `null`, empty
/// text and `"null"` give an empty list.
fn list_field(row: &Map<String, Value>, field: &str) -> Result<Vec<Value>, RuleError> {
    let parsed = match get_key(row, field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(Vec::new());
            }
            serde_json::from_str::<Value>(t).map_err(|e| RuleError::InvalidStored {
                field: field.to_owned(),
                reason: format!("is not valid JSON: {e}"),
            })?
        }
        Some(other) => other.clone(),
    };
    Ok(match parsed {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        other => vec![other],
    })
}

fn tenant_refs(items: &[Value]) -> Vec<TenantRef> {
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) if !s.is_empty() => Some(TenantRef::Tenant(s.clone())),
            Value::Object(o) => {
                let value = get_key(o, "value").map(|v| scalar_text(v).into_owned())?;
                if value.is_empty() {
                    return None;
                }
                let is_group = get_key(o, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("Group"));
                Some(if is_group {
                    TenantRef::Group(value)
                } else {
                    TenantRef::Tenant(value)
                })
            }
            _ => None,
        })
        .collect()
}

fn tenant_selection(items: &[Value]) -> TenantSelection {
    let refs = tenant_refs(items);
    if refs
        .iter()
        .any(|r| matches!(r, TenantRef::Tenant(t) if t.eq_ignore_ascii_case("AllTenants")))
    {
        TenantSelection::All
    } else {
        TenantSelection::Listed(refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored_row() -> Value {
        json!({
            "PartitionKey": "Webhookv2",
            "RowKey": "8d3f0e5a-4c1b-4a7e-9f2d-6b5c4a3e2d1f",
            "Tenants": "[{\"value\":\"AllTenants\",\"label\":\"*All Tenants\"}]",
            "excludedTenants": "[{\"value\":\"fabrikam.onmicrosoft.com\",\"label\":\"Fabrikam\",\"type\":\"Tenant\"},{\"value\":\"5e7d\",\"label\":\"VIP\",\"type\":\"Group\"}]",
            "Conditions": "[{\"Property\":{\"value\":\"List:Operation\",\"label\":\"Operation\"},\"Operator\":{\"value\":\"EQ\",\"label\":\"Equals to\"},\"Input\":{\"value\":\"New-InboxRule\",\"label\":\"created new inbox rule in outlook web app\"}},{\"Property\":{\"value\":\"String\",\"label\":\"ForwardTo\"},\"Operator\":{\"value\":\"like\",\"label\":\"Like\"},\"Input\":{\"value\":\"*@*\"}},{\"Property\":{\"value\":\"String\",\"label\":\"Name\"},\"Operator\":{\"value\":\"eq\",\"label\":\"Equals to\"},\"Input\":{\"value\":\"\"}}]\r\n",
            "Actions": "[{\"value\":\"generatemail\",\"label\":\"Generate an email\"},{\"value\":\"becremediate\",\"label\":\"Execute a BEC Remediate\"}]",
            "type": "Audit.Exchange",
            "AlertComment": "Call the user first",
            "CustomSubject": ""
        })
    }

    #[test]
    fn reads_a_stored_rule() {
        let rule = Rule::from_cipp(&stored_row()).expect("rule");
        assert_eq!(rule.id, "8d3f0e5a-4c1b-4a7e-9f2d-6b5c4a3e2d1f");
        assert_eq!(rule.log_type, LogType::Exchange);
        assert_eq!(rule.tenants.include, TenantSelection::All);
        assert_eq!(
            rule.tenants.exclude,
            vec![
                TenantRef::Tenant("fabrikam.onmicrosoft.com".into()),
                TenantRef::Group("5e7d".into())
            ]
        );
        assert_eq!(rule.conditions.len(), 2, "the empty input is left out");
        assert_eq!(rule.conditions[0].operator(), Operator::Eq);
        assert_eq!(rule.conditions[1].property().as_str(), "ForwardTo");
        assert_eq!(
            rule.actions,
            vec![RuleAction::GenerateMail, RuleAction::BecRemediate]
        );
        assert_eq!(rule.comment.as_deref(), Some("Call the user first"));
        assert_eq!(rule.subject, None);
        assert_eq!(
            rule.name,
            "Operation is Equals to New-InboxRule and ForwardTo is Like *@*"
        );
        assert!(rule.tenants.applies_to("contoso.onmicrosoft.com", &[]));
        assert!(!rule.tenants.applies_to("fabrikam.onmicrosoft.com", &[]));
    }

    #[test]
    fn reads_parsed_fields_single_objects_and_country_lists() {
        let row = json!({
            "RowKey": "x",
            "Tenants": {"value": "contoso.onmicrosoft.com", "label": "Contoso"},
            "Conditions": [
                {"Property": {"value": "List:Operation", "label": "Operation"}, "Operator": {"value": "EQ"}, "Input": {"value": "UserLoggedIn"}},
                {"Property": {"value": "List:countryList", "label": "CIPPGeoLocation", "multi": true}, "Operator": {"value": "NotIn", "label": "Not In"},
                 "Input": [{"value": "NL", "label": "Netherlands"}, {"value": "BE", "label": "Belgium"}]}
            ],
            "Actions": "{\"value\":\"disableUser\",\"label\":\"Disable the user\"}",
            "type": "Audit.AzureActiveDirectory"
        });
        let rule = Rule::from_cipp(&row).expect("rule");
        assert_eq!(
            rule.tenants.include,
            TenantSelection::Listed(vec![TenantRef::Tenant("contoso.onmicrosoft.com".into())])
        );
        assert_eq!(rule.conditions[1].input(), &json!(["NL", "BE"]));
        assert_eq!(rule.actions, vec![RuleAction::DisableUser]);
        assert!(
            rule.name.ends_with("CIPPGeoLocation is Not In NL BE"),
            "{}",
            rule.name
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let mut row = stored_row();
        row["Actions"] = json!("[{\"value\":\"cippcommand\"}]");
        let err = Rule::from_cipp(&row).expect_err("action");
        assert!(err.to_string().contains("'cippcommand'"), "{err}");

        let mut row = stored_row();
        row["Conditions"] = json!([{"Property": {"label": "Operation"}, "Operator": {"value": "startswith"}, "Input": {"value": "New"}}]);
        let err = Rule::from_cipp(&row).expect_err("operator");
        assert!(
            err.to_string().contains("'startswith'") && err.to_string().contains("'Operation'"),
            "{err}"
        );

        let mut row = stored_row();
        row["Conditions"] = json!([{"Property": {"label": "$(Remove-Item)"}, "Operator": {"value": "eq"}, "Input": {"value": "x"}}]);
        let err = Rule::from_cipp(&row).expect_err("property");
        assert!(err.to_string().contains("$(Remove-Item)"), "{err}");

        let mut row = stored_row();
        row["Conditions"] = json!("[not json");
        let err = Rule::from_cipp(&row).expect_err("json");
        assert!(err.to_string().contains("'Conditions'"), "{err}");

        let mut row = stored_row();
        row["type"] = json!("DLP.All");
        let err = Rule::from_cipp(&row).expect_err("type");
        assert!(err.to_string().contains("DLP.All"), "{err}");

        let mut row = stored_row();
        row["Conditions"] = json!([{"Property": {"label": "UserAgent"}, "Operator": {"value": "match"}, "Input": {"value": "(a"}}]);
        assert!(matches!(
            Rule::from_cipp(&row),
            Err(RuleError::InvalidRegex { .. })
        ));
    }
}
