//! [`FleetResolver`]: a task's target resolved over the client's fleet and tenant groups
//! (a fixed map, or the scheduler's [`TenantGroupStore`] with static and dynamic groups).

use std::collections::BTreeMap;

use async_trait::async_trait;
use cipp_scheduler::engine::TenantResolver;
use cipp_scheduler::task::Target;
use cipp_scheduler::tenant_groups::{
    apply_properties, facts_needed, groups_named, resolve_target, FactsNeeded, TenantFacts,
    TenantGroup, TenantGroupStore,
};
use cipp_scheduler::SchedulerError;
use futures::StreamExt;

use crate::client::Cipp;

/// How many tenants' facts (domains, licences) are read at once.
const FACT_READS: usize = 8;

/// Resolves targets over the client's fleet (`cipp.tenants()`), with named tenant groups.
///
/// A tenant is matched by its id **or** any of its domains, case ignored, wherever a
/// target names one: a task's excluded tenants, a group's members and exclusions. The
/// domains are those the fleet listing gives (default and initial domains for
/// `partner_tenant_relationships`) and those the client learnt; when a rule or an entry
/// needs domains and a tenant has none known (a `partner_tenant` fleet lists ids only),
/// its verified domains are read from its organization. Licences (`subscribedSkus`, part
/// numbers) are read only when a dynamic group in use has a licence rule. A tenant whose
/// facts cannot be read is left out of groups that depend on them and counts as excluded
/// by an exclusion that may name it (see `cipp_scheduler::tenant_groups`); the failure is
/// logged.
///
/// An excluded group that does not exist is an error (a typo must not run a task on every
/// tenant), as is a target group that does not exist.
pub struct FleetResolver {
    cipp: Cipp,
    groups: Groups,
}

/// Where the groups come from.
enum Groups {
    /// A fixed list.
    Fixed(Vec<TenantGroup>),
    /// The scheduler's key-value store, read at each resolution.
    Store(TenantGroupStore),
}

impl std::fmt::Debug for FleetResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups = match &self.groups {
            Groups::Fixed(g) => format!("{} fixed groups", g.len()),
            Groups::Store(_) => "group store".to_owned(),
        };
        f.debug_struct("FleetResolver")
            .field("groups", &groups)
            .finish_non_exhaustive()
    }
}

impl FleetResolver {
    /// A resolver over `cipp.tenants()` and the given static groups (name → tenants, each
    /// written as its id or a domain).
    pub fn new(cipp: Cipp, groups: BTreeMap<String, Vec<String>>) -> Self {
        let groups = groups
            .into_iter()
            .map(|(name, tenants)| TenantGroup::fixed(name, tenants))
            .collect();
        FleetResolver {
            cipp,
            groups: Groups::Fixed(groups),
        }
    }

    /// A resolver over `cipp.tenants()` and the given groups (static or dynamic).
    pub fn with_groups(cipp: Cipp, groups: Vec<TenantGroup>) -> Self {
        FleetResolver {
            cipp,
            groups: Groups::Fixed(groups),
        }
    }

    /// A resolver over `cipp.tenants()` and the groups kept in `store` (read each time a
    /// target is resolved, so a group changed by any worker applies to the next run).
    pub fn with_group_store(cipp: Cipp, store: TenantGroupStore) -> Self {
        FleetResolver {
            cipp,
            groups: Groups::Store(store),
        }
    }

    /// The groups `target` names (those that exist).
    async fn groups_for(&self, target: &Target) -> Result<Vec<TenantGroup>, SchedulerError> {
        match &self.groups {
            Groups::Fixed(g) => Ok(g.clone()),
            Groups::Store(store) => {
                let mut out = Vec::new();
                for name in groups_named(target) {
                    if let Some(g) = store.get(&name).await? {
                        out.push(g);
                    }
                }
                Ok(out)
            }
        }
    }

    /// What is known of every tenant of the fleet, reading only what `need` asks for.
    async fn facts(&self, need: FactsNeeded) -> Result<Vec<TenantFacts>, SchedulerError> {
        let tenants = self
            .cipp
            .tenants()
            .await
            .map_err(|e| SchedulerError::Invalid(format!("cannot list the tenants: {e}")))?;
        let properties = match (&self.groups, need.properties) {
            (Groups::Store(store), true) => store.all_properties().await?,
            _ => BTreeMap::new(),
        };
        let properties = &properties;
        let cipp = &self.cipp;
        Ok(futures::stream::iter(tenants)
            .map(|t| async move {
                let mut domains: Vec<String> = Vec::new();
                let names = t
                    .default_domain
                    .iter()
                    .chain(&t.initial_domain)
                    .cloned()
                    .chain(cipp.names_of(&t.id));
                for n in names {
                    if !n.eq_ignore_ascii_case(t.id.as_str())
                        && !domains.iter().any(|d| d.eq_ignore_ascii_case(&n))
                    {
                        domains.push(n);
                    }
                }
                let graph = cipp.graph().tenant(&t.id);
                let mut facts = TenantFacts::new(t.id.as_str());
                if need.domains && domains.is_empty() {
                    match graph.directory().organization().await {
                        Ok(org) => {
                            domains = org.verified_domains.into_iter().map(|d| d.name).collect()
                        }
                        Err(e) => {
                            tracing::warn!(tenant = %t.id, error = %e, "tenant domains unknown: \
                                groups and exclusions naming domains treat it as excluded");
                            facts = facts.domains_unknown();
                        }
                    }
                }
                if facts.domains.is_some() {
                    facts = facts.domains(domains);
                }
                if need.licences {
                    match graph
                        .directory()
                        .subscribed_skus()
                        .select(["skuId", "skuPartNumber"])
                        .await
                    {
                        Ok(skus) => {
                            facts = facts.skus(skus.into_iter().filter_map(|s| s.sku_part_number))
                        }
                        Err(e) => tracing::warn!(tenant = %t.id, error = %e, "tenant licences \
                            unknown: it is left out of groups with licence rules"),
                    }
                }
                apply_properties(&mut facts, properties);
                facts
            })
            .buffered(FACT_READS)
            .collect()
            .await)
    }
}

#[async_trait]
impl TenantResolver for FleetResolver {
    async fn resolve(&self, target: &Target) -> Result<Vec<String>, SchedulerError> {
        if let Target::Tenant { id } = target {
            return Ok(vec![id.clone()]);
        }
        let groups = self.groups_for(target).await?;
        let need = facts_needed(target, &groups);
        let facts = if need.fleet {
            self.facts(need).await?
        } else {
            Vec::new()
        };
        resolve_target(target, &groups, &facts)
    }
}
