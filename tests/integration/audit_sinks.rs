//! The audit sinks on the simulator: real facade writes (a generated password reset, a
//! mailbox change, a user created, a refused write) recorded by each sink, read back by
//! tenant, principal, target, operation and time range, newest first; no password in any
//! stored event or file; a sink that cannot write never fails the operation.
//!
//! PostgreSQL runs against 127.0.0.1:5432 (database `test`, trust authentication;
//! `CIPP_PG` overrides). In CI (`CI=true`) an unreachable server fails the test; elsewhere
//! it says plainly that it was skipped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cipp::audit_sinks::{
    AuditQuery, AuditStore, JsonLinesAuditSink, PgAuditSink, SqliteAuditSink, TracingAuditSink,
};
use cipp::authz::{
    AccessControl, AuditEvent, AuditOutcome, AuditSink, MemoryAuditLog, Principal, Role,
    TenantScope,
};
use cipp::core::ManualClock;
use cipp::graph::password::PasswordStyle;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::users::create::CreateUser;
use cipp::users::Guard;
use cipp::{Cipp, TenantId};
use secrecy::ExposeSecret;

const CONTOSO: &str = "contoso.onmicrosoft.com";
const FABRIKAM: &str = "fabrikam.onmicrosoft.com";
const ALEX: &str = "alex@msp.example";
const SAM: &str = "sam@msp.example";

fn start() -> DateTime<Utc> {
    "2026-11-27T09:00:00Z".parse().unwrap()
}

fn t(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn hours(n: i64) -> DateTime<Utc> {
    start() + chrono::Duration::hours(n)
}

/// A client on the simulator acting as `principal`, recording into `sink`.
fn client(
    sim: &Simulator,
    clock: &ManualClock,
    principal: Principal,
    sink: Arc<dyn AuditSink>,
) -> Cipp {
    Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .clock(Arc::new(clock.clone()))
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap()
        .with_access_control(AccessControl::new(principal).audit(sink))
}

/// What the scenario did: the generated password, to look for in the stored events.
struct Done {
    password: String,
}

/// Real facade writes, one hour apart, by two technicians:
/// - 09:00 alex resets adelev@contoso.com's password (generated), in Contoso;
/// - 10:00 alex creates a user in Fabrikam;
/// - 11:00 sam hides adelev@contoso.com from the address lists, in Contoso;
/// - 12:00 alex tries the same, refused (no Exchange permission).
async fn scenario(sink: Arc<dyn AuditSink>) -> Done {
    let clock = ManualClock::new(start());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let helpdesk = Role::custom("helpdesk")
        .allow("Identity.User.*")
        .allow("*.*.Read")
        .tenants(TenantScope::only([CONTOSO, FABRIKAM]));
    let alex = client(
        &sim,
        &clock,
        Principal::technician(ALEX).with_role(helpdesk),
        sink.clone(),
    );
    let sam = client(
        &sim,
        &clock,
        Principal::technician(SAM).with_role(Role::editor()),
        sink,
    );

    let reset = alex
        .tenant(&t(CONTOSO))
        .unwrap()
        .user("adelev@contoso.com")
        .unwrap()
        .reset_password(
            None,
            &PasswordStyle::default(),
            true,
            Guard::RefusePrivileged,
        )
        .await
        .unwrap();
    let password = reset.password.expose_secret().to_owned();
    assert!(password.len() >= 8, "a generated password");

    clock.advance(Duration::from_secs(3600));
    alex.tenant(&t(FABRIKAM))
        .unwrap()
        .create_user(&CreateUser::new("Temp Worker", "tempw"))
        .await
        .unwrap();

    clock.advance(Duration::from_secs(3600));
    sam.tenant(&t(CONTOSO))
        .unwrap()
        .user("adelev@contoso.com")
        .unwrap()
        .hide_from_address_lists(true)
        .await
        .unwrap();

    clock.advance(Duration::from_secs(3600));
    let refused = alex
        .tenant(&t(CONTOSO))
        .unwrap()
        .user("adelev@contoso.com")
        .unwrap()
        .hide_from_address_lists(false)
        .await
        .unwrap_err();
    assert!(refused.is_forbidden(), "{refused}");
    Done { password }
}

fn ops(events: &[AuditEvent]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|e| (e.principal.as_str(), e.operation.as_str()))
        .collect()
}

/// The queries every store answers the same way.
async fn check_queries(store: &dyn AuditStore, done: &Done) {
    let all = store.query(&AuditQuery::new()).await.unwrap();
    assert_eq!(
        ops(&all),
        [
            (ALEX, "user.hide_from_address_lists"),
            (SAM, "user.hide_from_address_lists"),
            (ALEX, "user.create"),
            (ALEX, "user.reset_password"),
        ],
        "newest first"
    );
    assert!(matches!(all[0].outcome, AuditOutcome::Refused { .. }));
    assert_eq!(all[3].at, hours(0));
    assert_eq!(all[0].at, hours(3));

    // By tenant (case-insensitive).
    let contoso = store
        .query(&AuditQuery::new().tenant(CONTOSO.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(contoso.len(), 3);
    assert!(contoso.iter().all(|e| e.tenant.as_deref() == Some(CONTOSO)));
    let fabrikam = store
        .query(&AuditQuery::new().tenant(FABRIKAM))
        .await
        .unwrap();
    assert_eq!(ops(&fabrikam), [(ALEX, "user.create")]);

    // By principal.
    let by_sam = store
        .query(&AuditQuery::new().principal(SAM))
        .await
        .unwrap();
    assert_eq!(ops(&by_sam), [(SAM, "user.hide_from_address_lists")]);
    assert_eq!(by_sam[0].outcome, AuditOutcome::Succeeded);
    let by_alex = store
        .query(&AuditQuery::new().principal(ALEX))
        .await
        .unwrap();
    assert_eq!(by_alex.len(), 3);

    // By target object.
    let adele = store
        .query(&AuditQuery::new().target("AdeleV@contoso.com"))
        .await
        .unwrap();
    assert_eq!(adele.len(), 3, "{:?}", ops(&adele));
    assert!(adele.iter().all(|e| e.operation != "user.create"));

    // By time range: [10:00, 11:00) holds only the user created in Fabrikam;
    // [10:00, 12:00] two; from 11:00 two; before 10:00 the reset.
    let window = store
        .query(&AuditQuery::new().between(hours(1), hours(2)))
        .await
        .unwrap();
    assert_eq!(ops(&window), [(ALEX, "user.create")]);
    let two = store
        .query(&AuditQuery::new().from(hours(1)).to(hours(3)))
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    let late = store
        .query(&AuditQuery::new().from(hours(2)))
        .await
        .unwrap();
    assert_eq!(late.len(), 2);
    let early = store.query(&AuditQuery::new().to(hours(1))).await.unwrap();
    assert_eq!(ops(&early), [(ALEX, "user.reset_password")]);

    // Criteria together, an operation prefix, a limit.
    let q = AuditQuery::new()
        .tenant(CONTOSO)
        .principal(ALEX)
        .between(hours(0), hours(4));
    assert_eq!(store.query(&q).await.unwrap().len(), 2);
    let users = store
        .query(&AuditQuery::new().operation("user.*"))
        .await
        .unwrap();
    assert_eq!(users.len(), 4);
    let creates = store
        .query(&AuditQuery::new().operation("user.create"))
        .await
        .unwrap();
    assert_eq!(creates.len(), 1);
    assert!(store
        .query(&AuditQuery::new().operation("user.%"))
        .await
        .unwrap()
        .is_empty());
    let newest = store.query(&AuditQuery::new().limit(2)).await.unwrap();
    assert_eq!(ops(&newest), ops(&all[..2]));
    assert!(store
        .query(&AuditQuery::new().tenant("northwind.onmicrosoft.com"))
        .await
        .unwrap()
        .is_empty());

    // The reset's event: succeeded, on Adele, with its parameters and without the password.
    let reset = store
        .query(&AuditQuery::new().operation("user.reset_password"))
        .await
        .unwrap();
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].target.as_deref(), Some("adelev@contoso.com"));
    assert_eq!(reset[0].parameters["mustChange"], true);
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains(&done.password),
        "the generated password is in an audit event"
    );
}

#[tokio::test]
async fn memory_log_answers_queries() {
    let log = MemoryAuditLog::new();
    let done = scenario(Arc::new(log.clone())).await;
    check_queries(&log, &done).await;
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cipp-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn json_lines_file_records_and_answers_queries() {
    let dir = temp_dir();
    let path = dir.join("audit.jsonl");
    let sink = JsonLinesAuditSink::open(&path).unwrap();
    assert!(path.exists(), "created when missing");
    let done = scenario(Arc::new(sink.clone())).await;
    check_queries(&sink, &done).await;

    let raw = std::fs::read_to_string(&path).unwrap();
    assert_eq!(raw.lines().count(), 4, "one line per event");
    for line in raw.lines() {
        serde_json::from_str::<AuditEvent>(line).expect("each line is an event");
    }
    assert!(!raw.contains(&done.password), "no password in the file");

    // A torn line (a crash mid-write) is skipped by queries; a second sink reads the file.
    std::fs::write(&path, format!("{raw}{{\"at\": \"2026-11-27T")).unwrap();
    let again = JsonLinesAuditSink::open(&path).unwrap();
    assert_eq!(again.query(&AuditQuery::new()).await.unwrap().len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_lines_never_interleave_under_concurrent_writes() {
    let dir = temp_dir();
    let path = dir.join("audit.jsonl");
    let sink = JsonLinesAuditSink::open(&path).unwrap();
    let template: AuditEvent = serde_json::from_value(serde_json::json!({
        "at": "2026-11-27T09:00:00Z", "principal": "p", "operation": "user.edit",
        "permission": "Identity.User.ReadWrite", "tenant": CONTOSO, "target": "t",
        "parameters": {}, "outcome": {"status": "succeeded"}
    }))
    .unwrap();
    let writers: Vec<_> = (0..64)
        .map(|i| {
            let sink = sink.clone();
            let mut e = template.clone();
            // Large lines (48 KiB), so an unserialized writer would tear them.
            e.parameters = serde_json::json!({"i": i, "note": "x".repeat(48 * 1024)});
            tokio::spawn(async move { sink.record(e).await })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let raw = std::fs::read_to_string(&path).unwrap();
    let mut seen: Vec<u64> = raw
        .lines()
        .map(|l| {
            let e: AuditEvent = serde_json::from_str(l).expect("a whole event per line");
            e.parameters["i"].as_u64().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..64).collect::<Vec<u64>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn secrets_are_redacted_again_by_every_sink() {
    // An event made outside the facade (deserialized) with a secret in its parameters.
    let event: AuditEvent = serde_json::from_value(serde_json::json!({
        "at": "2026-11-27T09:00:00Z", "principal": "p", "operation": "user.reset_password",
        "permission": "Identity.User.ReadWrite", "tenant": CONTOSO, "target": "t",
        "parameters": {"newPassword": "Hunter2-Secret!", "nested": [{"clientSecret": "s3cr3t-value"}]},
        "outcome": {"status": "succeeded"}
    }))
    .unwrap();
    let dir = temp_dir();
    let lines = JsonLinesAuditSink::open(dir.join("a.jsonl")).unwrap();
    lines.record(event.clone()).await;
    let sqlite = SqliteAuditSink::open_in_memory().unwrap();
    sqlite.record(event.clone()).await;
    for store in [&lines as &dyn AuditStore, &sqlite] {
        let text = serde_json::to_string(&store.query(&AuditQuery::new()).await.unwrap()).unwrap();
        assert!(text.contains("[redacted]"), "{text}");
        assert!(
            !text.contains("Hunter2") && !text.contains("s3cr3t"),
            "{text}"
        );
    }
    let raw = std::fs::read_to_string(dir.join("a.jsonl")).unwrap();
    assert!(!raw.contains("Hunter2"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sqlite_records_and_answers_queries_and_keeps_them_across_reopen() {
    let dir = temp_dir();
    let path = dir.join("audit.db");
    let sink = SqliteAuditSink::open(&path).unwrap();
    let done = scenario(Arc::new(sink.clone())).await;
    check_queries(&sink, &done).await;
    drop(sink);

    // Reopened (the table exists): the same events; nothing in any column holds the password.
    let sink = SqliteAuditSink::open(&path).unwrap();
    assert_eq!(sink.query(&AuditQuery::new()).await.unwrap().len(), 4);
    let conn = raw_bytes(&path);
    assert!(conn.contains("user.reset_password"));
    assert!(!conn.contains(&done.password), "no password in the table");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The database file and its write-ahead log as text (SQLite keeps text values as they
/// are: a password in any column would be there).
fn raw_bytes(path: &std::path::Path) -> String {
    let mut bytes = std::fs::read(path).unwrap();
    let wal = path.with_extension("db-wal");
    if let Ok(w) = std::fs::read(wal) {
        bytes.extend(w);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// tracing

type Fields = BTreeMap<String, String>;

/// Collects the events of target `cipp::audit` with their level and fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(tracing::Level, Fields)>>>);

struct Visitor<'a>(&'a mut Fields);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{v:?}"));
    }
    fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
        self.0.insert(f.name().to_owned(), v.to_owned());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() != "cipp::audit" {
            return;
        }
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_sink_emits_one_structured_event_per_audit_event() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let done = scenario(Arc::new(TracingAuditSink::new())).await;
    let events = capture.0.lock().unwrap().clone();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(events.iter().all(|(l, _)| *l == tracing::Level::INFO));
    let (_, reset) = &events[0];
    assert_eq!(reset["principal"], ALEX);
    assert_eq!(reset["operation"], "user.reset_password");
    assert_eq!(reset["permission"], "Identity.User.ReadWrite");
    assert_eq!(reset["tenant"], CONTOSO);
    assert_eq!(reset["object"], "adelev@contoso.com");
    assert_eq!(reset["outcome"], "succeeded");
    assert_eq!(reset["at"], "2026-11-27T09:00:00+00:00");
    assert!(reset["parameters"].contains("mustChange"));
    let (_, refused) = &events[3];
    assert_eq!(refused["outcome"], "refused");
    assert!(
        refused["detail"].contains("Exchange.Mailbox.ReadWrite"),
        "{refused:?}"
    );
    let all = format!("{events:?}");
    assert!(
        !all.contains(&done.password),
        "no password in the tracing events"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_sink_that_cannot_write_reports_it_and_the_operation_succeeds() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let dir = temp_dir();
    let sink = JsonLinesAuditSink::open(dir.join("audit.jsonl")).unwrap();
    // The directory goes away: every write fails from now on.
    std::fs::remove_dir_all(&dir).unwrap();
    let done = scenario(Arc::new(sink.clone())).await;
    assert!(!done.password.is_empty(), "the writes went through");
    let errors: Vec<Fields> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, _)| *l == tracing::Level::ERROR)
        .map(|(_, f)| f.clone())
        .collect();
    assert_eq!(errors.len(), 4, "one error per lost event: {errors:#?}");
    assert_eq!(errors[0]["operation"], "user.reset_password");
    assert!(
        errors[0]["error"].contains("audit.jsonl"),
        "{:?}",
        errors[0]
    );
    let event: AuditEvent = serde_json::from_value(serde_json::json!({
        "at": "2026-11-27T09:00:00Z", "principal": "p", "operation": "x",
        "permission": "Identity.User.ReadWrite", "parameters": {}, "outcome": {"status": "succeeded"}
    }))
    .unwrap();
    assert!(sink.write(&event).await.is_err(), "write says why");
    // The open of a path that cannot be written is refused up front.
    let err = JsonLinesAuditSink::open(dir.join("missing").join("audit.jsonl")).unwrap_err();
    assert!(err.to_string().contains("writable"), "{err}");
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

fn pg_config() -> String {
    std::env::var("CIPP_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh schema name, or `None` when no server is reachable outside CI.
async fn pg_schema() -> Option<String> {
    let name = format!("cipp_audit_{}", uuid::Uuid::new_v4().simple());
    match tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls).await {
        Ok(_) => Some(name),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but PostgreSQL is unreachable at `{}`: {e}",
                    pg_config()
                );
            }
            eprintln!(
                "SKIPPED: no PostgreSQL at `{}` ({e}); set CI=true to make this a failure",
                pg_config()
            );
            None
        }
    }
}

#[tokio::test]
async fn postgres_records_and_answers_queries() {
    let Some(schema) = pg_schema().await else {
        return;
    };
    let sink = Arc::new(PgAuditSink::connect(&pg_config(), &schema).await.unwrap());
    let done = scenario(sink.clone()).await;
    check_queries(sink.as_ref(), &done).await;

    // A second sink on the same schema (another worker) sees the same events; the table
    // already exists.
    let other = PgAuditSink::connect(&pg_config(), &schema).await.unwrap();
    assert_eq!(other.query(&AuditQuery::new()).await.unwrap().len(), 4);

    // Nothing in any column of the table holds the password.
    let (client, connection) = tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            &format!("SELECT t::text FROM {schema}.audit_events AS t"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let text: String = r.get(0);
        assert!(!text.contains(&done.password), "no password in {text}");
    }
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();

    assert!(PgAuditSink::connect(&pg_config(), "bad-name;")
        .await
        .is_err());
}
