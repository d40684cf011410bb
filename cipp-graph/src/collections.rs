//! Generic Graph collections: list, get, create and update objects of a collection this
//! crate does not model yet, as raw JSON. This is the escape hatch for templates of kinds
//! without their own handler (for example `beta/deviceManagement/deviceEnrollmentConfigurations`):
//! the caller names the collection, the objects travel as `serde_json::Value`.
//!
//! A [`CollectionPath`] is checked strictly before any request is built: relative to the
//! Graph root, starting with the API version (`beta/` or `v1.0/`), no scheme or host, no
//! leading `/`, no query or fragment, no `.`/`..` or empty segments, and only letters,
//! digits, `-`, `_` and `.` in each segment — so a path taken from a template can never
//! leave the Graph host, reach `$batch`, or smuggle OData arguments. Object ids are checked
//! the same way and percent-encoded.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::collections::{self, CollectionPath};
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let c = CollectionPath::parse("beta/deviceManagement/deviceEnrollmentConfigurations")?;
//! let op = collections::get(&t, &c, "8d2b5f3e-0000-4000-8000-000000000001_Limit")?;
//! assert_eq!(
//!     op.request().path(),
//!     "/beta/deviceManagement/deviceEnrollmentConfigurations/8d2b5f3e-0000-4000-8000-000000000001_Limit"
//! );
//! assert!(CollectionPath::parse("https://graph.microsoft.com/beta/users").is_err());
//! assert!(CollectionPath::parse("beta/users/../groups").is_err());
//! assert!(CollectionPath::parse("beta/users?$top=1").is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use std::fmt;

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde_json::Value;

use crate::odata::Query;
use crate::op::{json, request, unit, with_body, GraphOp};

/// The API versions a [`CollectionPath`] may start with.
pub const VERSIONS: &[&str] = &["beta", "v1.0"];

/// Longest collection path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 400;

/// Most segments a collection path may have after its version.
pub const MAX_SEGMENTS: usize = 12;

/// Longest object id accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// A Graph collection relative to the Graph root, with its API version
/// (`beta/deviceManagement/deviceEnrollmentConfigurations`), checked when made (see the
/// module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionPath {
    version: &'static str,
    path: String,
}

fn bad(path: &str, why: &str) -> Error {
    Error::invalid_input(
        "collection",
        format!(
            "`{path}` is not a Graph collection path: {why}; write it relative to the Graph \
             root with its version, for example beta/deviceManagement/deviceEnrollmentConfigurations"
        ),
    )
}

fn segment_ok(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl CollectionPath {
    /// Checks `path` (see the module docs); the error says what is wrong and what to write.
    pub fn parse(path: &str) -> Result<CollectionPath, Error> {
        if path.is_empty() {
            return Err(bad(path, "it is empty"));
        }
        if path.len() > MAX_PATH_LEN {
            return Err(bad(
                path,
                &format!("it is longer than {MAX_PATH_LEN} characters"),
            ));
        }
        if path.contains("://") || path.contains(':') {
            return Err(bad(
                path,
                "it must be relative: no scheme, host or port (Graph's host comes from the \
                 client's cloud)",
            ));
        }
        if path.starts_with('/') {
            return Err(bad(path, "it must not start with /"));
        }
        if path.contains('?') || path.contains('#') || path.contains('&') || path.contains('$') {
            return Err(bad(
                path,
                "it must not carry a query, fragment or OData system segment ($, ?, #, &)",
            ));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(path, "it holds white space or control characters"));
        }
        let mut segments = path.split('/');
        let version = segments.next().unwrap_or_default();
        let Some(version) = VERSIONS.iter().find(|v| **v == version) else {
            return Err(bad(
                path,
                "it must start with the API version, beta/ or v1.0/",
            ));
        };
        let rest: Vec<&str> = segments.collect();
        if rest.is_empty() {
            return Err(bad(path, "it names no collection after the version"));
        }
        if rest.len() > MAX_SEGMENTS {
            return Err(bad(
                path,
                &format!("it has more than {MAX_SEGMENTS} segments"),
            ));
        }
        for s in &rest {
            if s.is_empty() {
                return Err(bad(path, "it has an empty segment (// or a trailing /)"));
            }
            if *s == "." || *s == ".." {
                return Err(bad(path, "it must not hold . or .. segments"));
            }
            if !segment_ok(s) {
                return Err(bad(
                    path,
                    "segments may hold only letters, digits, -, _ and . (no %, \\, quotes or \
                     parentheses)",
                ));
            }
        }
        Ok(CollectionPath {
            version,
            path: rest.join("/"),
        })
    }

    /// The API version (`beta` or `v1.0`).
    pub fn version(&self) -> &str {
        self.version
    }

    /// The collection after the version (`deviceManagement/deviceEnrollmentConfigurations`).
    pub fn collection(&self) -> &str {
        &self.path
    }

    /// The path a request is sent to (`/beta/deviceManagement/deviceEnrollmentConfigurations`).
    pub fn request_path(&self) -> String {
        format!("/{}/{}", self.version, self.path)
    }

    /// The path of the object `id` in this collection (`id` checked and percent-encoded).
    pub fn item_path(&self, id: &str) -> Result<String, Error> {
        check_id(id)?;
        Ok(format!("{}/{}", self.request_path(), encode_component(id)))
    }
}

impl fmt::Display for CollectionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.version, self.path)
    }
}

impl std::str::FromStr for CollectionPath {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CollectionPath::parse(s)
    }
}

/// Checks an object id: 1 to [`MAX_ID_LEN`] letters, digits, `-`, `_`, `.` or `:`, not `.`
/// or `..` (GUIDs, Intune's `{guid}_{suffix}` ids, and other key shapes Graph uses).
pub fn check_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "id",
            format!("`{id}` is not an object id (letters, digits, - _ . : only)"),
        ))
    }
}

fn object<'a>(body: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, Error> {
    body.as_object()
        .ok_or_else(|| Error::invalid_input("body", format!("{what} must be a JSON object")))
}

/// Lists `collection` (paged: follow `@odata.nextLink`), `query` checked and applied.
pub fn list(
    tenant: &TenantId,
    collection: &CollectionPath,
    query: &Query,
) -> Result<ApiRequest, Error> {
    query.validate(999)?;
    Ok(query.apply(request(
        tenant,
        Method::GET,
        collection.request_path(),
        "list graph collection",
    )))
}

/// Reads the object `id` of `collection`, as Graph sends it.
pub fn get(
    tenant: &TenantId,
    collection: &CollectionPath,
    id: &str,
) -> Result<GraphOp<Value>, Error> {
    Ok(GraphOp::new(
        request(
            tenant,
            Method::GET,
            collection.item_path(id)?,
            "get graph collection object",
        ),
        json,
    ))
}

/// Creates an object in `collection` (`POST` of `body`, a JSON object; not idempotent, so
/// never resent after an ambiguous failure). Answers the created object.
pub fn create(
    tenant: &TenantId,
    collection: &CollectionPath,
    body: &Value,
) -> Result<GraphOp<Value>, Error> {
    object(body, "an object to create")?;
    with_body(
        tenant,
        Method::POST,
        collection.request_path(),
        "create graph collection object",
        body,
        json,
    )
}

/// Changes the object `id` of `collection`: `PATCH` of `changes` (a JSON object with at
/// least one property; idempotent). Answers nothing (204).
pub fn update(
    tenant: &TenantId,
    collection: &CollectionPath,
    id: &str,
    changes: &Value,
) -> Result<GraphOp<()>, Error> {
    if object(changes, "the changes")?.is_empty() {
        return Err(Error::invalid_input("body", "nothing to change"));
    }
    with_body(
        tenant,
        Method::PATCH,
        collection.item_path(id)?,
        "update graph collection object",
        changes,
        unit,
    )
}

/// Generic collections in one tenant (`graph.tenant(&t).collections()`): see the module
/// docs.
#[derive(Clone, Debug)]
pub struct Collections(pub(crate) crate::TenantGraph);

impl Collections {
    /// Every object of `collection` (awaiting collects every page).
    pub fn list(&self, collection: &CollectionPath) -> crate::List<Value> {
        let c = collection.clone();
        self.0.list(move |t, q| list(t, &c, q))
    }
    /// One object.
    pub fn get(&self, collection: &CollectionPath, id: &str) -> crate::Call<Value> {
        self.0.call(get(self.0.id(), collection, id))
    }
    /// Creates an object ([`create`]).
    pub fn create(&self, collection: &CollectionPath, body: &Value) -> crate::Call<Value> {
        self.0.call(create(self.0.id(), collection, body))
    }
    /// Changes an object ([`update`]).
    pub fn update(
        &self,
        collection: &CollectionPath,
        id: &str,
        changes: &Value,
    ) -> crate::Call<()> {
        self.0.call(update(self.0.id(), collection, id, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        let ok =
            CollectionPath::parse("beta/deviceManagement/deviceEnrollmentConfigurations").unwrap();
        assert_eq!(ok.version(), "beta");
        assert_eq!(
            ok.collection(),
            "deviceManagement/deviceEnrollmentConfigurations"
        );
        assert_eq!(
            ok.to_string(),
            "beta/deviceManagement/deviceEnrollmentConfigurations"
        );
        assert!(CollectionPath::parse("v1.0/groups").is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("https://graph.microsoft.com/beta/users", "relative"),
            ("//evil.example/beta/users", "relative"),
            ("graph.microsoft.com:443/beta/users", "relative"),
            ("/beta/users", "start with /"),
            ("beta/users?$top=1", "query"),
            ("beta/users#x", "query"),
            ("beta/$batch", "query"),
            ("beta/users/../groups", ".."),
            ("beta/./users", ".."),
            ("beta//users", "empty segment"),
            ("beta/users/", "empty segment"),
            ("v2.0/users", "API version"),
            ("users", "API version"),
            ("beta", "no collection"),
            ("beta/users%2F..", "letters, digits"),
            ("beta/users('x')", "letters, digits"),
            ("beta/us ers", "white space"),
            ("beta\\users", "API version"),
        ] {
            let e = CollectionPath::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("beta/{}", "a/".repeat(13).trim_end_matches('/'));
        assert!(CollectionPath::parse(&long).is_err());
    }

    #[test]
    fn ids_are_checked_and_encoded() {
        let c = CollectionPath::parse("beta/deviceManagement/roleScopeTags").unwrap();
        assert_eq!(
            c.item_path("0").unwrap(),
            "/beta/deviceManagement/roleScopeTags/0"
        );
        for bad in ["", "..", "a/b", "a?b", "a b", "a%2Fb"] {
            assert!(c.item_path(bad).is_err(), "{bad}");
        }
    }
}
