//! Notifications end to end: routing by channel, per tenant or per run, only with
//! findings, subjects and comments, webhook formats, redaction and HaloPSA tickets — every
//! request checked against wiremock, on a manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cipp_core::{ManualClock, ReqwestTransport, SecretString};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::{Engine, StaticTenants};
use cipp_scheduler::notify::{
    fingerprint, signature, Channel, EmailNotifier, EmailSender, Event, HaloPsaNotifier,
    MemoryTicketBook, Notifier, TicketBook, TicketStrategy, WebhookAuth, WebhookFormat,
    WebhookNotifier,
};
use cipp_scheduler::recurrence::{Recurrence, Schedule};
use cipp_scheduler::store::{MemoryStore, SqliteStore};
use cipp_scheduler::task::{NewTask, NewTaskBuilder, NotifyPer};
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers per tenant from its parameters: `findings.<tenant>` as output, a failure for
/// tenants in `fail`.
struct Findings;

#[async_trait]
impl Command for Findings {
    fn validate(&self, p: &Value) -> Result<(), String> {
        p.is_object()
            .then_some(())
            .ok_or_else(|| "the parameters are an object".into())
    }
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        if ctx.parameters["fail"]
            .as_array()
            .is_some_and(|f| f.iter().any(|t| t == ctx.tenant.as_str()))
        {
            return Err(CommandError::failed("refused"));
        }
        Ok(CommandOutput::Done(
            ctx.parameters["findings"][&ctx.tenant].clone(),
        ))
    }
}

#[derive(Default)]
struct Mailbox(Mutex<Vec<(Vec<String>, String, String)>>);

#[async_trait]
impl EmailSender for Mailbox {
    async fn send(&self, to: &[String], subject: &str, html: &str) -> Result<(), SchedulerError> {
        self.0
            .lock()
            .unwrap()
            .push((to.to_vec(), subject.into(), html.into()));
        Ok(())
    }
}

struct Rig {
    engine: Engine,
    hook: MockServer,
    halo: MockServer,
    mail: Arc<Mailbox>,
}

fn transport() -> Arc<ReqwestTransport> {
    Arc::new(ReqwestTransport::new().unwrap())
}

/// A webhook to `path` on `server`.
fn hook_at(server: &MockServer, path: &str, auth: WebhookAuth) -> WebhookNotifier {
    WebhookNotifier::new(transport(), &format!("{}{path}", server.uri()), auth).unwrap()
}

fn halo(uri: &str, strategy: TicketStrategy) -> HaloPsaNotifier {
    HaloPsaNotifier::new(
        transport(),
        uri,
        "halo-app",
        SecretString::from("halo-secret"),
        21,
        1,
        strategy,
    )
    .unwrap()
    .map_tenant("a.com", 42)
    .map_tenant("b.com", 42)
}

/// Answers `verb path` with `status` and a JSON body, `times` times (`None`: always).
async fn on(
    server: &MockServer,
    verb: &str,
    p: &str,
    status: u16,
    body: Value,
    times: Option<u64>,
) {
    let mock = Mock::given(method(verb))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

async fn mount_halo_token(server: &MockServer) {
    let token = json!({"access_token": "halo-token", "expires_in": 3600});
    on(server, "POST", "/auth/token", 200, token, None).await;
}

/// A HaloPSA that issues `halo-token` and answers `script`: `(verb, path, status, body,
/// times)`, earlier lines first.
async fn halo_server(script: &[(&str, &str, u16, Value, Option<u64>)]) -> MockServer {
    let server = MockServer::start().await;
    mount_halo_token(&server).await;
    for (verb, p, status, body, times) in script {
        on(&server, verb, p, *status, body.clone(), *times).await;
    }
    server
}

/// The requests `server` got besides the token's, as `METHOD /path?query`; each carries
/// the bearer token.
async fn calls(server: &MockServer) -> Vec<String> {
    let reqs = server.received_requests().await.unwrap();
    let api: Vec<&wiremock::Request> = reqs
        .iter()
        .filter(|r| r.url.path() != "/auth/token")
        .collect();
    for r in &api {
        assert_eq!(r.headers["authorization"], "Bearer halo-token", "{}", r.url);
    }
    api.iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

/// An engine over a.com, b.com, c.com with a webhook, e-mail and HaloPSA registered.
async fn rig() -> Rig {
    let (hook, halo_server) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    mount_halo_token(&halo_server).await;
    on(
        &halo_server,
        "POST",
        "/api/Tickets",
        201,
        json!({"id": 7}),
        None,
    )
    .await;
    let clock = ManualClock::new(START.parse().unwrap());
    let mut reg = Registry::new();
    reg.register("findings", Arc::new(Findings));
    let tenants = StaticTenants {
        all: vec!["a.com".into(), "b.com".into(), "c.com".into()],
        ..Default::default()
    };
    let mail = Arc::new(Mailbox::default());
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(tenants),
        Arc::new(clock),
    )
    .with_notifier(Arc::new(
        WebhookNotifier::new(transport(), &hook.uri(), WebhookAuth::None).unwrap(),
    ))
    .with_notifier(Arc::new(
        EmailNotifier::new(mail.clone(), vec!["noc@msp.example".into()]).unwrap(),
    ))
    .with_notifier(Arc::new(halo(
        &halo_server.uri(),
        TicketStrategy::Consolidated,
    )));
    Rig {
        engine,
        hook,
        halo: halo_server,
        mail,
    }
}

const START: &str = "2026-11-27T09:00:00Z";

/// A one-off task of the `findings` command, due when the rig's clock starts.
fn task(parameters: Value) -> NewTaskBuilder {
    NewTask::builder(
        "MFA check",
        "findings",
        Schedule::new(START.parse().unwrap(), Recurrence::parse("0").unwrap()),
    )
    .parameters(parameters)
}

/// A fresh rig that added `tasks` and ran one tick.
async fn ran(tasks: Vec<NewTaskBuilder>) -> Rig {
    let r = rig().await;
    for t in tasks {
        r.engine.add(t.build()).await.unwrap();
    }
    r.engine.tick().await.unwrap();
    r
}

/// The webhook's bodies, ordered by tenant (tenants run concurrently).
async fn hook_events(r: &Rig) -> Vec<Value> {
    let mut events: Vec<Value> = r
        .hook
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|q| serde_json::from_slice(&q.body).unwrap())
        .collect();
    events.sort_by_key(|e| e["tenants"][0].as_str().unwrap_or("").to_owned());
    events
}

fn some_findings() -> Value {
    json!({"findings": {"a.com": [{"user": "x"}, {"user": "y"}], "b.com": [], "c.com": null}})
}

#[tokio::test]
async fn each_event_goes_only_to_the_channels_the_task_asks_for() {
    let r = ran(vec![task(some_findings()).notify_on(Channel::Webhook)]).await;
    assert_eq!(hook_events(&r).await.len(), 1, "the webhook got the run");
    assert!(r.mail.0.lock().unwrap().is_empty(), "no e-mail");
    assert!(
        r.halo.received_requests().await.unwrap().is_empty(),
        "no ticket, not even a token"
    );

    let r = ran(vec![task(some_findings())
        .notify_on(Channel::Email)
        .notify_on(Channel::Psa)])
    .await;
    assert!(hook_events(&r).await.is_empty(), "no webhook");
    assert_eq!(r.mail.0.lock().unwrap().len(), 1);
    assert_eq!(
        calls(&r.halo).await,
        ["POST /api/Tickets", "POST /api/Tickets"],
        "one ticket per client: a.com and b.com (42), c.com (default 1)"
    );
}

#[tokio::test]
async fn per_tenant_for_alerts_per_run_otherwise_and_as_asked() {
    let cases: [(bool, Option<NotifyPer>, usize); 4] = [
        (false, None, 1),
        (true, None, 3),
        (true, Some(NotifyPer::Run), 1),
        (false, Some(NotifyPer::Tenant), 3),
    ];
    for (alert, per, expected) in cases {
        let mut b = task(some_findings()).notify_on(Channel::Webhook);
        if alert {
            b = b.hidden();
        }
        if let Some(per) = per {
            b = b.notify_per(per);
        }
        let r = ran(vec![b]).await;
        let events = hook_events(&r).await;
        assert_eq!(events.len(), expected, "alert {alert}, {per:?}");
        if expected == 3 {
            let tenants: Vec<&Value> = events.iter().map(|e| &e["tenants"][0]).collect();
            assert_eq!(tenants, ["a.com", "b.com", "c.com"]);
            assert_eq!(events[0]["title"], "MFA check - a.com: Completed");
            assert_eq!(events[0]["findings"], 2);
            assert_ne!(events[0]["fingerprint"], events[1]["fingerprint"]);
        } else {
            assert_eq!(events[0]["count"], 3);
            assert_eq!(events[0]["findings"], 2);
        }
    }
}

#[tokio::test]
async fn only_with_findings_leaves_quiet_tenants_and_runs_silent() {
    let params = json!({"findings": {"a.com": [1, 2, 3]}, "fail": ["c.com"]});
    let r = ran(vec![
        task(params)
            .hidden()
            .notify_on(Channel::Webhook)
            .notify_only_with_findings(),
        task(json!({}))
            .notify_on(Channel::Webhook)
            .notify_per(NotifyPer::Run)
            .notify_only_with_findings(),
    ])
    .await;
    let events = hook_events(&r).await;
    let seen: Vec<(&Value, &Value, &Value)> = events
        .iter()
        .map(|e| (&e["tenants"][0], &e["kind"], &e["findings"]))
        .collect();
    assert_eq!(
        seen,
        [
            (&json!("a.com"), &json!("task.completed"), &json!(3)),
            (&json!("c.com"), &json!("task.failed"), &json!(0)),
        ],
        "b.com found nothing; a failure is always told; the quiet run sent nothing"
    );
}

#[tokio::test]
async fn subject_and_comment_with_variables_and_unknown_ones_refused_up_front() {
    let r = ran(vec![task(some_findings())
        .hidden()
        .notify_on(Channel::Email)
        .alert_subject("%taskname%: %resultcount% in %TenantName%")
        .alert_comment("Look at %tenantid% <now>")])
    .await;
    let mail = r.mail.0.lock().unwrap().clone();
    let mut subjects: Vec<&str> = mail.iter().map(|m| m.1.as_str()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "MFA check: 0 in b.com",
            "MFA check: 0 in c.com",
            "MFA check: 2 in a.com"
        ]
    );
    let a = mail.iter().find(|m| m.1.ends_with("a.com")).unwrap();
    assert!(a.2.contains("<p>Look at a.com &lt;now&gt;</p>"), "{}", a.2);
    for (subject, comment) in [(Some("%user%"), None), (None, Some("hi %tenant_name%"))] {
        let mut b = task(some_findings()).notify_on(Channel::Email);
        if let Some(s) = subject {
            b = b.alert_subject(s);
        }
        if let Some(c) = comment {
            b = b.alert_comment(c);
        }
        let err = r.engine.add(b.build()).await.unwrap_err().to_string();
        assert!(
            err.contains("unknown variable") && err.contains("%tenantname%"),
            "{err}"
        );
    }
    assert_eq!(r.engine.store().list(true).await.unwrap().len(), 1);
}

fn event() -> Event {
    Event {
        schema_version: 1,
        kind: "task.completed".into(),
        source: "cipp-scheduler".into(),
        title: "MFA check - a.com: Completed".into(),
        tenants: vec!["a.com".into()],
        time: "2026-11-27T09:00:00Z".parse().unwrap(),
        count: 1,
        findings: 2,
        comment: Some("Two admins without MFA".into()),
        reference: Some("PSA-1".into()),
        fingerprint: fingerprint(&["task.completed", "t1", "a.com"]),
        payload: json!({"results": [{"tenant": "a.com", "outcome": {"status": "succeeded"}}]}),
    }
}

#[test]
fn the_format_follows_the_host_as_cipp_does() {
    let cases = [
        ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def", WebhookFormat::Teams),
        ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=s3cret", WebhookFormat::Teams),
        ("https://hooks.slack.com/services/T000/B000/XXXX", WebhookFormat::Slack),
        ("https://discord.com/api/webhooks/123/tok", WebhookFormat::Discord),
        ("https://discordapp.com/api/webhooks/123/tok", WebhookFormat::Discord),
        ("https://discord.com/channels/1/2", WebhookFormat::Schema),
        ("https://evil.example/hooks.slack.com/x", WebhookFormat::Schema),
        ("https://webhook.office.com.evil.example/x", WebhookFormat::Schema),
        ("https://siem.example/ingest", WebhookFormat::Schema),
    ];
    for (url, format) in cases {
        assert_eq!(WebhookFormat::detect(url), format, "{url}");
    }
}

#[tokio::test]
async fn each_format_posts_its_exact_body() {
    let rows = "a.com: succeeded";
    let facts = [
        ("Tenants", "a.com"),
        ("Results", "1"),
        ("Findings", "2"),
        ("Reference", "PSA-1"),
    ];
    let teams = json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": [
            {"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": "MFA check - a.com: Completed", "wrap": true},
            {"type": "TextBlock", "text": "Two admins without MFA", "wrap": true},
            {"type": "FactSet", "facts": facts.iter().map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>()},
            {"type": "TextBlock", "text": rows, "wrap": true, "fontType": "Monospace"}]}}]});
    let slack = json!({"text": "MFA check - a.com: Completed", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "MFA check - a.com: Completed"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "Two admins without MFA"}},
        {"type": "section", "fields": facts.iter().map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{k}*\n{v}")})).collect::<Vec<_>>()},
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("```{rows}```")}}]});
    let discord = json!({"content": "**MFA check - a.com: Completed**\nTwo admins without MFA", "embeds": [{
        "title": "MFA check - a.com: Completed",
        "description": format!("```\n{rows}\n```"),
        "timestamp": "2026-11-27T09:00:00Z",
        "fields": facts.iter().map(|(k, v)| json!({"name": k, "value": v, "inline": true})).collect::<Vec<_>>(),
        "footer": {"text": format!("fingerprint {}", event().fingerprint)}}]});
    let schema = serde_json::to_value(event()).unwrap();
    assert_eq!(schema["comment"], "Two admins without MFA");
    for (format, body) in [
        (WebhookFormat::Teams, teams),
        (WebhookFormat::Slack, slack),
        (WebhookFormat::Discord, discord),
        (WebhookFormat::Schema, schema),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook/tok"))
            .and(header("content-type", "application/json"))
            .and(header("x-cipp-event", "task.completed"))
            .and(body_json(&body))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let hook = hook_at(&server, "/hook/tok", WebhookAuth::None).with_format(format);
        assert_eq!(hook.channel(), Channel::Webhook);
        hook.notify(&event()).await.unwrap();
    }
}

#[tokio::test]
async fn no_error_or_debug_quotes_the_webhook_token() {
    let server = MockServer::start().await;
    // A refusal echoing the request line.
    Mock::given(method("POST"))
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(403).set_body_string(format!("forbidden: {}", req.url))
        })
        .mount(&server)
        .await;
    let token = "Zm9vYmFyLXNlY3JldC10b2tlbg";
    let url = format!("{}/api/webhooks/123/{token}?sig={token}", server.uri());
    let hook = WebhookNotifier::new(transport(), &url, WebhookAuth::None).unwrap();
    let err = hook.notify(&event()).await.unwrap_err().to_string();
    assert!(!err.contains(token) && err.contains("403"), "{err}");
    assert!(!format!("{hook:?}").contains(token));
    // Nothing listens: the transport's error names the URL.
    let closed = format!("http://127.0.0.1:9/hooks/{token}");
    let hook = WebhookNotifier::new(transport(), &closed, WebhookAuth::None)
        .unwrap()
        .with_retries(1, Duration::ZERO);
    let err = hook.notify(&event()).await.unwrap_err().to_string();
    assert!(!err.contains(token), "{err}");
    let err = WebhookNotifier::new(transport(), &format!("ftp://x/{token}"), WebhookAuth::None)
        .unwrap_err()
        .to_string();
    assert!(!err.contains(token), "{err}");
}

fn ticket(summary: &str, client: i64, html_contains: &str) -> impl Fn(&Value) -> bool {
    let (summary, html_contains) = (summary.to_owned(), html_contains.to_owned());
    move |v: &Value| {
        let t = &v[0];
        v.as_array().map(Vec::len) == Some(1)
            && t["summary"] == summary.as_str()
            && t["client_id"] == client
            && t["tickettype_id"] == 21
            && t["usertype"] == 1
            && t["userlookup"] == json!({"id": -1, "lookupdisplay": "Enter Details Manually"})
            && t["donotapplytemplateintheapi"] == true
            && t["details_html"]
                .as_str()
                .unwrap_or("")
                .contains(&html_contains)
    }
}

fn bodies(reqs: &[wiremock::Request], p: &str) -> Vec<Value> {
    reqs.iter()
        .filter(|r| r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn two_client_event() -> Event {
    let mut e = event();
    e.title = "Offboard: Completed with errors".into();
    e.tenants = vec!["a.com".into(), "fabrikam.com".into(), "b.com".into()];
    e.count = 3;
    e.payload = json!({"results": [
        {"tenant": "a.com", "outcome": {"status": "failed"}},
        {"tenant": "fabrikam.com", "outcome": {"status": "failed"}},
        {"tenant": "b.com", "outcome": {"status": "succeeded"}}]});
    e
}

#[tokio::test]
async fn halopsa_consolidates_per_client_and_splits_per_tenant() {
    let server = halo_server(&[("POST", "/api/Tickets", 201, json!([{"id": 100}]), None)]).await;
    let e = two_client_event();
    halo(&server.uri(), TicketStrategy::Consolidated)
        .notify(&e)
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    let tickets = bodies(&reqs, "/api/Tickets");
    assert_eq!(tickets.len(), 2, "one ticket per client");
    assert!(ticket("Offboard: Completed with errors", 1, "fabrikam.com")(&tickets[0]));
    assert!(ticket("Offboard: Completed with errors", 42, "a.com")(
        &tickets[1]
    ));
    let html42 = tickets[1][0]["details_html"].as_str().unwrap();
    assert!(html42.contains("b.com") && !html42.contains("fabrikam.com"));
    assert!(!tickets[0][0]["details_html"]
        .as_str()
        .unwrap()
        .contains("a.com"));

    assert_eq!(
        calls(&server).await,
        ["POST /api/Tickets", "POST /api/Tickets"]
    );
    let server = halo_server(&[("POST", "/api/Tickets", 201, json!({"id": 5}), None)]).await;
    halo(&server.uri(), TicketStrategy::Split)
        .notify(&e)
        .await
        .unwrap();
    let tickets = bodies(&server.received_requests().await.unwrap(), "/api/Tickets");
    let summaries: Vec<(&Value, &Value)> = tickets
        .iter()
        .map(|t| (&t[0]["summary"], &t[0]["client_id"]))
        .collect();
    assert_eq!(
        summaries,
        [
            (
                &json!("Offboard: Completed with errors — a.com"),
                &json!(42)
            ),
            (
                &json!("Offboard: Completed with errors — fabrikam.com"),
                &json!(1)
            ),
            (
                &json!("Offboard: Completed with errors — b.com"),
                &json!(42)
            ),
        ]
    );
}

#[tokio::test]
async fn halopsa_adds_a_note_to_the_open_ticket_and_opens_another_once_it_is_closed() {
    let server = halo_server(&[
        ("POST", "/api/Tickets", 201, json!({"id": 314}), Some(1)),
        ("POST", "/api/Tickets", 201, json!({"id": 315}), None),
        (
            "GET",
            "/api/Tickets/314",
            200,
            json!({"id": 314, "hasbeenclosed": false}),
            Some(1),
        ),
        (
            "GET",
            "/api/Tickets/314",
            200,
            json!({"id": 314, "hasbeenclosed": true}),
            None,
        ),
        ("POST", "/api/Actions", 201, json!([{"id": 9}]), None),
    ])
    .await;
    let psa = halo(&server.uri(), TicketStrategy::Consolidated);
    let e = event();
    for _ in 0..3 {
        psa.notify(&e).await.unwrap();
    }
    assert_eq!(
        calls(&server).await,
        [
            "POST /api/Tickets",
            "GET /api/Tickets/314?includedetails=true",
            "POST /api/Actions",
            "GET /api/Tickets/314?includedetails=true",
            "POST /api/Tickets",
        ],
        "open → a note; closed → a new ticket"
    );
    let note = &bodies(&server.received_requests().await.unwrap(), "/api/Actions")[0];
    assert_eq!(note[0]["ticket_id"], 314);
    assert_eq!(note[0]["outcome"], "Private Note");
    assert_eq!(note[0]["outcome_id"], 7);
    assert_eq!(note[0]["hiddenfromuser"], true);
    assert!(note[0]["note_html"]
        .as_str()
        .unwrap()
        .contains("Two admins without MFA"));
}

/// The ticket book's contract, for every store that keeps one.
async fn book_contract(book: &dyn TicketBook) {
    assert_eq!(book.ticket("42:fp").await.unwrap(), None);
    book.record("42:fp", 314).await.unwrap();
    book.record("1:fp", 7).await.unwrap();
    assert_eq!(book.ticket("42:fp").await.unwrap(), Some(314));
    book.record("42:fp", 315).await.unwrap();
    assert_eq!(book.ticket("42:fp").await.unwrap(), Some(315));
    book.forget("42:fp").await.unwrap();
    assert_eq!(book.ticket("42:fp").await.unwrap(), None);
    assert_eq!(book.ticket("1:fp").await.unwrap(), Some(7));
}

#[tokio::test]
async fn the_ticket_book_in_memory_and_in_sqlite_across_a_reopen() {
    book_contract(&MemoryTicketBook::new()).await;
    book_contract(&SqliteStore::open_in_memory().unwrap()).await;
    // A restarted worker still merges into the ticket it opened.
    let dir = std::env::temp_dir().join(format!("cipp-book-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tasks.sqlite");
    let server = halo_server(&[
        ("POST", "/api/Tickets", 201, json!({"id": 314}), None),
        (
            "GET",
            "/api/Tickets/314",
            200,
            json!({"hasbeenclosed": false}),
            None,
        ),
        ("POST", "/api/Actions", 201, json!([{"id": 9}]), None),
    ])
    .await;
    for _ in 0..2 {
        let store = Arc::new(SqliteStore::open(&file).unwrap());
        halo(&server.uri(), TicketStrategy::Consolidated)
            .with_book(store)
            .notify(&event())
            .await
            .unwrap();
    }
    assert_eq!(
        calls(&server).await,
        [
            "POST /api/Tickets",
            "GET /api/Tickets/314?includedetails=true",
            "POST /api/Actions"
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn signed_authenticated_json_with_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("authorization", "Bearer hook-token"))
        .and(header("x-cipp-fingerprint", event().fingerprint.as_str()))
        .and(header_exists("x-cipp-signature"))
        .respond_with(|req: &wiremock::Request| {
            let ok = req.headers["x-cipp-signature"] == signature("shared-secret", &req.body);
            ResponseTemplate::new(if ok { 204 } else { 401 })
        })
        .expect(1)
        .mount(&server)
        .await;
    let hook = hook_at(&server, "/hook", WebhookAuth::Bearer("hook-token".into()))
        .signed(SecretString::from("shared-secret"))
        .with_retries(3, Duration::ZERO);
    assert_eq!(hook.format(), WebhookFormat::Schema);
    hook.notify(&event()).await.unwrap();
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[1].body).unwrap();
    assert_eq!(body["schemaVersion"], 1);
    assert_eq!(body["reference"], "PSA-1");
    assert!(!format!("{hook:?}").contains("hook-token"));
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    let err = hook_at(&server, "", WebhookAuth::None)
        .notify(&event())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"));
}

/// HaloPSA (or a proxy in front of it) echoing the request in its error answers: neither
/// the client secret nor the access token reaches the error.
#[tokio::test]
async fn halopsa_errors_echoing_the_request_leak_no_secret() {
    let echo = |req: &wiremock::Request| {
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        ResponseTemplate::new(400).set_body_string(format!(
            "rejected. authorization: {auth}; body: {}",
            String::from_utf8_lossy(&req.body)
        ))
    };
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJoYWxvIn0.c2lnbmF0dXJl";
    // The token endpoint refuses and echoes the form; then the ticket endpoint refuses
    // and echoes the bearer token.
    let cases = [
        ("/auth/token", None, ["Halo~Client.Secret", "Halo%7EClient"]),
        ("/api/Tickets", Some(jwt), ["eyJzdWIiOiJoYWxvIn0", jwt]),
    ];
    for (echoing, token, secrets) in cases {
        let server = MockServer::start().await;
        if let Some(t) = token {
            let answer = json!({"access_token": t, "expires_in": 3600});
            on(&server, "POST", "/auth/token", 200, answer, None).await;
        }
        Mock::given(method("POST"))
            .and(path(echoing))
            .respond_with(echo)
            .mount(&server)
            .await;
        let err = HaloPsaNotifier::new(
            transport(),
            &server.uri(),
            "halo-app",
            SecretString::from("Halo~Client.Secret"),
            21,
            1,
            TicketStrategy::Consolidated,
        )
        .unwrap()
        .notify(&event())
        .await
        .unwrap_err()
        .to_string();
        assert!(secrets.iter().all(|s| !err.contains(s)), "{err}");
        assert!(err.contains("[REDACTED]"), "{err}");
    }
}
