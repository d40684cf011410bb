//! The user actions without a workflow of their own as scheduler commands, one per
//! [`UserActions`] method and named after it (`user.<method>`), with typed parameters
//! checked when a task is added. `tests/integration/user_commands.rs` reads `src/users/` and fails when
//! an action method has no command here (or is not listed as a read or an interactive
//! action), so a new action cannot be forgotten.
//!
//! Secrets never reach task results: a Temporary Access Pass command records that a pass
//! was created and when it expires, not the pass.

use cipp_core::{Error, TenantId};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlets::{AutoReply, Forwarding, MailboxType};
use cipp_exchange::folder_permissions::MailboxFolder;
use cipp_exchange::inbox_rules::InboxRuleUpdate;
use cipp_exchange::junk_email::JunkEmailChange;
use cipp_graph::model::DirectoryObjectId;
use cipp_graph::model::{
    AuthMethod, Field, NewTemporaryAccessPass, PerUserMfaState, SkuId, UserPatch,
};
use cipp_graph::sharepoint::SharingCapability;
use cipp_graph::sponsors::Sponsor;
use cipp_scheduler::command::{CommandError, CommandOutput, Registry};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::client::Cipp;
use crate::commands::{outcome_output, report_output, typed};
use crate::users::{Guard, LicenseChange, UserActions};

/// The `UserActions` methods that are not commands: reads, a bulk form of `edit`, and the
/// interactive MFA push (it waits for the user to answer on their phone).
pub const USER_ACTIONS_WITHOUT_COMMAND: &[&str] = &[
    "user_ref",
    "resolve",
    "privileged_roles",
    "view",
    "capture_defaults",
    "timestamps",
    "bulk_edit",
    "send_mfa_push",
    "folder_permissions",
    "junk_email_configuration",
    "sponsors",
];

fn err(e: Error) -> CommandError {
    CommandError::from(e)
}

fn done(what: &str, user: &str) -> Result<CommandOutput, CommandError> {
    Ok(CommandOutput::Done(json!({"action": what, "user": user})))
}

/// Registers one command per action: `$name` with parameters `$params` (a struct with a
/// `user` field), running `$body` with the user's actions `u` and the parameters `p`.
macro_rules! user_commands {
    ($registry:ident, $cipp:ident; $($name:literal: $params:ty => |$u:ident, $p:ident| $body:expr;)+) => {
        $(
            $registry.register(
                $name,
                typed($cipp, |c: Cipp, t: TenantId, $p: $params| async move {
                    let $u: UserActions = c.tenant(&t).map_err(err)?.user(&$p.user).map_err(err)?;
                    $body
                }),
            );
        )+
    };
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserGroups {
    user: String,
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserOnly {
    user: String,
    #[serde(default)]
    allow_privileged: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    user: String,
    enabled: bool,
    #[serde(default)]
    allow_privileged: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetPassword {
    user: String,
    #[serde(default = "yes")]
    must_change: bool,
    #[serde(default)]
    allow_privileged: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OutOfOffice {
    user: String,
    enabled: bool,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct User {
    user: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Flag {
    user: String,
    value: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Text {
    user: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeUpn {
    user: String,
    value: String,
    #[serde(default)]
    allow_privileged: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Licenses {
    user: String,
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    remove_all: bool,
    /// Set when a licence needs a usage location and the user has none.
    usage_location: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Aliases {
    user: String,
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    make_primary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForwardingParams {
    user: String,
    /// A recipient in the organisation.
    #[serde(default)]
    internal: Option<String>,
    /// Any SMTP address.
    #[serde(default)]
    external: Option<String>,
    #[serde(default)]
    keep_copy: bool,
}

impl ForwardingParams {
    fn forwarding(&self) -> Result<Forwarding, CommandError> {
        match (&self.internal, &self.external) {
            (Some(r), None) => Ok(Forwarding::Internal {
                recipient: r.clone(),
                keep_copy: self.keep_copy,
            }),
            (None, Some(a)) => Ok(Forwarding::External {
                address: a.clone(),
                keep_copy: self.keep_copy,
            }),
            (None, None) => Ok(Forwarding::Disabled),
            (Some(_), Some(_)) => Err(CommandError::failed(
                "give `internal` or `external`, not both",
            )),
        }
    }
}

/// `regular`, `shared`, `room` or `equipment`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum MailboxKind {
    Regular,
    Shared,
    Room,
    Equipment,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Convert {
    user: String,
    to: MailboxKind,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Grant {
    user: String,
    to: String,
    #[serde(default)]
    auto_mapping: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SendOnBehalf {
    user: String,
    to: String,
    grant: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Calendar {
    user: String,
    to: String,
    rights: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Tap {
    user: String,
    #[serde(default)]
    lifetime_in_minutes: Option<u32>,
    #[serde(default)]
    is_usable_once: Option<bool>,
    #[serde(default)]
    allow_privileged: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RemoveMethod {
    user: String,
    /// The method's id.
    method_id: String,
    /// Its `@odata.type`, e.g. `#microsoft.graph.phoneAuthenticationMethod`.
    method_type: String,
    #[serde(default)]
    allow_privileged: bool,
}

/// `disabled`, `enabled` or `enforced`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum MfaState {
    Disabled,
    Enabled,
    Enforced,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PerUserMfa {
    user: String,
    state: MfaState,
}

/// `disabled`, `externalUserSharingOnly`, `externalUserAndGuestSharing` or
/// `existingExternalUserSharingOnly`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::enum_variant_names)] // SharePoint's own names
enum Sharing {
    Disabled,
    ExternalUserSharingOnly,
    ExternalUserAndGuestSharing,
    ExistingExternalUserSharingOnly,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OneDriveSharing {
    user: String,
    level: Sharing,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Shortcut {
    user: String,
    name: String,
    target: cipp_graph::model::SharePointIds,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Edit {
    user: String,
    patch: Patch,
}

/// A user patch from JSON: each property set to a value, or cleared with `null`; unknown
/// properties refused (when the task is added).
#[derive(Deserialize)]
#[serde(try_from = "Map<String, Value>")]
struct Patch(UserPatch);

impl TryFrom<Map<String, Value>> for Patch {
    type Error = String;

    fn try_from(map: Map<String, Value>) -> Result<Self, String> {
        fn text(key: &str, v: &Value) -> Result<Field<String>, String> {
            match v {
                Value::Null => Ok(Field::Clear),
                Value::String(s) => Ok(Field::Set(s.clone())),
                _ => Err(format!("`{key}` must be a string or null")),
            }
        }
        let mut p = UserPatch::default();
        for (key, v) in &map {
            let slot = match key.as_str() {
                "displayName" => &mut p.display_name,
                "givenName" => &mut p.given_name,
                "surname" => &mut p.surname,
                "jobTitle" => &mut p.job_title,
                "department" => &mut p.department,
                "companyName" => &mut p.company_name,
                "officeLocation" => &mut p.office_location,
                "mobilePhone" => &mut p.mobile_phone,
                "streetAddress" => &mut p.street_address,
                "city" => &mut p.city,
                "state" => &mut p.state,
                "postalCode" => &mut p.postal_code,
                "country" => &mut p.country,
                "usageLocation" => &mut p.usage_location,
                other => {
                    return Err(format!(
                        "`{other}` cannot be edited by a task (use user.change_upn for the UPN)"
                    ))
                }
            };
            *slot = text(key, v)?;
        }
        if p.is_empty() {
            return Err("the patch changes nothing".to_owned());
        }
        Ok(Patch(p))
    }
}

/// `calendar` or `contacts`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum FolderKind {
    Calendar,
    Contacts,
}

impl From<FolderKind> for MailboxFolder {
    fn from(f: FolderKind) -> Self {
        match f {
            FolderKind::Calendar => MailboxFolder::Calendar,
            FolderKind::Contacts => MailboxFolder::Contacts,
        }
    }
}

/// A folder grant; the level is checked against the folder when the task is added.
#[derive(Deserialize)]
#[serde(try_from = "FolderGrantParams")]
struct FolderGrantP {
    user: String,
    folder: MailboxFolder,
    to: String,
    rights: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FolderGrantParams {
    user: String,
    folder: FolderKind,
    to: String,
    rights: String,
}

impl TryFrom<FolderGrantParams> for FolderGrantP {
    type Error = String;

    fn try_from(p: FolderGrantParams) -> Result<Self, String> {
        let folder = MailboxFolder::from(p.folder);
        let rights = folder.right(&p.rights).map_err(|e| e.to_string())?;
        Ok(FolderGrantP {
            user: p.user,
            folder,
            to: p.to,
            rights: rights.to_owned(),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FolderRemove {
    user: String,
    folder: FolderKind,
    to: String,
}

/// Sender-list changes, checked (addresses and domains, contradictions) when the task is
/// added.
#[derive(Deserialize)]
#[serde(try_from = "JunkEmailParams")]
struct JunkEmail {
    user: String,
    change: JunkEmailChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JunkEmailParams {
    user: String,
    #[serde(default)]
    trusted_add: Vec<String>,
    #[serde(default)]
    trusted_remove: Vec<String>,
    #[serde(default)]
    blocked_add: Vec<String>,
    #[serde(default)]
    blocked_remove: Vec<String>,
}

impl TryFrom<JunkEmailParams> for JunkEmail {
    type Error = String;

    fn try_from(p: JunkEmailParams) -> Result<Self, String> {
        let change = JunkEmailChange {
            trusted_add: p.trusted_add,
            trusted_remove: p.trusted_remove,
            blocked_add: p.blocked_add,
            blocked_remove: p.blocked_remove,
        };
        // The same checks as when it runs (the mailbox here only stands in for the user).
        cipp_exchange::junk_email::set("task@check.invalid", &change).map_err(|e| e.to_string())?;
        Ok(JunkEmail {
            user: p.user,
            change,
        })
    }
}

/// An inbox rule update, checked when the task is added.
#[derive(Deserialize)]
#[serde(try_from = "RuleUpdateParams")]
struct RuleUpdate {
    user: String,
    rule: String,
    update: InboxRuleUpdate,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleUpdateParams {
    user: String,
    rule: String,
    update: InboxRuleUpdate,
}

impl TryFrom<RuleUpdateParams> for RuleUpdate {
    type Error = String;

    fn try_from(p: RuleUpdateParams) -> Result<Self, String> {
        cipp_exchange::inbox_rules::set("task@check.invalid", &p.rule, &p.update)
            .map_err(|e| e.to_string())?;
        Ok(RuleUpdate {
            user: p.user,
            rule: p.rule,
            update: p.update,
        })
    }
}

/// `user` (the default) or `group`.
#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "camelCase")]
enum SponsorKind {
    #[default]
    User,
    Group,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddSponsor {
    user: String,
    /// The sponsor's object id.
    sponsor: String,
    #[serde(default)]
    kind: SponsorKind,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RemoveSponsor {
    user: String,
    /// The sponsor's object id.
    sponsor: String,
}

fn guard(allow: bool) -> Guard {
    if allow {
        Guard::AllowPrivileged
    } else {
        Guard::RefusePrivileged
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Deleted {
    id: String,
    #[serde(default)]
    new_user_principal_name: Option<String>,
}

/// Registers the recycle-bin commands: `recycle_bin.restore_user` (`id`, optional
/// `newUserPrincipalName`), `recycle_bin.restore_group` and `recycle_bin.delete_permanently`.
fn register_recycle_bin(registry: &mut Registry, cipp: &Cipp) {
    registry.register(
        "recycle_bin.restore_user",
        typed(cipp, |c: Cipp, t: TenantId, p: Deleted| async move {
            let o = c
                .tenant(&t)
                .map_err(err)?
                .recycle_bin()
                .restore_user(&p.id, p.new_user_principal_name.as_deref())
                .await
                .map_err(err)?;
            Ok(CommandOutput::Done(
                json!({"restored": o.id, "userPrincipalName": o.extra.get("userPrincipalName")}),
            ))
        }),
    );
    registry.register(
        "recycle_bin.restore_group",
        typed(cipp, |c: Cipp, t: TenantId, p: Deleted| async move {
            let o = c
                .tenant(&t)
                .map_err(err)?
                .recycle_bin()
                .restore_group(&p.id)
                .await
                .map_err(err)?;
            Ok(CommandOutput::Done(
                json!({"restored": o.id, "displayName": o.display_name}),
            ))
        }),
    );
    registry.register(
        "recycle_bin.delete_permanently",
        typed(cipp, |c: Cipp, t: TenantId, p: Deleted| async move {
            c.tenant(&t)
                .map_err(err)?
                .recycle_bin()
                .delete_permanently(&p.id)
                .await
                .map_err(err)?;
            Ok(CommandOutput::Done(json!({"deletedPermanently": p.id})))
        }),
    );
}

/// Registers every `user.<action>` command of this module, and the recycle bin's.
pub(crate) fn register(registry: &mut Registry, cipp: &Cipp) {
    register_recycle_bin(registry, cipp);
    user_commands! { registry, cipp;
        "user.add_to_groups": UserGroups => |u, p| {
            report_output(u.add_to_groups(&p.groups).await.map_err(err)?, Value::Null)
        };
        "user.remove_from_groups": UserGroups => |u, p| {
            report_output(u.remove_from_groups(&p.groups).await.map_err(err)?, Value::Null)
        };
        "user.set_sign_in": SignIn => |u, p| {
            outcome_output(u.set_sign_in(p.enabled, guard(p.allow_privileged)).await.map_err(err)?)
        };
        "user.revoke_sessions": UserOnly => |u, p| {
            u.revoke_sessions().await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"revoked": p.user})))
        };
        "user.reset_password": ResetPassword => |u, p| {
            let r = u
                .reset_password(None, &Default::default(), p.must_change, guard(p.allow_privileged))
                .await
                .map_err(err)?;
            // The password itself is never stored in task results.
            report_output(r.report, json!({"passwordSet": true}))
        };
        "user.rerequire_mfa": UserOnly => |u, p| {
            report_output(u.rerequire_mfa(guard(p.allow_privileged)).await.map_err(err)?, Value::Null)
        };
        "user.set_out_of_office": OutOfOffice => |u, p| {
            let state = if p.enabled { AutoReply::Enabled } else { AutoReply::Disabled };
            let m = p.message.as_deref();
            u.set_out_of_office(&state, m, m).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"outOfOffice": p.enabled})))
        };
        "user.remove_licenses": UserOnly => |u, p| {
            let change = LicenseChange { remove_all: true, ..Default::default() };
            outcome_output(u.manage_licenses(&change, "US").await.map_err(err)?)
        };
        "user.edit": Edit => |u, p| outcome_output(u.edit(&p.patch.0).await.map_err(err)?);
        "user.require_password_change": User => |u, p| {
            u.require_password_change().await.map_err(err)?;
            done("password change required at next sign-in", &p.user)
        };
        "user.set_password_never_expires": Flag => |u, p| {
            u.set_password_never_expires(p.value).await.map_err(err)?;
            done(if p.value { "password never expires" } else { "password expires" }, &p.user)
        };
        "user.clear_immutable_id": User => |u, p| {
            report_output(u.clear_immutable_id().await.map_err(err)?, Value::Null)
        };
        "user.set_cloud_managed": Flag => |u, p| {
            u.set_cloud_managed(p.value).await.map_err(err)?;
            done(if p.value { "cloud managed" } else { "managed on premises" }, &p.user)
        };
        "user.reprocess_licenses": User => |u, p| {
            u.reprocess_licenses().await.map_err(err)?;
            done("licences reprocessed", &p.user)
        };
        "user.manage_licenses": Licenses => |u, p| {
            let change = LicenseChange {
                add: p.add.iter().map(|s| SkuId(s.clone())).collect(),
                remove: p.remove.iter().map(|s| SkuId(s.clone())).collect(),
                remove_all: p.remove_all,
            };
            outcome_output(u.manage_licenses(&change, &p.usage_location).await.map_err(err)?)
        };
        "user.delete": UserOnly => |u, p| {
            u.delete(guard(p.allow_privileged)).await.map_err(err)?;
            done("deleted (restorable from the recycle bin for 30 days)", &p.user)
        };
        "user.change_upn": ChangeUpn => |u, p| {
            u.change_upn(&p.value, guard(p.allow_privileged)).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "UPN changed", "user": p.user, "newUpn": p.value})))
        };
        "user.remove_admin_role": Text => |u, p| {
            u.remove_admin_role(&p.value).await.map_err(err)?;
            done("admin role removed", &p.user)
        };
        "user.change_aliases": Aliases => |u, p| {
            let change = AliasChange { add: p.add, remove: p.remove, make_primary: p.make_primary };
            outcome_output(u.change_aliases(&change).await.map_err(err)?)
        };
        "user.set_forwarding": ForwardingParams => |u, p| {
            u.set_forwarding(&p.forwarding()?).await.map_err(err)?;
            done("forwarding set", &p.user)
        };
        "user.convert_mailbox": Convert => |u, p| {
            let to = match p.to {
                MailboxKind::Regular => MailboxType::Regular,
                MailboxKind::Shared => MailboxType::Shared,
                MailboxKind::Room => MailboxType::Room,
                MailboxKind::Equipment => MailboxType::Equipment,
            };
            let c = u.convert_mailbox(to).await.map_err(err)?;
            let output = json!({"action": "mailbox converted", "user": p.user, "to": to.as_str()});
            Ok(if c.warnings.is_empty() {
                CommandOutput::Done(output)
            } else {
                CommandOutput::Warning { output, message: c.warnings.join("; ") }
            })
        };
        "user.enable_archive": Flag => |u, p| {
            u.enable_archive(p.value).await.map_err(err)?;
            done("online archive enabled", &p.user)
        };
        "user.hide_from_address_lists": Flag => |u, p| {
            u.hide_from_address_lists(p.value).await.map_err(err)?;
            done(if p.value { "hidden from address lists" } else { "shown in address lists" }, &p.user)
        };
        "user.disable_inbox_rules": User => |u, p| {
            report_output(u.disable_inbox_rules().await.map_err(err)?, Value::Null)
        };
        "user.grant_full_access": Grant => |u, p| {
            u.grant_full_access(&p.to, p.auto_mapping).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "full access granted", "user": p.user, "to": p.to})))
        };
        "user.grant_calendar": Calendar => |u, p| {
            u.grant_calendar(&p.to, &p.rights).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "calendar permission set", "user": p.user, "to": p.to, "rights": p.rights})))
        };
        "user.create_temporary_access_pass": Tap => |u, p| {
            let request = NewTemporaryAccessPass {
                lifetime_in_minutes: p.lifetime_in_minutes,
                is_usable_once: p.is_usable_once,
                ..Default::default()
            };
            let tap = u
                .create_temporary_access_pass(&request, guard(p.allow_privileged))
                .await
                .map_err(err)?;
            // The pass itself is never stored in task results.
            Ok(CommandOutput::Done(json!({
                "action": "Temporary Access Pass created", "user": p.user, "id": tap.id,
                "startDateTime": tap.start_date_time, "lifetimeInMinutes": tap.lifetime_in_minutes,
                "isUsableOnce": tap.is_usable_once
            })))
        };
        "user.remove_mfa_method": RemoveMethod => |u, p| {
            let method: AuthMethod = serde_json::from_value(json!({"@odata.type": p.method_type, "id": p.method_id}))
                .map_err(|e| CommandError::failed(format!("bad method: {e}")))?;
            u.remove_mfa_method(&method, guard(p.allow_privileged)).await.map_err(err)?;
            done("MFA method removed", &p.user)
        };
        "user.set_per_user_mfa": PerUserMfa => |u, p| {
            let state = match p.state {
                MfaState::Disabled => PerUserMfaState::Disabled,
                MfaState::Enabled => PerUserMfaState::Enabled,
                MfaState::Enforced => PerUserMfaState::Enforced,
            };
            u.set_per_user_mfa(state).await.map_err(err)?;
            done("per-user MFA set", &p.user)
        };
        "user.set_default_mfa_method": Text => |u, p| {
            u.set_default_mfa_method(&p.value).await.map_err(err)?;
            done("default MFA method set", &p.user)
        };
        "user.provision_onedrive": User => |u, p| {
            u.provision_onedrive().await.map_err(err)?;
            done("OneDrive provisioning requested", &p.user)
        };
        "user.set_onedrive_sharing": OneDriveSharing => |u, p| {
            let level = match p.level {
                Sharing::Disabled => SharingCapability::Disabled,
                Sharing::ExternalUserSharingOnly => SharingCapability::ExternalUserSharingOnly,
                Sharing::ExternalUserAndGuestSharing => SharingCapability::ExternalUserAndGuestSharing,
                Sharing::ExistingExternalUserSharingOnly => SharingCapability::ExistingExternalUserSharingOnly,
            };
            u.set_onedrive_sharing(level).await.map_err(err)?;
            done("OneDrive sharing set", &p.user)
        };
        "user.remove_full_access": Text => |u, p| {
            u.remove_full_access(&p.value).await.map_err(err)?;
            done("full access removed", &p.user)
        };
        "user.grant_send_as": Text => |u, p| {
            u.grant_send_as(&p.value).await.map_err(err)?;
            done("Send-As granted", &p.user)
        };
        "user.remove_send_as": Text => |u, p| {
            u.remove_send_as(&p.value).await.map_err(err)?;
            done("Send-As removed", &p.user)
        };
        "user.set_send_on_behalf": SendOnBehalf => |u, p| {
            u.set_send_on_behalf(&p.to, p.grant).await.map_err(err)?;
            done(if p.grant { "Send-on-Behalf granted" } else { "Send-on-Behalf removed" }, &p.user)
        };
        "user.remove_calendar": Text => |u, p| {
            u.remove_calendar(&p.value).await.map_err(err)?;
            done("calendar permission removed", &p.user)
        };
        "user.remove_inbox_rule": Text => |u, p| {
            u.remove_inbox_rule(&p.value).await.map_err(err)?;
            done("inbox rule removed", &p.user)
        };
        "user.grant_folder_permission": FolderGrantP => |u, p| {
            u.grant_folder_permission(p.folder, &p.to, &p.rights).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "folder permission granted", "user": p.user,
                "folder": p.folder.as_str(), "to": p.to, "rights": p.rights})))
        };
        "user.change_folder_permission": FolderGrantP => |u, p| {
            u.change_folder_permission(p.folder, &p.to, &p.rights).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "folder permission changed", "user": p.user,
                "folder": p.folder.as_str(), "to": p.to, "rights": p.rights})))
        };
        "user.remove_folder_permission": FolderRemove => |u, p| {
            let folder = MailboxFolder::from(p.folder);
            u.remove_folder_permission(folder, &p.to).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "folder permission removed", "user": p.user,
                "folder": folder.as_str(), "to": p.to})))
        };
        "user.change_junk_email": JunkEmail => |u, p| {
            outcome_output(u.change_junk_email(&p.change).await.map_err(err)?)
        };
        "user.update_inbox_rule": RuleUpdate => |u, p| {
            u.update_inbox_rule(&p.rule, &p.update).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "inbox rule updated", "user": p.user, "rule": p.rule})))
        };
        "user.add_sponsor": AddSponsor => |u, p| {
            let sponsor = match p.kind {
                SponsorKind::User => Sponsor::user(p.sponsor.as_str()),
                SponsorKind::Group => Sponsor::group(p.sponsor.as_str()),
            };
            u.add_sponsor(&sponsor).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "sponsor added", "user": p.user, "sponsor": p.sponsor})))
        };
        "user.remove_sponsor": RemoveSponsor => |u, p| {
            u.remove_sponsor(&DirectoryObjectId::from(p.sponsor.as_str())).await.map_err(err)?;
            Ok(CommandOutput::Done(json!({"action": "sponsor removed", "user": p.user, "sponsor": p.sponsor})))
        };
        "user.add_onedrive_shortcut": Shortcut => |u, p| {
            u.add_onedrive_shortcut(&p.name, &p.target).await.map_err(err)?;
            done("OneDrive shortcut added", &p.user)
        };
    }
}
