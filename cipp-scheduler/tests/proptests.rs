//! Property tests over every parser and time computation that takes outside input:
//! recurrence strings, cron rules, time zone names, `Schedule::advance` and `next_runs` on
//! arbitrary instants, catch-up counts and a command's throttling delay. None may panic;
//! each parses or returns a typed error, and what it returns keeps the documented bounds.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use cipp_scheduler::command::{clamp_retry_after, retry_at, MAX_RETRY_AFTER};
use cipp_scheduler::recurrence::{
    CatchUp, Recurrence, Schedule, ScheduleError, MAX_CATCH_UP_RUNS, MAX_INTERVAL_SECONDS,
    MAX_NEXT_RUNS, MIN_INTERVAL_SECONDS,
};
use proptest::prelude::*;

/// Any instant chrono can represent.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (
        DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
        0u32..1_000_000_000,
    )
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Instants a cron rule can be evaluated around (croner stops at year 5000).
fn cron_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let lo = Utc
        .with_ymd_and_hms(1970, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let hi = Utc
        .with_ymd_and_hms(4999, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    (lo..hi).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        Just("?".to_owned()),
        Just("L".to_owned()),
        Just("LW".to_owned()),
        Just("MON#2".to_owned()),
        Just("5W".to_owned()),
        Just("JAN-MAR".to_owned()),
        Just("MON-FRI".to_owned()),
        (0u32..100).prop_map(|n| n.to_string()),
        (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u32..70).prop_map(|n| format!("*/{n}")),
        (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a},{b}")),
        (0u32..70, 0u32..70, 0u32..20).prop_map(|(a, b, c)| format!("{a}-{b}/{c}")),
        "[ -~]{0,4}",
    ]
}

fn cron_expression() -> impl Strategy<Value = String> {
    prop::collection::vec(cron_field(), 1..=8).prop_map(|f| f.join(" "))
}

fn time_zone() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..chrono_tz::TZ_VARIANTS.len()).prop_map(|i| chrono_tz::TZ_VARIANTS[i].name().to_owned()),
        "\\PC{0,40}",
        "[A-Za-z_/+-]{0,30}",
    ]
}

fn every() -> impl Strategy<Value = Recurrence> {
    prop_oneof![
        any::<i64>(),
        -10i64..200,
        MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS,
        (MAX_INTERVAL_SECONDS - 10)..(MAX_INTERVAL_SECONDS + 10),
    ]
    .prop_map(|seconds| Recurrence::Every { seconds })
}

fn check_recurrence_bounds(r: &Recurrence) {
    if let Recurrence::Every { seconds } = r {
        assert!(
            (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(seconds),
            "{seconds}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_recurrence_string_parses_or_is_refused(text in "\\PC{0,40}") {
        if let Ok(r) = Recurrence::parse(&text) {
            check_recurrence_bounds(&r);
        }
    }

    #[test]
    fn numbers_with_units_stay_within_bounds(
        digits in prop_oneof!["[0-9]{1,40}", any::<u64>().prop_map(|n| n.to_string())],
        unit in prop_oneof![Just(""), Just("m"), Just("h"), Just("d"), Just("M"), Just("D"),
                             Just("s"), Just("w"), Just("x"), Just("mm"), Just("-")],
    ) {
        let text = format!("{digits}{unit}");
        let unit_seconds: Option<u128> = match unit {
            "" | "d" | "D" => Some(86_400),
            "m" | "M" => Some(60),
            "h" => Some(3_600),
            _ => None,
        };
        let n: Option<u128> = digits.parse().ok();
        match (Recurrence::parse(&text), unit_seconds, n) {
            (Ok(Recurrence::Once), Some(_), Some(0)) => {}
            (Ok(Recurrence::Every { seconds }), Some(u), Some(n)) => {
                prop_assert_eq!(u128::try_from(seconds).unwrap(), n * u);
                check_recurrence_bounds(&Recurrence::Every { seconds });
            }
            (Err(ScheduleError::UnknownUnit { .. }), None, _) => {}
            (Err(ScheduleError::TooLong { .. }), Some(u), n) => {
                prop_assert!(n.is_none_or(|n| n.saturating_mul(u) > MAX_INTERVAL_SECONDS as u128));
            }
            (other, u, n) => prop_assert!(false, "`{}` gave {:?} (unit {:?}, n {:?})", text, other, u, n),
        }
    }

    #[test]
    fn time_zone_names_are_accepted_or_refused_by_name(tz in time_zone(), first in instant()) {
        let s = Schedule::new(first, Recurrence::Once).in_time_zone(&tz);
        match s.validate() {
            Ok(()) => prop_assert!(tz.parse::<chrono_tz::Tz>().is_ok()),
            Err(e) => prop_assert!(matches!(e, ScheduleError::UnknownTimeZone { .. }), "{}", e),
        }
    }

    #[test]
    fn advance_on_any_instants_never_panics(
        recurrence in every(),
        scheduled in instant(),
        now in instant(),
        catch_up in prop_oneof![Just(CatchUp::Skip), Just(CatchUp::RunOnce),
                                any::<u32>().prop_map(|max| CatchUp::RunEach { max })],
    ) {
        let s = Schedule::new(scheduled, recurrence).with_catch_up(catch_up);
        if let Ok(a) = s.advance(scheduled, now) {
            if let Some(next) = a.next {
                prop_assert!(next > now, "next {} now {}", next, now);
                prop_assert!(next > scheduled);
            }
            prop_assert!(catch_up.runs_now(a.missed) <= MAX_CATCH_UP_RUNS + 1);
        }
        let _ = s.first_due();
        let _ = s.occurrence_after(now);
    }

    #[test]
    fn next_runs_on_any_instants_is_bounded(
        recurrence in every(),
        first in instant(),
        from in instant(),
        n in any::<usize>(),
    ) {
        let s = Schedule::new(first, recurrence);
        if let Ok(runs) = s.next_runs(from, n.min(5_000)) {
            prop_assert!(runs.len() <= MAX_NEXT_RUNS);
            prop_assert!(runs.windows(2).all(|w| w[0] < w[1]));
            if let Some(t) = runs.first() {
                prop_assert!(*t >= from || *t == first);
            }
        }
    }

    #[test]
    fn catch_up_counts_are_bounded(missed in any::<u32>(), max in any::<u32>()) {
        for c in [CatchUp::Skip, CatchUp::RunOnce, CatchUp::RunEach { max }] {
            let n = c.runs_now(missed);
            prop_assert!(n <= MAX_CATCH_UP_RUNS + 1);
        }
        let s = Schedule::new(Utc::now(), Recurrence::Once)
            .with_catch_up(CatchUp::RunEach { max });
        prop_assert_eq!(s.validate().is_ok(), max <= MAX_CATCH_UP_RUNS);
    }

    #[test]
    fn a_throttle_delay_is_clamped_whatever_it_is(
        now in instant(),
        secs in prop_oneof![any::<u64>(), 0u64..200_000],
        nanos in 0u32..1_000_000_000,
    ) {
        let delay = Duration::new(secs, nanos);
        let clamped = clamp_retry_after(delay);
        prop_assert!(clamped <= MAX_RETRY_AFTER);
        prop_assert_eq!(clamped, delay.min(MAX_RETRY_AFTER));
        let at = retry_at(now, delay);
        prop_assert!(at >= now);
        let max = chrono::Duration::from_std(MAX_RETRY_AFTER).unwrap();
        prop_assert!(now.checked_add_signed(max).is_none_or(|limit| at <= limit));
    }
}

// Cron searches are slow in debug builds (a rule that never fires is searched up to year
// 5000): fewer cases for the two cron properties.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cron_rules_parse_validate_and_run_no_more_than_once_a_minute(
        expression in cron_expression(),
        tz in time_zone(),
        first in cron_instant(),
    ) {
        let Ok(r) = Recurrence::parse(&expression) else { return Ok(()) };
        let schedule = Schedule::new(first, r).in_time_zone(&tz);
        if schedule.validate().is_err() {
            return Ok(());
        }
        if let Ok(runs) = schedule.next_runs(first, 4) {
            for w in runs.windows(2) {
                prop_assert!((w[1] - w[0]).num_seconds() >= 60, "{:?}", runs);
            }
        }
    }

    #[test]
    fn advance_of_cron_rules_never_panics(
        expression in prop_oneof![Just("* * * * *"), Just("0 9 * * MON"), Just("0 18 LW * *"),
                                  Just("30 2 * * *"), Just("0 0 29 2 *"), Just("0 0 30 2 *")],
        tz in time_zone(),
        scheduled in cron_instant(),
        ahead in prop_oneof![0i64..120, 0i64..86_400 * 40, 0i64..86_400 * 366 * 3],
    ) {
        let s = Schedule::new(scheduled, Recurrence::Cron { expression: expression.into() })
            .in_time_zone(&tz);
        let now = scheduled + chrono::Duration::seconds(ahead);
        if let Ok(a) = s.advance(scheduled, now) {
            if let Some(next) = a.next {
                prop_assert!(next > now);
            }
        }
    }
}
