//! Offboarding: CIPP's options as a typed struct, run in CIPP's order, one outcome per step.

use chrono::{DateTime, Duration, Utc};
use cipp_core::{Error, Outcome, Report, TenantId};
use cipp_exchange::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use cipp_graph::model::DirectoryObject;
use cipp_graph::password::PasswordStyle;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::client::TenantHandle;
use crate::users::{Guard, LicenseChange};

/// When licences are removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LicenseRemoval {
    /// Keep them.
    #[default]
    Keep,
    /// Remove them now.
    Now,
    /// Remove them later (CIPP waits ~5 minutes so a shared-mailbox conversion lands
    /// first): returned as a [`FollowUp`] for the caller or the scheduler.
    Deferred,
}

/// CIPP's offboarding options (reference §1.7).
#[derive(Clone, Debug, Default)]
pub struct OffboardingOptions {
    /// 1. Revoke sessions.
    pub revoke_sessions: bool,
    /// 2. Reset the password.
    pub reset_password: bool,
    /// 3. Block sign-in.
    pub disable_sign_in: bool,
    /// 4. Hide from the address book.
    pub hide_from_gal: bool,
    /// 5. Remove from groups (Graph and distribution lists; dynamic and synced skipped).
    pub remove_groups: bool,
    /// 6. Remove inbox rules.
    pub remove_rules: bool,
    /// 7. Remove mobile devices.
    pub remove_mobile_devices: bool,
    /// 8. Cancel future meetings the user organised.
    pub remove_calendar_invites: bool,
    /// 9. Out-of-office text (internal and external).
    pub out_of_office: Option<String>,
    /// 10. Forward to this recipient, keeping a copy or not.
    pub forward_to: Option<(String, bool)>,
    /// 11. Remove forwarding.
    pub disable_forwarding: bool,
    /// 13. Turn off external sharing of the user's OneDrive.
    pub disable_onedrive_sharing: bool,
    /// 14. Grant these users full access (with automapping or not).
    pub grant_full_access: Vec<(String, bool)>,
    /// 17. Convert to a shared mailbox.
    pub convert_to_shared: bool,
    /// 18. Remove MFA methods.
    pub remove_mfa_methods: bool,
    /// 20. Licences.
    pub licenses: LicenseRemoval,
    /// 21. Clear the immutable id.
    pub clear_immutable_id: bool,
    /// 22. Delete the user.
    pub delete_user: bool,
    /// Whether a privileged administrator may be offboarded.
    pub guard: Guard,
}

/// Work left for later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FollowUp {
    /// Remove every licence of the user, not before the given time.
    RemoveLicenses {
        /// The tenant.
        tenant: TenantId,
        /// The user (UPN).
        user: String,
        /// Not before.
        not_before: DateTime<Utc>,
    },
}

/// What offboarding did.
#[derive(Debug)]
pub struct OffboardingResult {
    /// One outcome per step.
    pub report: Report,
    /// The new password, when one was set.
    pub password: Option<SecretString>,
    /// Work to run later.
    pub follow_ups: Vec<FollowUp>,
}

/// Offboards `user` (UPN). Refuses when no option is chosen.
pub async fn offboard(
    handle: &TenantHandle,
    user: &str,
    o: &OffboardingOptions,
) -> Result<OffboardingResult, Error> {
    // Every permission the chosen steps need, checked before the first step runs (each
    // step is checked and audited again as it runs).
    use crate::authz::Permission;
    handle
        .authorize("user.offboard", &Permission::IDENTITY_USER_READWRITE)
        .await?;
    handle
        .authorize("user.offboard", &Permission::EXCHANGE_MAILBOX_READWRITE)
        .await?;
    if o.remove_groups {
        handle
            .authorize("user.offboard", &Permission::IDENTITY_GROUP_READWRITE)
            .await?;
    }
    if o.disable_onedrive_sharing {
        handle
            .authorize("user.offboard", &Permission::SHAREPOINT_SITE_READWRITE)
            .await?;
    }
    let nothing = !(o.revoke_sessions
        || o.reset_password
        || o.disable_sign_in
        || o.hide_from_gal
        || o.remove_groups
        || o.remove_rules
        || o.remove_mobile_devices
        || o.remove_calendar_invites
        || o.out_of_office.is_some()
        || o.forward_to.is_some()
        || o.disable_forwarding
        || o.disable_onedrive_sharing
        || !o.grant_full_access.is_empty()
        || o.convert_to_shared
        || o.remove_mfa_methods
        || o.licenses != LicenseRemoval::Keep
        || o.clear_immutable_id
        || o.delete_user);
    if nothing {
        return Err(Error::invalid_input(
            "options",
            "no offboarding step was chosen",
        ));
    }
    let a = handle.user(user)?;
    if o.guard == Guard::RefusePrivileged {
        let roles = a.privileged_roles().await?;
        if !roles.is_empty() {
            return Err(Error::invalid_input(
                "user",
                format!(
                    "refusing to offboard a privileged administrator ({})",
                    roles.join(", ")
                ),
            ));
        }
    }
    let exo = handle.exchange();
    let t = handle.id();
    let mut report = Report::new();
    let mut password = None;
    let mut follow_ups = Vec::new();
    let g = Guard::AllowPrivileged;
    if o.revoke_sessions {
        report.push(
            "revoke sessions",
            Outcome::from_result(&a.revoke_sessions().await, "sessions revoked"),
        );
    }
    if o.reset_password {
        match a
            .reset_password(None, &PasswordStyle::default(), true, g)
            .await
        {
            Ok(r) => {
                report.push("reset password", r.report.overall());
                password = Some(r.password);
            }
            Err(e) => report.push("reset password", Outcome::failed(&e)),
        }
    }
    if o.disable_sign_in {
        report.push(
            "block sign-in",
            a.set_sign_in(false, g)
                .await
                .unwrap_or_else(|e| Outcome::failed(&e)),
        );
    }
    if o.hide_from_gal {
        report.push(
            "hide from address book",
            Outcome::from_result(&a.hide_from_address_lists(true).await, "hidden"),
        );
    }
    if o.remove_groups {
        let groups: Result<Vec<DirectoryObject>, Error> =
            handle.graph().users().member_of(a.user_ref(), false).await;
        let outcome = match groups {
            Ok(gs) => {
                let ids: Vec<String> = gs
                    .into_iter()
                    .filter(|g| g.odata_type.as_deref() == Some("#microsoft.graph.group"))
                    .filter_map(|g| g.id)
                    .collect();
                if ids.is_empty() {
                    Outcome::no_change("the user is in no group")
                } else {
                    match a.remove_from_groups(&ids).await {
                        Ok(r) => r.overall(),
                        Err(e) => Outcome::failed(&e),
                    }
                }
            }
            Err(e) => Outcome::failed(&e),
        };
        report.push("remove from groups", outcome);
    }
    if o.remove_rules {
        let outcome = match exo.inbox_rules(user).await {
            Ok(rules) if rules.is_empty() => Outcome::no_change("no inbox rules"),
            Ok(rules) => {
                let mut sub = Report::new();
                for r in rules {
                    let name = r.name.clone().unwrap_or_default();
                    let res = match &r.identity {
                        Some(id) => exo.remove_inbox_rule(user, id).await,
                        None => Err(Error::invalid_input("rule", "no identity")),
                    };
                    sub.push(name, Outcome::from_result(&res, "removed"));
                }
                sub.overall()
            }
            Err(e) => Outcome::failed(&e),
        };
        report.push("remove inbox rules", outcome);
    }
    if o.remove_mobile_devices {
        let outcome = match exo.mobile_devices(user).await {
            Ok(ds) if ds.is_empty() => Outcome::no_change("no mobile devices"),
            Ok(ds) => {
                let mut sub = Report::new();
                for d in ds {
                    let id = d.identity.clone().unwrap_or_default();
                    let res = match cmdlets::remove_mobile_device(user, &id) {
                        Ok(c) => exo.invoke(&c).await.map(drop),
                        Err(e) => Err(e),
                    };
                    sub.push(
                        d.friendly_name.unwrap_or(id),
                        Outcome::from_result(&res, "removed"),
                    );
                }
                sub.overall()
            }
            Err(e) => Outcome::failed(&e),
        };
        report.push("remove mobile devices", outcome);
    }
    if o.remove_calendar_invites {
        let c = cipp_exchange::cmdlet::Cmdlet::new("Remove-CalendarEvents")
            .param("Identity", user)
            .param("QueryWindowInDays", 730)
            .param("CancelOrganizedMeetings", true)
            .param("Confirm", false)
            .anchor(cipp_exchange::cmdlet::Anchor::Mailbox(user.to_owned()));
        report.push(
            "cancel organised meetings",
            Outcome::from_result(&exo.invoke(&c).await, "future meetings cancelled"),
        );
    }
    if let Some(text) = &o.out_of_office {
        let r = a
            .set_out_of_office(&AutoReply::Enabled, Some(text), Some(text))
            .await;
        report.push(
            "out of office",
            Outcome::from_result(&r, "automatic replies on"),
        );
    }
    if let Some((to, keep)) = &o.forward_to {
        let r = a
            .set_forwarding(&Forwarding::Internal {
                recipient: to.clone(),
                keep_copy: *keep,
            })
            .await;
        report.push(
            "forward mail",
            Outcome::from_result(&r, format!("forwarding to {to}")),
        );
    }
    if o.disable_forwarding {
        report.push(
            "remove forwarding",
            Outcome::from_result(
                &a.set_forwarding(&Forwarding::Disabled).await,
                "forwarding removed",
            ),
        );
    }
    if o.disable_onedrive_sharing {
        let r = a
            .set_onedrive_sharing(crate::sharepoint::SharingCapability::Disabled)
            .await;
        report.push(
            "disable OneDrive sharing",
            Outcome::from_result(&r, "OneDrive external sharing disabled"),
        );
    }
    for (who, automap) in &o.grant_full_access {
        report.push(
            format!("full access for {who}"),
            Outcome::from_result(&a.grant_full_access(who, *automap).await, "granted"),
        );
    }
    if o.convert_to_shared {
        let outcome = match a.convert_mailbox(MailboxType::Shared).await {
            Ok(c) if c.warnings.is_empty() => Outcome::succeeded("converted to a shared mailbox"),
            Ok(c) => Outcome::warning(format!(
                "converted to a shared mailbox; {}",
                c.warnings.join("; ")
            )),
            Err(e) => Outcome::failed(&e),
        };
        report.push("convert to shared", outcome);
    }
    if o.remove_mfa_methods {
        let outcome = match a.rerequire_mfa(g).await {
            Ok(r) => r.overall(),
            Err(e) => Outcome::failed(&e),
        };
        report.push("remove MFA methods", outcome);
    }
    match o.licenses {
        LicenseRemoval::Keep => {}
        LicenseRemoval::Now => {
            let change = LicenseChange {
                remove_all: true,
                ..Default::default()
            };
            report.push(
                "remove licences",
                a.manage_licenses(&change, "US")
                    .await
                    .unwrap_or_else(|e| Outcome::failed(&e)),
            );
        }
        LicenseRemoval::Deferred => {
            let not_before = handle.cipp().clock().now() + Duration::minutes(5);
            follow_ups.push(FollowUp::RemoveLicenses {
                tenant: t.clone(),
                user: user.to_owned(),
                not_before,
            });
            report.push(
                "remove licences",
                Outcome::skipped(format!("deferred until {not_before} (follow-up returned)")),
            );
        }
    }
    if o.clear_immutable_id {
        let outcome = match a.clear_immutable_id().await {
            Ok(r) => r.overall(),
            Err(e) => Outcome::failed(&e),
        };
        report.push("clear immutable id", outcome);
    }
    if o.delete_user {
        report.push(
            "delete user",
            Outcome::from_result(
                &handle.graph().users().delete(a.user_ref()).await,
                "deleted",
            ),
        );
    }
    Ok(OffboardingResult {
        report,
        password,
        follow_ups,
    })
}

/// Runs a follow-up.
pub async fn run_follow_up(cipp: &crate::Cipp, f: &FollowUp) -> Result<Outcome, Error> {
    match f {
        FollowUp::RemoveLicenses { tenant, user, .. } => {
            let change = LicenseChange {
                remove_all: true,
                ..Default::default()
            };
            cipp.tenant(tenant)?
                .user(user)?
                .manage_licenses(&change, "US")
                .await
        }
    }
}
