//! One outcome type for multi-step and multi-tenant work.
//!
//! Every upper layer (user actions, remediation, templates, standards, scheduled tasks)
//! reports through [`Outcome`] and [`Report`], so nothing can say "succeeded" for work
//! that failed or did nothing.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How one piece of work ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Outcome {
    /// The work was done.
    Succeeded {
        /// What was done.
        message: String,
    },
    /// The work was done, but something needs the caller's attention (for example a
    /// sign-in change on a directory-synced user that the next sync will overwrite).
    Warning {
        /// What was done and what to watch.
        message: String,
    },
    /// Nothing needed doing: the target was already in the desired state.
    NoChange {
        /// Why nothing was needed.
        message: String,
    },
    /// Some of the work was done and some failed.
    Partial {
        /// What was done and what was not.
        message: String,
        /// The failures, one line each.
        failures: Vec<String>,
    },
    /// The work failed.
    Failed {
        /// The error, as the user should read it.
        error: ErrorSummary,
    },
    /// The work was not attempted.
    Skipped {
        /// Why it was not attempted.
        reason: String,
    },
}

impl Outcome {
    /// A success.
    pub fn succeeded(message: impl Into<String>) -> Self {
        Outcome::Succeeded {
            message: message.into(),
        }
    }

    /// Done, with a warning.
    pub fn warning(message: impl Into<String>) -> Self {
        Outcome::Warning {
            message: message.into(),
        }
    }

    /// Nothing needed doing.
    pub fn no_change(message: impl Into<String>) -> Self {
        Outcome::NoChange {
            message: message.into(),
        }
    }

    /// A failure from an error.
    pub fn failed(error: &Error) -> Self {
        Outcome::Failed {
            error: ErrorSummary::from(error),
        }
    }

    /// A skipped step.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Outcome::Skipped {
            reason: reason.into(),
        }
    }

    /// `Succeeded` with `message` when `result` is `Ok`, `Failed` otherwise.
    pub fn from_result<T>(result: &Result<T, Error>, message: impl Into<String>) -> Self {
        match result {
            Ok(_) => Outcome::succeeded(message),
            Err(e) => Outcome::failed(e),
        }
    }

    /// Whether the work is done (succeeded or nothing was needed).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Outcome::Succeeded { .. } | Outcome::Warning { .. } | Outcome::NoChange { .. }
        )
    }

    /// Whether the work (or part of it) failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Partial { .. })
    }

    /// A one-line description.
    pub fn message(&self) -> String {
        match self {
            Outcome::Succeeded { message }
            | Outcome::Warning { message }
            | Outcome::NoChange { message } => message.clone(),
            Outcome::Partial { message, .. } => message.clone(),
            Outcome::Failed { error } => error.message.clone(),
            Outcome::Skipped { reason } => reason.clone(),
        }
    }
}

/// A serialisable summary of an [`Error`], kept in outcomes and stored results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSummary {
    /// The full message, including what to do.
    pub message: String,
    /// HTTP status, when the service answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The service error code or AADSTS code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The service request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Whether trying again later may help.
    pub retryable: bool,
}

impl ErrorSummary {
    /// A summary of a failure that is not a service's error (bad parameters, a missing
    /// command): the message only, not retryable.
    pub fn from_message(message: impl Into<String>) -> Self {
        ErrorSummary {
            message: message.into(),
            status: None,
            code: None,
            request_id: None,
            retryable: false,
        }
    }
}

impl std::fmt::Display for ErrorSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&Error> for ErrorSummary {
    fn from(e: &Error) -> Self {
        let code = match e {
            Error::Api(a) if !a.code.is_empty() => Some(a.code.clone()),
            Error::Auth(a) => a.codes.first().map(|c| format!("AADSTS{c}")),
            _ => None,
        };
        ErrorSummary {
            message: e.to_string(),
            status: e.status().map(|s| s.as_u16()),
            code,
            request_id: e.request_id().map(str::to_owned),
            retryable: e.is_retryable(),
        }
    }
}

/// Named outcomes of the steps of one piece of work, with an honest overall status.
///
/// ```
/// use cipp_core::{Outcome, Report};
/// let mut r = Report::new();
/// r.push("block sign-in", Outcome::succeeded("blocked"));
/// r.push("revoke sessions", Outcome::skipped("not requested"));
/// assert!(r.overall().is_ok());
/// r.push("reset password", Outcome::Failed { error: cipp_core::ErrorSummary {
///     message: "denied".into(), status: Some(403), code: None, request_id: None, retryable: false } });
/// assert!(matches!(r.overall(), Outcome::Partial { .. }));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The steps in the order they were reported.
    pub steps: Vec<Step>,
}

/// One named step of a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Report::default()
    }

    /// Adds a step.
    pub fn push(&mut self, name: impl Into<String>, outcome: Outcome) {
        self.steps.push(Step {
            name: name.into(),
            outcome,
        });
    }

    /// The overall outcome, derived from the steps:
    /// all done → `Succeeded` (or `NoChange` when nothing changed); some failed → `Partial`;
    /// every attempted step failed → `Failed`; nothing attempted → `Skipped`.
    pub fn overall(&self) -> Outcome {
        let attempted: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| !matches!(s.outcome, Outcome::Skipped { .. }))
            .collect();
        if attempted.is_empty() {
            return Outcome::skipped("nothing was attempted");
        }
        let failures: Vec<String> = attempted
            .iter()
            .filter(|s| s.outcome.is_failure())
            .map(|s| format!("{}: {}", s.name, s.outcome.message()))
            .collect();
        let fully_failed = attempted
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Failed { .. }))
            .count();
        if fully_failed == attempted.len() {
            let first = attempted.iter().find_map(|s| match &s.outcome {
                Outcome::Failed { error } => Some(error.clone()),
                _ => None,
            });
            if let Some(mut error) = first {
                if attempted.len() > 1 {
                    error.message = format!(
                        "all {} steps failed; first: {}",
                        attempted.len(),
                        error.message
                    );
                }
                return Outcome::Failed { error };
            }
        }
        if !failures.is_empty() {
            return Outcome::Partial {
                message: format!("{} of {} steps failed", failures.len(), attempted.len()),
                failures,
            };
        }
        let warnings: Vec<String> = attempted
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Warning { .. }))
            .map(|s| format!("{}: {}", s.name, s.outcome.message()))
            .collect();
        if !warnings.is_empty() {
            return Outcome::warning(warnings.join("; "));
        }
        let changed = attempted
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Succeeded { .. }))
            .count();
        if changed == 0 {
            Outcome::no_change("everything was already as requested")
        } else {
            Outcome::succeeded(format!(
                "{changed} of {} steps made changes",
                attempted.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(msg: &str) -> Outcome {
        Outcome::Failed {
            error: ErrorSummary {
                message: msg.into(),
                status: Some(500),
                code: None,
                request_id: None,
                retryable: true,
            },
        }
    }

    #[test]
    fn all_failed_is_failed_not_partial() {
        let mut r = Report::new();
        r.push("a", fail("x"));
        r.push("b", fail("y"));
        r.push("c", Outcome::skipped("n/a"));
        match r.overall() {
            Outcome::Failed { error } => assert!(error.message.contains("all 2 steps failed")),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn no_change_when_nothing_changed_and_skipped_when_nothing_attempted() {
        let mut r = Report::new();
        assert!(matches!(r.overall(), Outcome::Skipped { .. }));
        r.push("a", Outcome::no_change("already"));
        assert!(matches!(r.overall(), Outcome::NoChange { .. }));
        r.push("b", Outcome::succeeded("done"));
        assert!(matches!(r.overall(), Outcome::Succeeded { .. }));
    }

    #[test]
    fn partial_lists_failures_and_serialises() {
        let mut r = Report::new();
        r.push("a", Outcome::succeeded("done"));
        r.push("b", fail("boom"));
        let o = r.overall();
        match &o {
            Outcome::Partial { failures, .. } => assert_eq!(failures, &vec!["b: boom".to_string()]),
            o => panic!("{o:?}"),
        }
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["status"], "partial");
        let back: Outcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn from_result_maps_errors() {
        let e: Result<(), Error> = Err(Error::invalid_input("upn", "missing @"));
        let o = Outcome::from_result(&e, "ok");
        assert!(o.is_failure());
        assert!(o.message().contains("missing @"));
    }
}
