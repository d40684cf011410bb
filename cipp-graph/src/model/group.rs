//! Groups.

use serde::{Deserialize, Serialize};

use super::common::{model, Extra, GroupId};

model! {
    /// A Microsoft Graph group.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct Group {
        /// Object id.
        id: Option<GroupId>,
        /// Display name.
        display_name: Option<String>,
        /// Description.
        description: Option<String>,
        /// `Unified`, `DynamicMembership`, …
        group_types: Option<Vec<String>>,
        /// Whether the group has a mailbox / is mail-enabled.
        mail_enabled: Option<bool>,
        /// Whether the group is a security principal.
        security_enabled: Option<bool>,
        /// Mail alias.
        mail_nickname: Option<String>,
        /// SMTP address.
        mail: Option<String>,
        /// Dynamic membership rule.
        membership_rule: Option<String>,
        /// `On` or `Paused`.
        membership_rule_processing_state: Option<String>,
        /// Whether Entra roles can be assigned to the group.
        is_assignable_to_role: Option<bool>,
        /// Whether the group is synchronised from on-premises.
        on_premises_sync_enabled: Option<bool>,
        /// Visibility (`Public`, `Private`, `HiddenMembership`).
        visibility: Option<String>,
        /// Creation time.
        created_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(Group, extra);

/// What kind of group this is, which decides who can change its membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum GroupKind {
    /// A Microsoft 365 (Unified) group.
    Microsoft365,
    /// A security group.
    Security,
    /// A mail-enabled security group (membership managed in Exchange).
    MailEnabledSecurity,
    /// A distribution list (membership managed in Exchange).
    Distribution,
}

impl Group {
    /// The group's kind, from `groupTypes`, `mailEnabled` and `securityEnabled`.
    pub fn kind(&self) -> GroupKind {
        let unified = self
            .group_types
            .as_ref()
            .is_some_and(|t| t.iter().any(|x| x.eq_ignore_ascii_case("Unified")));
        match (
            unified,
            self.mail_enabled.unwrap_or(false),
            self.security_enabled.unwrap_or(false),
        ) {
            (true, _, _) => GroupKind::Microsoft365,
            (false, true, true) => GroupKind::MailEnabledSecurity,
            (false, true, false) => GroupKind::Distribution,
            _ => GroupKind::Security,
        }
    }

    /// Whether membership is computed by a rule (members cannot be added or removed).
    pub fn is_dynamic(&self) -> bool {
        self.group_types.as_ref().is_some_and(|t| {
            t.iter()
                .any(|x| x.eq_ignore_ascii_case("DynamicMembership"))
        })
    }

    /// Whether Graph can change this group's membership: not for distribution lists and
    /// mail-enabled security groups (Exchange manages them), dynamic or synced groups.
    pub fn membership_managed_by_graph(&self) -> bool {
        matches!(self.kind(), GroupKind::Microsoft365 | GroupKind::Security)
            && !self.is_dynamic()
            && self.on_premises_sync_enabled != Some(true)
    }
}

model! {
    /// A new group. Build one with [`NewGroup::security`], [`NewGroup::microsoft365`] and the
    /// `dynamic` / `role_assignable` modifiers.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NewGroup {
        /// Display name (≤ 256 characters).
        display_name: String,
        /// Mail alias (≤ 64 ASCII characters, no spaces or `@ () \ [] " ; : . <> ,`).
        mail_nickname: String,
        /// Mail-enabled (true for Microsoft 365 groups).
        mail_enabled: bool,
        /// Security-enabled.
        security_enabled: bool,
        /// Group types.
        group_types: Vec<String>,
        /// Description.
        description: Option<String>,
        /// Dynamic membership rule.
        membership_rule: Option<String>,
        /// `On` for dynamic groups.
        membership_rule_processing_state: Option<String>,
        /// Role-assignable (set at creation only).
        is_assignable_to_role: Option<bool>,
        /// Initial members (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`, ≤ 20).
        #[serde(rename = "members@odata.bind", skip_serializing_if = "Vec::is_empty")]
        members_bind: Vec<String>,
        /// Initial owners (≤ 20).
        #[serde(rename = "owners@odata.bind", skip_serializing_if = "Vec::is_empty")]
        owners_bind: Vec<String>,
    }
}

impl NewGroup {
    /// A security group.
    pub fn security(display_name: &str, mail_nickname: &str) -> Self {
        NewGroup {
            display_name: display_name.to_owned(),
            mail_nickname: mail_nickname.to_owned(),
            mail_enabled: false,
            security_enabled: true,
            group_types: Vec::new(),
            description: None,
            membership_rule: None,
            membership_rule_processing_state: None,
            is_assignable_to_role: None,
            members_bind: Vec::new(),
            owners_bind: Vec::new(),
        }
    }

    /// A Microsoft 365 group.
    pub fn microsoft365(display_name: &str, mail_nickname: &str) -> Self {
        NewGroup {
            mail_enabled: true,
            security_enabled: false,
            group_types: vec!["Unified".into()],
            ..NewGroup::security(display_name, mail_nickname)
        }
    }

    /// Makes the group dynamic with `rule` (for example `(user.department -eq "Sales")`).
    pub fn dynamic(mut self, rule: &str) -> Self {
        self.group_types.push("DynamicMembership".into());
        self.membership_rule = Some(rule.to_owned());
        self.membership_rule_processing_state = Some("On".into());
        self
    }

    /// Makes the group role-assignable (security groups; needs
    /// RoleManagement.ReadWrite.Directory).
    pub fn role_assignable(mut self) -> Self {
        self.is_assignable_to_role = Some(true);
        self
    }

    /// Adds a description.
    pub fn with_description(mut self, d: &str) -> Self {
        self.description = Some(d.to_owned());
        self
    }
}
