//! Tenant-wide reads for monitoring mail: users restricted from sending
//! (`Get-BlockedSenderAddress`), soft-deleted mailboxes (`Get-Mailbox -SoftDeletedMailbox`)
//! and the organisation configuration (`Get-OrganizationConfig`, the cheapest proof that
//! the Exchange admin API answers for a tenant). Each is a cmdlet value here and a typed
//! operation on [`TenantExchange`].
//!
//! ```
//! use cipp_exchange::health;
//! let c = health::soft_deleted_mailboxes();
//! assert_eq!(c.body()["CmdletInput"]["Parameters"]["SoftDeletedMailbox"], true);
//! assert_eq!(health::blocked_sender_addresses().name, "Get-BlockedSenderAddress");
//! ```

use cipp_core::Error;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::cmdlet::Cmdlet;
use crate::model::Extra;
use crate::TenantExchange;

/// A user Exchange Online has restricted from sending (`Get-BlockedSenderAddress`): it
/// exceeded a sending limit or the outbound spam policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct BlockedSender {
    /// The restricted address.
    #[serde(default)]
    pub sender_address: Option<String>,
    /// Why, as `Key=Value;…` (`ExceedingLimitType=External;InternalRecipientCountToday=0;
    /// ExternalRecipientCountToday=501`).
    #[serde(default)]
    pub reason: Option<String>,
    /// When the restriction was made (as Exchange formats it).
    #[serde(default, rename = "CreatedDatetime")]
    pub created_datetime: Option<String>,
    /// When it lifts by itself, for a temporary block.
    #[serde(default, rename = "ExpireDatetime")]
    pub expire_datetime: Option<String>,
    /// Whether it lifts by itself.
    #[serde(default, deserialize_with = "flag")]
    pub temporary_block: Option<bool>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(BlockedSender, extra);

impl BlockedSender {
    /// One `Key=Value` part of [`BlockedSender::reason`] (`ExceedingLimitType`).
    pub fn reason_part(&self, key: &str) -> Option<&str> {
        self.reason.as_deref()?.split(';').find_map(|part| {
            let (k, v) = part.split_once('=')?;
            k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
        })
    }
}

/// A soft-deleted mailbox (`Get-Mailbox -SoftDeletedMailbox`): its user was deleted, and
/// the mailbox can be recovered for 30 days (longer, as an inactive mailbox, under a hold).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct SoftDeletedMailbox {
    /// The mailbox's Exchange GUID (stable across the deletion).
    #[serde(default)]
    pub exchange_guid: Option<String>,
    /// The archive's GUID (all zeroes without an archive).
    #[serde(default)]
    pub archive_guid: Option<String>,
    /// When it was soft-deleted (as Exchange formats it).
    #[serde(default)]
    pub when_soft_deleted: Option<String>,
    /// The UPN it had.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Whether it is kept as an inactive mailbox (a hold preserves it).
    #[serde(default, deserialize_with = "flag")]
    pub is_inactive_mailbox: Option<bool>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(SoftDeletedMailbox, extra);

/// A flag sent as a JSON boolean or as `"True"`/`"False"`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// `Get-BlockedSenderAddress`: every restricted sender.
pub fn blocked_sender_addresses() -> Cmdlet<BlockedSender> {
    Cmdlet::new("Get-BlockedSenderAddress").output()
}

/// `Get-Mailbox -SoftDeletedMailbox -ResultSize Unlimited`, with the properties CIPP's
/// alert reads.
pub fn soft_deleted_mailboxes() -> Cmdlet<SoftDeletedMailbox> {
    Cmdlet::new("Get-Mailbox")
        .param("SoftDeletedMailbox", true)
        .param("ResultSize", "Unlimited")
        .select([
            "ExchangeGuid",
            "ArchiveGuid",
            "WhenSoftDeleted",
            "UserPrincipalName",
            "IsInactiveMailbox",
        ])
        .output()
}

/// `Get-OrganizationConfig`.
pub fn organization_config() -> Cmdlet {
    Cmdlet::new("Get-OrganizationConfig")
}

impl TenantExchange {
    /// The users restricted from sending.
    pub async fn blocked_senders(&self) -> Result<Vec<BlockedSender>, Error> {
        Ok(self.invoke_as(&blocked_sender_addresses()).await?.value)
    }

    /// The soft-deleted mailboxes (inactive ones included; see
    /// [`SoftDeletedMailbox::is_inactive_mailbox`]).
    pub async fn soft_deleted_mailboxes(&self) -> Result<Vec<SoftDeletedMailbox>, Error> {
        Ok(self.invoke_as(&soft_deleted_mailboxes()).await?.value)
    }

    /// The organisation configuration (one row), or a protocol error when Exchange sends
    /// none.
    pub async fn organization_config(&self) -> Result<Value, Error> {
        let mut out = self.invoke(&organization_config()).await?;
        out.value.pop().ok_or_else(|| {
            Error::protocol(
                Some(self.id().clone()),
                "Get-OrganizationConfig",
                "Exchange returned no organisation configuration",
            )
        })
    }
}
