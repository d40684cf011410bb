//! How requests are retried: the policy, `Retry-After`, and the one rule for resending
//! after an error answer (used by the pipeline and by both `$batch` engines).

use std::time::{Duration, SystemTime};

use backon::BackoffBuilder;

/// How the pipeline retries throttled and failed requests.
///
/// The defaults follow Kiota's retry handler: 3 retries, waits doubling from a base delay,
/// at most 180 s of waiting in total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The first backoff delay; each later one doubles, with jitter.
    pub base_delay: Duration,
    /// The longest single backoff delay.
    pub max_delay: Duration,
    /// The most time spent waiting for one request, across its retries.
    pub max_total_wait: Duration,
    /// Adds random jitter to the exponential backoff.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(180),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> {
        let b = backon::ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize);
        let b = if self.jitter { b.with_jitter() } else { b };
        b.build()
    }
}

/// The longest `Retry-After` honoured: longer values (and absurd ones such as `1e19`) are
/// read as this. The retry budget ([`RetryPolicy::max_total_wait`]) and the per-call
/// deadline still decide whether the pipeline waits that long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The default per-call deadline: one call, its retries and their waits included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

/// Parses `Retry-After`: whole seconds, decimal seconds (`2.128`) or an HTTP date. Values
/// above [`MAX_RETRY_AFTER`] are clamped to it; negative, non-finite and unreadable values
/// give `None`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cipp_core::parse_retry_after;
/// assert_eq!(parse_retry_after("2.128", SystemTime::now()), Some(Duration::from_millis(2128)));
/// assert_eq!(parse_retry_after("7", SystemTime::now()), Some(Duration::from_secs(7)));
/// let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(
                Duration::try_from_secs_f64(secs)
                    .unwrap_or(MAX_RETRY_AFTER)
                    .min(MAX_RETRY_AFTER),
            );
        }
        return None;
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// What to do with an error answer to one request, or to one `$batch` item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resend {
    /// Send it again after a delay: the service said it did not act on it (429, 503 with
    /// `Retry-After`, a 404 for an object not replicated yet), or the request is safe to
    /// repeat (503, 504 for an idempotent request).
    Retry,
    /// Do not resend: the request is a write that is unsafe to repeat and the service
    /// failed in a way that leaves open whether it acted (500, 502, 503 without
    /// `Retry-After`, 504). The error must say the outcome is unknown.
    OutcomeUnknown,
    /// A final answer: report it as it is.
    Final,
}

/// The one rule for resending after an error status, used by the pipeline and by both
/// `$batch` engines: a non-idempotent request is resent only when the service said it did
/// not act on it.
///
/// ```
/// use cipp_core::pipeline::{resend_decision, Resend};
/// assert_eq!(resend_decision(429, false, false, false), Resend::Retry);
/// assert_eq!(resend_decision(503, true, false, false), Resend::Retry);
/// assert_eq!(resend_decision(504, false, false, false), Resend::OutcomeUnknown);
/// assert_eq!(resend_decision(504, false, true, false), Resend::Retry);
/// assert_eq!(resend_decision(400, false, false, false), Resend::Final);
/// ```
pub fn resend_decision(
    status: u16,
    has_retry_after: bool,
    idempotent: bool,
    retry_not_found: bool,
) -> Resend {
    let not_acted =
        status == 429 || (status == 503 && has_retry_after) || (status == 404 && retry_not_found);
    if not_acted || (idempotent && matches!(status, 503 | 504)) {
        Resend::Retry
    } else if !idempotent && matches!(status, 500 | 502 | 503 | 504) {
        Resend::OutcomeUnknown
    } else {
        Resend::Final
    }
}
