//! Traces name the tenant, path and request id, never the query string or the token.
//! Alone in its test binary: tracing's per-callsite interest cache is process-wide, so
//! other tests running at the same time without a subscriber could hide these events.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cipp_core::test_util::{MockResponse, MockTransport};
use cipp_core::{ApiRequest, Audience, Credentials, Pipeline, SecretString, TenantId};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn traces_name_tenant_and_path_but_never_query_or_token() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mock = Arc::new(MockTransport::new());
            mock.on(
                "GET",
                "/v1.0/users",
                MockResponse::json(200, &serde_json::json!({"value": []}))
                    .with_header("request-id", "rid-77"),
            );
            let p = Pipeline::builder()
                .transport(mock)
                .credentials(Credentials::StaticToken(SecretString::from(
                    "eyJ0eXAiOi.secret-token",
                )))
                .build()
                .unwrap();
            let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
            let req = ApiRequest::get(t, Audience::Graph, "/v1.0/users")
                .query("$filter", "displayName eq 'Jane Secretperson'");
            p.send(req).await.unwrap();
        });
    });
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("contoso.onmicrosoft.com"), "{out}");
    assert!(out.contains("/v1.0/users"), "{out}");
    assert!(out.contains("rid-77"), "request id recorded: {out}");
    assert!(
        !out.contains("Secretperson") && !out.contains("filter"),
        "query leaked: {out}"
    );
    assert!(
        !out.contains("secret-token") && !out.contains("eyJ"),
        "token leaked: {out}"
    );
}
