//! The core of cipp-rs: the transport seam, the request pipeline (authentication,
//! request ids, retries, throttle isolation, tracing), multi-tenant token providers and
//! their cache, OData paging as streams, the error type, tenant fleets and the shared
//! outcome type.
//!
//! Upper crates (`cipp-graph`, `cipp-exchange`, …) build [`ApiRequest`] values and send
//! them through a [`Pipeline`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
//! use cipp_core::{ApiRequest, Audience, Credentials, Pipeline, TenantId};
//! use futures::TryStreamExt;
//!
//! let mock = Arc::new(MockTransport::new());
//! mock.on("GET", "/v1.0/users", MockResponse::json(200, &serde_json::json!({
//!     "value": [{"id": "1"}, {"id": "2"}]
//! })));
//! let pipeline = Pipeline::builder()
//!     .transport(mock)
//!     .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
//!     .build()?;
//! let tenant = TenantId::parse("contoso.onmicrosoft.com")?;
//! let users: Vec<serde_json::Value> =
//!     cipp_core::paging::items(pipeline, ApiRequest::get(tenant, Audience::Graph, "/v1.0/users"))
//!         .try_collect().await?;
//! assert_eq!(users.len(), 2);
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod auth;
pub mod batch;
pub mod clock;
pub mod cloud;
pub mod error;
pub mod fleet;
pub mod outcome;
pub mod paging;
pub mod pipeline;
pub mod redact;
pub mod request;
pub mod retry;
pub mod tenant;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod throttle;
pub mod transport;
pub mod unknown;

pub use auth::{AccessToken, TokenCache, TokenProvider};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cloud::{Audience, Cloud, Endpoints};
pub use error::{
    ApiError, ApiErrorKind, AuthError, AuthErrorKind, DecodeError, Error, RequestSent, Result,
    TransportError, TransportErrorKind,
};
pub use fleet::{Fleet, FleetCounts, FleetEvent, TenantResult};
pub use outcome::{ErrorSummary, Outcome, Report, Step};
pub use paging::Page;
pub use pipeline::{
    parse_retry_after, Credentials, Interceptor, Pipeline, PipelineBuilder, RetryPolicy, Streamed,
    USER_AGENT,
};
pub use request::{ApiRequest, ApiResponse};
pub use tenant::{Tenant, TenantId};
pub use throttle::{ThrottleSettings, Workload, WorkloadLimit};
pub use transport::{
    BodyChunks, HttpRequest, HttpResponse, ReqwestSettings, ReqwestTransport, StreamedResponse,
    Transport,
};

pub use secrecy::{ExposeSecret, SecretString};
