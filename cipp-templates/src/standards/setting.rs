//! The common shape of a standard: one object read, a few of its properties compared with
//! the expected values, and one write that sets them. Most of CIPP's catalogue is this
//! shape; a [`SettingStandard`] is a table entry, and the other standards implement
//! [`Standard`] themselves.

use std::marker::PhantomData;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_exchange::cmdlet::Cmdlet;
use cipp_graph::settings::GraphSetting;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::model::{Check, Standard, StandardMeta, TenantTarget};
use super::read::{Read, Snapshot};

/// A property compared: a name shown in reports, where it is in the object read (a JSON
/// pointer, `/defaultUserRolePermissions/allowedToCreateApps`), and the value wanted.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Name in reports.
    pub name: String,
    /// JSON pointer into the object read (for Exchange: into its first row).
    pub pointer: String,
    /// The value wanted.
    pub expected: Value,
}

impl Field {
    /// A field named after the last segment of `pointer`.
    pub fn new(pointer: &str, expected: impl Into<Value>) -> Field {
        Field {
            name: pointer.rsplit('/').next().unwrap_or(pointer).to_owned(),
            pointer: pointer.to_owned(),
            expected: expected.into(),
        }
    }
}

/// The write that brings the object to the expected state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Write {
    /// PATCH (or PUT) a Graph policy object with `body`.
    Graph {
        /// The object.
        setting: GraphSetting,
        /// The properties to set (the whole object for a `PUT`).
        body: Value,
    },
    /// An Exchange `Set-*` (or `New-*`, `Enable-*`) cmdlet.
    Exchange {
        /// The cmdlet.
        cmdlet: String,
        /// Its parameters.
        params: Map<String, Value>,
    },
}

impl Write {
    /// An Exchange cmdlet with `params` (a JSON object).
    pub fn exchange(cmdlet: &str, params: Value) -> Write {
        Write::Exchange {
            cmdlet: cmdlet.to_owned(),
            params: super::read::params(params),
        }
    }

    /// Sends the write.
    pub async fn send(&self, target: &TenantTarget) -> Result<(), Error> {
        match self {
            Write::Graph { setting, body } => target.graph.settings().update(setting, body).await,
            Write::Exchange { cmdlet, params } => {
                let mut c = Cmdlet::new(cmdlet);
                for (k, v) in params {
                    c = c.param(k, v.clone());
                }
                target.exchange.invoke(&c).await.map(|_| ())
            }
        }
    }
}

/// Expected fields from the typed settings.
pub type FieldsFn<S> = fn(&S) -> Vec<Field>;
/// The write from the typed settings and the object as read.
pub type WriteFn<S> = fn(&S, &Value) -> Result<Write, Error>;
/// Checks the typed settings.
pub type ValidateFn<S> = fn(&S) -> Result<(), Error>;

/// A standard over one object: read it, compare [`Field`]s, write once.
pub struct SettingStandard<S> {
    meta: StandardMeta,
    read: Read,
    fields: FieldsFn<S>,
    write: WriteFn<S>,
    validate: ValidateFn<S>,
    sort_arrays: bool,
    _settings: PhantomData<fn() -> S>,
}

impl<S> SettingStandard<S> {
    /// A standard reading `read`, comparing `fields`, remediating with `write`.
    pub fn new(meta: StandardMeta, read: Read, fields: FieldsFn<S>, write: WriteFn<S>) -> Self {
        SettingStandard {
            meta,
            read,
            fields,
            write,
            validate: |_| Ok(()),
            sort_arrays: true,
            _settings: PhantomData,
        }
    }

    /// Checks the settings with `validate` before anything is sent.
    pub fn validated(mut self, validate: ValidateFn<S>) -> Self {
        self.validate = validate;
        self
    }

    /// Compares arrays in order (by default their order carries no meaning).
    pub fn ordered_arrays(mut self) -> Self {
        self.sort_arrays = false;
        self
    }
}

/// Typed settings from JSON (`null` is `{}`); the error names the standard and says what
/// was wrong.
pub fn typed<S: DeserializeOwned>(meta: &StandardMeta, settings: &Value) -> Result<S, Error> {
    let v = if settings.is_null() {
        Value::Object(Map::new())
    } else {
        settings.clone()
    };
    serde_json::from_value(v).map_err(|e| {
        Error::invalid_input(
            format!("standards.{}", meta.name),
            format!("the settings are not valid: {e}"),
        )
    })
}

impl<S> SettingStandard<S> {
    fn object<'a>(&self, snapshot: &'a Snapshot) -> Result<&'a Value, Error> {
        match &self.read {
            Read::Exchange { .. } | Read::GraphList(_) => snapshot.first_row(&self.read),
            _ => snapshot.get(&self.read),
        }
    }
}

#[async_trait]
impl<S: DeserializeOwned + Send + Sync + 'static> Standard for SettingStandard<S> {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: S = typed(&self.meta, settings)?;
        (self.validate)(&s)
    }

    fn reads(&self, _settings: &Value) -> Vec<Read> {
        vec![self.read.clone()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: S = typed(&self.meta, settings)?;
        let object = self.object(snapshot)?;
        let mut current = Map::new();
        let mut expected = Map::new();
        for f in (self.fields)(&s) {
            let c = object.pointer(&f.pointer).cloned().unwrap_or(Value::Null);
            let c = if self.sort_arrays {
                super::compare::normalise(&c, true)
            } else {
                c
            };
            current.insert(f.name.clone(), c);
            expected.insert(f.name, f.expected);
        }
        Ok(Check::evaluated(
            Value::Object(current),
            Value::Object(expected),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: S = typed(&self.meta, settings)?;
        let object = self.object(snapshot)?;
        (self.write)(&s, object)?.send(target).await
    }
}
