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
