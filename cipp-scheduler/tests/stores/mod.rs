//! Store fixtures shared by the scheduler's store tests: PostgreSQL at 127.0.0.1:5432
//! (database `test`, trust authentication; `CIPP_PG` overrides) with a fresh schema per
//! test — in CI (`CI=true`) an unreachable server fails the test, elsewhere it is skipped
//! and says so — and a temporary directory for SQLite files.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn config() -> String {
    std::env::var("CIPP_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh schema per test, or `None` when no server is reachable outside CI.
pub async fn schema() -> Option<String> {
    let name = format!("cipp_t_{}", uuid::Uuid::new_v4().simple());
    match tokio_postgres::connect(&config(), tokio_postgres::NoTls).await {
        Ok(_) => Some(name),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but PostgreSQL is unreachable at `{}`: {e}",
                    config()
                );
            }
            eprintln!(
                "SKIPPED: no PostgreSQL at `{}` ({e}); set CI=true to make this a failure",
                config()
            );
            None
        }
    }
}

/// A plain client with `search_path` set to `schema`.
pub async fn raw_client(schema: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&config(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .expect("search_path");
    client
}

pub async fn drop_schema(schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(&config(), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    }
}

/// A fresh directory for a SQLite file, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("cipp-scheduler-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    pub fn db(&self) -> PathBuf {
        self.0.join("scheduler.sqlite")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
