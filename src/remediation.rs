//! Remediation of a compromised account: CIPP's steps in CIPP's order, each independent,
//! idempotent and reported, with a dry run.

use cipp_core::{Error, Outcome, Report};
use cipp_exchange::cmdlets::Forwarding;
use cipp_graph::password::PasswordStyle;
use secrecy::SecretString;

use crate::client::TenantHandle;
use crate::users::Guard;

/// Which steps to run.
#[derive(Clone, Debug)]
pub struct RemediationOptions {
    /// 1. Reset the password (change forced at next sign-in).
    pub reset_password: bool,
    /// 2. Block sign-in.
    pub block_sign_in: bool,
    /// 3. Revoke sessions.
    pub revoke_sessions: bool,
    /// 4. Remove every MFA method but the password.
    pub remove_mfa_methods: bool,
    /// 5. Disable every inbox rule (hidden ones included).
    pub disable_inbox_rules: bool,
    /// 6. Disable OneDrive external sharing (SharePoint admin CSOM).
    pub disable_onedrive_sharing: bool,
    /// 7. Remove mailbox forwarding (beyond CIPP).
    pub remove_forwarding: bool,
    /// 8. Revoke the user's consents to apps with high-privilege scopes (beyond CIPP).
    pub revoke_risky_consents: bool,
    /// Report what would be done without doing it.
    pub dry_run: bool,
    /// Whether a privileged administrator may be remediated.
    pub guard: Guard,
    /// How the new password is generated.
    pub password_style: PasswordStyle,
}

impl Default for RemediationOptions {
    fn default() -> Self {
        RemediationOptions {
            reset_password: true,
            block_sign_in: true,
            revoke_sessions: true,
            remove_mfa_methods: true,
            disable_inbox_rules: true,
            disable_onedrive_sharing: true,
            remove_forwarding: true,
            revoke_risky_consents: true,
            dry_run: false,
            guard: Guard::RefusePrivileged,
            password_style: PasswordStyle::default(),
        }
    }
}

/// What remediation did.
#[derive(Debug)]
pub struct RemediationResult {
    /// One outcome per step.
    pub report: Report,
    /// The new password, when one was set.
    pub password: Option<SecretString>,
}

/// Remediates `user` (UPN). Steps never stop at the first failure.
pub async fn remediate(
    handle: &TenantHandle,
    user: &str,
    o: &RemediationOptions,
) -> Result<RemediationResult, Error> {
    use crate::authz::Permission;
    for p in [
        &Permission::IDENTITY_USER_READWRITE,
        &Permission::EXCHANGE_MAILBOX_READWRITE,
    ] {
        handle
            .authorize("user.remediate_compromised_account", p)
            .await?;
    }
    if o.disable_onedrive_sharing {
        handle
            .authorize(
                "user.remediate_compromised_account",
                &Permission::SHAREPOINT_SITE_READWRITE,
            )
            .await?;
    }
    let actions = handle.user(user)?;
    let mut report = Report::new();
    let mut password = None;
    let dry = |what: &str| Outcome::skipped(format!("dry run: would {what}"));
    // The guard is checked once, up front: nothing is done to a privileged admin unless allowed.
    if o.guard == Guard::RefusePrivileged {
        let roles = actions.privileged_roles().await?;
        if !roles.is_empty() {
            return Err(Error::invalid_input(
                "user",
                format!("refusing to remediate a privileged administrator ({}); set guard to AllowPrivileged", roles.join(", ")),
            ));
        }
    }
    let g = Guard::AllowPrivileged;
    if o.reset_password {
        if o.dry_run {
            report.push(
                "reset password",
                dry("reset the password and require a change at next sign-in"),
            );
        } else {
            match actions
                .reset_password(None, &o.password_style, true, g)
                .await
            {
                Ok(r) => {
                    for s in r.report.steps {
                        report.push(s.name, s.outcome);
                    }
                    password = Some(r.password);
                }
                Err(e) => report.push("reset password", Outcome::failed(&e)),
            }
        }
    }
    if o.block_sign_in {
        let outcome = if o.dry_run {
            dry("block sign-in")
        } else {
            actions
                .set_sign_in(false, g)
                .await
                .unwrap_or_else(|e| Outcome::failed(&e))
        };
        report.push("block sign-in", outcome);
    }
    if o.revoke_sessions {
        let outcome = if o.dry_run {
            dry("revoke all sessions and refresh tokens")
        } else {
            Outcome::from_result(&actions.revoke_sessions().await, "sessions revoked")
        };
        report.push("revoke sessions", outcome);
    }
    if o.remove_mfa_methods {
        let outcome = if o.dry_run {
            dry("remove every MFA method but the password")
        } else {
            match actions.rerequire_mfa(g).await {
                Ok(r) => r.overall(),
                Err(e) => Outcome::failed(&e),
            }
        };
        report.push("remove MFA methods", outcome);
    }
    if o.disable_inbox_rules {
        let outcome = if o.dry_run {
            dry("disable every inbox rule")
        } else {
            match actions.disable_inbox_rules().await {
                Ok(r) => r.overall(),
                Err(e) => Outcome::failed(&e),
            }
        };
        report.push("disable inbox rules", outcome);
    }
    if o.disable_onedrive_sharing {
        let outcome = if o.dry_run {
            dry("turn off external sharing of the user's OneDrive")
        } else {
            let r = actions
                .set_onedrive_sharing(crate::sharepoint::SharingCapability::Disabled)
                .await;
            match r {
                Err(e) if e.is_not_found() => Outcome::skipped("the user has no OneDrive"),
                other => Outcome::from_result(&other, "OneDrive external sharing disabled"),
            }
        };
        report.push("disable OneDrive external sharing", outcome);
    }
    if o.remove_forwarding {
        let outcome = if o.dry_run {
            dry("remove mailbox forwarding")
        } else {
            let upn = user.to_owned();
            match handle.exchange().get_mailbox(&upn).await {
                Ok(mb)
                    if mb.forwarding_smtp_address.is_none() && mb.forwarding_address.is_none() =>
                {
                    Outcome::no_change("no mailbox forwarding was set")
                }
                Ok(_) => Outcome::from_result(
                    &actions.set_forwarding(&Forwarding::Disabled).await,
                    "forwarding removed",
                ),
                Err(e) => Outcome::failed(&e),
            }
        };
        report.push("remove forwarding", outcome);
    }
    if o.revoke_risky_consents {
        let outcome = if o.dry_run {
            dry("revoke consents to apps with high-privilege scopes")
        } else {
            revoke_risky_consents(handle, user)
                .await
                .unwrap_or_else(|e| Outcome::failed(&e))
        };
        report.push("revoke risky consents", outcome);
    }
    Ok(RemediationResult { report, password })
}

async fn revoke_risky_consents(handle: &TenantHandle, user: &str) -> Result<Outcome, Error> {
    let id = handle
        .user(user)?
        .resolve()
        .await?
        .id
        .map(|i| i.0)
        .unwrap_or_default();
    let grants = handle.graph().audit().oauth2_grants(None).await?;
    let risky: Vec<_> = grants
        .into_iter()
        .filter(|g| g.principal_id.as_deref() == Some(id.as_str()))
        .filter(|g| {
            g.scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .any(|s| {
                    crate::research::HIGH_PRIVILEGE_SCOPES
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(s))
                })
        })
        .collect();
    if risky.is_empty() {
        return Ok(Outcome::no_change("no consent with high-privilege scopes"));
    }
    let mut sub = Report::new();
    for g in risky {
        let r = handle.graph().audit().revoke_oauth2_grant(&g.id).await;
        sub.push(
            g.scope.unwrap_or_default(),
            Outcome::from_result(&r, "revoked"),
        );
    }
    Ok(sub.overall())
}
