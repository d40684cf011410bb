//! Throttle isolation per (tenant, workload).
//!
//! After a 429 for one tenant's workload, later requests for that key wait out the
//! service's delay (or fail fast with [`Error::Throttled`] in background mode) while other
//! tenants carry on. Optional client-side caps keep within the documented limits: at most
//! 4 concurrent requests per mailbox (Outlook and Exchange) and 1 request per second per
//! tenant for Conditional Access and Identity Protection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::cloud::Audience;
use crate::error::Error;
use crate::request::ApiRequest;
use crate::tenant::TenantId;

/// A family of endpoints that Microsoft throttles together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Workload {
    /// Users, groups, directory objects (identity and access).
    GraphIdentity,
    /// Sign-in and directory audit logs and other identity reports.
    GraphReports,
    /// Conditional Access and Identity Protection (1 request/s per tenant).
    GraphConditionalAccess,
    /// Intune (deviceManagement, deviceAppManagement).
    GraphIntune,
    /// Outlook resources in Graph (mail, mailbox settings, message rules), per mailbox.
    GraphOutlook,
    /// Other Graph endpoints.
    GraphOther,
    /// The Exchange Online admin API, per anchor mailbox.
    Exchange,
    /// Any other service.
    Other,
}

impl Workload {
    /// A stable name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Workload::GraphIdentity => "graph-identity",
            Workload::GraphReports => "graph-reports",
            Workload::GraphConditionalAccess => "graph-conditional-access",
            Workload::GraphIntune => "graph-intune",
            Workload::GraphOutlook => "graph-outlook",
            Workload::GraphOther => "graph",
            Workload::Exchange => "exchange",
            Workload::Other => "other",
        }
    }

    /// The workload (and, for per-mailbox limits, the mailbox) a request belongs to: the
    /// one its operation declared ([`ApiRequest::workload`]); otherwise by audience —
    /// Exchange per anchor mailbox, Graph as [`Workload::GraphOther`], anything else as
    /// [`Workload::Other`]. Core knows no service's URL layout: the service crates declare.
    pub fn of(request: &ApiRequest) -> (Workload, Option<String>) {
        if let Some((w, p)) = request.declared_workload() {
            return (*w, p.clone());
        }
        match request.audience() {
            Audience::Exchange => {
                let anchor = request
                    .headers()
                    .get("x-anchormailbox")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_ascii_lowercase);
                (Workload::Exchange, anchor)
            }
            Audience::Graph => (Workload::GraphOther, None),
            Audience::Other(_) => (Workload::Other, None),
        }
    }
}

/// A client-side cap for one workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadLimit {
    /// At most this many requests in flight per key.
    pub max_concurrent: Option<usize>,
    /// At least this long between the starts of two requests per key.
    pub min_interval: Option<Duration>,
}

/// Client-side caps per workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Caps per workload; workloads not listed are not capped.
    pub limits: HashMap<Workload, WorkloadLimit>,
}

impl ThrottleSettings {
    /// No client-side caps (the service's 429s are still honoured per key).
    pub fn none() -> Self {
        ThrottleSettings {
            limits: HashMap::new(),
        }
    }

    /// The documented limits: 4 concurrent requests per mailbox for Outlook in Graph and
    /// for Exchange, 1 request per second per tenant for Conditional Access.
    pub fn documented() -> Self {
        let mut limits = HashMap::new();
        let mailbox = WorkloadLimit {
            max_concurrent: Some(4),
            min_interval: None,
        };
        limits.insert(Workload::GraphOutlook, mailbox);
        limits.insert(Workload::Exchange, mailbox);
        limits.insert(
            Workload::GraphConditionalAccess,
            WorkloadLimit {
                max_concurrent: None,
                min_interval: Some(Duration::from_secs(1)),
            },
        );
        ThrottleSettings { limits }
    }
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings::documented()
    }
}

type Key = (TenantId, Workload, Option<String>);

#[derive(Default)]
struct KeyState {
    blocked_until: Option<Instant>,
    next_start: Option<Instant>,
    semaphore: Option<Arc<Semaphore>>,
}

/// Per-key throttle state shared by all requests of a pipeline.
#[derive(Default)]
pub struct ThrottleGovernor {
    settings: Option<ThrottleSettings>,
    state: Mutex<HashMap<Key, KeyState>>,
    /// Set once any key has been throttled; until then uncapped workloads skip the map.
    any_throttled: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for ThrottleGovernor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleGovernor")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Permission to send one request; release by dropping.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

impl ThrottleGovernor {
    /// A governor with the given caps.
    pub fn new(settings: ThrottleSettings) -> Self {
        ThrottleGovernor {
            settings: Some(settings),
            state: Mutex::new(HashMap::new()),
            any_throttled: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn limit(&self, w: Workload) -> WorkloadLimit {
        self.settings
            .as_ref()
            .and_then(|s| s.limits.get(&w).copied())
            .unwrap_or_default()
    }

    /// Records that the service throttled `key` for `delay`.
    pub fn record_throttle(
        &self,
        tenant: &TenantId,
        workload: Workload,
        partition: Option<&str>,
        delay: Duration,
    ) {
        self.any_throttled
            .store(true, std::sync::atomic::Ordering::Release);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let entry = state
            .entry((tenant.clone(), workload, partition.map(str::to_owned)))
            .or_default();
        let delay = delay.min(crate::retry::MAX_RETRY_AFTER);
        let now = Instant::now();
        // A delay that does not fit in an Instant blocks for the longest honoured wait.
        let until = now
            .checked_add(delay)
            .or_else(|| now.checked_add(crate::retry::MAX_RETRY_AFTER))
            .unwrap_or(now);
        if entry.blocked_until.is_none_or(|b| b < until) {
            entry.blocked_until = Some(until);
        }
    }

    /// Waits until a request for the key may start. A wait longer than `max_wait` (the
    /// caller's remaining retry budget), or than the `background` threshold when set,
    /// returns [`Error::Throttled`] instead of sleeping.
    pub async fn admit(
        &self,
        tenant: &TenantId,
        workload: Workload,
        partition: Option<&str>,
        background: Option<Duration>,
        max_wait: Duration,
    ) -> Result<Admission, Error> {
        let limit = self.limit(workload);
        if limit == WorkloadLimit::default()
            && !self
                .any_throttled
                .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(Admission { _permit: None });
        }
        let key: Key = (tenant.clone(), workload, partition.map(str::to_owned));
        // Wait out a 429 and the rate cap.
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let entry = state.entry(key.clone()).or_default();
                let now = Instant::now();
                let blocked = entry.blocked_until.filter(|b| *b > now);
                let rate = entry.next_start.filter(|n| *n > now);
                match blocked.into_iter().chain(rate).max() {
                    Some(until) => until - now,
                    None => {
                        entry.blocked_until = None;
                        if let Some(i) = limit.min_interval {
                            entry.next_start = Some(now + i);
                        }
                        break;
                    }
                }
            };
            let limit = background.map_or(max_wait, |t| t.min(max_wait));
            {
                if wait > limit {
                    return Err(Error::Throttled {
                        tenant: tenant.clone(),
                        workload: workload.name().to_owned(),
                        retry_after: wait,
                    });
                }
            }
            tracing::debug!(tenant = %tenant, workload = workload.name(), wait_ms = wait.as_millis() as u64, "waiting for throttle window");
            tokio::time::sleep(wait).await;
        }
        let permit = match limit.max_concurrent {
            Some(n) => {
                let sem = {
                    let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                    state
                        .entry(key)
                        .or_default()
                        .semaphore
                        .get_or_insert_with(|| Arc::new(Semaphore::new(n.max(1))))
                        .clone()
                };
                sem.acquire_owned().await.ok()
            }
            None => None,
        };
        Ok(Admission { _permit: permit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn declared_workloads_win_and_undeclared_go_by_audience() {
        let r = ApiRequest::get(t("a.com"), Audience::Graph, "/v1.0/users");
        assert_eq!(Workload::of(&r), (Workload::GraphOther, None));
        let r = r.workload(Workload::GraphIdentity, None);
        assert_eq!(Workload::of(&r).0, Workload::GraphIdentity);
        let x = ApiRequest::post(t("a.com"), Audience::Exchange, "/adminapi/x").header(
            http::HeaderName::from_static("x-anchormailbox"),
            http::HeaderValue::from_static("UPN:M@a.com"),
        );
        assert_eq!(
            Workload::of(&x),
            (Workload::Exchange, Some("upn:m@a.com".into()))
        );
    }

    /// `admit` for `tenant` with no background threshold and no budget limit.
    async fn admit(
        g: &ThrottleGovernor,
        tenant: &str,
        workload: Workload,
        partition: Option<&str>,
    ) -> Result<Admission, Error> {
        g.admit(&t(tenant), workload, partition, None, Duration::MAX)
            .await
    }

    /// The `retry_after` of a `Throttled` error (panics on anything else).
    fn throttled_for(result: Result<Admission, Error>) -> Duration {
        match result {
            Err(Error::Throttled { retry_after, .. }) => retry_after,
            other => panic!("expected Throttled, got {:?}", other.map(|_| "admitted")),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_key_waits_other_tenants_do_not() {
        let g = ThrottleGovernor::new(ThrottleSettings::none());
        let identity = Workload::GraphIdentity;
        g.record_throttle(&t("a.com"), identity, None, Duration::from_secs(5));
        let start = Instant::now();
        admit(&g, "b.com", identity, None).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        admit(&g, "a.com", Workload::GraphReports, None)
            .await
            .unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        let background = Some(Duration::from_secs(1));
        let err = g
            .admit(&t("a.com"), identity, None, background, Duration::MAX)
            .await;
        assert_eq!(throttled_for(err), Duration::from_secs(5));
        admit(&g, "a.com", identity, None).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_obeys_the_callers_budget_and_absurd_delays_do_not_panic() {
        let g = ThrottleGovernor::new(ThrottleSettings::none());
        let identity = Workload::GraphIdentity;
        // Retry-After: 1e19 used to overflow Instant.
        for (tenant, delay) in [
            ("a.com", Duration::from_secs_f64(1e19)),
            ("b.com", Duration::MAX),
            ("c.com", Duration::from_secs(3600)),
        ] {
            g.record_throttle(&t(tenant), identity, None, delay);
        }
        let start = Instant::now();
        // A caller with 180 s of budget left gets Throttled at once instead of an hour's sleep.
        let err = g
            .admit(&t("c.com"), identity, None, None, Duration::from_secs(180))
            .await;
        assert_eq!(throttled_for(err), Duration::from_secs(3600));
        assert_eq!(start.elapsed(), Duration::ZERO);
        let err = g
            .admit(&t("a.com"), identity, None, None, Duration::from_secs(1))
            .await;
        assert!(throttled_for(err) <= crate::retry::MAX_RETRY_AFTER);
    }

    #[tokio::test(start_paused = true)]
    async fn conditional_access_one_per_second() {
        let g = ThrottleGovernor::new(ThrottleSettings::documented());
        let start = Instant::now();
        for _ in 0..3 {
            admit(&g, "a.com", Workload::GraphConditionalAccess, None)
                .await
                .unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn four_per_mailbox() {
        let g = ThrottleGovernor::new(ThrottleSettings::documented());
        let mailbox = Some("m@a.com");
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(
                admit(&g, "a.com", Workload::Exchange, mailbox)
                    .await
                    .unwrap(),
            );
        }
        let fifth = tokio::time::timeout(
            Duration::from_secs(1),
            admit(&g, "a.com", Workload::Exchange, mailbox),
        )
        .await;
        assert!(fifth.is_err(), "a fifth request was admitted");
        admit(&g, "a.com", Workload::Exchange, Some("other@a.com"))
            .await
            .unwrap();
        held.pop();
        admit(&g, "a.com", Workload::Exchange, mailbox)
            .await
            .unwrap();
    }
}
