//! "Send MFA push" through the legacy MFA connector (StrongAuthenticationService), as CIPP
//! does: the connector's service principal gets a password valid five minutes, a v1 token
//! for the connector resource is obtained with it (through core auth), and the connector
//! is asked to push a sign-in request to the user's authenticator — sent through the
//! pipeline (tracing, throttling) with that token, never resent.

use bytes::Bytes;
use cipp_core::auth::AccessToken;
use cipp_core::{ApiRequest, ApiResponse, Audience, Endpoints, Error, TenantId};
use serde::Serialize;

use crate::op::GraphOp;
use crate::users::{validate_upn, UserRef};

/// The application id of the legacy MFA connector.
pub const MFA_CONNECTOR_APP_ID: &str = "981f26a1-7f43-403b-a875-f8b09b8cd720";

/// The token resource of the connector.
pub const MFA_CONNECTOR_RESOURCE: &str =
    "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector";

/// What the user did with an MFA push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum MfaPushResult {
    /// The user approved it.
    Approved,
    /// The user denied it, or did not answer in time.
    NotApproved {
        /// The service's result text.
        reason: String,
    },
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

fn read_push(r: &ApiResponse) -> Result<MfaPushResult, Error> {
    let text = String::from_utf8_lossy(&r.body);
    if xml_text(&text, "AuthenticationResult").is_none() {
        return Err(Error::protocol(
            Some(r.tenant.clone()),
            "MFA push (BeginTwoWayAuthentication)",
            format!(
                "the connector's answer has no AuthenticationResult: {}",
                cipp_core::redact::body_excerpt(&r.body)
            ),
        ));
    }
    let approved =
        xml_text(&text, "AuthenticationResult").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(if approved {
        MfaPushResult::Approved
    } else {
        let reason = xml_text(&text, "Message")
            .filter(|m| !m.is_empty())
            .or_else(|| xml_text(&text, "Value"))
            .unwrap_or("not approved")
            .to_owned();
        MfaPushResult::NotApproved { reason }
    })
}

/// The `BeginTwoWayAuthentication` request for `upn`, carrying the connector `token`.
/// `context_id` correlates the request (a fresh GUID per push).
pub fn begin_two_way_authentication(
    tenant: &TenantId,
    endpoints: &Endpoints,
    upn: &str,
    token: AccessToken,
    context_id: &str,
) -> Result<GraphOp<MfaPushResult>, Error> {
    validate_upn(upn)?;
    let xml = format!(
        "<BeginTwoWayAuthenticationRequest><Version>1.0</Version><UserPrincipalName>{}</UserPrincipalName><Lcid>en-us</Lcid>\
<AuthenticationMethodProperties xmlns:a=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"><a:KeyValueOfstringstring><a:Key>OverrideVoiceOtp</a:Key><a:Value>false</a:Value></a:KeyValueOfstringstring></AuthenticationMethodProperties>\
<ContextId>{context_id}</ContextId><SyncCall>true</SyncCall><RequireUserMatch>true</RequireUserMatch><CallerName>radius</CallerName><CallerIP>UNKNOWN:</CallerIP></BeginTwoWayAuthenticationRequest>",
        upn.replace('&', "&amp;").replace('<', "&lt;")
    );
    let r = ApiRequest::post(
        tenant.clone(),
        Audience::Other(MFA_CONNECTOR_RESOURCE.into()),
        format!(
            "{}/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
            endpoints.mfa_connector.trim_end_matches('/')
        ),
    )
    .operation("MFA push (BeginTwoWayAuthentication)")
    .header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    )
    .header(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/xml"),
    )
    .bearer(token)
    .body(Bytes::from(xml));
    Ok(GraphOp::new(r, read_push))
}

impl crate::auth_methods::AuthMethods {
    /// Sends an MFA push to the user's authenticator and reports whether they approved it
    /// (the call waits for the user, as the connector does).
    pub async fn send_mfa_push(&self, user: &UserRef) -> Result<MfaPushResult, Error> {
        let upn = match user {
            UserRef::Upn(u) => u.clone(),
            UserRef::Id(_) => self
                .0
                .users()
                .get(user)
                .select(["userPrincipalName"])
                .await?
                .user_principal_name
                .ok_or_else(|| {
                    Error::protocol(
                        Some(self.0.id().clone()),
                        "get user",
                        "the user has no userPrincipalName",
                    )
                })?,
        };
        validate_upn(&upn)?;
        let pipeline = self.0.pipeline();
        let apps = self.0.applications();
        let sp = apps.ensure_service_principal(MFA_CONNECTOR_APP_ID).await?;
        let now = pipeline.clock().now();
        let end = now
            .checked_add_signed(chrono::Duration::minutes(5))
            .unwrap_or(now);
        let credential = apps.add_password(&sp.id, "cipp-rs MFA push", end).await?;
        let token = pipeline
            .token_endpoint()
            .client_credentials_v1(
                self.0.id(),
                MFA_CONNECTOR_APP_ID,
                &credential.secret,
                MFA_CONNECTOR_RESOURCE,
            )
            .await?;
        let context = uuid::Uuid::new_v4().to_string();
        let op =
            begin_two_way_authentication(self.0.id(), pipeline.endpoints(), &upn, token, &context)?;
        self.0.call(Ok(op)).await
    }
}
