//! Gathering the evidence: the user first, then every section concurrently.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use cipp_core::Error;
use cipp_graph::audit::SignInFilter;
use cipp_graph::odata::Query;
use cipp_graph::users::UserRef;
use futures::{StreamExt, TryStreamExt};

use super::*;
use crate::client::TenantHandle;

pub(super) fn in_window(t: Option<DateTime<Utc>>, start: DateTime<Utc>) -> bool {
    t.is_some_and(|t| t >= start)
}

fn ts(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(cipp_graph::model::parse_timestamp)
}

/// Runs the research on `user` (UPN).
pub async fn research(
    handle: &TenantHandle,
    user: &str,
    options: &ResearchOptions,
) -> Result<ResearchReport, Error> {
    use crate::authz::Permission;
    for p in [
        &Permission::IDENTITY_USER_READ,
        &Permission::EXCHANGE_MAILBOX_READ,
    ] {
        handle
            .authorize("user.research_compromised_account", p)
            .await?;
    }
    let t = handle.id().clone();
    let graph = handle.graph();
    let exo = handle.exchange();
    let now = handle.cipp().clock().now();
    if options.window <= Duration::zero() || options.window > Duration::days(MAX_WINDOW_DAYS) {
        return Err(Error::invalid_input(
            "window",
            format!(
                "the research window must be between 1 second and {MAX_WINDOW_DAYS} days (the unified audit log keeps at most 180 days)"
            ),
        ));
    }
    let start = now.checked_sub_signed(options.window).ok_or_else(|| {
        Error::invalid_input("window", "the research window reaches before the year 0")
    })?;
    let uref = UserRef::parse(user)?;
    // The one dependency: the user's id and UPN.
    let u = graph
        .users()
        .get(&uref)
        .select(["id", "userPrincipalName", "usageLocation", "displayName"])
        .await?;
    let uid = u.id.clone().map(|i| i.0).unwrap_or_default();
    let upn = u
        .user_principal_name
        .clone()
        .unwrap_or_else(|| user.to_owned());
    let id_ref = UserRef::Id(cipp_graph::model::UserId(uid.clone()));

    let audit_enabled = async {
        exo.admin_audit_log_config()
            .await
            .map(|c| c.unified_audit_log_ingestion_enabled.unwrap_or(false))
    };
    let perm_changes = exo.search_unified_audit_log(
        start,
        now,
        &[
            "Remove-MailboxPermission",
            "Add-MailboxPermission",
            "UpdateCalendarDelegation",
            "AddFolderPermissions",
        ],
        &[],
        options.max_audit_records,
    );
    let user_ids = [upn.as_str()];
    let rule_changes = exo.search_unified_audit_log(
        start,
        now,
        &[
            "New-InboxRule",
            "Set-InboxRule",
            "Remove-InboxRule",
            "UpdateInboxRules",
        ],
        &user_ids,
        options.max_audit_records,
    );
    let rules = exo.inbox_rules(&upn);
    let mailbox = exo.get_mailbox(&upn);
    let sent = exo.message_trace(&upn, start, now);
    let user_sign_ins = graph
        .audit()
        .sign_ins(&SignInFilter {
            user_id: Some(uid.clone()),
            since: Some(start),
            ..Default::default()
        })
        .collect();
    let tenant_sign_ins = async {
        graph
            .audit()
            .sign_ins(&SignInFilter {
                // Graph pages sign-ins at most 1,000 at a time.
                top: Some(options.tenant_sign_ins.clamp(1, 1000) as u32),
                ..Default::default()
            })
            .stream()
            .into_inner()
            .take(options.tenant_sign_ins)
            .try_collect::<Vec<_>>()
            .await
    };
    let devices = exo.mobile_devices(&upn);
    let users_q = Query::new()
        .select([
            "id",
            "displayName",
            "userPrincipalName",
            "createdDateTime",
            "lastPasswordChangeDateTime",
        ])
        .top(999);
    let all_users = graph.users().list().query(users_q).collect();
    let methods = graph.auth_methods().list(&id_ref).collect();
    let sps = graph.audit().service_principals_since(start).collect();
    let grants = graph.audit().oauth2_grants(None).collect();
    let intune = graph.audit().managed_devices_of(&upn).collect();
    let domains = graph.directory().domains().collect();

    let (
        (audit_enabled, perm_changes, rule_changes, rules, mailbox),
        (sent, user_sign_ins, tenant_sign_ins, devices, all_users),
        (methods, sps, grants, intune, domains),
    ) = futures::join!(
        async { futures::join!(audit_enabled, perm_changes, rule_changes, rules, mailbox) },
        async { futures::join!(sent, user_sign_ins, tenant_sign_ins, devices, all_users) },
        async { futures::join!(methods, sps, grants, intune, domains) },
    );

    let audit_on = matches!(audit_enabled, Ok(true));
    let disabled = || {
        Error::Config(
            "the unified audit log is disabled in this tenant: audit-based sections are empty"
                .into(),
        )
    };
    let rule_changes = if audit_on {
        rule_changes
    } else {
        Err(disabled())
    };
    let perm_changes = if audit_on {
        perm_changes
    } else {
        Err(disabled())
    };
    let changed_rule_names: BTreeSet<String> = rule_changes
        .as_ref()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.audit_data_json())
                .flat_map(|d| {
                    d["Parameters"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|p| p["Name"] == "Name" || p["Name"] == "Identity")
                        .filter_map(|p| {
                            p["Value"]
                                .as_str()
                                .map(|v| v.rsplit('\\').next().unwrap_or(v).to_owned())
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    let rules = rules.map(|rs| {
        rs.into_iter()
            .map(|r| {
                let recently_changed = r
                    .name
                    .as_ref()
                    .is_some_and(|n| changed_rule_names.contains(n));
                RuleFinding {
                    rule: r,
                    recently_changed,
                }
            })
            .collect::<Vec<_>>()
    });
    let (new_users, password_changes) = match all_users {
        Ok(us) => {
            let new: Vec<User> = us
                .iter()
                .filter(|u| in_window(u.created_date_time, start))
                .cloned()
                .collect();
            let pw: Vec<User> = us
                .iter()
                .filter(|u| {
                    in_window(
                        u.extra.get("lastPasswordChangeDateTime").and_then(ts),
                        start,
                    )
                })
                .cloned()
                .collect();
            (Ok(new), Ok(pw))
        }
        Err(e) => (Err(e.clone()), Err(e)),
    };
    let methods = methods.map(|ms| {
        ms.into_iter()
            .filter(|m| m.kind() != AuthMethodKind::Password)
            .collect::<Vec<_>>()
    });
    let grants = grants.map(|gs| {
        gs.into_iter()
            .filter(|g| {
                g.principal_id.as_deref() == Some(uid.as_str())
                    || g.consent_type.as_deref() == Some("AllPrincipals")
            })
            .collect::<Vec<_>>()
    });
    let tenant_domains: Vec<String> = domains
        .map(|ds| ds.into_iter().map(|d| d.id.to_ascii_lowercase()).collect())
        .unwrap_or_default();

    let mut report = ResearchReport {
        schema_version: 1,
        tenant: t,
        user_principal_name: upn,
        user_id: uid,
        window_start: start,
        window_end: now,
        audit_log_enabled: Section::from(audit_enabled),
        mailbox_permission_changes: Section::from(perm_changes),
        inbox_rule_changes: Section::from(rule_changes),
        inbox_rules: Section::from(rules),
        mailbox: Section::from(mailbox),
        sent_messages: Section::from(sent),
        user_sign_ins: Section::from(user_sign_ins),
        tenant_sign_ins: Section::from(tenant_sign_ins),
        mobile_devices: Section::from(devices),
        new_users: Section::from(new_users),
        password_changes: Section::from(password_changes),
        mfa_methods: Section::from(methods),
        new_service_principals: Section::from(sps),
        consent_grants: Section::from(grants),
        intune_devices: Section::from(intune),
        indicators: Vec::new(),
        score: 0,
        verdict: Verdict::NoIndicators,
    };
    super::score::score(&mut report, &tenant_domains, u.usage_location.as_deref());
    Ok(report)
}
