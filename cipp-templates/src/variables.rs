//! Replacement variables: the one engine every write body goes through before it is sent.
//!
//! CIPP replaces `%name%` tokens in every Graph and Exchange write body, in Intune `RAWJson`,
//! in standard settings, e-mail HTML, webhook bodies, alert comments and app install
//! scripts (`Get-CIPPTextReplacement`). This module does the same, typed, and refuses to
//! send anything that still holds a variable it could not resolve.
//!
//! # What a variable token is
//!
//! A token is `%` + *name* + `%`, where the name starts with an ASCII letter and continues
//! with ASCII letters, digits, `_` or `-` (`%tenantid%`, `%Wifi_SSID%`, `%site-url%`).
//! Names match case-insensitively (`%TenantId%` is `%tenantid%`). Everything else is text:
//!
//! * a `%` not followed by a name and a closing `%` (`100%`, `50% off`, `%-5%`);
//! * `%%` (the batch-file escape for a literal `%`): it never opens or closes a token, so
//!   `for %%i in (*) do echo %%i%%` is text;
//! * a name of exactly two hex digits (`%C3%`, `%ab%`): that is a URL percent-escape such as
//!   `caf%C3%A9`; no variable may have such a name. Scanning resumes at its second `%`.
//!   Percent-encoded text can still *contain* a token (`%C3%A9t%` holds `%A9t%`), so
//!   substitute into values first and URL-encode afterwards;
//! * a name with other characters, such as `%programfiles(x86)%`.
//!
//! In addition, `%CIPPGroup{Display Name}%` (prefix case-insensitive, name up to the first
//! `}%`, on one line) stands for the security identifier (SID) of the tenant's Entra group
//! with that display name. The engine does not call Graph: find the group names with
//! [`references`], look up their SIDs, and supply them with [`Resolver::with_group_sid`].
//!
//! # Where values come from
//!
//! For each token, in this order:
//!
//! 1. CIPP's reserved Windows tokens ([`WINDOWS_RESERVED`]: `%systemroot%`, `%userprofile%`, …)
//!    are always left alone, so scripts keep their environment variables.
//! 2. Call-specific values ([`Resolver::with_value`]), such as `%resultcount%` in alert
//!    comments.
//! 3. Custom variables for the tenant (stored under its tenant id, then under its default
//!    domain), then global custom variables: the tenant's value wins.
//! 4. The built-ins from the [`TenantContext`] ([`TENANT_BUILT_INS`]). A built-in whose value
//!    the context lacks (no CIPP URL configured, say) is unresolved.
//! 5. Other well-known Windows environment variables ([`WINDOWS_ENVIRONMENT`]: `%appdata%`,
//!    `%computername%`, …) are left alone unless a custom variable of that name exists.
//! 6. Anything else is unresolved.
//!
//! Unresolved tokens are an error ([`VariableError::Unresolved`]) listing every one of them
//! once, so nothing is sent with a placeholder in it.
//!
//! Custom variables are substituted before built-ins, as in CIPP: a custom value may itself
//! use built-in tokens and `%CIPPGroup{…}%` (a global `%wifiname%` of `%tenantname%-Staff`
//! gives each tenant its own name). Other tokens inside a value are literal text: values are
//! never re-scanned for custom variables, so variables cannot loop. `$` in a value is
//! literal (there is no regular-expression replacement anywhere).
//!
//! # Typed variables and JSON
//!
//! A custom variable is a string, an integer, a boolean or JSON ([`VariableType`]). In a
//! JSON document ([`Resolver::substitute_json`], [`Resolver::substitute_json_text`]), a
//! string value that is *exactly* one token of a typed variable (`"%maxdays%"`) becomes the
//! bare literal (`300`, `true`, `{"a":1}`). Everywhere else (inside a longer string, in an
//! object key, in plain text) a value is inserted as text exactly as stored.
//!
//! JSON substitution works on *decoded* strings and re-encodes them, so a value holding
//! quotes, backslashes or newlines always yields valid JSON that decodes to the intended
//! text; there is no "escape quotes unless already escaped" guesswork as in CIPP's
//! `-EscapeForJson` (a value `a\"b` stays `a\"b` after decoding, where CIPP would give
//! `a"b`). Object keys are substituted as well, because CIPP substitutes the serialised
//! text, keys included.
//!
//! ```
//! use cipp_templates::variables::{TenantContext, Variable, VariableType, Variables};
//! use serde_json::json;
//!
//! let mut vars = Variables::new();
//! vars.set_global(Variable::new("wifiname", "%tenantname%-Staff"))?;
//! vars.set_global(Variable::typed("maxdays", "90", VariableType::Integer))?;
//! vars.set_for_tenant("contoso.com", Variable::typed("maxdays", "30", VariableType::Integer))?;
//!
//! let ctx = TenantContext::new("0b3c1a4e-1111-2222-3333-444455556666", "contoso.com")
//!     .with_display_name("Contoso");
//! let resolver = vars.resolve_for(&ctx);
//!
//! let body = json!({"ssid": "%wifiname%", "days": "%maxdays%", "note": "%maxdays% days"});
//! assert_eq!(
//!     resolver.substitute_json(&body)?,
//!     json!({"ssid": "Contoso-Staff", "days": 30, "note": "30 days"})
//! );
//! assert_eq!(resolver.substitute_text("100% of %TenantFilter%")?, "100% of contoso.com");
//! assert!(resolver.substitute_text("Hello %nosuchvar%").is_err());
//! # Ok::<(), cipp_templates::variables::VariableError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use cipp_core::redact::echo;
use cipp_core::Tenant;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Built-in variables whose values come from the [`TenantContext`]: `tenantid`,
/// `organizationid` (both the tenant GUID), `tenantfilter`, `defaultdomain` (both the default
/// domain), `initialdomain`, `tenantname`, `partnertenantid`, `samappid`, `cippuserschema`
/// and `cippurl`. Custom variables may not use these names.
pub const TENANT_BUILT_INS: &[&str] = &[
    "tenantid",
    "organizationid",
    "tenantfilter",
    "defaultdomain",
    "initialdomain",
    "tenantname",
    "partnertenantid",
    "samappid",
    "cippuserschema",
    "cippurl",
];

/// Built-in variables that only particular calls supply (with [`Resolver::with_value`]):
/// `resultcount` (alert comments: the number of result rows). Custom variables may not use
/// these names.
pub const CALL_BUILT_INS: &[&str] = &["resultcount"];

/// CIPP's reserved Windows tokens: always left alone, and no custom variable may use these
/// names, so `%systemroot%` and friends survive in scripts. (`programfiles(x86)` is listed for
/// completeness; its parentheses already keep it from being a token.)
pub const WINDOWS_RESERVED: &[&str] = &[
    "serial",
    "systemroot",
    "systemdrive",
    "system32",
    "osdrive",
    "temp",
    "userprofile",
    "username",
    "userdomain",
    "windir",
    "programfiles",
    "programfiles(x86)",
    "programdata",
];

/// Further well-known Windows environment variables, left alone when no custom variable of
/// that name exists (CIPP leaves every unknown token alone; this engine refuses unknown
/// tokens, so it must know these to keep install scripts working).
pub const WINDOWS_ENVIRONMENT: &[&str] = &[
    "allusersprofile",
    "appdata",
    "cd",
    "cmdcmdline",
    "cmdextversion",
    "commonprogramfiles",
    "commonprogramw6432",
    "computername",
    "comspec",
    "date",
    "driverdata",
    "errorlevel",
    "homedrive",
    "homepath",
    "homeshare",
    "localappdata",
    "logonserver",
    "number_of_processors",
    "onedrive",
    "os",
    "path",
    "pathext",
    "processor_architecture",
    "processor_identifier",
    "processor_level",
    "processor_revision",
    "programw6432",
    "psmodulepath",
    "public",
    "random",
    "sessionname",
    "time",
    "tmp",
    "userdnsdomain",
];

/// The longest variable name accepted, in characters.
pub const MAX_NAME_LEN: usize = 128;

/// The CIPP partition key of global variables (`CippReplacemap` table).
const ALL_TENANTS: &str = "alltenants";

/// The opening of a group token, compared case-insensitively.
const GROUP_PREFIX: &str = "%cippgroup{";

fn contains_ci(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Whether `name` is a built-in variable (tenant or call-specific).
pub fn is_built_in(name: &str) -> bool {
    contains_ci(TENANT_BUILT_INS, name) || contains_ci(CALL_BUILT_INS, name)
}

/// Whether `name` is reserved: a built-in or one of CIPP's reserved Windows tokens. Custom
/// variables may not use reserved names.
pub fn is_reserved(name: &str) -> bool {
    is_built_in(name) || contains_ci(WINDOWS_RESERVED, name)
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// What went wrong defining or substituting variables.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VariableError {
    /// Tokens were left that have no value for this tenant. Nothing has been sent.
    #[error("{}", unresolved_message(.tenant, .names, .unavailable, .groups))]
    Unresolved {
        /// The tenant (default domain) the substitution was for.
        tenant: String,
        /// Every unresolved variable name, once each, as first written, without `%`.
        names: Vec<String>,
        /// Those of `names` that are built-ins the [`TenantContext`] (or the call) has no
        /// value for.
        unavailable: Vec<String>,
        /// Display names of `%CIPPGroup{…}%` groups whose SID was not supplied.
        groups: Vec<String>,
    },
    /// A variable name breaks the naming rules or is reserved.
    #[error("invalid variable name `{name}`: {reason}")]
    InvalidName {
        /// The name as given (capped).
        name: String,
        /// Why it was refused and what to do.
        reason: String,
    },
    /// A typed variable's value does not parse as its type.
    #[error("variable `{name}` is declared {kind} but its value `{value}` {reason}")]
    InvalidValue {
        /// The variable's name (capped).
        name: String,
        /// The declared type.
        kind: VariableType,
        /// The value as given (capped).
        value: String,
        /// Why it does not parse and what is expected.
        reason: String,
    },
    /// A variable type name is not one of `string`, `integer`, `boolean`, `json`.
    #[error("unknown variable type `{value}`: use string, integer, boolean or json")]
    UnknownType {
        /// The type name as given (capped).
        value: String,
    },
    /// A tenant key for per-tenant variables is unusable.
    #[error("invalid tenant key `{key}` for tenant variables: {reason}")]
    InvalidTenantKey {
        /// The key as given (capped).
        key: String,
        /// Why it was refused and what to do.
        reason: String,
    },
    /// Raw JSON text given to [`Resolver::substitute_json_text`] does not parse.
    #[error("the body is not valid JSON ({reason}); fix the template body before substituting variables")]
    InvalidJson {
        /// The parser's message.
        reason: String,
    },
    /// Substituting variables in object keys made two keys of one object equal.
    #[error("substituting variables in object keys produced the key `{key}` twice in one object; rename one of the keys or variables")]
    DuplicateKey {
        /// The duplicated key (capped).
        key: String,
    },
}

fn percent_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("%{}%", echo(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unresolved_message(
    tenant: &str,
    names: &[String],
    unavailable: &[String],
    groups: &[String],
) -> String {
    let mut parts = Vec::new();
    let undefined: Vec<String> = names
        .iter()
        .filter(|n| !unavailable.iter().any(|u| u.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    if !undefined.is_empty() {
        parts.push(format!(
            "{} not defined (define them as custom variables, globally or for this tenant, or correct the spelling)",
            percent_list(&undefined)
        ));
    }
    if !unavailable.is_empty() {
        parts.push(format!(
            "{} have no value here (set them on the TenantContext, or pass call-specific values such as %resultcount% with Resolver::with_value)",
            percent_list(unavailable)
        ));
    }
    if !groups.is_empty() {
        let list = groups
            .iter()
            .map(|g| format!("%CIPPGroup{{{}}}%", echo(g)))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!(
            "{list} have no SID (look the groups up by display name in the tenant and pass their SIDs with Resolver::with_group_sid)"
        ));
    }
    format!(
        "unresolved replacement variables for tenant {}: {}; nothing was sent",
        echo(tenant),
        parts.join("; ")
    )
}

// ---------------------------------------------------------------------------------------
// Types and variables
// ---------------------------------------------------------------------------------------

/// The type of a custom variable (CIPP's `VariableType` column; `string` when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VariableType {
    /// Text (the default).
    #[default]
    String,
    /// A whole number (64-bit signed); fills a whole JSON slot as a number.
    Integer,
    /// `true` or `false` (any case); fills a whole JSON slot as a boolean.
    Boolean,
    /// Any JSON value; fills a whole JSON slot as that value.
    Json,
}

impl VariableType {
    /// The lower-case name CIPP stores: `string`, `integer`, `boolean` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            VariableType::String => "string",
            VariableType::Integer => "integer",
            VariableType::Boolean => "boolean",
            VariableType::Json => "json",
        }
    }
}

impl fmt::Display for VariableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VariableType {
    type Err = VariableError;

    /// Parses a type name case-insensitively; an empty name is `string` (CIPP's default).
    fn from_str(s: &str) -> Result<Self, VariableError> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("string") {
            Ok(VariableType::String)
        } else if t.eq_ignore_ascii_case("integer") || t.eq_ignore_ascii_case("int") {
            Ok(VariableType::Integer)
        } else if t.eq_ignore_ascii_case("boolean") || t.eq_ignore_ascii_case("bool") {
            Ok(VariableType::Boolean)
        } else if t.eq_ignore_ascii_case("json") {
            Ok(VariableType::Json)
        } else {
            Err(VariableError::UnknownType { value: echo(s) })
        }
    }
}

impl Serialize for VariableType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VariableType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A custom replacement variable (a `CippReplacemap` row: `RowKey` = name, `Value`,
/// `VariableType`, `Description`).
///
/// Build with [`Variable::new`] or [`Variable::typed`]; [`Variables`] validates every
/// variable it stores ([`Variable::validate`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// The name, used as `%name%` (matched case-insensitively).
    pub name: String,
    /// The value as stored (for typed variables, its text form: `300`, `true`, `{"a":1}`).
    pub value: String,
    /// The type (`string` when absent).
    #[serde(default, rename = "variableType")]
    pub kind: VariableType,
    /// What the variable is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Variable {
    /// A string variable.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Variable::typed(name, value, VariableType::String)
    }

    /// A variable of the given type.
    pub fn typed(name: impl Into<String>, value: impl Into<String>, kind: VariableType) -> Self {
        Variable {
            name: name.into(),
            value: value.into(),
            kind,
            description: None,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Checks the name (see [`validate_name`]) and that a typed value parses: an integer is
    /// a whole number (`-5`, `300`), a boolean is `true` or `false` (any case), JSON parses.
    pub fn validate(&self) -> Result<(), VariableError> {
        validate_name(&self.name)?;
        self.literal().map(|_| ())
    }

    /// The value as a JSON literal: a string for string variables, a number, a boolean or
    /// the parsed JSON for typed ones. Surrounding whitespace is ignored for integers and
    /// booleans.
    pub fn literal(&self) -> Result<Value, VariableError> {
        let invalid = |reason: String| VariableError::InvalidValue {
            name: echo(&self.name),
            kind: self.kind,
            value: echo(&self.value),
            reason,
        };
        match self.kind {
            VariableType::Integer => {
                self.value
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| {
                        invalid(
                            "is not a whole number; write digits only, such as 300 or -5".into(),
                        )
                    })
            }
            VariableType::Boolean => {
                let v = self.value.trim();
                if v.eq_ignore_ascii_case("true") {
                    Ok(Value::Bool(true))
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(Value::Bool(false))
                } else {
                    Err(invalid("is not a boolean; write true or false".into()))
                }
            }
            VariableType::Json => serde_json::from_str::<Value>(&self.value).map_err(|e| {
                invalid(format!(
                    "is not valid JSON ({e}); fix the JSON or make it a string variable"
                ))
            }),
            VariableType::String => Ok(Value::String(self.value.clone())),
        }
    }
}

/// Checks a name's syntax only: 1 to [`MAX_NAME_LEN`] characters, an ASCII letter first,
/// then ASCII letters, digits, `_` or `-`, and not exactly two hex digits (a URL
/// percent-escape such as `%C3`).
fn check_name_syntax(name: &str) -> Result<(), VariableError> {
    let refuse = |reason: &str| {
        Err(VariableError::InvalidName {
            name: echo(name),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return refuse("a name is required");
    }
    if name.len() > 2 && name.starts_with('%') && name.ends_with('%') {
        return refuse("write the name without the surrounding `%`");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return refuse("use at most 128 characters");
    }
    if !name.as_bytes()[0].is_ascii_alphabetic() {
        return refuse("start the name with a letter (A-Z)");
    }
    if !name.bytes().all(is_name_byte) {
        return refuse("use only letters, digits, `_` and `-`");
    }
    if is_percent_escape(name) {
        return refuse("two hex digits look like a URL percent-escape (%C3); use a longer name");
    }
    Ok(())
}

/// Checks a custom variable name: the syntax rules of a token (an ASCII letter, then ASCII
/// letters, digits, `_` or `-`; at most [`MAX_NAME_LEN`] characters; not exactly two hex
/// digits) and not a built-in or reserved Windows name ([`is_reserved`]).
pub fn validate_name(name: &str) -> Result<(), VariableError> {
    check_name_syntax(name)?;
    if is_built_in(name) {
        return Err(VariableError::InvalidName {
            name: echo(name),
            reason: format!(
                "%{}% is a built-in variable whose value comes from the tenant; choose another name",
                name.to_ascii_lowercase()
            ),
        });
    }
    if contains_ci(WINDOWS_RESERVED, name) {
        return Err(VariableError::InvalidName {
            name: echo(name),
            reason: format!(
                "%{}% is reserved so Windows environment variables in scripts survive; choose another name",
                name.to_ascii_lowercase()
            ),
        });
    }
    Ok(())
}

/// Where a custom variable applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Every tenant (CIPP partition key `AllTenants`).
    Global,
    /// One tenant, by tenant id (GUID) or default domain, as CIPP keys it.
    Tenant(String),
}

impl Scope {
    /// The scope of a CIPP `CippReplacemap` partition key: `AllTenants` (any case) is
    /// global, anything else a tenant.
    pub fn from_partition_key(key: &str) -> Self {
        if key.trim().eq_ignore_ascii_case(ALL_TENANTS) {
            Scope::Global
        } else {
            Scope::Tenant(key.trim().to_owned())
        }
    }
}

fn tenant_key(key: &str) -> Result<String, VariableError> {
    let k = key.trim();
    let refuse = |reason: &str| {
        Err(VariableError::InvalidTenantKey {
            key: echo(key),
            reason: reason.to_owned(),
        })
    };
    if k.is_empty() {
        return refuse("give the tenant id (GUID) or default domain");
    }
    if k.eq_ignore_ascii_case(ALL_TENANTS) {
        return refuse("AllTenants means every tenant; use Scope::Global / set_global");
    }
    if k.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("a tenant id or domain has no spaces");
    }
    Ok(k.to_ascii_lowercase())
}

/// The custom variables of a CIPP instance: global ones and per-tenant ones (keyed by tenant
/// id or default domain; a tenant's value wins over the global one).
///
/// Names are case-insensitive: setting `WiFi` replaces `wifi`. Every stored variable has
/// passed [`Variable::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Variables {
    global: BTreeMap<String, Variable>,
    tenants: BTreeMap<String, BTreeMap<String, Variable>>,
}

impl Variables {
    /// No variables.
    pub fn new() -> Self {
        Variables::default()
    }

    /// Validates and stores `variable` in `scope`, returning the one it replaces.
    pub fn set(
        &mut self,
        scope: &Scope,
        variable: Variable,
    ) -> Result<Option<Variable>, VariableError> {
        variable.validate()?;
        let key = variable.name.to_ascii_lowercase();
        let map = match scope {
            Scope::Global => &mut self.global,
            Scope::Tenant(t) => self.tenants.entry(tenant_key(t)?).or_default(),
        };
        Ok(map.insert(key, variable))
    }

    /// Validates and stores a global variable, returning the one it replaces.
    pub fn set_global(&mut self, variable: Variable) -> Result<Option<Variable>, VariableError> {
        self.set(&Scope::Global, variable)
    }

    /// Validates and stores a variable for one tenant (tenant id or default domain),
    /// returning the one it replaces.
    pub fn set_for_tenant(
        &mut self,
        tenant: &str,
        variable: Variable,
    ) -> Result<Option<Variable>, VariableError> {
        self.set(&Scope::Tenant(tenant.to_owned()), variable)
    }

    /// The variable named `name` (any case) in exactly `scope` (no fallback to global).
    pub fn get(&self, scope: &Scope, name: &str) -> Option<&Variable> {
        let key = name.to_ascii_lowercase();
        match scope {
            Scope::Global => self.global.get(&key),
            Scope::Tenant(t) => self
                .tenants
                .get(&t.trim().to_ascii_lowercase())
                .and_then(|m| m.get(&key)),
        }
    }

    /// Removes and returns the variable named `name` (any case) from `scope`.
    pub fn remove(&mut self, scope: &Scope, name: &str) -> Option<Variable> {
        let key = name.to_ascii_lowercase();
        match scope {
            Scope::Global => self.global.remove(&key),
            Scope::Tenant(t) => {
                let tk = t.trim().to_ascii_lowercase();
                let map = self.tenants.get_mut(&tk)?;
                let removed = map.remove(&key);
                if map.is_empty() {
                    self.tenants.remove(&tk);
                }
                removed
            }
        }
    }

    /// The variables stored in exactly `scope`, by name.
    pub fn list(&self, scope: &Scope) -> Vec<&Variable> {
        match scope {
            Scope::Global => self.global.values().collect(),
            Scope::Tenant(t) => self
                .tenants
                .get(&t.trim().to_ascii_lowercase())
                .map(|m| m.values().collect())
                .unwrap_or_default(),
        }
    }

    /// The tenant keys (lower case) that have variables of their own.
    pub fn tenants(&self) -> Vec<&str> {
        self.tenants.keys().map(String::as_str).collect()
    }

    /// The number of stored variables, all scopes together.
    pub fn len(&self) -> usize {
        self.global.len() + self.tenants.values().map(BTreeMap::len).sum::<usize>()
    }

    /// Whether no variable is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The resolver for one tenant: global variables, overridden by those stored under the
    /// tenant's default domain, overridden by those stored under its tenant id, plus the
    /// built-ins from `context`. (CIPP reads the default-domain rows only when no row is
    /// stored under the tenant id; here both apply, the tenant id winning.)
    pub fn resolve_for(&self, context: &TenantContext) -> Resolver {
        let mut custom = self.global.clone();
        for key in [&context.default_domain, &context.tenant_id] {
            if let Some(map) = self.tenants.get(&key.trim().to_ascii_lowercase()) {
                custom.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Resolver {
            context: context.clone(),
            custom,
            call: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tenant context
// ---------------------------------------------------------------------------------------

/// What the built-in variables are made of, for one target tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantContext {
    /// The tenant GUID (CIPP `customerId`): `%tenantid%`, `%organizationid%`.
    pub tenant_id: String,
    /// The default domain (`defaultDomainName`): `%tenantfilter%`, `%defaultdomain%`.
    pub default_domain: String,
    /// The initial `*.onmicrosoft.com` domain: `%initialdomain%`.
    #[serde(default)]
    pub initial_domain: Option<String>,
    /// The tenant's display name: `%tenantname%`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The partner (CIPP home) tenant id: `%partnertenantid%`.
    #[serde(default)]
    pub partner_tenant_id: Option<String>,
    /// The CIPP SAM application (client) id: `%samappid%`.
    #[serde(default)]
    pub sam_app_id: Option<String>,
    /// The id of CIPP's `_cippUser` schema extension: `%cippuserschema%`.
    #[serde(default)]
    pub cipp_user_schema: Option<String>,
    /// The configured CIPP URL: `%cippurl%`.
    #[serde(default)]
    pub cipp_url: Option<String>,
}

impl TenantContext {
    /// A context with the two values CIPP always has for a tenant: its GUID and default
    /// domain.
    pub fn new(tenant_id: impl Into<String>, default_domain: impl Into<String>) -> Self {
        TenantContext {
            tenant_id: tenant_id.into(),
            default_domain: default_domain.into(),
            initial_domain: None,
            display_name: None,
            partner_tenant_id: None,
            sam_app_id: None,
            cipp_user_schema: None,
            cipp_url: None,
        }
    }

    /// The context of a fleet [`Tenant`]: `None` unless its id is a GUID and its default
    /// domain is known (`%tenantid%` must be the GUID, not a domain).
    pub fn from_tenant(tenant: &Tenant) -> Option<Self> {
        if !tenant.id.is_guid() {
            return None;
        }
        let mut ctx = TenantContext::new(tenant.id.as_str(), tenant.default_domain.clone()?);
        ctx.initial_domain = tenant.initial_domain.clone();
        ctx.display_name = tenant.display_name.clone();
        Some(ctx)
    }

    /// Sets the initial (`onmicrosoft.com`) domain.
    pub fn with_initial_domain(mut self, domain: impl Into<String>) -> Self {
        self.initial_domain = Some(domain.into());
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the partner (CIPP home) tenant id.
    pub fn with_partner_tenant_id(mut self, id: impl Into<String>) -> Self {
        self.partner_tenant_id = Some(id.into());
        self
    }

    /// Sets the CIPP SAM application id.
    pub fn with_sam_app_id(mut self, id: impl Into<String>) -> Self {
        self.sam_app_id = Some(id.into());
        self
    }

    /// Sets the id of CIPP's `_cippUser` schema extension.
    pub fn with_cipp_user_schema(mut self, id: impl Into<String>) -> Self {
        self.cipp_user_schema = Some(id.into());
        self
    }

    /// Sets the CIPP URL.
    pub fn with_cipp_url(mut self, url: impl Into<String>) -> Self {
        self.cipp_url = Some(url.into());
        self
    }

    /// The value of tenant built-in `name` (any case): `None` if `name` is not a tenant
    /// built-in or the context has no value for it.
    pub fn built_in(&self, name: &str) -> Option<&str> {
        let n = name.to_ascii_lowercase();
        match n.as_str() {
            "tenantid" | "organizationid" => Some(&self.tenant_id),
            "tenantfilter" | "defaultdomain" => Some(&self.default_domain),
            "initialdomain" => self.initial_domain.as_deref(),
            "tenantname" => self.display_name.as_deref(),
            "partnertenantid" => self.partner_tenant_id.as_deref(),
            "samappid" => self.sam_app_id.as_deref(),
            "cippuserschema" => self.cipp_user_schema.as_deref(),
            "cippurl" => self.cipp_url.as_deref(),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scanning
// ---------------------------------------------------------------------------------------

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_percent_escape(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A piece of scanned text.
enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// `%name%`: the name and the whole token.
    Var { name: &'a str, raw: &'a str },
    /// `%CIPPGroup{name}%`: the display name and the whole token.
    Group { name: &'a str, raw: &'a str },
}

/// The end (index after the closing `%`) of a `%CIPPGroup{…}%` token opening at `p`.
fn group_end(text: &str, p: usize) -> Option<usize> {
    let open = p + GROUP_PREFIX.len();
    let prefix = text.get(p..open)?;
    if !prefix.eq_ignore_ascii_case(GROUP_PREFIX) {
        return None;
    }
    let rest = text.get(open..)?;
    let close = rest.find("}%")?;
    let name = &rest[..close];
    if name.is_empty() || name.contains(['\n', '\r']) {
        return None;
    }
    Some(open + close + 2)
}

/// Splits `text` into literal text and tokens (see the module documentation).
fn scan(text: &str) -> Vec<Piece<'_>> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while let Some(offset) = text.get(i..).and_then(|rest| rest.find('%')) {
        let p = i + offset;
        if bytes.get(p + 1) == Some(&b'%') {
            i = p + 2;
            continue;
        }
        if let Some(end) = group_end(text, p) {
            if literal_start < p {
                pieces.push(Piece::Text(&text[literal_start..p]));
            }
            pieces.push(Piece::Group {
                name: &text[p + GROUP_PREFIX.len()..end - 2],
                raw: &text[p..end],
            });
            i = end;
            literal_start = end;
            continue;
        }
        let name_start = p + 1;
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| is_name_byte(**b))
            .count();
        let name_end = name_start + name_len;
        let starts_with_letter = bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic);
        if starts_with_letter && bytes.get(name_end) == Some(&b'%') {
            let name = &text[name_start..name_end];
            if is_percent_escape(name) {
                // `%C3%A9`: text; the closing `%` may open the next token.
                i = name_end;
                continue;
            }
            if literal_start < p {
                pieces.push(Piece::Text(&text[literal_start..p]));
            }
            pieces.push(Piece::Var {
                name,
                raw: &text[p..=name_end],
            });
            i = name_end + 1;
            literal_start = i;
            continue;
        }
        i = p + 1;
    }
    if literal_start < text.len() {
        pieces.push(Piece::Text(&text[literal_start..]));
    }
    pieces
}

/// A token found in text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reference {
    /// `%name%`: the name as written, without `%`.
    Variable(String),
    /// `%CIPPGroup{name}%`: the group display name.
    Group(String),
}

fn push_reference(refs: &mut Vec<Reference>, text: &str) {
    for piece in scan(text) {
        let found = match piece {
            Piece::Text(_) => continue,
            Piece::Var { name, .. } => Reference::Variable(name.to_owned()),
            Piece::Group { name, .. } => Reference::Group(name.to_owned()),
        };
        let seen = refs.iter().any(|r| match (r, &found) {
            (Reference::Variable(a), Reference::Variable(b))
            | (Reference::Group(a), Reference::Group(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        });
        if !seen {
            refs.push(found);
        }
    }
}

/// Every token in `text`, once each (names compared case-insensitively), in order of first
/// appearance: variables (built-in, custom, Windows or unknown alike) and group references.
/// Use it to find the groups whose SIDs a [`Resolver`] needs, or where a variable is used.
///
/// ```
/// use cipp_templates::variables::{references, Reference};
/// let refs = references("%TenantName% 100% %CIPPGroup{Local Admins}% %tenantname% %20");
/// assert_eq!(refs, vec![
///     Reference::Variable("TenantName".into()),
///     Reference::Group("Local Admins".into()),
/// ]);
/// ```
pub fn references(text: &str) -> Vec<Reference> {
    let mut refs = Vec::new();
    push_reference(&mut refs, text);
    refs
}

/// Every token in the strings (keys and values) of a JSON document, as [`references`].
pub fn references_in_json(value: &Value) -> Vec<Reference> {
    fn walk(v: &Value, refs: &mut Vec<Reference>) {
        match v {
            Value::String(s) => push_reference(refs, s),
            Value::Array(items) => items.iter().for_each(|i| walk(i, refs)),
            Value::Object(map) => {
                for (k, v) in map {
                    push_reference(refs, k);
                    walk(v, refs);
                }
            }
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(value, &mut refs);
    refs
}

// ---------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------

/// What a name stands for.
enum Resolution<'a> {
    Custom(&'a Variable),
    BuiltIn(&'a str),
    Unavailable,
    LeaveAlone,
    Unknown,
}

/// What one substitution could not resolve.
#[derive(Default)]
struct Missing {
    names: Vec<String>,
    unavailable: Vec<String>,
    groups: Vec<String>,
    duplicate_key: Option<String>,
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        list.push(name.to_owned());
    }
}

impl Missing {
    fn finish<T>(self, tenant: &str, value: T) -> Result<T, VariableError> {
        if !self.names.is_empty() || !self.groups.is_empty() {
            return Err(VariableError::Unresolved {
                tenant: tenant.to_owned(),
                names: self.names,
                unavailable: self.unavailable,
                groups: self.groups,
            });
        }
        if let Some(key) = self.duplicate_key {
            return Err(VariableError::DuplicateKey { key: echo(&key) });
        }
        Ok(value)
    }
}

/// Substitutes variables for one tenant. Made by [`Variables::resolve_for`]; owns its data,
/// so it can be kept for the length of a deployment.
///
/// Every `substitute_*` method either replaces every token or returns
/// [`VariableError::Unresolved`] listing all the unresolved ones; it never returns a
/// partially substituted result.
#[derive(Clone, Debug)]
pub struct Resolver {
    context: TenantContext,
    custom: BTreeMap<String, Variable>,
    call: BTreeMap<String, Variable>,
    groups: BTreeMap<String, String>,
}

impl Resolver {
    /// A resolver with built-ins only (no custom variables).
    pub fn new(context: TenantContext) -> Self {
        Variables::new().resolve_for(&context)
    }

    /// The tenant context.
    pub fn context(&self) -> &TenantContext {
        &self.context
    }

    /// The custom variables in effect for this tenant (tenant values over global ones),
    /// by name.
    pub fn custom_variables(&self) -> impl Iterator<Item = &Variable> {
        self.custom.values()
    }

    /// Adds a call-specific string value, such as `resultcount` for alert comments. It wins
    /// over custom variables of the same name. Tenant built-ins and reserved Windows names
    /// are refused.
    pub fn with_value(
        self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, VariableError> {
        self.with_variable(Variable::new(name, value))
    }

    /// Adds a call-specific (possibly typed) variable; see [`Resolver::with_value`].
    pub fn with_variable(mut self, variable: Variable) -> Result<Self, VariableError> {
        check_name_syntax(&variable.name)?;
        if contains_ci(TENANT_BUILT_INS, &variable.name)
            || contains_ci(WINDOWS_RESERVED, &variable.name)
        {
            return Err(VariableError::InvalidName {
                name: echo(&variable.name),
                reason: "tenant built-ins and reserved Windows names cannot be overridden for a call; set the value on the TenantContext instead".into(),
            });
        }
        variable.literal()?;
        self.call
            .insert(variable.name.to_ascii_lowercase(), variable);
        Ok(self)
    }

    /// Supplies the SID of the group with display name `name` (matched case-insensitively),
    /// for `%CIPPGroup{name}%` tokens.
    pub fn with_group_sid(mut self, name: impl Into<String>, sid: impl Into<String>) -> Self {
        self.groups.insert(name.into().to_lowercase(), sid.into());
        self
    }

    fn resolve(&self, name: &str) -> Resolution<'_> {
        let key = name.to_ascii_lowercase();
        if contains_ci(WINDOWS_RESERVED, &key) {
            return Resolution::LeaveAlone;
        }
        if let Some(v) = self.call.get(&key).or_else(|| self.custom.get(&key)) {
            return Resolution::Custom(v);
        }
        if is_built_in(&key) {
            return match self.context.built_in(&key) {
                Some(v) => Resolution::BuiltIn(v),
                None => Resolution::Unavailable,
            };
        }
        if contains_ci(WINDOWS_ENVIRONMENT, &key) {
            return Resolution::LeaveAlone;
        }
        Resolution::Unknown
    }

    /// The text value of `name` (any case) for this tenant, as substitution would insert it
    /// in text: `None` if it is unresolved or a Windows token left alone.
    pub fn value(&self, name: &str) -> Option<String> {
        let mut missing = Missing::default();
        let value = match self.resolve(name) {
            Resolution::Custom(v) => self.expand_value(&v.value, &mut missing),
            Resolution::BuiltIn(v) => v.to_owned(),
            _ => return None,
        };
        missing.finish(&self.context.default_domain, value).ok()
    }

    fn group(&self, name: &str, raw: &str, out: &mut String, missing: &mut Missing) {
        match self.groups.get(&name.to_lowercase()) {
            Some(sid) => out.push_str(sid),
            None => {
                push_once(&mut missing.groups, name);
                out.push_str(raw);
            }
        }
    }

    /// A custom value with built-ins and group tokens expanded; other tokens are literal.
    fn expand_value(&self, value: &str, missing: &mut Missing) -> String {
        let mut out = String::with_capacity(value.len());
        for piece in scan(value) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, raw } => {
                    if contains_ci(TENANT_BUILT_INS, name) {
                        match self.context.built_in(name) {
                            Some(v) => out.push_str(v),
                            None => {
                                push_once(&mut missing.names, name);
                                push_once(&mut missing.unavailable, name);
                                out.push_str(raw);
                            }
                        }
                    } else {
                        out.push_str(raw);
                    }
                }
                Piece::Group { name, raw } => self.group(name, raw, &mut out, missing),
            }
        }
        out
    }

    fn text(&self, text: &str, missing: &mut Missing) -> String {
        if !text.contains('%') {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        for piece in scan(text) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, raw } => match self.resolve(name) {
                    Resolution::Custom(v) => out.push_str(&self.expand_value(&v.value, missing)),
                    Resolution::BuiltIn(v) => out.push_str(v),
                    Resolution::LeaveAlone => out.push_str(raw),
                    Resolution::Unavailable => {
                        push_once(&mut missing.names, name);
                        push_once(&mut missing.unavailable, name);
                        out.push_str(raw);
                    }
                    Resolution::Unknown => {
                        push_once(&mut missing.names, name);
                        out.push_str(raw);
                    }
                },
                Piece::Group { name, raw } => self.group(name, raw, &mut out, missing),
            }
        }
        out
    }

    /// The bare literal for a string slot that is exactly one typed variable's token.
    fn whole_slot(&self, s: &str, missing: &mut Missing) -> Option<Value> {
        let name = s.strip_prefix('%')?.strip_suffix('%')?;
        if !name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            || !name.bytes().all(is_name_byte)
            || is_percent_escape(name)
        {
            return None;
        }
        let Resolution::Custom(var) = self.resolve(name) else {
            return None;
        };
        if var.kind == VariableType::String {
            return None;
        }
        // Stored variables are validated, so the literal parses; if it ever did not, the
        // value is inserted as text instead.
        let literal = var.literal().ok()?;
        Some(match var.kind {
            VariableType::Json => self.expand_json(&literal, missing),
            _ => literal,
        })
    }

    /// A typed JSON value's strings with built-ins and groups expanded.
    fn expand_json(&self, value: &Value, missing: &mut Missing) -> Value {
        match value {
            Value::String(s) => Value::String(self.expand_value(s, missing)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.expand_json(i, missing)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.expand_value(k, missing), self.expand_json(v, missing)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn json(&self, value: &Value, missing: &mut Missing) -> Value {
        match value {
            Value::String(s) => match self.whole_slot(s, missing) {
                Some(literal) => literal,
                None => Value::String(self.text(s, missing)),
            },
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.json(i, missing)).collect())
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let key = self.text(k, missing);
                    let val = self.json(v, missing);
                    if out.insert(key.clone(), val).is_some() && missing.duplicate_key.is_none() {
                        missing.duplicate_key = Some(key);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// Substitutes variables in plain text (HTML, scripts, URLs before encoding, alert
    /// comments). Values are inserted as stored, with no escaping.
    pub fn substitute_text(&self, text: &str) -> Result<String, VariableError> {
        let mut missing = Missing::default();
        let out = self.text(text, &mut missing);
        missing.finish(&self.context.default_domain, out)
    }

    /// Substitutes variables in every string of a JSON document, object keys included.
    ///
    /// A string value that is exactly one token of a typed variable becomes the bare
    /// literal (`"%maxdays%"` → `300`); anywhere else values are inserted into the decoded
    /// string, so quotes, backslashes and newlines in values need no escaping and the
    /// result is always valid JSON. Two keys of one object becoming equal is an error.
    pub fn substitute_json(&self, value: &Value) -> Result<Value, VariableError> {
        let mut missing = Missing::default();
        let out = self.json(value, &mut missing);
        missing.finish(&self.context.default_domain, out)
    }

    /// Substitutes variables in raw JSON text (CIPP's `-EscapeForJson` use: `RAWJson`
    /// bodies), keeping its layout and key order: each string literal is decoded,
    /// substituted as in [`Resolver::substitute_json`] and re-encoded (unchanged literals
    /// are copied byte for byte). A value-position literal that is exactly `"%var%"` of a
    /// typed variable becomes the bare literal. The text must be valid JSON; the result is.
    /// Duplicate keys are passed through as in the input.
    pub fn substitute_json_text(&self, text: &str) -> Result<String, VariableError> {
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
            VariableError::InvalidJson {
                reason: e.to_string(),
            }
        })?;
        let bytes = text.as_bytes();
        let mut missing = Missing::default();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => break,
                    _ => i += 1,
                }
            }
            let end = (i + 1).min(bytes.len());
            i = end;
            let Some(literal) = text.get(start..end) else {
                continue;
            };
            if !literal.contains(['%', '\\']) {
                continue;
            }
            let decoded: String =
                serde_json::from_str(literal).map_err(|e| VariableError::InvalidJson {
                    reason: e.to_string(),
                })?;
            let is_key = text.get(end..).is_some_and(|rest| {
                rest.trim_start_matches([' ', '\t', '\n', '\r'])
                    .starts_with(':')
            });
            let slot = if is_key {
                None
            } else {
                self.whole_slot(&decoded, &mut missing)
            };
            let replacement = match slot {
                Some(v) => v.to_string(),
                None => {
                    let substituted = self.text(&decoded, &mut missing);
                    if substituted == decoded {
                        continue;
                    }
                    Value::String(substituted).to_string()
                }
            };
            out.push_str(&text[copied..start]);
            out.push_str(&replacement);
            copied = end;
        }
        out.push_str(&text[copied..]);
        missing.finish(&self.context.default_domain, out)
    }
}
