//! Where the simulator used to differ from Graph, checked at the HTTP level: raw requests
//! in, status codes and JSON bodies out, the way any client (Microsoft's own SDKs
//! included) sees them.

use std::sync::Arc;

use bytes::Bytes;
use cipp_core::{ManualClock, Transport};
use cipp_sim::scenario::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_COMPROMISED_UPN};
use cipp_sim::Simulator;
use serde_json::{json, Value};

const GRAPH: &str = "https://graph.microsoft.com";

/// The token endpoint's form for the demo app's client credentials.
fn token_form() -> Bytes {
    Bytes::from(format!(
        "grant_type=client_credentials&client_id={DEMO_CLIENT_ID}&client_secret={DEMO_CLIENT_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    ))
}

/// The request with this JSON body (and its content type), or with none.
fn with_body(mut b: http::request::Builder, body: Option<Value>) -> http::Request<Bytes> {
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    b.body(bytes).unwrap()
}

/// A raw HTTP client for one tenant of the simulator.
struct Http {
    sim: Simulator,
    token: String,
}

impl Http {
    async fn new(sim: &Simulator, tenant: &str) -> Http {
        let req = http::Request::post(format!(
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(token_form())
        .unwrap();
        let resp = sim.send(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        Http {
            sim: sim.clone(),
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let b = http::Request::builder()
            .method(method)
            .uri(format!("{GRAPH}{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        let resp = self.sim.send(with_body(b, body)).await.unwrap();
        let status = resp.status().as_u16();
        let json = if resp.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(resp.body()).unwrap()
        };
        (status, json)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    /// The status of a `DELETE`.
    async fn delete(&self, path: &str) -> u16 {
        self.call("DELETE", path, None).await.0
    }

    /// Restores a deleted directory object.
    async fn restore(&self, id: &str) -> (u16, Value) {
        let path = format!("/v1.0/directory/deletedItems/{id}/restore");
        self.call("POST", &path, None).await
    }
}

fn sim() -> Simulator {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    Simulator::demo_with_clock(Arc::new(clock))
}

fn ids(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_apns_certificate_is_the_top_level_object() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    let (status, body) = h
        .get("/v1.0/deviceManagement/applePushNotificationCertificate")
        .await;
    assert_eq!(status, 200);
    assert!(body.get("value").is_none(), "not wrapped: {body}");
    assert_eq!(body["appleIdentifier"], "mdm@contoso.com");
    assert_eq!(
        body["@odata.type"],
        "#microsoft.graph.applePushNotificationCertificate"
    );
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#deviceManagement/applePushNotificationCertificate/$entity"));
    // Not configured: 404, as before.
    let fab = Http::new(&sim, "fabrikam.com").await;
    let (status, _) = fab
        .get("/v1.0/deviceManagement/applePushNotificationCertificate")
        .await;
    assert_eq!(status, 404);
}

fn new_user(alias: &str) -> Value {
    json!({"accountEnabled": true, "displayName": alias, "mailNickname": alias,
           "userPrincipalName": format!("{alias}@contoso.com"),
           "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d", "forceChangePasswordNextSignIn": true}})
}

#[tokio::test]
async fn deleted_items_are_read_by_id_and_deleted_permanently() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    let (s, u) = h.post("/v1.0/users", new_user("temp")).await;
    assert_eq!(s, 201);
    let id = u["id"].as_str().unwrap().to_owned();
    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await, 204);

    let (s, item) = h.get(&format!("/v1.0/directory/deletedItems/{id}")).await;
    assert_eq!(s, 200, "{item}");
    assert_eq!(item["@odata.type"], "#microsoft.graph.user");
    assert_eq!(item["userPrincipalName"], "temp@contoso.com");
    assert_eq!(item["deletedDateTime"], "2026-11-27T09:00:00Z");

    let s = h
        .delete(&format!("/v1.0/directory/deletedItems/{id}"))
        .await;
    assert_eq!(s, 204);
    let (s, err) = h.get(&format!("/v1.0/directory/deletedItems/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(err["error"]["code"], "Request_ResourceNotFound");
    let (s, _) = h.restore(&id).await;
    assert_eq!(s, 404, "gone for good");
    let (_, deleted) = h
        .get("/v1.0/directory/deletedItems/microsoft.graph.user")
        .await;
    assert!(!ids(&deleted).contains(&id));
}

#[tokio::test]
async fn microsoft_365_groups_wait_in_deleted_items_and_security_groups_do_not() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    let (_, groups) = h.get("/v1.0/groups?$select=id,displayName").await;
    let id_of = |name: &str| {
        groups["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["displayName"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (all_staff, sales) = (id_of("All Staff"), id_of("Sales Team"));
    for g in [&all_staff, &sales] {
        assert_eq!(h.delete(&format!("/v1.0/groups/{g}")).await, 204);
    }
    let (_, deleted) = h
        .get("/v1.0/directory/deletedItems/microsoft.graph.group")
        .await;
    assert_eq!(ids(&deleted), std::slice::from_ref(&all_staff));
    let (s, _) = h
        .get(&format!("/v1.0/directory/deletedItems/{sales}"))
        .await;
    assert_eq!(s, 404, "a security group is deleted permanently");
    let (s, restored) = h.restore(&all_staff).await;
    assert_eq!(s, 200);
    assert_eq!(restored["@odata.type"], "#microsoft.graph.group");
    let (_, members) = h.get(&format!("/v1.0/groups/{all_staff}/members")).await;
    assert_eq!(
        members["value"].as_array().unwrap().len(),
        2,
        "members kept"
    );
}

#[tokio::test]
async fn object_ids_are_never_reused() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    let group = |n: &str| json!({"displayName": n, "mailNickname": n, "mailEnabled": false, "securityEnabled": true});
    let (_, a) = h.post("/v1.0/groups", group("a")).await;
    let (_, b) = h.post("/v1.0/groups", group("b")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (_, me) = h.get(&format!("/v1.0/users/{DEMO_COMPROMISED_UPN}")).await;
    let megan = me["id"].as_str().unwrap();
    let r = json!({"@odata.id": format!("{GRAPH}/v1.0/directoryObjects/{megan}")});
    assert_eq!(
        h.post(&format!("/v1.0/groups/{b}/members/$ref"), r).await.0,
        204
    );
    assert_eq!(h.delete(&format!("/v1.0/groups/{a}")).await, 204);
    let (_, c) = h.post("/v1.0/groups", group("c")).await;
    let c = c["id"].as_str().unwrap();
    assert!(c != a && c != b, "a new group takes a new id");
    let (_, members) = h.get(&format!("/v1.0/groups/{b}/members")).await;
    assert_eq!(ids(&members), [megan.to_owned()], "b keeps its member");

    // A user re-created with a deleted user's UPN is a new object; the old one cannot be
    // restored over it.
    let (_, first) = h.post("/v1.0/users", new_user("again")).await;
    let first = first["id"].as_str().unwrap().to_owned();
    h.delete(&format!("/v1.0/users/{first}")).await;
    let (s, second) = h.post("/v1.0/users", new_user("again")).await;
    assert_eq!(s, 201);
    assert_ne!(second["id"].as_str().unwrap(), first);
    let (s, err) = h.restore(&first).await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["code"], "Request_BadRequest");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("userPrincipalName already exists"));
    let (_, same) = h
        .get("/v1.0/users?$filter=userPrincipalName%20eq%20'again@contoso.com'")
        .await;
    assert_eq!(ids(&same).len(), 1, "one live user with that UPN");
    let (s, _) = h
        .get(&format!("/v1.0/directory/deletedItems/{first}"))
        .await;
    assert_eq!(s, 200, "the old one is still restorable later");
}

#[tokio::test]
async fn type_casts_on_relationships_in_short_and_long_form() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    // Diego holds a directory role and no groups; Megan is in five groups.
    for cast in ["graph.group", "microsoft.graph.group"] {
        let path = format!("/v1.0/users/{DEMO_COMPROMISED_UPN}/memberOf/{cast}");
        let (s, page) = h.get(&path).await;
        assert_eq!(s, 200, "{cast}: {page}");
        let items = page["value"].as_array().unwrap();
        assert_eq!(items.len(), 5, "{cast}");
        assert!(items
            .iter()
            .all(|g| g["@odata.type"] == "#microsoft.graph.group"));
    }
    let (_, all) = h.get("/v1.0/users/diegos@contoso.com/memberOf").await;
    assert_eq!(all["value"].as_array().unwrap().len(), 1);
    let (_, groups) = h
        .get("/v1.0/users/diegos@contoso.com/transitiveMemberOf/graph.group")
        .await;
    assert!(groups["value"].as_array().unwrap().is_empty());
    let (_, roles) = h
        .get("/v1.0/users/diegos@contoso.com/memberOf/microsoft.graph.directoryRole")
        .await;
    assert_eq!(roles["value"][0]["displayName"], "Global Administrator");

    let (_, g) = h
        .get("/v1.0/groups?$filter=displayName%20eq%20'Sales%20Team'")
        .await;
    let sales = g["value"][0]["id"].as_str().unwrap().to_owned();
    for cast in ["graph.user", "microsoft.graph.user"] {
        let path = format!("/v1.0/groups/{sales}/members/{cast}?$select=id,userPrincipalName");
        let (s, page) = h.get(&path).await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
    }
    let (_, none) = h
        .get(&format!("/v1.0/groups/{sales}/members/graph.group"))
        .await;
    assert!(none["value"].as_array().unwrap().is_empty());
}

async fn audits(h: &Http, activity: &str) -> Vec<Value> {
    let (s, page) = h
        .get(&format!(
            "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'{}'",
            activity.replace(' ', "%20")
        ))
        .await;
    assert_eq!(s, 200, "{page}");
    page["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn directory_writes_are_audited_with_initiator_and_targets() {
    let sim = sim();
    let h = Http::new(&sim, "contoso.com").await;
    let (_, adele) = h.get("/v1.0/users/adelev@contoso.com").await;
    let adele = adele["id"].as_str().unwrap().to_owned();

    // A cloud user's password reset through passwordProfile.
    let reset = json!({"passwordProfile": {"password": "Vx!93kd-aa.Qw", "forceChangePasswordNextSignIn": true}});
    assert_eq!(
        h.call("PATCH", "/v1.0/users/adelev@contoso.com", Some(reset))
            .await
            .0,
        204
    );
    let got = audits(&h, "Reset user password").await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r["category"], "UserManagement");
    assert_eq!(r["activityDateTime"], "2026-11-27T09:00:00Z");
    assert_eq!(r["initiatedBy"]["app"]["appId"], DEMO_CLIENT_ID);
    assert_eq!(r["targetResources"][0]["id"], adele.as_str());
    assert_eq!(
        r["targetResources"][0]["userPrincipalName"],
        "adelev@contoso.com"
    );
    assert!(
        audits(&h, "Update user").await.is_empty(),
        "a password alone is not an update"
    );

    // Any other property: "Update user", with what changed.
    h.call(
        "PATCH",
        "/v1.0/users/adelev@contoso.com",
        Some(json!({"jobTitle": "Director"})),
    )
    .await;
    let got = audits(&h, "Update user").await;
    let props = &got[0]["targetResources"][0]["modifiedProperties"];
    assert_eq!(props[0]["displayName"], "JobTitle");
    assert_eq!(props[0]["oldValue"], "[\"Retail Manager\"]");
    assert_eq!(props[0]["newValue"], "[\"Director\"]");

    // Membership: the user and the group are both targets.
    let group = json!({"displayName": "Audited", "mailNickname": "audited", "mailEnabled": false, "securityEnabled": true});
    let (_, g) = h.post("/v1.0/groups", group).await;
    let gid = g["id"].as_str().unwrap().to_owned();
    let r = json!({"@odata.id": format!("{GRAPH}/v1.0/directoryObjects/{adele}")});
    h.post(&format!("/v1.0/groups/{gid}/members/$ref"), r).await;
    h.delete(&format!("/v1.0/groups/{gid}/members/{adele}/$ref"))
        .await;
    for (activity, op) in [
        ("Add member to group", "Assign"),
        ("Remove member from group", "Unassign"),
    ] {
        let got = audits(&h, activity).await;
        assert_eq!(got.len(), 1, "{activity}");
        assert_eq!(got[0]["category"], "GroupManagement");
        assert_eq!(got[0]["operationType"], op);
        let targets = got[0]["targetResources"].as_array().unwrap();
        assert_eq!(targets[0]["type"], "User");
        assert_eq!(targets[1]["type"], "Group");
        assert_eq!(targets[1]["id"], gid.as_str());
        assert_eq!(targets[1]["displayName"], "Audited");
    }
    assert_eq!(audits(&h, "Add group").await.len(), 1);

    // Role changes and consent removal.
    let (_, diego) = h.get("/v1.0/users/diegos@contoso.com").await;
    let diego = diego["id"].as_str().unwrap().to_owned();
    let s = h
        .delete(&format!("/v1.0/directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members/{diego}/$ref"))
        .await;
    assert_eq!(s, 204);
    let got = audits(&h, "Remove member from role").await;
    assert_eq!(got[0]["category"], "RoleManagement");
    assert_eq!(got[0]["targetResources"][0]["id"], diego.as_str());
    let (_, grants) = h.get("/v1.0/oauth2PermissionGrants").await;
    let grant = grants["value"][0]["id"].as_str().unwrap().to_owned();
    h.delete(&format!("/v1.0/oauth2PermissionGrants/{grant}"))
        .await;
    let got = audits(&h, "Remove delegated permission grant").await;
    assert_eq!(got[0]["category"], "ApplicationManagement");

    // Newest first, and the seeded history is still there.
    let (_, all) = h.get("/v1.0/auditLogs/directoryAudits").await;
    let all = all["value"].as_array().unwrap();
    assert_eq!(
        all.last().unwrap()["activityDisplayName"],
        "Change user password"
    );
    assert!(all.len() >= 10);
}

/// Served over HTTP, the simulator takes requests the way Microsoft's SDKs (Kiota) write
/// them: any `Accept` header, percent-encoded paths and filters, `$batch` item URLs
/// relative to the version with or without a leading slash.
#[cfg(feature = "http")]
#[tokio::test]
async fn served_over_http_it_accepts_what_microsoft_sdks_send() {
    use cipp_core::ReqwestTransport;
    let sim = sim();
    let (addr, task) = cipp_sim::http_server::start(sim.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let net = ReqwestTransport::new().unwrap();
    let resp = net
        .send(
            http::Request::post(format!("{base}/contoso.com/oauth2/v2.0/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(token_form())
                .unwrap(),
        )
        .await
        .unwrap();
    let token: Value = serde_json::from_slice(resp.body()).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let send = |method: &str, url: String, body: Option<Value>, accept: &str| {
        let b = http::Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", bearer.clone())
            .header("accept", accept.to_owned())
            .header("user-agent", "kiota-python/1.0 msgraph-sdk-python/1.0")
            .header("consistencylevel", "eventual");
        net.send(with_body(b, body))
    };
    for accept in [
        "application/json",
        "application/json;q=0.9",
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false",
        "*/*",
    ] {
        let r = send(
            "GET",
            format!("{base}/v1.0/users/AdeleV%40contoso.com"),
            None,
            accept,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{accept}");
    }
    let r = send(
        "GET",
        format!(
            "{base}/v1.0/users?%24filter=startswith%28displayName%2C%27Adele%27%29&%24count=true"
        ),
        None,
        "application/json",
    )
    .await
    .unwrap();
    let page: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(page["@odata.count"], 1, "{page}");
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users/adelev@contoso.com?$select=id,displayName"},
        {"id": "2", "method": "GET", "url": "users/AdeleV%40contoso.com/memberOf/graph.group"},
        {"id": "3", "method": "GET", "url": "/groups?$filter=displayName%20eq%20'Sales%20Team'"}]});
    let r = send(
        "POST",
        format!("{base}/v1.0/$batch"),
        Some(batch),
        "application/json",
    )
    .await
    .unwrap();
    let out: Value = serde_json::from_slice(r.body()).unwrap();
    let statuses: Vec<u64> = out["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200], "{out}");
    assert_eq!(out["responses"][0]["body"]["displayName"], "Adele Vance");
    assert_eq!(
        out["responses"][2]["body"]["value"][0]["displayName"],
        "Sales Team"
    );
    task.abort();
}
