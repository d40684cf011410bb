//! Every action of CIPP's user flyout, one call each, with typed input and result.
//!
//! Multi-step actions return a [`Report`] with one [`Outcome`] per step and never stop at
//! the first failure. Secrets (passwords, Temporary Access Passes) come back as
//! [`SecretString`]s. Resetting the password of, removing MFA from, or blocking a privileged
//! administrator is refused unless [`Guard::AllowPrivileged`] is given.
//!
//! The actions are grouped by what they touch: [`identity`] (the account, sign-in,
//! passwords, licences, groups, roles), [`sponsors`], [`mfa`] (methods, Temporary Access
//! Passes, per-user MFA, MFA push), [`mailbox`] (Exchange), [`folders`] (calendar and
//! contacts sharing), [`junk_email`] (trusted and blocked senders) and [`onedrive`]. Every request they send is an
//! operation of `cipp-graph` or `cipp-exchange`.

use chrono::{DateTime, Utc};
use cipp_core::{Error, Outcome, Report};
use cipp_graph::audit::SignInFilter;
use cipp_graph::model::{
    AuthMethod, DirectoryObject, ManagedDevice, SignIn, SkuId, User, UserPatch,
};
use cipp_graph::users::UserRef;
use secrecy::SecretString;
use serde::Serialize;

use crate::authz::{by_outcome, Permission};
use crate::client::TenantHandle;
use serde_json::Value;

pub mod create;
pub mod folders;
pub mod identity;
pub mod junk_email;
pub mod mailbox;
pub mod mfa;
pub mod onedrive;
pub mod sponsors;

pub use cipp_graph::mfa_push::{MfaPushResult, MFA_CONNECTOR_APP_ID};

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

pub(crate) fn step<T>(report: &mut Report, name: &str, r: &Result<T, Error>, ok: &str) {
    report.push(name, Outcome::from_result(r, ok));
}

impl UserActions {
    pub(crate) fn new(handle: TenantHandle, user: &str) -> Result<Self, Error> {
        Ok(UserActions {
            handle,
            user: UserRef::parse(user)?,
        })
    }

    pub(crate) fn for_ref(handle: TenantHandle, user: UserRef) -> Self {
        UserActions { handle, user }
    }

    /// The user as audit events name it.
    fn target(&self) -> String {
        match &self.user {
            UserRef::Id(id) => id.0.clone(),
            UserRef::Upn(upn) => upn.clone(),
            #[allow(unreachable_patterns)]
            _ => String::new(),
        }
    }

    /// Runs a write: checks `permission` for the client's principal in this tenant before
    /// anything is sent, then records the outcome in the audit trail.
    pub(crate) async fn act<T>(
        &self,
        operation: &str,
        permission: &Permission,
        parameters: Value,
        classify: impl FnOnce(&T) -> crate::authz::AuditOutcome,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let target = self.target();
        let act = crate::authz::Act {
            operation,
            permission,
            target: Some(&target),
            parameters,
        };
        self.handle.audited(act, classify, work).await
    }

    /// Runs a read: checks `Identity.User.Read` first (refusals are recorded).
    pub(crate) async fn read<T>(
        &self,
        operation: &str,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let target = self.target();
        self.handle
            .authorize_act(&crate::authz::Act {
                operation,
                permission: &Permission::IDENTITY_USER_READ,
                target: Some(&target),
                parameters: Value::Null,
            })
            .await?;
        work.await
    }

    pub(crate) fn handle(&self) -> &TenantHandle {
        &self.handle
    }

    pub(crate) fn t(&self) -> &cipp_core::TenantId {
        self.handle.id()
    }

    pub(crate) fn g(&self) -> &cipp_graph::TenantGraph {
        self.handle.graph()
    }

    /// The user reference.
    pub fn user_ref(&self) -> &UserRef {
        &self.user
    }

    /// Reads the properties the actions need.
    pub async fn resolve(&self) -> Result<User, Error> {
        self.read("user.resolve", async {
            self.g()
                .users()
                .get(&self.user)
                .select([
                    "id",
                    "displayName",
                    "userPrincipalName",
                    "accountEnabled",
                    "onPremisesSyncEnabled",
                    "onPremisesImmutableId",
                    "userType",
                    "mail",
                ])
                .await
        })
        .await
    }

    /// The user's object id (read when the user was named by UPN).
    pub(crate) async fn object_id(&self) -> Result<cipp_graph::model::UserId, Error> {
        if let UserRef::Id(id) = &self.user {
            return Ok(id.clone());
        }
        self.resolve().await?.id.ok_or_else(|| {
            Error::protocol(
                Some(self.t().clone()),
                "get user",
                "the user came back without an id",
            )
        })
    }

    /// The privileged roles the user holds, by name: active ones directly or through nested
    /// and role-assignable groups (`transitiveMemberOf`), and eligible (PIM) ones of the user
    /// and of those groups, marked `(eligible)`.
    pub async fn privileged_roles(&self) -> Result<Vec<String>, Error> {
        self.read("user.privileged_roles", async {
            let privileged = |template: &str| {
                PRIVILEGED_ROLES
                    .iter()
                    .find(|(id, _)| id.eq_ignore_ascii_case(template))
                    .map(|(_, n)| *n)
            };
            let (uid, of) = futures::try_join!(
                self.object_id(),
                self.g().users().member_of(&self.user, true).collect()
            )?;
            // Active roles, directly or through (role-assignable) groups.
            let mut roles: Vec<String> = of
                .iter()
                .filter(|o| o.odata_type.as_deref() == Some("#microsoft.graph.directoryRole"))
                .filter_map(|o| o.extra.get("roleTemplateId").and_then(|v| v.as_str()))
                .filter_map(privileged)
                .map(str::to_owned)
                .collect();
            // Eligible (PIM) roles of the user and of the role-assignable groups it is in.
            let mut principals = vec![uid.0.clone()];
            principals.extend(
                of.iter()
                    .filter(|o| o.odata_type.as_deref() == Some("#microsoft.graph.group"))
                    .filter(|o| {
                        o.extra.get("isAssignableToRole") == Some(&serde_json::Value::Bool(true))
                    })
                    .filter_map(|o| o.id.clone()),
            );
            let eligible = futures::future::try_join_all(
                principals
                    .iter()
                    .map(|p| self.g().directory().role_eligibilities(p).collect()),
            )
            .await?;
            for e in eligible.iter().flatten() {
                if let Some(name) = e.role_definition_id.as_deref().and_then(privileged) {
                    roles.push(format!("{name} (eligible)"));
                }
            }
            roles.sort();
            roles.dedup();
            Ok(roles)
        })
        .await
    }

    pub(crate) async fn guard(&self, guard: Guard, action: &str) -> Result<(), Error> {
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
        self.read("user.view", async {
            let g = self.g();
            let user = g.users().get(&self.user).await?;
            let upn = user.user_principal_name.clone().unwrap_or_default();
            let id = user.id.as_ref().map(|i| i.0.clone());
            let member_of = g.users().member_of(&self.user, false).collect();
            let methods = g.auth_methods().list(&self.user).collect();
            let sign_in = async {
                let f = SignInFilter {
                    user_id: id.clone(),
                    top: Some(1),
                    ..Default::default()
                };
                g.audit().sign_ins(&f).stream().next().await.transpose()
            };
            let devices = g.audit().managed_devices_of(&upn).collect();
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
        })
        .await
    }

    /// Edit user (one PATCH; an empty patch is refused).
    pub async fn edit(&self, patch: &UserPatch) -> Result<Outcome, Error> {
        self.act(
            "user.edit",
            &Permission::IDENTITY_USER_READWRITE,
            serde_json::to_value(patch).unwrap_or(Value::Null),
            by_outcome,
            async {
                self.g().users().update(&self.user, patch).await?;
                Ok(Outcome::succeeded("user updated"))
            },
        )
        .await
    }

    /// Create template from user: the defaults a new user would copy.
    pub async fn capture_defaults(&self) -> Result<UserDefaults, Error> {
        self.read("user.capture_defaults", async {
            let u = self
                .g()
                .users()
                .get(&self.user)
                .select([
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
                ])
                .await?;
            let groups = self.g().users().member_of(&self.user, false).await?;
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
        })
        .await
    }

    /// Bulk edit: one patch per user, sent through `$batch`; one outcome per user.
    pub async fn bulk_edit(
        handle: &TenantHandle,
        edits: &[(String, UserPatch)],
    ) -> Result<Report, Error> {
        handle
            .authorize("user.bulk_edit", &Permission::IDENTITY_USER_READWRITE)
            .await?;
        let mut ops = Vec::with_capacity(edits.len());
        let mut report = Report::new();
        let mut names = Vec::new();
        for (u, patch) in edits {
            match UserRef::parse(u).and_then(|r| handle.graph().users().update(&r, patch).op()) {
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
        self.read("user.timestamps", async {
            let u = self
                .g()
                .users()
                .get(&self.user)
                .select(["id", "createdDateTime", "lastPasswordChangeDateTime"])
                .await?;
            let last = u
                .extra
                .get("lastPasswordChangeDateTime")
                .and_then(|v| v.as_str())
                .and_then(cipp_graph::model::parse_timestamp);
            Ok((u.created_date_time, last))
        })
        .await
    }

    pub(crate) fn mailbox(&self) -> Result<String, Error> {
        match &self.user {
            UserRef::Upn(u) => Ok(u.clone()),
            UserRef::Id(_) => Err(Error::invalid_input(
                "user",
                "Exchange actions need the user's UPN",
            )),
        }
    }
}
