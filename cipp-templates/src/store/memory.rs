//! Templates in memory (tests, short-lived tools).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;

use super::{check_id, lock, plan_put, PutPlan, StoreError, TemplateList, TemplateStore};
use crate::template::{Template, TemplateKind};

#[derive(Debug)]
struct Entry {
    current: Template,
    /// Previous versions, oldest first.
    history: Vec<Template>,
}

/// Templates in memory, lost when dropped.
#[derive(Debug, Default)]
pub struct MemoryTemplateStore {
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl MemoryTemplateStore {
    /// An empty store.
    pub fn new() -> MemoryTemplateStore {
        MemoryTemplateStore::default()
    }
}

#[async_trait]
impl TemplateStore for MemoryTemplateStore {
    async fn put(&self, template: Template) -> Result<Template, StoreError> {
        check_id(&template.id)?;
        let mut entries = lock(&self.entries);
        let existing = entries.get(&template.id).map(|e| e.current.clone());
        let plan = plan_put(existing, template, Utc::now())?;
        if let PutPlan::Write { new, previous } = &plan {
            match entries.get_mut(&new.id) {
                Some(entry) => {
                    if let Some(p) = previous {
                        entry.history.push(Template::clone(p));
                    }
                    entry.current = new.clone();
                }
                None => {
                    entries.insert(
                        new.id.clone(),
                        Entry {
                            current: new.clone(),
                            history: Vec::new(),
                        },
                    );
                }
            }
        }
        Ok(plan.result())
    }

    async fn get(&self, id: &str) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        Ok(lock(&self.entries).get(id).map(|e| e.current.clone()))
    }

    async fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let entries = lock(&self.entries);
        let Some(entry) = entries.get(id) else {
            return Ok(None);
        };
        if entry.current.version == version {
            return Ok(Some(entry.current.clone()));
        }
        Ok(entry.history.iter().find(|t| t.version == version).cloned())
    }

    async fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError> {
        let templates = lock(&self.entries)
            .values()
            .filter(|e| kind.is_none_or(|k| &e.current.kind == k))
            .map(|e| e.current.clone())
            .collect();
        Ok(TemplateList {
            templates,
            unreadable: Vec::new(),
        })
    }

    async fn history(&self, id: &str) -> Result<Vec<Template>, StoreError> {
        check_id(id)?;
        Ok(lock(&self.entries)
            .get(id)
            .map(|e| e.history.clone())
            .unwrap_or_default())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        check_id(id)?;
        Ok(lock(&self.entries).remove(id).is_some())
    }
}
