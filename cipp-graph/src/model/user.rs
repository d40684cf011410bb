//! Users.

use serde::{Deserialize, Serialize};

use super::common::{model, Extra, Field, SkuId, UserId};

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

model! {
    /// A Microsoft Graph user (the properties CIPP reads, and every other one kept in `extra`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct User {
        /// Object id.
        id: Option<UserId>,
        /// User principal name.
        user_principal_name: Option<String>,
        /// Display name.
        display_name: Option<String>,
        /// Given name.
        given_name: Option<String>,
        /// Surname.
        surname: Option<String>,
        /// Whether sign-in is allowed.
        account_enabled: Option<bool>,
        /// Primary SMTP address.
        mail: Option<String>,
        /// Mail alias.
        mail_nickname: Option<String>,
        /// Job title.
        job_title: Option<String>,
        /// Department.
        department: Option<String>,
        /// Company name.
        company_name: Option<String>,
        /// Office location.
        office_location: Option<String>,
        /// Mobile phone.
        mobile_phone: Option<String>,
        /// Business phones (Graph allows one).
        business_phones: Option<Vec<String>>,
        /// Other e-mail addresses.
        other_mails: Option<Vec<String>>,
        /// Street address.
        street_address: Option<String>,
        /// City.
        city: Option<String>,
        /// State or province.
        state: Option<String>,
        /// Postal code.
        postal_code: Option<String>,
        /// Country.
        country: Option<String>,
        /// Two-letter usage location (needed for licensing).
        usage_location: Option<String>,
        /// `Member` or `Guest`.
        user_type: Option<String>,
        /// Preferred language.
        preferred_language: Option<String>,
        /// Proxy addresses (`SMTP:` primary, `smtp:` secondary); read-only in Graph.
        proxy_addresses: Option<Vec<String>>,
        /// Assigned licences.
        assigned_licenses: Option<Vec<AssignedLicense>>,
        /// Password policies (`DisablePasswordExpiration`, `DisableStrongPassword`, or `None`).
        password_policies: Option<String>,
        /// Whether the user is synchronised from on-premises AD (`null` for cloud users).
        on_premises_sync_enabled: Option<bool>,
        /// The on-premises immutable id.
        on_premises_immutable_id: Option<String>,
        /// Last directory sync.
        on_premises_last_sync_date_time: Timestamp,
        /// Creation time.
        created_date_time: Timestamp,
        /// Deletion time (deleted items only).
        deleted_date_time: Timestamp,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(User, extra);

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

model! {
    /// A new user.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NewUser {
        /// Whether sign-in is allowed.
        account_enabled: bool,
        /// Display name.
        display_name: String,
        /// Mail alias (the part before `@` by default).
        mail_nickname: String,
        /// User principal name on a verified domain.
        user_principal_name: String,
        /// The initial password.
        password_profile: PasswordProfile,
        /// Two-letter usage location.
        usage_location: Option<String>,
        /// Given name.
        given_name: Option<String>,
        /// Surname.
        surname: Option<String>,
        /// Job title.
        job_title: Option<String>,
        /// Department.
        department: Option<String>,
        /// Any other properties to set.
        #[serde(flatten)]
        extra: Extra,
    }
}

model! {
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
        display_name: Field<String>,
        /// Given name.
        given_name: Field<String>,
        /// Surname.
        surname: Field<String>,
        /// User principal name (use `UsersApi::change_upn` to check the domain first).
        user_principal_name: Field<String>,
        /// Mail alias.
        mail_nickname: Field<String>,
        /// Job title.
        job_title: Field<String>,
        /// Department.
        department: Field<String>,
        /// Company name.
        company_name: Field<String>,
        /// Office location.
        office_location: Field<String>,
        /// Mobile phone.
        mobile_phone: Field<String>,
        /// Business phones (clear with `Set(vec![])`).
        business_phones: Field<Vec<String>>,
        /// Other e-mail addresses (clear with `Set(vec![])`).
        other_mails: Field<Vec<String>>,
        /// Street address.
        street_address: Field<String>,
        /// City.
        city: Field<String>,
        /// State.
        state: Field<String>,
        /// Postal code.
        postal_code: Field<String>,
        /// Country.
        country: Field<String>,
        /// Usage location.
        usage_location: Field<String>,
        /// Whether sign-in is allowed.
        account_enabled: Field<bool>,
        /// Password policies.
        password_policies: Field<String>,
        /// On-premises immutable id (clear to detach a previously synced user).
        on_premises_immutable_id: Field<String>,
        /// Any other properties.
        #[serde(flatten)]
        extra: super::common::Extra,
    }
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

model! {
    /// A deleted directory object as restored.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self")]
    pub struct DirectoryObject {
        /// `@odata.type`, for example `#microsoft.graph.user`.
        #[serde(rename = "@odata.type")]
        odata_type: Option<String>,
        /// Object id.
        id: Option<String>,
        /// Display name.
        #[serde(rename = "displayName")]
        display_name: Option<String>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(DirectoryObject, extra);
