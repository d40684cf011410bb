//! Property tests over the Exchange crate's parsers of outside input.

use cipp_exchange::parse_size;
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #[test]
    fn sizes_parse_or_are_absent(s in prop_oneof![
        "\\PC{0,60}",
        "[0-9.]{1,8} (KB|MB|GB) \\(([0-9]{1,3},){0,8}[0-9]{1,3} bytes\\)",
        "\\([0-9,]{0,40}",
    ]) {
        let _ = parse_size(&json!(s));
    }

    #[test]
    fn documented_sizes_are_read(bytes in any::<u64>()) {
        let grouped = bytes.to_string();
        let text = format!("1.2 GB ({grouped} bytes)");
        prop_assert_eq!(parse_size(&json!(text)), Some(bytes));
        prop_assert_eq!(parse_size(&json!(bytes)), Some(bytes));
    }
}

proptest! {
    /// Scheduled automatic replies with any start and end: a cmdlet or a typed error,
    /// never a panic in date arithmetic (a start at the end of time used to overflow).
    #[test]
    fn scheduled_auto_replies_never_panic(start in any::<i64>(), end in proptest::option::of(any::<i64>())) {
        use chrono::{DateTime, Utc};
        let at = |s: i64| DateTime::<Utc>::from_timestamp(s.clamp(-8_000_000_000_000, 8_000_000_000_000), 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let state = cipp_exchange::cmdlets::AutoReply::Scheduled { start: Some(at(start)), end: end.map(at) };
        let _ = cipp_exchange::cmdlets::set_auto_reply("a@contoso.com", &state, Some("away"), None, Utc::now());
    }
}

#[test]
fn an_auto_reply_starting_at_the_end_of_time_is_refused() {
    use chrono::{DateTime, Utc};
    let state = cipp_exchange::cmdlets::AutoReply::Scheduled {
        start: Some(DateTime::<Utc>::MAX_UTC),
        end: None,
    };
    assert!(cipp_exchange::cmdlets::set_auto_reply(
        "a@contoso.com",
        &state,
        None,
        None,
        Utc::now()
    )
    .is_err());
}

proptest! {
    /// Recipient filters from outside (read from Exchange, written by users): stripping the
    /// system exclusions and the comparison form never panic, and both are stable.
    #[test]
    fn recipient_filters_never_panic(s in prop_oneof![
        "\\PC{0,80}",
        "[()'\" a-zA-Z{}*-]{0,80}",
        "\\(*(Department -eq '[a-z]{1,5}'|-not\\(Name -like 'SystemMailbox\\{\\*'\\))( -and| -or|\\)|\\(){0,6}",
    ]) {
        use cipp_exchange::distribution_groups::{canonical_recipient_filter, strip_system_exclusions};
        let stripped = strip_system_exclusions(&s);
        prop_assert_eq!(strip_system_exclusions(&stripped), stripped.clone());
        let c = canonical_recipient_filter(&s);
        let _ = canonical_recipient_filter(&c);
    }
}
