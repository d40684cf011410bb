//! The template stores: one contract run against every store, then what is particular to
//! the directory, SQLite and PostgreSQL stores.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cipp_templates::canonical;
use cipp_templates::store::{
    DirTemplateStore, MemoryTemplateStore, PgTemplateStore, SqliteTemplateStore, StoreError,
    TemplateStore,
};
use cipp_templates::template::{Attachments, Template, TemplateKind, TemplateSource};
use serde_json::{json, Value};

/// A folder under the system temp dir, unique per test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "cipp-templates-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ca_policy(state: &str) -> Template {
    let body = json!({
        "displayName": "Require MFA",
        "state": state,
        "conditions": {
            "users": {"includeUsers": ["All"], "excludeGroups": ["CA - Break glass"]},
            "applications": {"includeApplications": ["All"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    Template::new(TemplateKind::ConditionalAccess, "Require MFA", body)
        .with_id("ca-require-mfa")
        .with_description("MFA for everyone")
}

fn group() -> Template {
    Template::new(
        TemplateKind::Group,
        "CA - Break glass",
        json!({"displayName": "CA - Break glass", "groupType": "generic"}),
    )
    .with_id("group-break-glass")
}

/// The rules every store follows (see `cipp_templates::store`).
async fn contract(store: Arc<dyn TemplateStore>) {
    // First put: version 1, hash set, timestamps set.
    let first = store.put(ca_policy("enabled")).await.expect("put v1");
    assert_eq!(first.version, 1);
    assert_eq!(first.content_hash, ca_policy("enabled").compute_hash());
    assert_eq!(first.created, first.updated);

    // The same content again (keys in another order, another source, a stale version and
    // hash on the input): nothing new.
    let mut again = ca_policy("enabled");
    again.body = serde_json::from_str(
        r#"{"grantControls": {"builtInControls": ["mfa"], "operator": "OR"},
            "conditions": {"applications": {"includeApplications": ["All"]},
                           "users": {"excludeGroups": ["CA - Break glass"], "includeUsers": ["All"]}},
            "state": "enabled", "displayName": "Require MFA"}"#,
    )
    .expect("json");
    again.version = 42;
    again.content_hash = "stale".into();
    again.source = Some(TemplateSource::Manual);
    let same = store.put(again).await.expect("put same");
    assert_eq!(same.version, 1);
    assert_eq!(same.updated, first.updated);
    assert_eq!(same.source, first.source);
    assert!(store
        .history("ca-require-mfa")
        .await
        .expect("history")
        .is_empty());

    // Changed content: version 2, version 1 in the history.
    let second = store.put(ca_policy("disabled")).await.expect("put v2");
    assert_eq!(second.version, 2);
    assert_ne!(second.content_hash, first.content_hash);
    assert_eq!(second.created, first.created);
    let history = store.history("ca-require-mfa").await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].body["state"], "enabled");
    assert_eq!(history[0].content_hash, first.content_hash);

    // A description change is a content change too; versions are kept in order.
    let third = store
        .put(ca_policy("disabled").with_description("changed"))
        .await
        .expect("put v3");
    assert_eq!(third.version, 3);
    let versions: Vec<u32> = store
        .history("ca-require-mfa")
        .await
        .expect("history")
        .iter()
        .map(|t| t.version)
        .collect();
    assert_eq!(versions, [1, 2]);

    // get and get_version.
    let current = store
        .get("ca-require-mfa")
        .await
        .expect("get")
        .expect("some");
    assert_eq!(current.version, 3);
    assert_eq!(current.description, "changed");
    let v1 = store
        .get_version("ca-require-mfa", 1)
        .await
        .expect("get_version")
        .expect("v1");
    assert_eq!(v1.body["state"], "enabled");
    let v3 = store
        .get_version("ca-require-mfa", 3)
        .await
        .expect("get_version")
        .expect("v3");
    assert_eq!(v3, current);
    assert!(store
        .get_version("ca-require-mfa", 4)
        .await
        .expect("get_version")
        .is_none());
    assert!(store.get("nothing-here").await.expect("get").is_none());
    assert!(store
        .history("nothing-here")
        .await
        .expect("history")
        .is_empty());

    // list, all and by kind.
    store.put(group()).await.expect("put group");
    let all = store.list(None).await.expect("list");
    assert!(all.unreadable.is_empty(), "{:?}", all.unreadable);
    let ids: Vec<&str> = all.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["ca-require-mfa", "group-break-glass"]);
    let groups = store.list(Some(&TemplateKind::Group)).await.expect("list");
    assert_eq!(groups.templates.len(), 1);
    assert_eq!(groups.templates[0].name, "CA - Break glass");
    let none = store
        .list(Some(&TemplateKind::TransportRule))
        .await
        .expect("list");
    assert!(none.templates.is_empty());

    // Ids that cannot name a file are refused everywhere.
    for bad in ["", "../escape", "a/b", ".hidden"] {
        let err = store
            .put(ca_policy("enabled").with_id(bad))
            .await
            .expect_err("bad id");
        assert!(matches!(err, StoreError::InvalidId { .. }), "{err}");
        assert!(matches!(
            store.get(bad).await,
            Err(StoreError::InvalidId { .. })
        ));
    }

    // Concurrent puts of the same new content store one version.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = group().with_id("concurrent");
            t.name = "Concurrent".into();
            store.put(t).await
        }));
    }
    for task in tasks {
        let t = task.await.expect("join").expect("put");
        assert_eq!(t.version, 1);
    }
    assert!(store
        .history("concurrent")
        .await
        .expect("history")
        .is_empty());

    // delete removes the template and its history; a new put starts again at 1.
    assert!(store.delete("ca-require-mfa").await.expect("delete"));
    assert!(!store.delete("ca-require-mfa").await.expect("delete again"));
    assert!(store.get("ca-require-mfa").await.expect("get").is_none());
    assert!(store
        .history("ca-require-mfa")
        .await
        .expect("history")
        .is_empty());
    assert!(store
        .get_version("ca-require-mfa", 1)
        .await
        .expect("get_version")
        .is_none());
    let reborn = store.put(ca_policy("enabled")).await.expect("put");
    assert_eq!(reborn.version, 1);
}

#[tokio::test]
async fn memory_store_follows_the_contract() {
    contract(Arc::new(MemoryTemplateStore::new())).await;
}

#[tokio::test]
async fn dir_store_follows_the_contract() {
    let tmp = TempDir::new("dir-contract");
    contract(Arc::new(
        DirTemplateStore::open(tmp.path().join("templates")).expect("open"),
    ))
    .await;
}

#[tokio::test]
async fn sqlite_store_follows_the_contract() {
    contract(Arc::new(
        SqliteTemplateStore::open_in_memory().expect("open"),
    ))
    .await;
    let tmp = TempDir::new("sqlite-contract");
    contract(Arc::new(
        SqliteTemplateStore::open(tmp.path().join("templates.db")).expect("open"),
    ))
    .await;
}

#[tokio::test]
async fn dir_files_are_sorted_pretty_and_round_trip() {
    let tmp = TempDir::new("dir-files");
    let store = DirTemplateStore::open(tmp.path()).expect("open");
    let mut attachments = Attachments::default();
    attachments.named_locations.push(json!({
        "displayName": "Head office",
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "ipRanges": [{"cidrAddress": "203.0.113.0/24"}]
    }));
    let stored = store
        .put(
            ca_policy("enabled")
                .with_attachments(attachments)
                .with_source(TemplateSource::Tenant {
                    tenant: "baseline.onmicrosoft.com".into(),
                    object_id: None,
                }),
        )
        .await
        .expect("put");

    let path = store.path_of("ca-require-mfa");
    assert_eq!(path, tmp.path().join("ca-require-mfa.json"));
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.ends_with("}\n"), "trailing newline");
    assert!(!text.ends_with("\n\n"));
    assert!(text.starts_with("{\n  \"attachments\": {\n"), "{text}");
    // Sorted keys at every level: the canonical pretty form of the file is the file.
    let parsed: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(canonical::canonical_pretty(&parsed), text);
    let top: Vec<usize> = [
        "\"attachments\"",
        "\"body\"",
        "\"contentHash\"",
        "\"created\"",
        "\"description\"",
        "\"id\"",
        "\"kind\"",
        "\"name\"",
        "\"source\"",
        "\"updated\"",
        "\"version\"",
    ]
    .iter()
    .map(|k| text.find(&format!("\n  {k}:")).expect(k))
    .collect();
    assert!(top.windows(2).all(|w| w[0] < w[1]), "top-level keys sorted");
    assert!(text.contains("\"kind\": \"conditionalAccess\""));
    // Round trip: the file reads back as the stored template.
    let read: Template = serde_json::from_str(&text).expect("template");
    assert_eq!(read, stored);
    assert_eq!(
        store.get("ca-require-mfa").await.expect("get"),
        Some(stored)
    );

    // A new version moves the old file to the history folder.
    store.put(ca_policy("disabled")).await.expect("put v2");
    let old = tmp.path().join(".history/ca-require-mfa/1.json");
    let old_text = std::fs::read_to_string(&old).expect("history file");
    assert!(old_text.contains("\"state\": \"enabled\""));
    assert!(old_text.contains("\"version\": 1"));
    // No temporary files are left behind.
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_broken_file_is_named_and_the_others_still_list() {
    let tmp = TempDir::new("dir-broken");
    let store = DirTemplateStore::open(tmp.path()).expect("open");
    store.put(ca_policy("enabled")).await.expect("put");
    store.put(group()).await.expect("put");
    std::fs::write(tmp.path().join("broken.json"), "{ \"id\": \"broken\", ").expect("write");
    std::fs::write(
        tmp.path().join("package.json"),
        "{\"name\": \"x\", \"version\": \"1\"}",
    )
    .expect("write");
    let elsewhere = ca_policy("enabled").with_id("somewhere-else");
    std::fs::write(tmp.path().join("renamed.json"), elsewhere.to_pretty_json()).expect("write");
    // Not templates by name: ignored.
    std::fs::write(tmp.path().join("README.md"), "# templates\n").expect("write");
    std::fs::write(tmp.path().join(".x.json.1234.tmp"), "junk").expect("write");
    std::fs::write(tmp.path().join(".hidden.json"), "junk").expect("write");

    let list = store.list(None).await.expect("list");
    let ids: Vec<&str> = list.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["ca-require-mfa", "group-break-glass"]);
    assert_eq!(list.unreadable.len(), 3, "{:?}", list.unreadable);
    let messages: Vec<String> = list.unreadable.iter().map(|e| e.to_string()).collect();
    assert!(matches!(
        list.unreadable[0],
        StoreError::NotATemplate { .. }
    ));
    assert!(messages[0].contains("broken.json"), "{}", messages[0]);
    assert!(messages[1].contains("package.json"), "{}", messages[1]);
    assert!(messages[1].contains("not a template"), "{}", messages[1]);
    assert!(matches!(list.unreadable[2], StoreError::IdMismatch { .. }));
    assert!(messages[2].contains("renamed.json"), "{}", messages[2]);
    assert!(messages[2].contains("somewhere-else"), "{}", messages[2]);

    // get of the broken one is an error naming it; put does not overwrite it.
    let err = store.get("broken").await.expect_err("broken");
    assert!(err.to_string().contains("broken.json"), "{err}");
    let err = store
        .put(group().with_id("broken"))
        .await
        .expect_err("no overwrite");
    assert!(err.to_string().contains("broken.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("broken.json")).expect("read"),
        "{ \"id\": \"broken\", "
    );
}

#[tokio::test]
async fn a_hand_written_file_is_read_with_defaults_and_its_hash() {
    let tmp = TempDir::new("dir-hand");
    let store = DirTemplateStore::open(tmp.path()).expect("open");
    std::fs::write(
        tmp.path().join("block-legacy.json"),
        r#"{
  "id": "block-legacy",
  "kind": "conditionalAccess",
  "name": "Block legacy authentication",
  "body": {"displayName": "Block legacy authentication", "state": "enabled"}
}
"#,
    )
    .expect("write");
    let t = store.get("block-legacy").await.expect("get").expect("some");
    assert_eq!(t.version, 1);
    assert_eq!(t.description, "");
    assert_eq!(t.content_hash, t.compute_hash());
    // Putting the same content keeps it at version 1 (and leaves the file alone).
    let same = store.put(t.clone()).await.expect("put");
    assert_eq!(same.version, 1);
    // An edit in git: the next put of the old content is a change.
    let mut edited = t.clone();
    edited.body["state"] = json!("disabled");
    assert_eq!(store.put(edited).await.expect("put").version, 2);
}

#[tokio::test]
async fn sqlite_store_persists_and_migrates_once() {
    let tmp = TempDir::new("sqlite-file");
    let path = tmp.path().join("templates.db");
    {
        let store = SqliteTemplateStore::open(&path).expect("open");
        store.put(ca_policy("enabled")).await.expect("put");
        store.put(ca_policy("disabled")).await.expect("put");
    }
    let store = SqliteTemplateStore::open(&path).expect("reopen");
    let t = store
        .get("ca-require-mfa")
        .await
        .expect("get")
        .expect("some");
    assert_eq!(t.version, 2);
    assert_eq!(store.history("ca-require-mfa").await.expect("h").len(), 1);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    // Migration 1 (templates) and 2 (standard results) each ran once.
    assert_eq!(version, 2);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        tables,
        [
            "standard_result_history",
            "standard_results",
            "template_history",
            "templates"
        ]
    );

    // A row that is not a template is reported by id; the others still list.
    conn.execute(
        "INSERT INTO templates (id, kind, name, version, content_hash, updated, data)
         VALUES ('bad-row', 'group', 'x', 1, '', '', '{not json')",
        [],
    )
    .expect("insert");
    let list = store.list(None).await.expect("list");
    assert_eq!(list.templates.len(), 1);
    assert_eq!(list.unreadable.len(), 1);
    assert!(list.unreadable[0].to_string().contains("bad-row"));
    assert!(store.get("bad-row").await.is_err());

    // A database from a later version is refused with a clear message.
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(store);
    let err = SqliteTemplateStore::open(&path).expect_err("newer schema");
    assert!(err.to_string().contains("upgrade cipp-templates"), "{err}");
}

// PostgreSQL: 127.0.0.1:5432, database `test`, trust authentication (`CIPP_PG`
// overrides). In CI (`CI=true`) an unreachable server fails the tests; elsewhere they say
// plainly that they were skipped.

fn pg_config() -> String {
    std::env::var("CIPP_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh schema name per test, or `None` when no server is reachable outside CI.
async fn pg_schema() -> Option<String> {
    match tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls).await {
        Ok(_) => Some(format!("cipp_tpl_{}", uuid::Uuid::new_v4().simple())),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but PostgreSQL is unreachable at `{}`: {e}",
                pg_config()
            );
            eprintln!("SKIPPED: no PostgreSQL at `{}` ({e})", pg_config());
            None
        }
    }
}

#[tokio::test]
async fn postgres_store_follows_the_contract() {
    let Some(schema) = pg_schema().await else {
        return;
    };
    let store = PgTemplateStore::connect(&pg_config(), &schema)
        .await
        .expect("connect");
    assert_eq!(store.schema(), schema);
    contract(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_workers_share_templates_and_never_reuse_a_version() {
    let Some(schema) = pg_schema().await else {
        return;
    };
    // Two workers connect to the same schema at once: the migration runs once.
    let config = pg_config();
    let (a, b) = tokio::join!(
        PgTemplateStore::connect(&config, &schema),
        PgTemplateStore::connect(&config, &schema)
    );
    let (a, b) = (
        Arc::new(a.expect("connect a")),
        Arc::new(b.expect("connect b")),
    );

    // Both store new content for the same id at the same time, 20 times each.
    let put_many = |store: Arc<PgTemplateStore>, worker: &'static str| async move {
        for i in 0..20 {
            let mut t = ca_policy("enabled");
            t.description = format!("{worker} {i}");
            store.put(t).await.expect("put");
        }
    };
    tokio::join!(put_many(a.clone(), "a"), put_many(b.clone(), "b"));

    let current = b.get("ca-require-mfa").await.expect("get").expect("stored");
    assert_eq!(current.version, 40, "every put made its own version");
    let history = a.history("ca-require-mfa").await.expect("history");
    let versions: Vec<u32> = history.iter().map(|t| t.version).collect();
    assert_eq!(versions, (1..40).collect::<Vec<u32>>());

    // The schema version table holds one row: both migrations ran once.
    let (client, conn) = tokio_postgres::connect(&pg_config(), tokio_postgres::NoTls)
        .await
        .expect("raw connect");
    tokio::spawn(conn);
    let rows = client
        .query(
            &format!("SELECT version FROM {schema}.cipp_template_schema_version"),
            &[],
        )
        .await
        .expect("schema version");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 2);

    // A corrupt row is named by `list` and does not hide the others; `get` refuses it.
    b.put(group()).await.expect("put group");
    client
        .execute(
            &format!(
                "UPDATE {schema}.templates SET data = '{{\"not\": \"a template\"}}' \
                 WHERE id = 'ca-require-mfa'"
            ),
            &[],
        )
        .await
        .expect("corrupt");
    let list = a.list(None).await.expect("list");
    assert_eq!(list.templates.len(), 1);
    assert_eq!(list.templates[0].id, "group-break-glass");
    assert_eq!(list.unreadable.len(), 1);
    assert!(
        list.unreadable[0].to_string().contains("ca-require-mfa"),
        "{}",
        list.unreadable[0]
    );
    assert!(matches!(
        a.get("ca-require-mfa").await,
        Err(StoreError::Corrupt { .. })
    ));
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
}

#[tokio::test]
async fn postgres_store_refuses_a_bad_schema_and_hides_the_password() {
    // Refused before any connection is tried.
    let err = PgTemplateStore::connect("host=127.0.0.1", "x; DROP TABLE users")
        .await
        .expect_err("bad schema");
    assert!(err.to_string().contains("not a schema name"), "{err}");
    let err = PgTemplateStore::connect("host=127.0.0.1 port=notaport", "ok")
        .await
        .expect_err("bad config");
    assert!(err.to_string().contains("connection string"), "{err}");

    let Some(schema) = pg_schema().await else {
        return;
    };
    let store = PgTemplateStore::connect(&format!("{} password=hunter2", pg_config()), &schema)
        .await
        .expect("connect (trust ignores the password)");
    let debug = format!("{store:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(&schema), "{debug}");
}
