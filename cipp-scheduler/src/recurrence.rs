//! When tasks run: recurrence rules, time zones, catch-up policies and next-run computation
//! without drift.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

/// The shortest interval between two runs: one minute (intervals and cron rules alike).
pub const MIN_INTERVAL_SECONDS: i64 = 60;
/// The longest interval a recurrence may have: 3,650 days (about ten years). Longer ones are
/// refused when parsed (use a cron rule with a month and day for yearly runs).
pub const MAX_INTERVAL_DAYS: i64 = 3_650;
/// [`MAX_INTERVAL_DAYS`] in seconds.
pub const MAX_INTERVAL_SECONDS: i64 = MAX_INTERVAL_DAYS * 86_400;
/// The most missed runs [`CatchUp::RunEach`] replays at once, whatever its `max`.
pub const MAX_CATCH_UP_RUNS: u32 = 100;
/// The most run times [`Schedule::next_runs`] lists.
pub const MAX_NEXT_RUNS: usize = 1_000;
/// How many missed cron occurrences [`Schedule::advance`] counts one by one before it jumps
/// straight to the first future occurrence: one more than any catch-up policy replays, so
/// the count decides the same as an exact one would.
const MAX_COUNTED_MISSES: u32 = MAX_CATCH_UP_RUNS + 1;

/// Why a recurrence, cron rule, time zone or time computation was refused. Each message
/// says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Not a recurrence string at all.
    #[error(
        "`{input}` is not a recurrence: use 0 (once), 15m, 4h, 7d, a number of days, or a \
         five-field cron expression such as `0 9 * * MON`"
    )]
    NotARecurrence {
        /// What was given.
        input: String,
    },
    /// A number with a unit other than m, h or d.
    #[error("`{input}`: the unit must be m (minutes), h (hours) or d (days), as in 15m, 4h, 7d")]
    UnknownUnit {
        /// What was given.
        input: String,
    },
    /// An interval shorter than one minute.
    #[error("`{input}` is shorter than one minute, the shortest recurrence")]
    TooShort {
        /// What was given.
        input: String,
    },
    /// An interval longer than [`MAX_INTERVAL_DAYS`].
    #[error(
        "`{input}` is longer than {max_days} days, the longest interval; use a cron rule \
         (for example `0 9 1 1 *` for every first of January) for rarer runs"
    )]
    TooLong {
        /// What was given.
        input: String,
        /// The limit in days.
        max_days: i64,
    },
    /// The cron parser refused the expression.
    #[error("`{input}` is not a valid cron expression ({reason}); write five fields: minute hour day-of-month month day-of-week")]
    BadCron {
        /// What was given.
        input: String,
        /// The parser's reason.
        reason: String,
    },
    /// A cron rule that would run more often than once a minute.
    #[error(
        "`{input}` would run more often than once a minute ({reason}); the shortest \
         recurrence is one minute: leave out the seconds field or give it one value, such as 0"
    )]
    TooFrequent {
        /// What was given.
        input: String,
        /// Why.
        reason: String,
    },
    /// A cron rule with no occurrence after the first run (such as 30 February).
    #[error("`{input}` never runs after {after}; check the day and month fields")]
    NeverFires {
        /// What was given.
        input: String,
        /// From when it was searched.
        after: DateTime<Utc>,
    },
    /// Not an IANA time zone name.
    #[error(
        "`{name}` is not an IANA time zone (for example Europe/Brussels, America/New_York or UTC)"
    )]
    UnknownTimeZone {
        /// What was given.
        name: String,
    },
    /// A date computation left the range of representable dates.
    #[error("{what} is outside the range of dates the scheduler can compute")]
    OutOfRange {
        /// What was computed.
        what: String,
    },
    /// A catch-up policy replaying more runs than [`MAX_CATCH_UP_RUNS`].
    #[error("a catch-up of {max} runs is more than the maximum of {limit}")]
    CatchUpTooLarge {
        /// What was asked for.
        max: u32,
        /// The limit.
        limit: u32,
    },
}

fn out_of_range(what: impl Into<String>) -> ScheduleError {
    ScheduleError::OutOfRange { what: what.into() }
}

/// `t + seconds`, or an error instead of an overflow.
fn add_seconds(t: DateTime<Utc>, seconds: i64) -> Result<DateTime<Utc>, ScheduleError> {
    TimeDelta::try_seconds(seconds)
        .and_then(|d| t.checked_add_signed(d))
        .ok_or_else(|| out_of_range(format!("{t} + {seconds} s")))
}

/// The interval of a stored [`Recurrence::Every`], checked against the bounds (stored or
/// deserialised data may not have gone through [`Recurrence::parse`]).
fn checked_interval(seconds: i64) -> Result<i64, ScheduleError> {
    let input = format!("{seconds} s");
    if seconds < MIN_INTERVAL_SECONDS {
        Err(ScheduleError::TooShort { input })
    } else if seconds > MAX_INTERVAL_SECONDS {
        Err(ScheduleError::TooLong {
            input,
            max_days: MAX_INTERVAL_DAYS,
        })
    } else {
        Ok(seconds)
    }
}

/// Parses a cron rule and refuses one that fires more often than once a minute.
fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    let input = expression.to_owned();
    if expression.contains('@') {
        return Err(ScheduleError::BadCron {
            input,
            reason: "nicknames such as @hourly are not supported".into(),
        });
    }
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() >= 6 {
        // Six or seven fields: the first is seconds. Only one fixed second is allowed.
        let seconds = fields[0];
        let fixed = !seconds.is_empty()
            && seconds.len() <= 2
            && seconds.bytes().all(|b| b.is_ascii_digit())
            && seconds.parse::<u8>().is_ok_and(|s| s <= 59);
        if !fixed {
            return Err(ScheduleError::TooFrequent {
                input,
                reason: format!("the seconds field `{seconds}` is not one fixed value"),
            });
        }
    }
    Cron::from_str(expression).map_err(|e| ScheduleError::BadCron {
        input,
        reason: e.to_string(),
    })
}

fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone { name: name.into() })
}

/// How often a task repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Recurrence {
    /// Runs once.
    Once,
    /// Every N seconds (from CIPP's `15m`, `4h`, `7d`, or a bare number of days).
    Every {
        /// The interval in seconds (from [`MIN_INTERVAL_SECONDS`] to
        /// [`MAX_INTERVAL_SECONDS`]).
        seconds: i64,
    },
    /// A cron expression (5 fields, or 6 with one fixed second; `L`, `W`, `#` supported),
    /// evaluated in the task's time zone. It may not run more often than once a minute.
    Cron {
        /// The expression, for example `0 9 1 * *` (first of the month at 09:00).
        expression: String,
    },
}

impl Recurrence {
    /// Parses CIPP's recurrence strings: `0` (or empty) = once, `15m`, `4h`, `7d`, a bare
    /// number = days; anything with spaces is a cron expression. Intervals run from one
    /// minute to [`MAX_INTERVAL_DAYS`] days; a cron rule with a seconds field must give it one
    /// fixed value (no rule runs more often than once a minute).
    ///
    /// ```
    /// use cipp_scheduler::recurrence::Recurrence;
    /// assert_eq!(Recurrence::parse("0")?, Recurrence::Once);
    /// assert_eq!(Recurrence::parse("15m")?, Recurrence::Every { seconds: 900 });
    /// assert_eq!(Recurrence::parse("7")?, Recurrence::Every { seconds: 7 * 86_400 });
    /// assert!(matches!(Recurrence::parse("0 9 1 * *")?, Recurrence::Cron { .. }));
    /// assert!(Recurrence::parse("5x").is_err());
    /// assert!(Recurrence::parse("100000000d").is_err());
    /// assert!(Recurrence::parse("* * * * * *").is_err());
    /// # Ok::<(), cipp_scheduler::recurrence::ScheduleError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let t = text.trim();
        if t.is_empty() || t == "0" {
            return Ok(Recurrence::Once);
        }
        if t.contains(char::is_whitespace) {
            parse_cron(t)?;
            return Ok(Recurrence::Cron {
                expression: t.to_owned(),
            });
        }
        let input = t.to_owned();
        let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&t[..i], &t[i..]),
            None => (t, "d"),
        };
        if num.is_empty() {
            return Err(ScheduleError::NotARecurrence { input });
        }
        let unit_seconds: i64 = match unit.to_ascii_lowercase().as_str() {
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(ScheduleError::UnknownUnit { input }),
        };
        // Digits only: a number too large for i64 is simply too long.
        let too_long = || ScheduleError::TooLong {
            input: input.clone(),
            max_days: MAX_INTERVAL_DAYS,
        };
        let n: i64 = num.parse().map_err(|_| too_long())?;
        if n == 0 {
            return Ok(Recurrence::Once);
        }
        let seconds = n.checked_mul(unit_seconds).ok_or_else(too_long)?;
        if seconds > MAX_INTERVAL_SECONDS {
            return Err(too_long());
        }
        Ok(Recurrence::Every { seconds })
    }
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recurrence::Once => f.write_str("once"),
            Recurrence::Every { seconds } if seconds % 86_400 == 0 => {
                write!(f, "{}d", seconds / 86_400)
            }
            Recurrence::Every { seconds } if seconds % 3_600 == 0 => {
                write!(f, "{}h", seconds / 3_600)
            }
            Recurrence::Every { seconds } => write!(f, "{}m", seconds / 60),
            Recurrence::Cron { expression } => f.write_str(expression),
        }
    }
}

/// What to do about runs missed while nothing was running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "camelCase")]
#[non_exhaustive]
pub enum CatchUp {
    /// Drop missed runs; wait for the next future one.
    Skip,
    /// Run once for all the missed runs (the default).
    #[default]
    RunOnce,
    /// Run each missed run, at most `max` of them.
    RunEach {
        /// The most missed runs to replay.
        max: u32,
    },
}

/// A task's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// The first run.
    pub first_run: DateTime<Utc>,
    /// The IANA time zone cron rules are evaluated in (UTC by default).
    pub time_zone: String,
    /// The recurrence.
    pub recurrence: Recurrence,
    /// The catch-up policy.
    pub catch_up: CatchUp,
}

impl Schedule {
    /// A schedule starting at `first_run`, in UTC, with the default catch-up policy.
    pub fn new(first_run: DateTime<Utc>, recurrence: Recurrence) -> Self {
        Schedule {
            first_run,
            time_zone: "UTC".into(),
            recurrence,
            catch_up: CatchUp::RunOnce,
        }
    }

    /// Sets the time zone.
    pub fn in_time_zone(mut self, tz: &str) -> Self {
        self.time_zone = tz.to_owned();
        self
    }

    /// Sets the catch-up policy.
    pub fn with_catch_up(mut self, c: CatchUp) -> Self {
        self.catch_up = c;
        self
    }

    /// Checks the schedule before a task is accepted: a known IANA time zone, an interval
    /// within bounds, a cron rule that runs no more than once a minute and runs at all after
    /// the first run, and a bounded catch-up policy.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let tz = self.tz()?;
        match &self.recurrence {
            Recurrence::Once => {}
            Recurrence::Every { seconds } => {
                checked_interval(*seconds)?;
            }
            Recurrence::Cron { expression } => {
                let cron = parse_cron(expression)?;
                // Two consecutive runs must be at least a minute apart (checked on the first
                // few runs after the first run).
                let mut prev: Option<DateTime<Utc>> = None;
                let mut t = self.first_run;
                for i in 0..4 {
                    let next = match cron_next(&cron, expression, tz, t, i == 0) {
                        Ok(n) => n,
                        Err(_) if i > 0 => break,
                        Err(_) => {
                            return Err(ScheduleError::NeverFires {
                                input: expression.clone(),
                                after: self.first_run,
                            })
                        }
                    };
                    if let Some(p) = prev {
                        if (next - p).num_seconds() < MIN_INTERVAL_SECONDS {
                            return Err(ScheduleError::TooFrequent {
                                input: expression.clone(),
                                reason: format!("it runs at {p} and again at {next}"),
                            });
                        }
                    }
                    prev = Some(next);
                    t = next;
                }
            }
        }
        if let CatchUp::RunEach { max } = self.catch_up {
            if max > MAX_CATCH_UP_RUNS {
                return Err(ScheduleError::CatchUpTooLarge {
                    max,
                    limit: MAX_CATCH_UP_RUNS,
                });
            }
        }
        Ok(())
    }

    fn tz(&self) -> Result<Tz, ScheduleError> {
        parse_tz(&self.time_zone)
    }

    /// The occurrence strictly after `t` by the rule alone (no catch-up logic).
    pub fn occurrence_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        match &self.recurrence {
            Recurrence::Once => Ok(None),
            Recurrence::Every { seconds } => add_seconds(t, checked_interval(*seconds)?).map(Some),
            Recurrence::Cron { expression } => {
                let cron = parse_cron(expression)?;
                cron_next(&cron, expression, self.tz()?, t, false).map(Some)
            }
        }
    }

    /// The first due time: `first_run` itself for intervals and one-offs, the first cron
    /// occurrence at or after it for cron rules.
    pub fn first_due(&self) -> Result<DateTime<Utc>, ScheduleError> {
        match &self.recurrence {
            Recurrence::Cron { expression } => {
                let cron = parse_cron(expression)?;
                cron_next(&cron, expression, self.tz()?, self.first_run, true)
            }
            _ => Ok(self.first_run),
        }
    }

    /// After a run that was due at `scheduled` and happened at `now`: how many later
    /// occurrences were missed, and the next due time.
    ///
    /// Intervals do not drift: the next run is `scheduled + interval`. When that is already
    /// in the past (the engine was stopped), missed runs are skipped, coalesced into one, or
    /// replayed up to a bound, and the schedule re-anchors to the first future occurrence —
    /// never a storm of catch-up runs. Any instants are accepted: a computation that would
    /// leave the range of dates is an [`ScheduleError::OutOfRange`], never a panic.
    pub fn advance(
        &self,
        scheduled: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Advance, ScheduleError> {
        let mut next = match self.occurrence_after(scheduled)? {
            None => {
                return Ok(Advance {
                    missed: 0,
                    next: None,
                })
            }
            Some(n) => n,
        };
        let mut missed = 0u32;
        if next > now {
            return Ok(Advance {
                missed,
                next: Some(next),
            });
        }
        if let Recurrence::Every { seconds } = self.recurrence {
            // Jump over the missed slots at once, staying on the grid.
            let seconds = checked_interval(seconds)?;
            let behind = (now - next).num_seconds() / seconds + 1;
            missed = u32::try_from(behind).unwrap_or(u32::MAX);
            let jump = seconds
                .checked_mul(behind)
                .ok_or_else(|| out_of_range(format!("{behind} intervals of {seconds} s")))?;
            next = add_seconds(next, jump)?;
        } else {
            // Count missed cron occurrences one by one, up to a bound, then jump.
            while next <= now {
                missed = missed.saturating_add(1);
                if missed >= MAX_COUNTED_MISSES {
                    next = match self.occurrence_after(now)? {
                        Some(n) => n,
                        None => break,
                    };
                    break;
                }
                next = match self.occurrence_after(next)? {
                    Some(n) => n,
                    None => break,
                };
            }
        }
        Ok(Advance {
            missed,
            next: Some(next),
        })
    }

    /// The next due times from `from` (the first due time when the task has not run), at
    /// most `n` and at most [`MAX_NEXT_RUNS`].
    pub fn next_runs(
        &self,
        from: DateTime<Utc>,
        n: usize,
    ) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        let n = n.min(MAX_NEXT_RUNS);
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return Ok(out);
        }
        let first = self.first_due()?;
        // The first occurrence on the schedule's grid at or after `from`.
        let mut t = if from <= first {
            first
        } else {
            match &self.recurrence {
                Recurrence::Once => return Ok(out),
                Recurrence::Every { seconds } => {
                    let seconds = checked_interval(*seconds)?;
                    let gap = (from - first).num_seconds();
                    let steps = gap / seconds + i64::from(gap % seconds != 0);
                    let jump = seconds
                        .checked_mul(steps)
                        .ok_or_else(|| out_of_range(format!("{steps} intervals of {seconds} s")))?;
                    let mut t = add_seconds(first, jump)?;
                    // Sub-second remainders: make sure t is not before `from`.
                    if t < from {
                        t = add_seconds(t, seconds)?;
                    }
                    t
                }
                Recurrence::Cron { expression } => {
                    let cron = parse_cron(expression)?;
                    cron_next(&cron, expression, self.tz()?, from, true)?
                }
            }
        };
        while out.len() < n {
            out.push(t);
            match self.occurrence_after(t) {
                Ok(Some(x)) => t = x,
                Ok(None) => break,
                // The end of the representable range (or of the cron rule): stop listing.
                Err(ScheduleError::OutOfRange { .. } | ScheduleError::NeverFires { .. })
                    if !out.is_empty() =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// The next occurrence of a cron rule after (or at, with `inclusive`) `t`, in `tz`.
fn cron_next(
    cron: &Cron,
    expression: &str,
    tz: Tz,
    t: DateTime<Utc>,
    inclusive: bool,
) -> Result<DateTime<Utc>, ScheduleError> {
    let local = t.with_timezone(&tz);
    cron.find_next_occurrence(&local, inclusive)
        .map(|n| n.with_timezone(&Utc))
        .map_err(|_| ScheduleError::NeverFires {
            input: expression.to_owned(),
            after: t,
        })
}

/// The result of [`Schedule::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// Occurrences that fell between the scheduled run and now (missed while stopped).
    /// Exact for intervals; for cron rules counted up to one more than
    /// [`MAX_CATCH_UP_RUNS`] (enough for every [`CatchUp`] policy).
    pub missed: u32,
    /// The next due time, always in the future (`None` for a one-off task).
    pub next: Option<DateTime<Utc>>,
}

impl CatchUp {
    /// How many times to run now for a run due at `scheduled` when `missed` later
    /// occurrences were also missed: `Skip` runs only if nothing was missed (a slightly
    /// late run still runs), `RunOnce` runs once, `RunEach` replays up to `max` extra runs
    /// (never more than [`MAX_CATCH_UP_RUNS`]).
    pub fn runs_now(self, missed: u32) -> u32 {
        match self {
            CatchUp::Skip => u32::from(missed == 0),
            CatchUp::RunOnce => 1,
            CatchUp::RunEach { max } => 1u32.saturating_add(missed.min(max).min(MAX_CATCH_UP_RUNS)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn cipp_strings() {
        assert_eq!(Recurrence::parse("").unwrap(), Recurrence::Once);
        assert_eq!(
            Recurrence::parse("4h").unwrap(),
            Recurrence::Every { seconds: 14_400 }
        );
        assert_eq!(
            Recurrence::parse("7d").unwrap(),
            Recurrence::Every { seconds: 604_800 }
        );
        assert_eq!(
            Recurrence::parse("1").unwrap(),
            Recurrence::Every { seconds: 86_400 }
        );
        assert!(Recurrence::parse("-1d").is_err());
        assert!(Recurrence::parse("61 * * * *").is_err());
        assert_eq!(Recurrence::parse("15m").unwrap().to_string(), "15m");
    }

    #[test]
    fn intervals_do_not_drift() {
        let s = Schedule::new(at("2026-01-01T09:00:00Z"), Recurrence::parse("4h").unwrap());
        // The run happened 90 s late; the next is still on the grid.
        let a = s
            .advance(at("2026-01-01T09:00:00Z"), at("2026-01-01T09:01:30Z"))
            .unwrap();
        assert_eq!(a.next, Some(at("2026-01-01T13:00:00Z")));
        assert_eq!(a.missed, 0);
    }

    #[test]
    fn no_catch_up_storm_after_downtime() {
        let s = Schedule::new(
            at("2026-01-01T00:00:00Z"),
            Recurrence::parse("15m").unwrap(),
        );
        // Down for three days: 288 runs missed.
        let now = at("2026-01-04T00:07:00Z");
        let a = s.advance(at("2026-01-01T00:00:00Z"), now).unwrap();
        assert_eq!(
            a.next,
            Some(at("2026-01-04T00:15:00Z")),
            "re-anchored to the first future slot"
        );
        assert_eq!(a.missed, 288);
        assert_eq!(
            CatchUp::RunOnce.runs_now(a.missed),
            1,
            "run once (the default)"
        );
        assert_eq!(CatchUp::Skip.runs_now(a.missed), 0);
        assert_eq!(
            CatchUp::Skip.runs_now(0),
            1,
            "a late but not missed run still runs"
        );
        assert_eq!(CatchUp::RunEach { max: 5 }.runs_now(a.missed), 6, "bounded");
    }

    #[test]
    fn property_no_drift_for_any_lateness() {
        // For many intervals and latenesses shorter than the interval, next - scheduled is
        // exactly the interval.
        let base = at("2026-03-01T00:00:00Z");
        for minutes in [1i64, 5, 15, 60, 240, 1440] {
            for late in [0i64, 1, 17, 59] {
                let secs = minutes * 60;
                let lateness = late * secs / 60;
                let s = Schedule::new(base, Recurrence::Every { seconds: secs });
                let mut scheduled = base;
                for _ in 0..50 {
                    let a = s
                        .advance(scheduled, scheduled + Duration::seconds(lateness))
                        .unwrap();
                    let next = a.next.unwrap();
                    assert_eq!(
                        next - scheduled,
                        Duration::seconds(secs),
                        "{minutes}m late {lateness}s"
                    );
                    assert_eq!(a.missed, 0);
                    scheduled = next;
                }
            }
        }
    }

    #[test]
    fn calendar_rules_in_a_time_zone_across_dst() {
        // (rule, time zone, from, expected runs)
        let cases: [(&str, &str, &str, &[&str]); 3] = [
            // Every Monday at 09:00 in New York, across the March DST change (8 March 2026).
            (
                "0 9 * * MON",
                "America/New_York",
                "2026-02-28T00:00:00Z",
                &[
                    "2026-03-02T14:00:00Z",
                    "2026-03-09T13:00:00Z",
                    "2026-03-16T13:00:00Z",
                ],
            ),
            // First of the month at 09:00 in Brussels.
            (
                "0 9 1 * *",
                "Europe/Brussels",
                "2026-10-15T00:00:00Z",
                &["2026-11-01T08:00:00Z", "2026-12-01T08:00:00Z"],
            ),
            // Last weekday of the month.
            (
                "0 18 LW * *",
                "UTC",
                "2026-01-01T00:00:00Z",
                &[
                    "2026-01-30T18:00:00Z",
                    "2026-02-27T18:00:00Z",
                    "2026-03-31T18:00:00Z",
                ],
            ),
        ];
        for (rule, tz, from, expected) in cases {
            let s = Schedule::new(at(from), Recurrence::parse(rule).unwrap()).in_time_zone(tz);
            let runs = s.next_runs(at(from), expected.len()).unwrap();
            let expected: Vec<DateTime<Utc>> = expected.iter().map(|e| at(e)).collect();
            assert_eq!(runs, expected, "{rule} in {tz}");
        }
        assert!(Schedule::new(at("2026-01-01T00:00:00Z"), Recurrence::Once)
            .in_time_zone("Mars/Olympus")
            .validate()
            .is_err());
    }

    #[test]
    fn one_off_tasks_have_one_run() {
        let s = Schedule::new(at("2026-01-01T00:00:00Z"), Recurrence::Once);
        assert_eq!(
            s.next_runs(at("2025-01-01T00:00:00Z"), 5).unwrap(),
            [at("2026-01-01T00:00:00Z")]
        );
        assert_eq!(
            s.advance(at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:05Z"))
                .unwrap()
                .next,
            None
        );
    }
}
