//! Authentication methods: Temporary Access Passes, re-requiring registration, removing a
//! method, per-user MFA, the default method, and the MFA push.

use cipp_core::{Error, Report};
use cipp_graph::mfa_push::MfaPushResult;
use cipp_graph::model::{AuthMethod, NewTemporaryAccessPass, PerUserMfaState, TemporaryAccessPass};
use cipp_graph::users::UserRef;

use super::{Guard, UserActions};
use crate::authz::{by_report, succeeded, Permission};
use serde_json::{json, Value};

impl UserActions {
    /// Create a Temporary Access Pass (checked against the tenant's TAP policy). Refused
    /// for a privileged administrator unless [`Guard::AllowPrivileged`] is given: a TAP
    /// signs in as the user.
    pub async fn create_temporary_access_pass(
        &self,
        request: &NewTemporaryAccessPass,
        guard: Guard,
    ) -> Result<TemporaryAccessPass, Error> {
        self.act("user.create_temporary_access_pass", &Permission::IDENTITY_USER_READWRITE, json!({"lifetimeInMinutes": request.lifetime_in_minutes, "isUsableOnce": request.is_usable_once}), succeeded, async {
        self.guard(guard, "create a Temporary Access Pass").await?;
        self.g()
            .auth_methods()
            .create_temporary_access_pass(&self.user, request, true)
            .await
        }).await
    }

    /// Re-require MFA registration: remove every method but the password.
    pub async fn rerequire_mfa(&self, guard: Guard) -> Result<Report, Error> {
        self.act(
            "user.rerequire_mfa",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            by_report,
            async {
                self.guard(guard, "remove MFA methods").await?;
                self.g()
                    .auth_methods()
                    .remove_all_but_password(&self.user)
                    .await
            },
        )
        .await
    }

    /// Remove one MFA method.
    pub async fn remove_mfa_method(&self, method: &AuthMethod, guard: Guard) -> Result<(), Error> {
        self.act(
            "user.remove_mfa_method",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"methodId": method.id, "methodType": method.odata_type}),
            succeeded,
            async {
                self.guard(guard, "remove an MFA method").await?;
                self.g().auth_methods().delete(&self.user, method).await
            },
        )
        .await
    }

    /// Set per-user (legacy) MFA. Guests are addressed by object id, as CIPP does.
    pub async fn set_per_user_mfa(&self, state: PerUserMfaState) -> Result<(), Error> {
        self.act(
            "user.set_per_user_mfa",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"state": format!("{state:?}")}),
            succeeded,
            async {
                let target = match &self.user {
                    UserRef::Upn(u) if u.contains("#EXT#") => UserRef::Id(self.object_id().await?),
                    other => other.clone(),
                };
                self.g()
                    .auth_methods()
                    .set_per_user_mfa(&target, state)
                    .await
            },
        )
        .await
    }

    /// Set the default MFA method (beta `signInPreferences`).
    pub async fn set_default_mfa_method(&self, method: &str) -> Result<(), Error> {
        self.act(
            "user.set_default_mfa_method",
            &Permission::IDENTITY_USER_READWRITE,
            json!({"method": method}),
            succeeded,
            async {
                self.g()
                    .users()
                    .set_default_mfa_method(&self.user, method)
                    .await
            },
        )
        .await
    }

    /// Send MFA push: finds (or creates) the legacy MFA connector's service principal,
    /// gives it a password valid five minutes, gets a connector token with it, and asks the
    /// connector to push a sign-in request to the user's authenticator. Refused for a
    /// privileged administrator unless [`Guard::AllowPrivileged`] is given.
    pub async fn send_mfa_push(&self, guard: Guard) -> Result<MfaPushResult, Error> {
        self.act(
            "user.send_mfa_push",
            &Permission::IDENTITY_USER_READWRITE,
            Value::Null,
            succeeded,
            async {
                let upn = self.mailbox()?;
                self.guard(guard, "send an MFA push").await?;
                self.g()
                    .auth_methods()
                    .send_mfa_push(&UserRef::parse(&upn)?)
                    .await
            },
        )
        .await
    }
}
