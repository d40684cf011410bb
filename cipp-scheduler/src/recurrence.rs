//! When tasks run: recurrence rules, time zones, catch-up policies and next-run computation
//! without drift.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::SchedulerError;

/// How often a task repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Recurrence {
    /// Runs once.
    Once,
    /// Every N seconds (from CIPP's `15m`, `4h`, `7d`, or a bare number of days).
    Every {
        /// The interval in seconds (at least 60).
        seconds: i64,
    },
    /// A cron expression (5 or 6 fields; `L`, `W`, `#` supported), evaluated in the task's
    /// time zone.
    Cron {
        /// The expression, for example `0 9 1 * *` (first of the month at 09:00).
        expression: String,
    },
}

impl Recurrence {
    /// Parses CIPP's recurrence strings: `0` (or empty) = once, `15m`, `4h`, `7d`, a bare
    /// number = days; anything with spaces is a cron expression.
    ///
    /// ```
    /// use cipp_scheduler::recurrence::Recurrence;
    /// assert_eq!(Recurrence::parse("0")?, Recurrence::Once);
    /// assert_eq!(Recurrence::parse("15m")?, Recurrence::Every { seconds: 900 });
    /// assert_eq!(Recurrence::parse("7")?, Recurrence::Every { seconds: 7 * 86_400 });
    /// assert!(matches!(Recurrence::parse("0 9 1 * *")?, Recurrence::Cron { .. }));
    /// assert!(Recurrence::parse("5x").is_err());
    /// # Ok::<(), cipp_scheduler::SchedulerError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, SchedulerError> {
        let t = text.trim();
        if t.is_empty() || t == "0" {
            return Ok(Recurrence::Once);
        }
        if t.contains(' ') {
            Cron::from_str(t).map_err(|e| {
                SchedulerError::Invalid(format!("`{t}` is not a valid cron expression: {e}"))
            })?;
            return Ok(Recurrence::Cron {
                expression: t.to_owned(),
            });
        }
        let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&t[..i], &t[i..]),
            None => (t, "d"),
        };
        let n: i64 = num.parse().map_err(|_| {
            SchedulerError::Invalid(format!(
                "`{t}` is not a recurrence (use 0, 15m, 4h, 7d or a cron expression)"
            ))
        })?;
        let unit_seconds = match unit.to_ascii_lowercase().as_str() {
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => {
                return Err(SchedulerError::Invalid(format!(
                    "`{t}`: the unit must be m, h or d"
                )))
            }
        };
        if n == 0 {
            return Ok(Recurrence::Once);
        }
        if n < 0 || n.checked_mul(unit_seconds).is_none() {
            return Err(SchedulerError::Invalid(format!("`{t}` is out of range")));
        }
        Ok(Recurrence::Every {
            seconds: n * unit_seconds,
        })
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

    /// Checks the schedule before a task is accepted.
    pub fn validate(&self) -> Result<(), SchedulerError> {
        self.tz()?;
        match &self.recurrence {
            Recurrence::Every { seconds } if *seconds < 60 => Err(SchedulerError::Invalid(
                "a recurrence must be at least one minute".into(),
            )),
            Recurrence::Cron { expression } => Cron::from_str(expression)
                .map(drop)
                .map_err(|e| SchedulerError::Invalid(format!("`{expression}`: {e}"))),
            _ => Ok(()),
        }
    }

    fn tz(&self) -> Result<Tz, SchedulerError> {
        self.time_zone.parse::<Tz>().map_err(|_| {
            SchedulerError::Invalid(format!("`{}` is not an IANA time zone", self.time_zone))
        })
    }

    /// The occurrence strictly after `t` by the rule alone (no catch-up logic).
    pub fn occurrence_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        match &self.recurrence {
            Recurrence::Once => Ok(None),
            Recurrence::Every { seconds } => Ok(Some(t + Duration::seconds(*seconds))),
            Recurrence::Cron { expression } => {
                let tz = self.tz()?;
                let cron = Cron::from_str(expression)
                    .map_err(|e| SchedulerError::Invalid(format!("`{expression}`: {e}")))?;
                let local = t.with_timezone(&tz);
                cron.find_next_occurrence(&local, false)
                    .map(|n| Some(n.with_timezone(&Utc)))
                    .map_err(|e| {
                        SchedulerError::Invalid(format!(
                            "`{expression}` has no next occurrence: {e}"
                        ))
                    })
            }
        }
    }

    /// The first due time: `first_run` itself for intervals and one-offs, the first cron
    /// occurrence at or after it for cron rules.
    pub fn first_due(&self) -> Result<DateTime<Utc>, SchedulerError> {
        match &self.recurrence {
            Recurrence::Cron { .. } => Ok(self
                .occurrence_after(self.first_run - Duration::seconds(1))?
                .unwrap_or(self.first_run)),
            _ => Ok(self.first_run),
        }
    }

    /// After a run that was due at `scheduled` and happened at `now`: how many later
    /// occurrences were missed, and the next due time.
    ///
    /// Intervals do not drift: the next run is `scheduled + interval`. When that is already
    /// in the past (the engine was stopped), missed runs are skipped, coalesced into one, or
    /// replayed up to a bound, and the schedule re-anchors to the first future occurrence —
    /// never a storm of catch-up runs.
    pub fn advance(
        &self,
        scheduled: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Advance, SchedulerError> {
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
        // Walk forward over missed occurrences without iterating forever on tiny intervals.
        if let Recurrence::Every { seconds } = self.recurrence {
            if next <= now {
                let behind = (now - next).num_seconds() / seconds + 1;
                missed = behind.min(u32::MAX as i64) as u32;
                next += Duration::seconds(seconds * behind);
            }
        } else {
            while next <= now {
                missed = missed.saturating_add(1);
                next = match self.occurrence_after(next)? {
                    Some(n) => n,
                    None => break,
                };
                if missed > 10_000 {
                    break;
                }
            }
        }
        Ok(Advance {
            missed,
            next: Some(next),
        })
    }

    /// The next `n` due times from `from` (the first due time when the task has not run).
    pub fn next_runs(
        &self,
        from: DateTime<Utc>,
        n: usize,
    ) -> Result<Vec<DateTime<Utc>>, SchedulerError> {
        let mut out = Vec::with_capacity(n);
        let mut t = self.first_due()?;
        while t < from {
            match self.occurrence_after(t)? {
                Some(x) => t = x,
                None => return Ok(out),
            }
        }
        while out.len() < n {
            out.push(t);
            match self.occurrence_after(t)? {
                Some(x) => t = x,
                None => break,
            }
        }
        Ok(out)
    }
}

/// The result of [`Schedule::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// Occurrences that fell between the scheduled run and now (missed while stopped).
    pub missed: u32,
    /// The next due time, always in the future (`None` for a one-off task).
    pub next: Option<DateTime<Utc>>,
}

impl CatchUp {
    /// How many times to run now for a run due at `scheduled` when `missed` later
    /// occurrences were also missed: `Skip` runs only if nothing was missed (a slightly
    /// late run still runs), `RunOnce` runs once, `RunEach` replays up to `max` extra runs.
    pub fn runs_now(self, missed: u32) -> u32 {
        match self {
            CatchUp::Skip => u32::from(missed == 0),
            CatchUp::RunOnce => 1,
            CatchUp::RunEach { max } => 1 + missed.min(max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Every Monday at 09:00 in New York, across the March DST change (8 March 2026).
        let s = Schedule::new(
            at("2026-02-28T00:00:00Z"),
            Recurrence::parse("0 9 * * MON").unwrap(),
        )
        .in_time_zone("America/New_York");
        let runs = s.next_runs(at("2026-02-28T00:00:00Z"), 3).unwrap();
        assert_eq!(
            runs,
            [
                at("2026-03-02T14:00:00Z"),
                at("2026-03-09T13:00:00Z"),
                at("2026-03-16T13:00:00Z")
            ]
        );
        // First of the month at 09:00 in Brussels.
        let s = Schedule::new(
            at("2026-10-15T00:00:00Z"),
            Recurrence::parse("0 9 1 * *").unwrap(),
        )
        .in_time_zone("Europe/Brussels");
        let runs = s.next_runs(at("2026-10-15T00:00:00Z"), 2).unwrap();
        assert_eq!(
            runs,
            [at("2026-11-01T08:00:00Z"), at("2026-12-01T08:00:00Z")]
        );
        // Last weekday of the month.
        let s = Schedule::new(
            at("2026-01-01T00:00:00Z"),
            Recurrence::parse("0 18 LW * *").unwrap(),
        );
        let runs = s.next_runs(at("2026-01-01T00:00:00Z"), 3).unwrap();
        assert_eq!(
            runs,
            [
                at("2026-01-30T18:00:00Z"),
                at("2026-02-27T18:00:00Z"),
                at("2026-03-31T18:00:00Z")
            ]
        );
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
