//! The account: sign-in, sessions, passwords, immutable id and source of authority,
//! licences, deletion, UPN, admin roles and group membership.

use cipp_core::{Error, Outcome, Report};
use cipp_exchange::cmdlets;
use cipp_graph::model::{AssignedLicense, DirectoryObjectId, Group, GroupId, GroupKind};
use cipp_graph::password::PasswordStyle;
use cipp_graph::users::UserRef;
use secrecy::SecretString;

use super::{step, Guard, LicenseChange, PasswordResetResult, UserActions};
use crate::authz::{by_outcome, by_report, succeeded, Permission};
use serde_json::{json, Value};

impl UserActions {
    /// Set sign-in state. Blocking a privileged admin needs [`Guard::AllowPrivileged`];
    /// a directory-synced user gets a warning that the next sync overwrites the change.
    pub async fn set_sign_in(&self, enabled: bool, guard: Guard) -> Result<Outcome, Error> {
        self.act("user.set_sign_in", &Permission::IDENTITY_USER_READWRITE, json!({"enabled": enabled}), by_outcome, async {
        if !enabled {
            self.guard(guard, "block sign-in").await?;
        }
        let user = self.resolve().await?;
        if user.account_enabled == Some(enabled) {
            return Ok(Outcome::no_change(if enabled {
                "sign-in was already allowed"
            } else {
                "sign-in was already blocked"
            }));
        }
        self.g().users().set_sign_in(&self.user, enabled).await?;
        let what = if enabled {
            "sign-in allowed"
        } else {
            "sign-in blocked"
        };
        Ok(if user.is_synced() {
            Outcome::warning(format!("{what}, but the user is synchronised from on-premises AD: change it there too or the next sync will undo it"))
        } else {
            Outcome::succeeded(what)
        })
        }).await
    }

    /// Revoke all sessions.
    pub async fn revoke_sessions(&self) -> Result<(), Error> {
        self.act(
            "user.revoke_sessions",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            succeeded,
            async { self.g().users().revoke_sessions(&self.user).await.map(drop) },
        )
        .await
    }

    /// Reset password (generated unless given). Directory-synced users go through
    /// writeback (always forcing a change).
    pub async fn reset_password(
        &self,
        password: Option<SecretString>,
        style: &PasswordStyle,
        must_change: bool,
        guard: Guard,
    ) -> Result<PasswordResetResult, Error> {
        self.act("user.reset_password", &Permission::IDENTITY_USER_READWRITE, json!({"mustChange": must_change, "passwordGiven": password.is_some()}), |r: &PasswordResetResult| by_report(&r.report), async {
        self.guard(guard, "reset the password").await?;
        let r = self
            .g()
            .users()
            .reset_password(&self.user, password, style, must_change)
            .await?;
        let mut report = Report::new();
        report.push(
            "reset password",
            if r.via_writeback {
                Outcome::warning("reset through password writeback (directory-synced user): it applies asynchronously and forces a change at next sign-in")
            } else {
                Outcome::succeeded(if r.must_change { "password reset; change required at next sign-in" } else { "password reset" })
            },
        );
        Ok(PasswordResetResult {
            password: r.password,
            report,
        })
        }).await
    }

    /// Require password change at next sign-in.
    pub async fn require_password_change(&self) -> Result<(), Error> {
        self.act(
            "user.require_password_change",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            succeeded,
            async { self.g().users().require_password_change(&self.user).await },
        )
        .await
    }

    /// Set password expiration (never expires or the tenant policy).
    pub async fn set_password_never_expires(&self, never: bool) -> Result<(), Error> {
        self.act(
            "user.set_password_never_expires",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"neverExpires": never}),
            succeeded,
            async {
                self.g()
                    .users()
                    .set_password_never_expires(&self.user, never)
                    .await
            },
        )
        .await
    }

    /// Clear the immutable id: refused for synced users; a deleted user is restored first.
    pub async fn clear_immutable_id(&self) -> Result<Report, Error> {
        self.act(
            "user.clear_immutable_id",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            by_report,
            async {
                let mut report = Report::new();
                let user = match self.resolve().await {
                    Ok(u) => u,
                    Err(e) if e.is_not_found() => {
                        let UserRef::Id(id) = &self.user else {
                            return Err(Error::invalid_input(
                                "user",
                                "a deleted user can only be restored by object id",
                            ));
                        };
                        let r = self
                            .g()
                            .users()
                            .restore(&DirectoryObjectId::from(id.as_str()))
                            .await;
                        step(&mut report, "restore from deleted items", &r, "restored");
                        r?;
                        self.resolve().await?
                    }
                    Err(e) => return Err(e),
                };
                if user.is_synced() {
                    report.push(
                "clear immutable id",
                Outcome::skipped(
                    "the user is still synchronised: remove it from sync first, then clear the id",
                ),
            );
                    return Ok(report);
                }
                if user.on_premises_immutable_id.is_none() {
                    report.push(
                        "clear immutable id",
                        Outcome::no_change("no immutable id is set"),
                    );
                    return Ok(report);
                }
                let r = self.g().users().clear_immutable_id(&self.user).await;
                step(
                    &mut report,
                    "clear immutable id",
                    &r,
                    "immutable id cleared",
                );
                Ok(report)
            },
        )
        .await
    }

    /// Set source of authority (cloud-managed) for a synced or previously synced user.
    pub async fn set_cloud_managed(&self, cloud_managed: bool) -> Result<(), Error> {
        self.act(
            "user.set_cloud_managed",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"cloudManaged": cloud_managed}),
            succeeded,
            async {
                self.g()
                    .users()
                    .set_cloud_managed(&self.user, cloud_managed)
                    .await
            },
        )
        .await
    }

    /// Reprocess licence assignments.
    pub async fn reprocess_licenses(&self) -> Result<(), Error> {
        self.act(
            "user.reprocess_licenses",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            succeeded,
            async {
                self.g()
                    .users()
                    .reprocess_licenses(&self.user)
                    .await
                    .map(drop)
            },
        )
        .await
    }

    /// Manage licences: add, remove, or replace all; a missing usage location is set to
    /// `default_usage_location` and the assignment retried.
    pub async fn manage_licenses(
        &self,
        change: &LicenseChange,
        default_usage_location: &str,
    ) -> Result<Outcome, Error> {
        self.act(
            "user.manage_licenses",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"add": change.add, "remove": change.remove, "removeAll": change.remove_all}),
            by_outcome,
            async {
                let mut remove = change.remove.clone();
                if change.remove_all {
                    let u = self
                        .g()
                        .users()
                        .get(&self.user)
                        .select(["id", "assignedLicenses"])
                        .await?;
                    for l in u.assigned_licenses.unwrap_or_default() {
                        if !remove.contains(&l.sku_id) && !change.add.contains(&l.sku_id) {
                            remove.push(l.sku_id);
                        }
                    }
                }
                if change.add.is_empty() && remove.is_empty() {
                    return Ok(Outcome::no_change("no licence to add or remove"));
                }
                let add: Vec<AssignedLicense> = change
                    .add
                    .iter()
                    .map(|s| AssignedLicense {
                        sku_id: s.clone(),
                        disabled_plans: vec![],
                    })
                    .collect();
                self.g()
                    .users()
                    .assign_licenses(&self.user, &add, &remove, Some(default_usage_location))
                    .await?;
                Ok(Outcome::succeeded(format!(
                    "{} added, {} removed",
                    add.len(),
                    remove.len()
                )))
            },
        )
        .await
    }

    /// Delete user (to the recycle bin). Refused for a privileged administrator unless
    /// [`Guard::AllowPrivileged`] is given.
    pub async fn delete(&self, guard: Guard) -> Result<(), Error> {
        self.act(
            "user.delete",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            succeeded,
            async {
                self.guard(guard, "delete the user").await?;
                self.g().users().delete(&self.user).await
            },
        )
        .await
    }

    /// Change the UPN (or its domain) after checking the domain. Refused for a privileged
    /// administrator unless [`Guard::AllowPrivileged`] is given.
    pub async fn change_upn(&self, new_upn: &str, guard: Guard) -> Result<(), Error> {
        self.act(
            "user.change_upn",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"newUpn": new_upn}),
            succeeded,
            async {
                self.guard(guard, "change the UPN").await?;
                self.g().users().change_upn(&self.user, new_upn).await
            },
        )
        .await
    }

    /// Remove an admin role (built-in roles, by template id).
    pub async fn remove_admin_role(&self, role_template_id: &str) -> Result<(), Error> {
        self.act(
            "user.remove_admin_role",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"roleTemplateId": role_template_id}),
            succeeded,
            async {
                let id = self.object_id().await?;
                self.g()
                    .directory()
                    .remove_role_member(role_template_id, &DirectoryObjectId::from(id.as_str()))
                    .await
            },
        )
        .await
    }

    async fn group_of(&self, group_id: &GroupId) -> Result<Group, Error> {
        self.g()
            .groups()
            .get(group_id)
            .select([
                "id",
                "displayName",
                "mail",
                "groupTypes",
                "mailEnabled",
                "securityEnabled",
                "onPremisesSyncEnabled",
            ])
            .await
    }

    /// Add to groups: Graph for security and Microsoft 365 groups, Exchange for
    /// distribution lists and mail-enabled security groups; one outcome per group.
    pub async fn add_to_groups(&self, group_ids: &[String]) -> Result<Report, Error> {
        self.act(
            "user.add_to_groups",
            &Permission::IDENTITY_GROUP_READWRITE,
            json!({"groups": group_ids}),
            by_report,
            async { self.change_groups(group_ids, true).await },
        )
        .await
    }

    /// Remove from groups (routed like [`UserActions::add_to_groups`]).
    pub async fn remove_from_groups(&self, group_ids: &[String]) -> Result<Report, Error> {
        self.act(
            "user.remove_from_groups",
            &Permission::IDENTITY_GROUP_READWRITE,
            json!({"groups": group_ids}),
            by_report,
            async { self.change_groups(group_ids, false).await },
        )
        .await
    }

    async fn change_groups(&self, group_ids: &[String], add: bool) -> Result<Report, Error> {
        let user = self.resolve().await?;
        let uid = user.id.clone().ok_or_else(|| {
            Error::protocol(
                Some(self.t().clone()),
                "get user",
                "the user came back without an id",
            )
        })?;
        let member = DirectoryObjectId::from(uid.as_str());
        let upn = user.user_principal_name.clone().unwrap_or_default();
        let mut report = Report::new();
        for gid in group_ids {
            let group_id = GroupId::from(gid.as_str());
            let group = match self.group_of(&group_id).await {
                Ok(g) => g,
                Err(e) => {
                    report.push(gid.clone(), Outcome::failed(&e));
                    continue;
                }
            };
            let name = group.display_name.clone().unwrap_or_else(|| gid.clone());
            if group.is_dynamic() || group.on_premises_sync_enabled == Some(true) {
                report.push(
                    name,
                    Outcome::skipped(
                        "dynamic or synchronised group: membership cannot be changed here",
                    ),
                );
                continue;
            }
            let result = match group.kind() {
                GroupKind::Distribution | GroupKind::MailEnabledSecurity => {
                    let identity = group.mail.clone().unwrap_or_else(|| gid.clone());
                    let c = if add {
                        cmdlets::add_distribution_group_member(&identity, &upn)
                    } else {
                        cmdlets::remove_distribution_group_member(&identity, &upn)
                    };
                    match c {
                        Ok(c) => self.handle.exchange().invoke(&c).await.map(drop),
                        Err(e) => Err(e),
                    }
                }
                _ => {
                    let groups = self.g().groups();
                    if add {
                        groups.add_member(&group_id, &member).await
                    } else {
                        groups.remove_member(&group_id, &member).await
                    }
                }
            };
            let already = result.as_ref().err().is_some_and(|e| {
                let s = e.to_string();
                s.contains("already exist") || s.contains("already a member")
            });
            report.push(
                name,
                if already {
                    Outcome::no_change("already a member")
                } else {
                    Outcome::from_result(&result, if add { "added" } else { "removed" })
                },
            );
        }
        Ok(report)
    }
}
