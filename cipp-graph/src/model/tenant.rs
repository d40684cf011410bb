//! Organization, domains and licences.

use serde::{Deserialize, Serialize};

use super::common::{model_with_nulls, Extra, SkuId};

model_with_nulls! {
    /// A verified domain as listed on the organization.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct VerifiedDomain {
        /// Domain name.
        name: String,
        /// Whether it is the default.
        is_default: Option<bool>,
        /// Whether it is the initial `*.onmicrosoft.com` domain.
        is_initial: Option<bool>,
        /// Everything else the service sent.
        #[serde(flatten)]
        extra: Extra,
    }
}

model_with_nulls! {
    /// The tenant's organization object.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct Organization {
        /// Tenant id.
        id: String,
        /// Organisation name.
        display_name: Option<String>,
        /// Verified domains.
        verified_domains: Vec<VerifiedDomain>,
        /// Everything else.
        #[serde(flatten)]
        extra: Extra,
    }
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

model_with_nulls! {
    /// A domain of the tenant (`/domains`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct Domain {
        /// The domain name.
        id: String,
        /// Whether it is verified.
        is_verified: Option<bool>,
        /// Whether it is the default.
        is_default: Option<bool>,
        /// Whether it is the initial domain.
        is_initial: Option<bool>,
        /// `Managed` or `Federated`.
        authentication_type: Option<String>,
        /// Everything else.
        #[serde(flatten)]
        extra: Extra,
    }
}

model_with_nulls! {
    /// Seat counts of a subscription.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct PrepaidUnits {
        /// Seats bought and active.
        enabled: Option<i64>,
        /// Seats suspended.
        suspended: Option<i64>,
        /// Seats in warning.
        warning: Option<i64>,
        /// Everything else the service sent.
        #[serde(flatten)]
        extra: Extra,
    }
}

model_with_nulls! {
    /// A licence the tenant has (`subscribedSkus`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SubscribedSku {
        /// Subscription id.
        #[serde(default)]
        id: Option<String>,
        /// SKU id.
        sku_id: SkuId,
        /// Part number (`ENTERPRISEPACK`, `SPE_E3`, …).
        #[serde(default)]
        sku_part_number: Option<String>,
        /// Seats used.
        #[serde(default)]
        consumed_units: Option<i64>,
        /// Seats bought.
        #[serde(default)]
        prepaid_units: Option<PrepaidUnits>,
        /// `Enabled`, `Suspended`, …
        #[serde(default)]
        capability_status: Option<String>,
        /// Everything else.
        #[serde(flatten)]
        extra: Extra,
    }
}

impl SubscribedSku {
    /// Seats still free.
    pub fn available(&self) -> Option<i64> {
        let enabled = self.prepaid_units.as_ref()?.enabled?;
        Some(enabled - self.consumed_units.unwrap_or(0))
    }
}
