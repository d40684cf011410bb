//! Authentication methods, Temporary Access Passes and MFA reports as request values.

use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;

use crate::model::{
    AuthMethod, AuthenticationRequirements, NewTemporaryAccessPass, PerUserMfaState,
    TemporaryAccessPass, TemporaryAccessPassPolicy, UserRegistrationDetails,
};
use crate::odata::Query;
use crate::op::{self, json, GraphOp};
use crate::users::UserRef;

/// Shortest and longest lifetime Graph accepts for a Temporary Access Pass.
pub const TAP_LIFETIME_MINUTES: std::ops::RangeInclusive<u32> = 10..=43_200;

/// Lists a user's methods (polymorphic; unknown kinds kept).
pub fn list(tenant: &TenantId, user: &UserRef) -> ApiRequest {
    let path = format!("/v1.0{}/authentication/methods", user.path());
    op::request(tenant, Method::GET, path, "list authentication methods")
}

/// Reads the tenant's Temporary Access Pass policy.
pub fn tap_policy(tenant: &TenantId) -> GraphOp<TemporaryAccessPassPolicy> {
    let path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";
    op::get(tenant, path, "get TAP policy")
}

/// Checks a TAP request against Graph's range and, when given, the tenant's policy.
pub fn validate_tap(
    request: &NewTemporaryAccessPass,
    policy: Option<&TemporaryAccessPassPolicy>,
) -> Result<(), Error> {
    if let Some(l) = request.lifetime_in_minutes {
        if !TAP_LIFETIME_MINUTES.contains(&l) {
            return Err(Error::invalid_input(
                "lifetimeInMinutes",
                format!("must be 10–43200 minutes, got {l}"),
            ));
        }
    }
    if let Some(p) = policy {
        if p.state
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("enabled"))
        {
            return Err(Error::invalid_input(
                "temporaryAccessPass",
                "the tenant's Temporary Access Pass policy is disabled: enable it under Authentication methods",
            ));
        }
        if let Some(l) = request.lifetime_in_minutes {
            let min = p.minimum_lifetime_in_minutes.unwrap_or(10);
            let max = p.maximum_lifetime_in_minutes.unwrap_or(43_200);
            if l < min || l > max {
                return Err(Error::invalid_input(
                    "lifetimeInMinutes",
                    format!("the tenant's policy allows {min}–{max} minutes, got {l}"),
                ));
            }
        }
        if p.is_usable_once == Some(true) && request.is_usable_once == Some(false) {
            return Err(Error::invalid_input(
                "isUsableOnce",
                "the tenant's policy only allows one-time passes",
            ));
        }
    }
    Ok(())
}

/// Creates a Temporary Access Pass (one usable pass per user: a new one replaces the old).
pub fn create_tap(
    tenant: &TenantId,
    user: &UserRef,
    request: &NewTemporaryAccessPass,
    policy: Option<&TemporaryAccessPassPolicy>,
) -> Result<GraphOp<TemporaryAccessPass>, Error> {
    validate_tap(request, policy)?;
    let mut body = request.clone();
    if policy.is_some_and(|p| p.is_usable_once == Some(true)) {
        body.is_usable_once = Some(true);
    }
    let path = format!(
        "/v1.0{}/authentication/temporaryAccessPassMethods",
        user.path()
    );
    op::with_body(
        tenant,
        Method::POST,
        path,
        "create temporary access pass",
        &body,
        json,
    )
}

/// Deletes one method. The password method cannot be deleted.
pub fn delete(
    tenant: &TenantId,
    user: &UserRef,
    method: &AuthMethod,
) -> Result<GraphOp<()>, Error> {
    use crate::model::AuthMethodKind;
    let path = match method.kind() {
        AuthMethodKind::Password => {
            return Err(Error::invalid_input(
                "method",
                "the password method cannot be removed",
            ));
        }
        AuthMethodKind::QrCodePin => format!("/beta{}/authentication/qrCodePinMethod", user.path()),
        _ => {
            let collection = method.collection().ok_or_else(|| {
                Error::invalid_input(
                    "method",
                    format!("unknown method type `{}`", method.odata_type),
                )
            })?;
            format!(
                "/v1.0{}/authentication/{collection}/{}",
                user.path(),
                method.id
            )
        }
    };
    Ok(op::delete(tenant, path, "delete authentication method"))
}

/// Reads per-user (legacy) MFA state (beta).
pub fn per_user_mfa(tenant: &TenantId, user: &UserRef) -> GraphOp<AuthenticationRequirements> {
    let path = format!("/beta{}/authentication/requirements", user.path());
    op::get(tenant, path, "get per-user MFA")
}

/// Sets per-user (legacy) MFA state (beta).
pub fn set_per_user_mfa(
    tenant: &TenantId,
    user: &UserRef,
    state: PerUserMfaState,
) -> Result<GraphOp<()>, Error> {
    if let PerUserMfaState::Unknown(s) = &state {
        return Err(Error::invalid_input(
            "perUserMfaState",
            format!("`{s}` is not disabled, enabled or enforced"),
        ));
    }
    let path = format!("/beta{}/authentication/requirements", user.path());
    let body = AuthenticationRequirements {
        per_user_mfa_state: state,
    };
    op::patch(tenant, path, "set per-user MFA", &body)
}

/// The MFA registration report (the service supports only `$filter` and `$orderby`;
/// other options are refused before sending).
pub fn registration_details(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    if !query.has_only_filter_and_orderby() {
        return Err(Error::invalid_input(
            "query",
            "userRegistrationDetails supports only $filter and $orderby",
        ));
    }
    let path = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
    let mut r = op::request(tenant, Method::GET, path, "list MFA registration details");
    if let Some(f) = query.filter_expr() {
        r = r.query("$filter", f);
    }
    if let Some(o) = query.orderby_expr() {
        r = r.query("$orderby", o);
    }
    Ok(r)
}

/// Authentication-method operations in one tenant (`graph.tenant(&t).auth_methods()`).
#[derive(Clone, Debug)]
pub struct AuthMethods(pub(crate) crate::TenantGraph);

impl AuthMethods {
    /// A user's registered methods.
    pub fn list(&self, user: &UserRef) -> crate::List<AuthMethod> {
        self.0.list_of(Ok(list(self.0.id(), user)))
    }
    /// The tenant's Temporary Access Pass policy.
    pub fn temporary_access_pass_policy(&self) -> crate::Call<TemporaryAccessPassPolicy> {
        self.0.call(Ok(tap_policy(self.0.id())))
    }
    /// Deletes one method.
    pub fn delete(&self, user: &UserRef, method: &AuthMethod) -> crate::Call<()> {
        self.0.call(delete(self.0.id(), user, method))
    }
    /// Per-user MFA state (legacy).
    pub fn per_user_mfa(&self, user: &UserRef) -> crate::Call<AuthenticationRequirements> {
        self.0.call(Ok(per_user_mfa(self.0.id(), user)))
    }
    /// Sets per-user MFA (disabled, enabled, enforced).
    pub fn set_per_user_mfa(&self, user: &UserRef, state: PerUserMfaState) -> crate::Call<()> {
        self.0.call(set_per_user_mfa(self.0.id(), user, state))
    }
    /// The MFA registration report (`userRegistrationDetails`).
    pub fn registration_details(&self) -> crate::List<UserRegistrationDetails> {
        self.0.list(registration_details)
    }

    /// Creates a Temporary Access Pass; with `check_policy`, checks the request against
    /// the tenant's TAP policy first (one more read) so a refusal names the policy's
    /// limits.
    pub async fn create_temporary_access_pass(
        &self,
        user: &UserRef,
        request: &NewTemporaryAccessPass,
        check_policy: bool,
    ) -> Result<TemporaryAccessPass, Error> {
        validate_tap(request, None)?;
        let policy = if check_policy {
            Some(self.temporary_access_pass_policy().await?)
        } else {
            None
        };
        self.0
            .call(create_tap(self.0.id(), user, request, policy.as_ref()))
            .await
    }

    /// Removes every method but the password ("re-require MFA registration"), one
    /// outcome per method.
    pub async fn remove_all_but_password(
        &self,
        user: &UserRef,
    ) -> Result<cipp_core::Report, Error> {
        use cipp_core::Outcome;
        let methods = self.list(user).await?;
        let mut report = cipp_core::Report::new();
        for m in methods {
            let name = format!(
                "{} {}",
                m.odata_type.trim_start_matches("#microsoft.graph."),
                m.id
            );
            if m.kind() == crate::model::AuthMethodKind::Password {
                report.push(name, Outcome::skipped("the password is kept"));
                continue;
            }
            let r = self.delete(user, &m).await;
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
}
