//! Property tests over the Graph crate's parsers of outside input: user references and
//! UPNs, object ids, OData literals and timestamps. None may panic; each parses or returns
//! a typed error.

use cipp_core::{Error, TenantId};
use cipp_graph::model::parse_timestamp;
use cipp_graph::odata::quote;
use cipp_graph::users::{validate_upn, UserRef};
use proptest::prelude::*;

fn tenant() -> TenantId {
    TenantId::parse("contoso.com").unwrap()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        "[a-zA-Z0-9._'#$-]{0,70}@[a-z0-9.-]{0,50}",
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "\\PC{1000,1100}",
    ]
}

proptest! {
    #[test]
    fn user_refs_parse_or_refuse(v in text()) {
        match UserRef::parse(&v) {
            Ok(u) => {
                // The path segment never carries a raw `/`, `?` or `#`.
                let seg = u.segment();
                prop_assert!(!seg.contains('/') && !seg.contains('?') && !seg.contains('#'), "{}", seg);
            }
            Err(e) => {
                let is_input = matches!(e, Error::InvalidInput { .. });
                prop_assert!(is_input, "{}", e);
                prop_assert!(e.to_string().len() <= 640);
            }
        }
        let _ = validate_upn(&v);
    }

    #[test]
    fn object_ids_are_validated_before_building_a_request(v in text()) {
        let t = tenant();
        for r in [
            cipp_graph::groups::get(&t, &v, &[]).map(|_| ()),
            cipp_graph::groups::delete(&t, &v).map(|_| ()),
            cipp_graph::users::restore(&t, &v).map(|_| ()),
            cipp_graph::conditional_access::get_policy(&t, &v).map(|_| ()),
        ] {
            if let Err(e) = r {
                let is_input = matches!(e, Error::InvalidInput { .. });
                prop_assert!(is_input, "{}", e);
            }
        }
    }

    #[test]
    fn odata_literals_round_trip(v in "\\PC{0,100}") {
        let q = quote(&v);
        prop_assert!(q.starts_with('\'') && q.ends_with('\''));
        let inner = &q[1..q.len() - 1];
        prop_assert_eq!(inner.replace("''", "'"), v.clone());
        // No lone quote can end the literal early.
        prop_assert!(!inner.replace("''", "").contains('\''));
    }

    #[test]
    fn timestamps_parse_or_are_absent(v in prop_oneof![
        "\\PC{0,40}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,9})?(Z|[+-][0-9]{2}:[0-9]{2})?",
    ]) {
        let _ = parse_timestamp(&v);
    }
}

proptest! {
    #[test]
    fn gdap_durations_parse_or_refuse(v in prop_oneof!["\\PC{0,30}", "P([0-9]{1,12}[YMWD]){0,4}"]) {
        if let Some(d) = cipp_graph::gdap::duration_days(&v) {
            prop_assert!(v.starts_with('P') || v.starts_with('p'));
            let _ = d;
        }
    }
}
