//! User operations as request values.
//!
//! Each function validates its input and returns a [`GraphOp`] (or, for collections, an
//! [`ApiRequest`] to stream with [`cipp_core::paging`]). Nothing is sent here.

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use http::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::model::{AssignedLicense, DirectoryObject, NewUser, SkuId, User, UserId, UserPatch};
use crate::odata::Query;
use crate::op::{self, json, unit, GraphOp};

/// The fixed id of the password authentication method, whose `resetPassword` action resets
/// a directory-synced user's password through writeback.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

/// A user named by object id or by user principal name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// Object id (a GUID).
    Id(UserId),
    /// User principal name (guest `#EXT#` UPNs included).
    Upn(String),
}

/// The longest user reference accepted (Graph allows 113 characters in a UPN; guest UPNs
/// with `#EXT#` run longer, so the bound is generous).
pub const MAX_USER_REF_LEN: usize = 1024;

impl UserRef {
    /// A GUID becomes an id, anything with `@` a UPN; anything else is refused.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.len() > MAX_USER_REF_LEN {
            return Err(Error::invalid_input(
                "user",
                format!(
                    "`{s}` is {} bytes long; a user principal name has at most {MAX_USER_REF_LEN}",
                    s.len()
                ),
            ));
        }
        if is_guid(s) {
            Ok(UserRef::Id(UserId(s.to_ascii_lowercase())))
        } else if let Some((local, domain)) = s.rsplit_once('@') {
            if local.is_empty() || !domain.contains('.') {
                return Err(Error::invalid_input(
                    "user",
                    format!("`{s}` is not a valid user principal name"),
                ));
            }
            Ok(UserRef::Upn(s.to_owned()))
        } else {
            Err(Error::invalid_input(
                "user",
                format!("`{s}` is neither an object id nor a user principal name (no `@`)"),
            ))
        }
    }

    /// The path segment: ids as they are, UPNs percent-encoded (`#` → `%23`), and a UPN
    /// starting with `$` in the `users('…')` form Graph requires.
    pub fn segment(&self) -> String {
        match self {
            UserRef::Id(id) => encode_component(id.as_str()),
            UserRef::Upn(upn) if upn.starts_with('$') => {
                format!("('{}')", encode_component(&upn.replace('\'', "''")))
            }
            UserRef::Upn(upn) => encode_component(upn),
        }
    }

    /// `/users/{segment}` (or `/users('…')`).
    pub fn path(&self) -> String {
        let seg = self.segment();
        if seg.starts_with('(') {
            format!("/users{seg}")
        } else {
            format!("/users/{seg}")
        }
    }
}

impl From<UserId> for UserRef {
    fn from(id: UserId) -> Self {
        UserRef::Id(id)
    }
}

pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn v1(tenant: &TenantId, method: Method, path: String) -> ApiRequest {
    ApiRequest::new(
        tenant.clone(),
        Audience::Graph,
        method,
        format!("/v1.0{path}"),
    )
}

/// PATCH the user with `body` (204; idempotent).
fn patch_user<B: serde::Serialize + ?Sized>(
    tenant: &TenantId,
    user: &UserRef,
    operation: &'static str,
    body: &B,
) -> Result<GraphOp<()>, Error> {
    op::patch(tenant, v1_path(user, ""), operation, body)
}

/// The v1.0 path of `user` followed by `rest` (empty, or starting with `/`).
fn v1_path(user: &UserRef, rest: &str) -> String {
    format!("/v1.0{}{rest}", user.path())
}

/// Lists users (page size up to 999).
pub fn list(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(tenant, "/v1.0/users", "list users", query)
}

/// Gets one user, optionally with `$select`.
pub fn get(tenant: &TenantId, user: &UserRef, select: &[&str]) -> GraphOp<User> {
    let r = v1(tenant, Method::GET, user.path()).operation("get user");
    GraphOp::new(op::select(r, select), json)
}

/// Validates a user principal name: `local@domain.tld` with Graph's allowed characters.
pub fn validate_upn(upn: &str) -> Result<(&str, &str), Error> {
    let (local, domain) = upn
        .rsplit_once('@')
        .ok_or_else(|| Error::invalid_input("userPrincipalName", format!("`{upn}` has no `@`")))?;
    let ok_local = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    if !ok_local || local.starts_with('.') || local.ends_with('.') {
        return Err(Error::invalid_input(
            "userPrincipalName",
            format!("`{local}` may only use A-Z a-z 0-9 ' . - _ ! # ^ ~ (no accents, no leading or trailing dot)"),
        ));
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(Error::invalid_input(
            "userPrincipalName",
            format!("`{domain}` is not a domain"),
        ));
    }
    Ok((local, domain))
}

fn validate_usage_location(loc: &str) -> Result<(), Error> {
    if loc.len() == 2 && loc.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "usageLocation",
            format!("`{loc}` is not a two-letter country code"),
        ))
    }
}

/// Creates a user (201 + the user).
pub fn create(tenant: &TenantId, user: &NewUser) -> Result<GraphOp<User>, Error> {
    validate_upn(&user.user_principal_name)?;
    if user.display_name.trim().is_empty() {
        return Err(Error::invalid_input("displayName", "must not be empty"));
    }
    if user.mail_nickname.is_empty()
        || user
            .mail_nickname
            .contains(|c: char| c.is_whitespace() || c == '@')
    {
        return Err(Error::invalid_input(
            "mailNickname",
            "must be non-empty, without spaces or `@`",
        ));
    }
    if let Some(loc) = &user.usage_location {
        validate_usage_location(loc)?;
    }
    op::with_body(
        tenant,
        Method::POST,
        "/v1.0/users",
        "create user",
        user,
        json,
    )
}

/// Updates a user with a typed patch (204). An empty patch is refused.
pub fn update(tenant: &TenantId, user: &UserRef, patch: &UserPatch) -> Result<GraphOp<()>, Error> {
    if patch.is_empty() {
        return Err(Error::invalid_input("patch", "changes nothing"));
    }
    if let crate::model::Field::Set(upn) = &patch.user_principal_name {
        validate_upn(upn)?;
    }
    if let crate::model::Field::Set(loc) = &patch.usage_location {
        validate_usage_location(loc)?;
    }
    // Every field is set to a fixed value: repeating the PATCH changes nothing.
    patch_user(tenant, user, "update user", patch)
}

/// Deletes a user (soft delete: restorable for 30 days).
pub fn delete(tenant: &TenantId, user: &UserRef) -> GraphOp<()> {
    op::delete(tenant, v1_path(user, ""), "delete user")
}

/// Lists deleted users (the type cast is required).
pub fn list_deleted(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    let path = "/v1.0/directory/deletedItems/microsoft.graph.user";
    op::list(tenant, path, "list deleted users", query)
}

fn object_id(field: &str, id: &str) -> Result<String, Error> {
    op::guid(field, id, "an object id (GUID)")
}

/// Restores a deleted object (user or group) from the recycle bin.
pub fn restore(tenant: &TenantId, id: &str) -> Result<GraphOp<DirectoryObject>, Error> {
    let id = object_id("id", id)?;
    let r = v1(
        tenant,
        Method::POST,
        format!("/directory/deletedItems/{id}/restore"),
    )
    .operation("restore deleted item")
    .idempotent(true);
    Ok(GraphOp::new(r, json))
}

/// Deletes a deleted object permanently.
pub fn delete_permanently(tenant: &TenantId, id: &str) -> Result<GraphOp<()>, Error> {
    let id = object_id("id", id)?;
    let path = format!("/v1.0/directory/deletedItems/{id}");
    Ok(op::delete(tenant, path, "delete deleted item"))
}

fn bool_value(r: &cipp_core::ApiResponse) -> Result<bool, Error> {
    #[derive(serde::Deserialize)]
    struct V {
        value: bool,
    }
    if r.body.is_empty() {
        return Ok(true);
    }
    Ok(r.json::<V>()?.value)
}

/// Revokes the user's sign-in sessions (refresh tokens); returns Graph's `value`.
pub fn revoke_sign_in_sessions(tenant: &TenantId, user: &UserRef) -> GraphOp<bool> {
    let path = format!("{}/revokeSignInSessions", user.path());
    let r = v1(tenant, Method::POST, path)
        .operation("revoke sign-in sessions")
        .idempotent(true);
    GraphOp::new(r, bool_value)
}

/// Allows or blocks sign-in (`accountEnabled`).
pub fn set_sign_in_enabled(
    tenant: &TenantId,
    user: &UserRef,
    enabled: bool,
) -> Result<GraphOp<()>, Error> {
    let operation = if enabled {
        "enable sign-in"
    } else {
        "block sign-in"
    };
    let body = json!({ "accountEnabled": enabled });
    patch_user(tenant, user, operation, &body)
}

/// Resets a cloud user's password through `passwordProfile`.
pub fn reset_password(
    tenant: &TenantId,
    user: &UserRef,
    password: &SecretString,
    force_change_next_sign_in: bool,
) -> Result<GraphOp<()>, Error> {
    use secrecy::ExposeSecret;
    let body = json!({"passwordProfile": {
        "forceChangePasswordNextSignIn": force_change_next_sign_in,
        "password": password.expose_secret(),
    }});
    patch_user(tenant, user, "reset password", &body)
}

/// Resets a directory-synced user's password through the password method's
/// `resetPassword` action (password writeback; asynchronous; always forces a change).
pub fn reset_password_synced(
    tenant: &TenantId,
    user: &UserRef,
    password: &SecretString,
) -> Result<GraphOp<()>, Error> {
    use secrecy::ExposeSecret;
    let path = format!(
        "/beta{}/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword",
        user.path()
    );
    let body = json!({"newPassword": password.expose_secret()});
    op::with_body(
        tenant,
        Method::POST,
        path,
        "reset password (writeback)",
        &body,
        unit,
    )
}

/// The `@odata.id` of a directory object for `$ref` bodies.
pub fn directory_object_ref(graph_base: &str, id: &str) -> String {
    format!(
        "{}/v1.0/directoryObjects/{id}",
        graph_base.trim_end_matches('/')
    )
}

/// Sets the user's manager.
pub fn set_manager(
    tenant: &TenantId,
    user: &UserRef,
    manager_id: &str,
    graph_base: &str,
) -> Result<GraphOp<()>, Error> {
    let manager_id = object_id("manager", manager_id)?;
    let r = v1(tenant, Method::PUT, format!("{}/manager/$ref", user.path()))
        .operation("set manager")
        .json(&json!({"@odata.id": directory_object_ref(graph_base, &manager_id)}))?;
    Ok(GraphOp::new(r, unit))
}

/// Removes the user's manager.
pub fn remove_manager(tenant: &TenantId, user: &UserRef) -> GraphOp<()> {
    op::delete(tenant, v1_path(user, "/manager/$ref"), "remove manager")
}

/// Gets the user's manager.
pub fn get_manager(tenant: &TenantId, user: &UserRef) -> GraphOp<DirectoryObject> {
    op::get(tenant, v1_path(user, "/manager"), "get manager")
}

/// Lists the groups, roles and administrative units the user is a direct member of, or
/// (with `transitive`) a member of through nesting.
pub fn member_of(
    tenant: &TenantId,
    user: &UserRef,
    transitive: bool,
    query: &Query,
) -> Result<ApiRequest, Error> {
    let rel = if transitive {
        "/transitiveMemberOf"
    } else {
        "/memberOf"
    };
    op::list(tenant, v1_path(user, rel), "list memberships", query)
}

/// Assigns and removes licences in one call (200 + the user).
pub fn assign_licenses(
    tenant: &TenantId,
    user: &UserRef,
    add: &[AssignedLicense],
    remove: &[SkuId],
) -> Result<GraphOp<User>, Error> {
    if add.is_empty() && remove.is_empty() {
        return Err(Error::invalid_input("licenses", "nothing to add or remove"));
    }
    for sku in add.iter().map(|l| &l.sku_id).chain(remove) {
        if !is_guid(sku.as_str()) {
            return Err(Error::invalid_input(
                "skuId",
                format!("`{sku}` is not a SKU id (GUID)"),
            ));
        }
    }
    let r = v1(
        tenant,
        Method::POST,
        format!("{}/assignLicense", user.path()),
    )
    .operation("assign licenses")
    .json(&json!({"addLicenses": add, "removeLicenses": remove}))?
    .idempotent(true);
    Ok(GraphOp::new(r, json))
}

/// Whether an error is Graph refusing a licence for lack of a usage location.
pub fn is_missing_usage_location(e: &Error) -> bool {
    e.as_api().is_some_and(|a| {
        a.status.as_u16() == 400 && a.message.to_ascii_lowercase().contains("usage location")
    })
}

/// Sets or clears the "password never expires" policy.
pub fn set_password_never_expires(
    tenant: &TenantId,
    user: &UserRef,
    never: bool,
) -> Result<GraphOp<()>, Error> {
    let policy = if never {
        "DisablePasswordExpiration"
    } else {
        "None"
    };
    let body = json!({"passwordPolicies": policy});
    patch_user(tenant, user, "set password expiration", &body)
}

/// Clears the on-premises immutable id (for a user no longer synchronised).
pub fn clear_immutable_id(tenant: &TenantId, user: &UserRef) -> Result<GraphOp<()>, Error> {
    let body = json!({"onPremisesImmutableId": null});
    patch_user(tenant, user, "clear immutable id", &body)
}

/// Reprocesses group-based licence assignment for the user.
pub fn reprocess_license_assignment(tenant: &TenantId, user: &UserRef) -> GraphOp<User> {
    let path = format!("{}/reprocessLicenseAssignment", user.path());
    let r = v1(tenant, Method::POST, path)
        .operation("reprocess license assignment")
        .idempotent(true);
    GraphOp::new(r, json)
}

/// Lists the tenant's licences.
pub fn subscribed_skus(tenant: &TenantId) -> ApiRequest {
    op::request(
        tenant,
        Method::GET,
        "/v1.0/subscribedSkus",
        "list subscribed SKUs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("contoso.com").unwrap()
    }

    #[test]
    fn user_refs() {
        assert!(matches!(
            UserRef::parse("48D31887-5FAD-4D73-A9F5-3C356E68A038").unwrap(),
            UserRef::Id(_)
        ));
        assert_eq!(
            UserRef::parse("a@b.com").unwrap().path(),
            "/users/a%40b.com"
        );
        assert_eq!(
            UserRef::parse("john_fabrikam.com#EXT#@contoso.onmicrosoft.com")
                .unwrap()
                .path(),
            "/users/john_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com"
        );
        assert_eq!(
            UserRef::parse("$admin@contoso.com").unwrap().path(),
            "/users('$admin%40contoso.com')"
        );
        assert!(UserRef::parse("nobody").is_err());
        assert!(UserRef::parse("@contoso.com").is_err());
    }

    #[test]
    fn upn_validation() {
        assert!(validate_upn("adele.vance@contoso.com").is_ok());
        assert!(validate_upn("adele").is_err());
        assert!(validate_upn("adèle@contoso.com").is_err());
        assert!(validate_upn("a b@contoso.com").is_err());
        assert!(validate_upn("a@localhost").is_err());
    }

    #[test]
    fn requests_are_values() {
        let u = UserRef::parse("a@contoso.com").unwrap();
        let op = set_sign_in_enabled(&t(), &u, false).unwrap();
        assert_eq!(op.request().method(), &http::Method::PATCH);
        assert_eq!(op.request().target(), "/v1.0/users/a%40contoso.com");
        assert_eq!(
            op.request().body_bytes().as_ref(),
            br#"{"accountEnabled":false}"#
        );
        let op = reset_password_synced(&t(), &u, &SecretString::from("x")).unwrap();
        assert_eq!(
            op.request().path(),
            "/beta/users/a%40contoso.com/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"
        );
        assert!(assign_licenses(&t(), &u, &[], &[]).is_err());
        assert!(assign_licenses(&t(), &u, &[], &[SkuId("E5".into())]).is_err());
        assert!(update(&t(), &u, &UserPatch::default()).is_err());
    }
}

/// Sets the default (preferred) MFA method for sign-in (beta `signInPreferences`):
/// `push`, `oath`, `voiceMobile`, `voiceAlternateMobile`, `voiceOffice`, `sms`.
pub fn set_default_mfa_method(
    tenant: &TenantId,
    user: &UserRef,
    method: &str,
) -> Result<GraphOp<()>, Error> {
    const METHODS: [&str; 6] = [
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
    let path = format!("/beta{}/authentication/signInPreferences", user.path());
    let body = json!({"userPreferredMethodForSecondaryAuthentication": method});
    op::patch(tenant, path, "set default MFA method", &body)
}

/// Requires a password change at the next sign-in.
pub fn require_password_change(tenant: &TenantId, user: &UserRef) -> Result<GraphOp<()>, Error> {
    let body = json!({"passwordProfile": {"forceChangePasswordNextSignIn": true}});
    patch_user(tenant, user, "require password change", &body)
}

/// Sets the source of authority of a synced or previously synced user: cloud-managed or
/// not (beta `onPremisesSyncBehavior`).
pub fn set_cloud_managed(
    tenant: &TenantId,
    user: &UserRef,
    cloud_managed: bool,
) -> Result<GraphOp<()>, Error> {
    let path = format!("/beta{}/onPremisesSyncBehavior", user.path());
    let body = json!({"isCloudManaged": cloud_managed});
    op::patch(tenant, path, "set source of authority", &body)
}

/// A user's OneDrive (`GET /users/{id}/drive`).
pub fn drive(tenant: &TenantId, user: &UserRef) -> GraphOp<crate::model::Drive> {
    op::get(tenant, v1_path(user, "/drive"), "get drive")
}

/// Adds a shortcut to a SharePoint library or folder to the user's OneDrive (beta).
pub fn add_drive_shortcut(
    tenant: &TenantId,
    user: &UserRef,
    name: &str,
    target: &crate::model::SharePointIds,
) -> Result<GraphOp<()>, Error> {
    if name.trim().is_empty() || target.site_id.is_empty() || target.list_id.is_empty() {
        return Err(Error::invalid_input(
            "shortcut",
            "a name, a site id and a list id are required",
        ));
    }
    let body = json!({
        "name": name,
        "remoteItem": {"sharepointIds": target},
        "@microsoft.graph.conflictBehavior": "rename"
    });
    let path = format!("/beta{}/drive/root/children", user.path());
    op::with_body(
        tenant,
        Method::POST,
        path,
        "add OneDrive shortcut",
        &body,
        unit,
    )
}

/// The result of a password reset.
#[derive(Debug)]
pub struct PasswordReset {
    /// The new password (show it once; never log it).
    pub password: SecretString,
    /// Whether the user must change it at next sign-in.
    pub must_change: bool,
    /// Whether it went through password writeback (directory-synced user): asynchronous,
    /// and always forces a change.
    pub via_writeback: bool,
}

/// User operations in one tenant (`graph.tenant(&t).users()`).
#[derive(Clone, Debug)]
pub struct Users(pub(crate) crate::TenantGraph);

impl Users {
    /// Lists users (`GET /users`).
    pub fn list(&self) -> crate::List<User> {
        self.0.list(list)
    }
    /// Gets a user by id or UPN.
    pub fn get(&self, user: &UserRef) -> crate::Call<User> {
        self.0.call(Ok(get(self.0.id(), user, &[])))
    }
    /// Creates a user.
    pub fn create(&self, user: &NewUser) -> crate::Call<User> {
        self.0.call(create(self.0.id(), user))
    }
    /// Applies a typed patch.
    pub fn update(&self, user: &UserRef, patch: &UserPatch) -> crate::Call<()> {
        self.0.call(update(self.0.id(), user, patch))
    }
    /// Deletes a user (into the recycle bin for 30 days).
    pub fn delete(&self, user: &UserRef) -> crate::Call<()> {
        self.0.call(Ok(delete(self.0.id(), user)))
    }
    /// Lists deleted users (the recycle bin).
    pub fn list_deleted(&self) -> crate::List<User> {
        self.0.list(list_deleted)
    }
    /// Restores a deleted user (or group) from the recycle bin.
    pub fn restore(&self, id: &crate::model::DirectoryObjectId) -> crate::Call<DirectoryObject> {
        self.0.call(restore(self.0.id(), id.as_str()))
    }
    /// Deletes a deleted object for good.
    pub fn delete_permanently(&self, id: &crate::model::DirectoryObjectId) -> crate::Call<()> {
        self.0.call(delete_permanently(self.0.id(), id.as_str()))
    }
    /// Revokes every sign-in session (refresh tokens and session cookies).
    pub fn revoke_sessions(&self, user: &UserRef) -> crate::Call<bool> {
        self.0.call(Ok(revoke_sign_in_sessions(self.0.id(), user)))
    }
    /// Allows or blocks sign-in (`accountEnabled`).
    pub fn set_sign_in(&self, user: &UserRef, enabled: bool) -> crate::Call<()> {
        self.0.call(set_sign_in_enabled(self.0.id(), user, enabled))
    }
    /// Requires a password change at the next sign-in.
    pub fn require_password_change(&self, user: &UserRef) -> crate::Call<()> {
        self.0.call(require_password_change(self.0.id(), user))
    }
    /// Sets or clears "password never expires".
    pub fn set_password_never_expires(&self, user: &UserRef, never: bool) -> crate::Call<()> {
        self.0
            .call(set_password_never_expires(self.0.id(), user, never))
    }
    /// Clears `onPremisesImmutableId` (only for a user no longer synced).
    pub fn clear_immutable_id(&self, user: &UserRef) -> crate::Call<()> {
        self.0.call(clear_immutable_id(self.0.id(), user))
    }
    /// Sets the source of authority (cloud-managed or not).
    pub fn set_cloud_managed(&self, user: &UserRef, cloud_managed: bool) -> crate::Call<()> {
        self.0
            .call(set_cloud_managed(self.0.id(), user, cloud_managed))
    }
    /// Sets the default MFA method for sign-in.
    pub fn set_default_mfa_method(&self, user: &UserRef, method: &str) -> crate::Call<()> {
        self.0
            .call(set_default_mfa_method(self.0.id(), user, method))
    }
    /// Sets the manager.
    pub fn set_manager(
        &self,
        user: &UserRef,
        manager: &crate::model::DirectoryObjectId,
    ) -> crate::Call<()> {
        self.0.call(set_manager(
            self.0.id(),
            user,
            manager.as_str(),
            self.0.base(),
        ))
    }
    /// Removes the manager.
    pub fn remove_manager(&self, user: &UserRef) -> crate::Call<()> {
        self.0.call(Ok(remove_manager(self.0.id(), user)))
    }
    /// The manager.
    pub fn manager(&self, user: &UserRef) -> crate::Call<DirectoryObject> {
        self.0.call(Ok(get_manager(self.0.id(), user)))
    }
    /// The groups, directory roles and administrative units the user is in: directly, or
    /// through nesting (`transitive`).
    pub fn member_of(&self, user: &UserRef, transitive: bool) -> crate::List<DirectoryObject> {
        let user = user.clone();
        self.0.list(move |t, q| member_of(t, &user, transitive, q))
    }
    /// Re-evaluates group-based licences.
    pub fn reprocess_licenses(&self, user: &UserRef) -> crate::Call<User> {
        self.0
            .call(Ok(reprocess_license_assignment(self.0.id(), user)))
    }
    /// The user's OneDrive.
    pub fn drive(&self, user: &UserRef) -> crate::Call<crate::model::Drive> {
        self.0.call(Ok(drive(self.0.id(), user)))
    }
    /// Adds a OneDrive shortcut to a SharePoint library or folder.
    pub fn add_drive_shortcut(
        &self,
        user: &UserRef,
        name: &str,
        target: &crate::model::SharePointIds,
    ) -> crate::Call<()> {
        self.0
            .call(add_drive_shortcut(self.0.id(), user, name, target))
    }

    /// Resets the password: cloud users through `passwordProfile`, directory-synced users
    /// through writeback (which always forces a change). The password is generated in
    /// `style` unless given.
    pub async fn reset_password(
        &self,
        user: &UserRef,
        password: Option<SecretString>,
        style: &crate::password::PasswordStyle,
        must_change: bool,
    ) -> Result<PasswordReset, Error> {
        let password = match password {
            Some(p) => p,
            None => crate::password::generate(style)?,
        };
        let tenant = self.0.id();
        let current = self
            .get(user)
            .select(["id", "onPremisesSyncEnabled"])
            .await?;
        if current.is_synced() {
            self.0
                .call(reset_password_synced(tenant, user, &password))
                .await?;
            Ok(PasswordReset {
                password,
                must_change: true,
                via_writeback: true,
            })
        } else {
            self.0
                .call(reset_password(tenant, user, &password, must_change))
                .await?;
            Ok(PasswordReset {
                password,
                must_change,
                via_writeback: false,
            })
        }
    }

    /// Changes the UPN (or only its domain) after checking that the domain is verified.
    pub async fn change_upn(&self, user: &UserRef, new_upn: &str) -> Result<(), Error> {
        let (_, domain) = validate_upn(new_upn)?;
        let domains = self.0.directory().domains().await?;
        let verified = domains
            .iter()
            .any(|d| d.id.eq_ignore_ascii_case(domain) && d.is_verified != Some(false));
        if !verified {
            let known: Vec<&str> = domains.iter().map(|d| d.id.as_str()).collect();
            return Err(Error::invalid_input(
                "userPrincipalName",
                format!(
                    "`{domain}` is not a verified domain of tenant {} (verified: {})",
                    self.0.id(),
                    known.join(", ")
                ),
            ));
        }
        let patch = UserPatch {
            user_principal_name: crate::model::Field::Set(new_upn.to_owned()),
            ..UserPatch::default()
        };
        self.update(user, &patch).await
    }

    /// Adds and removes licences in one call; when Graph refuses for a missing usage
    /// location and `default_usage_location` is given, sets it and tries once more.
    pub async fn assign_licenses(
        &self,
        user: &UserRef,
        add: &[AssignedLicense],
        remove: &[SkuId],
        default_usage_location: Option<&str>,
    ) -> Result<User, Error> {
        let tenant = self.0.id();
        match self
            .0
            .call(assign_licenses(tenant, user, add, remove))
            .await
        {
            Err(e) if is_missing_usage_location(&e) => {
                let Some(loc) = default_usage_location else {
                    return Err(e);
                };
                let patch = UserPatch {
                    usage_location: crate::model::Field::Set(loc.to_owned()),
                    ..UserPatch::default()
                };
                self.update(user, &patch).await?;
                self.0
                    .call(assign_licenses(tenant, user, add, remove))
                    .await
            }
            other => other,
        }
    }
}
