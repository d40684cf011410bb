//! Keeping secrets and personal data out of errors and logs.
//!
//! Every error message built from a service's answer goes through [`body_excerpt`] (or
//! [`redact_secrets`] and [`cap`]): proxies, WAFs and misbehaving services echo the request
//! they refused, and that request may carry a client secret, a refresh token or a bearer
//! token. Input echoed back to the caller goes through [`echo`], so a megabyte of input
//! does not become a megabyte of error message.

/// The longest text taken from a response body into an error message, in bytes.
pub const MAX_ERROR_TEXT: usize = 2048;

/// The longest caller input echoed in an error message, in characters.
pub const MAX_ECHO_CHARS: usize = 80;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// `Debug` output of an app credential: `name { client_id: "…", secret: "[REDACTED]", … }`
/// with every one of `secrets` shown as [`REDACTED`].
pub(crate) fn debug_app_credential(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    client_id: &str,
    secrets: &[&str],
) -> std::fmt::Result {
    let mut d = f.debug_struct(name);
    d.field("client_id", &client_id);
    for s in secrets {
        d.field(s, &REDACTED);
    }
    d.finish()
}

/// Keys whose values are secrets, matched case-insensitively at the *end* of a key name
/// (so `client_secret`, `secretText`, `refresh_token`, `newPassword` and
/// `temporaryAccessPass` are all covered), followed by `=` or `:`.
const SECRET_KEY_SUFFIXES: &[&str] = &[
    "secret",
    "secrettext",
    "token",
    "password",
    "assertion",
    "temporaryaccesspass",
    "passcode",
    "apikey",
    "api_key",
    "sig",
];

/// Replaces secrets in `text` with `[REDACTED]`: bearer tokens (`Bearer …`), JWT-shaped
/// strings (`eyJ….….…`), and the values of keys such as `client_secret`, `refresh_token`,
/// `access_token`, `password`, `client_assertion` and `temporaryAccessPass`, in form
/// (`key=value`), JSON (`"key":"value"`) and header (`key: value`) notation.
///
/// ```
/// use cipp_core::redact::redact_secrets;
/// let echoed = "bad request: grant_type=refresh_token&client_secret=s3cr3t&refresh_token=0.AAA-xyz";
/// let clean = redact_secrets(echoed);
/// assert!(!clean.contains("s3cr3t") && !clean.contains("0.AAA"));
/// assert!(clean.contains("client_secret=[REDACTED]"));
/// assert_eq!(redact_secrets("Authorization: Bearer abc.def"), "Authorization: Bearer [REDACTED]");
/// ```
pub fn redact_secrets(text: &str) -> String {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    key_values(lb, bytes, &mut spans);
    bearer_values(lb, bytes, &mut spans);
    jwt_like(bytes, &mut spans);
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (start, end) in merged {
        out.push_str(&text[pos..start]);
        out.push_str(REDACTED);
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn key_values(lower: &[u8], bytes: &[u8], spans: &mut Vec<(usize, usize)>) {
    for key in SECRET_KEY_SUFFIXES {
        let k = key.as_bytes();
        let mut from = 0;
        while let Some(found) = find(&lower[from..], k) {
            let key_end = from + found + k.len();
            from = from + found + 1;
            // The key must end here: `token_type` and `tokens` are other keys.
            if key_end < lower.len() && is_word(lower[key_end]) {
                continue;
            }
            let mut i = key_end;
            // `"key":` or `'key':`
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                i += 1;
            }
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            if i >= bytes.len() || !(bytes[i] == b'=' || bytes[i] == b':') {
                continue;
            }
            i += 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            if i >= bytes.len() {
                continue;
            }
            match bytes[i] {
                // Objects and arrays are walked into by the other keys they hold.
                b'{' | b'[' => continue,
                q @ (b'"' | b'\'') => {
                    let start = i + 1;
                    let mut j = start;
                    while j < bytes.len() && bytes[j] != q {
                        if bytes[j] == b'\\' {
                            j += 1;
                        }
                        j += 1;
                    }
                    let end = j.min(bytes.len());
                    if end > start {
                        spans.push((start, end));
                    }
                }
                b'&' | b',' | b';' | b'}' | b']' | b'<' => {}
                _ => {
                    let start = i;
                    let mut j = start;
                    while j < bytes.len()
                        && !matches!(
                            bytes[j],
                            b'&' | b',' | b';' | b'}' | b']' | b'<' | b'"' | b'\'' | b' '
                        )
                        && !bytes[j].is_ascii_whitespace()
                    {
                        j += 1;
                    }
                    // `null`, `true` and numbers are not secrets worth hiding, but hiding
                    // them is harmless; keep `null` readable.
                    if &bytes[start..j] != b"null" {
                        spans.push((start, j));
                    }
                }
            }
        }
    }
}

fn bearer_values(lower: &[u8], bytes: &[u8], spans: &mut Vec<(usize, usize)>) {
    let k = b"bearer";
    let mut from = 0;
    while let Some(found) = find(&lower[from..], k) {
        let mut i = from + found + k.len();
        from = from + found + 1;
        let ws_start = i;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        if i == ws_start {
            continue;
        }
        let start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'"' | b'\'' | b',' | b';' | b'<' | b'&')
        {
            i += 1;
        }
        if i > start {
            spans.push((start, i));
        }
    }
}

fn jwt_like(bytes: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(found) = find(&bytes[from..], b"eyJ") {
        let start = from + found;
        let mut i = start;
        let mut dots = 0;
        while i < bytes.len() && (is_word(bytes[i]) || bytes[i] == b'.') {
            if bytes[i] == b'.' {
                dots += 1;
            }
            i += 1;
        }
        if dots >= 1 && i - start >= 16 {
            spans.push((start, i));
        }
        from = i.max(start + 1);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Shortens `text` to at most `max` bytes (on a character boundary), appending a marker
/// that says how long it was.
///
/// ```
/// use cipp_core::redact::cap;
/// assert_eq!(cap("short", 10), "short");
/// assert_eq!(cap("0123456789abc", 10), "0123456789… [truncated, 13 bytes in all]");
/// ```
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [truncated, {} bytes in all]", &text[..end], text.len())
}

/// The text of a response body as it may appear in an error: secrets redacted, at most
/// [`MAX_ERROR_TEXT`] bytes.
pub fn body_excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(MAX_ERROR_TEXT * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = cap(&redact_secrets(&text), MAX_ERROR_TEXT);
    if head.len() < body.len() && !out.ends_with(']') {
        out.push_str(&format!("… [truncated, {} bytes in all]", body.len()));
    }
    out
}

/// Service text (a message, a description) as it may appear in an error: secrets
/// redacted, at most [`MAX_ERROR_TEXT`] bytes.
pub fn clean_text(text: &str) -> String {
    cap(&redact_secrets(text), MAX_ERROR_TEXT)
}

/// Caller input as it may be echoed in an error message: at most [`MAX_ECHO_CHARS`]
/// characters, with a marker giving the full length.
///
/// ```
/// use cipp_core::redact::echo;
/// assert_eq!(echo("a@b.com"), "a@b.com");
/// let long = "x".repeat(1_000_000);
/// assert!(echo(&long).len() < 200);
/// ```
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        None => value.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// A request path with object ids, UPNs and e-mail addresses replaced by placeholders
/// (`{id}`, `{upn}`), for logs that must not hold personal data.
///
/// ```
/// use cipp_core::redact::redact_path;
/// assert_eq!(
///     redact_path("/v1.0/users/adele@contoso.com/memberOf"),
///     "/v1.0/users/{upn}/memberOf"
/// );
/// assert_eq!(
///     redact_path("/v1.0/groups/0b7c1c1e-5f4f-4a4a-9b1b-3c5d9e7f1a2b/members/$ref"),
///     "/v1.0/groups/{id}/members/$ref"
/// );
/// assert_eq!(redact_path("/v1.0/users('a@b.com')"), "/v1.0/users({upn})");
/// ```
pub fn redact_path(path: &str) -> String {
    PathDisplay {
        path,
        personal_data: false,
    }
    .to_string()
}

/// Displays a request path for logs: as it is with `personal_data`, otherwise with object
/// ids and UPNs replaced by placeholders (see [`redact_path`]). Nothing is computed until
/// it is formatted, so a disabled span costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct PathDisplay<'a> {
    /// The path.
    pub path: &'a str,
    /// Whether ids and UPNs may be shown.
    pub personal_data: bool,
}

impl std::fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.personal_data {
            return f.write_str(self.path);
        }
        for (i, seg) in self.path.split('/').enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(&redact_segment(seg))?;
        }
        Ok(())
    }
}

fn redact_segment(seg: &str) -> String {
    // `users('x')`, `directoryRoles(roleTemplateId='x')`
    if let Some(open) = seg.find('(') {
        if seg.ends_with(')') {
            let inner = &seg[open + 1..seg.len() - 1];
            let (prefix, value) = match inner.find('=') {
                Some(eq) => (&inner[..=eq], &inner[eq + 1..]),
                None => ("", inner),
            };
            let value = value.trim_matches('\'');
            if let Some(p) = placeholder(value) {
                return format!("{}({prefix}{p})", &seg[..open]);
            }
            return seg.to_owned();
        }
    }
    match placeholder(seg) {
        Some(p) => p.to_owned(),
        None => seg.to_owned(),
    }
}

fn placeholder(value: &str) -> Option<&'static str> {
    if value.contains('@') || value.contains("%40") {
        return Some("{upn}");
    }
    if looks_like_id(value) {
        return Some("{id}");
    }
    None
}

/// A GUID, or a long opaque id (Exchange and Intune ids, base64 keys): anything of at
/// least 16 characters holding a digit, made of id characters only.
fn looks_like_id(value: &str) -> bool {
    let v = value.as_bytes();
    v.len() >= 16
        && v.iter().any(u8::is_ascii_digit)
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'%' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_form_json_header_bearer_and_jwt() {
        let cases = [
            (
                "client_id=app&client_secret=Sup3r~Secret.Value&grant_type=refresh_token&refresh_token=0.AUoA-abc_def&scope=x",
                &["Sup3r~Secret.Value", "0.AUoA-abc_def"][..],
            ),
            (
                r#"{"access_token":"abc.def.ghi","token_type":"Bearer"}"#,
                &["abc.def.ghi"][..],
            ),
            (
                r#"{"passwordProfile":{"password":"P@ss w0rd!","forceChangePasswordNextSignIn":true}}"#,
                &["P@ss w0rd!"][..],
            ),
            (
                r#"{"temporaryAccessPass":"T3mp%Pass","lifetimeInMinutes":60}"#,
                &["T3mp%Pass"][..],
            ),
            (
                "client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
                &["eyJhbGciOiJSUzI1NiJ9"][..],
            ),
            (
                "headers: Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.x.y\r\nHost: graph",
                &["eyJ0eXAiOiJKV1QiLCJhbGciOi"][..],
            ),
            (
                "token eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln in text",
                &["eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"][..],
            ),
            (
                r#"{"secretText":"Abc~123","keyId":"k"}"#,
                &["Abc~123"][..],
            ),
            (
                r#"{"newPassword":"n3w","currentPassword":"0ld"}"#,
                &["n3w", "0ld"][..],
            ),
        ];
        for (text, secrets) in cases {
            let r = redact_secrets(text);
            for s in secrets {
                assert!(!r.contains(s), "{s} left in {r}");
            }
            assert!(r.contains(REDACTED), "{r}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "Insufficient privileges to complete the operation.",
            "Access token has expired or is not yet valid.",
            r#"{"token_type":"Bearer","expires_in":3599}"#,
            "The passwordProfile is invalid",
        ] {
            assert_eq!(redact_secrets(text), text);
        }
    }

    #[test]
    fn body_excerpt_caps_with_marker() {
        let body = "x".repeat(100_000);
        let e = body_excerpt(body.as_bytes());
        assert!(e.len() < MAX_ERROR_TEXT + 100, "{}", e.len());
        assert!(e.contains("truncated"), "{e}");
    }
}
