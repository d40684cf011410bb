//! Typed request values: a request plus the way to read its answer.

use std::borrow::Cow;
use std::fmt;

use cipp_core::{ApiRequest, ApiResponse, Audience, Error, Pipeline, TenantId};
use http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::odata::Query;

/// Reads a response into `T`.
pub type Decoder<T> = fn(&ApiResponse) -> Result<T, Error>;

/// One Graph operation as a value: the [`ApiRequest`] to send and how to read its answer.
///
/// It can be sent with [`GraphOp::send`], put into a `$batch`
/// ([`crate::batch::Batch`]), or inspected in a unit test without any HTTP.
///
/// ```
/// use cipp_core::TenantId;
/// use cipp_graph::users::{self, UserRef};
/// let t = TenantId::parse("contoso.com")?;
/// let op = users::get(&t, &UserRef::parse("guest_x.com#EXT#@contoso.onmicrosoft.com")?, &[]);
/// assert_eq!(op.request().path(), "/v1.0/users/guest_x.com%23EXT%23%40contoso.onmicrosoft.com");
/// # Ok::<(), cipp_core::Error>(())
/// ```
pub struct GraphOp<T> {
    request: ApiRequest,
    decode: Decoder<T>,
}

impl<T> fmt::Debug for GraphOp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphOp")
            .field("method", self.request.method())
            .field("path", &self.request.path())
            .finish_non_exhaustive()
    }
}

impl<T> GraphOp<T> {
    /// An operation from a request and a decoder.
    pub fn new(request: ApiRequest, decode: Decoder<T>) -> Self {
        GraphOp {
            request: crate::workload::declare(request),
            decode,
        }
    }

    /// The request that will be sent.
    pub fn request(&self) -> &ApiRequest {
        &self.request
    }

    /// Takes the request out (for a batch), with the decoder.
    pub fn into_parts(self) -> (ApiRequest, Decoder<T>) {
        (self.request, self.decode)
    }

    /// Changes the request (add a header, mark it idempotent, …).
    pub fn map_request(mut self, f: impl FnOnce(ApiRequest) -> ApiRequest) -> Self {
        self.request = f(self.request);
        self
    }

    /// Reads a response the way this operation expects.
    pub fn decode(&self, response: &ApiResponse) -> Result<T, Error> {
        (self.decode)(response)
    }

    /// Sends the request through `pipeline` and reads the answer.
    pub async fn send(self, pipeline: &Pipeline) -> Result<T, Error> {
        let response = pipeline.send(self.request).await?;
        (self.decode)(&response)
    }
}

/// Decodes the JSON body.
pub fn json<T: DeserializeOwned>(r: &ApiResponse) -> Result<T, Error> {
    r.json()
}

/// Ignores the body (204 No Content and similar).
pub fn unit(_: &ApiResponse) -> Result<(), Error> {
    Ok(())
}

/// A Graph request of `method` on `path` in `tenant`, named `operation` in errors and logs.
pub(crate) fn request(
    tenant: &TenantId,
    method: Method,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
) -> ApiRequest {
    ApiRequest::new(tenant.clone(), Audience::Graph, method, path).operation(operation)
}

/// GET `path`, the answer read as JSON.
pub(crate) fn get<T: DeserializeOwned>(
    tenant: &TenantId,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
) -> GraphOp<T> {
    GraphOp::new(request(tenant, Method::GET, path, operation), json)
}

/// DELETE `path` (204).
pub(crate) fn delete(
    tenant: &TenantId,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
) -> GraphOp<()> {
    GraphOp::new(request(tenant, Method::DELETE, path, operation), unit)
}

/// `method` (PATCH or POST) on `path` with the JSON `body`, the answer read with
/// `decode`. A PATCH is marked idempotent (it sets fixed values, so repeating it changes
/// nothing); a POST is not.
pub(crate) fn with_body<T, B: Serialize + ?Sized>(
    tenant: &TenantId,
    method: Method,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
    body: &B,
    decode: Decoder<T>,
) -> Result<GraphOp<T>, Error> {
    let idempotent = method == Method::PATCH;
    let r = request(tenant, method, path, operation)
        .json(body)?
        .idempotent(idempotent);
    Ok(GraphOp::new(r, decode))
}

/// PATCH `path` with `body` (204; idempotent, see [`with_body`]).
pub(crate) fn patch<B: Serialize + ?Sized>(
    tenant: &TenantId,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
    body: &B,
) -> Result<GraphOp<()>, Error> {
    with_body(tenant, Method::PATCH, path, operation, body, unit)
}

/// A listing of `path`: `query` checked (page size up to 999) and applied.
pub(crate) fn list(
    tenant: &TenantId,
    path: impl Into<String>,
    operation: impl Into<Cow<'static, str>>,
    query: &Query,
) -> Result<ApiRequest, Error> {
    query.validate(999)?;
    Ok(query.apply(request(tenant, Method::GET, path, operation)))
}

/// `id` lower-cased when it is a GUID; otherwise an error on `field` saying
/// "`{id}` is not {what}".
pub(crate) fn guid(field: &str, id: &str, what: &str) -> Result<String, Error> {
    if crate::users::is_guid(id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(Error::invalid_input(field, format!("`{id}` is not {what}")))
    }
}

/// `request` with `$select` when `fields` names any.
pub(crate) fn select(request: ApiRequest, fields: &[&str]) -> ApiRequest {
    if fields.is_empty() {
        request
    } else {
        request.query("$select", &fields.join(","))
    }
}
