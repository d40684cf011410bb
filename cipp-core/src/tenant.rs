//! Tenant identifiers and records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A Microsoft Entra tenant, named by its GUID or by one of its domains.
///
/// The value is validated when parsed: a GUID (`8-4-4-4-12` hex digits) or a DNS domain
/// (`contoso.onmicrosoft.com`). GUIDs are kept in lower case; domains are kept in lower case
/// too, since Entra treats them case-insensitively. Cloning is cheap (shared string).
///
/// ```
/// use cipp_core::TenantId;
/// let t: TenantId = "Contoso.OnMicrosoft.com".parse()?;
/// assert_eq!(t.as_str(), "contoso.onmicrosoft.com");
/// assert!(!t.is_guid());
/// assert!("not a tenant".parse::<TenantId>().is_err());
/// # Ok::<(), cipp_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(std::sync::Arc<str>);

impl TenantId {
    /// Parses and validates a tenant id (GUID or domain).
    pub fn parse(value: &str) -> Result<Self, Error> {
        let v = value.trim();
        if is_guid(v) || is_domain(v) {
            Ok(TenantId(v.to_ascii_lowercase().into()))
        } else {
            Err(Error::invalid_input(
                "tenant",
                format!("`{value}` is neither a tenant GUID nor a domain such as contoso.onmicrosoft.com"),
            ))
        }
    }

    /// The id as sent in URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id is a GUID (rather than a domain).
    pub fn is_guid(&self) -> bool {
        is_guid(&self.0)
    }
}

impl Serialize for TenantId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TenantId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for TenantId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TenantId::parse(s)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(s: &str) -> bool {
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) && s
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

/// A customer (or partner) tenant as the fleet knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// The tenant id (the GUID when known).
    pub id: TenantId,
    /// The default domain (for example `contoso.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<String>,
    /// The initial `*.onmicrosoft.com` domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_domain: Option<String>,
    /// The organisation's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Tenant {
    /// A tenant known only by its id.
    pub fn new(id: TenantId) -> Self {
        Tenant {
            id,
            default_domain: None,
            initial_domain: None,
            display_name: None,
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the default domain.
    pub fn with_default_domain(mut self, domain: impl Into<String>) -> Self {
        self.default_domain = Some(domain.into());
        self
    }

    /// Sets the initial domain.
    pub fn with_initial_domain(mut self, domain: impl Into<String>) -> Self {
        self.initial_domain = Some(domain.into());
        self
    }

    /// The best human-readable name: display name, default domain, or the id.
    pub fn label(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.default_domain.as_deref())
            .unwrap_or(self.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_and_domain_accepted() {
        let g = TenantId::parse("0B3C1A4E-1111-2222-3333-444455556666").unwrap();
        assert!(g.is_guid());
        assert_eq!(g.as_str(), "0b3c1a4e-1111-2222-3333-444455556666");
        assert!(TenantId::parse("contoso.onmicrosoft.com").is_ok());
    }

    #[test]
    fn bad_ids_rejected() {
        for bad in [
            "",
            "contoso",
            "a b.com",
            "-x.com",
            "0b3c1a4e-1111-2222-3333-44445555666",
            "1.2.3.4",
            "x/../y.com",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<TenantId>("\"nope\"").is_err());
        let t: Tenant =
            serde_json::from_str(r#"{"id":"contoso.com","displayName":"Contoso"}"#).unwrap();
        assert_eq!(t.label(), "Contoso");
    }
}
