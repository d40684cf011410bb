//! Alert subjects and comments with variables, as CIPP writes them: `%tenantname%`,
//! `%tenantid%`, `%resultcount%`, `%taskname%` (case-insensitive).
//!
//! A variable is `%` + letters, digits or `_` + `%`; any other `%` is text ("50%").
//!
//! ```
//! use cipp_scheduler::notify::template::{render, validate, Vars};
//! validate("%resultcount% findings in %tenantname%").unwrap();
//! assert!(validate("hello %user%").is_err());
//! let vars = Vars { tenant_name: "contoso.com", tenant_id: "contoso.com", result_count: 3, task_name: "MFA" };
//! assert_eq!(render("%ResultCount% in %tenantname% (50% off)", &vars), "3 in contoso.com (50% off)");
//! ```

use crate::SchedulerError;

/// The variables a subject or comment may use.
pub const VARIABLES: [&str; 4] = ["tenantname", "tenantid", "resultcount", "taskname"];

/// The values of the variables for one event.
#[derive(Clone, Copy, Debug)]
pub struct Vars<'a> {
    /// `%tenantname%`: the tenant (the tenants, comma-separated, of a per-run event).
    pub tenant_name: &'a str,
    /// `%tenantid%`: the tenant id as the resolver names it (the same list for a run).
    pub tenant_id: &'a str,
    /// `%resultcount%`: the findings the event reports.
    pub result_count: usize,
    /// `%taskname%`: the task's name.
    pub task_name: &'a str,
}

/// The pieces of a template: text, and variable names (lower case).
enum Piece<'a> {
    Text(&'a str),
    Var(String),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('%') {
            out.push(Piece::Text(&rest[..start]));
            out.push(Piece::Var(after[..name_len].to_ascii_lowercase()));
            rest = &after[name_len + 1..];
        } else {
            out.push(Piece::Text(&rest[..=start]));
            rest = after;
        }
    }
    out.push(Piece::Text(rest));
    out
}

/// Refuses a template that uses an unknown variable, naming it and the known ones.
pub fn validate(template: &str) -> Result<(), SchedulerError> {
    for p in pieces(template) {
        if let Piece::Var(name) = p {
            if !VARIABLES.contains(&name.as_str()) {
                return Err(SchedulerError::Invalid(format!(
                    "unknown variable `%{name}%` in an alert subject or comment; use one of {}",
                    VARIABLES.map(|v| format!("%{v}%")).join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The template with its variables replaced (an unknown one, refused by [`validate`]
/// when the task was added, is left as written).
pub fn render(template: &str, vars: &Vars<'_>) -> String {
    pieces(template)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_owned(),
            Piece::Var(name) => match name.as_str() {
                "tenantname" => vars.tenant_name.to_owned(),
                "tenantid" => vars.tenant_id.to_owned(),
                "resultcount" => vars.result_count.to_string(),
                "taskname" => vars.task_name.to_owned(),
                other => format!("%{other}%"),
            },
        })
        .collect()
}
