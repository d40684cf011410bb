//! Fault injection and latency: which requests they apply to ([`RequestMatch`]), what a
//! fault answers ([`FaultKind`]) and when it fires ([`FaultTrigger`]).

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::Reply;

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer 429 with this `Retry-After` (seconds; decimals allowed).
    Throttle {
        /// The `Retry-After` value sent.
        retry_after: String,
    },
    /// Answer with this 5xx status.
    ServerError(u16),
    /// Answer 200 with a body cut in half.
    TruncatedBody,
    /// Answer with this status and a Graph-shaped error body with this code and message.
    Error {
        /// The HTTP status.
        status: u16,
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
    },
}

/// When a fault fires.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultTrigger {
    /// On the Nth matching request only (1-based).
    Nth(u64),
    /// On every Nth matching request.
    EveryNth(u64),
    /// On this fraction of matching requests (deterministic pseudo-random sequence).
    Rate(f64),
    /// On every matching request.
    Always,
}

/// Which requests a fault or a latency applies to. Every condition set must hold; an
/// empty match takes every service request (token requests included only for faults
/// whose path prefix names them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestMatch {
    method: Option<String>,
    path_prefix: Option<String>,
    route: Option<Vec<String>>,
    operation: Option<String>,
    tenant: Option<String>,
}

/// What a request is, for matching.
pub(crate) struct RequestInfo<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The tenant GUID, when known.
    pub tenant: Option<&'a str>,
    /// The Exchange cmdlet, when the request runs one.
    pub operation: Option<&'a str>,
}

/// Whether `path` matches a route pattern: segments compared case-insensitively,
/// `{name}` matches any one segment, a final `*` matches the rest.
pub(crate) fn route_matches(pattern: &[String], path: &str) -> bool {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| crate::odata::percent_decode(s).to_ascii_lowercase())
        .collect();
    let mut i = 0;
    for p in pattern {
        if p == "*" {
            return true;
        }
        let Some(s) = segs.get(i) else {
            return false;
        };
        if !(p.starts_with('{') && p.ends_with('}')) && p != s {
            return false;
        }
        i += 1;
    }
    i == segs.len()
}

/// Splits a route pattern (`/v1.0/users/{id}/memberOf`) into lower-case segments.
pub(crate) fn pattern(route: &str) -> Vec<String> {
    route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

impl RequestMatch {
    /// Every request.
    pub fn any() -> Self {
        RequestMatch::default()
    }

    /// Requests whose path starts with `prefix` (case-insensitive, for example
    /// `/v1.0/users`).
    pub fn path(prefix: &str) -> Self {
        RequestMatch::default().and_path(prefix)
    }

    /// Requests with this method and a path matching `route`: segments compared
    /// case-insensitively, `{name}` for any one segment, a final `*` for the rest
    /// (`GET /v1.0/users/{id}/memberOf`). `method` `*` takes any method.
    pub fn route(method: &str, route: &str) -> Self {
        RequestMatch::default().and_route(method, route)
    }

    /// Exchange requests running this cmdlet (`Get-Mailbox`; case-insensitive), alone or
    /// inside an Exchange `$batch`.
    pub fn operation(cmdlet: &str) -> Self {
        RequestMatch::default().and_operation(cmdlet)
    }

    /// Also: the path starts with `prefix`.
    pub fn and_path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_ascii_lowercase());
        self
    }

    /// Also: this method and route (see [`RequestMatch::route`]).
    pub fn and_route(mut self, method: &str, route: &str) -> Self {
        if method != "*" {
            self.method = Some(method.to_ascii_uppercase());
        }
        self.route = Some(pattern(route));
        self
    }

    /// Also: this Exchange cmdlet.
    pub fn and_operation(mut self, cmdlet: &str) -> Self {
        self.operation = Some(cmdlet.to_ascii_lowercase());
        self
    }

    /// Also: for this tenant (GUID or any of its domains).
    pub fn and_tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_ascii_lowercase());
        self
    }

    /// Whether `req` matches; `tenant_ok` resolves the tenant condition.
    pub(crate) fn matches(&self, req: &RequestInfo<'_>, tenant_ok: impl Fn(&str) -> bool) -> bool {
        if self
            .method
            .as_ref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(req.method))
        {
            return false;
        }
        if !prefix_matches(self.path_prefix.as_deref(), req.path) {
            return false;
        }
        if self
            .route
            .as_ref()
            .is_some_and(|r| !route_matches(r, req.path))
        {
            return false;
        }
        if let Some(op) = &self.operation {
            if !req.operation.is_some_and(|o| o.eq_ignore_ascii_case(op)) {
                return false;
            }
        }
        self.tenant.as_deref().is_none_or(tenant_ok)
    }
}

/// Whether `path` starts with `prefix` (lower case), when there is one.
fn prefix_matches(prefix: Option<&str>, path: &str) -> bool {
    prefix.is_none_or(|p| path.to_ascii_lowercase().starts_with(p))
}

/// A fault injection rule.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// What to answer.
    pub kind: FaultKind,
    /// When.
    pub trigger: FaultTrigger,
    /// Only for paths starting with this (for example `/v1.0/users`).
    pub path_prefix: Option<String>,
    /// Only for this tenant (GUID or domain).
    pub tenant: Option<String>,
    matcher: RequestMatch,
    seen: u64,
    rng: u64,
}

impl FaultRule {
    /// A rule for every service request.
    pub fn new(kind: FaultKind, trigger: FaultTrigger) -> Self {
        FaultRule {
            kind,
            trigger,
            path_prefix: None,
            tenant: None,
            matcher: RequestMatch::any(),
            seen: 0,
            rng: 0x9E3779B97F4A7C15,
        }
    }

    /// Limits the rule to paths starting with `prefix`.
    pub fn on_path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_ascii_lowercase());
        self
    }

    /// Limits the rule to one route (see [`RequestMatch::route`]):
    /// `.on_route("GET", "/v1.0/users/{id}/memberOf")`.
    pub fn on_route(mut self, method: &str, route: &str) -> Self {
        self.matcher = self.matcher.and_route(method, route);
        self
    }

    /// Limits the rule to one Exchange cmdlet (`Get-Mailbox`).
    pub fn on_operation(mut self, cmdlet: &str) -> Self {
        self.matcher = self.matcher.and_operation(cmdlet);
        self
    }

    /// Limits the rule to the requests `m` matches.
    pub fn matching(mut self, m: RequestMatch) -> Self {
        self.matcher = m;
        self
    }

    /// Limits the rule to one tenant.
    pub fn for_tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_ascii_lowercase());
        self
    }

    pub(crate) fn applies(&self, req: &RequestInfo<'_>, tenant_ok: impl Fn(&str) -> bool) -> bool {
        if !prefix_matches(self.path_prefix.as_deref(), req.path) {
            return false;
        }
        if self.tenant.as_deref().is_some_and(|t| !tenant_ok(t)) {
            return false;
        }
        self.matcher.matches(req, tenant_ok)
    }

    pub(crate) fn fires(&mut self) -> bool {
        self.seen += 1;
        match self.trigger {
            FaultTrigger::Nth(n) => self.seen == n,
            FaultTrigger::EveryNth(n) => n > 0 && self.seen % n == 0,
            FaultTrigger::Always => true,
            FaultTrigger::Rate(r) => {
                // xorshift64*: deterministic, so tests repeat.
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let x = self.rng.wrapping_mul(0x2545F4914F6CDD1D);
                ((x >> 11) as f64 / (1u64 << 53) as f64) < r
            }
        }
    }
}

/// Extra latency for the requests a [`RequestMatch`] takes.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyRule {
    /// Which requests.
    pub matcher: RequestMatch,
    /// How long they take (Tokio time, so paused-time tests stay instant).
    pub delay: Duration,
}

impl LatencyRule {
    /// `delay` for the requests `matcher` takes.
    pub fn new(matcher: RequestMatch, delay: Duration) -> Self {
        LatencyRule { matcher, delay }
    }
}

/// The reply a fault gives.
pub(crate) fn fault_reply(kind: &FaultKind) -> Reply {
    match kind {
        FaultKind::Throttle { retry_after } => {
            let mut r = Reply::json(
                429,
                json!({"error":{"code":"TooManyRequests","message":"Please retry again later.",
                    "innerError":{"code":"429","date":"2026-01-01T00:00:00","message":"Please retry after","request-id":"sim-throttle","status":"429"}}}),
            );
            r.headers.push(("retry-after", retry_after.clone()));
            r
        }
        FaultKind::ServerError(status) => crate::graph::error(
            *status,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        FaultKind::Error {
            status,
            code,
            message,
        } => crate::graph::error(*status, code, message),
        FaultKind::TruncatedBody => {
            let body = br#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[{"id":"tr"#;
            Reply {
                status: 200,
                body: Bytes::from_static(body),
                headers: vec![("content-type", "application/json".into())],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(method: &'a str, path: &'a str, op: Option<&'a str>) -> RequestInfo<'a> {
        RequestInfo {
            method,
            path,
            tenant: None,
            operation: op,
        }
    }

    #[test]
    fn routes_match_by_segment() {
        let m = RequestMatch::route("GET", "/v1.0/users/{id}/memberOf");
        assert!(
            m.matches(&info("GET", "/v1.0/users/a%40b.com/memberof", None), |_| {
                true
            })
        );
        assert!(!m.matches(&info("POST", "/v1.0/users/x/memberOf", None), |_| true));
        assert!(!m.matches(
            &info("GET", "/v1.0/users/x/memberOf/graph.group", None),
            |_| true
        ));
        let rest = RequestMatch::route("*", "/v1.0/users/*");
        assert!(rest.matches(&info("PATCH", "/v1.0/users/x/manager/$ref", None), |_| true));
        let op = RequestMatch::operation("get-mailbox");
        assert!(op.matches(
            &info(
                "POST",
                "/adminapi/beta/t/InvokeCommand",
                Some("Get-Mailbox")
            ),
            |_| true
        ));
        assert!(!op.matches(
            &info(
                "POST",
                "/adminapi/beta/t/InvokeCommand",
                Some("Set-Mailbox")
            ),
            |_| true
        ));
        assert!(!op.matches(&info("GET", "/v1.0/users", None), |_| true));
        let t = RequestMatch::any().and_tenant("contoso.com");
        assert!(!t.matches(&info("GET", "/v1.0/users", None), |_| false));
    }
}
