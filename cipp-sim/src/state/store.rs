//! The generic collection store: Graph objects kept as JSON, found by `id`
//! (case-insensitively), with a deleted-items side for resources Graph soft-deletes.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use serde_json::Value;

/// One Graph collection: live items in order, and soft-deleted ones (with
/// `deletedDateTime`) where Graph keeps them in `directory/deletedItems`.
///
/// A `Collection` dereferences to its live items, so `iter()`, indexing and `len()` work
/// as on a slice; [`Collection::insert`] adds an item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collection {
    items: Vec<Value>,
    deleted: Vec<Value>,
}

/// An empty collection, for reads of a collection that was never written.
static EMPTY: Collection = Collection {
    items: Vec::new(),
    deleted: Vec::new(),
};

fn has_id(v: &Value, id: &str) -> bool {
    v.get("id")
        .and_then(Value::as_str)
        .is_some_and(|x| x.eq_ignore_ascii_case(id))
}

impl Collection {
    /// A collection holding `items`.
    pub fn new(items: Vec<Value>) -> Self {
        Collection {
            items,
            deleted: Vec::new(),
        }
    }

    /// The live items.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// The live items, to change, add or remove freely.
    pub fn items_mut(&mut self) -> &mut Vec<Value> {
        &mut self.items
    }

    /// The soft-deleted items.
    pub fn deleted(&self) -> &[Value] {
        &self.deleted
    }

    /// The soft-deleted items, to change.
    pub fn deleted_mut(&mut self) -> &mut Vec<Value> {
        &mut self.deleted
    }

    /// Adds an item at the end.
    pub fn insert(&mut self, item: Value) {
        self.items.push(item);
    }

    /// Replaces all live items.
    pub fn replace_all(&mut self, items: Vec<Value>) {
        self.items = items;
    }

    /// The position of the live item with this `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|v| has_id(v, id))
    }

    /// The live item with this `id`.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.items.iter().find(|v| has_id(v, id))
    }

    /// The live item with this `id`, mutably.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.items.iter_mut().find(|v| has_id(v, id))
    }

    /// Removes the live item with this `id` for good.
    pub fn remove(&mut self, id: &str) -> Option<Value> {
        let i = self.position(id)?;
        Some(self.items.remove(i))
    }

    /// Moves the live item with this `id` to the deleted items, stamped `deletedDateTime`.
    pub fn soft_delete(&mut self, id: &str, at: &str) -> Option<&Value> {
        let mut item = self.remove(id)?;
        item["deletedDateTime"] = Value::String(at.to_owned());
        self.deleted.push(item);
        self.deleted.last()
    }

    /// The deleted item with this `id`.
    pub fn get_deleted(&self, id: &str) -> Option<&Value> {
        self.deleted.iter().find(|v| has_id(v, id))
    }

    /// Takes the deleted item with this `id` out of the deleted items (restore or purge).
    pub fn take_deleted(&mut self, id: &str) -> Option<Value> {
        let i = self.deleted.iter().position(|v| has_id(v, id))?;
        Some(self.deleted.remove(i))
    }

    /// Moves a deleted item back to the live items, without `deletedDateTime`.
    pub fn restore(&mut self, id: &str) -> Option<&Value> {
        let mut item = self.take_deleted(id)?;
        if let Value::Object(m) = &mut item {
            m.remove("deletedDateTime");
        }
        self.items.push(item);
        self.items.last()
    }
}

impl Deref for Collection {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.items
    }
}

impl DerefMut for Collection {
    fn deref_mut(&mut self) -> &mut [Value] {
        &mut self.items
    }
}

impl<'a> IntoIterator for &'a Collection {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Vec<Value>> for Collection {
    fn from(items: Vec<Value>) -> Self {
        Collection::new(items)
    }
}

/// An area's collections by path (lower case, after the API version: `groups`,
/// `identity/conditionalaccess/namedlocations`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Store {
    collections: BTreeMap<String, Collection>,
}

impl Store {
    /// The collection at `path` (empty when never written).
    pub fn get(&self, path: &str) -> &Collection {
        self.collections
            .get(&path.to_ascii_lowercase())
            .unwrap_or(&EMPTY)
    }

    /// The collection at `path`, created when missing.
    pub fn get_mut(&mut self, path: &str) -> &mut Collection {
        self.collections
            .entry(path.to_ascii_lowercase())
            .or_default()
    }

    /// The paths that hold a collection.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.collections.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn soft_delete_restore_and_purge() {
        let mut c = Collection::new(vec![json!({"id": "A"}), json!({"id": "b"})]);
        assert_eq!(c.get("a"), Some(&json!({"id": "A"})));
        assert!(c.soft_delete("a", "2026-01-01T00:00:00Z").is_some());
        assert_eq!(c.len(), 1);
        assert_eq!(
            c.get_deleted("A").unwrap()["deletedDateTime"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(c.restore("a").unwrap(), &json!({"id": "A"}));
        assert!(c.deleted().is_empty());
        c.soft_delete("b", "t");
        assert!(c.take_deleted("b").is_some());
        assert!(c.restore("b").is_none());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_store_reads_missing_collections_as_empty() {
        let mut s = Store::default();
        assert!(s.get("Groups").is_empty());
        s.get_mut("Groups").insert(json!({"id": "x"}));
        assert_eq!(s.get("groups").len(), 1);
        assert_eq!(s.paths().collect::<Vec<_>>(), ["groups"]);
    }
}
