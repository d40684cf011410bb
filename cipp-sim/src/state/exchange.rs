//! A tenant's Exchange Online objects, as Exchange returns them (PascalCase JSON).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::synthetic_guid;

/// A tenant's Exchange objects.
#[derive(Clone, Debug, Default)]
pub struct ExoState {
    /// Mailboxes (built from the directory's users on first use when empty).
    pub mailboxes: Vec<Value>,
    /// Mailbox UPN (lower case) → inbox rules, hidden system rules included.
    pub inbox_rules: BTreeMap<String, Vec<Value>>,
    /// Mailbox UPN → automatic reply configuration.
    pub auto_replies: BTreeMap<String, Value>,
    /// Mailbox permissions.
    pub mailbox_permissions: Vec<Value>,
    /// Recipient (SendAs) permissions.
    pub recipient_permissions: Vec<Value>,
    /// Folder permissions.
    pub folder_permissions: Vec<Value>,
    /// Mailbox UPN (lower case) → junk e-mail configuration set by
    /// `Set-MailboxJunkEmailConfiguration` (a new mailbox's defaults until then).
    pub junk_email: BTreeMap<String, Value>,
    /// Mailbox UPN → mobile devices.
    pub mobile_devices: BTreeMap<String, Vec<Value>>,
    /// Transport rules.
    pub transport_rules: Vec<Value>,
    /// Whether the unified audit log is on (`None` until first read: on).
    pub unified_audit_log: Option<bool>,
    /// Unified audit log records.
    pub audit_records: Vec<Value>,
    /// Message trace rows.
    pub message_traces: Vec<Value>,
    /// Search-UnifiedAuditLog sessions: id → records already returned.
    pub sessions: BTreeMap<String, usize>,
    /// Mailbox UPN (lower case) → client access settings set by `Set-CASMailbox` (the rest
    /// are a new mailbox's defaults).
    pub cas_settings: BTreeMap<String, Value>,
    /// User UPN (lower case) → Exchange user settings set by `Set-User`
    /// (`RemotePowerShellEnabled`, …).
    pub user_settings: BTreeMap<String, Value>,
    /// Dynamic distribution groups (`Get-DynamicDistributionGroup` JSON); they are not
    /// directory objects, so Graph does not list them.
    pub dynamic_groups: Vec<Value>,
    /// Graph group id → the Exchange-only settings of a distribution list or mail-enabled
    /// security group (`RequireSenderAuthenticationEnabled`, …).
    pub group_settings: BTreeMap<String, Value>,
}

/// The all-zero GUID Exchange shows for a mailbox without an archive.
pub const NO_ARCHIVE: &str = "00000000-0000-0000-0000-000000000000";

/// The Exchange object GUID of the recipient `upn` (the same for its mailbox and user).
pub fn recipient_guid(upn: &str) -> String {
    synthetic_guid(&format!("exo-recipient-{}", upn.to_ascii_lowercase()))
}

/// A mailbox for a Graph user, as `Get-Mailbox` returns it: an Exchange Online Plan 2
/// mailbox (`PersistedCapabilities` `BPOS_S_Enterprise`, which litigation hold needs).
pub fn mailbox_for(user: &Value, initial_domain: &str) -> Option<Value> {
    let upn = user["userPrincipalName"].as_str()?;
    let alias = upn.split('@').next().unwrap_or(upn);
    Some(json!({
        "Identity": user["displayName"], "Name": alias, "Alias": alias, "DisplayName": user["displayName"],
        "UserPrincipalName": upn, "PrimarySmtpAddress": upn, "ExternalDirectoryObjectId": user["id"],
        "EmailAddresses": [format!("SMTP:{upn}"), format!("smtp:{alias}@{initial_domain}")],
        "RecipientTypeDetails": "UserMailbox", "ForwardingAddress": null, "ForwardingSmtpAddress": null,
        "DeliverToMailboxAndForward": false, "HiddenFromAddressListsEnabled": false, "ArchiveStatus": "None",
        "GrantSendOnBehalfTo": [], "TotalItemSize": "1.2 GB (1,288,490,188 bytes)",
        "Guid": recipient_guid(upn), "ArchiveGuid": NO_ARCHIVE, "AutoExpandingArchiveEnabled": false,
        "AuditEnabled": true, "MessageCopyForSentAsEnabled": false, "MessageCopyForSendOnBehalfEnabled": false,
        "LitigationHoldEnabled": false, "LitigationHoldDuration": "Unlimited", "RetainDeletedItemsFor": "14.00:00:00",
        "PersistedCapabilities": ["BPOS_S_Enterprise"],
        "MailboxPlan": format!("ExchangeOnlineEnterprise-{}", synthetic_guid("mailbox-plan-enterprise"))
    }))
}

impl ExoState {
    /// Adds a mailbox (`Get-Mailbox` JSON) with the hidden junk e-mail rule every mailbox has.
    pub fn add_mailbox(&mut self, mailbox: Value) {
        let upn = mailbox["UserPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.inbox_rules.entry(upn.clone()).or_default().push(json!({
            "Identity": format!("{upn}\\{}", synthetic_guid(&format!("junk-{upn}"))), "Name": "Junk E-Mail Rule",
            "Enabled": true, "Priority": 0, "Description": "Junk e-mail rule (hidden)", "IsHidden": true
        }));
        self.mailboxes.push(mailbox);
    }

    /// Gives every user a mailbox (what a tenant's first Exchange request does when no
    /// mailbox was seeded).
    pub fn seed_from_users(&mut self, users: &[Value], initial_domain: &str) {
        for u in users {
            if let Some(m) = mailbox_for(u, initial_domain) {
                self.add_mailbox(m);
            }
        }
    }

    /// The position of the mailbox any of whose identities (name, alias, UPN, address,
    /// object id, display name, proxy address) is `identity`.
    pub fn find_mailbox(&self, identity: &str) -> Option<usize> {
        let id = identity.to_ascii_lowercase();
        self.mailboxes.iter().position(|m| {
            [
                "Identity",
                "Name",
                "Alias",
                "UserPrincipalName",
                "PrimarySmtpAddress",
                "ExternalDirectoryObjectId",
                "DisplayName",
                "Guid",
            ]
            .iter()
            .any(|k| m[*k].as_str().is_some_and(|v| v.to_ascii_lowercase() == id))
                || m["EmailAddresses"].as_array().is_some_and(|a| {
                    a.iter().filter_map(Value::as_str).any(|e| {
                        e.split_once(':')
                            .is_some_and(|(_, x)| x.to_ascii_lowercase() == id)
                    })
                })
        })
    }

    /// The UPN (lower case) of the mailbox at `i`.
    pub fn upn_of(&self, i: usize) -> String {
        self.mailboxes
            .get(i)
            .and_then(|m| m["UserPrincipalName"].as_str())
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}
