//! The DNS records Microsoft expects for a domain of the tenant
//! (`GET /domains/{id}/serviceConfigurationRecords`): the MX record pointing at Exchange
//! Online Protection, the SPF TXT record, the autodiscover CNAME, and the records of the
//! other services the domain supports. Compare them with the domain's real DNS to see
//! whether mail reaches Exchange Online directly.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::domain_records::service_configuration_records;
//!
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let r = service_configuration_records(&t, "Contoso.com")?;
//! assert_eq!(r.path(), "/v1.0/domains/contoso.com/serviceConfigurationRecords");
//! assert!(service_configuration_records(&t, "../users").is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde::{Deserialize, Serialize};

use crate::model::Extra;
use crate::op;

/// One DNS record Microsoft expects (`domainDnsRecord` and its subtypes: `domainDnsMxRecord`,
/// `domainDnsTxtRecord`, `domainDnsCnameRecord`, `domainDnsSrvRecord`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct DomainDnsRecord {
    /// `#microsoft.graph.domainDnsMxRecord`, …
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// `Mx`, `Txt`, `CName`, `Srv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// The host the record is for (the domain itself for MX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `Email`, `OfficeCommunicationsOnline`, `Intune`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_service: Option<String>,
    /// Whether the service works without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_optional: Option<bool>,
    /// Time to live, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// MX: the mail host (`contoso-com.mail.protection.outlook.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_exchange: Option<String>,
    /// MX: the preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<i64>,
    /// TXT: the text (`v=spf1 include:spf.protection.outlook.com -all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// CNAME: the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_name: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(DomainDnsRecord, extra);

impl DomainDnsRecord {
    /// Whether this is an MX record.
    pub fn is_mx(&self) -> bool {
        self.record_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("mx"))
            || self.odata_type.as_deref().is_some_and(|t| {
                t.trim_start_matches('#')
                    .eq_ignore_ascii_case("microsoft.graph.domainDnsMxRecord")
            })
    }
}

/// Checks a domain name (letters, digits, hyphens, dots) and lower-cases it.
fn domain_name(domain: &str) -> Result<String, Error> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(d)
    } else {
        Err(Error::invalid_input(
            "domain",
            format!("`{domain}` is not a domain name; give one of the tenant's domains, like contoso.com"),
        ))
    }
}

/// `GET /domains/{domain}/serviceConfigurationRecords`.
pub fn service_configuration_records(tenant: &TenantId, domain: &str) -> Result<ApiRequest, Error> {
    let d = domain_name(domain)?;
    Ok(op::request(
        tenant,
        Method::GET,
        format!("/v1.0/domains/{d}/serviceConfigurationRecords"),
        "list domain service configuration records",
    ))
}

impl crate::directory::Directory {
    /// The DNS records Microsoft expects for one of the tenant's domains.
    pub fn service_configuration_records(&self, domain: &str) -> crate::List<DomainDnsRecord> {
        self.0
            .list_of(service_configuration_records(self.0.id(), domain))
    }
}
