//! The Microsoft identity platform token endpoint, with its real error bodies.

use serde_json::{json, Value};

use crate::state::SimState;
use crate::{Reply, Sim};

fn aadsts_error(status: u16, error: &str, code: u32, text: &str) -> Reply {
    let trace = crate::state::synthetic_guid(&format!("trace-{code}-{text}"));
    let corr = crate::state::synthetic_guid(&format!("corr-{code}-{text}"));
    let ts = "2026-01-01 00:00:00Z";
    Reply::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn audience_of(scope: &str) -> Option<&'static str> {
    let s = scope.to_ascii_lowercase();
    if s.contains("graph.microsoft") || s.contains("microsoftgraph.chinacloudapi") {
        Some("graph")
    } else if s.contains("outlook.office365")
        || s.contains("outlook.office.com")
        || s.contains("partner.outlook.cn")
        || s.contains("webmail.apps.mil")
    {
        Some("exchange")
    } else if s.contains(".sharepoint.com") {
        Some("sharepoint")
    } else if s.contains("adnotifications.windowsazure.com") {
        Some("mfa")
    } else {
        None
    }
}

/// Answers `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn handle(sim: &Sim, tenant_name: &str, body: &[u8]) -> Reply {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut state = sim.lock_state();
    let state: &mut SimState = &mut state;
    let Some(tenant) = state.tenant(tenant_name).cloned() else {
        let message = format!("Tenant '{tenant_name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");
        return aadsts_error(400, "invalid_request", 90002, &message);
    };
    // v1 endpoint: `resource` names the audience (`scope=openid` comes along).
    let scope_param = get("resource").or(get("scope"));
    let Some(scope) = scope_param else {
        let message = "The request body must contain the following parameter: 'scope'.";
        return aadsts_error(400, "invalid_request", 900144, message);
    };
    let Some(audience) = audience_of(scope) else {
        return aadsts_error(400, "invalid_scope", 70011, &format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."));
    };
    let client_id = get("client_id").unwrap_or("");
    let Some(app) = state.apps.get(client_id).cloned() else {
        let message = format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'.",
            tenant.display_name
        );
        return aadsts_error(400, "unauthorized_client", 700016, &message);
    };
    if get("client_secret") != Some(app.secret.as_str()) {
        let message = format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.");
        return aadsts_error(401, "invalid_client", 7000215, &message);
    }
    let mut refresh_out: Option<String> = None;
    match get("grant_type") {
        Some("client_credentials") => {
            if tenant.id != app.home_tenant && !app.consented.contains(&tenant.id) {
                let message = format!("The client application {client_id} is missing service principal in the tenant {}.", tenant.id);
                return aadsts_error(400, "invalid_client", 7000229, &message);
            }
        }
        Some("refresh_token") => {
            let rt = get("refresh_token").unwrap_or("");
            let Some(partner) = state.refresh_tokens.get(rt).cloned() else {
                let message = "The refresh token has expired due to inactivity. The token was issued on 2025-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00.";
                return aadsts_error(400, "invalid_grant", 700082, message);
            };
            let is_customer = state
                .tenants
                .get(&partner)
                .is_some_and(|p| p.gdap.customers.contains(&tenant.id));
            if tenant.id != partner && !is_customer {
                let message = format!("The user or administrator has not consented to use the application with ID '{client_id}'. Send an interactive authorization request for this user and resource.");
                return aadsts_error(400, "invalid_grant", 65001, &message);
            }
            let next = format!("{rt}.r");
            state.refresh_tokens.insert(next.clone(), partner);
            refresh_out = Some(next);
        }
        other => {
            let message = format!(
                "The app requested an unsupported grant type '{}'.",
                other.unwrap_or("")
            );
            return aadsts_error(400, "unsupported_grant_type", 70003, &message);
        }
    }
    let token = sim.issue_token(&tenant.id, audience, client_id);
    let mut body: Value = json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": token,
    });
    if let Some(rt) = refresh_out {
        body["refresh_token"] = Value::String(rt);
        body["scope"] = Value::String(scope.to_owned());
    }
    Reply::json(200, body)
}
