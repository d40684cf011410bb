//! The evidence of a report as tables: one per section, its rows in the order an analyst
//! reads them (sign-ins oldest first, so travel between places reads top to bottom).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;

/// One section of evidence as a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table {
    /// The section's title.
    pub title: &'static str,
    /// "N item(s)", or why it was not read.
    pub status: String,
    /// Column headers.
    pub headers: &'static [&'static str],
    /// Rows (plain text; the renderers escape).
    pub rows: Vec<Vec<String>>,
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn time(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn list(v: &Option<Vec<String>>) -> String {
    v.as_deref().map(|v| v.join(", ")).unwrap_or_default()
}

fn table<T>(
    title: &'static str,
    headers: &'static [&'static str],
    section: &Section<Vec<T>>,
    row: impl Fn(&T) -> Vec<String>,
) -> Table {
    let (status, rows) = match (&section.data, &section.error) {
        (Some(items), _) => (
            format!("{} item(s)", items.len()),
            items.iter().map(row).collect(),
        ),
        (None, Some(e)) => (format!("not read: {}", e.message), Vec::new()),
        (None, None) => ("not read".to_owned(), Vec::new()),
    };
    Table {
        title,
        status,
        headers,
        rows,
    }
}

fn one<T>(
    title: &'static str,
    headers: &'static [&'static str],
    section: &Section<T>,
    row: impl Fn(&T) -> Vec<String>,
) -> Table {
    let as_list = Section {
        data: section.data.as_ref().map(|d| vec![row(d)]),
        error: section.error.clone(),
    };
    table(title, headers, &as_list, Clone::clone)
}

const SIGN_IN: &[&str] = &[
    "Time",
    "User",
    "Location",
    "IP address",
    "App",
    "Client",
    "Result",
];

fn sign_in_rows(section: &Section<Vec<SignIn>>) -> Section<Vec<Vec<String>>> {
    Section {
        data: section.data.as_ref().map(|items| {
            let mut sorted: Vec<&SignIn> = items.iter().collect();
            sorted.sort_by_key(|s| s.created_date_time);
            sorted
                .into_iter()
                .map(|s| {
                    let place = s
                        .location
                        .as_ref()
                        .map(|l| {
                            [&l.city, &l.state, &l.country_or_region]
                                .into_iter()
                                .flatten()
                                .filter(|p| !p.is_empty())
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    let result = match s.status.as_ref().and_then(|st| st.error_code) {
                        None | Some(0) => "success".to_owned(),
                        Some(code) => format!(
                            "failed {code}: {}",
                            s.status
                                .as_ref()
                                .and_then(|st| st.failure_reason.clone())
                                .unwrap_or_default()
                        ),
                    };
                    vec![
                        time(&s.created_date_time),
                        opt(&s.user_principal_name),
                        place,
                        opt(&s.ip_address),
                        opt(&s.app_display_name),
                        opt(&s.client_app_used),
                        result,
                    ]
                })
                .collect()
        }),
        error: section.error.clone(),
    }
}

/// An audit record's `AuditData` fields worth showing: client IP, object and parameters.
fn audit_row(r: &UnifiedAuditRecord) -> Vec<String> {
    let data: Value = r
        .audit_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let field = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let parameters = data
        .get("Parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    Some(format!(
                        "{}={}",
                        p.get("Name")?.as_str()?,
                        p.get("Value").and_then(Value::as_str).unwrap_or("")
                    ))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    vec![
        opt(&r.creation_date),
        opt(&r.operations),
        opt(&r.user_ids),
        field("ObjectId"),
        field("ClientIP"),
        parameters,
    ]
}

const AUDIT: &[&str] = &[
    "Time",
    "Operation",
    "By",
    "Object",
    "Client IP",
    "Parameters",
];

fn rule_row(f: &RuleFinding) -> Vec<String> {
    let r = &f.rule;
    let mut actions = Vec::new();
    for (what, to) in [
        ("forward to", &r.forward_to),
        ("forward as attachment to", &r.forward_as_attachment_to),
        ("redirect to", &r.redirect_to),
    ] {
        let to = list(to);
        if !to.is_empty() {
            actions.push(format!("{what} {to}"));
        }
    }
    if let Some(folder) = &r.move_to_folder {
        actions.push(format!("move to {folder}"));
    }
    if r.delete_message == Some(true) {
        actions.push("delete".to_owned());
    }
    if r.mark_as_read == Some(true) {
        actions.push("mark as read".to_owned());
    }
    let conditions = [
        ("From", "from"),
        ("SubjectContainsWords", "subject contains"),
        ("BodyContainsWords", "body contains"),
        ("SubjectOrBodyContainsWords", "subject or body contains"),
        ("FromAddressContainsWords", "sender contains"),
        ("SentTo", "sent to"),
    ]
    .into_iter()
    .filter_map(|(key, label)| {
        let v = r.extra.get(key)?;
        let text = match v {
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => return None,
        };
        Some(format!("{label} {text}"))
    })
    .collect::<Vec<_>>();
    vec![
        opt(&r.name),
        match r.enabled {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "",
        }
        .to_owned(),
        if conditions.is_empty() {
            "every message".to_owned()
        } else {
            conditions.join("; ")
        },
        actions.join("; "),
        if f.recently_changed { "yes" } else { "" }.to_owned(),
    ]
}

fn method_row(m: &AuthMethod) -> Vec<String> {
    let detail = ["displayName", "phoneNumber", "emailAddress", "model"]
        .into_iter()
        .filter_map(|k| m.extra.get(k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        format!("{:?}", m.kind()),
        detail,
        time(&m.created_date_time),
    ]
}

impl ResearchReport {
    /// Every evidence section as a table, in the report's order.
    pub(crate) fn evidence_tables(&self) -> Vec<Table> {
        vec![
            one(
                "Audit log",
                &["Unified audit log"],
                &self.audit_log_enabled,
                |on| {
                    vec![if *on {
                        "on"
                    } else {
                        "OFF: audit sections are empty"
                    }
                    .to_owned()]
                },
            ),
            table(
                "Sign-ins of the user (oldest first)",
                SIGN_IN,
                &sign_in_rows(&self.user_sign_ins),
                Clone::clone,
            ),
            table(
                "Inbox rules",
                &[
                    "Name",
                    "State",
                    "Conditions",
                    "Actions",
                    "Changed in window",
                ],
                &self.inbox_rules,
                rule_row,
            ),
            table(
                "Inbox rule changes",
                AUDIT,
                &self.inbox_rule_changes,
                audit_row,
            ),
            one(
                "Mailbox forwarding",
                &[
                    "Forwarding address",
                    "Forwarding SMTP address",
                    "Keep a copy",
                ],
                &self.mailbox,
                |m| {
                    vec![
                        opt(&m.forwarding_address),
                        opt(&m.forwarding_smtp_address),
                        match m.deliver_to_mailbox_and_forward {
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "",
                        }
                        .to_owned(),
                    ]
                },
            ),
            table(
                "Mailbox permission changes",
                AUDIT,
                &self.mailbox_permission_changes,
                audit_row,
            ),
            table(
                "Sent messages",
                &["Received", "To", "Subject", "Status", "From IP"],
                &self.sent_messages,
                |m| {
                    vec![
                        opt(&m.received),
                        opt(&m.recipient_address),
                        opt(&m.subject),
                        opt(&m.status),
                        opt(&m.from_ip),
                    ]
                },
            ),
            table(
                "MFA methods",
                &["Method", "Detail", "Registered"],
                &self.mfa_methods,
                method_row,
            ),
            table(
                "Consent grants",
                &["Client (service principal)", "Consent", "Scopes"],
                &self.consent_grants,
                |g| vec![opt(&g.client_id), opt(&g.consent_type), opt(&g.scope)],
            ),
            table(
                "New service principals",
                &["Name", "App id", "Publisher", "Created"],
                &self.new_service_principals,
                |s| {
                    vec![
                        opt(&s.display_name),
                        opt(&s.app_id),
                        opt(&s.publisher_name),
                        time(&s.created_date_time),
                    ]
                },
            ),
            table(
                "New users",
                &["Name", "UPN", "Created"],
                &self.new_users,
                |u| {
                    vec![
                        opt(&u.display_name),
                        opt(&u.user_principal_name),
                        time(&u.created_date_time),
                    ]
                },
            ),
            table(
                "Password changes",
                &["Name", "UPN", "Changed"],
                &self.password_changes,
                |u| {
                    vec![
                        opt(&u.display_name),
                        opt(&u.user_principal_name),
                        u.extra
                            .get("lastPasswordChangeDateTime")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ]
                },
            ),
            table(
                "Mobile devices",
                &["Name", "Model", "OS", "Access", "First sync"],
                &self.mobile_devices,
                |d| {
                    vec![
                        opt(&d.friendly_name),
                        opt(&d.device_model),
                        opt(&d.device_os),
                        opt(&d.device_access_state),
                        opt(&d.first_sync_time),
                    ]
                },
            ),
            table(
                "Intune devices",
                &["Name", "OS", "Compliance", "Enrolled", "Last sync"],
                &self.intune_devices,
                |d| {
                    vec![
                        opt(&d.device_name),
                        opt(&d.operating_system),
                        opt(&d.compliance_state),
                        time(&d.enrolled_date_time),
                        time(&d.last_sync_date_time),
                    ]
                },
            ),
            table(
                "Latest sign-ins in the tenant (oldest first)",
                SIGN_IN,
                &sign_in_rows(&self.tenant_sign_ins),
                Clone::clone,
            ),
        ]
    }
}
