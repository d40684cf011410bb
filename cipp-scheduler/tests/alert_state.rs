//! Alert state in the durable stores: the same behaviour on SQLite (a temp file) and
//! PostgreSQL (127.0.0.1:5432, database `test`, trust authentication; `CIPP_PG` overrides).
//! In CI (`CI=true`) an unreachable PostgreSQL fails the tests; elsewhere they say plainly
//! that they were skipped.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use chrono::{DateTime, Utc};
use cipp_scheduler::alert_state::{AlertRecord, AlertStateStore, Change, Observation, Snooze};
use cipp_scheduler::postgres::PgStore;
use cipp_scheduler::sqlite::SqliteStore;
use cipp_scheduler::SchedulerError;
use serde_json::json;

mod stores;
use stores::*;

fn at(h: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3600, 0).expect("time")
}

fn obs(subject: &str, days: i64) -> Observation {
    Observation {
        subject: subject.into(),
        row: json!({"subject": subject, "daysLeft": days}),
    }
}

fn labels(changes: &[Change]) -> Vec<(&'static str, String)> {
    changes
        .iter()
        .map(|c| (c.label(), c.record().subject.clone()))
        .collect()
}

/// Raised once, unchanged is silent, changed, resolved (once), raised again.
async fn lifecycle(s: &dyn AlertStateStore) {
    let c = s
        .observe("Contoso.com", "ApnCertExpiry", &[obs("x", 20)], at(0))
        .await
        .expect("observe");
    assert_eq!(labels(&c), [("raised", "x".to_owned())]);
    assert_eq!(c[0].record().first_seen, at(0));
    assert_eq!(c[0].record().tenant, "Contoso.com");

    let c = s
        .observe("contoso.com", "ApnCertExpiry", &[obs("x", 20)], at(1))
        .await
        .expect("observe");
    assert!(c.is_empty(), "unchanged, in any case of the tenant: {c:?}");

    let c = s
        .observe("contoso.com", "ApnCertExpiry", &[obs("x", 19)], at(2))
        .await
        .expect("observe");
    assert!(
        matches!(c.as_slice(), [Change::Changed(r)] if r.first_seen == at(0) && r.last_seen == at(2)),
        "{c:?}"
    );

    let c = s
        .observe("contoso.com", "ApnCertExpiry", &[], at(3))
        .await
        .expect("observe");
    assert!(
        matches!(c.as_slice(), [Change::Resolved(r)] if r.resolved_at == Some(at(3))),
        "{c:?}"
    );
    let c = s
        .observe("contoso.com", "ApnCertExpiry", &[], at(4))
        .await
        .expect("observe");
    assert!(c.is_empty(), "resolved once: {c:?}");

    let c = s
        .observe("contoso.com", "ApnCertExpiry", &[obs("x", 5)], at(5))
        .await
        .expect("observe");
    assert!(
        matches!(c.as_slice(), [Change::Raised(r)] if r.first_seen == at(5) && r.resolved_at.is_none()),
        "raised again, anew: {c:?}"
    );

    // The record was updated in place, never duplicated nor deleted.
    let records = s.records("CONTOSO.COM").await.expect("records");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].row, json!({"subject": "x", "daysLeft": 5}));
    assert_eq!(records[0].last_seen, at(5));
}

/// Snoozed 7 days (silent, then notifies again) and for ever (silent, also when resolved);
/// snoozing an unknown subject is an error naming it.
async fn snoozing(s: &dyn AlertStateStore) {
    let c = s
        .observe("t.com", "A", &[obs("x", 20), obs("y", 1)], at(0))
        .await
        .expect("observe");
    assert_eq!(c.len(), 2);
    s.snooze("t.com", "A", "x", Snooze::Days7.until(at(0)))
        .await
        .expect("snooze 7 days");
    s.snooze("T.com", "A", "y", Snooze::Forever.until(at(0)))
        .await
        .expect("snooze for ever");

    let err = s
        .snooze("t.com", "A", "nobody", None)
        .await
        .expect_err("unknown subject");
    assert!(matches!(err, SchedulerError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("`nobody`"), "{err}");
    let err = s
        .snooze("t.com", "Other", "x", None)
        .await
        .expect_err("unknown alert");
    assert!(matches!(err, SchedulerError::NotFound(_)), "{err:?}");

    let records = s.records("t.com").await.expect("records");
    assert_eq!(records[0].snoozed_until, Some(at(24 * 7)));
    assert_eq!(records[1].snoozed_until, Some(DateTime::<Utc>::MAX_UTC));

    // Both changed within the week: silent, but the state follows.
    let c = s
        .observe("t.com", "A", &[obs("x", 19), obs("y", 0)], at(24))
        .await
        .expect("observe");
    assert!(c.is_empty(), "{c:?}");
    let records = s.records("t.com").await.expect("records");
    assert_eq!(records[0].row["daysLeft"], 19);

    // After 7 days x notifies again; y stays snoozed for ever, even when it resolves.
    let c = s
        .observe("t.com", "A", &[obs("x", 3)], at(24 * 8))
        .await
        .expect("observe");
    assert_eq!(labels(&c), [("changed", "x".to_owned())]);
    let records = s.records("t.com").await.expect("records");
    assert_eq!(records[1].resolved_at, Some(at(24 * 8)));
    assert_eq!(records[1].snoozed_until, Some(DateTime::<Utc>::MAX_UTC));
}

/// Records per tenant, by alert then subject; tenants and alerts are separate.
async fn per_tenant(s: &dyn AlertStateStore) {
    for (tenant, alert, subjects) in [
        ("b.com", "Zeta", &["2", "1"][..]),
        ("b.com", "Alpha", &["b", "a", "B"][..]),
        ("c.com", "Alpha", &["a"][..]),
    ] {
        let o: Vec<Observation> = subjects.iter().map(|x| obs(x, 1)).collect();
        let c = s.observe(tenant, alert, &o, at(0)).await.expect("observe");
        assert_eq!(c.len(), subjects.len());
    }
    let keys: Vec<(String, String)> = s
        .records("B.COM")
        .await
        .expect("records")
        .into_iter()
        .map(|r| (r.alert, r.subject))
        .collect();
    let expected: Vec<(String, String)> = [
        ("Alpha", "B"),
        ("Alpha", "a"),
        ("Alpha", "b"),
        ("Zeta", "1"),
        ("Zeta", "2"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(s.records("c.com").await.expect("records").len(), 1);
    assert!(s.records("d.com").await.expect("records").is_empty());
    // Another tenant's alert of the same name is its own state: nothing resolved in c.com.
    let c = s
        .observe("b.com", "Alpha", &[], at(1))
        .await
        .expect("observe");
    assert_eq!(c.len(), 3);
    let c = s
        .observe("c.com", "Alpha", &[obs("a", 1)], at(1))
        .await
        .expect("observe");
    assert!(c.is_empty(), "{c:?}");
}

// ---------------------------------------------------------------------------------------
// SQLite

#[tokio::test]
async fn sqlite_raised_once_changed_resolved_and_raised_again() {
    let dir = TempDir::new();
    lifecycle(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_snoozes_for_7_days_and_for_ever() {
    let dir = TempDir::new();
    snoozing(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_records_per_tenant_by_alert_then_subject() {
    let dir = TempDir::new();
    per_tenant(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_state_survives_reopening_the_file() {
    let dir = TempDir::new();
    let before = {
        let s = SqliteStore::open(dir.db()).expect("open");
        s.observe("t.com", "A", &[obs("x", 20), obs("y", 1)], at(0))
            .await
            .expect("observe");
        s.snooze("t.com", "A", "y", None).await.expect("snooze");
        s.records("t.com").await.expect("records")
    };
    let s = SqliteStore::open(dir.db()).expect("reopen");
    assert_eq!(s.records("t.com").await.expect("records"), before);
    // Unchanged x stays silent; y, snoozed for ever, resolves silently.
    let c = s
        .observe("t.com", "A", &[obs("x", 20)], at(1))
        .await
        .expect("observe");
    assert!(c.is_empty(), "{c:?}");

    // The alert_state table is migration 4, applied once; the last is kv (5).
    drop(s);
    let conn = rusqlite::Connection::open(dir.db()).expect("open raw");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, 5);
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        tables,
        ["alert_state", "kv", "psa_tickets", "results", "tasks"]
    );
    let tenants: Vec<String> = conn
        .prepare("SELECT DISTINCT tenant FROM alert_state")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(tenants, ["t.com"]);
}

#[tokio::test]
async fn sqlite_a_corrupt_row_is_an_error_naming_it() {
    let dir = TempDir::new();
    let s = SqliteStore::open(dir.db()).expect("open");
    s.observe("Bad.com", "A", &[obs("x", 1), obs("y", 1)], at(0))
        .await
        .expect("observe");
    rusqlite::Connection::open(dir.db())
        .expect("open raw")
        .execute(
            "UPDATE alert_state SET record = 'not json' WHERE subject = 'y'",
            [],
        )
        .expect("corrupt");
    for err in [
        s.observe("bad.com", "A", &[obs("x", 1)], at(1))
            .await
            .expect_err("observe"),
        s.records("bad.com").await.expect_err("records"),
        s.snooze("bad.com", "A", "y", None)
            .await
            .expect_err("snooze"),
    ] {
        let text = err.to_string();
        assert!(matches!(err, SchedulerError::Store(_)), "{err:?}");
        assert!(
            text.contains("bad.com") && text.contains("alert A") && text.contains("`y`"),
            "{text}"
        );
    }
    // The failed observation wrote nothing: x was last seen at the first run.
    let raw: String = rusqlite::Connection::open(dir.db())
        .expect("open raw")
        .query_row(
            "SELECT record FROM alert_state WHERE subject = 'x'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    let record: AlertRecord = serde_json::from_str(&raw).expect("record");
    assert_eq!(record.last_seen, at(0));
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_raised_once_changed_resolved_and_raised_again() {
    let Some(schema) = schema().await else { return };
    lifecycle(&PgStore::connect(&config(), &schema).await.expect("connect")).await;
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_snoozes_for_7_days_and_for_ever() {
    let Some(schema) = schema().await else { return };
    snoozing(&PgStore::connect(&config(), &schema).await.expect("connect")).await;
    // Another worker sees the same snoozes.
    let other = PgStore::connect(&config(), &schema).await.expect("connect");
    let records = other.records("t.com").await.expect("records");
    assert_eq!(records[1].snoozed_until, Some(DateTime::<Utc>::MAX_UTC));
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_records_per_tenant_by_alert_then_subject() {
    let Some(schema) = schema().await else { return };
    per_tenant(&PgStore::connect(&config(), &schema).await.expect("connect")).await;
    let version: i32 = raw_client(&schema)
        .await
        .query_one("SELECT version FROM cipp_schema_version", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, 6, "alert_state is migration 5, kv the last (6)");
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_workers_observing_one_new_finding_raise_it_once() {
    let Some(schema) = schema().await else { return };
    let w1 = PgStore::connect(&config(), &schema).await.expect("connect");
    let w2 = PgStore::connect(&config(), &schema).await.expect("connect");
    for i in 0..25 {
        let alert = format!("Alert{i}");
        let found = [obs("x", 10), obs(&format!("only-{i}"), 1)];
        let (a, b) = tokio::join!(
            w1.observe("t.com", &alert, &found, at(0)),
            w2.observe("T.COM", &alert, &found, at(0)),
        );
        let (a, b) = (a.expect("w1"), b.expect("w2"));
        let raised: Vec<_> = a.iter().chain(&b).map(Change::label).collect();
        assert_eq!(raised, ["raised", "raised"], "round {i}: {a:?} / {b:?}");
        assert!(
            a.is_empty() || b.is_empty(),
            "one worker raised both, the other saw them: {a:?} / {b:?}"
        );
        // Both then observe a change at once: one Changed between them.
        let changed = [obs("x", 9), obs(&format!("only-{i}"), 1)];
        let (a, b) = tokio::join!(
            w1.observe("t.com", &alert, &changed, at(1)),
            w2.observe("t.com", &alert, &changed, at(1)),
        );
        let (a, b) = (a.expect("w1"), b.expect("w2"));
        assert_eq!(
            labels(&[a, b].concat()),
            [("changed", "x".to_owned())],
            "round {i}"
        );
    }
    let records = w2.records("t.com").await.expect("records");
    assert_eq!(records.len(), 50);
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_corrupt_row_is_an_error_naming_it() {
    let Some(schema) = schema().await else { return };
    let s = PgStore::connect(&config(), &schema).await.expect("connect");
    s.observe("Bad.com", "A", &[obs("x", 1), obs("y", 1)], at(0))
        .await
        .expect("observe");
    let raw = raw_client(&schema).await;
    raw.execute(
        "UPDATE alert_state SET record = '{\"nope\": 1}' WHERE subject = 'y'",
        &[],
    )
    .await
    .expect("corrupt");
    for err in [
        s.observe("bad.com", "A", &[obs("x", 1)], at(1))
            .await
            .expect_err("observe"),
        s.records("bad.com").await.expect_err("records"),
        s.snooze("bad.com", "A", "y", None)
            .await
            .expect_err("snooze"),
    ] {
        let text = err.to_string();
        assert!(matches!(err, SchedulerError::Store(_)), "{err:?}");
        assert!(
            text.contains("bad.com") && text.contains("alert A") && text.contains("`y`"),
            "{text}"
        );
    }
    // The failed observation wrote nothing: x was last seen at the first run.
    let last_seen: String = raw
        .query_one(
            "SELECT record->>'lastSeen' FROM alert_state WHERE subject = 'x'",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(last_seen.parse::<DateTime<Utc>>().expect("time"), at(0));
    drop_schema(&schema).await;
}
