//! A small durable key-value store with compare-and-swap, for state that must survive
//! restarts and stay consistent across several workers: an audit-log ingestion cursor per
//! tenant (the last time covered and the record ids seen in the overlap window), the last
//! value an alert saw (a tenant's MX records), and the like.
//!
//! Values are JSON ([`Value`]), kept per (namespace, key) with a version that starts at 1
//! and grows by one at each write. A write names the version it read
//! ([`KvStore::put`]'s `expected_version`; `None` when the key must not exist yet) and
//! succeeds only if that is still the current version, atomically: of two workers racing
//! on one key with the same expected version, exactly one wins and the other gets a
//! [`Conflict`] holding the current value, to merge with and try again.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_scheduler::SchedulerError> {
//! use cipp_scheduler::kv::{KvStore, MemoryKv};
//! use serde_json::json;
//!
//! let kv = MemoryKv::new();
//! let cursor = json!({"until": "2026-01-01T09:00:00Z", "seen": ["a1", "a2"]});
//! // Created: version 1.
//! assert_eq!(kv.put("audit-cursor", "contoso.com", &cursor, None).await?, Ok(1));
//! // Read, then write back naming the version read.
//! let read = kv.get("audit-cursor", "contoso.com").await?.expect("stored");
//! let next = json!({"until": "2026-01-01T09:15:00Z", "seen": ["a3"]});
//! assert_eq!(kv.put("audit-cursor", "contoso.com", &next, Some(read.version)).await?, Ok(2));
//! // A worker still holding version 1 loses, and sees what won.
//! let lost = kv.put("audit-cursor", "contoso.com", &cursor, Some(1)).await?.unwrap_err();
//! assert_eq!(lost.current.map(|c| c.value), Some(next));
//! # Ok(()) }
//! ```
//!
//! Implemented in memory ([`MemoryKv`]); by `sqlite::SqliteStore` (feature `sqlite`), in an
//! IMMEDIATE transaction per write; and by `postgres::PgStore` (feature `postgres`), with
//! `INSERT … ON CONFLICT DO NOTHING` to create and `UPDATE … WHERE version = n` to replace;
//! both in a `kv` table.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::SchedulerError;

/// The largest value accepted: 1 MiB of serialized JSON.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The longest namespace or key accepted, in bytes (UTF-8).
pub const MAX_NAME_BYTES: usize = 1024;

/// A stored value with its version and when it was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// Its version: 1 when created, one more at each write. Pass it as `expected_version`
    /// to [`KvStore::put`] to replace this value.
    pub version: u64,
    /// When this version was written (microsecond precision).
    pub updated: DateTime<Utc>,
}

/// A write refused because the key was not at the expected version; nothing was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// What the key holds now (`None`: it does not exist — create it with
    /// `expected_version: None`).
    pub current: Option<Versioned>,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.current {
            Some(c) => write!(
                f,
                "the value was changed by someone else (it is now at version {}); read it \
                 again, merge and write with that version",
                c.version
            ),
            None => write!(
                f,
                "the value does not exist (it was deleted or never created); create it with \
                 no expected version"
            ),
        }
    }
}

impl std::error::Error for Conflict {}

/// Where versioned JSON values live, per (namespace, key).
///
/// Every store applies the same rules: namespaces and keys are 1 to [`MAX_NAME_BYTES`]
/// bytes without NUL characters, values at most [`MAX_VALUE_BYTES`] of serialized JSON
/// (otherwise [`SchedulerError::Invalid`] naming the field); names are case-sensitive.
/// `postgres::PgStore` (feature `postgres`) also refuses values with a NUL character
/// (`\u0000`) in a string, which PostgreSQL's `jsonb` cannot hold.
#[async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// The value of `key` in `namespace`, with its version, or `None` when there is none.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Versioned>, SchedulerError>;

    /// Writes `value` if `key` is at `expected_version` (`None`: it must not exist yet) and
    /// returns the new version (1 for a new key), in `Ok(Ok(_))`. Otherwise nothing is
    /// written and the answer is `Ok(Err(Conflict))` with the current value. Atomic: of
    /// several writers expecting the same version, exactly one succeeds.
    ///
    /// A deleted key starts again at version 1 when created anew, so a writer that read
    /// version 1 before the deletion can replace the new value: namespaces whose keys
    /// are deleted and re-created should keep their own generation in the value if that
    /// matters.
    async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &Value,
        expected_version: Option<u64>,
    ) -> Result<Result<u64, Conflict>, SchedulerError>;

    /// Deletes `key` in `namespace` (nothing happens when there is none).
    async fn delete(&self, namespace: &str, key: &str) -> Result<(), SchedulerError>;

    /// Every key of `namespace` with its value, by key (byte order).
    async fn list(&self, namespace: &str) -> Result<Vec<(String, Versioned)>, SchedulerError>;
}

/// Refuses an empty, over-long or NUL-containing namespace or key (`field` names which).
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), SchedulerError> {
    if name.is_empty() {
        return Err(SchedulerError::Invalid(format!(
            "the key-value {field} is empty; give it a name"
        )));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(SchedulerError::Invalid(format!(
            "the key-value {field} is {} bytes long, over the limit of {MAX_NAME_BYTES}; \
             use a shorter name (a hash of a long one, for example)",
            name.len()
        )));
    }
    if name.contains('\0') {
        return Err(SchedulerError::Invalid(format!(
            "the key-value {field} `{}` contains a NUL character; remove it",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Checks a namespace and a key.
pub(crate) fn check_key(namespace: &str, key: &str) -> Result<(), SchedulerError> {
    check_name("namespace", namespace)?;
    check_name("key", key)
}

/// The serialized value, refused when over [`MAX_VALUE_BYTES`].
pub(crate) fn encode(namespace: &str, key: &str, value: &Value) -> Result<String, SchedulerError> {
    let text = serde_json::to_string(value).map_err(|e| {
        SchedulerError::Invalid(format!(
            "the key-value value of {namespace}/{key} does not serialize: {e}"
        ))
    })?;
    if text.len() > MAX_VALUE_BYTES {
        return Err(SchedulerError::Invalid(format!(
            "the key-value value of {namespace}/{key} is {} bytes of JSON, over the limit of \
             {MAX_VALUE_BYTES} (1 MiB); store less (for example only the ids of an overlap \
             window, or split it over several keys)",
            text.len()
        )));
    }
    Ok(text)
}

/// The time a write records: now, to the microsecond (what PostgreSQL keeps).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The version after `v` (a version that cannot grow is an error, not a wrap).
pub(crate) fn next_version(namespace: &str, key: &str, v: u64) -> Result<u64, SchedulerError> {
    v.checked_add(1)
        .filter(|n| i64::try_from(*n).is_ok())
        .ok_or_else(|| {
            SchedulerError::Store(format!(
                "the key-value version of {namespace}/{key} cannot grow past {v}; delete the key \
                 and create it anew"
            ))
        })
}

/// A stored row that does not read back: an error naming it, so it can be fixed or
/// deleted by hand.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn corrupt(namespace: &str, key: &str, e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError::Store(format!(
        "the stored key-value entry {namespace}/{key} is not valid ({e}); delete that row of \
         the kv table (namespace `{namespace}`, key `{key}`) and write it again"
    ))
}

/// A stored version (a positive 64-bit integer) as a [`Versioned::version`].
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn stored_version(namespace: &str, key: &str, v: i64) -> Result<u64, SchedulerError> {
    u64::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| corrupt(namespace, key, format!("version {v} is not positive")))
}

/// A version as stored (a 64-bit signed integer).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn db_version(namespace: &str, key: &str, v: u64) -> Result<i64, SchedulerError> {
    i64::try_from(v).map_err(|_| {
        SchedulerError::Store(format!(
            "the key-value version {v} of {namespace}/{key} is too large to store"
        ))
    })
}

type Namespaces = BTreeMap<String, BTreeMap<String, Versioned>>;

/// Values in memory (tests, one process): lost when dropped.
#[derive(Debug, Default)]
pub struct MemoryKv {
    inner: Mutex<Namespaces>,
}

impl MemoryKv {
    /// Empty.
    pub fn new() -> Self {
        MemoryKv::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Namespaces> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl KvStore for MemoryKv {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Versioned>, SchedulerError> {
        check_key(namespace, key)?;
        Ok(self.lock().get(namespace).and_then(|n| n.get(key)).cloned())
    }

    async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &Value,
        expected_version: Option<u64>,
    ) -> Result<Result<u64, Conflict>, SchedulerError> {
        check_key(namespace, key)?;
        encode(namespace, key, value)?;
        let mut g = self.lock();
        let current = g.get(namespace).and_then(|n| n.get(key));
        let version = match (current, expected_version) {
            (None, None) => 1,
            (Some(c), Some(e)) if c.version == e => next_version(namespace, key, e)?,
            (current, _) => {
                return Ok(Err(Conflict {
                    current: current.cloned(),
                }))
            }
        };
        g.entry(namespace.to_owned()).or_default().insert(
            key.to_owned(),
            Versioned {
                value: value.clone(),
                version,
                updated: now(),
            },
        );
        Ok(Ok(version))
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), SchedulerError> {
        check_key(namespace, key)?;
        let mut g = self.lock();
        if let Some(n) = g.get_mut(namespace) {
            n.remove(key);
            if n.is_empty() {
                g.remove(namespace);
            }
        }
        Ok(())
    }

    async fn list(&self, namespace: &str) -> Result<Vec<(String, Versioned)>, SchedulerError> {
        check_name("namespace", namespace)?;
        Ok(self
            .lock()
            .get(namespace)
            .map(|n| n.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}
