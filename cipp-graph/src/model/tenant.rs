//! Organization, domains and licences.

use serde::{Deserialize, Serialize};

use super::common::{model_with_nulls, Extra, SkuId};

model_with_nulls! {
    /// A verified domain as listed on the organization.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct VerifiedDomain {
        /// Domain name.
        name: String,
        /// Whether it is the default.
        is_default: Option<bool>,
        /// Whether it is the initial `*.onmicrosoft.com` domain.
        is_initial: Option<bool>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(VerifiedDomain, extra);

model_with_nulls! {
    /// The tenant's organization object.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct Organization {
        /// Tenant id.
        id: String,
        /// Organisation name.
        display_name: Option<String>,
        /// Verified domains.
        verified_domains: Vec<VerifiedDomain>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(Organization, extra);

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
    #[serde(remote = "Self", rename_all = "camelCase", default)]
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
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(Domain, extra);

model_with_nulls! {
    /// Seat counts of a subscription.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct PrepaidUnits {
        /// Seats bought and active.
        enabled: Option<i64>,
        /// Seats suspended.
        suspended: Option<i64>,
        /// Seats in warning.
        warning: Option<i64>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(PrepaidUnits, extra);

model_with_nulls! {
    /// A licence the tenant has (`subscribedSkus`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
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
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(SubscribedSku, extra);

impl SubscribedSku {
    /// Seats still free.
    pub fn available(&self) -> Option<i64> {
        let enabled = self.prepaid_units.as_ref()?.enabled?;
        Some(enabled - self.consumed_units.unwrap_or(0))
    }
}

model_with_nulls! {
    /// An eligible (PIM) directory role assignment: the principal may activate the role
    /// (`roleManagement/directory/roleEligibilityScheduleInstances`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct RoleEligibility {
        /// Id.
        id: Option<String>,
        /// The user or role-assignable group that is eligible.
        principal_id: Option<String>,
        /// The role definition id (the role template id for built-in roles).
        role_definition_id: Option<String>,
        /// `/` for the whole directory, else an administrative unit or app scope.
        directory_scope_id: Option<String>,
        /// `Direct` or `Group` (eligible through a group).
        member_type: Option<String>,
        /// From when.
        start_date_time: Timestamp,
        /// Until when (`null`: permanent).
        end_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(RoleEligibility, extra);
