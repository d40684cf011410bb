//! Current vs expected, canonically: keys sorted, integral floats as integers, quoted
//! numbers as numbers (Exchange answers `"30"` where Graph answers `30`), and arrays sorted
//! where a standard says their order carries no meaning.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{canonical_string, canonicalize};

/// One property that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The property (a top-level key of the expected state).
    pub field: String,
    /// What the tenant has (`null` when absent).
    pub current: Value,
    /// What the standard wants.
    pub expected: Value,
}

/// `value` in the form standards compare: canonical, quoted numbers unquoted, and — when
/// `sort_arrays` — every array sorted by its elements' canonical text.
pub fn normalise(value: &Value, sort_arrays: bool) -> Value {
    let v = match value {
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) if !s.trim().is_empty() && s.trim() == s => Value::from(n),
            _ => value.clone(),
        },
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| normalise(i, sort_arrays)).collect();
            if sort_arrays {
                items.sort_by_cached_key(canonical_string);
            }
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalise(v, sort_arrays)))
                .collect(),
        ),
        other => other.clone(),
    };
    canonicalize(&v)
}

/// The properties of `expected` (an object) whose value in `current` differs, compared with
/// [`normalise`]. A non-object `expected` is compared whole, as the field `value`.
pub fn differences(current: &Value, expected: &Value, sort_arrays: bool) -> Vec<FieldDiff> {
    match expected {
        Value::Object(exp) => {
            let mut out = Vec::new();
            let mut keys: Vec<&String> = exp.keys().collect();
            keys.sort();
            for k in keys {
                let e = &exp[k.as_str()];
                let c = current.get(k.as_str()).unwrap_or(&Value::Null);
                if normalise(c, sort_arrays) != normalise(e, sort_arrays) {
                    out.push(FieldDiff {
                        field: k.clone(),
                        current: c.clone(),
                        expected: e.clone(),
                    });
                }
            }
            out
        }
        other => {
            if normalise(current, sort_arrays) == normalise(other, sort_arrays) {
                Vec::new()
            } else {
                vec![FieldDiff {
                    field: "value".into(),
                    current: current.clone(),
                    expected: other.clone(),
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn quoted_numbers_and_key_order_do_not_differ() {
        let c = json!({"b": "30", "a": [2, 1]});
        let e = json!({"a": [1, 2], "b": 30});
        assert!(differences(&c, &e, true).is_empty());
        let d = differences(&c, &e, false);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "a");
    }

    #[test]
    fn absent_is_null_and_differs_from_false() {
        let d = differences(&json!({}), &json!({"enabled": false}), true);
        assert_eq!(d[0].current, Value::Null);
    }

    proptest! {
        #[test]
        fn a_value_never_differs_from_itself(s in "[a-z0-9 ]{0,12}", n in any::<i64>(), b in any::<bool>()) {
            let v = json!({"s": s, "n": n, "b": b, "a": [s, n, b]});
            prop_assert!(differences(&v, &v, true).is_empty());
            prop_assert!(differences(&v, &v, false).is_empty());
        }

        #[test]
        fn sorted_comparison_ignores_permutations(mut xs in proptest::collection::vec("[a-z]{1,5}", 0..8)) {
            let a = json!({"list": xs.clone()});
            xs.reverse();
            let b = json!({"list": xs});
            prop_assert!(differences(&a, &b, true).is_empty());
        }
    }
}
