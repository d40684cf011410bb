//! Canonical JSON: one text per JSON value, whatever order its keys came in.
//!
//! Templates are compared, hashed and written to files in this form:
//!
//! - object keys sorted by the byte order of their UTF-8 text (Rust's `str` order),
//!   recursively; array order is kept (it is content);
//! - no insignificant whitespace in the compact form ([`canonical_string`], which is what
//!   [`hash`] digests); two-space indentation, one key or element per line and a trailing
//!   newline in the pretty form ([`canonical_pretty`], used for files kept in git);
//! - strings escaped minimally (`"`, `\`, control characters; everything else as UTF-8);
//! - integers as they are; floats rounded to [`FLOAT_DIGITS`] (15) significant digits, so
//!   that a file written and read back hashes the same, and written as an integer when
//!   that rounding is integral and below 2⁵³, so `1.0` and `1` are the same content
//!   (PowerShell and Graph disagree about that often).
//!
//! The helpers at the bottom strip what a service owns (ids, timestamps, `@odata`
//! metadata) so that a template holds only what a user chose: see [`SERVER_OWNED_FIELDS`].

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// The compact canonical text of `value`: sorted keys, no whitespace.
pub fn canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

/// The pretty canonical text of `value`: sorted keys, two-space indentation, one member per
/// line, and a trailing newline — stable and diff-friendly, for files kept in git.
pub fn canonical_pretty(value: &Value) -> String {
    let mut out = String::new();
    write_pretty(value, 0, &mut out);
    out.push('\n');
    out
}

/// SHA-256 of [`canonical_string`], as 64 lowercase hex digits. Two values that differ only
/// in key order (or `1.0` vs `1`) hash the same.
pub fn hash(value: &Value) -> String {
    let digest = Sha256::digest(canonical_string(value).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(HEX[usize::from(byte >> 4)]);
        hex.push(HEX[usize::from(byte & 0x0f)]);
    }
    hex
}

const HEX: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
];

/// `value` rebuilt with every object's keys in sorted order (the order `serde_json` keeps
/// when its `preserve_order` feature is on) and integral floats as integers, so that
/// serialising it with `serde_json` gives the canonical key order too.
pub fn canonicalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(v) = map.get(k) {
                    out.insert(k.clone(), canonicalize(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonicalize).collect()),
        Value::Number(n) => Value::Number(canonical_number(n)),
        other => other.clone(),
    }
}

fn canonical_number(n: &Number) -> Number {
    if !n.is_f64() {
        return n.clone();
    }
    let Some(f) = n.as_f64() else {
        return n.clone();
    };
    let rounded = round_significant(f);
    // Exactly representable integers only: 2^53 bounds the f64 mantissa.
    if rounded.fract() == 0.0 && rounded.abs() < 9_007_199_254_740_992.0 {
        // The cast is exact: |rounded| < 2^53 and it is integral.
        #[allow(clippy::cast_possible_truncation)]
        let i = rounded as i64;
        return Number::from(i);
    }
    Number::from_f64(rounded).unwrap_or_else(|| n.clone())
}

/// `f` rounded to [`FLOAT_DIGITS`] significant decimal digits (itself when that overflows).
fn round_significant(f: f64) -> f64 {
    format!("{f:.prec$e}", prec = FLOAT_DIGITS - 1)
        .parse::<f64>()
        .ok()
        .filter(|g| g.is_finite())
        .unwrap_or(f)
}

/// Significant digits kept of a float: 15 is what an `f64` keeps through any decimal round
/// trip (`DBL_DIG`), so a value written to a file and read back — by a parser that is only
/// nearly exact, as `serde_json`'s default one is — hashes the same.
pub const FLOAT_DIGITS: usize = 15;

fn sorted_entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn write_compact(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in sorted_entries(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(v, out);
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_pretty(value: &Value, level: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            let entries = sorted_entries(map);
            let last = entries.len().saturating_sub(1);
            for (i, (k, v)) in entries.into_iter().enumerate() {
                indent(level + 1, out);
                write_string(k, out);
                out.push_str(": ");
                write_pretty(v, level + 1, out);
                if i < last {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            let last = items.len().saturating_sub(1);
            for (i, v) in items.iter().enumerate() {
                indent(level + 1, out);
                write_pretty(v, level + 1, out);
                if i < last {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push(']');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&canonical_number(n).to_string()),
        Value::String(s) => write_string(s, out),
        // Containers are written by the callers.
        Value::Array(_) | Value::Object(_) => write_compact(value, out),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let code = u32::from(c);
                out.push_str("\\u00");
                out.push(HEX[(code >> 4) as usize]);
                out.push(HEX[(code & 0x0f) as usize]);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Top-level properties a service owns, removed by [`strip_server_owned`]:
///
/// | property | why |
/// |---|---|
/// | `id` | the object's id in the tenant it was read from |
/// | `@odata.context`, `@odata.id`, `@odata.editLink`, `@odata.etag` | response metadata |
/// | `createdDateTime`, `lastModifiedDateTime`, `modifiedDateTime` | set by the service |
/// | `version` | Intune's change counter |
/// | `templateId` | the id CIPP or Microsoft gave a Conditional Access template (CIPP strips it too) |
/// | `GUID` | CIPP's template id, carried as [`crate::template::Template::id`] instead |
/// | `supportsScopeTags`, `settingCount`, `isAssigned`, `assignments` | read-only or tenant-specific |
///
/// `@odata.type` is kept: it says what the object is, and Graph needs it on create. Any
/// other property — known or not — is kept. `roleScopeTagIds` is handled separately by
/// [`strip_tenant_scope_tags`]. Annotations such as `assignments@odata.context` or
/// `createdDateTime@odata.type` go with their property.
pub const SERVER_OWNED_FIELDS: &[&str] = &[
    "id",
    "@odata.context",
    "@odata.id",
    "@odata.editLink",
    "@odata.etag",
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
    "version",
    "templateId",
    "GUID",
    "supportsScopeTags",
    "settingCount",
    "isAssigned",
    "assignments",
];

/// The scope tag every tenant has (`Default`, id `"0"`): portable, unlike the others.
pub const DEFAULT_SCOPE_TAG: &str = "0";

/// Removes [`SERVER_OWNED_FIELDS`] (and their `name@odata.*` annotations) from the top level
/// of `value` when it is an object, then [`strip_tenant_scope_tags`]. Nested objects are
/// left alone: a nested `id` (a settings-catalog `settingDefinitionId`'s sibling, a
/// `templateReference.templateId`) is often content. Returns the names removed, in sorted
/// order, so a caller can report them.
pub fn strip_server_owned(value: &mut Value) -> Vec<String> {
    let mut removed = strip_fields(value, SERVER_OWNED_FIELDS);
    if strip_tenant_scope_tags(value) {
        removed.push("roleScopeTagIds".to_owned());
    }
    removed.sort();
    removed
}

/// Removes the named top-level properties of `value` (when it is an object), with their
/// `name@odata.*` annotations. Returns the keys removed.
pub fn strip_fields(value: &mut Value, fields: &[&str]) -> Vec<String> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    let doomed: Vec<String> = map
        .keys()
        .filter(|k| {
            fields.iter().any(|f| {
                k.as_str() == *f
                    || k.strip_prefix(f)
                        .is_some_and(|rest| rest.starts_with("@odata."))
            })
        })
        .cloned()
        .collect();
    for k in &doomed {
        map.remove(k);
    }
    doomed
}

/// Removes the named properties from `value` and from every object nested in it. Use with
/// care: see [`strip_server_owned`] for why nested `id`s are usually content.
pub fn strip_fields_recursive(value: &mut Value, fields: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !fields.contains(&k.as_str()));
            for v in map.values_mut() {
                strip_fields_recursive(v, fields);
            }
        }
        Value::Array(items) => {
            for v in items {
                strip_fields_recursive(v, fields);
            }
        }
        _ => {}
    }
}

/// Removes a top-level `roleScopeTagIds` that names any scope tag other than the
/// [`DEFAULT_SCOPE_TAG`]: other tags' ids exist only in the tenant they were read from.
/// `["0"]` (or an empty list) is kept. Returns whether it removed the property.
pub fn strip_tenant_scope_tags(value: &mut Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    let tenant_specific = match map.get("roleScopeTagIds") {
        Some(Value::Array(tags)) => tags.iter().any(|t| t.as_str() != Some(DEFAULT_SCOPE_TAG)),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    if tenant_specific {
        map.remove("roleScopeTagIds");
        map.retain(|k, _| !k.starts_with("roleScopeTagIds@odata."));
    }
    tenant_specific
}

/// Removes every `null` property from objects, recursively (array elements that are `null`
/// stay: their position may matter). CIPP does this when it captures a Conditional Access
/// policy, since Graph refuses some nulls on create.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for v in map.values_mut() {
                strip_nulls(v);
            }
        }
        Value::Array(items) => {
            for v in items {
                strip_nulls(v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_and_pretty_sort_keys() {
        let v = json!({"b": [1, {"z": 1, "a": null}], "a": "x\"\n", "c": {}});
        assert_eq!(
            canonical_string(&v),
            r#"{"a":"x\"\n","b":[1,{"a":null,"z":1}],"c":{}}"#
        );
        assert_eq!(
            canonical_pretty(&v),
            "{\n  \"a\": \"x\\\"\\n\",\n  \"b\": [\n    1,\n    {\n      \"a\": null,\n      \"z\": 1\n    }\n  ],\n  \"c\": {}\n}\n"
        );
    }

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(canonical_string(&json!(1.0)), "1");
        assert_eq!(canonical_string(&json!(-0.0)), "0");
        assert_eq!(canonical_string(&json!(1.5)), "1.5");
        assert_eq!(hash(&json!({"a": 1.0})), hash(&json!({"a": 1})));
        assert_eq!(canonical_string(&json!(0.1 + 0.2)), "0.3");
        assert_eq!(
            canonical_string(&json!(-5.766202020128479e133)),
            "-5.76620202012848e+133"
        );
        // Rounding would overflow: kept as it is.
        assert_eq!(
            canonical_string(&json!(f64::MAX)),
            "1.7976931348623157e+308"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(canonical_string(&json!("\u{1}\u{7f}")), "\"\\u0001\u{7f}\"");
    }

    #[test]
    fn strips_server_fields_and_their_annotations_at_top_level_only() {
        let mut v = json!({
            "id": "1", "@odata.context": "x", "@odata.type": "#microsoft.graph.x",
            "createdDateTime@odata.type": "#DateTimeOffset", "createdDateTime": "t",
            "roleScopeTagIds": ["0", "7"], "displayName": "keep",
            "templateReference": {"templateId": "keep"}, "unknownThing": 1
        });
        let removed = strip_server_owned(&mut v);
        assert_eq!(
            removed,
            [
                "@odata.context",
                "createdDateTime",
                "createdDateTime@odata.type",
                "id",
                "roleScopeTagIds"
            ]
        );
        assert_eq!(
            v,
            json!({"@odata.type": "#microsoft.graph.x", "displayName": "keep",
                   "templateReference": {"templateId": "keep"}, "unknownThing": 1})
        );
        let mut default_tag = json!({"roleScopeTagIds": ["0"]});
        assert!(strip_server_owned(&mut default_tag).is_empty());
    }

    #[test]
    fn strip_nulls_is_recursive() {
        let mut v = json!({"a": null, "b": {"c": null, "d": [null, 1]}});
        strip_nulls(&mut v);
        assert_eq!(v, json!({"b": {"d": [null, 1]}}));
    }
}
