//! The seam between cipp-rs and the network.
//!
//! Everything above this module sends fully buffered [`http`] requests through an
//! `Arc<dyn Transport>`: the reqwest implementation here, the simulator in `cipp-sim`, or
//! the scriptable transport of the `test-util` feature. Responses are buffered too, except
//! for [`Transport::send_streamed`], which paging uses to act on a page's next link while
//! the rest of the page is still arriving.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::{RequestSent, TransportError, TransportErrorKind};

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("cipp-rs/", env!("CARGO_PKG_VERSION"));

/// A fully buffered HTTP request.
pub type HttpRequest = http::Request<Bytes>;
/// A fully buffered HTTP response.
pub type HttpResponse = http::Response<Bytes>;
/// A response body as it arrives, piece by piece. It ends after the last piece, or with
/// an error when the connection fails before the body is complete.
pub type BodyChunks = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;
/// An HTTP response whose body is read as it arrives.
pub type StreamedResponse = http::Response<BodyChunks>;

/// Sends one HTTP request and returns its response, whatever its status.
///
/// Implementations must not follow redirects, retry, or add authentication: the pipeline
/// does all of that. A failure says whether the request may have reached the service.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and buffers the whole response.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Sends `request` and returns once the status and headers have arrived; the body is
    /// read from the response as it arrives. The default buffers the body with
    /// [`Transport::send`] and hands it over as one piece.
    async fn send_streamed(
        &self,
        request: HttpRequest,
    ) -> Result<StreamedResponse, TransportError> {
        let (parts, body) = self.send(request).await?.into_parts();
        let one: BodyChunks = Box::pin(futures::stream::iter([Ok(body)]));
        Ok(http::Response::from_parts(parts, one))
    }
}

/// The request's URL already parsed, put in the request's extensions by the pipeline so
/// a transport built on [`url::Url`] need not parse it again. A transport uses it only when
/// it still matches the request's URI.
#[derive(Clone, Debug)]
pub struct ParsedUrl(pub url::Url);

/// Settings of [`ReqwestTransport`].
#[derive(Clone, Debug)]
pub struct ReqwestSettings {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, from sending to the last byte of the response.
    pub request_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl Default for ReqwestSettings {
    fn default() -> Self {
        ReqwestSettings {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(100),
            pool_max_idle_per_host: 32,
        }
    }
}

/// The default transport: reqwest with rustls, HTTP/1.1 and HTTP/2, no redirects.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the default settings.
    pub fn new() -> Result<Self, crate::Error> {
        Self::with_settings(&ReqwestSettings::default())
    }

    /// A transport with the given timeouts.
    pub fn with_settings(settings: &ReqwestSettings) -> Result<Self, crate::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| crate::Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestTransport { client })
    }
}

impl ReqwestTransport {
    /// Sends the request and returns the response head, with the host for error messages.
    async fn start(
        &self,
        request: HttpRequest,
    ) -> Result<(reqwest::Response, String), TransportError> {
        let (mut parts, body) = request.into_parts();
        let url = match parts.extensions.remove::<ParsedUrl>() {
            Some(ParsedUrl(url)) if url.as_str() == parts.uri => url,
            _ => reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
                TransportError::new(
                    TransportErrorKind::InvalidRequest,
                    RequestSent::No,
                    format!("invalid URL: {e}"),
                )
            })?,
        };
        let host = url.host_str().unwrap_or("").to_owned();
        // The request is built whole (no builder): the headers move in as they are
        // instead of being merged one by one.
        let mut outgoing = reqwest::Request::new(parts.method, url);
        *outgoing.headers_mut() = parts.headers;
        if !body.is_empty() {
            *outgoing.body_mut() = Some(body.into());
        }
        let response = self
            .client
            .execute(outgoing)
            .await
            .map_err(|e| map_reqwest_error(&host, e))?;
        Ok((response, host))
    }
}

/// Moves a reqwest response's head into an `http` response with `body`.
fn with_head<B>(response: &mut reqwest::Response, body: B) -> http::Response<B> {
    let mut out = http::Response::new(body);
    *out.status_mut() = response.status();
    *out.version_mut() = response.version();
    *out.headers_mut() = std::mem::take(response.headers_mut());
    out
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (mut response, host) = self.start(request).await?;
        let head = with_head(&mut response, ());
        let body = response
            .bytes()
            .await
            .map_err(|e| map_reqwest_error(&host, e))?;
        Ok(head.map(|()| body))
    }

    async fn send_streamed(
        &self,
        request: HttpRequest,
    ) -> Result<StreamedResponse, TransportError> {
        let (mut response, host) = self.start(request).await?;
        let head = with_head(&mut response, ());
        let chunks = futures::stream::unfold(Some((response, host)), |state| async move {
            let (mut response, host) = state?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some((response, host)))),
                Ok(None) => None,
                Err(e) => Some((Err(map_reqwest_error(&host, e)), None)),
            }
        });
        let body: BodyChunks = Box::pin(chunks);
        Ok(head.map(|()| body))
    }
}

fn map_reqwest_error(host: &str, e: reqwest::Error) -> TransportError {
    // reqwest's Display may include the URL with its query string: never echo it.
    let (kind, sent) = if e.is_connect() {
        (TransportErrorKind::Connect, RequestSent::No)
    } else if e.is_timeout() {
        (TransportErrorKind::Timeout, RequestSent::Maybe)
    } else if e.is_builder() {
        (TransportErrorKind::InvalidRequest, RequestSent::No)
    } else {
        (TransportErrorKind::Io, RequestSent::Maybe)
    };
    let what = match kind {
        TransportErrorKind::Connect => "could not connect to",
        TransportErrorKind::Timeout => "timed out talking to",
        TransportErrorKind::InvalidRequest => "could not build a request for",
        TransportErrorKind::Io => "connection failed with",
    };
    TransportError::new(kind, sent, format!("{what} {host}")).with_source(e.without_url())
}
