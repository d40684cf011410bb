//! Rendering a report: JSON, a self-contained HTML page, Markdown.

use cipp_core::{Error, Report};

use super::*;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A Markdown table cell: pipes escaped, one line, and no raw HTML (Markdown renderers
/// pass HTML through).
fn md(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
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

    /// The report as Markdown: verdict, indicators, then every evidence section with its
    /// rows.
    pub fn to_markdown(&self) -> String {
        self.to_markdown_with(None)
    }

    /// The report as Markdown, with the steps of a remediation that ran after it.
    pub fn to_markdown_with(&self, remediation: Option<&Report>) -> String {
        let mut s = format!(
            "# Compromised account research: {}\n\nTenant `{}` · window {} → {} · **verdict: {:?}** (score {})\n\n## Indicators\n\n",
            md(&self.user_principal_name),
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
        if let Some(r) = remediation {
            s.push_str("\n## Remediation\n\n| Step | Result |\n|---|---|\n");
            for step in &r.steps {
                s.push_str(&format!(
                    "| {} | {} |\n",
                    md(&step.name),
                    md(&step.outcome.message())
                ));
            }
        }
        s.push_str("\n## Evidence\n");
        for t in self.evidence_tables() {
            s.push_str(&format!("\n### {} ({})\n\n", md(t.title), md(&t.status)));
            if t.rows.is_empty() {
                continue;
            }
            s.push_str(&format!("| {} |\n", t.headers.join(" | ")));
            s.push_str(&format!("|{}\n", "---|".repeat(t.headers.len())));
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
                s.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
        }
        s
    }

    /// The report as a self-contained HTML page (inline CSS, no scripts, every value
    /// escaped); each evidence section is a collapsible table of its rows.
    pub fn to_html(&self) -> String {
        self.to_html_with(None)
    }

    /// The HTML page with the steps of a remediation that ran after the research.
    pub fn to_html_with(&self, remediation: Option<&Report>) -> String {
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
        let remediation = remediation
            .map(|r| {
                let steps: String = r
                    .steps
                    .iter()
                    .map(|st| {
                        format!(
                            "<tr class=\"{}\"><td>{}</td><td>{}</td></tr>\n",
                            if st.outcome.is_failure() { "failed" } else { "ok" },
                            esc(&st.name),
                            esc(&st.outcome.message())
                        )
                    })
                    .collect();
                format!("<h2>Remediation</h2>\n<table><tr><th>Step</th><th>Result</th></tr>\n{steps}</table>\n")
            })
            .unwrap_or_default();
        let mut sections = String::new();
        for t in self.evidence_tables() {
            let open = if t.rows.is_empty() { "" } else { " open" };
            sections.push_str(&format!(
                "<details{open}><summary>{} <span class=\"status\">({})</span></summary>\n",
                esc(t.title),
                esc(&t.status)
            ));
            if !t.rows.is_empty() {
                sections.push_str("<table><tr>");
                for h in t.headers {
                    sections.push_str(&format!("<th>{}</th>", esc(h)));
                }
                sections.push_str("</tr>\n");
                for row in &t.rows {
                    sections.push_str("<tr>");
                    for c in row {
                        sections.push_str(&format!("<td>{}</td>", esc(c)));
                    }
                    sections.push_str("</tr>\n");
                }
                sections.push_str("</table>\n");
            }
            sections.push_str("</details>\n");
        }
        let verdict = format!("{:?}", self.verdict);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Research: {upn}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse;width:100%;margin:1rem 0}}\
td,th{{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}th{{background:#f0f0f0}}\
tr.high td:first-child{{color:#fff;background:#b00020}}tr.medium td:first-child{{background:#f5a623}}tr.low td:first-child{{background:#dde}}\
tr.failed td:last-child{{color:#b00020}}summary{{font-weight:bold;cursor:pointer;margin:.6rem 0}}.status{{font-weight:normal;color:#666}}\
.verdict{{font-size:1.3rem;font-weight:bold}}</style></head>\n<body>\n<h1>Compromised account research: {upn}</h1>\n\
<p>Tenant <code>{tenant}</code> · window {start} → {end}</p>\n<p class=\"verdict\">Verdict: {verdict} (score {score})</p>\n\
<h2>Indicators</h2>\n<table><tr><th>Severity</th><th>Score</th><th>Indicator</th><th>Evidence</th><th>Why it matters</th></tr>\n{rows}</table>\n\
{remediation}<h2>Evidence</h2>\n{sections}</body></html>\n",
            upn = esc(&self.user_principal_name),
            tenant = esc(self.tenant.as_str()),
            start = self.window_start.format("%Y-%m-%d %H:%M UTC"),
            end = self.window_end.format("%Y-%m-%d %H:%M UTC"),
            score = self.score,
        )
    }
}
