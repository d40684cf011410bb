//! Encrypted OMA-URI settings of custom device configurations, as templates hold them and
//! as plans compare them.
//!
//! Intune reads a string or XML OMA-URI setting back encrypted: `isEncrypted: true`, a
//! `secretReferenceValueId` and the value masked. CIPP's capture reads the plain text
//! (`getOmaSettingPlainTextValue`) and stores the setting unencrypted, so a template holds
//! the value in clear and deploys it as any other (`isEncrypted: false`, no secret
//! reference; an XML setting's value is the base64 of its text, as Graph types it).
//!
//! The tenant's side never holds the plain text: when [`crate::apply::fetch_state`] and
//! verification read a configuration, each encrypted setting's plain text is read and
//! **sealed** — replaced by a keyed digest ([`seal`]) — and [`crate::plan::diff`] seals the
//! template's value of the same setting the same way before comparing ([`seal_like`]). An
//! unchanged secret therefore compares equal (no false change, no needless update), a
//! changed one shows as a change, and plans, their `Display`, `Debug` output and
//! verification messages show digests, never a tenant's secret. The digest key is random
//! per process, so a digest cannot be reversed by guessing short values offline and is
//! only meaningful within the process that made it.

use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How a sealed value starts.
const SEALED: &str = "(encrypted in the tenant; digest ";

fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k
    })
}

/// `value` sealed: a digest keyed for this process, equal for equal values.
pub(crate) fn seal(value: &str) -> String {
    let mut h = Sha256::new();
    h.update(key());
    h.update(value.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{SEALED}{hex})")
}

/// Whether `v` is a sealed value.
pub(crate) fn is_sealed(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(SEALED))
}

/// Whether an OMA-URI setting of this `@odata.type` holds base64 (`omaSettingStringXml`,
/// whose plain text is the XML itself).
fn is_xml(setting: &Value) -> bool {
    setting
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.omaSettingStringXml"))
}

/// The value a template holds for `setting` whose plain text is `plain`: the text itself,
/// or its base64 for an XML setting (as CIPP stores it).
pub(crate) fn template_value(setting: &Value, plain: &str) -> String {
    if is_xml(setting) {
        base64(plain.as_bytes())
    } else {
        plain.to_owned()
    }
}

/// Seals the values of `desired`'s OMA-URI settings whose counterpart in `current` (same
/// position, same `omaUri`) is sealed, so that the two compare equal exactly when the
/// values are equal.
pub(crate) fn seal_like(desired: &mut Value, current: &Value) {
    let Some(have) = current.get("omaSettings").and_then(Value::as_array) else {
        return;
    };
    let Some(want) = desired.get_mut("omaSettings").and_then(Value::as_array_mut) else {
        return;
    };
    for (w, h) in want.iter_mut().zip(have) {
        let same_uri = match (
            w.get("omaUri").and_then(Value::as_str),
            h.get("omaUri").and_then(Value::as_str),
        ) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if !same_uri || !h.get("value").is_some_and(is_sealed) {
            continue;
        }
        if let Some(Value::String(v)) = w.get_mut("value") {
            if !v.starts_with(SEALED) {
                *v = seal(v);
            }
        }
    }
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                let six = (n >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(DIGITS[six as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"<a/>"), "PGEvPg==");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn seals_are_equal_for_equal_values_and_never_show_the_value() {
        let a = seal("s3cret-value");
        assert_eq!(a, seal("s3cret-value"));
        assert_ne!(a, seal("s3cret-valuf"));
        assert!(!a.contains("s3cret"));
        assert!(is_sealed(&json!(a)));
        assert!(!is_sealed(&json!("plain")));
    }

    #[test]
    fn only_settings_sealed_on_the_tenants_side_are_sealed() {
        let xml = "#microsoft.graph.omaSettingStringXml";
        let mut desired = json!({"omaSettings": [
            {"omaUri": "./A", "value": "key-1"},
            {"omaUri": "./B", "value": "plain"},
            {"@odata.type": xml, "omaUri": "./C", "value": base64(b"<x/>")},
            {"omaUri": "./D", "value": "moved"}
        ]});
        let current = json!({"omaSettings": [
            {"omaUri": "./a", "value": seal("key-1")},
            {"omaUri": "./B", "value": "plain"},
            {"@odata.type": xml, "omaUri": "./C",
             "value": seal(&template_value(&json!({"@odata.type": xml}), "<x/>"))},
            {"omaUri": "./E", "value": seal("moved")}
        ]});
        seal_like(&mut desired, &current);
        assert_eq!(
            desired["omaSettings"][0]["value"],
            current["omaSettings"][0]["value"]
        );
        assert_eq!(desired["omaSettings"][1]["value"], json!("plain"));
        assert_eq!(
            desired["omaSettings"][2]["value"],
            current["omaSettings"][2]["value"]
        );
        // Another setting at that position: left as it is (the arrays differ anyway).
        assert_eq!(desired["omaSettings"][3]["value"], json!("moved"));
    }
}
