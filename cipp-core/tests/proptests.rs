//! Property tests over every parser and time computation in core that takes outside
//! input: none may panic; each parses or returns a typed error, and what it returns stays
//! within its documented bounds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cipp_core::auth::{expires_in_lifetime, MAX_TOKEN_LIFETIME};
use cipp_core::pipeline::{resend_decision, Resend, MAX_RETRY_AFTER};
use cipp_core::redact::{body_excerpt, echo, redact_path, redact_secrets, MAX_ERROR_TEXT};
use cipp_core::{parse_retry_after, ApiError, AuthError, Endpoints, Error, TenantId};
use http::{HeaderMap, StatusCode};
use proptest::prelude::*;

fn any_time() -> impl Strategy<Value = SystemTime> {
    (0u64..=253_402_300_799).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

fn retry_after_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "[0-9]{1,40}(\\.[0-9]{0,10})?",
        "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Oct|Dec) [0-9]{1,5} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
        "\\PC{0,40}",
        Just("1e19".to_owned()),
        Just("-0".to_owned()),
        Just("inf".to_owned()),
    ]
}

proptest! {
    #[test]
    fn retry_after_never_panics_and_is_bounded(v in retry_after_text(), now in any_time()) {
        if let Some(d) = parse_retry_after(&v, now) {
            prop_assert!(d <= MAX_RETRY_AFTER);
        }
    }

    #[test]
    fn whole_seconds_are_read_exactly(n in 0u64..86_400) {
        prop_assert_eq!(parse_retry_after(&n.to_string(), SystemTime::now()), Some(Duration::from_secs(n)));
    }

    #[test]
    fn expires_in_never_panics_and_is_bounded(
        v in prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite JSON", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
            "\"\\PC{0,20}\"",
            Just("null".to_owned()),
        ]
    ) {
        if let Ok(d) = expires_in_lifetime(&v) {
            prop_assert!(d <= MAX_TOKEN_LIFETIME);
        }
    }

    #[test]
    fn tenant_ids_parse_or_refuse(v in prop_oneof![
        "\\PC{0,300}",
        "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,4}",
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ]) {
        match TenantId::parse(&v) {
            Ok(t) => {
                prop_assert_eq!(t.as_str(), t.as_str().to_ascii_lowercase());
                prop_assert_eq!(TenantId::parse(t.as_str()).unwrap(), t);
            }
            Err(e) => {
                let is_input = matches!(e, Error::InvalidInput { .. });
                prop_assert!(is_input, "{}", e);
                prop_assert!(e.to_string().len() <= 640, "echoed too much: {}", e.to_string().len());
            }
        }
    }

    #[test]
    fn error_bodies_never_panic_and_are_bounded(
        body in proptest::collection::vec(any::<u8>(), 0..6000),
        status in 100u16..600,
    ) {
        let t = TenantId::parse("contoso.com").unwrap();
        let status = StatusCode::from_u16(status).unwrap();
        let e = ApiError::from_response(t.clone(), "GET /x", status, &HeaderMap::new(), &body);
        prop_assert!(e.message.len() <= MAX_ERROR_TEXT + 64);
        let a = AuthError::from_response(t, status, &body);
        prop_assert!(a.description.len() <= MAX_ERROR_TEXT + 64);
    }

    #[test]
    fn json_error_messages_are_redacted_and_bounded(
        secret in "[A-Za-z0-9~._-]{12,40}",
        filler in "\\PC{0,3000}",
    ) {
        let t = TenantId::parse("contoso.com").unwrap();
        let body = serde_json::json!({"error": {"code": "x", "message": format!("{filler} client_secret={secret}&x=1")}});
        let e = ApiError::from_response(t, "GET /x", StatusCode::BAD_REQUEST, &HeaderMap::new(), body.to_string().as_bytes());
        prop_assert!(e.message.len() <= MAX_ERROR_TEXT + 64);
        if e.message.contains("client_secret=") {
            prop_assert!(!e.message.contains(&secret), "{}", e.message);
        }
    }

    #[test]
    fn redaction_never_panics_and_hides_form_secrets(
        text in "\\PC{0,200}",
        secret in "[A-Za-z0-9~._-]{8,40}",
        key in prop_oneof![Just("client_secret"), Just("refresh_token"), Just("access_token"), Just("password"), Just("client_assertion")],
    ) {
        let _ = redact_secrets(&text);
        let _ = redact_path(&text);
        let _ = body_excerpt(text.as_bytes());
        let form = format!("{text}&{key}={secret}&grant_type=x");
        let pair = format!("{key}={secret}");
        prop_assert!(!redact_secrets(&form).contains(&pair), "{}", form);
        let json = format!(r#"{{"{key}":"{secret}","x":1}}"#);
        prop_assert!(!redact_secrets(&json).contains(&secret));
        let bearer = format!("Authorization: Bearer {secret}");
        prop_assert!(!redact_secrets(&bearer).contains(&secret));
    }

    #[test]
    fn echoed_input_is_bounded(v in "\\PC{0,5000}") {
        prop_assert!(echo(&v).chars().count() <= 120);
        let e = Error::invalid_input("user", format!("`{v}` is not a valid user principal name"));
        prop_assert!(e.to_string().len() <= 640, "{}", e.to_string().len());
    }

    #[test]
    fn sharepoint_hosts_never_panic(host in "\\PC{0,100}") {
        if let Ok(url) = Endpoints::default().sharepoint_admin_url(&host) {
            let parsed = url::Url::parse(&url).unwrap();
            prop_assert!(parsed.host_str().unwrap().ends_with("-admin.sharepoint.com") || parsed.host_str().unwrap().ends_with(".sharepoint.com"));
            prop_assert_eq!(parsed.path(), "/");
        }
    }

    #[test]
    fn writes_are_resent_only_when_the_service_did_not_act(status in 100u16..600, ra in any::<bool>(), nf in any::<bool>()) {
        let d = resend_decision(status, ra, false, nf);
        if d == Resend::Retry {
            prop_assert!(status == 429 || (status == 503 && ra) || (status == 404 && nf));
        }
    }
}
