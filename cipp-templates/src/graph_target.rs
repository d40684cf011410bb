//! Where a template of an open kind ([`TemplateKind::Other`]) is deployed: a
//! [`GraphTarget`] — a Graph collection relative to the Graph root with its API version
//! (`beta/deviceManagement/deviceEnrollmentConfigurations`) and the property that names
//! its objects (default `displayName`).
//!
//! The target travels in the template's attachments (`attachments.extra.graphTarget`,
//! `{"collection": …, "nameProperty": …}`), so it is part of the content hash and of every
//! store's file format without a new field. [`Template::with_graph_target`] sets it and
//! [`Template::graph_target`] reads it back, checked.
//!
//! A target is checked strictly before anything is sent: the collection with
//! [`cipp_graph::collections::CollectionPath::parse`] (relative, no scheme or host, no `..`,
//! no query, only letters, digits, `-`, `_` and `.` per segment, `beta/` or `v1.0/` first)
//! and the name property as a plain property name. A template of kind `Other` without a
//! target is planned as not deployable, with the reason ([`TargetError::Missing`]); nothing
//! is sent for it.
//!
//! ```
//! use cipp_templates::graph_target::GraphTarget;
//! use cipp_templates::template::{Template, TemplateKind};
//! use serde_json::json;
//! let t = Template::new(
//!     TemplateKind::Other("enrollmentLimit".into()),
//!     "Device limit 5",
//!     json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
//!            "displayName": "Device limit 5", "limit": 5}),
//! )
//! .with_graph_target(GraphTarget::new("beta/deviceManagement/deviceEnrollmentConfigurations")?);
//! let target = t.graph_target()?.expect("a target");
//! assert_eq!(target.name_property, "displayName");
//! assert!(GraphTarget::new("https://graph.microsoft.com/beta/users").is_err());
//! # Ok::<(), cipp_templates::graph_target::TargetError>(())
//! ```

use cipp_graph::collections::CollectionPath;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template::{Template, TemplateKind};

/// The key in [`crate::template::Attachments::extra`] that holds a template's target.
pub const TARGET_KEY: &str = "graphTarget";

/// The name property when a target does not say.
pub const DEFAULT_NAME_PROPERTY: &str = "displayName";

fn default_name_property() -> String {
    DEFAULT_NAME_PROPERTY.to_owned()
}

/// A Graph collection to deploy an open-kind template to, and the property that names its
/// objects (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GraphTarget {
    /// The collection relative to the Graph root, with its version
    /// (`beta/deviceManagement/deviceEnrollmentConfigurations`).
    pub collection: String,
    /// The top-level property holding an object's name, which plans match by when no
    /// binding says which object it is (default `displayName`).
    #[serde(default = "default_name_property")]
    pub name_property: String,
}

/// Why a template's target cannot be used. Nothing is sent for such a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// A template of kind `Other` without a target.
    #[error(
        "not deployable: a template of kind \"{kind}\" is deployed only to a Graph target it \
         carries (attachments.extra.graphTarget: a collection such as \
         beta/deviceManagement/deviceEnrollmentConfigurations and its name property); this \
         one has none, so nothing is sent — add a target with Template::with_graph_target"
    )]
    Missing {
        /// The template's kind.
        kind: String,
    },
    /// The target is not `{"collection": "...", "nameProperty": "..."}`.
    #[error(
        "not deployable: the template's graphTarget cannot be read ({message}); write it as \
         {{\"collection\": \"beta/…\", \"nameProperty\": \"displayName\"}}"
    )]
    Malformed {
        /// Why.
        message: String,
    },
    /// The collection path is not a safe Graph collection path.
    #[error("not deployable: {message}")]
    InvalidCollection {
        /// What is wrong and what to write (from [`CollectionPath::parse`]).
        message: String,
    },
    /// The name property is not a plain property name.
    #[error(
        "not deployable: the name property `{property}` is not a property name (letters, \
         digits and _, starting with a letter, at most 128)"
    )]
    InvalidNameProperty {
        /// The property as given (shortened).
        property: String,
    },
}

fn check_property(p: &str) -> Result<(), TargetError> {
    let ok = !p.is_empty()
        && p.len() <= 128
        && p.starts_with(|c: char| c.is_ascii_alphabetic())
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(TargetError::InvalidNameProperty {
            property: p.chars().take(80).collect(),
        })
    }
}

impl GraphTarget {
    /// A target on `collection` whose objects are named by `displayName`, checked.
    pub fn new(collection: impl Into<String>) -> Result<GraphTarget, TargetError> {
        let t = GraphTarget {
            collection: collection.into(),
            name_property: default_name_property(),
        };
        t.collection_path()?;
        Ok(t)
    }

    /// The same target with objects named by `property` (checked).
    pub fn with_name_property(
        mut self,
        property: impl Into<String>,
    ) -> Result<GraphTarget, TargetError> {
        let p = property.into();
        check_property(&p)?;
        self.name_property = p;
        Ok(self)
    }

    /// The checked collection path (and the name property checked too).
    pub fn collection_path(&self) -> Result<CollectionPath, TargetError> {
        check_property(&self.name_property)?;
        CollectionPath::parse(&self.collection).map_err(|e| TargetError::InvalidCollection {
            message: match e {
                cipp_core::Error::InvalidInput { message, .. } => message,
                other => other.to_string(),
            },
        })
    }

    /// The target as stored in the attachments.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "collection": self.collection,
            "nameProperty": self.name_property,
        })
    }
}

impl Template {
    /// The same template deploying to `target` (stored in the attachments, hash refreshed).
    pub fn with_graph_target(mut self, target: GraphTarget) -> Template {
        self.attachments
            .extra
            .insert(TARGET_KEY.to_owned(), target.to_value());
        self.refresh_hash();
        self
    }

    /// The template's Graph target, checked: `None` when it carries none, an error when it
    /// carries one that cannot be used.
    pub fn graph_target(&self) -> Result<Option<GraphTarget>, TargetError> {
        let Some(v) = self.attachments.extra.get(TARGET_KEY) else {
            return Ok(None);
        };
        let t: GraphTarget =
            serde_json::from_value(v.clone()).map_err(|e| TargetError::Malformed {
                message: e.to_string(),
            })?;
        t.collection_path()?;
        Ok(Some(t))
    }

    /// For a template of kind [`TemplateKind::Other`]: its target and collection, or why it
    /// cannot be deployed ([`TargetError::Missing`] without one). `None` for every other
    /// kind.
    pub fn deploy_target(&self) -> Option<Result<(GraphTarget, CollectionPath), TargetError>> {
        let TemplateKind::Other(kind) = &self.kind else {
            return None;
        };
        Some(match self.graph_target() {
            Ok(Some(t)) => t.collection_path().map(|c| (t, c)),
            Ok(None) => Err(TargetError::Missing { kind: kind.clone() }),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn other(extra: Option<Value>) -> Template {
        let mut t = Template::new(
            TemplateKind::Other("x".into()),
            "X",
            json!({"displayName": "X"}),
        );
        if let Some(v) = extra {
            t.attachments.extra.insert(TARGET_KEY.into(), v);
        }
        t
    }

    #[test]
    fn targets_are_read_and_checked() {
        let t = other(Some(
            json!({"collection": "beta/deviceManagement/roleScopeTags"}),
        ));
        let target = t.graph_target().unwrap().unwrap();
        assert_eq!(target.name_property, "displayName");
        assert!(matches!(t.deploy_target(), Some(Ok(_))));

        assert!(matches!(
            other(None).deploy_target(),
            Some(Err(TargetError::Missing { .. }))
        ));
        assert!(matches!(
            other(Some(json!("beta/x"))).graph_target(),
            Err(TargetError::Malformed { .. })
        ));
        let e = other(Some(json!({"collection": "beta/../users"})))
            .graph_target()
            .unwrap_err();
        assert!(e.to_string().contains(".."), "{e}");
        assert!(matches!(
            other(Some(
                json!({"collection": "beta/users", "nameProperty": "a/b"})
            ))
            .graph_target(),
            Err(TargetError::InvalidNameProperty { .. })
        ));
        let group = Template::new(TemplateKind::Group, "G", json!({}));
        assert!(group.deploy_target().is_none());
    }

    #[test]
    fn the_target_is_content() {
        let a = other(None);
        let b = a
            .clone()
            .with_graph_target(GraphTarget::new("v1.0/groups").unwrap());
        assert_ne!(a.content_hash, b.content_hash);
        let c = b.clone().with_graph_target(
            GraphTarget::new("v1.0/groups")
                .unwrap()
                .with_name_property("mailNickname")
                .unwrap(),
        );
        assert_ne!(b.content_hash, c.content_hash);
    }
}
