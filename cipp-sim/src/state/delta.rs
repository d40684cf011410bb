//! Change tracking for delta queries: numbered snapshots of a tenant's users and groups.
//!
//! Each delta query served records what the directory holds now (users, groups, their
//! members, and which objects sit in the recycle bin) as snapshot *n*, and hands out a
//! delta link naming *n*. The next query on that link answers the difference between
//! snapshot *n* and the state then — whatever made the change (a Graph write, an
//! Exchange cmdlet, a test editing the state directly), nothing is missed and no handler
//! needs a hook. A tenant keeps its last [`DeltaTracker::KEEP`] snapshots; an older link,
//! or every link after [`DeltaTracker::expire`], answers `syncStateNotFound` as an expired
//! Graph delta link does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::areas::Directory;

/// What the directory held when a delta query was served.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Live users by id (lower case).
    pub users: BTreeMap<String, Value>,
    /// Ids of users in the recycle bin.
    pub deleted_users: BTreeSet<String>,
    /// Live groups by id (lower case).
    pub groups: BTreeMap<String, Value>,
    /// Ids of groups in the recycle bin.
    pub deleted_groups: BTreeSet<String>,
    /// Group id → member ids (lower case), sorted.
    pub members: BTreeMap<String, Vec<String>>,
    /// Member id → its `@odata.type`.
    pub types: BTreeMap<String, String>,
}

fn id(v: &Value) -> Option<String> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

impl Snapshot {
    /// The directory as it is now.
    pub fn of(directory: &Directory) -> Snapshot {
        let mut s = Snapshot::default();
        for u in directory.users().iter() {
            if let Some(i) = id(u) {
                s.types.insert(i.clone(), "#microsoft.graph.user".into());
                s.users.insert(i, u.clone());
            }
        }
        s.deleted_users = directory.users().deleted().iter().filter_map(id).collect();
        for g in directory.groups().iter() {
            if let Some(i) = id(g) {
                s.types.insert(i.clone(), "#microsoft.graph.group".into());
                s.groups.insert(i, g.clone());
            }
        }
        s.deleted_groups = directory.groups().deleted().iter().filter_map(id).collect();
        for sp in directory.service_principals().iter() {
            if let Some(i) = id(sp) {
                s.types
                    .entry(i)
                    .or_insert_with(|| "#microsoft.graph.servicePrincipal".into());
            }
        }
        for (g, members) in &directory.members {
            let mut m: Vec<String> = members.iter().map(|x| x.to_ascii_lowercase()).collect();
            m.sort();
            m.dedup();
            s.members.insert(g.to_ascii_lowercase(), m);
        }
        s
    }

    /// The `@odata.type` of a member (a directory object when unknown).
    pub fn type_of(&self, id: &str) -> &str {
        self.types
            .get(&id.to_ascii_lowercase())
            .map_or("#microsoft.graph.directoryObject", String::as_str)
    }
}

/// A tenant's delta snapshots, numbered from 1.
#[derive(Clone, Debug, Default)]
pub struct DeltaTracker {
    last: u64,
    snapshots: BTreeMap<u64, Snapshot>,
}

impl DeltaTracker {
    /// How many snapshots a tenant keeps (older delta links have expired).
    pub const KEEP: usize = 64;

    /// Records `snapshot` and returns its number; the same state as the latest snapshot
    /// keeps that number (polling an unchanged tenant does not use up snapshots).
    pub fn record(&mut self, snapshot: Snapshot) -> u64 {
        if let Some((n, latest)) = self.snapshots.iter().next_back() {
            if *latest == snapshot {
                return *n;
            }
        }
        self.last += 1;
        self.snapshots.insert(self.last, snapshot);
        while self.snapshots.len() > Self::KEEP {
            self.snapshots.pop_first();
        }
        self.last
    }

    /// Snapshot `n`, while it is kept.
    pub fn get(&self, n: u64) -> Option<&Snapshot> {
        self.snapshots.get(&n)
    }

    /// Forgets every snapshot: every delta link handed out so far answers
    /// `syncStateNotFound` (as after seven days in Microsoft Graph).
    pub fn expire(&mut self) {
        self.snapshots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unchanged_state_keeps_its_number_and_old_snapshots_expire() {
        let mut d = Directory::default();
        d.users_mut().insert(json!({"id": "A", "displayName": "a"}));
        let mut t = DeltaTracker::default();
        let one = t.record(Snapshot::of(&d));
        assert_eq!(t.record(Snapshot::of(&d)), one);
        for i in 0..DeltaTracker::KEEP {
            d.users_mut()[0]["displayName"] = json!(i);
            t.record(Snapshot::of(&d));
        }
        assert!(t.get(one).is_none(), "the first snapshot has expired");
        assert!(t.get(one + 1).is_some());
        t.expire();
        assert!(t.get(one + 1).is_none());
    }
}
