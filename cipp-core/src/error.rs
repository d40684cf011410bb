//! The one error type of cipp-rs.
//!
//! Every failure says what went wrong, for which tenant, with the identifiers Microsoft
//! support asks for (`request-id`, `client-request-id`, `Date`), and — where the service
//! tells us — what the caller must fix (a permission, an admin role, a licence, consent, a
//! GDAP role). No variant carries a third-party type.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::tenant::TenantId;

/// The result type of cipp-rs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in cipp-rs.
///
/// Errors are `Clone`, so one failure can be shared (by the callers waiting on one token
/// request, or by a report that keeps the original).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The token endpoint refused to issue a token.
    #[error("{0}")]
    Auth(Box<AuthError>),
    /// The request could not be sent or its answer not received.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The service (or the client-side throttle governor) asked to wait longer than the
    /// background threshold; try this tenant again after `retry_after`.
    #[error("tenant {tenant}: throttled by {workload}, retry after {retry_after:?}")]
    Throttled {
        /// The tenant that is throttled.
        tenant: TenantId,
        /// The throttled workload (for example `graph-identity`).
        workload: String,
        /// How long to wait before retrying.
        retry_after: Duration,
    },
    /// The answer could not be decoded into the expected shape.
    #[error("{0}")]
    Decode(Box<DecodeError>),
    /// The caller's input was refused before anything was sent.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The field or argument concerned.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A paged listing could not be continued safely.
    #[error("tenant {tenant}: paging stopped: {message}")]
    Paging {
        /// The tenant whose listing stopped.
        tenant: TenantId,
        /// Why it stopped.
        message: String,
    },
    /// The client is not configured correctly.
    #[error("configuration: {0}")]
    Config(String),
    /// The service answered in a way that breaks its documented contract: a `$batch`
    /// without an answer for an item, an object without its id, an empty list where one
    /// item is documented. Retrying rarely helps; report it with the operation.
    #[error("{}{operation}: unexpected answer: {message}. What to do: the service broke its documented contract; retry later, and report it if it persists", tenant.as_ref().map(|t| format!("tenant {t}: ")).unwrap_or_default())]
    Protocol {
        /// The tenant, when known.
        tenant: Option<TenantId>,
        /// The operation whose answer was unexpected.
        operation: String,
        /// What was unexpected.
        message: String,
    },
    /// The caller's identity lacks a permission, or the tenant is outside its scope:
    /// refused before anything was sent.
    #[error("forbidden: {permission}{}: {reason}. What to do: {advice}", tenant.as_ref().map(|t| format!(" in tenant {t}")).unwrap_or_default())]
    Forbidden {
        /// The permission needed (`Identity.User.ReadWrite`).
        permission: String,
        /// The tenant, when the operation is in one.
        tenant: Option<String>,
        /// Why it is refused.
        reason: String,
        /// What the caller can do about it (ask for a role, a wider tenant scope, or lift
        /// the tenant's exclusion).
        advice: String,
    },
}

impl Error {
    /// An [`Error::InvalidInput`]. Input echoed in the message between backticks is
    /// shortened to [`crate::redact::MAX_ECHO_CHARS`] characters, and the whole message
    /// to [`crate::redact::MAX_ERROR_TEXT`] bytes, so a megabyte of bad input does not
    /// become a megabyte of error.
    pub fn invalid_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: crate::redact::echo(&field.into()),
            message: elide_middle(shorten_quoted(message.into()), 512),
        }
    }

    /// An [`Error::Forbidden`]: an access-control refusal for want of `permission`; the
    /// advice is to ask for a role that grants it (see [`Error::forbidden_with_advice`]).
    pub fn forbidden(
        permission: impl Into<String>,
        tenant: Option<String>,
        reason: impl Into<String>,
    ) -> Self {
        let permission = permission.into();
        let advice = match &tenant {
            Some(_) => format!("ask for a role that grants {permission} in this tenant"),
            None => format!("ask for a role that grants {permission}"),
        };
        Error::forbidden_with_advice(permission, tenant, reason, advice)
    }

    /// An [`Error::Forbidden`] with its own advice (a tenant outside the caller's scope, a
    /// tenant excluded from the fleet).
    pub fn forbidden_with_advice(
        permission: impl Into<String>,
        tenant: Option<String>,
        reason: impl Into<String>,
        advice: impl Into<String>,
    ) -> Self {
        Error::Forbidden {
            permission: permission.into(),
            tenant,
            reason: reason.into(),
            advice: advice.into(),
        }
    }

    /// Whether this is an access-control refusal ([`Error::Forbidden`]).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Error::Forbidden { .. })
    }

    /// An [`Error::Protocol`]: the service's answer broke its contract.
    pub fn protocol(
        tenant: Option<TenantId>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Protocol {
            tenant,
            operation: operation.into(),
            message: crate::redact::clean_text(&message.into()),
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Auth(e) => e.kind == AuthErrorKind::TemporarilyUnavailable,
            Error::Transport(e) => !matches!(e.kind, TransportErrorKind::InvalidRequest),
            Error::Throttled { .. } => true,
            _ => false,
        }
    }

    /// How long the service asked to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            Error::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status of a service error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Auth(e) => e.status,
            _ => None,
        }
    }

    /// Whether the service said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(e) if e.status == StatusCode::NOT_FOUND || e.kind == ApiErrorKind::NotFound)
    }

    /// The service's `request-id` (Graph) or trace id (token endpoint).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Auth(e) => e.trace_id.as_deref(),
            _ => None,
        }
    }

    /// The tenant concerned, when known.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Error::Api(e) => Some(&e.tenant),
            Error::Auth(e) => Some(&e.tenant),
            Error::Throttled { tenant, .. } | Error::Paging { tenant, .. } => Some(tenant),
            Error::Protocol { tenant, .. } => tenant.as_ref(),
            _ => None,
        }
    }

    /// Whether a write may have been carried out although this error was returned: the
    /// service failed mid-way (500, 502, 504) or the connection broke after sending, and
    /// the request was not resent because resending could repeat it. Read the object back
    /// (or the Exchange state) before trying again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Api(e) => e.outcome_unknown(),
            Error::Transport(e) => e.sent == RequestSent::Maybe,
            _ => false,
        }
    }

    /// The service error as structured data, when this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The token error as structured data, when this is one.
    pub fn as_auth(&self) -> Option<&AuthError> {
        match self {
            Error::Auth(e) => Some(e),
            _ => None,
        }
    }
}

/// Keeps the start and the end (where the advice is) of a message longer than `max` bytes.
fn elide_middle(message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let mut head = max / 2;
    while !message.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = message.len() - (max / 2 - 32);
    while !message.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} … [{} bytes elided] … {}",
        &message[..head],
        tail - head,
        &message[tail..]
    )
}

/// Shortens every backtick-quoted part of `message` longer than the echo limit.
fn shorten_quoted(message: String) -> String {
    if message.len() <= crate::redact::MAX_ECHO_CHARS {
        return message;
    }
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message.as_str();
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            break;
        };
        out.push_str(&rest[..=open]);
        out.push_str(&crate::redact::echo(&after[..close]));
        out.push('`');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

/// What the caller has to do about an [`ApiError`], derived from its status and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// The app or the signed-in partner lacks a permission or an admin role
    /// (403 `Authorization_RequestDenied`, `accessDenied`).
    MissingPermission,
    /// The tenant lacks a licence the feature needs (for example Entra ID P1/P2 for sign-in
    /// logs, Intune for device management).
    MissingLicense,
    /// The app has not been consented to in the tenant, or the token lacks the scope.
    MissingConsent,
    /// The partner's GDAP relationship lacks the role the call needs.
    MissingGdapRole,
    /// The access token was refused (expired, revoked or for another audience).
    InvalidToken,
    /// The object does not exist.
    NotFound,
    /// The object was created moments ago and is not yet visible everywhere (eventual
    /// consistency); retry shortly.
    NotYetReplicated,
    /// The request was malformed or refused as invalid.
    BadRequest,
    /// The object already exists or was changed concurrently.
    Conflict,
    /// The service throttled the request.
    Throttled,
    /// A request this one depended on (in a `$batch`) failed (424).
    FailedDependency,
    /// The service failed or is unavailable.
    ServiceUnavailable,
    /// Anything else.
    Other,
}

/// An error answer from Microsoft Graph or the Exchange admin API.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The tenant the request was for.
    pub tenant: TenantId,
    /// What the call was (for example `GET /v1.0/users`), without the query string.
    pub operation: String,
    /// HTTP status.
    pub status: StatusCode,
    /// The service's error code (may be empty: Graph sends `""` in places).
    pub code: String,
    /// The service's message.
    pub message: String,
    /// The innermost `innerError.code`, when present.
    pub inner_code: Option<String>,
    /// `request-id` from the body or the headers.
    pub request_id: Option<String>,
    /// `client-request-id` we sent.
    pub client_request_id: Option<String>,
    /// The `date` the service reported.
    pub date: Option<String>,
    /// `x-ms-ags-diagnostic`, when present.
    pub diagnostic: Option<String>,
    /// `Retry-After`, when the service sent one.
    pub retry_after: Option<Duration>,
    /// The more specific explanation some services add: the first `error.details[].message`
    /// (a service crate may refine it: the Exchange admin API's reader puts the cmdlet's
    /// real error here).
    pub detail: Option<String>,
    /// The classification of the error.
    pub kind: ApiErrorKind,
    /// `Some(RequestSent::Maybe)` when this was a write that is not safe to resend and the
    /// service failed in a way that leaves open whether it acted (500, 502, 504): the
    /// request was not resent, and the caller must check the state before trying again.
    pub sent: Option<RequestSent>,
}

impl ApiError {
    /// Parses a Graph-shaped error body (`{"error":{…}}`) with its status and headers.
    /// A body that is not the documented shape still yields an error with the status and
    /// the start of the body as its message.
    pub fn from_response(
        tenant: TenantId,
        operation: impl Into<String>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let parsed: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (code, message, inner, detail) = match parsed.and_then(|p| p.error) {
            Some(b) => {
                // OData's `details`: the first message that says more than `message`.
                let detail = b
                    .details
                    .iter()
                    .flatten()
                    .find_map(|d| d.message.clone().filter(|m| !m.is_empty()));
                let inner = b.inner_error.map(|i| *i);
                (
                    b.code.unwrap_or_default(),
                    b.message.unwrap_or_default(),
                    inner,
                    detail,
                )
            }
            None => (String::new(), crate::redact::body_excerpt(body), None, None),
        };
        let mut inner_code = None;
        let mut request_id = None;
        let mut client_request_id = None;
        let mut date = None;
        let mut cursor = inner.as_ref();
        while let Some(i) = cursor {
            if i.code.is_some() {
                inner_code = i.code.clone();
            }
            request_id = request_id.or_else(|| i.request_id.clone());
            client_request_id = client_request_id.or_else(|| i.client_request_id.clone());
            date = date.or_else(|| i.date.clone());
            cursor = i.inner_error.as_deref();
        }
        // Seconds only: an HTTP date needs the caller's clock, and the pipeline (and the
        // `$batch` engines) replace this with the value read on their injected clock.
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.trim().parse::<f64>().is_ok())
            .and_then(|v| crate::retry::parse_retry_after(v, std::time::UNIX_EPOCH));
        let kind = classify(status, &code, inner_code.as_deref(), &message);
        ApiError {
            tenant,
            operation: operation.into(),
            status,
            code: crate::redact::cap(&code, 200),
            message: crate::redact::clean_text(&message),
            inner_code,
            request_id: request_id.or_else(|| header("request-id")),
            client_request_id: client_request_id.or_else(|| header("client-request-id")),
            date: date.or_else(|| header("date")),
            diagnostic: header("x-ms-ags-diagnostic"),
            retry_after,
            detail: detail.map(|d| crate::redact::clean_text(&d)),
            kind,
            sent: None,
        }
    }

    /// Whether the service may have acted on the request although it answered with an
    /// error: a write answered 500, 502 or 504 (a gateway or the service failed
    /// mid-way). Such a write is not resent; read the object back (or the Exchange state)
    /// before trying it again.
    pub fn outcome_unknown(&self) -> bool {
        self.sent == Some(RequestSent::Maybe)
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ApiErrorKind::Throttled
                | ApiErrorKind::ServiceUnavailable
                | ApiErrorKind::NotYetReplicated
        )
    }

    /// What the caller should do about this error, in words.
    pub fn advice(&self) -> &'static str {
        match self.kind {
            ApiErrorKind::MissingPermission => "grant the app the Graph/Exchange permission this call needs (and admin consent), or give the account or service principal an admin role high enough for the target; for privileged targets a higher role is needed",
            ApiErrorKind::MissingLicense => "the tenant needs a licence for this feature (for example Entra ID P1/P2 for sign-in logs and Conditional Access, Intune for device management)",
            ApiErrorKind::MissingConsent => "consent the application in this tenant (re-run the CPV/admin consent) so its token carries the needed scope",
            ApiErrorKind::MissingGdapRole => "add the needed Entra role to the partner's GDAP relationship and map it to a security group the partner account is in",
            ApiErrorKind::InvalidToken => "the access token was refused: check that the credentials belong to this tenant and audience, then retry",
            ApiErrorKind::NotFound => "check the id or user principal name; the object may have been deleted",
            ApiErrorKind::NotYetReplicated => "the object was created moments ago; retry in a few seconds",
            ApiErrorKind::BadRequest => "fix the request as the message says",
            ApiErrorKind::Conflict => "the object already exists or was changed by someone else; re-read it and retry",
            ApiErrorKind::Throttled => "the service is throttling this tenant; retry after the delay it gave",
            ApiErrorKind::FailedDependency => "a request this one depended on failed; fix that one first",
            ApiErrorKind::ServiceUnavailable => "the service failed or is unavailable; retry later",
            ApiErrorKind::Other => "see the message and request id",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tenant {}: {} failed with {}",
            self.tenant,
            self.operation,
            self.status.as_u16()
        )?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(d) = &self.detail {
            if *d != self.message {
                write!(f, " ({d})")?;
            }
        }
        if self.outcome_unknown() {
            write!(
                f,
                ". The service may have acted on this write before failing, so it was not resent. What to do: read the object back (or the Exchange state) to see whether the change happened before trying again"
            )?;
        } else {
            write!(f, ". What to do: {}", self.advice())?;
        }
        if let Some(r) = &self.request_id {
            write!(f, " (request-id {r}")?;
            if let Some(d) = &self.date {
                write!(f, ", date {d}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

fn classify(status: StatusCode, code: &str, inner: Option<&str>, message: &str) -> ApiErrorKind {
    let code_l = code.to_ascii_lowercase();
    let msg_l = message.to_ascii_lowercase();
    let inner_l = inner.unwrap_or("").to_ascii_lowercase();
    // A licence the *tenant* lacks: said by the code, or by a 402/403 message. A 400 that
    // mentions licences (for example "License assignment cannot be done for user with
    // invalid usage location") is a bad request, not a missing licence.
    let forbidden = matches!(status.as_u16(), 402 | 403);
    if code_l.contains("nonpremium")
        || code_l.contains("license")
        || inner_l.contains("license")
        || (forbidden && (msg_l.contains("license") || msg_l.contains("premium")))
    {
        return ApiErrorKind::MissingLicense;
    }
    match status.as_u16() {
        401 => ApiErrorKind::InvalidToken,
        403 if msg_l.contains("gdap") || msg_l.contains("delegated admin") => {
            ApiErrorKind::MissingGdapRole
        }
        403 if msg_l.contains("consent") || msg_l.contains("scope") => ApiErrorKind::MissingConsent,
        402 => ApiErrorKind::MissingLicense,
        403 => ApiErrorKind::MissingPermission,
        404 => ApiErrorKind::NotFound,
        409 | 412 => ApiErrorKind::Conflict,
        429 => ApiErrorKind::Throttled,
        424 => ApiErrorKind::FailedDependency,
        400 | 405 | 406 | 411 | 413 | 415 | 416 | 422 => ApiErrorKind::BadRequest,
        500..=599 => ApiErrorKind::ServiceUnavailable,
        _ => ApiErrorKind::Other,
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    details: Option<Vec<ErrorDetail>>,
    #[serde(alias = "innererror", alias = "innerError", alias = "InnerError")]
    inner_error: Option<Box<InnerError>>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

#[derive(Deserialize)]
struct InnerError {
    code: Option<String>,
    #[serde(rename = "request-id", alias = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "client-request-id", alias = "clientRequestId")]
    client_request_id: Option<String>,
    date: Option<String>,
    #[serde(alias = "innererror", alias = "innerError", alias = "InnerError")]
    inner_error: Option<Box<InnerError>>,
}

/// What the caller has to do about a refused token request (from the AADSTS code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The refresh token expired or was revoked: renew the partner consent (re-run the
    /// Secure Application Model setup) to get a new refresh token.
    RefreshTokenExpired,
    /// The app was never consented in the tenant (AADSTS65001).
    ConsentMissing,
    /// Multi-factor authentication is required or must be registered (AADSTS50076/50079).
    MfaRequired,
    /// The client secret or assertion is wrong or expired (AADSTS7000215/7000222/70002).
    InvalidClientSecret,
    /// The tenant does not exist (AADSTS90002).
    UnknownTenant,
    /// The app is not present in the tenant or not multi-tenant.
    AppNotFound,
    /// Conditional Access, security defaults or a risk policy blocked the sign-in.
    Blocked,
    /// The scope is invalid for the app.
    InvalidScope,
    /// The token service is temporarily unavailable.
    TemporarilyUnavailable,
    /// Anything else.
    Other,
}

/// A refusal from the Microsoft identity platform token endpoint.
#[derive(Clone, Debug)]
pub struct AuthError {
    /// The tenant the token was asked for.
    pub tenant: TenantId,
    /// The OAuth `error` value (for example `invalid_grant`).
    pub error: String,
    /// The AADSTS codes (`error_codes`).
    pub codes: Vec<u32>,
    /// The first line of `error_description` (the AADSTS text, without traces).
    pub description: String,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// HTTP status of the answer, when there was one.
    pub status: Option<StatusCode>,
    /// The classification.
    pub kind: AuthErrorKind,
}

impl AuthError {
    /// Parses the token endpoint's documented error body.
    pub fn from_response(tenant: TenantId, status: StatusCode, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            error: Option<String>,
            error_description: Option<String>,
            #[serde(default)]
            error_codes: Vec<u32>,
            trace_id: Option<String>,
            correlation_id: Option<String>,
        }
        let parsed: Option<Body> = serde_json::from_slice(body).ok();
        match parsed {
            Some(b) => {
                let description = b
                    .error_description
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                let mut codes = b.error_codes;
                if codes.is_empty() {
                    if let Some(c) = aadsts_from_text(&description) {
                        codes.push(c);
                    }
                }
                let error = crate::redact::cap(&b.error.unwrap_or_default(), 200);
                let kind = classify_aadsts(&codes, &error);
                AuthError {
                    tenant,
                    error,
                    codes,
                    description: crate::redact::clean_text(&description),
                    trace_id: b.trace_id,
                    correlation_id: b.correlation_id,
                    status: Some(status),
                    kind,
                }
            }
            None => AuthError {
                tenant,
                error: String::new(),
                codes: Vec::new(),
                description: crate::redact::body_excerpt(body),
                trace_id: None,
                correlation_id: None,
                status: Some(status),
                kind: if status.is_server_error() {
                    AuthErrorKind::TemporarilyUnavailable
                } else {
                    AuthErrorKind::Other
                },
            },
        }
    }

    /// What the caller should do, in words.
    pub fn advice(&self) -> &'static str {
        match self.kind {
            AuthErrorKind::RefreshTokenExpired => "the partner refresh token expired or was revoked: renew consent (re-run the Secure Application Model / CPV consent) and store the new refresh token",
            AuthErrorKind::ConsentMissing => "the application is not consented in this tenant: run admin consent (or the CPV consent for the customer) and try again",
            AuthErrorKind::MfaRequired => "the account needs multi-factor authentication: sign in again interactively with MFA (or register MFA) to get a new refresh token",
            AuthErrorKind::InvalidClientSecret => "the client secret is wrong or expired: create a new secret on the app registration and configure it",
            AuthErrorKind::UnknownTenant => "no such tenant: check the tenant id or domain",
            AuthErrorKind::AppNotFound => "the application is not present in this tenant: check the client id and that the app is multi-tenant and consented",
            AuthErrorKind::Blocked => "the sign-in was blocked by Conditional Access, security defaults or a risk policy: review the policy for the partner account",
            AuthErrorKind::InvalidScope => "the requested scope is not valid for this app or cloud: check the audience",
            AuthErrorKind::TemporarilyUnavailable => "the token service is temporarily unavailable: retry later",
            AuthErrorKind::Other => "see the AADSTS code and trace id",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant {}: token request refused", self.tenant)?;
        if let Some(c) = self.codes.first() {
            write!(f, " (AADSTS{c}")?;
            if !self.error.is_empty() {
                write!(f, ", {}", self.error)?;
            }
            write!(f, ")")?;
        } else if !self.error.is_empty() {
            write!(f, " ({})", self.error)?;
        }
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        write!(f, ". What to do: {}", self.advice())?;
        if let Some(t) = &self.trace_id {
            write!(f, " (trace id {t})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

fn aadsts_from_text(text: &str) -> Option<u32> {
    let rest = &text[text.find("AADSTS")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies AADSTS codes (and the OAuth `error` value) into what the caller must do.
pub fn classify_aadsts(codes: &[u32], error: &str) -> AuthErrorKind {
    for c in codes {
        let kind = match c {
            700082 | 70008 | 50173 | 70043 | 50132 | 50133 | 70000 | 700084 => {
                AuthErrorKind::RefreshTokenExpired
            }
            65001 | 65004 | 65005 | 650056 | 650057 | 650052 => AuthErrorKind::ConsentMissing,
            50076 | 50078 | 50079 | 50158 | 50072 | 50074 => AuthErrorKind::MfaRequired,
            7000215 | 7000222 | 70002 | 700027 | 7000112 => AuthErrorKind::InvalidClientSecret,
            90002 | 90023 => AuthErrorKind::UnknownTenant,
            700016 | 700011 | 70001 | 500011 | 50194 | 50020 => AuthErrorKind::AppNotFound,
            53003 | 53000 | 530035 | 530034 | 50057 | 50053 | 50055 | 50126 => {
                AuthErrorKind::Blocked
            }
            70011 => AuthErrorKind::InvalidScope,
            _ => continue,
        };
        return kind;
    }
    match error {
        "consent_required" => AuthErrorKind::ConsentMissing,
        "interaction_required" => AuthErrorKind::MfaRequired,
        "invalid_client" => AuthErrorKind::InvalidClientSecret,
        "invalid_scope" => AuthErrorKind::InvalidScope,
        "temporarily_unavailable" => AuthErrorKind::TemporarilyUnavailable,
        _ => AuthErrorKind::Other,
    }
}

/// A response body that did not have the expected shape.
#[derive(Clone, Debug)]
pub struct DecodeError {
    /// The tenant the request was for.
    pub tenant: Option<TenantId>,
    /// The operation (method and path, no query).
    pub operation: String,
    /// The JSON path where decoding failed (for example `value[3].createdDateTime`).
    pub path: String,
    /// What serde said.
    pub message: String,
}

impl DecodeError {
    /// Decodes `body` as `T`, naming the JSON path on failure.
    pub fn decode<T: serde::de::DeserializeOwned>(
        tenant: Option<&TenantId>,
        operation: &str,
        body: &[u8],
    ) -> Result<T, DecodeError> {
        Self::decode_lazy(tenant, || operation.to_owned(), body)
    }

    /// Like [`DecodeError::decode`], naming the operation only when decoding fails.
    pub fn decode_lazy<T: serde::de::DeserializeOwned>(
        tenant: Option<&TenantId>,
        operation: impl FnOnce() -> String,
        body: &[u8],
    ) -> Result<T, DecodeError> {
        // The fast path decodes without tracking the path; only a failure is decoded again
        // with path tracking, to name where the shape differs.
        match serde_json::from_slice(body) {
            Ok(v) => Ok(v),
            Err(_) => {
                let de = &mut serde_json::Deserializer::from_slice(body);
                match serde_path_to_error::deserialize::<_, T>(de) {
                    Err(e) => Err(DecodeError {
                        tenant: tenant.cloned(),
                        operation: operation(),
                        path: e.path().to_string(),
                        message: crate::redact::clean_text(&e.inner().to_string()),
                    }),
                    Ok(v) => Ok(v),
                }
            }
        }
    }
}

impl DecodeError {
    /// Like [`DecodeError::decode`] for types that borrow from the body.
    pub fn decode_borrowed<'a, T: serde::Deserialize<'a>>(
        tenant: Option<&TenantId>,
        operation: &str,
        body: &'a [u8],
    ) -> Result<T, DecodeError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| DecodeError {
            tenant: tenant.cloned(),
            operation: operation.to_owned(),
            path: e.path().to_string(),
            message: crate::redact::clean_text(&e.inner().to_string()),
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.tenant {
            write!(f, "tenant {t}: ")?;
        }
        write!(
            f,
            "{}: unexpected response shape at `{}`: {}. What to do: the service changed this field; report it with the path",
            self.operation, self.path, self.message
        )
    }
}

impl std::error::Error for DecodeError {}

/// How far a failed request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestSent {
    /// The request certainly did not reach the service (connection refused, DNS failure).
    No,
    /// The request may have reached the service (timeout, broken connection after sending):
    /// its outcome is unknown, so only idempotent requests may be retried.
    Maybe,
}

/// The kind of transport failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect.
    Connect,
    /// The request or connection timed out.
    Timeout,
    /// The connection broke or another I/O failure occurred.
    Io,
    /// The request could not be built (for example a bad URL).
    InvalidRequest,
}

/// A failure to exchange a request with the service.
#[derive(Clone, Debug, thiserror::Error)]
pub struct TransportError {
    /// What failed.
    pub kind: TransportErrorKind,
    /// Whether the request may have reached the service.
    pub sent: RequestSent,
    /// A description without URL query strings or secrets.
    pub message: String,
    /// The tenant, when the failure happened for one (set by the pipeline).
    pub tenant: Option<TenantId>,
    /// The operation that failed (set by the pipeline).
    pub operation: Option<String>,
    /// Whether the pipeline left the request unsent again because resending it could
    /// repeat a write (set by the pipeline).
    pub not_resent: bool,
    #[source]
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.tenant {
            write!(f, "tenant {t}: ")?;
        }
        if let Some(o) = &self.operation {
            write!(f, "{o}: ")?;
        }
        let kind = match self.kind {
            TransportErrorKind::Connect => "connection failure",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Io => "I/O failure",
            TransportErrorKind::InvalidRequest => "invalid request",
        };
        write!(f, "{kind}: {}", self.message)?;
        match self.sent {
            RequestSent::No => write!(f, " (the request was not sent)"),
            RequestSent::Maybe if self.not_resent => write!(
                f,
                ". The request may have reached the service, and resending it could repeat a write, so it was not resent. What to do: read the object back (or the Exchange state) to see whether the change happened before trying again"
            ),
            RequestSent::Maybe => write!(f, " (the request may have reached the service)"),
        }
    }
}

impl TransportError {
    /// A transport error.
    pub fn new(kind: TransportErrorKind, sent: RequestSent, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            sent,
            message: crate::redact::clean_text(&message.into()),
            tenant: None,
            operation: None,
            not_resent: false,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(std::sync::Arc::new(source));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("contoso.onmicrosoft.com").unwrap()
    }

    /// The error read from an answer with `status` and `body` and no headers.
    fn api_error(operation: &str, status: StatusCode, body: &[u8]) -> ApiError {
        ApiError::from_response(t(), operation, status, &HeaderMap::new(), body)
    }

    #[test]
    fn parses_documented_error_body_with_inner_error() {
        let body = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2024-01-02T03:04:05","request-id":"8b4b4d0d-1111","client-request-id":"cc-1"}}}"#;
        let e = api_error("PATCH /v1.0/users/x", StatusCode::FORBIDDEN, body);
        assert_eq!(e.code, "Authorization_RequestDenied");
        assert_eq!(e.request_id.as_deref(), Some("8b4b4d0d-1111"));
        assert_eq!(e.client_request_id.as_deref(), Some("cc-1"));
        assert_eq!(e.date.as_deref(), Some("2024-01-02T03:04:05"));
        assert_eq!(e.kind, ApiErrorKind::MissingPermission);
        let s = e.to_string();
        assert!(
            s.contains("contoso.onmicrosoft.com")
                && s.contains("What to do")
                && s.contains("8b4b4d0d-1111"),
            "{s}"
        );
    }

    #[test]
    fn parses_lowercase_innererror_nested_and_empty_code() {
        let body = br#"{"error":{"code":"","message":"x","innererror":{"code":"outer","innererror":{"code":"deepest","request-id":"r2"}}}}"#;
        let e = api_error("GET /x", StatusCode::BAD_REQUEST, body);
        assert_eq!(e.code, "");
        assert_eq!(e.inner_code.as_deref(), Some("deepest"));
        assert_eq!(e.request_id.as_deref(), Some("r2"));
        assert_eq!(e.kind, ApiErrorKind::BadRequest);
    }

    #[test]
    fn throttling_body_and_header_ids() {
        let body = br#"{"error":{"code":"TooManyRequests","innerError":{"code":"429","date":"2020-08-18T12:51:51","message":"Please retry after","request-id":"94fb3b52-452a-4535-a601-69e0a90e3aa2","status":"429"},"message":"Please retry again later."}}"#;
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2.128".parse().unwrap());
        let e = ApiError::from_response(t(), "GET /x", StatusCode::TOO_MANY_REQUESTS, &h, body);
        assert_eq!(e.kind, ApiErrorKind::Throttled);
        assert_eq!(e.retry_after, Some(Duration::from_millis(2128)));
        assert!(Error::from(e).is_retryable());
    }

    #[test]
    fn non_json_body_kept_as_message_and_header_request_id() {
        let mut h = HeaderMap::new();
        h.insert("request-id", "hdr-1".parse().unwrap());
        let e = ApiError::from_response(
            t(),
            "GET /x",
            StatusCode::BAD_GATEWAY,
            &h,
            b"<html>bad gateway</html>",
        );
        assert_eq!(e.request_id.as_deref(), Some("hdr-1"));
        assert!(e.message.contains("bad gateway"));
        assert_eq!(e.kind, ApiErrorKind::ServiceUnavailable);
    }

    #[test]
    fn licence_errors_classified() {
        let body = br#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license"}}"#;
        let e = api_error("GET /v1.0/auditLogs/signIns", StatusCode::FORBIDDEN, body);
        assert_eq!(e.kind, ApiErrorKind::MissingLicense);
        assert!(e.to_string().contains("P1/P2"));
    }

    #[test]
    fn aadsts_mappings() {
        let cases = [
            (700082, AuthErrorKind::RefreshTokenExpired),
            (65001, AuthErrorKind::ConsentMissing),
            (50076, AuthErrorKind::MfaRequired),
            (50079, AuthErrorKind::MfaRequired),
            (7000215, AuthErrorKind::InvalidClientSecret),
            (7000222, AuthErrorKind::InvalidClientSecret),
            (90002, AuthErrorKind::UnknownTenant),
        ];
        for (code, kind) in cases {
            let body = format!(
                r#"{{"error":"invalid_grant","error_description":"AADSTS{code}: something.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2016-01-09 02:02:12Z","error_codes":[{code}],"timestamp":"2016-01-09 02:02:12Z","trace_id":"trace-{code}","correlation_id":"c"}}"#
            );
            let e = AuthError::from_response(t(), StatusCode::BAD_REQUEST, body.as_bytes());
            assert_eq!(e.kind, kind, "AADSTS{code}");
            assert_eq!(e.description, format!("AADSTS{code}: something."));
            assert_eq!(
                e.trace_id.as_deref(),
                Some(format!("trace-{code}").as_str())
            );
            assert!(e.to_string().contains("What to do"));
        }
    }

    #[test]
    fn aadsts_code_read_from_text_when_codes_missing() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired."}"#;
        let e = AuthError::from_response(t(), StatusCode::UNAUTHORIZED, body);
        assert_eq!(e.codes, vec![7000222]);
        assert_eq!(e.kind, AuthErrorKind::InvalidClientSecret);
    }

    #[test]
    fn decode_error_names_path() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct P {
            value: Vec<Q>,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Q {
            n: u32,
        }
        let e = DecodeError::decode::<P>(None, "GET /x", br#"{"value":[{"n":1},{"n":"x"}]}"#)
            .unwrap_err();
        assert_eq!(e.path, "value[1].n");
    }
}
