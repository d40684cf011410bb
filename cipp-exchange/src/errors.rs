//! How the Exchange admin API reports errors, read into [`ApiError`]: the cmdlet's real
//! error sits in `error.details[].message` as `ExXXXXXX|ExceptionType|message`, or in
//! `error.innererror.internalException` — declared on every cmdlet request as its
//! [`ErrorReader`](cipp_core::request::ErrorReader), so core knows nothing of it.

use cipp_core::{ApiError, ApiErrorKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    error: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    details: Option<Vec<Detail>>,
    #[serde(alias = "innererror", alias = "innerError", alias = "InnerError")]
    inner_error: Option<Inner>,
}

#[derive(Deserialize)]
struct Detail {
    message: Option<String>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "internalException", default)]
    internal_exception: Option<Exception>,
}

#[derive(Deserialize)]
struct Exception {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Refines an error answer of the Exchange admin API: the cmdlet's message as `detail`
/// (without the `ExXXXXXX|Type|` prefix), its exception type as `inner_code`, and
/// `NotFound` for `…NotFoundException`.
pub fn read_exchange_error(e: &mut ApiError, body: &[u8]) {
    let Some(b) = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|p| p.error)
    else {
        return;
    };
    let exception = b.inner_error.and_then(|i| i.internal_exception);
    let from_details = b
        .details
        .iter()
        .flatten()
        .find_map(|d| d.message.clone().filter(|m| !m.is_empty()));
    let mut exception_type = None;
    if let Some(raw) = from_details.or_else(|| exception.as_ref().and_then(|x| x.message.clone())) {
        let parts: Vec<&str> = raw.splitn(3, '|').collect();
        if parts.len() == 3 && parts[0].starts_with("Ex") {
            exception_type = Some(parts[1].to_owned());
            e.detail = Some(cipp_core::redact::clean_text(parts[2]));
        } else {
            e.detail = Some(cipp_core::redact::clean_text(&raw));
        }
    }
    if exception_type.is_none() {
        exception_type = exception.and_then(|x| x.kind);
    }
    if e.inner_code.is_none() {
        e.inner_code = exception_type.map(|t| cipp_core::redact::cap(&t, 200));
    }
    if e.inner_code
        .as_deref()
        .is_some_and(|c| c.ends_with("NotFoundException"))
    {
        e.kind = ApiErrorKind::NotFound;
    }
    if e.inner_code
        .as_deref()
        .is_some_and(|c| c.ends_with("AlreadyExistsException"))
    {
        e.kind = ApiErrorKind::Conflict;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipp_core::TenantId;
    use http::{HeaderMap, StatusCode};

    fn t() -> TenantId {
        TenantId::parse("contoso.onmicrosoft.com").unwrap()
    }

    fn read(body: &[u8]) -> ApiError {
        let mut e = ApiError::from_response(
            t(),
            "Set-Mailbox",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            body,
        );
        read_exchange_error(&mut e, body);
        e
    }

    #[test]
    fn exchange_errors_prefer_details_and_name_the_exception() {
        let body = br#"{"error":{"code":"InternalServerError","message":"Error executing cmdlet","details":[{"code":"Context","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'."}],"innererror":{"message":"Error executing cmdlet","type":"Microsoft.Exchange.Admin.OData.Core.ODataServiceException","internalException":{"message":"The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found.","type":"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"}}}}"#;
        let e = read(body);
        assert!(e.detail.as_deref().unwrap().starts_with(
            "The operation couldn't be performed because object 'nobody@contoso.com'"
        ));
        assert_eq!(
            e.inner_code.as_deref(),
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
        );
        assert_eq!(e.kind, ApiErrorKind::NotFound);
        assert!(e.to_string().contains("nobody@contoso.com"));
        let only_inner = br#"{"error":{"code":"x","message":"Error executing cmdlet","innererror":{"internalException":{"message":"A parameter cannot be found that matches parameter name 'Bogus'.","type":"System.Management.Automation.ParameterBindingException"}}}}"#;
        let e = read(only_inner);
        assert_eq!(
            e.detail.as_deref(),
            Some("A parameter cannot be found that matches parameter name 'Bogus'.")
        );
        assert_eq!(
            e.inner_code.as_deref(),
            Some("System.Management.Automation.ParameterBindingException")
        );
    }

    #[test]
    fn other_bodies_are_left_alone() {
        let e = read(b"<html>gateway</html>");
        assert_eq!(e.detail, None);
        let e = read(br#"{"error":{"code":"x","message":"plain"}}"#);
        assert_eq!(e.detail, None);
        assert_eq!(e.inner_code, None);
    }
}
