//! Where templates live, with their history.
//!
//! [`TemplateStore`] is the contract; every store follows the same rules, written once in
//! this module:
//!
//! - [`TemplateStore::put`] computes the content hash ([`Template::compute_hash`]) and
//!   compares it with the stored template's (recomputed too, so a hand-edited file counts
//!   as what it now says). The same content stores nothing and returns the stored template
//!   as it is (version, timestamps and source unchanged). New content becomes version
//!   *n + 1*, the previous version moves to the history, `created` is kept and `updated`
//!   set to now. An id the store has not seen starts at version 1 (`created` = `updated` =
//!   now). The version, hash and timestamps of the template passed in are ignored: the
//!   store owns them.
//! - [`TemplateStore::delete`] removes the template **and its history**; a later `put` of
//!   the same id starts again at version 1. Keep a copy of [`TemplateStore::history`]
//!   first if you need it (or keep the directory store's folder in git).
//! - [`TemplateStore::list`] returns the templates it can read, ordered by id, and one
//!   error for each stored entry it cannot read ([`TemplateList::unreadable`], naming the
//!   file or row): one broken file does not hide the others. [`TemplateStore::get`] of a
//!   broken entry is an error.
//! - Ids must satisfy [`crate::template::is_valid_id`] ([`StoreError::InvalidId`]).
//!
//! Stores: [`MemoryTemplateStore`]; [`DirTemplateStore`] (a folder of JSON files to keep
//! in git); `SqliteTemplateStore` (feature `sqlite`); `PgTemplateStore` (feature `postgres`, shared
//! by several workers).

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::template::{is_valid_id, Template, TemplateKind};

mod dir;
mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

pub use dir::DirTemplateStore;
pub use memory::MemoryTemplateStore;
#[cfg(feature = "postgres")]
pub use postgres::PgTemplateStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteTemplateStore;

/// Why a store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The id cannot name a template.
    #[error(
        "invalid template id {id:?}: use 1 to 128 ASCII letters, digits, '-', '_' or '.', \
         not starting with '.'"
    )]
    InvalidId {
        /// The id refused.
        id: String,
    },
    /// A file in a directory store is not a template.
    #[error(
        "{}: not a template ({reason}); fix the file or move it out of the store's folder \
         (every *.json file there is read as a template)",
        path.display()
    )]
    NotATemplate {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// A file in a directory store holds a template whose id is not its file name.
    #[error(
        "{}: holds template id {found:?} but the file name says {expected:?}; rename the \
         file to {found}.json or set its \"id\" to {expected:?}",
        path.display()
    )]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id its name gives.
        expected: String,
        /// The id it holds.
        found: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A database row holds data that is not a template.
    #[error(
        "stored template {id:?} ({location}) cannot be read: {reason}; delete it or restore \
         it from a backup"
    )]
    Corrupt {
        /// The template's id.
        id: String,
        /// Where (table and version).
        location: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The database failed.
    #[error("template database: {0}")]
    Database(String),
    /// The version counter of a template is exhausted (after 4 billion changes).
    #[error("template {id:?} is at the last version number; delete it and store it again")]
    VersionOverflow {
        /// The template's id.
        id: String,
    },
    /// The blocking task running a store call failed (it panicked or the runtime is
    /// shutting down).
    #[error("the template store's background task failed: {0}")]
    Task(String),
}

/// What [`TemplateStore::list`] returns: the templates read, and the entries that could
/// not be read.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct TemplateList {
    /// The templates, ordered by id.
    pub templates: Vec<Template>,
    /// One error per stored entry that could not be read (naming the file or row).
    pub unreadable: Vec<StoreError>,
}

/// Template storage with history. See the [module docs](self) for the rules every store
/// follows.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Stores `template` and returns it as stored, with its version, hash and timestamps:
    /// the stored template unchanged when its content is the same, otherwise a new version
    /// (the previous one moved to the history).
    async fn put(&self, template: Template) -> Result<Template, StoreError>;
    /// The current version of a template.
    async fn get(&self, id: &str) -> Result<Option<Template>, StoreError>;
    /// One version of a template: the current one or one from its history.
    async fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError>;
    /// Every template (of `kind`, when given), ordered by id.
    async fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError>;
    /// A template's previous versions, oldest first (the current one is not included;
    /// empty for an unknown id).
    async fn history(&self, id: &str) -> Result<Vec<Template>, StoreError>;
    /// Deletes a template and its history; `false` when there was no such template.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
}

/// What `put` does, decided in one place for every store.
#[derive(Debug)]
pub(crate) enum PutPlan {
    /// Same content: return the stored template, write nothing.
    Unchanged(Template),
    /// Write `new` as current; move `previous` (if any) to the history.
    Write {
        new: Template,
        previous: Option<Box<Template>>,
    },
}

impl PutPlan {
    /// The template `put` returns.
    pub(crate) fn result(self) -> Template {
        match self {
            PutPlan::Unchanged(t) | PutPlan::Write { new: t, .. } => t,
        }
    }
}

/// The put rule: compare hashes, set version and timestamps.
pub(crate) fn plan_put(
    existing: Option<Template>,
    mut incoming: Template,
    now: DateTime<Utc>,
) -> Result<PutPlan, StoreError> {
    incoming.refresh_hash();
    match existing {
        None => {
            incoming.version = 1;
            incoming.created = now;
            incoming.updated = now;
            Ok(PutPlan::Write {
                new: incoming,
                previous: None,
            })
        }
        Some(mut current) => {
            current.refresh_hash();
            if current.content_hash == incoming.content_hash {
                return Ok(PutPlan::Unchanged(current));
            }
            incoming.version =
                current
                    .version
                    .checked_add(1)
                    .ok_or_else(|| StoreError::VersionOverflow {
                        id: current.id.clone(),
                    })?;
            incoming.created = current.created;
            incoming.updated = now;
            Ok(PutPlan::Write {
                new: incoming,
                previous: Some(Box::new(current)),
            })
        }
    }
}

/// Refuses ids that cannot name a template.
pub(crate) fn check_id(id: &str) -> Result<(), StoreError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(StoreError::InvalidId { id: id.to_owned() })
    }
}

/// Runs blocking store work on Tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Locks a std mutex, taking over a poisoned one (the data it guards is written whole or
/// not at all).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
