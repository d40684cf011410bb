//! The Graph client and the service traits it implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{paging, Error, Outcome, Pipeline, Report, TenantId};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use secrecy::SecretString;

use crate::users::PasswordReset;

use crate::audit::{AuditFilter, SignInFilter};
use crate::gdap::{CustomerTenant, NewRelationship, RelationshipPatch};
use crate::intune::IntuneKind;
use crate::model::{
    AccessAssignment, DelegatedAdminRelationship, RelationshipOperation, RelationshipRequest,
};
use crate::model::{ApplePushCertificate, DepOnboardingSetting, IntunePolicy, VppToken};
use crate::model::{
    AssignedLicense, AuthMethod, AuthMethodKind, AutomaticRepliesSetting, DirectoryAudit,
    DirectoryObject, Domain, Field, Group, ManagedDevice, MessageRule, NewGroup,
    NewTemporaryAccessPass, NewUser, OAuth2PermissionGrant, Organization, ServicePrincipal, SignIn,
    SkuId, SubscribedSku, TemporaryAccessPass, User, UserPatch, UserRegistrationDetails,
};
use crate::model::{
    AuthenticationStrengthPolicy, ConditionalAccessPolicy, NamedLocation, PolicyState,
    SecurityDefaultsPolicy,
};
use crate::odata::Query;
use crate::password::{generate, PasswordStyle};
use crate::users::UserRef;
use crate::{
    audit, auth_methods, conditional_access as ca, directory, gdap, groups, intune, mail, users,
};

/// Sends Graph operations for any tenant through one [`Pipeline`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GraphClient {
    pipeline: Pipeline,
}

impl GraphClient {
    /// A client over `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        GraphClient { pipeline }
    }

    /// The pipeline (to send [`crate::GraphOp`]s or raw requests — the escape hatch for
    /// endpoints not yet modelled).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Graph scoped to `tenant`: `graph.tenant(&t).users().list()`.
    pub fn tenant(&self, tenant: &TenantId) -> crate::TenantGraph {
        crate::TenantGraph::new(self.pipeline.clone(), tenant.clone())
    }

    fn base(&self) -> &str {
        &self.pipeline.endpoints().graph
    }

    fn stream<T>(
        &self,
        request: Result<cipp_core::ApiRequest, Error>,
    ) -> BoxStream<'static, Result<T, Error>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        match request {
            Ok(r) => paging::items(self.pipeline.clone(), r).boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }
}

/// User operations.
#[async_trait]
pub trait UsersApi: Send + Sync {
    /// Streams users.
    fn list_users(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<User, Error>>;
    /// Gets a user by id or UPN.
    async fn get_user(&self, tenant: &TenantId, user: &UserRef) -> Result<User, Error>;
    /// Creates a user.
    async fn create_user(&self, tenant: &TenantId, user: &NewUser) -> Result<User, Error>;
    /// Applies a typed patch.
    async fn update_user(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        patch: &UserPatch,
    ) -> Result<(), Error>;
    /// Soft-deletes a user.
    async fn delete_user(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error>;
    /// Streams deleted users.
    fn list_deleted_users(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<User, Error>>;
    /// Restores a deleted object.
    async fn restore_deleted(&self, tenant: &TenantId, id: &str) -> Result<DirectoryObject, Error>;
    /// Deletes a deleted object for good.
    async fn delete_permanently(&self, tenant: &TenantId, id: &str) -> Result<(), Error>;
    /// Revokes sign-in sessions.
    async fn revoke_sign_in_sessions(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<bool, Error>;
    /// Allows or blocks sign-in.
    async fn set_sign_in_enabled(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        enabled: bool,
    ) -> Result<(), Error>;
    /// Resets the password: cloud users through `passwordProfile`, directory-synced users
    /// through writeback. The password is generated in `style` unless given.
    async fn reset_password(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        password: Option<SecretString>,
        style: &PasswordStyle,
        must_change: bool,
    ) -> Result<PasswordReset, Error>;
    /// Changes the UPN (or only its domain) after checking the domain is verified.
    async fn change_upn(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        new_upn: &str,
    ) -> Result<(), Error>;
    /// Sets the manager.
    async fn set_manager(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        manager_id: &str,
    ) -> Result<(), Error>;
    /// Removes the manager.
    async fn remove_manager(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error>;
    /// Streams direct (or transitive) memberships.
    fn member_of(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        transitive: bool,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>>;
    /// Streams the tenant's licences.
    fn subscribed_skus(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<SubscribedSku, Error>>;
    /// Adds and removes licences; when Graph refuses for lack of a usage location, sets
    /// `default_usage_location` (if given) and tries once more.
    async fn assign_licenses(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        add: &[AssignedLicense],
        remove: &[SkuId],
        default_usage_location: Option<&str>,
    ) -> Result<User, Error>;
    /// Sets or clears "password never expires".
    async fn set_password_never_expires(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        never: bool,
    ) -> Result<(), Error>;
    /// Clears the on-premises immutable id.
    async fn clear_immutable_id(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error>;
    /// Reprocesses licence assignment.
    async fn reprocess_license_assignment(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<User, Error>;
}

#[async_trait]
impl UsersApi for GraphClient {
    fn list_users(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<User, Error>> {
        self.stream(users::list(tenant, query))
    }
    async fn get_user(&self, tenant: &TenantId, user: &UserRef) -> Result<User, Error> {
        users::get(tenant, user, &[]).send(&self.pipeline).await
    }
    async fn create_user(&self, tenant: &TenantId, user: &NewUser) -> Result<User, Error> {
        users::create(tenant, user)?.send(&self.pipeline).await
    }
    async fn update_user(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        patch: &UserPatch,
    ) -> Result<(), Error> {
        users::update(tenant, user, patch)?
            .send(&self.pipeline)
            .await
    }
    async fn delete_user(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error> {
        users::delete(tenant, user).send(&self.pipeline).await
    }
    fn list_deleted_users(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<User, Error>> {
        self.stream(users::list_deleted(tenant, query))
    }
    async fn restore_deleted(&self, tenant: &TenantId, id: &str) -> Result<DirectoryObject, Error> {
        users::restore(tenant, id)?.send(&self.pipeline).await
    }
    async fn delete_permanently(&self, tenant: &TenantId, id: &str) -> Result<(), Error> {
        users::delete_permanently(tenant, id)?
            .send(&self.pipeline)
            .await
    }
    async fn revoke_sign_in_sessions(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<bool, Error> {
        users::revoke_sign_in_sessions(tenant, user)
            .send(&self.pipeline)
            .await
    }
    async fn set_sign_in_enabled(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        enabled: bool,
    ) -> Result<(), Error> {
        users::set_sign_in_enabled(tenant, user, enabled)?
            .send(&self.pipeline)
            .await
    }
    async fn reset_password(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        password: Option<SecretString>,
        style: &PasswordStyle,
        must_change: bool,
    ) -> Result<PasswordReset, Error> {
        let password = match password {
            Some(p) => p,
            None => generate(style)?,
        };
        let current = users::get(tenant, user, &["id", "onPremisesSyncEnabled"])
            .send(&self.pipeline)
            .await?;
        if current.is_synced() {
            users::reset_password_synced(tenant, user, &password)?
                .send(&self.pipeline)
                .await?;
            Ok(PasswordReset {
                password,
                must_change: true,
                via_writeback: true,
            })
        } else {
            users::reset_password(tenant, user, &password, must_change)?
                .send(&self.pipeline)
                .await?;
            Ok(PasswordReset {
                password,
                must_change,
                via_writeback: false,
            })
        }
    }
    async fn change_upn(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        new_upn: &str,
    ) -> Result<(), Error> {
        let (_, domain) = users::validate_upn(new_upn)?;
        let domains: Vec<Domain> = paging::items(self.pipeline.clone(), directory::domains(tenant))
            .try_collect()
            .await?;
        let verified = domains
            .iter()
            .any(|d| d.id.eq_ignore_ascii_case(domain) && d.is_verified != Some(false));
        if !verified {
            let known: Vec<&str> = domains.iter().map(|d| d.id.as_str()).collect();
            return Err(Error::invalid_input(
                "userPrincipalName",
                format!(
                    "`{domain}` is not a verified domain of tenant {tenant} (verified: {})",
                    known.join(", ")
                ),
            ));
        }
        let patch = UserPatch {
            user_principal_name: Field::Set(new_upn.to_owned()),
            ..UserPatch::default()
        };
        users::update(tenant, user, &patch)?
            .send(&self.pipeline)
            .await
    }
    async fn set_manager(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        manager_id: &str,
    ) -> Result<(), Error> {
        users::set_manager(tenant, user, manager_id, self.base())?
            .send(&self.pipeline)
            .await
    }
    async fn remove_manager(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error> {
        users::remove_manager(tenant, user)
            .send(&self.pipeline)
            .await
    }
    fn member_of(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        transitive: bool,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>> {
        self.stream(users::member_of(tenant, user, transitive, &Query::new()))
    }
    fn subscribed_skus(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<SubscribedSku, Error>> {
        self.stream(Ok(users::subscribed_skus(tenant)))
    }
    async fn assign_licenses(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        add: &[AssignedLicense],
        remove: &[SkuId],
        default_usage_location: Option<&str>,
    ) -> Result<User, Error> {
        let op = users::assign_licenses(tenant, user, add, remove)?;
        match op.send(&self.pipeline).await {
            Err(e) if users::is_missing_usage_location(&e) => {
                let Some(loc) = default_usage_location else {
                    return Err(e);
                };
                let patch = UserPatch {
                    usage_location: Field::Set(loc.to_owned()),
                    ..UserPatch::default()
                };
                users::update(tenant, user, &patch)?
                    .send(&self.pipeline)
                    .await?;
                users::assign_licenses(tenant, user, add, remove)?
                    .send(&self.pipeline)
                    .await
            }
            other => other,
        }
    }
    async fn set_password_never_expires(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        never: bool,
    ) -> Result<(), Error> {
        users::set_password_never_expires(tenant, user, never)?
            .send(&self.pipeline)
            .await
    }
    async fn clear_immutable_id(&self, tenant: &TenantId, user: &UserRef) -> Result<(), Error> {
        users::clear_immutable_id(tenant, user)?
            .send(&self.pipeline)
            .await
    }
    async fn reprocess_license_assignment(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<User, Error> {
        users::reprocess_license_assignment(tenant, user)
            .send(&self.pipeline)
            .await
    }
}

/// Group operations.
#[async_trait]
pub trait GroupsApi: Send + Sync {
    /// Streams groups.
    fn list_groups(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<Group, Error>>;
    /// Gets a group.
    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Group, Error>;
    /// Creates a group.
    async fn create_group(&self, tenant: &TenantId, group: &NewGroup) -> Result<Group, Error>;
    /// Adds a member; refuses groups whose membership Exchange manages (distribution lists,
    /// mail-enabled security groups), dynamic and synced groups, naming the reason.
    async fn add_member(&self, tenant: &TenantId, group: &str, member: &str) -> Result<(), Error>;
    /// Removes a member (same checks).
    async fn remove_member(
        &self,
        tenant: &TenantId,
        group: &str,
        member: &str,
    ) -> Result<(), Error>;
    /// Adds many members, 20 per request; one outcome per chunk.
    async fn add_members_bulk(
        &self,
        tenant: &TenantId,
        group: &str,
        members: &[String],
    ) -> Result<Report, Error>;
    /// Streams members.
    fn members(
        &self,
        tenant: &TenantId,
        group: &str,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>>;
    /// Streams owners.
    fn owners(
        &self,
        tenant: &TenantId,
        group: &str,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>>;
    /// Deletes a group.
    async fn delete_group(&self, tenant: &TenantId, id: &str) -> Result<(), Error>;
}

impl GraphClient {
    async fn graph_managed_group(&self, tenant: &TenantId, group: &str) -> Result<Group, Error> {
        let g = groups::get(
            tenant,
            group,
            &[
                "id",
                "displayName",
                "groupTypes",
                "mailEnabled",
                "securityEnabled",
                "onPremisesSyncEnabled",
            ],
        )?
        .send(&self.pipeline)
        .await?;
        if !g.membership_managed_by_graph() {
            let name = g.display_name.clone().unwrap_or_else(|| group.to_owned());
            let why = if g.is_dynamic() {
                "its membership is dynamic (rule-based)".to_owned()
            } else if g.on_premises_sync_enabled == Some(true) {
                "it is synchronised from on-premises AD; change it there".to_owned()
            } else {
                format!(
                    "it is a {:?} group whose membership Exchange manages; use the Exchange client",
                    g.kind()
                )
            };
            return Err(Error::invalid_input(
                "group",
                format!("cannot change members of `{name}` through Graph: {why}"),
            ));
        }
        Ok(g)
    }
}

#[async_trait]
impl GroupsApi for GraphClient {
    fn list_groups(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<Group, Error>> {
        self.stream(groups::list(tenant, query))
    }
    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Group, Error> {
        groups::get(tenant, id, &[])?.send(&self.pipeline).await
    }
    async fn create_group(&self, tenant: &TenantId, group: &NewGroup) -> Result<Group, Error> {
        groups::create(tenant, group)?.send(&self.pipeline).await
    }
    async fn add_member(&self, tenant: &TenantId, group: &str, member: &str) -> Result<(), Error> {
        let op = groups::add_member(tenant, group, member, self.base())?;
        self.graph_managed_group(tenant, group).await?;
        op.send(&self.pipeline).await
    }
    async fn remove_member(
        &self,
        tenant: &TenantId,
        group: &str,
        member: &str,
    ) -> Result<(), Error> {
        let op = groups::remove_member(tenant, group, member)?;
        self.graph_managed_group(tenant, group).await?;
        op.send(&self.pipeline).await
    }
    async fn add_members_bulk(
        &self,
        tenant: &TenantId,
        group: &str,
        members: &[String],
    ) -> Result<Report, Error> {
        let ops = groups::add_members_bulk(tenant, group, members, self.base())?;
        self.graph_managed_group(tenant, group).await?;
        let mut report = Report::new();
        for (i, (op, chunk)) in ops
            .into_iter()
            .zip(members.chunks(groups::BIND_CHUNK))
            .enumerate()
        {
            let r = op.send(&self.pipeline).await;
            report.push(
                format!(
                    "members {}–{}",
                    i * groups::BIND_CHUNK + 1,
                    i * groups::BIND_CHUNK + chunk.len()
                ),
                Outcome::from_result(&r, format!("added {} members", chunk.len())),
            );
        }
        Ok(report)
    }
    fn members(
        &self,
        tenant: &TenantId,
        group: &str,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>> {
        self.stream(groups::members(tenant, group, &Query::new()))
    }
    fn owners(
        &self,
        tenant: &TenantId,
        group: &str,
    ) -> BoxStream<'static, Result<DirectoryObject, Error>> {
        self.stream(groups::owners(tenant, group, &Query::new()))
    }
    async fn delete_group(&self, tenant: &TenantId, id: &str) -> Result<(), Error> {
        groups::delete(tenant, id)?.send(&self.pipeline).await
    }
}

/// Authentication-method operations.
#[async_trait]
pub trait AuthMethodsApi: Send + Sync {
    /// A user's methods.
    async fn list_methods(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Vec<AuthMethod>, Error>;
    /// Creates a Temporary Access Pass, checked against the tenant's TAP policy first when
    /// `check_policy` is set.
    async fn create_tap(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        request: &NewTemporaryAccessPass,
        check_policy: bool,
    ) -> Result<TemporaryAccessPass, Error>;
    /// Deletes one method.
    async fn delete_method(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        method: &AuthMethod,
    ) -> Result<(), Error>;
    /// Removes every method but the password ("re-require MFA registration"), one outcome
    /// per method.
    async fn remove_all_but_password(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Report, Error>;
    /// Streams the MFA registration report.
    fn registration_details(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<UserRegistrationDetails, Error>>;
}

#[async_trait]
impl AuthMethodsApi for GraphClient {
    async fn list_methods(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Vec<AuthMethod>, Error> {
        paging::items(self.pipeline.clone(), auth_methods::list(tenant, user))
            .try_collect()
            .await
    }
    async fn create_tap(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        request: &NewTemporaryAccessPass,
        check_policy: bool,
    ) -> Result<TemporaryAccessPass, Error> {
        auth_methods::validate_tap(request, None)?;
        let policy = if check_policy {
            Some(
                auth_methods::tap_policy(tenant)
                    .send(&self.pipeline)
                    .await?,
            )
        } else {
            None
        };
        auth_methods::create_tap(tenant, user, request, policy.as_ref())?
            .send(&self.pipeline)
            .await
    }
    async fn delete_method(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        method: &AuthMethod,
    ) -> Result<(), Error> {
        auth_methods::delete(tenant, user, method)?
            .send(&self.pipeline)
            .await
    }
    async fn remove_all_but_password(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Report, Error> {
        let methods = self.list_methods(tenant, user).await?;
        let mut report = Report::new();
        for m in methods {
            let name = format!(
                "{} {}",
                m.odata_type.trim_start_matches("#microsoft.graph."),
                m.id
            );
            if m.kind() == AuthMethodKind::Password {
                report.push(name, Outcome::skipped("the password is kept"));
                continue;
            }
            let r = match auth_methods::delete(tenant, user, &m) {
                Ok(op) => op.send(&self.pipeline).await,
                Err(e) => Err(e),
            };
            report.push(name, Outcome::from_result(&r, "removed"));
        }
        if report
            .steps
            .iter()
            .all(|s| matches!(s.outcome, Outcome::Skipped { .. }))
        {
            report.push(
                "methods",
                Outcome::no_change("no method besides the password was registered"),
            );
        }
        Ok(report)
    }
    fn registration_details(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<UserRegistrationDetails, Error>> {
        self.stream(auth_methods::registration_details(tenant, query))
    }
}

/// Audit and security reads.
#[async_trait]
pub trait AuditApi: Send + Sync {
    /// Streams sign-ins, newest first.
    fn sign_ins(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
    ) -> BoxStream<'static, Result<SignIn, Error>>;
    /// Streams directory audit records.
    fn directory_audits(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
    ) -> BoxStream<'static, Result<DirectoryAudit, Error>>;
    /// Streams delegated permission grants.
    fn oauth2_grants(
        &self,
        tenant: &TenantId,
        client_id: Option<&str>,
    ) -> BoxStream<'static, Result<OAuth2PermissionGrant, Error>>;
    /// Revokes a grant.
    async fn revoke_oauth2_grant(&self, tenant: &TenantId, grant_id: &str) -> Result<(), Error>;
    /// Streams service principals created since a time.
    fn service_principals_since(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> BoxStream<'static, Result<ServicePrincipal, Error>>;
    /// Streams a user's managed devices.
    fn managed_devices_of(
        &self,
        tenant: &TenantId,
        upn: &str,
    ) -> BoxStream<'static, Result<ManagedDevice, Error>>;
}

#[async_trait]
impl AuditApi for GraphClient {
    fn sign_ins(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
    ) -> BoxStream<'static, Result<SignIn, Error>> {
        self.stream(audit::sign_ins(tenant, filter))
    }
    fn directory_audits(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
    ) -> BoxStream<'static, Result<DirectoryAudit, Error>> {
        self.stream(audit::directory_audits(tenant, filter))
    }
    fn oauth2_grants(
        &self,
        tenant: &TenantId,
        client_id: Option<&str>,
    ) -> BoxStream<'static, Result<OAuth2PermissionGrant, Error>> {
        self.stream(audit::oauth2_grants(tenant, client_id))
    }
    async fn revoke_oauth2_grant(&self, tenant: &TenantId, grant_id: &str) -> Result<(), Error> {
        audit::revoke_oauth2_grant(tenant, grant_id)?
            .send(&self.pipeline)
            .await
    }
    fn service_principals_since(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> BoxStream<'static, Result<ServicePrincipal, Error>> {
        self.stream(Ok(audit::service_principals_since(tenant, since)))
    }
    fn managed_devices_of(
        &self,
        tenant: &TenantId,
        upn: &str,
    ) -> BoxStream<'static, Result<ManagedDevice, Error>> {
        self.stream(audit::managed_devices_of(tenant, upn))
    }
}

/// Tenant-level reads.
#[async_trait]
pub trait DirectoryApi: Send + Sync {
    /// The organization.
    async fn organization(&self, tenant: &TenantId) -> Result<Organization, Error>;
    /// The domains.
    async fn domains(&self, tenant: &TenantId) -> Result<Vec<Domain>, Error>;
}

#[async_trait]
impl DirectoryApi for GraphClient {
    async fn organization(&self, tenant: &TenantId) -> Result<Organization, Error> {
        let mut orgs: Vec<Organization> =
            paging::items(self.pipeline.clone(), directory::organization(tenant))
                .try_collect()
                .await?;
        orgs.pop().ok_or_else(|| {
            Error::Config(format!("tenant {tenant}: Graph returned no organization"))
        })
    }
    async fn domains(&self, tenant: &TenantId) -> Result<Vec<Domain>, Error> {
        paging::items(self.pipeline.clone(), directory::domains(tenant))
            .try_collect()
            .await
    }
}

/// Mail settings through Graph.
#[async_trait]
pub trait MailApi: Send + Sync {
    /// Inbox rules visible to clients.
    async fn inbox_rules(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Vec<MessageRule>, Error>;
    /// Enables or disables a rule.
    async fn set_inbox_rule_enabled(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        rule_id: &str,
        enabled: bool,
    ) -> Result<MessageRule, Error>;
    /// Deletes a rule.
    async fn delete_inbox_rule(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        rule_id: &str,
    ) -> Result<(), Error>;
    /// Reads automatic replies.
    async fn automatic_replies(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Option<AutomaticRepliesSetting>, Error>;
    /// Sets automatic replies.
    async fn set_automatic_replies(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        setting: &AutomaticRepliesSetting,
    ) -> Result<(), Error>;
}

#[async_trait]
impl MailApi for GraphClient {
    async fn inbox_rules(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Vec<MessageRule>, Error> {
        paging::items(self.pipeline.clone(), mail::inbox_rules(tenant, user))
            .try_collect()
            .await
    }
    async fn set_inbox_rule_enabled(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        rule_id: &str,
        enabled: bool,
    ) -> Result<MessageRule, Error> {
        mail::set_inbox_rule_enabled(tenant, user, rule_id, enabled)?
            .send(&self.pipeline)
            .await
    }
    async fn delete_inbox_rule(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        rule_id: &str,
    ) -> Result<(), Error> {
        mail::delete_inbox_rule(tenant, user, rule_id)?
            .send(&self.pipeline)
            .await
    }
    async fn automatic_replies(
        &self,
        tenant: &TenantId,
        user: &UserRef,
    ) -> Result<Option<AutomaticRepliesSetting>, Error> {
        Ok(mail::mailbox_settings(tenant, user)
            .send(&self.pipeline)
            .await?
            .automatic_replies_setting)
    }
    async fn set_automatic_replies(
        &self,
        tenant: &TenantId,
        user: &UserRef,
        setting: &AutomaticRepliesSetting,
    ) -> Result<(), Error> {
        mail::set_automatic_replies(tenant, user, setting)?
            .send(&self.pipeline)
            .await
    }
}

/// GDAP, in the partner tenant (see [`crate::gdap`] for the rules checked before sending).
#[async_trait]
pub trait GdapApi: Send + Sync {
    /// Streams relationships.
    fn list_relationships(
        &self,
        partner: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<DelegatedAdminRelationship, Error>>;
    /// One relationship, with its ETag.
    async fn get_relationship(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<DelegatedAdminRelationship, Error>;
    /// Creates a relationship.
    async fn create_relationship(
        &self,
        partner: &TenantId,
        new: &NewRelationship,
    ) -> Result<DelegatedAdminRelationship, Error>;
    /// Updates a relationship read moments ago (`If-Match`).
    async fn update_relationship(
        &self,
        partner: &TenantId,
        current: &DelegatedAdminRelationship,
        patch: &RelationshipPatch,
    ) -> Result<DelegatedAdminRelationship, Error>;
    /// Locks a created relationship for the customer's approval.
    async fn lock_for_approval(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<RelationshipRequest, Error>;
    /// Asks to terminate a relationship.
    async fn terminate_relationship(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<RelationshipRequest, Error>;
    /// Streams a relationship's access assignments.
    fn list_access_assignments(
        &self,
        partner: &TenantId,
        relationship: &str,
    ) -> BoxStream<'static, Result<AccessAssignment, Error>>;
    /// Grants relationship roles to a partner security group.
    async fn create_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &DelegatedAdminRelationship,
        group_id: &str,
        roles: &[String],
    ) -> Result<AccessAssignment, Error>;
    /// Changes an assignment's roles (`If-Match`).
    async fn update_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &str,
        current: &AccessAssignment,
        roles: &[String],
    ) -> Result<AccessAssignment, Error>;
    /// Deletes an assignment (`If-Match`).
    async fn delete_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &str,
        current: &AccessAssignment,
    ) -> Result<(), Error>;
    /// Streams a relationship's long-running operations.
    fn list_relationship_operations(
        &self,
        partner: &TenantId,
        relationship: &str,
    ) -> BoxStream<'static, Result<RelationshipOperation, Error>>;
    /// The customer tenants of the partner's active relationships (CIPP's tenant list).
    async fn customer_tenants(&self, partner: &TenantId) -> Result<Vec<CustomerTenant>, Error> {
        let active: Vec<DelegatedAdminRelationship> = self
            .list_relationships(partner, &gdap::active_query())
            .try_collect()
            .await?;
        Ok(gdap::customers(&active))
    }
}

#[async_trait]
impl GdapApi for GraphClient {
    fn list_relationships(
        &self,
        partner: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<DelegatedAdminRelationship, Error>> {
        self.stream(gdap::list(partner, query))
    }
    async fn get_relationship(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<DelegatedAdminRelationship, Error> {
        gdap::get(partner, id)?.send(&self.pipeline).await
    }
    async fn create_relationship(
        &self,
        partner: &TenantId,
        new: &NewRelationship,
    ) -> Result<DelegatedAdminRelationship, Error> {
        gdap::create(partner, new)?.send(&self.pipeline).await
    }
    async fn update_relationship(
        &self,
        partner: &TenantId,
        current: &DelegatedAdminRelationship,
        patch: &RelationshipPatch,
    ) -> Result<DelegatedAdminRelationship, Error> {
        gdap::update(partner, current, patch)?
            .send(&self.pipeline)
            .await
    }
    async fn lock_for_approval(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<RelationshipRequest, Error> {
        gdap::lock_for_approval(partner, id)?
            .send(&self.pipeline)
            .await
    }
    async fn terminate_relationship(
        &self,
        partner: &TenantId,
        id: &str,
    ) -> Result<RelationshipRequest, Error> {
        gdap::terminate(partner, id)?.send(&self.pipeline).await
    }
    fn list_access_assignments(
        &self,
        partner: &TenantId,
        relationship: &str,
    ) -> BoxStream<'static, Result<AccessAssignment, Error>> {
        self.stream(gdap::list_assignments(partner, relationship))
    }
    async fn create_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &DelegatedAdminRelationship,
        group_id: &str,
        roles: &[String],
    ) -> Result<AccessAssignment, Error> {
        gdap::create_assignment(partner, relationship, group_id, roles)?
            .send(&self.pipeline)
            .await
    }
    async fn update_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &str,
        current: &AccessAssignment,
        roles: &[String],
    ) -> Result<AccessAssignment, Error> {
        gdap::update_assignment(partner, relationship, current, roles)?
            .send(&self.pipeline)
            .await
    }
    async fn delete_access_assignment(
        &self,
        partner: &TenantId,
        relationship: &str,
        current: &AccessAssignment,
    ) -> Result<(), Error> {
        gdap::delete_assignment(partner, relationship, current)?
            .send(&self.pipeline)
            .await
    }
    fn list_relationship_operations(
        &self,
        partner: &TenantId,
        relationship: &str,
    ) -> BoxStream<'static, Result<RelationshipOperation, Error>> {
        self.stream(gdap::list_operations(partner, relationship))
    }
}

/// Conditional Access (see [`crate::conditional_access`]).
#[async_trait]
pub trait ConditionalAccessApi: Send + Sync {
    /// Streams policies.
    fn list_ca_policies(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<ConditionalAccessPolicy, Error>>;
    /// One policy.
    async fn get_ca_policy(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<ConditionalAccessPolicy, Error>;
    /// Creates a policy.
    async fn create_ca_policy(
        &self,
        tenant: &TenantId,
        policy: &ConditionalAccessPolicy,
    ) -> Result<ConditionalAccessPolicy, Error>;
    /// Replaces a policy's settings.
    async fn update_ca_policy(
        &self,
        tenant: &TenantId,
        id: &str,
        policy: &ConditionalAccessPolicy,
    ) -> Result<(), Error>;
    /// Changes a policy's state.
    async fn set_ca_policy_state(
        &self,
        tenant: &TenantId,
        id: &str,
        state: &PolicyState,
    ) -> Result<(), Error>;
    /// Deletes a policy.
    async fn delete_ca_policy(&self, tenant: &TenantId, id: &str) -> Result<(), Error>;
    /// Streams named locations.
    fn list_named_locations(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<NamedLocation, Error>>;
    /// Creates a named location.
    async fn create_named_location(
        &self,
        tenant: &TenantId,
        location: &NamedLocation,
    ) -> Result<NamedLocation, Error>;
    /// Updates a named location.
    async fn update_named_location(
        &self,
        tenant: &TenantId,
        id: &str,
        location: &NamedLocation,
    ) -> Result<(), Error>;
    /// Streams authentication strength policies.
    fn list_authentication_strengths(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<AuthenticationStrengthPolicy, Error>>;
    /// The security-defaults policy.
    async fn security_defaults(&self, tenant: &TenantId) -> Result<SecurityDefaultsPolicy, Error>;
    /// Turns security defaults off.
    async fn disable_security_defaults(&self, tenant: &TenantId) -> Result<(), Error>;
}

#[async_trait]
impl ConditionalAccessApi for GraphClient {
    fn list_ca_policies(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<ConditionalAccessPolicy, Error>> {
        self.stream(ca::list_policies(tenant, query))
    }
    async fn get_ca_policy(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<ConditionalAccessPolicy, Error> {
        ca::get_policy(tenant, id)?.send(&self.pipeline).await
    }
    async fn create_ca_policy(
        &self,
        tenant: &TenantId,
        policy: &ConditionalAccessPolicy,
    ) -> Result<ConditionalAccessPolicy, Error> {
        ca::create_policy(tenant, policy)?
            .send(&self.pipeline)
            .await
    }
    async fn update_ca_policy(
        &self,
        tenant: &TenantId,
        id: &str,
        policy: &ConditionalAccessPolicy,
    ) -> Result<(), Error> {
        ca::update_policy(tenant, id, policy)?
            .send(&self.pipeline)
            .await
    }
    async fn set_ca_policy_state(
        &self,
        tenant: &TenantId,
        id: &str,
        state: &PolicyState,
    ) -> Result<(), Error> {
        ca::set_policy_state(tenant, id, state)?
            .send(&self.pipeline)
            .await
    }
    async fn delete_ca_policy(&self, tenant: &TenantId, id: &str) -> Result<(), Error> {
        ca::delete_policy(tenant, id)?.send(&self.pipeline).await
    }
    fn list_named_locations(
        &self,
        tenant: &TenantId,
        query: &Query,
    ) -> BoxStream<'static, Result<NamedLocation, Error>> {
        self.stream(ca::list_named_locations(tenant, query))
    }
    async fn create_named_location(
        &self,
        tenant: &TenantId,
        location: &NamedLocation,
    ) -> Result<NamedLocation, Error> {
        ca::create_named_location(tenant, location)?
            .send(&self.pipeline)
            .await
    }
    async fn update_named_location(
        &self,
        tenant: &TenantId,
        id: &str,
        location: &NamedLocation,
    ) -> Result<(), Error> {
        ca::update_named_location(tenant, id, location)?
            .send(&self.pipeline)
            .await
    }
    fn list_authentication_strengths(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<AuthenticationStrengthPolicy, Error>> {
        self.stream(Ok(ca::list_authentication_strengths(tenant)))
    }
    async fn security_defaults(&self, tenant: &TenantId) -> Result<SecurityDefaultsPolicy, Error> {
        ca::get_security_defaults(tenant).send(&self.pipeline).await
    }
    async fn disable_security_defaults(&self, tenant: &TenantId) -> Result<(), Error> {
        ca::disable_security_defaults(tenant)?
            .send(&self.pipeline)
            .await
    }
}

/// Intune (see [`crate::intune`]).
#[async_trait]
pub trait IntuneApi: Send + Sync {
    /// Streams a kind's policies.
    fn list_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        query: &Query,
    ) -> BoxStream<'static, Result<IntunePolicy, Error>>;
    /// One policy.
    async fn get_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> Result<IntunePolicy, Error>;
    /// Creates a policy (read-only fields of a captured one are dropped).
    async fn create_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        policy: &IntunePolicy,
    ) -> Result<IntunePolicy, Error>;
    /// Updates a policy (PATCH; PUT for the settings catalog).
    async fn update_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
        policy: &IntunePolicy,
    ) -> Result<(), Error>;
    /// Deletes a policy.
    async fn delete_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> Result<(), Error>;
    /// Streams a policy's assignments (raw JSON).
    fn list_intune_assignments(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> BoxStream<'static, Result<serde_json::Value, Error>>;
    /// Assigns a policy: replaces its assignments with `targets`, or with `append` adds
    /// them to the current ones.
    async fn assign_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
        targets: &[intune::AssignTarget],
        filter: Option<(&str, intune::FilterMode)>,
        append: bool,
    ) -> Result<(), Error>;
    /// The Apple push notification certificate.
    async fn apple_push_certificate(
        &self,
        tenant: &TenantId,
    ) -> Result<ApplePushCertificate, Error>;
    /// VPP tokens.
    fn list_vpp_tokens(&self, tenant: &TenantId) -> BoxStream<'static, Result<VppToken, Error>>;
    /// DEP onboarding settings.
    fn list_dep_onboarding(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<DepOnboardingSetting, Error>>;
}

#[async_trait]
impl IntuneApi for GraphClient {
    fn list_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        query: &Query,
    ) -> BoxStream<'static, Result<IntunePolicy, Error>> {
        self.stream(intune::list(tenant, kind, query))
    }
    async fn get_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> Result<IntunePolicy, Error> {
        intune::get(tenant, kind, id)?.send(&self.pipeline).await
    }
    async fn create_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        policy: &IntunePolicy,
    ) -> Result<IntunePolicy, Error> {
        intune::create(tenant, kind, policy)?
            .send(&self.pipeline)
            .await
    }
    async fn update_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
        policy: &IntunePolicy,
    ) -> Result<(), Error> {
        intune::update(tenant, kind, id, policy)?
            .send(&self.pipeline)
            .await
    }
    async fn delete_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> Result<(), Error> {
        intune::delete(tenant, kind, id)?.send(&self.pipeline).await
    }
    fn list_intune_assignments(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
    ) -> BoxStream<'static, Result<serde_json::Value, Error>> {
        self.stream(intune::list_assignments(tenant, kind, id))
    }
    async fn assign_intune(
        &self,
        tenant: &TenantId,
        kind: IntuneKind,
        id: &str,
        targets: &[intune::AssignTarget],
        filter: Option<(&str, intune::FilterMode)>,
        append: bool,
    ) -> Result<(), Error> {
        // Validate before reading anything.
        intune::assignments_body(kind, targets, filter, &[])?;
        let existing: Vec<serde_json::Value> = if append {
            self.list_intune_assignments(tenant, kind, id)
                .try_collect()
                .await?
        } else {
            Vec::new()
        };
        let body = intune::assignments_body(kind, targets, filter, &existing)?;
        intune::assign(tenant, kind, id, &body)?
            .send(&self.pipeline)
            .await
    }
    async fn apple_push_certificate(
        &self,
        tenant: &TenantId,
    ) -> Result<ApplePushCertificate, Error> {
        intune::apple_push_certificate(tenant)
            .send(&self.pipeline)
            .await
    }
    fn list_vpp_tokens(&self, tenant: &TenantId) -> BoxStream<'static, Result<VppToken, Error>> {
        self.stream(Ok(intune::list_vpp_tokens(tenant)))
    }
    fn list_dep_onboarding(
        &self,
        tenant: &TenantId,
    ) -> BoxStream<'static, Result<DepOnboardingSetting, Error>> {
        self.stream(Ok(intune::list_dep_onboarding(tenant)))
    }
}
