//! Users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{timestamp, Extra, Field, SkuId, UserId};

/// A licence assigned to a user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// The SKU.
    pub sku_id: SkuId,
    /// Service plans switched off in this assignment.
    #[serde(default)]
    pub disabled_plans: Vec<String>,
}

/// A Microsoft Graph user (the properties CIPP reads, and every other one kept in `extra`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<UserId>,
    /// User principal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Whether sign-in is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_enabled: Option<bool>,
    /// Primary SMTP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// Mail alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_nickname: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Office location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_location: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Business phones (Graph allows one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phones: Option<Vec<String>>,
    /// Other e-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_mails: Option<Vec<String>>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Two-letter usage location (needed for licensing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<String>,
    /// `Member` or `Guest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// Proxy addresses (`SMTP:` primary, `smtp:` secondary); read-only in Graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_addresses: Option<Vec<String>>,
    /// Assigned licences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_licenses: Option<Vec<AssignedLicense>>,
    /// Password policies (`DisablePasswordExpiration`, `DisableStrongPassword`, or `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policies: Option<String>,
    /// Whether the user is synchronised from on-premises AD (`null` for cloud users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_sync_enabled: Option<bool>,
    /// The on-premises immutable id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_immutable_id: Option<String>,
    /// Last directory sync.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub on_premises_last_sync_date_time: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Deletion time (deleted items only).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub deleted_date_time: Option<DateTime<Utc>>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

impl User {
    /// Whether the user is directory-synchronised (password resets go through writeback,
    /// sign-in changes are overwritten by sync).
    pub fn is_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
    }

    /// Whether the user is a guest (`#EXT#` UPN or `userType` Guest).
    pub fn is_guest(&self) -> bool {
        self.user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
            || self
                .user_principal_name
                .as_deref()
                .is_some_and(|u| u.contains("#EXT#"))
    }
}

/// The password of a new or reset user.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordProfile {
    /// Whether the user must change it at next sign-in.
    pub force_change_password_next_sign_in: bool,
    /// The password (serialised only into the request body).
    #[serde(serialize_with = "expose")]
    pub password: secrecy::SecretString,
}

fn expose<S: serde::Serializer>(p: &secrecy::SecretString, s: S) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    s.serialize_str(p.expose_secret())
}

/// A new user.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// Display name.
    pub display_name: String,
    /// Mail alias (the part before `@` by default).
    pub mail_nickname: String,
    /// User principal name on a verified domain.
    pub user_principal_name: String,
    /// The initial password.
    pub password_profile: PasswordProfile,
    /// Two-letter usage location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<String>,
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Any other properties to set.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A change to a user: each field is left alone, set, or cleared.
///
/// ```
/// use cipp_graph::model::{Field, UserPatch};
/// let p = UserPatch { job_title: Field::Set("Engineer".into()), department: Field::Clear, ..Default::default() };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"jobTitle":"Engineer","department":null}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPatch {
    /// Display name.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub display_name: Field<String>,
    /// Given name.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub given_name: Field<String>,
    /// Surname.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub surname: Field<String>,
    /// User principal name (use `UsersApi::change_upn` to check the domain first).
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub user_principal_name: Field<String>,
    /// Mail alias.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub mail_nickname: Field<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub job_title: Field<String>,
    /// Department.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub department: Field<String>,
    /// Company name.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub company_name: Field<String>,
    /// Office location.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub office_location: Field<String>,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub mobile_phone: Field<String>,
    /// Business phones (clear with `Set(vec![])`).
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub business_phones: Field<Vec<String>>,
    /// Other e-mail addresses (clear with `Set(vec![])`).
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub other_mails: Field<Vec<String>>,
    /// Street address.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub street_address: Field<String>,
    /// City.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub city: Field<String>,
    /// State.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub state: Field<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub postal_code: Field<String>,
    /// Country.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub country: Field<String>,
    /// Usage location.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub usage_location: Field<String>,
    /// Whether sign-in is allowed.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub account_enabled: Field<bool>,
    /// Password policies.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub password_policies: Field<String>,
    /// On-premises immutable id (clear to detach a previously synced user).
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub on_premises_immutable_id: Field<String>,
    /// Any other properties.
    #[serde(flatten)]
    pub extra: super::common::Extra,
}

impl UserPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_object().map(|m| m.is_empty()))
            .unwrap_or(true)
    }
}

/// A deleted directory object as restored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectoryObject {
    /// `@odata.type`, for example `#microsoft.graph.user`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}
