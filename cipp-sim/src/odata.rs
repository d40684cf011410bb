//! Query-string and path helpers: OData options, `$filter` expressions, percent-decoding.

use serde_json::Value;

/// Decodes `%XX` escapes (a `+` stays a `+`, as in a URL path).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a query string into decoded (name, value) pairs (`+` means space).
pub fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    match query {
        Some(q) if !q.is_empty() => q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    percent_decode(&k.replace('+', " ")),
                    percent_decode(&v.replace('+', " ")),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Encodes a query component the way Graph writes its next links.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'$' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A parsed `$filter`: a conjunction of simple clauses.
#[derive(Debug, PartialEq)]
pub struct Filter(Vec<Clause>);

#[derive(Debug, PartialEq)]
enum Clause {
    Eq(String, Value),
    Ne(String, Value),
    StartsWith(String, String),
}

impl Filter {
    /// Parses the clauses the simulator supports: `prop eq 'x'`, `prop ne 'x'`,
    /// `prop eq true|false|null`, `startswith(prop,'x')`, joined by `and`.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut clauses = Vec::new();
        for part in split_and(text) {
            let p = part.trim();
            let lower = p.to_ascii_lowercase();
            if lower.starts_with("startswith(") && p.ends_with(')') {
                let inner = &p["startswith(".len()..p.len() - 1];
                let (prop, lit) = inner
                    .split_once(',')
                    .ok_or_else(|| format!("Invalid filter clause: {p}"))?;
                let lit = parse_literal(lit.trim())?;
                let Value::String(s) = lit else {
                    return Err(format!("startswith needs a string: {p}"));
                };
                clauses.push(Clause::StartsWith(prop.trim().to_owned(), s));
                continue;
            }
            let words: Vec<&str> = p.splitn(3, ' ').collect();
            if words.len() == 3 {
                let lit = parse_literal(words[2].trim())?;
                match words[1].to_ascii_lowercase().as_str() {
                    "eq" => {
                        clauses.push(Clause::Eq(words[0].to_owned(), lit));
                        continue;
                    }
                    "ne" => {
                        clauses.push(Clause::Ne(words[0].to_owned(), lit));
                        continue;
                    }
                    _ => {}
                }
            }
            return Err(format!(
                "Unsupported or invalid query filter clause specified: {p}"
            ));
        }
        Ok(Filter(clauses))
    }

    /// Whether `item` matches (string comparisons ignore case, as directory queries do).
    pub fn matches(&self, item: &Value) -> bool {
        self.0.iter().all(|c| match c {
            Clause::Eq(prop, v) => values_equal(item.get(prop).unwrap_or(&Value::Null), v),
            Clause::Ne(prop, v) => !values_equal(item.get(prop).unwrap_or(&Value::Null), v),
            Clause::StartsWith(prop, s) => item
                .get(prop)
                .and_then(Value::as_str)
                .is_some_and(|x| x.to_lowercase().starts_with(&s.to_lowercase())),
        })
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn split_and(text: &str) -> Vec<String> {
    // Split on " and " outside quotes.
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote
            && chars[i..]
                .iter()
                .take(5)
                .collect::<String>()
                .eq_ignore_ascii_case(" and ")
        {
            parts.push(std::mem::take(&mut cur));
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
}

fn parse_literal(s: &str) -> Result<Value, String> {
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        return Ok(Value::String(s[1..s.len() - 1].replace("''", "'")));
    }
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" => Ok(Value::Null),
        _ => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("Invalid literal in filter: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters() {
        let u = json!({"displayName":"Adele Vance","accountEnabled":true,"userPrincipalName":"AdeleV@contoso.com"});
        assert!(Filter::parse("startswith(displayName,'ad')")
            .unwrap()
            .matches(&u));
        assert!(Filter::parse(
            "userPrincipalName eq 'adelev@contoso.com' and accountEnabled eq true"
        )
        .unwrap()
        .matches(&u));
        assert!(!Filter::parse("accountEnabled eq false")
            .unwrap()
            .matches(&u));
        assert!(Filter::parse("displayName eq 'O''Brien and co'").is_ok());
        assert!(Filter::parse("endswith(mail,'x')").is_err());
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%40b.com"), "a@b.com");
        assert_eq!(percent_decode("x%23EXT%23%40y"), "x#EXT#@y");
        assert_eq!(percent_decode("bad%4"), "bad%4");
        assert_eq!(
            parse_query(Some("$filter=a+eq+%27b%27&$top=5")),
            vec![
                ("$filter".to_string(), "a eq 'b'".to_string()),
                ("$top".to_string(), "5".to_string())
            ]
        );
    }
}
