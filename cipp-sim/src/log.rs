//! The request log, and assertions over it for integrators' tests.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::faults::{pattern, route_matches};

/// One request the simulator received (no headers: they hold tokens).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// When it arrived (the simulator's clock).
    pub at: DateTime<Utc>,
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string, decoded (for assertions; never logged by the SDK).
    pub query: Option<String>,
    /// The tenant the request was for, when known.
    pub tenant: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The Exchange cmdlet run, for Exchange requests.
    pub operation: Option<String>,
    /// Whether this was an item inside a Graph or Exchange `$batch` (the batch itself is
    /// logged too).
    pub in_batch: bool,
}

impl LoggedRequest {
    /// Whether this request had `method` (`*` for any) and a path matching `route`
    /// (`/v1.0/users/{id}/memberOf`; segments case-insensitive, `{…}` any one segment, a
    /// final `*` the rest).
    pub fn is(&self, method: &str, route: &str) -> bool {
        (method == "*" || self.method.eq_ignore_ascii_case(method))
            && route_matches(&pattern(route), &self.path)
    }
}

/// A snapshot of the request log, batch items included, with assertions.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use cipp_core::{ApiRequest, Audience, Pipeline, TenantId};
/// let sim = cipp_sim::Simulator::demo();
/// let p = Pipeline::builder().transport(Arc::new(sim.clone()))
///     .credentials(sim.demo_credentials()).build().unwrap();
/// let t = TenantId::parse("contoso.com").unwrap();
/// p.send(ApiRequest::get(t, Audience::Graph, "/v1.0/users/adelev@contoso.com")).await.unwrap();
/// let log = sim.log();
/// assert_eq!(log.count("GET", "/v1.0/users/{id}"), 1);
/// log.expect_none("*", "/v1.0/groups/*").unwrap();
/// assert!(log.expect_sequence(&[("POST", "/{tenant}/oauth2/v2.0/token"), ("GET", "/v1.0/users/{id}")]).is_ok());
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestLog {
    entries: Vec<LoggedRequest>,
}

/// A request-log expectation that did not hold; its text says what was expected and
/// lists what the simulator received.
#[derive(Clone, Debug, PartialEq)]
pub struct LogMismatch {
    expected: String,
    seen: Vec<String>,
}

impl fmt::Display for LogMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "expected {}; the simulator received:", self.expected)?;
        for s in &self.seen {
            writeln!(f, "  {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LogMismatch {}

impl RequestLog {
    pub(crate) fn new(entries: Vec<LoggedRequest>) -> Self {
        RequestLog { entries }
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[LoggedRequest] {
        &self.entries
    }

    /// The entries for `method` and `route` (see [`LoggedRequest::is`]).
    pub fn calls(&self, method: &str, route: &str) -> Vec<&LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| e.is(method, route))
            .collect()
    }

    /// How many requests matched `method` and `route`.
    pub fn count(&self, method: &str, route: &str) -> usize {
        self.calls(method, route).len()
    }

    /// The Exchange requests that ran `cmdlet` (case-insensitive).
    pub fn cmdlet_calls(&self, cmdlet: &str) -> Vec<&LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| {
                e.operation
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(cmdlet))
            })
            .collect()
    }

    /// The Exchange cmdlets run, in order.
    pub fn cmdlets(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| e.operation.as_deref())
            .collect()
    }

    /// The requests that may change state (any method but `GET`), token requests and
    /// `$batch` envelopes left out (each request inside a batch is logged on its own).
    pub fn writes(&self) -> Vec<&LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| e.method != "GET" && !e.path.contains("/oauth2/"))
            .filter(|e| !e.path.ends_with("/$batch"))
            .filter(|e| {
                e.operation
                    .as_deref()
                    .is_none_or(|o| !o.to_ascii_lowercase().starts_with("get-"))
            })
            .collect()
    }

    fn mismatch(&self, expected: String) -> LogMismatch {
        LogMismatch {
            expected,
            seen: self
                .entries
                .iter()
                .map(|e| {
                    let op = e.operation.as_deref().unwrap_or_default();
                    let batch = if e.in_batch { " (in $batch)" } else { "" };
                    format!("{} {} {op} → {}{batch}", e.method, e.path, e.status)
                })
                .collect(),
        }
    }

    /// `Ok` when exactly `times` requests matched `method` and `route`.
    pub fn expect_count(&self, method: &str, route: &str, times: usize) -> Result<(), LogMismatch> {
        let n = self.count(method, route);
        if n == times {
            Ok(())
        } else {
            Err(self.mismatch(format!("{times} × {method} {route}, got {n}")))
        }
    }

    /// `Ok` when at least one request matched.
    pub fn expect_some(&self, method: &str, route: &str) -> Result<(), LogMismatch> {
        if self.count(method, route) > 0 {
            Ok(())
        } else {
            Err(self.mismatch(format!("a {method} {route}")))
        }
    }

    /// `Ok` when no request matched.
    pub fn expect_none(&self, method: &str, route: &str) -> Result<(), LogMismatch> {
        let n = self.count(method, route);
        if n == 0 {
            Ok(())
        } else {
            Err(self.mismatch(format!("no {method} {route}, got {n}")))
        }
    }

    /// `Ok` when requests matching each `(method, route)` arrived in this order (others may
    /// come between).
    pub fn expect_sequence(&self, steps: &[(&str, &str)]) -> Result<(), LogMismatch> {
        let mut it = self.entries.iter();
        for (m, r) in steps {
            if !it.any(|e| e.is(m, r)) {
                let want: Vec<String> = steps.iter().map(|(m, r)| format!("{m} {r}")).collect();
                return Err(self.mismatch(format!("in order: {}", want.join(", "))));
            }
        }
        Ok(())
    }

    /// `Ok` when every request matching `method` and `route` was answered `status`.
    pub fn expect_status(&self, method: &str, route: &str, status: u16) -> Result<(), LogMismatch> {
        let calls = self.calls(method, route);
        if !calls.is_empty() && calls.iter().all(|e| e.status == status) {
            Ok(())
        } else {
            Err(self.mismatch(format!("{method} {route} answered {status}")))
        }
    }
}
