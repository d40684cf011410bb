//! The simulator's shared core: state, issued tokens, faults, latency, the request log,
//! and the front door that sends each request to its service.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cipp_core::{Clock, HttpRequest};

use crate::faults::{fault_reply, FaultKind, FaultRule, LatencyRule, RequestInfo};
use crate::log::LoggedRequest;
use crate::state::{self, SimState};
use crate::{exchange, graph, odata, sharepoint, token, Reply};

/// What the simulator remembers about an access token it issued.
#[derive(Clone, Debug)]
pub(crate) struct IssuedToken {
    pub tenant: String,
    pub audience: String,
    pub client_id: String,
}

pub(crate) struct Sim {
    pub state: Mutex<SimState>,
    pub tokens: Mutex<BTreeMap<String, IssuedToken>>,
    pub faults: Mutex<Vec<FaultRule>>,
    pub latency: Mutex<Duration>,
    pub latency_rules: Mutex<Vec<LatencyRule>>,
    pub log: Mutex<Vec<LoggedRequest>>,
    pub counter: Mutex<u64>,
    pub clock: Arc<dyn Clock>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a request went.
struct Routed {
    reply: Reply,
    tenant: Option<String>,
}

impl Sim {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Sim {
        Sim {
            state: Mutex::new(SimState::default()),
            tokens: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            latency_rules: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            counter: Mutex::new(0),
            clock,
        }
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, SimState> {
        locked(&self.state)
    }

    /// A number never handed out before (for unique ids).
    pub(crate) fn next_n(&self) -> u64 {
        let mut c = locked(&self.counter);
        *c += 1;
        *c
    }

    pub(crate) fn now(&self) -> String {
        self.clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    pub(crate) fn issue_token(&self, tenant: &str, audience: &str, client_id: &str) -> String {
        let n = self.next_n();
        let token = format!(
            "sim.{audience}.{n}.{}",
            state::synthetic_guid(&format!("{tenant}{audience}{n}"))
        );
        locked(&self.tokens).insert(
            token.clone(),
            IssuedToken {
                tenant: tenant.to_owned(),
                audience: audience.to_owned(),
                client_id: client_id.to_owned(),
            },
        );
        token
    }

    fn token_for(&self, auth: Option<&str>, audience: &str) -> Option<IssuedToken> {
        let token = auth?.strip_prefix("Bearer ")?;
        locked(&self.tokens)
            .get(token)
            .filter(|t| t.audience == audience)
            .cloned()
    }

    /// Whether the tenant named `want` (GUID or domain) is `tenant` (a GUID).
    fn same_tenant(&self, tenant: Option<&str>, want: &str) -> bool {
        let state = self.lock_state();
        match (tenant, state.tenant(want)) {
            (Some(t), Some(st)) => st.id == t,
            _ => false,
        }
    }

    fn fault_for(&self, info: &RequestInfo<'_>) -> Option<FaultKind> {
        let mut faults = locked(&self.faults);
        for rule in faults.iter_mut() {
            if rule.applies(info, |want| self.same_tenant(info.tenant, want)) && rule.fires() {
                return Some(rule.kind.clone());
            }
        }
        None
    }

    /// The latency for a request: the global latency plus the first matching rule's.
    pub(crate) fn latency_for(&self, req: &HttpRequest) -> Duration {
        let base = *locked(&self.latency);
        let rules = locked(&self.latency_rules).clone();
        if rules.is_empty() {
            return base;
        }
        let operation = exchange::cmdlet_name(req);
        let tenant = self.tenant_hint(req);
        let info = RequestInfo {
            method: req.method().as_str(),
            path: req.uri().path(),
            tenant: tenant.as_deref(),
            operation: operation.as_deref(),
        };
        rules
            .iter()
            .find(|r| {
                r.matcher
                    .matches(&info, |want| self.same_tenant(info.tenant, want))
            })
            .map_or(base, |r| base.saturating_add(r.delay))
    }

    /// The tenant a request is for, before routing (from its token or path).
    fn tenant_hint(&self, req: &HttpRequest) -> Option<String> {
        let auth = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(t) = ["graph", "exchange"]
            .iter()
            .find_map(|a| self.token_for(auth, a))
        {
            return Some(t.tenant);
        }
        let first = req.uri().path().split('/').find(|s| !s.is_empty())?;
        self.lock_state()
            .tenant(&odata::percent_decode(first))
            .map(|t| t.id.clone())
    }

    /// Routes a request and logs it.
    pub(crate) fn answer(&self, req: &HttpRequest, in_batch: bool) -> Reply {
        let operation = exchange::cmdlet_name(req);
        let routed = self.route(req, operation.as_deref());
        locked(&self.log).push(LoggedRequest {
            at: self.clock.now(),
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            query: req.uri().query().map(odata::percent_decode),
            tenant: routed.tenant,
            status: routed.reply.status,
            operation,
            in_batch,
        });
        routed.reply
    }

    fn route(&self, req: &HttpRequest, operation: Option<&str>) -> Routed {
        let path = req.uri().path().to_owned();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let auth = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let routed = |reply: Reply, tenant: Option<String>| Routed { reply, tenant };
        // Token endpoint: /{tenant}/oauth2/v2.0/token (or the v1 /{tenant}/oauth2/token).
        let v2 = segs.len() == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token";
        let v1 = segs.len() == 3 && segs[1] == "oauth2" && segs[2] == "token";
        if v2 || v1 {
            let tenant_name = odata::percent_decode(segs[0]);
            let tid = self.lock_state().tenant(&tenant_name).map(|t| t.id.clone());
            let info = RequestInfo {
                method: req.method().as_str(),
                path: &path,
                tenant: tid.as_deref(),
                operation: None,
            };
            if let Some(fault) = self.token_fault(&info) {
                return routed(fault_reply(&fault), tid);
            }
            if req.method() != http::Method::POST {
                return routed(graph::error(405, "MethodNotAllowed", "Use POST."), tid);
            }
            let reply = token::handle(self, &tenant_name, req.body());
            return routed(reply, tid);
        }
        if let Some(version) = segs.first().filter(|v| **v == "v1.0" || **v == "beta") {
            let Some(issued) = self.token_for(auth, "graph") else {
                return routed(
                    graph::error(
                        401,
                        "InvalidAuthenticationToken",
                        "Access token is empty or invalid.",
                    ),
                    None,
                );
            };
            let tenant = issued.tenant.clone();
            let info = RequestInfo {
                method: req.method().as_str(),
                path: &path,
                tenant: Some(&tenant),
                operation: None,
            };
            if let Some(fault) = self.fault_for(&info) {
                return routed(fault_reply(&fault), Some(tenant));
            }
            let origin = match (req.uri().scheme_str(), req.uri().authority()) {
                (Some(s), Some(a)) => format!("{s}://{a}"),
                _ => "https://graph.microsoft.com".to_owned(),
            };
            let rest = &path[version.len() + 1..];
            let graph_req = graph::GraphRequest {
                tenant: tenant.clone(),
                method: req.method(),
                version,
                segments: graph::segments(rest),
                query: graph::query(req.uri().query()),
                headers: req.headers(),
                origin,
                raw_path: path.clone(),
                body: req.body(),
                now: self.now(),
                caller: state::app_initiator(&issued.client_id),
                cast: None,
            };
            return routed(graph::handle(self, graph_req), Some(tenant));
        }
        if segs.len() == 4 && segs[0] == "adminapi" && (segs[1] == "beta" || segs[1] == "v1.0") {
            let (reply, tenant) = self.route_exchange(req, &path, &segs, auth, operation);
            return routed(reply, tenant);
        }
        for service in SIDE_SERVICES {
            if (service.serves)(&path) {
                return match self.token_for(auth, service.audience) {
                    Some(t) => routed(
                        (service.handler)(self, &t.tenant, req.body()),
                        Some(t.tenant),
                    ),
                    None => routed(graph::error(401, "Unauthorized", service.refusal), None),
                };
            }
        }
        routed(
            graph::error(
                404,
                "UnknownPath",
                &format!("cipp-sim does not serve {path}"),
            ),
            None,
        )
    }

    /// Faults on the token endpoint apply only to rules that name its path.
    fn token_fault(&self, info: &RequestInfo<'_>) -> Option<FaultKind> {
        let mut faults = locked(&self.faults);
        for rule in faults.iter_mut() {
            let names_token = rule
                .path_prefix
                .as_deref()
                .is_some_and(|p| p.contains("oauth2"));
            if names_token
                && rule.applies(info, |want| self.same_tenant(info.tenant, want))
                && rule.fires()
            {
                return Some(rule.kind.clone());
            }
        }
        None
    }

    /// Exchange admin API: `/adminapi/{beta|v1.0}/{tenant}/InvokeCommand` or `/$batch`.
    fn route_exchange(
        &self,
        req: &HttpRequest,
        path: &str,
        segs: &[&str],
        auth: Option<&str>,
        operation: Option<&str>,
    ) -> (Reply, Option<String>) {
        let tenant_name = odata::percent_decode(segs[2]);
        let tenant_id = self.lock_state().tenant(&tenant_name).map(|t| t.id.clone());
        let Some(tenant_id) = tenant_id else {
            return (
                exchange::exo_error(
                    404,
                    "Microsoft.Exchange.Data.Directory.TenantNotFoundException",
                    &format!("Tenant '{tenant_name}' could not be found."),
                ),
                None,
            );
        };
        match self.token_for(auth, "exchange") {
            Some(t) if t.tenant == tenant_id => {}
            _ => {
                return (
                    graph::error(401, "InvalidAuthenticationToken", "The access token is missing, expired, for another tenant, or not for https://outlook.office365.com."),
                    Some(tenant_id),
                )
            }
        }
        let info = RequestInfo {
            method: req.method().as_str(),
            path,
            tenant: Some(&tenant_id),
            operation,
        };
        if let Some(fault) = self.fault_for(&info) {
            return (fault_reply(&fault), Some(tenant_id));
        }
        if req.method() != http::Method::POST {
            return (
                exchange::exo_error(405, "MethodNotAllowed", "Use POST."),
                Some(tenant_id),
            );
        }
        let reply = match segs[3] {
            "InvokeCommand" => {
                let origin = match (req.uri().scheme_str(), req.uri().authority()) {
                    (Some(s), Some(a)) => format!("{s}://{a}"),
                    _ => "https://outlook.office365.com".to_owned(),
                };
                let skip = graph::query(req.uri().query())
                    .iter()
                    .find(|(k, _)| k == "$skiptoken")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                exchange::invoke(self, &tenant_id, req.body(), &origin, skip)
            }
            "$batch" => exchange::batch(
                self,
                req.body(),
                req.headers().get(http::header::AUTHORIZATION),
            ),
            other => exchange::exo_error(
                404,
                "ResourceNotFound",
                &format!("cipp-sim does not serve {other}"),
            ),
        };
        (reply, Some(tenant_id))
    }
}

/// A service outside Graph and Exchange that takes a token of its own audience.
struct SideService {
    serves: fn(&str) -> bool,
    audience: &'static str,
    /// The 401 message without such a token.
    refusal: &'static str,
    handler: fn(&Sim, &str, &[u8]) -> Reply,
}

const SIDE_SERVICES: [SideService; 2] = [
    SideService {
        serves: |path| path.eq_ignore_ascii_case("/_vti_bin/client.svc/ProcessQuery"),
        audience: "sharepoint",
        refusal: "Invalid audience for SharePoint.",
        handler: sharepoint::process_query,
    },
    SideService {
        serves: |path| {
            path.ends_with("/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication")
        },
        audience: "mfa",
        refusal: "Invalid token for the MFA connector.",
        handler: sharepoint::mfa_push,
    },
];
