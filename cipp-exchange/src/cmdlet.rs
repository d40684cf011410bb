//! A cmdlet invocation as a value.

use cipp_core::{ApiRequest, Audience, Error, TenantId};
use http::{HeaderName, HeaderValue};
use std::marker::PhantomData;

use serde_json::{json, Map, Value};

/// The system mailbox used as `X-AnchorMailbox` for tenant-wide cmdlets.
pub const SYSTEM_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/// Which mailbox Exchange routes a cmdlet to (`X-AnchorMailbox`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The target mailbox (its UPN): for cmdlets about one mailbox.
    Mailbox(String),
    /// The tenant's system mailbox: for tenant-wide cmdlets.
    System,
}

/// One cmdlet with its parameters, anchor and optional `$select`, and the type of the rows
/// it returns (`T`; JSON for cmdlets without a model): `cmdlets::get_mailbox` is a
/// `Cmdlet<Mailbox>`, and `exo.invoke_as(&t, &cmdlet)` reads `Mailbox` rows. Declare the row
/// type of a cmdlet of your own with [`Cmdlet::output`].
///
/// ```
/// use cipp_exchange::cmdlet::{Anchor, Cmdlet};
/// let c = Cmdlet::new("Get-InboxRule").param("Mailbox", "adelev@contoso.com").param("IncludeHidden", true)
///     .anchor(Anchor::Mailbox("adelev@contoso.com".into()));
/// assert_eq!(c.body()["CmdletInput"]["Parameters"]["IncludeHidden"], true);
/// // The typed cmdlets carry their row type; a cmdlet of your own declares one.
/// let m: Cmdlet<cipp_exchange::model::Mailbox> = cipp_exchange::cmdlets::get_mailbox("adelev@contoso.com")?;
/// #[derive(serde::Deserialize)]
/// struct Row { #[serde(rename = "Identity")] identity: String }
/// let mine: Cmdlet<Row> = Cmdlet::new("Get-Recipient").param("ResultSize", 10).output();
/// assert_eq!(mine.untyped().name, "Get-Recipient");
/// # let _ = m;
/// # Ok::<(), cipp_core::Error>(())
/// ```
pub struct Cmdlet<T = Value> {
    /// Cmdlet name, for example `Get-Mailbox`.
    pub name: String,
    /// Parameters.
    pub parameters: Map<String, Value>,
    /// Routing anchor.
    pub anchor: Anchor,
    /// Properties to return (`$select`).
    pub select: Vec<String>,
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for Cmdlet<T> {
    fn clone(&self) -> Self {
        Cmdlet {
            name: self.name.clone(),
            parameters: self.parameters.clone(),
            anchor: self.anchor.clone(),
            select: self.select.clone(),
            output: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Cmdlet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cmdlet")
            .field("name", &self.name)
            .field("parameters", &self.parameters)
            .field("anchor", &self.anchor)
            .field("select", &self.select)
            .finish()
    }
}

impl<T> PartialEq for Cmdlet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.parameters == other.parameters
            && self.anchor == other.anchor
            && self.select == other.select
    }
}

impl Cmdlet {
    /// A cmdlet without parameters, anchored on the system mailbox, returning JSON rows.
    pub fn new(name: &str) -> Self {
        Cmdlet {
            name: name.to_owned(),
            parameters: Map::new(),
            anchor: Anchor::System,
            select: Vec::new(),
            output: PhantomData,
        }
    }
}

impl<T> Cmdlet<T> {
    /// The same cmdlet, declaring the type of the rows it returns.
    pub fn output<U>(self) -> Cmdlet<U> {
        Cmdlet {
            name: self.name,
            parameters: self.parameters,
            anchor: self.anchor,
            select: self.select,
            output: PhantomData,
        }
    }

    /// The same cmdlet returning JSON rows (to batch cmdlets of different types).
    pub fn untyped(&self) -> Cmdlet {
        self.clone().output()
    }

    /// Adds a parameter.
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.parameters.insert(name.to_owned(), value.into());
        self
    }

    /// Sets the anchor.
    pub fn anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }

    /// Restricts the returned properties.
    pub fn select<I: IntoIterator<Item = S>, S: Into<String>>(mut self, props: I) -> Self {
        self.select.extend(props.into_iter().map(Into::into));
        self
    }

    /// Whether the cmdlet only reads (and so may be retried after a timeout).
    pub fn is_read(&self) -> bool {
        let n = self.name.to_ascii_lowercase();
        n.starts_with("get-") || n.starts_with("search-")
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"CmdletInput": {"CmdletName": self.name, "Parameters": self.parameters}})
    }

    /// The `X-AnchorMailbox` value for `tenant`.
    pub fn anchor_value(&self, tenant: &TenantId) -> String {
        match &self.anchor {
            Anchor::Mailbox(upn) => upn.clone(),
            Anchor::System => format!("APP:{SYSTEM_MAILBOX}@{tenant}"),
        }
    }

    /// The relative InvokeCommand path for `tenant` (with `$select`).
    pub fn path(&self, tenant: &TenantId) -> String {
        let mut p = format!("/adminapi/beta/{tenant}/InvokeCommand");
        if !self.select.is_empty() {
            p.push_str("?$select=");
            p.push_str(&cipp_core::request::encode_component(
                &self.select.join(","),
            ));
        }
        p
    }

    /// The request: `POST /adminapi/beta/{tenant}/InvokeCommand` with the Exchange token,
    /// `X-AnchorMailbox` and `Prefer: odata.maxpagesize=1000`.
    pub fn to_request(&self, tenant: &TenantId) -> Result<ApiRequest, Error> {
        if self.name.is_empty() || !self.name.contains('-') {
            return Err(Error::invalid_input(
                "cmdlet",
                format!("`{}` is not a Verb-Noun cmdlet name", self.name),
            ));
        }
        let anchor = HeaderValue::try_from(self.anchor_value(tenant)).map_err(|_| {
            Error::invalid_input(
                "anchor",
                "the anchor mailbox holds characters not allowed in a header",
            )
        })?;
        let r = ApiRequest::post(tenant.clone(), Audience::Exchange, self.path(tenant))
            .operation(self.name.clone())
            .header(HeaderName::from_static("x-anchormailbox"), anchor)
            .header(
                HeaderName::from_static("prefer"),
                HeaderValue::from_static("odata.maxpagesize=1000"),
            )
            .json(&self.body())?
            .header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )
            .idempotent(self.is_read())
            .error_reader(crate::errors::read_exchange_error)
            .workload(
                cipp_core::Workload::Exchange,
                Some(self.anchor_value(tenant).to_ascii_lowercase()),
            );
        Ok(r)
    }
}

/// A hashtable parameter (`add` / `remove`), as Exchange's REST endpoint expects it.
///
/// ```
/// let h = cipp_exchange::cmdlet::hashtable(&["a@contoso.com"], &[]);
/// assert_eq!(h["@odata.type"], "#Exchange.GenericHashTable");
/// ```
pub fn hashtable(add: &[&str], remove: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert("@odata.type".into(), json!("#Exchange.GenericHashTable"));
    if !add.is_empty() {
        m.insert("add".into(), json!(add));
    }
    if !remove.is_empty() {
        m.insert("remove".into(), json!(remove));
    }
    Value::Object(m)
}

/// Checks an SMTP address (`local@domain.tld`).
pub fn validate_smtp(field: &str, address: &str) -> Result<(), Error> {
    let a = address.trim();
    let ok = a.rsplit_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    }) && !a.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            format!("`{address}` is not an e-mail address"),
        ))
    }
}
