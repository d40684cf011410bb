//! OPATH filters (`-Filter "RecipientTypeDetails -eq 'UserMailbox' -and ArchiveGuid -eq
//! '00000000-…'"`), as `Get-Mailbox`, `Get-User` and `Get-CASMailbox` take them: comparisons
//! (`-eq`, `-ne`, `-like`, `-notlike`, `-gt`, `-ge`, `-lt`, `-le`) of a property with a
//! quoted text, `$true`, `$false`, `$null` or a number, joined by `-and`, `-or`, `-not` and
//! parentheses. Properties and text compare case-insensitively; a multi-valued property
//! matches when any value does. A filter that does not parse is Exchange's "Invalid filter
//! syntax" error.

use serde_json::Value;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    Cmp(String, Op, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Text(String),
    Dash(String),
    Open,
    Close,
}

fn tokens(s: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '\'' | '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let d = *chars.get(i)?;
                    if d == c {
                        // A doubled quote is a quote.
                        if chars.get(i + 1) == Some(&c) {
                            text.push(c);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    text.push(d);
                    i += 1;
                }
                out.push(Tok::Text(text));
            }
            '-' if chars.get(i + 1).is_some_and(|d| d.is_ascii_alphabetic()) => {
                let start = i + 1;
                i = start;
                while chars.get(i).is_some_and(|d| d.is_ascii_alphabetic()) {
                    i += 1;
                }
                out.push(Tok::Dash(
                    chars[start..i]
                        .iter()
                        .collect::<String>()
                        .to_ascii_lowercase(),
                ));
            }
            _ => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|d| !d.is_whitespace() && *d != '(' && *d != ')')
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Some(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Option<Filter> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Dash("or".into())) {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Filter> {
        let mut left = self.not()?;
        while self.peek() == Some(&Tok::Dash("and".into())) {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.not()?));
        }
        Some(left)
    }

    fn not(&mut self) -> Option<Filter> {
        if self.peek() == Some(&Tok::Dash("not".into())) {
            self.at += 1;
            return Some(Filter::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Filter> {
        match self.next()? {
            Tok::Open => {
                let f = self.or()?;
                (self.next()? == Tok::Close).then_some(f)
            }
            Tok::Word(prop) => {
                let Tok::Dash(op) = self.next()? else {
                    return None;
                };
                let op = match op.as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "like" => Op::Like,
                    "notlike" => Op::NotLike,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    _ => return None,
                };
                let value = match self.next()? {
                    Tok::Text(t) => Value::String(t),
                    Tok::Word(w) => match w.to_ascii_lowercase().as_str() {
                        "$true" => Value::Bool(true),
                        "$false" => Value::Bool(false),
                        "$null" => Value::Null,
                        _ => match w.parse::<i64>() {
                            Ok(n) => Value::from(n),
                            Err(_) => Value::String(w),
                        },
                    },
                    _ => return None,
                };
                Some(Filter::Cmp(prop, op, value))
            }
            _ => None,
        }
    }
}

/// Parses an OPATH filter (an optional `{ … }` around it is dropped).
pub(crate) fn parse(filter: &str) -> Option<Filter> {
    let f = filter.trim();
    let f = f
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(f);
    let mut p = Parser {
        toks: tokens(f)?,
        at: 0,
    };
    let out = p.or()?;
    (p.at == p.toks.len()).then_some(out)
}

/// Exchange's error text for a filter that does not parse.
pub(crate) fn syntax_error(filter: &str) -> String {
    format!(
        "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n\"{filter}\" at position 1.\""
    )
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let mut rest = t.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn compare_one(actual: &Value, op: Op, wanted: &Value) -> bool {
    let equal = match (actual, wanted) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Bool(a), Value::String(s)) => s.eq_ignore_ascii_case(&a.to_string()),
        _ => match (text(actual), text(wanted)) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(&b),
            _ => false,
        },
    };
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        Op::Like | Op::NotLike => {
            let m = match (text(actual), text(wanted)) {
                (Some(a), Some(p)) => wildcard(&p, &a),
                _ => equal,
            };
            (op == Op::Like) == m
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let ord = match (actual.as_f64(), wanted.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => match (text(actual), text(wanted)) {
                    (Some(a), Some(b)) => Some(a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())),
                    _ => None,
                },
            };
            ord.is_some_and(|o| match op {
                Op::Gt => o.is_gt(),
                Op::Ge => o.is_ge(),
                Op::Lt => o.is_lt(),
                _ => o.is_le(),
            })
        }
    }
}

/// Whether `row` matches.
pub(crate) fn matches(filter: &Filter, row: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, row) && matches(b, row),
        Filter::Or(a, b) => matches(a, row) || matches(b, row),
        Filter::Not(a) => !matches(a, row),
        Filter::Cmp(prop, op, wanted) => {
            let actual = row
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(prop)))
                .map_or(&Value::Null, |(_, v)| v);
            match actual {
                Value::Array(items) => match op {
                    Op::Ne | Op::NotLike => items.iter().all(|i| compare_one(i, *op, wanted)),
                    _ => items.iter().any(|i| compare_one(i, *op, wanted)),
                },
                one => compare_one(one, *op, wanted),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cipp_filters_parse_and_match() {
        let f = parse(
            r#"ArchiveGuid -Eq "00000000-0000-0000-0000-000000000000" -AND RecipientTypeDetails -Eq "UserMailbox""#,
        )
        .unwrap();
        let row = json!({"ArchiveGuid": "00000000-0000-0000-0000-000000000000", "RecipientTypeDetails": "UserMailbox"});
        assert!(matches(&f, &row));
        let shared = json!({"ArchiveGuid": "00000000-0000-0000-0000-000000000000", "RecipientTypeDetails": "SharedMailbox"});
        assert!(!matches(&f, &shared));
        let f = parse("{RemotePowerShellEnabled -eq $true}").unwrap();
        assert!(matches(&f, &json!({"RemotePowerShellEnabled": true})));
        assert!(!matches(&f, &json!({"RemotePowerShellEnabled": false})));
        let f = parse("-not (Name -like 'a*') -or Count -gt 3").unwrap();
        assert!(matches(&f, &json!({"Name": "bob"})));
        assert!(!matches(&f, &json!({"Name": "alice", "Count": 2})));
        assert!(matches(&f, &json!({"Name": "alice", "Count": 4})));
        let f = parse("EmailAddresses -eq 'smtp:x@contoso.com'").unwrap();
        assert!(matches(
            &f,
            &json!({"EmailAddresses": ["SMTP:a@contoso.com", "smtp:X@contoso.com"]})
        ));
    }

    #[test]
    fn bad_filters_do_not_parse() {
        for bad in [
            "RecipientTypeDetails",
            "A -eq",
            "A -eq 'x' -and",
            "(A -eq 'x'",
            "A -eq 'x",
            "A -frob 'x'",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
