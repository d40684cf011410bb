//! Every action of CIPP's user flyout, one call each, with typed input and result.
//!
//! Multi-step actions return a [`Report`] with one [`Outcome`] per step and never stop at
//! the first failure. Secrets (passwords, Temporary Access Passes) come back as
//! [`SecretString`]s. Resetting the password of, removing MFA from, or blocking a privileged
//! administrator is refused unless [`Guard::AllowPrivileged`] is given.

use chrono::{DateTime, Utc};
use cipp_core::{ApiRequest, Audience, Error, Outcome, Report};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use cipp_exchange::Conversion;
use cipp_graph::audit::SignInFilter;
use cipp_graph::model::{
    AssignedLicense, AuthMethod, DirectoryObject, Group, GroupKind, ManagedDevice,
    NewTemporaryAccessPass, PerUserMfaState, SignIn, SkuId, TemporaryAccessPass, User, UserPatch,
};
use cipp_graph::password::PasswordStyle;
use cipp_graph::users::UserRef;
use cipp_graph::{auth_methods, groups, users, AuditApi, AuthMethodsApi, GroupsApi, UsersApi};
use futures::{StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde::Serialize;

use crate::client::TenantHandle;

/// Role template ids treated as privileged by the guardrails.
pub const PRIVILEGED_ROLES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
    ),
    (
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        "Hybrid Identity Administrator",
    ),
];

/// Whether a risky action may touch a privileged administrator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Guard {
    /// Refuse when the user holds a privileged role (the default).
    #[default]
    RefusePrivileged,
    /// The caller explicitly allows acting on a privileged administrator.
    AllowPrivileged,
}

/// What the user page shows.
#[derive(Clone, Debug, Serialize)]
pub struct UserOverview {
    /// The user.
    pub user: User,
    /// Groups and roles.
    pub member_of: Vec<DirectoryObject>,
    /// Authentication methods.
    pub methods: Vec<AuthMethod>,
    /// The last sign-in.
    pub last_sign_in: Option<SignIn>,
    /// Intune devices.
    pub devices: Vec<ManagedDevice>,
    /// Sections that could not be read, with why.
    pub errors: Vec<(String, String)>,
}

/// The result of a password reset.
#[derive(Debug)]
pub struct PasswordResetResult {
    /// The new password (show once; never log).
    pub password: SecretString,
    /// The steps.
    pub report: Report,
}

/// A licence change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LicenseChange {
    /// SKUs to add.
    pub add: Vec<SkuId>,
    /// SKUs to remove.
    pub remove: Vec<SkuId>,
    /// Remove every licence the user has (before adding `add`).
    pub remove_all: bool,
}

/// The default properties captured from a user ("Create template from user").
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDefaults {
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Street address.
    pub street_address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Usage location.
    pub usage_location: Option<String>,
    /// Licences.
    pub licenses: Vec<SkuId>,
    /// Group memberships (ids).
    pub groups: Vec<String>,
    /// The primary domain.
    pub domain: Option<String>,
}

/// The actions on one user of one tenant.
#[derive(Clone, Debug)]
pub struct UserActions {
    handle: TenantHandle,
    user: UserRef,
}

fn step<T>(report: &mut Report, name: &str, r: &Result<T, Error>, ok: &str) {
    report.push(name, Outcome::from_result(r, ok));
}

impl UserActions {
    pub(crate) fn new(handle: TenantHandle, user: &str) -> Result<Self, Error> {
        Ok(UserActions {
            handle,
            user: UserRef::parse(user)?,
        })
    }

    fn t(&self) -> &cipp_core::TenantId {
        self.handle.id()
    }

    fn g(&self) -> &cipp_graph::GraphClient {
        self.handle.graph()
    }

    /// The user reference.
    pub fn user_ref(&self) -> &UserRef {
        &self.user
    }

    /// Reads the properties the actions need.
    pub async fn resolve(&self) -> Result<User, Error> {
        users::get(
            self.t(),
            &self.user,
            &[
                "id",
                "displayName",
                "userPrincipalName",
                "accountEnabled",
                "onPremisesSyncEnabled",
                "onPremisesImmutableId",
                "userType",
                "mail",
            ],
        )
        .send(self.g().pipeline())
        .await
    }

    /// The privileged roles the user holds (by name).
    pub async fn privileged_roles(&self) -> Result<Vec<String>, Error> {
        let of: Vec<DirectoryObject> = self
            .g()
            .member_of(self.t(), &self.user, false)
            .try_collect()
            .await?;
        Ok(of
            .iter()
            .filter(|o| o.odata_type.as_deref() == Some("#microsoft.graph.directoryRole"))
            .filter_map(|o| o.extra.get("roleTemplateId").and_then(|v| v.as_str()))
            .filter_map(|t| {
                PRIVILEGED_ROLES
                    .iter()
                    .find(|(id, _)| id.eq_ignore_ascii_case(t))
                    .map(|(_, n)| n.to_string())
            })
            .collect())
    }

    async fn guard(&self, guard: Guard, action: &str) -> Result<(), Error> {
        if guard == Guard::AllowPrivileged {
            return Ok(());
        }
        let roles = self.privileged_roles().await?;
        if roles.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_input(
                "user",
                format!(
                    "refusing to {action}: the user holds privileged roles ({}); pass Guard::AllowPrivileged to do it anyway",
                    roles.join(", ")
                ),
            ))
        }
    }

    /// View user: the user, memberships, methods, last sign-in and devices, read together;
    /// a section that fails is listed in `errors` and the rest still come back.
    pub async fn view(&self) -> Result<UserOverview, Error> {
        let user = self.g().get_user(self.t(), &self.user).await?;
        let upn = user.user_principal_name.clone().unwrap_or_default();
        let id = user.id.as_ref().map(|i| i.0.clone());
        let member_of = self
            .g()
            .member_of(self.t(), &self.user, false)
            .try_collect::<Vec<_>>();
        let methods = self.g().list_methods(self.t(), &self.user);
        let sign_in = async {
            let f = SignInFilter {
                user_id: id.clone(),
                top: Some(1),
                ..Default::default()
            };
            let mut s = self.g().sign_ins(self.t(), &f);
            s.next().await.transpose()
        };
        let devices = self
            .g()
            .managed_devices_of(self.t(), &upn)
            .try_collect::<Vec<_>>();
        let (m, a, s, d) = futures::join!(member_of, methods, sign_in, devices);
        let mut errors = Vec::new();
        let mut take = |name: &str, e: Error| errors.push((name.to_owned(), e.to_string()));
        let member_of = m.unwrap_or_else(|e| {
            take("memberOf", e);
            Vec::new()
        });
        let methods = a.unwrap_or_else(|e| {
            take("methods", e);
            Vec::new()
        });
        let last_sign_in = s.unwrap_or_else(|e| {
            take("signIns", e);
            None
        });
        let devices = d.unwrap_or_else(|e| {
            take("devices", e);
            Vec::new()
        });
        Ok(UserOverview {
            user,
            member_of,
            methods,
            last_sign_in,
            devices,
            errors,
        })
    }

    /// Edit user (one PATCH; an empty patch is refused).
    pub async fn edit(&self, patch: &UserPatch) -> Result<Outcome, Error> {
        self.g().update_user(self.t(), &self.user, patch).await?;
        Ok(Outcome::succeeded("user updated"))
    }

    /// Create template from user: the defaults a new user would copy.
    pub async fn capture_defaults(&self) -> Result<UserDefaults, Error> {
        let u = users::get(
            self.t(),
            &self.user,
            &[
                "id",
                "userPrincipalName",
                "jobTitle",
                "department",
                "companyName",
                "streetAddress",
                "city",
                "state",
                "postalCode",
                "country",
                "usageLocation",
                "assignedLicenses",
            ],
        )
        .send(self.g().pipeline())
        .await?;
        let groups: Vec<DirectoryObject> = self
            .g()
            .member_of(self.t(), &self.user, false)
            .try_collect()
            .await?;
        Ok(UserDefaults {
            job_title: u.job_title,
            department: u.department,
            company_name: u.company_name,
            street_address: u.street_address,
            city: u.city,
            state: u.state,
            postal_code: u.postal_code,
            country: u.country,
            usage_location: u.usage_location,
            licenses: u
                .assigned_licenses
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.sku_id)
                .collect(),
            groups: groups
                .into_iter()
                .filter(|g| g.odata_type.as_deref() == Some("#microsoft.graph.group"))
                .filter_map(|g| g.id)
                .collect(),
            domain: u
                .user_principal_name
                .and_then(|p| p.split_once('@').map(|(_, d)| d.to_owned())),
        })
    }

    /// Create a Temporary Access Pass (checked against the tenant's TAP policy).
    pub async fn create_tap(
        &self,
        request: &NewTemporaryAccessPass,
    ) -> Result<TemporaryAccessPass, Error> {
        self.g()
            .create_tap(self.t(), &self.user, request, true)
            .await
    }

    /// Re-require MFA registration: remove every method but the password.
    pub async fn rerequire_mfa(&self, guard: Guard) -> Result<Report, Error> {
        self.guard(guard, "remove MFA methods").await?;
        self.g().remove_all_but_password(self.t(), &self.user).await
    }

    /// Remove one MFA method.
    pub async fn remove_mfa_method(&self, method: &AuthMethod, guard: Guard) -> Result<(), Error> {
        self.guard(guard, "remove an MFA method").await?;
        self.g().delete_method(self.t(), &self.user, method).await
    }

    /// Set per-user (legacy) MFA. Guests are addressed by object id, as CIPP does.
    pub async fn set_per_user_mfa(&self, state: PerUserMfaState) -> Result<(), Error> {
        let target = match &self.user {
            UserRef::Upn(u) if u.contains("#EXT#") => {
                let id = self
                    .resolve()
                    .await?
                    .id
                    .ok_or_else(|| Error::Config("user without id".into()))?;
                UserRef::Id(id)
            }
            other => other.clone(),
        };
        auth_methods::set_per_user_mfa(self.t(), &target, state)?
            .send(self.g().pipeline())
            .await
    }

    /// Set the default MFA method (beta `signInPreferences`).
    pub async fn set_default_mfa_method(&self, method: &str) -> Result<(), Error> {
        const METHODS: &[&str] = &[
            "push",
            "oath",
            "voiceMobile",
            "voiceAlternateMobile",
            "voiceOffice",
            "sms",
        ];
        if !METHODS.contains(&method) {
            return Err(Error::invalid_input(
                "method",
                format!("must be one of {}", METHODS.join(", ")),
            ));
        }
        let r = ApiRequest::patch(
            self.t().clone(),
            Audience::Graph,
            format!("/beta{}/authentication/signInPreferences", self.user.path()),
        )
        .operation("set default MFA method")
        .json(&serde_json::json!({"userPreferredMethodForSecondaryAuthentication": method}))?
        .idempotent(true);
        self.g().pipeline().send(r).await.map(drop)
    }

    /// Set sign-in state. Blocking a privileged admin needs [`Guard::AllowPrivileged`];
    /// a directory-synced user gets a warning that the next sync overwrites the change.
    pub async fn set_sign_in(&self, enabled: bool, guard: Guard) -> Result<Outcome, Error> {
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
        self.g()
            .set_sign_in_enabled(self.t(), &self.user, enabled)
            .await?;
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
        self.guard(guard, "reset the password").await?;
        let r = self
            .g()
            .reset_password(self.t(), &self.user, password, style, must_change)
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
    }

    /// Require password change at next sign-in.
    pub async fn require_password_change(&self) -> Result<(), Error> {
        let r = ApiRequest::patch(
            self.t().clone(),
            Audience::Graph,
            format!("/v1.0{}", self.user.path()),
        )
        .operation("require password change")
        .json(&serde_json::json!({"passwordProfile": {"forceChangePasswordNextSignIn": true}}))?
        .idempotent(true);
        self.g().pipeline().send(r).await.map(drop)
    }

    /// Set password expiration (never expires or the tenant policy).
    pub async fn set_password_never_expires(&self, never: bool) -> Result<(), Error> {
        self.g()
            .set_password_never_expires(self.t(), &self.user, never)
            .await
    }

    /// Clear the immutable id: refused for synced users; a deleted user is restored first.
    pub async fn clear_immutable_id(&self) -> Result<Report, Error> {
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
                let r = self.g().restore_deleted(self.t(), id.as_str()).await;
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
        let r = self.g().clear_immutable_id(self.t(), &self.user).await;
        step(
            &mut report,
            "clear immutable id",
            &r,
            "immutable id cleared",
        );
        Ok(report)
    }

    /// Set source of authority (cloud-managed) for a synced or previously synced user.
    pub async fn set_cloud_managed(&self, cloud_managed: bool) -> Result<(), Error> {
        let r = ApiRequest::patch(
            self.t().clone(),
            Audience::Graph,
            format!("/beta{}/onPremisesSyncBehavior", self.user.path()),
        )
        .operation("set source of authority")
        .json(&serde_json::json!({"isCloudManaged": cloud_managed}))?
        .idempotent(true);
        self.g().pipeline().send(r).await.map(drop)
    }

    /// Reprocess licence assignments.
    pub async fn reprocess_licenses(&self) -> Result<(), Error> {
        self.g()
            .reprocess_license_assignment(self.t(), &self.user)
            .await
            .map(drop)
    }

    /// Manage licences: add, remove, or replace all; a missing usage location is set to
    /// `default_usage_location` and the assignment retried.
    pub async fn manage_licenses(
        &self,
        change: &LicenseChange,
        default_usage_location: &str,
    ) -> Result<Outcome, Error> {
        let mut remove = change.remove.clone();
        if change.remove_all {
            let u = users::get(self.t(), &self.user, &["id", "assignedLicenses"])
                .send(self.g().pipeline())
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
            .assign_licenses(
                self.t(),
                &self.user,
                &add,
                &remove,
                Some(default_usage_location),
            )
            .await?;
        Ok(Outcome::succeeded(format!(
            "{} added, {} removed",
            add.len(),
            remove.len()
        )))
    }

    /// Revoke all sessions.
    pub async fn revoke_sessions(&self) -> Result<(), Error> {
        self.g()
            .revoke_sign_in_sessions(self.t(), &self.user)
            .await
            .map(drop)
    }

    /// Delete user (to the recycle bin).
    pub async fn delete(&self) -> Result<(), Error> {
        self.g().delete_user(self.t(), &self.user).await
    }

    /// Change the UPN (or its domain) after checking the domain.
    pub async fn change_upn(&self, new_upn: &str) -> Result<(), Error> {
        self.g().change_upn(self.t(), &self.user, new_upn).await
    }

    /// Remove an admin role (built-in roles, by template id).
    pub async fn remove_admin_role(&self, role_template_id: &str) -> Result<(), Error> {
        let id = self
            .resolve()
            .await?
            .id
            .ok_or_else(|| Error::Config("user without id".into()))?;
        let r = ApiRequest::delete(
            self.t().clone(),
            Audience::Graph,
            format!("/v1.0/directoryRoles(roleTemplateId='{role_template_id}')/members/{id}/$ref"),
        )
        .operation("remove admin role");
        self.g().pipeline().send(r).await.map(drop)
    }

    async fn group_of(&self, group_id: &str) -> Result<Group, Error> {
        groups::get(
            self.t(),
            group_id,
            &[
                "id",
                "displayName",
                "mail",
                "groupTypes",
                "mailEnabled",
                "securityEnabled",
                "onPremisesSyncEnabled",
            ],
        )?
        .send(self.g().pipeline())
        .await
    }

    /// Add to groups: Graph for security and Microsoft 365 groups, Exchange for
    /// distribution lists and mail-enabled security groups; one outcome per group.
    pub async fn add_to_groups(&self, group_ids: &[String]) -> Result<Report, Error> {
        self.change_groups(group_ids, true).await
    }

    /// Remove from groups (routed like [`UserActions::add_to_groups`]).
    pub async fn remove_from_groups(&self, group_ids: &[String]) -> Result<Report, Error> {
        self.change_groups(group_ids, false).await
    }

    async fn change_groups(&self, group_ids: &[String], add: bool) -> Result<Report, Error> {
        let user = self.resolve().await?;
        let uid = user
            .id
            .clone()
            .ok_or_else(|| Error::Config("user without id".into()))?;
        let upn = user.user_principal_name.clone().unwrap_or_default();
        let mut report = Report::new();
        for gid in group_ids {
            let group = match self.group_of(gid).await {
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
                        Ok(c) => self.handle.exchange().invoke(self.t(), &c).await.map(drop),
                        Err(e) => Err(e),
                    }
                }
                _ => {
                    if add {
                        self.g().add_member(self.t(), gid, uid.as_str()).await
                    } else {
                        self.g().remove_member(self.t(), gid, uid.as_str()).await
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

    fn mailbox(&self) -> Result<String, Error> {
        match &self.user {
            UserRef::Upn(u) => Ok(u.clone()),
            UserRef::Id(_) => Err(Error::invalid_input(
                "user",
                "Exchange actions need the user's UPN",
            )),
        }
    }

    /// Aliases: add, remove, make primary.
    pub async fn change_aliases(&self, change: &AliasChange) -> Result<Outcome, Error> {
        self.handle
            .exchange()
            .change_aliases(self.t(), &self.mailbox()?, change)
            .await
    }

    /// Set or disable forwarding.
    pub async fn set_forwarding(&self, forwarding: &Forwarding) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_forwarding(self.t(), &self.mailbox()?, forwarding)
            .await
    }

    /// Set out of office.
    pub async fn set_out_of_office(
        &self,
        state: &AutoReply,
        internal: Option<&str>,
        external: Option<&str>,
    ) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_auto_reply(self.t(), &self.mailbox()?, state, internal, external)
            .await
    }

    /// Convert the mailbox.
    pub async fn convert_mailbox(&self, to: MailboxType) -> Result<Conversion, Error> {
        self.handle
            .exchange()
            .convert_mailbox(self.t(), &self.mailbox()?, to)
            .await
    }

    /// Enable the online archive.
    pub async fn enable_archive(&self, auto_expanding: bool) -> Result<(), Error> {
        self.handle
            .exchange()
            .enable_archive(self.t(), &self.mailbox()?, auto_expanding)
            .await
    }

    /// Hide from (or show in) the address book.
    pub async fn hide_from_address_lists(&self, hidden: bool) -> Result<(), Error> {
        self.handle
            .exchange()
            .set_hidden_from_address_lists(self.t(), &self.mailbox()?, hidden)
            .await
    }

    /// Disable every inbox rule (hidden ones included; system rules left alone).
    pub async fn disable_inbox_rules(&self) -> Result<Report, Error> {
        self.handle
            .exchange()
            .disable_all_inbox_rules(self.t(), &self.mailbox()?)
            .await
    }

    /// Grant another user full access to this mailbox.
    pub async fn grant_full_access(&self, to: &str, auto_mapping: bool) -> Result<(), Error> {
        let c = cmdlets::add_full_access(&self.mailbox()?, to, auto_mapping)?;
        self.handle.exchange().invoke(self.t(), &c).await.map(drop)
    }

    /// Grant another user a calendar permission on this mailbox.
    pub async fn grant_calendar(&self, to: &str, rights: &str) -> Result<(), Error> {
        let c = cmdlets::set_calendar_permission(&self.mailbox()?, to, rights, false)?;
        self.handle.exchange().invoke(self.t(), &c).await.map(drop)
    }

    /// Bulk edit: one patch per user, sent through `$batch`; one outcome per user.
    pub async fn bulk_edit(
        handle: &TenantHandle,
        edits: &[(String, UserPatch)],
    ) -> Result<Report, Error> {
        let mut ops = Vec::with_capacity(edits.len());
        let mut report = Report::new();
        let mut names = Vec::new();
        for (u, patch) in edits {
            match UserRef::parse(u).and_then(|r| users::update(handle.id(), &r, patch)) {
                Ok(op) => {
                    ops.push(op);
                    names.push(u.clone());
                }
                Err(e) => report.push(u.clone(), Outcome::failed(&e)),
            }
        }
        let results = cipp_graph::batch::run(
            handle.graph().pipeline(),
            handle.id(),
            ops,
            &Default::default(),
        )
        .await?;
        for (name, r) in names.into_iter().zip(results) {
            report.push(name, Outcome::from_result(&r, "updated"));
        }
        Ok(report)
    }

    /// When the user was created and last changed their password (for reports).
    pub async fn timestamps(
        &self,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), Error> {
        let u = users::get(
            self.t(),
            &self.user,
            &["id", "createdDateTime", "lastPasswordChangeDateTime"],
        )
        .send(self.g().pipeline())
        .await?;
        let last = u
            .extra
            .get("lastPasswordChangeDateTime")
            .and_then(|v| v.as_str())
            .and_then(cipp_graph::model::parse_timestamp);
        Ok((u.created_date_time, last))
    }
}

/// The legacy MFA notification client (`StrongAuthenticationService` connector).
pub const MFA_CONNECTOR_APP_ID: &str = "981f26a1-7f43-403b-a875-f8b09b8cd720";

/// What the user did with an MFA push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum MfaPushResult {
    /// The user approved it.
    Approved,
    /// The user denied it, or did not answer in time.
    NotApproved {
        /// The service's result text.
        reason: String,
    },
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

impl UserActions {
    /// Send MFA push: finds (or creates) the legacy MFA connector's service principal,
    /// gives it a password valid five minutes, gets a connector token with it, and asks the
    /// connector to push a sign-in request to the user's authenticator.
    pub async fn send_mfa_push(&self) -> Result<MfaPushResult, Error> {
        let upn = self.mailbox()?;
        let p = self.g().pipeline();
        #[derive(serde::Deserialize)]
        struct Sp {
            id: String,
        }
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<Sp>,
        }
        let filter = format!("appId eq '{MFA_CONNECTOR_APP_ID}'");
        let found: Page = p
            .send_json(
                ApiRequest::get(self.t().clone(), Audience::Graph, "/v1.0/servicePrincipals")
                    .query("$filter", &filter),
            )
            .await?;
        let sp_id = match found.value.into_iter().next() {
            Some(sp) => sp.id,
            None => {
                let r =
                    ApiRequest::post(self.t().clone(), Audience::Graph, "/v1.0/servicePrincipals")
                        .operation("create MFA connector service principal")
                        .json(&serde_json::json!({"appId": MFA_CONNECTOR_APP_ID}))?;
                p.send_json::<Sp>(r).await?.id
            }
        };
        let end = self.handle.cipp().clock().now() + chrono::Duration::minutes(5);
        let r = ApiRequest::post(self.t().clone(), Audience::Graph, format!("/v1.0/servicePrincipals/{sp_id}/addPassword"))
            .operation("add temporary connector password")
            .json(&serde_json::json!({"passwordCredential": {"displayName": "cipp-rs MFA push", "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}}))?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Secret {
            secret_text: String,
        }
        let secret = SecretString::from(p.send_json::<Secret>(r).await?.secret_text);
        // v1 client-credentials token for the connector resource, with the temporary
        // secret: through core auth (retried, redacted, traced like every token request).
        let endpoints = p.endpoints();
        let token = p
            .token_endpoint()
            .client_credentials_v1(
                self.t(),
                MFA_CONNECTOR_APP_ID,
                &secret,
                "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector",
            )
            .await?;
        let context = uuid::Uuid::new_v4();
        let xml = format!(
            "<BeginTwoWayAuthenticationRequest><Version>1.0</Version><UserPrincipalName>{}</UserPrincipalName><Lcid>en-us</Lcid>\
<AuthenticationMethodProperties xmlns:a=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"><a:KeyValueOfstringstring><a:Key>OverrideVoiceOtp</a:Key><a:Value>false</a:Value></a:KeyValueOfstringstring></AuthenticationMethodProperties>\
<ContextId>{context}</ContextId><SyncCall>true</SyncCall><RequireUserMatch>true</RequireUserMatch><CallerName>radius</CallerName><CallerIP>UNKNOWN:</CallerIP></BeginTwoWayAuthenticationRequest>",
            upn.replace('&', "&amp;").replace('<', "&lt;")
        );
        let auth = token.authorization_header().clone();
        let push = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!(
                "{}/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
                endpoints.mfa_connector.trim_end_matches('/')
            ))
            .header(http::header::CONTENT_TYPE, "application/xml")
            .header(http::header::AUTHORIZATION, auth)
            .body(bytes::Bytes::from(xml))
            .map_err(|e| Error::Config(e.to_string()))?;
        let resp = p.transport().send(push).await.map_err(|mut e| {
            e.tenant = Some(self.t().clone());
            e.operation = Some("MFA push (BeginTwoWayAuthentication)".into());
            e.not_resent = true;
            Error::Transport(e)
        })?;
        if !resp.status().is_success() {
            return Err(cipp_core::ApiError::from_response(
                self.t().clone(),
                "MFA push (BeginTwoWayAuthentication)",
                resp.status(),
                resp.headers(),
                resp.body(),
            )
            .into());
        }
        let text = String::from_utf8_lossy(resp.body()).into_owned();
        let approved =
            xml_text(&text, "AuthenticationResult").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(if approved {
            MfaPushResult::Approved
        } else {
            let reason = xml_text(&text, "Message")
                .filter(|m| !m.is_empty())
                .or_else(|| xml_text(&text, "Value"))
                .unwrap_or("not approved")
                .to_owned();
            MfaPushResult::NotApproved { reason }
        })
    }

    /// Pre-provision OneDrive.
    pub async fn provision_onedrive(&self) -> Result<(), Error> {
        crate::sharepoint::request_personal_sites(&self.handle, &[self.mailbox()?.as_str()]).await
    }

    /// Set OneDrive external sharing.
    pub async fn set_onedrive_sharing(
        &self,
        level: crate::sharepoint::SharingCapability,
    ) -> Result<(), Error> {
        crate::sharepoint::set_onedrive_sharing(&self.handle, &self.mailbox()?, level).await
    }

    /// Add a OneDrive shortcut to a SharePoint library or folder.
    pub async fn add_onedrive_shortcut(
        &self,
        name: &str,
        target: &crate::sharepoint::SharePointIds,
    ) -> Result<(), Error> {
        crate::sharepoint::add_onedrive_shortcut(&self.handle, &self.mailbox()?, name, target).await
    }
}
