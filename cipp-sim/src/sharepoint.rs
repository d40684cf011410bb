//! SharePoint admin CSOM (`ProcessQuery`) and the legacy MFA connector.

use serde_json::{json, Value};

use crate::{Reply, Sim};

fn csom_ok(result: Value) -> Reply {
    Reply::json(
        200,
        json!([{"SchemaVersion": "15.0.0.0", "LibraryVersion": "16.0.24817.12007", "ErrorInfo": null,
                "TraceCorrelationId": "sim-trace"}, 4, {"IsNull": false}, 6, {"IsNull": false}, 7, result]),
    )
}

fn csom_error(message: &str, type_name: &str) -> Reply {
    Reply::json(
        200,
        json!([{"SchemaVersion": "15.0.0.0", "LibraryVersion": "16.0.24817.12007",
                "ErrorInfo": {"ErrorMessage": message, "ErrorValue": null, "TraceCorrelationId": "sim-trace",
                              "ErrorCode": -2146232832, "ErrorTypeName": type_name},
                "TraceCorrelationId": "sim-trace"}]),
    )
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// XML's predefined entities and what they stand for; `&amp;` last, so that an escaped
/// entity (`&amp;lt;`) comes out as text (`&lt;`).
const XML_ENTITIES: [(&str, &str); 5] = [
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", "\""),
    ("&apos;", "'"),
    ("&amp;", "&"),
];

fn unescape(s: &str) -> String {
    XML_ENTITIES
        .iter()
        .fold(s.to_owned(), |text, (entity, c)| text.replace(entity, c))
}

pub(crate) fn process_query(sim: &Sim, tenant: &str, body: &[u8]) -> Reply {
    let xml = String::from_utf8_lossy(body);
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(tenant) else {
        return csom_error("Unknown tenant.", "System.UnauthorizedAccessException");
    };
    if xml.contains("Name=\"RequestPersonalSites\"") {
        let users: Vec<String> = between(&xml, "<Object Type=\"String\">", "</Object>")
            .into_iter()
            .chain(between(&xml, "<Object Type='String'>", "</Object>"))
            .map(|u| unescape(u).to_ascii_lowercase())
            .collect();
        for u in &users {
            if t.user_index(u).is_none() {
                return csom_error(
                    &format!("The user {u} was not found."),
                    "Microsoft.SharePoint.Client.ServerException",
                );
            }
            if !t.sharepoint.onedrive_provisioned.contains(u) {
                t.sharepoint.onedrive_provisioned.push(u.clone());
            }
        }
        return csom_ok(
            json!({"_ObjectType_": "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation", "IsComplete": true, "PollingInterval": 15000}),
        );
    }
    if xml.contains("Name=\"GetSitePropertiesByUrl\"") && xml.contains("Name=\"SharingCapability\"")
    {
        let url = between(&xml, "<Parameter Type=\"String\">", "</Parameter>")
            .first()
            .map(|u| unescape(u))
            .unwrap_or_default();
        let level = between(&xml, "<Parameter Type=\"Enum\">", "</Parameter>")
            .first()
            .and_then(|v| v.trim().parse::<i64>().ok());
        let prefix = t
            .initial_domain()
            .split('.')
            .next()
            .unwrap_or("")
            .to_owned();
        let known = t.users().iter().any(|u| {
            u["userPrincipalName"]
                .as_str()
                .is_some_and(|upn| onedrive_url(&prefix, upn).eq_ignore_ascii_case(&url))
        });
        if !known {
            return csom_error(
                &format!("Cannot get site {url}."),
                "Microsoft.Online.SharePoint.Common.SpoNoSiteException",
            );
        }
        match level {
            Some(l) if (0..=3).contains(&l) => {
                t.sharepoint
                    .site_sharing
                    .insert(url.to_ascii_lowercase(), l);
                csom_ok(json!({"IsNull": false}))
            }
            _ => csom_error(
                "Invalid SharingCapability value.",
                "System.ArgumentException",
            ),
        }
    } else {
        csom_error(
            "cipp-sim does not simulate this CSOM request.",
            "Microsoft.SharePoint.Client.InvalidClientQueryException",
        )
    }
}

/// The OneDrive URL of a user.
pub(crate) fn onedrive_url(prefix: &str, upn: &str) -> String {
    let slug: String = upn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("https://{prefix}-my.sharepoint.com/personal/{slug}")
}

/// `BeginTwoWayAuthentication`: approved when the user has Microsoft Authenticator.
pub(crate) fn mfa_push(sim: &Sim, tenant: &str, body: &[u8]) -> Reply {
    let xml = String::from_utf8_lossy(body);
    let upn = between(&xml, "<UserPrincipalName>", "</UserPrincipalName>")
        .first()
        .map(|u| unescape(u))
        .unwrap_or_default();
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(tenant) else {
        return Reply::json(401, json!({"error": "unknown tenant"}));
    };
    let (result, approved, message) = match t.user_index(&upn) {
        None => ("UserNotFound", false, "The user was not found."),
        Some(i) => {
            let id = t.users()[i]["id"].as_str().unwrap_or_default().to_owned();
            let has_app = t.auth.methods.get(&id).is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["@odata.type"]
                        == "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
                })
            });
            if has_app {
                ("Success", true, "")
            } else {
                (
                    "NoDefaultAuthenticationMethodIsConfigured",
                    false,
                    "The user has no authenticator app registered.",
                )
            }
        }
    };
    t.auth.mfa_pushes.push((upn.to_ascii_lowercase(), approved));
    let body = format!(
        "<BeginTwoWayAuthenticationResponse><Result><Value>{result}</Value><Message>{message}</Message><Retry>false</Retry><Exception i:nil=\"true\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"/></Result><SessionId>{}</SessionId><AuthenticationResult>{approved}</AuthenticationResult><UserPrincipalName>{upn}</UserPrincipalName></BeginTwoWayAuthenticationResponse>",
        crate::state::synthetic_guid(&upn)
    );
    Reply {
        status: 200,
        body: bytes::Bytes::from(body),
        headers: vec![("content-type", "application/xml".into())],
    }
}
