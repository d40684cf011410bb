//! Conditional Access guardrails, run on a tenant's resolved templates before the plan:
//!
//! - **Applications the tenant lacks.** A policy that names an application (by app id) in
//!   `conditions.applications.includeApplications` / `excludeApplications` is refused by
//!   Graph when the tenant has no service principal for it. Such ids are dropped with a
//!   warning; a policy left with no application to include fails (it would otherwise apply
//!   to nothing, or be refused).
//! - **Security defaults.** Graph refuses an enabled Conditional Access policy while
//!   security defaults are on. They are disabled only when asked
//!   ([`SecurityDefaults::DisableWhenReplaced`]) and only when an enabled policy is about to
//!   replace them; otherwise the deploy stops before sending anything, saying why.
//!
//! ```
//! use cipp_templates::guardrails::{app_ids_of, SecurityDefaults};
//! use cipp_templates::template::{Template, TemplateKind};
//! let t = Template::new(TemplateKind::ConditionalAccess, "MFA", serde_json::json!({
//!     "conditions": {"applications": {"includeApplications": ["All"],
//!         "excludeApplications": ["00000002-0000-0ff1-ce00-000000000000"]}}}));
//! assert_eq!(app_ids_of(&t), vec!["00000002-0000-0ff1-ce00-000000000000".to_owned()]);
//! assert_eq!(SecurityDefaults::default(), SecurityDefaults::Refuse);
//! ```

use std::collections::BTreeSet;

use cipp_graph::TenantGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{CaState, REPORT_ONLY_STATE};
use crate::template::{Template, TemplateKind};

/// What to do when security defaults are on and an enabled policy is deployed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SecurityDefaults {
    /// Stop the tenant's deploy before anything is sent (the default).
    #[default]
    Refuse,
    /// Disable security defaults, but only when an enabled policy replaces them.
    DisableWhenReplaced,
}

/// Why a guardrail stopped a tenant's deploy.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GuardrailError {
    /// Reading or changing the tenant failed.
    #[error("{0}")]
    Service(#[from] cipp_core::Error),
    /// A policy names only applications the tenant has no service principal for.
    #[error(
        "Conditional Access template `{template}`: none of its applications exist in the \
         tenant (no service principal for {missing}); add the applications or target \"All\""
    )]
    NoApplicationsLeft {
        /// The template's name.
        template: String,
        /// The missing app ids, comma-separated.
        missing: String,
    },
    /// Security defaults are on and enabled policies would be refused.
    #[error(
        "security defaults are on, and Graph refuses enabled Conditional Access policies \
         while they are ({templates}): deploy report-only, or allow disabling security \
         defaults (SecurityDefaults::DisableWhenReplaced)"
    )]
    SecurityDefaultsOn {
        /// The enabled templates, comma-separated.
        templates: String,
    },
}

/// Values of `includeApplications` / `excludeApplications` that are not app ids.
const KEYWORDS: &[&str] = &["All", "None", "Office365", "MicrosoftAdminPortals"];

const APP_LISTS: &[&str] = &["includeApplications", "excludeApplications"];

fn applications_mut(body: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    body.get_mut("conditions")?
        .get_mut("applications")?
        .as_object_mut()
}

/// The application ids a Conditional Access template names (keywords such as `All`
/// excluded), sorted.
pub fn app_ids_of(template: &Template) -> Vec<String> {
    let apps = template
        .body
        .get("conditions")
        .and_then(|c| c.get("applications"));
    let mut ids = BTreeSet::new();
    for list in APP_LISTS {
        for v in apps
            .and_then(|a| a.get(*list))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(v)) {
                ids.insert(v.to_owned());
            }
        }
    }
    ids.into_iter().collect()
}

/// Drops from the Conditional Access templates every application id the tenant has no
/// service principal for (one lookup per distinct id, run together), returning one
/// warning per template changed. A template whose `includeApplications` named only missing
/// applications fails with [`GuardrailError::NoApplicationsLeft`].
pub async fn drop_missing_applications(
    graph: &TenantGraph,
    templates: &mut [Template],
) -> Result<Vec<String>, GuardrailError> {
    let wanted: BTreeSet<String> = templates
        .iter()
        .filter(|t| t.kind == TemplateKind::ConditionalAccess)
        .flat_map(app_ids_of)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let lookups = wanted.iter().map(|id| async move {
        let sp = graph.applications().find_service_principal(id).await?;
        Ok::<_, cipp_core::Error>((id.clone(), sp.is_some()))
    });
    let missing: BTreeSet<String> = futures::future::try_join_all(lookups)
        .await?
        .into_iter()
        .filter(|(_, present)| !present)
        .map(|(id, _)| id)
        .collect();
    let mut warnings = Vec::new();
    for t in templates
        .iter_mut()
        .filter(|t| t.kind == TemplateKind::ConditionalAccess)
    {
        let name = t.name.clone();
        let Some(apps) = applications_mut(&mut t.body) else {
            continue;
        };
        let mut dropped = Vec::new();
        let mut include_emptied = false;
        for list in APP_LISTS {
            let Some(items) = apps.get_mut(*list).and_then(Value::as_array_mut) else {
                continue;
            };
            let before = items.len();
            items.retain(|v| {
                let gone = v.as_str().is_some_and(|s| missing.contains(s));
                if gone {
                    dropped.push(v.as_str().unwrap_or_default().to_owned());
                }
                !gone
            });
            if *list == "includeApplications" && before > 0 && items.is_empty() {
                include_emptied = true;
            }
        }
        if include_emptied {
            return Err(GuardrailError::NoApplicationsLeft {
                template: name,
                missing: dropped.join(", "),
            });
        }
        if !dropped.is_empty() {
            warnings.push(format!(
                "Conditional Access template `{name}`: dropped {} (no service principal in the tenant)",
                dropped.join(", ")
            ));
        }
    }
    Ok(warnings)
}

/// The state a Conditional Access template's policy will be sent with.
fn sent_state(template: &Template, ca_state: CaState) -> String {
    ca_state
        .graph_state()
        .map(str::to_owned)
        .or_else(|| {
            template
                .body
                .get("state")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| REPORT_ONLY_STATE.to_owned())
}

/// Checks security defaults against the Conditional Access templates that will be sent
/// enabled: nothing to do when none will be, or when security defaults are off; otherwise
/// refuses, or disables them when `choice` allows it (returning a note saying so).
pub async fn security_defaults(
    graph: &TenantGraph,
    templates: &[Template],
    ca_state: CaState,
    choice: SecurityDefaults,
) -> Result<Option<String>, GuardrailError> {
    let enabled: Vec<&str> = templates
        .iter()
        .filter(|t| t.kind == TemplateKind::ConditionalAccess)
        .filter(|t| sent_state(t, ca_state) == "enabled")
        .map(|t| t.name.as_str())
        .collect();
    if enabled.is_empty() {
        return Ok(None);
    }
    let current = graph.conditional_access().security_defaults().await?;
    if !current.is_enabled {
        return Ok(None);
    }
    match choice {
        SecurityDefaults::Refuse => Err(GuardrailError::SecurityDefaultsOn {
            templates: enabled.join(", "),
        }),
        SecurityDefaults::DisableWhenReplaced => {
            graph
                .conditional_access()
                .disable_security_defaults()
                .await?;
            Ok(Some(format!(
                "security defaults disabled: replaced by {}",
                enabled.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ca(state: &str) -> Template {
        Template::new(
            TemplateKind::ConditionalAccess,
            "p",
            json!({"state": state, "conditions": {}}),
        )
    }

    #[test]
    fn the_sent_state_follows_the_plan_override() {
        assert_eq!(sent_state(&ca("enabled"), CaState::DoNotChange), "enabled");
        assert_eq!(
            sent_state(&ca("enabled"), CaState::ReportOnly),
            REPORT_ONLY_STATE
        );
        assert_eq!(sent_state(&ca("disabled"), CaState::Enabled), "enabled");
        let stateless = Template::new(TemplateKind::ConditionalAccess, "p", json!({}));
        assert_eq!(
            sent_state(&stateless, CaState::DoNotChange),
            REPORT_ONLY_STATE
        );
    }

    #[test]
    fn keywords_are_not_app_ids() {
        let t = Template::new(
            TemplateKind::ConditionalAccess,
            "p",
            json!({"conditions": {"applications": {
                "includeApplications": ["Office365", "b", "a"], "excludeApplications": ["a", "none"]}}}),
        );
        assert_eq!(app_ids_of(&t), vec!["a".to_owned(), "b".to_owned()]);
    }
}
