//! Property tests over the sender-list entries, folder access levels and inbox-rule
//! updates: outside text never panics, valid values are always accepted.

use cipp_exchange::folder_permissions::MailboxFolder;
use cipp_exchange::inbox_rules::{self, InboxRuleUpdate};
use cipp_exchange::junk_email::{is_domain, validate_entry};
use proptest::prelude::*;

fn domain() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", 1..4),
        "[a-z]{2,10}",
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

proptest! {
    #[test]
    fn any_text_is_an_entry_or_a_typed_error(s in "\\PC{0,80}") {
        let r = validate_entry("TrustedSendersAndDomains", &s);
        if r.is_ok() {
            prop_assert!(!s.contains(char::is_whitespace));
        }
    }

    #[test]
    fn domains_and_addresses_on_them_are_accepted(d in domain(), local in "[a-z0-9._+-]{1,30}") {
        prop_assert!(is_domain(&d));
        prop_assert!(validate_entry("f", &d).is_ok());
        let address = format!("{local}@{d}");
        prop_assert!(validate_entry("f", &address).is_ok(), "{}", address);
        let padded = format!(" {d}");
        prop_assert!(validate_entry("f", &padded).is_err());
    }

    #[test]
    fn access_levels_read_in_any_case(i in 0usize..11, upper in proptest::collection::vec(any::<bool>(), 20)) {
        let level = cipp_exchange::folder_permissions::CALENDAR_RIGHTS[i];
        let mixed: String = level
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        prop_assert_eq!(MailboxFolder::Calendar.right(&mixed).unwrap(), level);
    }

    #[test]
    fn rule_updates_from_any_text_never_panic(
        name in proptest::option::of("\\PC{0,600}"),
        words in proptest::option::of(proptest::collection::vec("\\PC{0,80}", 0..6)),
        to in proptest::option::of(proptest::collection::vec("\\PC{0,40}", 0..4)),
        folder in proptest::option::of(proptest::option::of("\\PC{0,40}")),
        priority in proptest::option::of(any::<u32>()),
    ) {
        let u = InboxRuleUpdate {
            name, priority, subject_contains: words, forward_to: to, move_to_folder: folder,
            ..Default::default()
        };
        if let Ok(c) = inbox_rules::set("m@contoso.com", "m\\1", &u) {
            prop_assert!(c.parameters.len() >= 2);
        }
    }
}
