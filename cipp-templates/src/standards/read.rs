//! What standards read, read once per tenant and shared: [`Read`] names an object,
//! [`fetch`] reads a set of them (Graph policy objects in one `$batch`, listings and
//! Exchange `Get-*` cmdlets together, Exchange reads through its own `$batch`),
//! [`fetch_for`] reads what standards need in two rounds (their reads, then the follow-up
//! reads those answers call for), and the [`Snapshot`] holds each answer or the error that
//! stopped it.

use std::collections::BTreeMap;

use cipp_core::Error;
use cipp_exchange::cmdlet::Cmdlet;
use cipp_graph::batch::BatchOptions;
use cipp_graph::settings::GraphSetting;
use serde_json::{Map, Value};

use super::model::{Standard, TenantTarget};

/// A Graph listing standards read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GraphListing {
    /// `subscribedSkus` (licence checks).
    SubscribedSkus,
    /// `domains`.
    Domains,
    /// Enabled `users` with the properties inactivity standards read
    /// ([`USER_ACTIVITY_FIELDS`]; `signInActivity` needs Entra ID P1).
    EnabledUsers,
    /// `devices` with the properties stale-device standards read ([`DEVICE_FIELDS`]).
    Devices,
    /// `auditLogs/directoryAudits` of accounts enabled (`Enable account`), so that a
    /// standard leaves alone an account an administrator just enabled again.
    EnabledAccountAudits,
    /// Directory role assignments with their principals
    /// (`roleManagement/directory/roleAssignments?$expand=principal`): who holds an admin
    /// role, users by `userPrincipalName`, role-assignable groups by id (their members
    /// through [`GraphListing::GroupMembers`]).
    RoleAssignments,
    /// The tenant's `organization` (one object: its id, name and verified domains), for
    /// the replacement variables of template standards.
    Organization,
    /// The direct members of a group, by the group's object id (`groups/{id}/members`;
    /// role-assignable groups cannot hold other groups, so direct members are all of them).
    GroupMembers(String),
}

/// The user properties [`GraphListing::EnabledUsers`] selects.
pub const USER_ACTIVITY_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "mail",
    "userType",
    "accountEnabled",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "signInActivity",
];

/// The device properties [`GraphListing::Devices`] selects.
pub const DEVICE_FIELDS: &[&str] = &[
    "id",
    "deviceId",
    "displayName",
    "accountEnabled",
    "approximateLastSignInDateTime",
    "operatingSystem",
    "profileType",
    "trustType",
    "enrollmentProfileName",
];

/// One object (or listing) a standard reads. Two standards naming the same `Read` share one
/// request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Read {
    /// A tenant-wide Graph policy object.
    Graph(GraphSetting),
    /// A Graph listing, every page.
    GraphList(GraphListing),
    /// An Exchange `Get-*` cmdlet; its rows.
    Exchange {
        /// The cmdlet (`Get-OrganizationConfig`).
        cmdlet: String,
        /// Its parameters as canonical JSON (an object).
        params: String,
    },
}

impl Read {
    /// An Exchange `Get-*` cmdlet without parameters.
    pub fn exchange(cmdlet: &str) -> Read {
        Read::Exchange {
            cmdlet: cmdlet.to_owned(),
            params: "{}".to_owned(),
        }
    }

    /// An Exchange `Get-*` cmdlet with `params` (a JSON object).
    pub fn exchange_with(cmdlet: &str, params: Value) -> Read {
        Read::Exchange {
            cmdlet: cmdlet.to_owned(),
            params: crate::canonical::canonical_string(&params),
        }
    }

    /// A short description for errors and reports.
    pub fn describe(&self) -> String {
        match self {
            Read::Graph(s) => format!("Graph {}", s.name()),
            Read::GraphList(l) => format!("Graph {l:?}"),
            Read::Exchange { cmdlet, .. } => format!("Exchange {cmdlet}"),
        }
    }

    fn cmdlet(&self) -> Option<Cmdlet> {
        let Read::Exchange { cmdlet, params } = self else {
            return None;
        };
        let mut c = Cmdlet::new(cmdlet);
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(params) {
            for (k, v) in m {
                c = c.param(&k, v);
            }
        }
        Some(c)
    }
}

/// The answers of one tenant's reads.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    answers: BTreeMap<Read, Result<Value, Error>>,
}

impl Snapshot {
    /// A snapshot from answers (tests and custom engines).
    pub fn from_answers(answers: impl IntoIterator<Item = (Read, Result<Value, Error>)>) -> Self {
        Snapshot {
            answers: answers.into_iter().collect(),
        }
    }

    /// Adds or replaces an answer.
    pub fn insert(&mut self, read: Read, answer: Result<Value, Error>) {
        self.answers.insert(read, answer);
    }

    /// The answer to `read`: the object (Graph), the rows as an array (listings and
    /// Exchange), or the error that stopped the read.
    pub fn get(&self, read: &Read) -> Result<&Value, Error> {
        match self.answers.get(read) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::Config(format!(
                "{} was not read; the standard must list it in reads()",
                read.describe()
            ))),
        }
    }

    /// The first row of an Exchange read (for singletons such as `Get-OrganizationConfig`),
    /// or `Value::Null` when there is none.
    pub fn first_row(&self, read: &Read) -> Result<&Value, Error> {
        static NULL: Value = Value::Null;
        Ok(self
            .get(read)?
            .as_array()
            .and_then(|a| a.first())
            .unwrap_or(&NULL))
    }

    /// Whether it holds an answer (or an error) for `read`.
    pub fn contains(&self, read: &Read) -> bool {
        self.answers.contains_key(read)
    }

    /// Adds every answer of `other`, replacing those it holds already.
    pub fn extend(&mut self, other: Snapshot) {
        self.answers.extend(other.answers);
    }

    /// How many reads it holds.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

/// Reads every object in `reads` once (duplicates are read once): Graph policy objects in
/// `$batch`, Graph listings and the Exchange cmdlets (Exchange `$batch`) at the same time.
/// A read that fails is kept as its error; only the standards that need it fail.
pub async fn fetch(target: &TenantTarget, reads: &[Read]) -> Snapshot {
    let mut unique: Vec<&Read> = reads.iter().collect();
    unique.sort();
    unique.dedup();
    let graph: Vec<&Read> = unique
        .iter()
        .copied()
        .filter(|r| matches!(r, Read::Graph(_)))
        .collect();
    let lists: Vec<&Read> = unique
        .iter()
        .copied()
        .filter(|r| matches!(r, Read::GraphList(_)))
        .collect();
    let exo: Vec<&Read> = unique
        .iter()
        .copied()
        .filter(|r| matches!(r, Read::Exchange { .. }))
        .collect();

    let graph_fut = fetch_graph(target, &graph);
    let lists_fut = futures::future::join_all(lists.iter().map(|r| fetch_list(target, r)));
    let exo_fut = fetch_exchange(target, &exo);
    let (g, l, x) = futures::join!(graph_fut, lists_fut, exo_fut);

    let mut snapshot = Snapshot::default();
    for (r, a) in graph.into_iter().zip(g) {
        snapshot.insert(r.clone(), a);
    }
    for (r, a) in lists.into_iter().zip(l) {
        snapshot.insert(r.clone(), a);
    }
    for (r, a) in exo.into_iter().zip(x) {
        snapshot.insert(r.clone(), a);
    }
    snapshot
}

/// Reads what `standards` (each with its settings) need, and `extra`: their
/// [`Standard::reads`] and `extra` in one round, then the [`Standard::follow_up_reads`]
/// those answers call for (those not read yet) in a second, into one snapshot. The second
/// round is skipped when no standard asks for more.
pub async fn fetch_for(
    target: &TenantTarget,
    standards: &[(&dyn Standard, &Value)],
    extra: &[Read],
) -> Snapshot {
    let mut first: Vec<Read> = standards
        .iter()
        .flat_map(|(s, settings)| s.reads(settings))
        .collect();
    first.extend(extra.iter().cloned());
    if first.is_empty() {
        return Snapshot::default();
    }
    let mut snapshot = fetch(target, &first).await;
    let more: Vec<Read> = standards
        .iter()
        .flat_map(|(s, settings)| s.follow_up_reads(settings, &snapshot))
        .filter(|r| !snapshot.contains(r))
        .collect();
    if !more.is_empty() {
        let second = fetch(target, &more).await;
        snapshot.extend(second);
    }
    snapshot
}

async fn fetch_graph(target: &TenantTarget, reads: &[&Read]) -> Vec<Result<Value, Error>> {
    if reads.is_empty() {
        return Vec::new();
    }
    let mut ops = Vec::with_capacity(reads.len());
    let mut prepared: Vec<Option<Error>> = Vec::with_capacity(reads.len());
    for r in reads {
        let Read::Graph(setting) = r else {
            prepared.push(Some(Error::Config("not a Graph read".into())));
            continue;
        };
        match cipp_graph::settings::get(target.graph.id(), setting) {
            Ok(op) => {
                ops.push(op);
                prepared.push(None);
            }
            Err(e) => prepared.push(Some(e)),
        }
    }
    let answers = if reads.len() == 1 && ops.len() == 1 {
        // One object: a plain request (a batch of one costs the same and says less).
        let mut v = Vec::new();
        for op in ops {
            v.push(op.send(target.graph.pipeline()).await);
        }
        Ok(v)
    } else {
        cipp_graph::batch::run(
            target.graph.pipeline(),
            target.graph.id(),
            ops,
            &BatchOptions::default(),
        )
        .await
    };
    let mut answers = match answers {
        Ok(a) => a.into_iter(),
        Err(e) => return reads.iter().map(|_| Err(e.clone())).collect(),
    };
    prepared
        .into_iter()
        .map(|p| match p {
            Some(e) => Err(e),
            None => answers.next().unwrap_or_else(|| {
                Err(Error::protocol(
                    Some(target.graph.id().clone()),
                    "$batch",
                    "the batch returned fewer answers than requests",
                ))
            }),
        })
        .collect()
}

async fn fetch_list(target: &TenantTarget, read: &Read) -> Result<Value, Error> {
    let Read::GraphList(listing) = read else {
        return Err(Error::Config("not a Graph listing".into()));
    };
    let dir = target.graph.directory();
    match listing {
        GraphListing::SubscribedSkus => to_array(dir.subscribed_skus().await?),
        GraphListing::Domains => to_array(dir.domains().await?),
        GraphListing::Organization => to_array(vec![dir.organization().await?]),
        GraphListing::EnabledUsers => to_array(
            target
                .graph
                .users()
                .list()
                .select(USER_ACTIVITY_FIELDS.iter().copied())
                .filter("accountEnabled eq true")
                .await?,
        ),
        GraphListing::Devices => to_array(
            target
                .graph
                .devices()
                .list()
                .select(DEVICE_FIELDS.iter().copied())
                .await?,
        ),
        GraphListing::EnabledAccountAudits => {
            let filter = cipp_graph::audit::AuditFilter {
                activities: vec!["Enable account".to_owned()],
                ..Default::default()
            };
            to_array(target.graph.audit().directory_audits(&filter).await?)
        }
        GraphListing::RoleAssignments => {
            let request = cipp_graph::workload::declare(
                cipp_core::ApiRequest::new(
                    target.graph.id().clone(),
                    cipp_core::Audience::Graph,
                    http::Method::GET,
                    "/v1.0/roleManagement/directory/roleAssignments",
                )
                .operation("list role assignments"),
            );
            let rows: Vec<Value> =
                cipp_graph::List::of_request(target.graph.pipeline(), Ok(request))
                    .expand("principal")
                    .await?;
            Ok(Value::Array(rows))
        }
        GraphListing::GroupMembers(group) => {
            let tenant = target.graph.id().clone();
            let group = group.clone();
            let rows: Vec<Value> = cipp_graph::List::new(target.graph.pipeline(), move |q| {
                cipp_graph::groups::members(&tenant, &group, q).map(cipp_graph::workload::declare)
            })
            .select(["id", "userPrincipalName"])
            .await?;
            Ok(Value::Array(rows))
        }
    }
}

fn to_array<T: serde::Serialize>(items: Vec<T>) -> Result<Value, Error> {
    serde_json::to_value(items)
        .map_err(|e| Error::Config(format!("a listing could not be held as JSON: {e}")))
}

async fn fetch_exchange(target: &TenantTarget, reads: &[&Read]) -> Vec<Result<Value, Error>> {
    if reads.is_empty() {
        return Vec::new();
    }
    let cmdlets: Vec<Cmdlet> = reads.iter().filter_map(|r| r.cmdlet()).collect();
    let answers = if cmdlets.len() == 1 {
        vec![target.exchange.invoke(&cmdlets[0]).await]
    } else {
        match target.exchange.batch(&cmdlets).await {
            Ok(a) => a,
            Err(e) => return reads.iter().map(|_| Err(e.clone())).collect(),
        }
    };
    answers
        .into_iter()
        .map(|a| a.map(|out| Value::Array(out.value)))
        .collect()
}

/// Exchange cmdlet parameters from a JSON object (keys kept in order).
pub fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
