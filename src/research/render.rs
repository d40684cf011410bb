//! Rendering a report: JSON, a self-contained HTML page, Markdown.

use cipp_core::Error;

use super::*;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl ResearchReport {
    /// Indicators that are current state (what remediation can undo).
    pub fn active_indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().filter(|i| i.active)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise the report: {e}")))
    }

    fn section_status<T>(
        name: &str,
        s: &Section<T>,
        len: impl Fn(&T) -> usize,
    ) -> (String, String) {
        match (&s.data, &s.error) {
            (Some(d), _) => (name.to_owned(), format!("{} item(s)", len(d))),
            (None, Some(e)) => (name.to_owned(), format!("not read: {}", e.message)),
            _ => (name.to_owned(), "not read".to_owned()),
        }
    }

    fn sections(&self) -> Vec<(String, String)> {
        vec![
            Self::section_status("Audit log enabled", &self.audit_log_enabled, |b| {
                usize::from(*b)
            }),
            Self::section_status(
                "Mailbox permission changes",
                &self.mailbox_permission_changes,
                Vec::len,
            ),
            Self::section_status("Inbox rule changes", &self.inbox_rule_changes, Vec::len),
            Self::section_status("Inbox rules", &self.inbox_rules, Vec::len),
            Self::section_status("Mailbox", &self.mailbox, |_| 1),
            Self::section_status("Sent messages", &self.sent_messages, Vec::len),
            Self::section_status("User sign-ins", &self.user_sign_ins, Vec::len),
            Self::section_status("Tenant sign-ins", &self.tenant_sign_ins, Vec::len),
            Self::section_status("Mobile devices", &self.mobile_devices, Vec::len),
            Self::section_status("New users", &self.new_users, Vec::len),
            Self::section_status("Password changes", &self.password_changes, Vec::len),
            Self::section_status("MFA methods", &self.mfa_methods, Vec::len),
            Self::section_status(
                "New service principals",
                &self.new_service_principals,
                Vec::len,
            ),
            Self::section_status("Consent grants", &self.consent_grants, Vec::len),
            Self::section_status("Intune devices", &self.intune_devices, Vec::len),
        ]
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Compromised account research: {}\n\nTenant `{}` · window {} → {} · **verdict: {:?}** (score {})\n\n## Indicators\n\n",
            self.user_principal_name,
            self.tenant,
            self.window_start.format("%Y-%m-%d %H:%M UTC"),
            self.window_end.format("%Y-%m-%d %H:%M UTC"),
            self.verdict,
            self.score
        );
        if self.indicators.is_empty() {
            s.push_str("No indicators found.\n");
        } else {
            s.push_str("| Severity | Score | Indicator | Evidence | Current or history | Why it matters |\n|---|---|---|---|---|---|\n");
            for i in &self.indicators {
                s.push_str(&format!(
                    "| {:?} | {} | {} | {} | {} | {} |\n",
                    i.severity,
                    i.score,
                    md(&i.title),
                    md(&i.evidence),
                    if i.active { "current" } else { "history" },
                    md(&i.explanation)
                ));
            }
        }
        s.push_str("\n## Evidence gathered\n\n| Section | Status |\n|---|---|\n");
        for (n, st) in self.sections() {
            s.push_str(&format!("| {} | {} |\n", md(&n), md(&st)));
        }
        s
    }

    /// The report as a self-contained HTML page (inline CSS, no scripts, every value escaped).
    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for i in &self.indicators {
            rows.push_str(&format!(
                "<tr class=\"{sev}\"><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                i.score,
                esc(&i.title),
                esc(&i.evidence),
                esc(&i.explanation),
                sev = format!("{:?}", i.severity).to_lowercase()
            ));
        }
        if rows.is_empty() {
            rows.push_str("<tr><td colspan=\"5\">No indicators found.</td></tr>");
        }
        let mut sections = String::new();
        for (n, st) in self.sections() {
            sections.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(&n),
                esc(&st)
            ));
        }
        let verdict = format!("{:?}", self.verdict);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Research: {upn}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse;width:100%;margin:1rem 0}}\
td,th{{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}th{{background:#f0f0f0}}\
tr.high td:first-child{{color:#fff;background:#b00020}}tr.medium td:first-child{{background:#f5a623}}tr.low td:first-child{{background:#dde}}\
.verdict{{font-size:1.3rem;font-weight:bold}}</style></head>\n<body>\n<h1>Compromised account research: {upn}</h1>\n\
<p>Tenant <code>{tenant}</code> · window {start} → {end}</p>\n<p class=\"verdict\">Verdict: {verdict} (score {score})</p>\n\
<h2>Indicators</h2>\n<table><tr><th>Severity</th><th>Score</th><th>Indicator</th><th>Evidence</th><th>Why it matters</th></tr>\n{rows}</table>\n\
<h2>Evidence gathered</h2>\n<table><tr><th>Section</th><th>Status</th></tr>\n{sections}</table>\n</body></html>\n",
            upn = esc(&self.user_principal_name),
            tenant = esc(self.tenant.as_str()),
            start = self.window_start.format("%Y-%m-%d %H:%M UTC"),
            end = self.window_end.format("%Y-%m-%d %H:%M UTC"),
            score = self.score,
        )
    }
}
