//! Plan and apply templates of every kind in one tenant: the Graph kinds through Graph
//! ([`crate::apply`]), the Exchange kinds through Exchange ([`crate::exchange`]), group
//! templates of the kinds Exchange creates (distribution lists, mail-enabled security and
//! dynamic distribution groups) through Exchange ([`crate::apply::exchange_groups`]); one
//! plan and one report. The facade's fleet deploy and the template standards both use it.

use cipp_exchange::TenantExchange;
use cipp_graph::TenantGraph;

use crate::apply::{self, exchange_groups, ApplyError, ApplyOptions, ApplyReport};
use crate::exchange;
use crate::plan::{self, Binding, Plan, PlanError, PlanOptions};
use crate::template::{Template, TemplateKind};

/// Why a tenant could not be planned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PlanTenantError {
    /// Reading the tenant's state failed.
    State(ApplyError),
    /// Planning failed.
    Plan(PlanError),
}

impl std::fmt::Display for PlanTenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanTenantError::State(e) => write!(f, "reading the tenant's state: {e}"),
            PlanTenantError::Plan(e) => write!(f, "planning: {e}"),
        }
    }
}

impl std::error::Error for PlanTenantError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanTenantError::State(e) => Some(e),
            PlanTenantError::Plan(e) => Some(e),
        }
    }
}

impl From<ApplyError> for PlanTenantError {
    fn from(e: ApplyError) -> Self {
        PlanTenantError::State(e)
    }
}

impl From<PlanError> for PlanTenantError {
    fn from(e: PlanError) -> Self {
        PlanTenantError::Plan(e)
    }
}

/// The plan of `templates` in one tenant: the Graph kinds' state and the Exchange kinds'
/// state read, the connection filter planned with adoption by name (every tenant has
/// exactly its `Default` policy), everything else with `options`. Group templates of
/// Exchange groups are compared with the groups Exchange lists
/// ([`exchange_groups::fetch_existing`]), in place of Graph's view of them.
pub async fn plan_tenant(
    graph: &TenantGraph,
    exo: &TenantExchange,
    templates: &[Template],
    bindings: &[Binding],
    options: &PlanOptions,
) -> Result<Plan, PlanTenantError> {
    let templates: &[Template] = &templates
        .iter()
        .map(exchange_groups::normalise_template)
        .collect::<Vec<_>>();
    let (exo_templates, graph_templates): (Vec<Template>, Vec<Template>) = templates
        .iter()
        .cloned()
        .partition(|t| exchange::is_exchange_kind(&t.kind));
    let mut state = apply::fetch_state(graph, &graph_templates).await?;
    if !exo_templates.is_empty() {
        let exo_state = exchange::fetch_state(exo, &state.tenant, &exo_templates).await?;
        state.existing.extend(exo_state.existing);
    }
    if templates
        .iter()
        .any(|t| t.kind == TemplateKind::Group && exchange_groups::is_exchange_group(&t.body))
    {
        let found = exchange_groups::fetch_existing(exo, templates)
            .await
            .map_err(ApplyError::from)?;
        let list = state.existing.entry(TemplateKind::Group).or_default();
        list.retain(|e| !found.iter().any(|f| f.id == e.id));
        list.extend(found);
    }
    let (filters, rest): (Vec<Template>, Vec<Template>) = templates
        .iter()
        .cloned()
        .partition(|t| t.kind == TemplateKind::ConnectionFilter);
    let mut p = plan::plan(&rest, &state, bindings, options)?;
    if !filters.is_empty() {
        let adopt = exchange::plan_options(&TemplateKind::ConnectionFilter, options);
        let q = plan::plan(&filters, &state, bindings, &adopt)?;
        p.dependencies.extend(q.dependencies);
        p.items.extend(q.items);
    }
    Ok(p)
}

/// Applies a plan in one tenant: Exchange groups to create or update first (so Graph
/// sees them), then Graph items (with every dependency) through Graph, Exchange items
/// through Exchange; one report.
pub async fn apply_tenant(
    graph: &TenantGraph,
    exo: &TenantExchange,
    plan: &Plan,
    options: &ApplyOptions,
) -> ApplyReport {
    let mut group_plan = plan.clone();
    group_plan.dependencies.clear();
    group_plan
        .items
        .retain(exchange_groups::is_exchange_group_write);
    let mut graph_plan = plan.clone();
    graph_plan.items.retain(|i| {
        !exchange::is_exchange_kind(&i.kind) && !exchange_groups::is_exchange_group_write(i)
    });
    let mut exo_plan = plan.clone();
    exo_plan.dependencies.clear();
    exo_plan
        .items
        .retain(|i| exchange::is_exchange_kind(&i.kind));
    let groups_report = if group_plan.items.is_empty() {
        None
    } else {
        Some(exchange_groups::apply(exo, &group_plan, options).await)
    };
    let mut report = apply::apply(graph, &graph_plan, options).await;
    if let Some(g) = groups_report {
        report.items.splice(0..0, g.items);
        report.bindings.splice(0..0, g.bindings);
    }
    if !exo_plan.items.is_empty() {
        let exo_report = exchange::apply(exo, &exo_plan, options).await;
        report.items.extend(exo_report.items);
        report.bindings.extend(exo_report.bindings);
    }
    report
}
