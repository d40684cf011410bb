//! Organization, domains and licences.

use serde::{Deserialize, Serialize};

use super::common::{Extra, SkuId};

/// A verified domain as listed on the organization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    /// Domain name.
    #[serde(default)]
    pub name: String,
    /// Whether it is the default.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Whether it is the initial `*.onmicrosoft.com` domain.
    #[serde(default)]
    pub is_initial: Option<bool>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The tenant's organization object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Tenant id.
    #[serde(default)]
    pub id: String,
    /// Organisation name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Verified domains.
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Organization {
    /// The default domain.
    pub fn default_domain(&self) -> Option<&str> {
        self.verified_domains
            .iter()
            .find(|d| d.is_default == Some(true))
            .map(|d| d.name.as_str())
    }

    /// The initial `*.onmicrosoft.com` domain.
    pub fn initial_domain(&self) -> Option<&str> {
        self.verified_domains
            .iter()
            .find(|d| d.is_initial == Some(true))
            .map(|d| d.name.as_str())
    }
}

/// A domain of the tenant (`/domains`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// The domain name.
    #[serde(default)]
    pub id: String,
    /// Whether it is verified.
    #[serde(default)]
    pub is_verified: Option<bool>,
    /// Whether it is the default.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Whether it is the initial domain.
    #[serde(default)]
    pub is_initial: Option<bool>,
    /// `Managed` or `Federated`.
    #[serde(default)]
    pub authentication_type: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Seat counts of a subscription.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    /// Seats bought and active.
    #[serde(default)]
    pub enabled: Option<i64>,
    /// Seats suspended.
    #[serde(default)]
    pub suspended: Option<i64>,
    /// Seats in warning.
    #[serde(default)]
    pub warning: Option<i64>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A licence the tenant has (`subscribedSkus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// Subscription id.
    #[serde(default)]
    pub id: Option<String>,
    /// SKU id.
    pub sku_id: SkuId,
    /// Part number (`ENTERPRISEPACK`, `SPE_E3`, …).
    #[serde(default)]
    pub sku_part_number: Option<String>,
    /// Seats used.
    #[serde(default)]
    pub consumed_units: Option<i64>,
    /// Seats bought.
    #[serde(default)]
    pub prepaid_units: Option<PrepaidUnits>,
    /// `Enabled`, `Suspended`, …
    #[serde(default)]
    pub capability_status: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SubscribedSku {
    /// Seats still free.
    pub fn available(&self) -> Option<i64> {
        let enabled = self.prepaid_units.as_ref()?.enabled?;
        Some(enabled - self.consumed_units.unwrap_or(0))
    }
}
