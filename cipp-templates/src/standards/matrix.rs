//! The compliance matrix: tenants × standards from the latest results, an alignment score
//! per tenant (and per tenant and standards template), the share of licence-missing results,
//! and a per-tenant drift report with current vs expected. As JSON, CSV, and one
//! self-contained HTML page (sortable, filterable, no external assets, every value escaped).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::results::{StandardResult, Status};
use crate::canonical::canonical_pretty;

/// One tenant's scores (for one standards template, or all of them).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    /// Tenant.
    pub tenant: String,
    /// The standards template (`None`: every result of the tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Compliant or remediated.
    pub compliant: usize,
    /// Drifted or remediation failed.
    pub drifted: usize,
    /// Failed checks.
    pub failed: usize,
    /// Licence missing.
    pub licence_missing: usize,
    /// Not applicable (left out of every score).
    pub not_applicable: usize,
    /// Compliant out of the results that were checked (compliant + drifted), in percent;
    /// 100 when nothing was checked.
    pub alignment_score: f64,
    /// Licence-missing out of every applicable result, in percent.
    pub licence_missing_share: f64,
}

impl Alignment {
    fn of<'a>(
        tenant: &str,
        source: Option<String>,
        results: impl Iterator<Item = &'a StandardResult>,
    ) -> Alignment {
        let mut a = Alignment {
            tenant: tenant.to_owned(),
            source,
            compliant: 0,
            drifted: 0,
            failed: 0,
            licence_missing: 0,
            not_applicable: 0,
            alignment_score: 100.0,
            licence_missing_share: 0.0,
        };
        for r in results {
            match r.status {
                s if s.is_compliant() => a.compliant += 1,
                s if s.is_drift() => a.drifted += 1,
                Status::LicenceMissing => a.licence_missing += 1,
                Status::NotApplicable => a.not_applicable += 1,
                _ => a.failed += 1,
            }
        }
        let checked = a.compliant + a.drifted;
        if checked > 0 {
            a.alignment_score = round1(100.0 * a.compliant as f64 / checked as f64);
        }
        let applicable = checked + a.failed + a.licence_missing;
        if applicable > 0 {
            a.licence_missing_share = round1(100.0 * a.licence_missing as f64 / applicable as f64);
        }
        a
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Tenants × standards.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrix {
    /// Tenants, sorted.
    pub tenants: Vec<String>,
    /// Columns: standard ids (with `.template` for template standards), sorted.
    pub standards: Vec<String>,
    /// Every result, by tenant then column.
    pub results: Vec<StandardResult>,
    /// Per tenant over all its results.
    pub alignment: Vec<Alignment>,
    /// Per tenant and standards template.
    pub alignment_by_template: Vec<Alignment>,
}

fn column(r: &StandardResult) -> String {
    match &r.key.template {
        Some(t) => format!("{}.{}", r.key.standard, t),
        None => r.key.standard.clone(),
    }
}

impl Matrix {
    /// The matrix of `results` (the latest per key; for several results of one key the
    /// last one wins).
    pub fn new(results: impl IntoIterator<Item = StandardResult>) -> Matrix {
        let mut by_key: BTreeMap<(String, String), StandardResult> = BTreeMap::new();
        for r in results {
            by_key.insert((r.key.tenant.to_string(), column(&r)), r);
        }
        let tenants: BTreeSet<String> = by_key.keys().map(|(t, _)| t.clone()).collect();
        let standards: BTreeSet<String> = by_key.keys().map(|(_, s)| s.clone()).collect();
        let results: Vec<StandardResult> = by_key.into_values().collect();
        let alignment = tenants
            .iter()
            .map(|t| {
                Alignment::of(
                    t,
                    None,
                    results.iter().filter(|r| r.key.tenant.as_str() == t),
                )
            })
            .collect();
        let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
        for r in &results {
            if let Some(s) = &r.source {
                pairs.insert((r.key.tenant.to_string(), s.clone()));
            }
        }
        let alignment_by_template = pairs
            .into_iter()
            .map(|(t, s)| {
                Alignment::of(
                    &t,
                    Some(s.clone()),
                    results
                        .iter()
                        .filter(|r| r.key.tenant.as_str() == t && r.source.as_deref() == Some(&s)),
                )
            })
            .collect();
        Matrix {
            tenants: tenants.into_iter().collect(),
            standards: standards.into_iter().collect(),
            results,
            alignment,
            alignment_by_template,
        }
    }

    /// The result in a cell.
    pub fn cell(&self, tenant: &str, standard: &str) -> Option<&StandardResult> {
        self.results
            .iter()
            .find(|r| r.key.tenant.as_str() == tenant && column(r) == standard)
    }

    /// A tenant's alignment over all its results.
    pub fn alignment_of(&self, tenant: &str) -> Option<&Alignment> {
        self.alignment.iter().find(|a| a.tenant == tenant)
    }

    /// The matrix as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// One line per result: `tenant,standard,template,status,differences,message`, with
    /// RFC 4180 quoting and formula-leading cells neutralised (a leading `=`, `+`, `-` or `@`
    /// gets a `'`), so it opens safely in a spreadsheet.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("tenant,standard,template,status,differences,message\r\n");
        for r in &self.results {
            let diffs = r
                .differences
                .iter()
                .map(|d| d.field.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let msg = r
                .message
                .clone()
                .or_else(|| r.error.as_ref().map(|e| e.message.clone()))
                .unwrap_or_default();
            let cells = [
                r.key.tenant.to_string(),
                r.key.standard.clone(),
                r.key.template.clone().unwrap_or_default(),
                r.status.label().to_owned(),
                diffs,
                msg,
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// One tenant's drift: each drifted (or failed remediation) standard with the differing
    /// fields, current vs expected, as Markdown-free plain text blocks in JSON.
    pub fn drift_report(&self, tenant: &str) -> Vec<&StandardResult> {
        self.results
            .iter()
            .filter(|r| r.key.tenant.as_str() == tenant && r.status.is_drift())
            .collect()
    }

    /// A self-contained HTML page: scores per tenant, the matrix (click a header to sort,
    /// type to filter), and each tenant's drift with current vs expected.
    pub fn to_html(&self, title: &str) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{}</style></head><body><h1>{}</h1>",
            escape(title),
            CSS,
            escape(title)
        );
        h.push_str("<h2>Alignment</h2><table class=\"sortable\"><thead><tr><th>Tenant</th><th>Alignment %</th><th>Compliant</th><th>Drifted</th><th>Failed</th><th>Licence missing</th><th>Licence missing %</th></tr></thead><tbody>");
        for a in &self.alignment {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.tenant),
                a.alignment_score,
                a.compliant,
                a.drifted,
                a.failed,
                a.licence_missing,
                a.licence_missing_share
            );
        }
        h.push_str("</tbody></table>");
        h.push_str("<h2>Matrix</h2><input id=\"filter\" placeholder=\"Filter tenants and standards\" aria-label=\"filter\"><table id=\"matrix\" class=\"sortable\"><thead><tr><th>Tenant</th>");
        for s in &self.standards {
            let _ = write!(
                h,
                "<th>{}</th>",
                escape(s.strip_prefix("standards.").unwrap_or(s))
            );
        }
        h.push_str("</tr></thead><tbody>");
        for t in &self.tenants {
            let _ = write!(h, "<tr><td>{}</td>", escape(t));
            for s in &self.standards {
                match self.cell(t, s) {
                    Some(r) => {
                        let tip = r
                            .message
                            .clone()
                            .or_else(|| r.error.as_ref().map(|e| e.message.clone()))
                            .unwrap_or_default();
                        let _ = write!(
                            h,
                            "<td class=\"{}\" title=\"{}\">{}</td>",
                            css_class(r.status),
                            escape(&tip),
                            escape(r.status.label())
                        );
                    }
                    None => h.push_str("<td class=\"none\">—</td>"),
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table><h2>Drift</h2>");
        for t in &self.tenants {
            let drift = self.drift_report(t);
            if drift.is_empty() {
                continue;
            }
            let _ = write!(
                h,
                "<details open><summary>{} — {} drifted</summary><table><thead><tr><th>Standard</th><th>Field</th><th>Current</th><th>Expected</th></tr></thead><tbody>",
                escape(t),
                drift.len()
            );
            for r in drift {
                for d in &r.differences {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
                        escape(&column(r)),
                        escape(&d.field),
                        escape(canonical_pretty(&d.current).trim_end()),
                        escape(canonical_pretty(&d.expected).trim_end())
                    );
                }
            }
            h.push_str("</tbody></table></details>");
        }
        h.push_str("<script>");
        h.push_str(JS);
        h.push_str("</script></body></html>");
        h
    }
}

fn css_class(s: Status) -> &'static str {
    match s {
        Status::Compliant | Status::Remediated => "ok",
        Status::Drifted | Status::RemediationFailed => "drift",
        Status::LicenceMissing | Status::NotApplicable => "na",
        _ => "fail",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;font-size:.9em}th{background:#f3f3f3;cursor:pointer}td.ok{background:#d8f5d8}td.drift{background:#fde2c8}td.fail{background:#f8d0d0}td.na{background:#eee;color:#666}pre{margin:0;white-space:pre-wrap}#filter{margin:.5em 0;padding:.3em;width:20em}";

const JS: &str = "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';Array.from(b.rows).sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,n=parseFloat(a)-parseFloat(c);return (isNaN(n)?a.localeCompare(c):n)*(asc?1:-1)}).forEach(function(r){b.appendChild(r)})})});var f=document.getElementById('filter');if(f){f.addEventListener('input',function(){var q=f.value.toLowerCase(),t=document.getElementById('matrix');Array.from(t.tBodies[0].rows).forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none'})})}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::compare::FieldDiff;
    use crate::standards::model::Mode;
    use crate::standards::results::ResultKey;
    use chrono::TimeZone;
    use cipp_core::TenantId;
    use serde_json::json;

    fn r(tenant: &str, std: &str, status: Status) -> StandardResult {
        StandardResult {
            key: ResultKey {
                tenant: TenantId::parse(tenant).unwrap(),
                standard: format!("standards.{std}"),
                template: None,
            },
            source: Some("baseline".into()),
            mode: Mode::REPORT,
            status,
            current: None,
            expected: None,
            differences: if status.is_drift() {
                vec![FieldDiff {
                    field: "<b>x</b>".into(),
                    current: json!("=cmd|' /C calc'!A0"),
                    expected: json!(false),
                }]
            } else {
                Vec::new()
            },
            message: None,
            error: None,
            checked_at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn scores_leave_out_licence_missing_and_not_applicable() {
        let m = Matrix::new(vec![
            r("a.onmicrosoft.com", "A", Status::Compliant),
            r("a.onmicrosoft.com", "B", Status::Drifted),
            r("a.onmicrosoft.com", "C", Status::Remediated),
            r("a.onmicrosoft.com", "D", Status::LicenceMissing),
            r("a.onmicrosoft.com", "E", Status::NotApplicable),
        ]);
        let a = m.alignment_of("a.onmicrosoft.com").unwrap();
        assert_eq!((a.compliant, a.drifted, a.licence_missing), (2, 1, 1));
        assert_eq!(a.alignment_score, 66.7);
        assert_eq!(a.licence_missing_share, 25.0);
        assert_eq!(m.alignment_by_template.len(), 1);
    }

    #[test]
    fn html_and_csv_are_escaped() {
        let m = Matrix::new(vec![r("a.onmicrosoft.com", "B", Status::Drifted)]);
        let html = m.to_html("<script>alert(1)</script>");
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        let csv = m.to_csv();
        assert!(csv.contains("standards.B,,Drifted,<b>x</b>,"));
        let m = Matrix::new(vec![{
            let mut x = r("a.onmicrosoft.com", "B", Status::Failed);
            x.message = Some("=HYPERLINK(\"evil\")".into());
            x
        }]);
        assert!(m.to_csv().contains("\"'=HYPERLINK(\"\"evil\"\")\""));
    }
}
