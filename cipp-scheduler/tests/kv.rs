//! The key-value store with compare-and-swap: the same behaviour in memory, on SQLite (a
//! temp file, surviving reopening) and on PostgreSQL (127.0.0.1:5432, database `test`,
//! trust authentication; `CIPP_PG` overrides), where racing workers get exactly one winner.
//! In CI (`CI=true`) an unreachable PostgreSQL fails the tests; elsewhere they say plainly
//! that they were skipped.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use cipp_scheduler::kv::{Conflict, KvStore, MemoryKv, Versioned, MAX_VALUE_BYTES};
use cipp_scheduler::postgres::PgStore;
use cipp_scheduler::sqlite::SqliteStore;
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};

mod stores;
use stores::*;

const NS: &str = "audit-cursor";

fn cursor(until: &str, seen: &[&str]) -> Value {
    json!({"until": until, "seen": seen})
}

async fn get(s: &dyn KvStore, ns: &str, key: &str) -> Option<Versioned> {
    s.get(ns, key).await.expect("get")
}

/// Create, read, update with the right version, conflicts (stale, wrong, `None` on an
/// existing key, a version on a missing key) that write nothing, delete.
async fn compare_and_swap(s: &dyn KvStore) {
    let key = "contoso.onmicrosoft.com";
    assert_eq!(get(s, NS, key).await, None);

    // Create: version 1, stamped now.
    let v1 = cursor("2026-01-01T09:00:00Z", &["a1", "a2"]);
    let before = Utc::now().trunc_subsecs(6);
    assert_eq!(s.put(NS, key, &v1, None).await.expect("put"), Ok(1));
    let after = Utc::now();
    let read1 = get(s, NS, key).await.expect("created");
    assert_eq!((read1.value.clone(), read1.version), (v1.clone(), 1));
    assert!(
        before <= read1.updated && read1.updated <= after,
        "{before} <= {} <= {after}",
        read1.updated
    );

    // Update with the version read: version 2.
    let v2 = cursor("2026-01-01T09:15:00Z", &["a3"]);
    assert_eq!(s.put(NS, key, &v2, Some(1)).await.expect("put"), Ok(2));
    let read2 = get(s, NS, key).await.expect("updated");
    assert_eq!((read2.value.clone(), read2.version), (v2.clone(), 2));
    assert!(read2.updated >= read1.updated);

    // A stale version, a wrong one, and `None` on an existing key: conflicts holding the
    // current value, and nothing written (not even the time).
    for expected in [Some(1), Some(3), Some(0), Some(u64::MAX), None] {
        let stale = cursor("1999-01-01T00:00:00Z", &["stale"]);
        let answer = s.put(NS, key, &stale, expected).await.expect("put");
        assert_eq!(
            answer,
            Err(Conflict {
                current: Some(read2.clone())
            }),
            "expected version {expected:?}"
        );
        assert_eq!(get(s, NS, key).await, Some(read2.clone()));
    }

    // A version on a key that does not exist: a conflict with nothing current; not created.
    let answer = s.put(NS, "fabrikam.com", &v1, Some(1)).await.expect("put");
    assert_eq!(answer, Err(Conflict { current: None }));
    assert_eq!(get(s, NS, "fabrikam.com").await, None);
    let text = Conflict { current: None }.to_string();
    assert!(text.contains("does not exist"), "{text}");

    // Delete: gone; deleting again is fine; created anew it starts at version 1.
    s.delete(NS, key).await.expect("delete");
    assert_eq!(get(s, NS, key).await, None);
    s.delete(NS, key).await.expect("delete again");
    let answer = s.put(NS, key, &v2, Some(2)).await.expect("put");
    assert_eq!(
        answer,
        Err(Conflict { current: None }),
        "deleted: no version"
    );
    assert_eq!(s.put(NS, key, &v2, None).await.expect("put"), Ok(1));
    assert_eq!(
        get(s, NS, key).await.map(|v| (v.value, v.version)),
        Some((v2, 1))
    );
}

/// Namespaces are separate; `list` gives one namespace's keys in byte order; names are
/// case-sensitive; any JSON round-trips.
async fn namespaces(s: &dyn KvStore) {
    let values = [
        (
            "b.com",
            json!({"mx": ["mx1.b.com", "mx2.b.com"], "preference": [10, 20]}),
        ),
        ("B.com", json!(null)),
        (
            "a.com",
            json!([1, -2, 3.5, 18_446_744_073_709_551_615_u64, i64::MIN]),
        ),
        ("é.com", json!("ünïcödé ✓")),
        ("c.com", json!(true)),
        (
            "d.com",
            json!({"nested": {"deep": [{"x": 0.1}, {}], "empty": []}}),
        ),
    ];
    for (key, value) in &values {
        assert_eq!(s.put("mx", key, value, None).await.expect("put"), Ok(1));
    }
    // The same key in another namespace is its own value.
    assert_eq!(
        s.put("last-seen", "b.com", &json!("other"), None)
            .await
            .expect("put"),
        Ok(1)
    );
    assert_eq!(
        s.put("mx", "b.com", &json!({"mx": []}), Some(1))
            .await
            .expect("put"),
        Ok(2)
    );

    let listed = s.list("mx").await.expect("list");
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["B.com", "a.com", "b.com", "c.com", "d.com", "é.com"]);
    for (key, value) in &values[1..] {
        let (_, v) = listed.iter().find(|(k, _)| k == key).expect("listed");
        assert_eq!((&v.value, v.version), (value, 1), "{key}");
        assert_eq!(get(s, "mx", key).await.as_ref(), Some(v), "{key}");
    }
    let (_, b) = &listed[2];
    assert_eq!((&b.value, b.version), (&json!({"mx": []}), 2));

    let other = s.list("last-seen").await.expect("list");
    assert_eq!(other.len(), 1);
    assert_eq!(
        (other[0].0.as_str(), &other[0].1.value),
        ("b.com", &json!("other"))
    );
    assert!(
        s.list("MX").await.expect("list").is_empty(),
        "case-sensitive"
    );
    assert!(s.list("nothing-here").await.expect("list").is_empty());
    assert_eq!(get(s, "MX", "b.com").await, None);

    s.delete("mx", "a.com").await.expect("delete");
    assert_eq!(s.list("mx").await.expect("list").len(), values.len() - 1);
    assert_eq!(s.list("last-seen").await.expect("list").len(), 1);
}

fn invalid(err: SchedulerError, field: &str) {
    let text = err.to_string();
    assert!(matches!(err, SchedulerError::Invalid(_)), "{err:?}");
    assert!(text.contains(field), "`{text}` names {field}");
}

/// Empty names and values over 1 MiB are refused, naming the field; nothing is written.
async fn refusals(s: &dyn KvStore) {
    let v = json!({"a": 1});
    invalid(s.get("", "k").await.expect_err("get"), "namespace");
    invalid(s.get("ns", "").await.expect_err("get"), "key");
    invalid(
        s.put("", "k", &v, None).await.expect_err("put"),
        "namespace",
    );
    invalid(s.put("ns", "", &v, None).await.expect_err("put"), "key");
    invalid(s.delete("", "k").await.expect_err("delete"), "namespace");
    invalid(s.delete("ns", "").await.expect_err("delete"), "key");
    invalid(s.list("").await.expect_err("list"), "namespace");
    invalid(s.put("ns", "a\0b", &v, None).await.expect_err("NUL"), "key");
    invalid(
        s.put("ns", &"k".repeat(1025), &v, None)
            .await
            .expect_err("long"),
        "key",
    );
    assert!(s.list("ns").await.expect("list").is_empty());

    // Exactly 1 MiB of JSON (a string and its two quotes) is accepted, one byte more is not.
    let at_limit = Value::String("x".repeat(MAX_VALUE_BYTES - 2));
    let over = Value::String("x".repeat(MAX_VALUE_BYTES - 1));
    assert_eq!(
        s.put("ns", "big", &at_limit, None).await.expect("1 MiB"),
        Ok(1)
    );
    let err = s
        .put("ns", "big", &over, Some(1))
        .await
        .expect_err("over 1 MiB");
    invalid(err, "value");
    let err = s
        .put("ns", "new", &over, None)
        .await
        .expect_err("over 1 MiB");
    assert!(err.to_string().contains("1 MiB"), "{err}");
    let big = get(s, "ns", "big").await.expect("kept");
    assert_eq!((big.value, big.version), (at_limit, 1));
    assert_eq!(get(s, "ns", "new").await, None);
}

/// Two writers race `rounds` times on one key, both expecting the version they read: one
/// wins each round, the loser's conflict holds the winner's value.
async fn race(a: Arc<dyn KvStore>, b: Arc<dyn KvStore>, rounds: u64) {
    let key = "race";
    for round in 0..rounds {
        let expected = match round {
            0 => None,
            _ => Some(get(&*a, NS, key).await.expect("exists").version),
        };
        assert_eq!(expected, round.checked_sub(1).map(|r| r + 1));
        let (va, vb) = (
            json!({"by": "a", "round": round}),
            json!({"by": "b", "round": round}),
        );
        let (ta, tb) = {
            let (a, b) = (a.clone(), b.clone());
            let (va, vb) = (va.clone(), vb.clone());
            (
                tokio::spawn(async move { a.put(NS, key, &va, expected).await }),
                tokio::spawn(async move { b.put(NS, key, &vb, expected).await }),
            )
        };
        let ra = ta.await.expect("join").expect("put a");
        let rb = tb.await.expect("join").expect("put b");
        let (won, lost, winner) = match (&ra, &rb) {
            (Ok(v), Err(c)) => (*v, c, &va),
            (Err(c), Ok(v)) => (*v, c, &vb),
            _ => panic!("round {round}: exactly one winner expected: {ra:?} / {rb:?}"),
        };
        assert_eq!(won, round + 1, "round {round}");
        let current = lost.current.as_ref().expect("the loser sees the winner");
        assert_eq!((&current.value, current.version), (winner, won));
        let stored = get(&*b, NS, key).await.expect("stored");
        assert_eq!((&stored.value, stored.version), (winner, won));
    }
}

// ---------------------------------------------------------------------------------------
// Memory

#[tokio::test]
async fn memory_compare_and_swap() {
    compare_and_swap(&MemoryKv::new()).await;
}

#[tokio::test]
async fn memory_namespaces_and_list() {
    namespaces(&MemoryKv::new()).await;
}

#[tokio::test]
async fn memory_refuses_empty_names_and_values_over_1_mib() {
    refusals(&MemoryKv::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_racing_writers_one_winner_each_round() {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    race(kv.clone(), kv, 20).await;
}

// ---------------------------------------------------------------------------------------
// SQLite

#[tokio::test]
async fn sqlite_compare_and_swap() {
    let dir = TempDir::new();
    compare_and_swap(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_namespaces_and_list() {
    let dir = TempDir::new();
    namespaces(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_refuses_empty_names_and_values_over_1_mib() {
    let dir = TempDir::new();
    refusals(&SqliteStore::open(dir.db()).expect("open")).await;
}

#[tokio::test]
async fn sqlite_values_survive_reopening_the_file() {
    let dir = TempDir::new();
    let before = {
        let s = SqliteStore::open(dir.db()).expect("open");
        let v = cursor("2026-01-01T09:00:00Z", &["a1"]);
        assert_eq!(s.put(NS, "t.com", &v, None).await.expect("put"), Ok(1));
        let v = cursor("2026-01-01T09:15:00Z", &["a2", "a3"]);
        assert_eq!(s.put(NS, "t.com", &v, Some(1)).await.expect("put"), Ok(2));
        s.put("mx", "t.com", &json!(["mx.t.com"]), None)
            .await
            .expect("put")
            .expect("created");
        s.list(NS).await.expect("list")
    };
    let s = SqliteStore::open(dir.db()).expect("reopen");
    assert_eq!(s.list(NS).await.expect("list"), before);
    assert_eq!(
        get(&s, "mx", "t.com").await.map(|v| v.value),
        Some(json!(["mx.t.com"]))
    );
    // The version carries on from where it was.
    let v = cursor("2026-01-01T09:30:00Z", &[]);
    assert_eq!(
        s.put(NS, "t.com", &v, Some(1))
            .await
            .expect("put")
            .map_err(|c| c.current.map(|c| c.version)),
        Err(Some(2))
    );
    assert_eq!(s.put(NS, "t.com", &v, Some(2)).await.expect("put"), Ok(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_stores_on_one_file_racing_one_winner_each_round() {
    let dir = TempDir::new();
    let a: Arc<dyn KvStore> = Arc::new(SqliteStore::open(dir.db()).expect("open"));
    let b: Arc<dyn KvStore> = Arc::new(SqliteStore::open(dir.db()).expect("open"));
    race(a, b, 20).await;
}

#[tokio::test]
async fn sqlite_a_corrupt_row_is_an_error_naming_it() {
    let dir = TempDir::new();
    let s = SqliteStore::open(dir.db()).expect("open");
    s.put("mx", "bad.com", &json!(["mx"]), None)
        .await
        .expect("put")
        .expect("created");
    rusqlite::Connection::open(dir.db())
        .expect("open raw")
        .execute("UPDATE kv SET value = 'not json' WHERE key = 'bad.com'", [])
        .expect("corrupt");
    let errors = [
        s.get("mx", "bad.com").await.expect_err("get"),
        s.list("mx").await.expect_err("list"),
        s.put("mx", "bad.com", &json!([]), Some(1))
            .await
            .expect_err("put"),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(matches!(err, SchedulerError::Store(_)), "{err:?}");
        assert!(
            text.contains("mx/bad.com") && text.contains("kv table"),
            "{text}"
        );
    }
    // Deleting it is the way out.
    s.delete("mx", "bad.com").await.expect("delete");
    assert_eq!(
        s.put("mx", "bad.com", &json!([]), None).await.expect("put"),
        Ok(1)
    );
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

async fn pg(schema: &str) -> PgStore {
    PgStore::connect(&config(), schema).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_compare_and_swap() {
    let Some(schema) = schema().await else { return };
    compare_and_swap(&pg(&schema).await).await;
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_namespaces_and_list() {
    let Some(schema) = schema().await else { return };
    namespaces(&pg(&schema).await).await;
    // Another worker sees the same values.
    let other = pg(&schema).await;
    assert_eq!(other.list("mx").await.expect("list").len(), 5);
    let version: i32 = raw_client(&schema)
        .await
        .query_one("SELECT version FROM cipp_schema_version", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, 6, "kv is migration 6");
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_empty_names_and_values_over_1_mib() {
    let Some(schema) = schema().await else { return };
    let s = pg(&schema).await;
    refusals(&s).await;
    // jsonb cannot hold NUL: refused up front, naming the value.
    let err = s
        .put("ns", "nul", &json!({"a": "x\u{0}y"}), None)
        .await
        .expect_err("NUL");
    invalid(err, "value");
    assert_eq!(get(&s, "ns", "nul").await, None);
    // A backslash and `u0000` as text is no NUL.
    assert_eq!(
        s.put("ns", "nul", &json!("\\u0000"), None)
            .await
            .expect("put"),
        Ok(1)
    );
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_workers_racing_20_times_on_one_key_one_winner_each_round() {
    let Some(schema) = schema().await else { return };
    let a: Arc<dyn KvStore> = Arc::new(pg(&schema).await);
    let b: Arc<dyn KvStore> = Arc::new(pg(&schema).await);
    race(a, b, 20).await;
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_corrupt_row_is_an_error_naming_it() {
    let Some(schema) = schema().await else { return };
    let s = pg(&schema).await;
    s.put("mx", "bad.com", &json!(["mx"]), None)
        .await
        .expect("put")
        .expect("created");
    raw_client(&schema)
        .await
        .execute("UPDATE kv SET version = 0 WHERE key = 'bad.com'", &[])
        .await
        .expect("corrupt");
    for err in [
        s.get("mx", "bad.com").await.expect_err("get"),
        s.list("mx").await.expect_err("list"),
    ] {
        let text = err.to_string();
        assert!(matches!(err, SchedulerError::Store(_)), "{err:?}");
        assert!(
            text.contains("mx/bad.com") && text.contains("kv table"),
            "{text}"
        );
    }
    drop_schema(&schema).await;
}
