//! GDAP role templates: named sets of role → partner group mappings (CIPP's
//! `GDAPRoleTemplates`), kept in the scheduler's key-value store
//! ([`cipp_scheduler::kv::KvStore`]: memory, SQLite or PostgreSQL) so every worker sees
//! the same templates. Writes are versioned: [`GdapRoleTemplates::save`] takes the
//! version read (or `None` for a new template) and refuses when another writer changed it
//! since. Used by [`GdapActions::invite_from_template`] and
//! [`GdapActions::apply_template`], whose Graph writes are checked and audited like
//! every GDAP write; saving and deleting templates through
//! [`GdapActions::save_role_template`] / [`GdapActions::delete_role_template`] checks
//! `Tenant.Relationship.ReadWrite` in the partner tenant and records `gdap.save_template`
//! / `gdap.delete_template`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! use std::sync::Arc;
//! use cipp::gdap_templates::{GdapRoleTemplate, GdapRoleTemplates};
//! use cipp_graph::gdap::workflow::RoleMapping;
//! let store = GdapRoleTemplates::new(Arc::new(cipp::scheduler::kv::MemoryKv::new()));
//! let template = GdapRoleTemplate::new("Helpdesk", vec![RoleMapping {
//!     role_name: "User Administrator".into(),
//!     role_definition_id: "fe930be7-5e62-47db-91af-98c3a49a38b1".into(),
//!     group_id: "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11".into(),
//!     group_name: "M365 GDAP User Administrator".into(),
//! }]);
//! assert_eq!(store.save(&template, None).await?, 1);
//! let stored = store.get("helpdesk").await?.expect("saved");
//! // A writer holding an older version is refused.
//! assert!(store.save(&template, Some(0)).await.is_err());
//! assert_eq!(store.save(&template, Some(stored.version)).await?, 2);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cipp_core::{Error, Report};
use cipp_graph::gdap::workflow::{check_mappable, Applied, Invite, RoleMapping};
use cipp_scheduler::kv::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::authz::{succeeded, Act, Permission};
use crate::gdap::GdapActions;

/// A named set of role → group mappings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GdapRoleTemplate {
    /// The name (1–100 characters; unique, compared without case).
    pub name: String,
    /// The mappings, sorted by group name (as CIPP keeps them).
    pub mappings: Vec<RoleMapping>,
}

impl GdapRoleTemplate {
    /// A template of `mappings` named `name`.
    pub fn new(name: impl Into<String>, mut mappings: Vec<RoleMapping>) -> GdapRoleTemplate {
        mappings.sort_by(|a, b| {
            a.group_name
                .to_lowercase()
                .cmp(&b.group_name.to_lowercase())
                .then(a.role_definition_id.cmp(&b.role_definition_id))
        });
        GdapRoleTemplate {
            name: name.into(),
            mappings,
        }
    }

    /// Checks the template: a name, at least one mapping, role and group ids that are
    /// GUIDs, no reserved partner group.
    pub fn validate(&self) -> Result<(), Error> {
        key(&self.name)?;
        if self.mappings.is_empty() {
            return Err(Error::invalid_input(
                "mappings",
                "a template needs at least one role → group mapping",
            ));
        }
        for m in &self.mappings {
            for (field, id) in [
                ("roleDefinitionId", &m.role_definition_id),
                ("groupId", &m.group_id),
            ] {
                if !is_guid(id) {
                    return Err(Error::invalid_input(field, format!("`{id}` is not a GUID")));
                }
            }
            check_mappable(&m.group_name)?;
        }
        Ok(())
    }
}

/// A template as stored, with its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StoredTemplate {
    /// The template.
    pub template: GdapRoleTemplate,
    /// Its version (1 when created, one more at each save): give it to the next save.
    pub version: u64,
    /// When this version was saved.
    pub updated: DateTime<Utc>,
}

/// GDAP role templates in a key-value store (namespace [`GdapRoleTemplates::NAMESPACE`],
/// key = the lower-cased name). Cheap to clone.
#[derive(Clone)]
pub struct GdapRoleTemplates {
    kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for GdapRoleTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GdapRoleTemplates").finish_non_exhaustive()
    }
}

/// Whether `s` is a GUID (`8-4-4-4-12` hexadecimal digits).
pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn key(name: &str) -> Result<String, Error> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "name",
            "a template name is 1–100 characters without control characters",
        ));
    }
    Ok(n.to_lowercase())
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> Error {
    Error::Config(format!(
        "the key-value store failed ({e}); check its database and retry"
    ))
}

fn read(
    namespace: &str,
    key: &str,
    v: cipp_scheduler::kv::Versioned,
) -> Result<StoredTemplate, Error> {
    let template: GdapRoleTemplate = serde_json::from_value(v.value).map_err(|e| {
        Error::Config(format!(
            "the stored value {namespace}/{key} is not a GDAP role template ({e}); fix or delete it"
        ))
    })?;
    Ok(StoredTemplate {
        template,
        version: v.version,
        updated: v.updated,
    })
}

impl GdapRoleTemplates {
    /// The key-value namespace of the templates.
    pub const NAMESPACE: &'static str = "gdap-role-templates";

    /// Templates kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> GdapRoleTemplates {
        GdapRoleTemplates { kv }
    }

    /// Saves `template` if it is at `expected_version` (`None`: it must not exist yet)
    /// and returns its new version. Checked first ([`GdapRoleTemplate::validate`]); a
    /// template changed since it was read is refused with
    /// [`Error::InvalidInput`] naming the version it is at.
    pub async fn save(
        &self,
        template: &GdapRoleTemplate,
        expected_version: Option<u64>,
    ) -> Result<u64, Error> {
        template.validate()?;
        let k = key(&template.name)?;
        let sorted = GdapRoleTemplate::new(template.name.trim(), template.mappings.clone());
        let value = serde_json::to_value(&sorted).map_err(store_error)?;
        match self
            .kv
            .put(Self::NAMESPACE, &k, &value, expected_version)
            .await
            .map_err(store_error)?
        {
            Ok(v) => Ok(v),
            Err(conflict) => Err(Error::invalid_input(
                "version",
                match conflict.current {
                    Some(c) => format!(
                        "template `{}` is at version {} now, not {}: read it again",
                        template.name.trim(),
                        c.version,
                        expected_version.map_or("new".to_owned(), |v| v.to_string())
                    ),
                    None => format!(
                        "template `{}` does not exist: save it with no expected version",
                        template.name.trim()
                    ),
                },
            )),
        }
    }

    /// The template named `name` (without case), if there is one.
    pub async fn get(&self, name: &str) -> Result<Option<StoredTemplate>, Error> {
        let k = key(name)?;
        match self
            .kv
            .get(Self::NAMESPACE, &k)
            .await
            .map_err(store_error)?
        {
            Some(v) => read(Self::NAMESPACE, &k, v).map(Some),
            None => Ok(None),
        }
    }

    /// The template named `name`, or an error saying there is none.
    pub async fn require(&self, name: &str) -> Result<StoredTemplate, Error> {
        self.get(name).await?.ok_or_else(|| {
            Error::invalid_input(
                "template",
                format!("there is no GDAP role template `{name}`"),
            )
        })
    }

    /// Every template, by name. An unreadable stored value is an error naming it.
    pub async fn list(&self) -> Result<Vec<StoredTemplate>, Error> {
        self.kv
            .list(Self::NAMESPACE)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|(k, v)| read(Self::NAMESPACE, &k, v))
            .collect()
    }

    /// Deletes the template named `name` (nothing happens when there is none).
    pub async fn delete(&self, name: &str) -> Result<(), Error> {
        let k = key(name)?;
        self.kv
            .delete(Self::NAMESPACE, &k)
            .await
            .map_err(store_error)
    }
}

impl GdapActions {
    /// Saves a role template (see [`GdapRoleTemplates::save`]), after checking
    /// `Tenant.Relationship.ReadWrite` in the partner tenant. Audited as
    /// `gdap.save_template`, target the template's name.
    pub async fn save_role_template(
        &self,
        templates: &GdapRoleTemplates,
        template: &GdapRoleTemplate,
        expected_version: Option<u64>,
    ) -> Result<u64, Error> {
        let parameters = json!({
            "mappings": serde_json::to_value(&template.mappings).unwrap_or_default(),
            "expectedVersion": expected_version,
        });
        self.handle()
            .audited(
                Act {
                    operation: "gdap.save_template",
                    permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
                    target: Some(template.name.as_str()),
                    parameters,
                },
                succeeded,
                templates.save(template, expected_version),
            )
            .await
    }

    /// Deletes a role template, after checking `Tenant.Relationship.ReadWrite` in the
    /// partner tenant. Audited as `gdap.delete_template`.
    pub async fn delete_role_template(
        &self,
        templates: &GdapRoleTemplates,
        name: &str,
    ) -> Result<(), Error> {
        self.handle()
            .audited(
                Act {
                    operation: "gdap.delete_template",
                    permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
                    target: Some(name),
                    parameters: serde_json::Value::Null,
                },
                succeeded,
                templates.delete(name),
            )
            .await
    }

    /// CIPP's invite with the mappings of the stored template `template`: a relationship
    /// named `display_name` with the template's roles, locked for approval (see
    /// [`GdapActions::invite`], audited as `gdap.invite`).
    pub async fn invite_from_template(
        &self,
        templates: &GdapRoleTemplates,
        display_name: &str,
        template: &str,
    ) -> Result<Invite, Error> {
        let stored = templates.require(template).await?;
        self.invite(display_name, &stored.template.mappings).await
    }

    /// Maps the groups of the stored template `template` on an approved relationship
    /// (see [`GdapActions::apply_mappings`], audited as `gdap.apply_mappings`); with
    /// `reset`, the relationship's assignments are made to match the template exactly.
    pub async fn apply_template(
        &self,
        templates: &GdapRoleTemplates,
        relationship_id: &str,
        template: &str,
        reset: bool,
    ) -> Result<Applied, Error> {
        let stored = templates.require(template).await?;
        self.apply_mappings(relationship_id, &stored.template.mappings, reset)
            .await
    }

    /// Finds or creates the `M365 GDAP <Role>` groups for `role_ids` (see
    /// [`GdapActions::ensure_role_groups`]) and saves their mappings as template `name`
    /// (a new template, or replacing the version `expected_version`).
    pub async fn template_from_roles(
        &self,
        templates: &GdapRoleTemplates,
        name: &str,
        role_ids: &[String],
        expected_version: Option<u64>,
    ) -> Result<(GdapRoleTemplate, Report), Error> {
        key(name)?;
        let (mappings, report) = self.ensure_role_groups(role_ids, None).await?;
        let template = GdapRoleTemplate::new(name.trim(), mappings);
        self.save_role_template(templates, &template, expected_version)
            .await?;
        Ok((template, report))
    }
}
