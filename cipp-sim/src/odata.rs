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

/// Encodes a query component the way Graph writes its next links (unreserved characters
/// and `$` kept, every other byte percent-encoded: the client's own encoding).
pub fn encode(s: &str) -> String {
    cipp_core::request::encode_component(s)
}

/// A parsed `$filter` expression.
///
/// Supported: `and`, `or`, `not`, parentheses; `eq ne gt ge lt le` against strings
/// (case-insensitive), numbers, booleans, `null` and unquoted date-times; property paths
/// (`status/errorCode`); `startswith`, `endswith` and `contains`; and lambdas
/// `path/any(x:x eq 'v')` / `path/any(t:t/id eq 'v')`. Anything else is refused the way
/// Graph refuses it.
#[derive(Debug, PartialEq)]
pub struct Filter(Expr);

#[derive(Debug, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, String, Literal),
    Func(String, Operand, String),
    /// `operand in (value, …)`.
    In(Operand, Vec<Literal>),
    Any(String, String, Box<Expr>),
    /// `path/all(x: …)`: every element matches (true for an empty collection).
    All(String, String, Box<Expr>),
}

#[derive(Debug, PartialEq, Clone)]
enum Operand {
    Path(String),
    /// A lambda variable, optionally with a sub-path (`t/id`).
    Var(String, Option<String>),
}

#[derive(Debug, PartialEq, Clone)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Time(chrono::DateTime<chrono::Utc>),
}

#[derive(Debug, PartialEq, Clone)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' if !out.last().is_some_and(|t| matches!(t, Tok::Word(w) if w.chars().next().is_some_and(|c| c.is_ascii_digit()))) => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated string literal in filter".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let start = i;
                let numeric = c.is_ascii_digit() || c == '-';
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'')
                    && (numeric || chars[i] != ':')
                {
                    i += 1;
                }
                if i == start {
                    return Err(format!("Invalid character `{c}` in filter"));
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    vars: Vec<String>,
    depth: usize,
}

/// The most tokens a filter may hold (Graph refuses long filters too).
const MAX_FILTER_TOKENS: usize = 1000;
/// The deepest nesting of parentheses, `not` and lambdas.
const MAX_FILTER_DEPTH: usize = 32;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(format!(
                "Syntax error in filter: expected {t:?}, found {other:?}"
            )),
        }
    }
    /// `operand (keyword operand)*`, joined left to right.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Expr, String>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, String> {
        let mut left = operand(self)?;
        while self.keyword(keyword) {
            self.pos += 1;
            left = join(Box::new(left), Box::new(operand(self)?));
        }
        Ok(left)
    }
    fn or(&mut self) -> Result<Expr, String> {
        self.chain("or", Self::and, Expr::Or)
    }
    fn and(&mut self) -> Result<Expr, String> {
        self.chain("and", Self::unary, Expr::And)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err("Syntax error in filter: the expression nests too deeply".into());
        }
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }
    fn unary_inner(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::Close)?;
            return Ok(e);
        }
        let Some(Tok::Word(word)) = self.next() else {
            return Err("Syntax error in filter: expected a property or function".into());
        };
        let lower = word.to_ascii_lowercase();
        if matches!(lower.as_str(), "startswith" | "endswith" | "contains")
            && self.peek() == Some(&Tok::Open)
        {
            self.pos += 1;
            let Some(Tok::Word(prop)) = self.next() else {
                return Err(format!("Syntax error in filter: {lower} needs a property"));
            };
            self.expect(Tok::Comma)?;
            let Some(Tok::Str(lit)) = self.next() else {
                return Err(format!("Syntax error in filter: {lower} needs a string"));
            };
            self.expect(Tok::Close)?;
            return Ok(Expr::Func(lower, self.operand(&prop), lit));
        }
        let lambda = word.rsplit_once('/').and_then(|(path, f)| {
            let f = f.to_ascii_lowercase();
            (f == "any" || f == "all").then(|| (path.to_owned(), f))
        });
        if let Some((path, f)) = lambda {
            self.expect(Tok::Open)?;
            let Some(Tok::Word(var)) = self.next() else {
                return Err("Syntax error in filter: lambda needs a variable".into());
            };
            self.expect(Tok::Colon)?;
            self.vars.push(var.clone());
            let body = self.or()?;
            self.vars.pop();
            self.expect(Tok::Close)?;
            return Ok(if f == "any" {
                Expr::Any(path, var, Box::new(body))
            } else {
                Expr::All(path, var, Box::new(body))
            });
        }
        let left = self.operand(&word);
        let Some(Tok::Word(op)) = self.next() else {
            return Err(format!("Syntax error in filter after `{word}`"));
        };
        let op = op.to_ascii_lowercase();
        if op == "in" {
            self.expect(Tok::Open)?;
            let mut values = Vec::new();
            loop {
                values.push(self.value()?);
                match self.next() {
                    Some(Tok::Comma) => {}
                    Some(Tok::Close) => break,
                    other => {
                        return Err(format!(
                            "Syntax error in filter: expected `,` or `)` in the list of `in`, found {other:?}"
                        ))
                    }
                }
            }
            return Ok(Expr::In(left, values));
        }
        if !matches!(op.as_str(), "eq" | "ne" | "gt" | "ge" | "lt" | "le") {
            return Err(format!("Unsupported or invalid query filter clause specified for property '{word}': operator '{op}'"));
        }
        let lit = self.value()?;
        Ok(Expr::Cmp(left, op, lit))
    }
    /// A literal: a quoted string or a bare word (number, boolean, null, time, GUID).
    fn value(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Word(w)) => literal(&w),
            other => Err(format!(
                "Syntax error in filter: expected a value, found {other:?}"
            )),
        }
    }
    fn operand(&self, word: &str) -> Operand {
        let (head, rest) = match word.split_once('/') {
            Some((h, r)) => (h, Some(r.to_owned())),
            None => (word, None),
        };
        if self.vars.iter().any(|v| v == head) {
            Operand::Var(head.to_owned(), rest)
        } else {
            Operand::Path(word.to_owned())
        }
    }
}

fn literal(w: &str) -> Result<Literal, String> {
    match w.to_ascii_lowercase().as_str() {
        "true" => return Ok(Literal::Bool(true)),
        "false" => return Ok(Literal::Bool(false)),
        "null" => return Ok(Literal::Null),
        _ => {}
    }
    if let Ok(n) = w.parse::<f64>() {
        return Ok(Literal::Num(n));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(w) {
        return Ok(Literal::Time(t.with_timezone(&chrono::Utc)));
    }
    if is_guid(w) {
        // An Edm.Guid literal is written bare; it compares like the id string it is.
        return Ok(Literal::Str(w.to_owned()));
    }
    Err(format!("Invalid literal `{w}` in filter"))
}

/// Whether `w` is a GUID written `8-4-4-4-12` in hexadecimal.
fn is_guid(w: &str) -> bool {
    let parts: Vec<&str> = w.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Sorts `items` by an `$orderby` list (`displayName`, `createdDateTime desc`, several
/// separated by commas). Strings compare case-insensitively; nulls come first.
pub fn order_by(items: &mut [Value], spec: &str) -> Result<(), String> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let prop = words.next().unwrap_or_default().to_owned();
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("Invalid $orderby direction `{other}`")),
        };
        if words.next().is_some() || prop.is_empty() {
            return Err(format!("Invalid $orderby clause `{part}`"));
        }
        keys.push((prop, desc));
    }
    if keys.is_empty() || keys.len() > 8 {
        return Err("Invalid $orderby".to_owned());
    }
    let rank = |v: &Value| -> (u8, String, f64) {
        match v {
            Value::Null => (0, String::new(), 0.0),
            Value::Bool(b) => (1, String::new(), f64::from(u8::from(*b))),
            Value::Number(n) => (1, String::new(), n.as_f64().unwrap_or(0.0)),
            Value::String(s) => (2, s.to_ascii_lowercase(), 0.0),
            other => (3, other.to_string(), 0.0),
        }
    };
    items.sort_by(|a, b| {
        for (prop, desc) in &keys {
            let (x, y) = (rank(lookup(a, prop)), rank(lookup(b, prop)));
            let o =
                x.0.cmp(&y.0)
                    .then_with(|| x.1.cmp(&y.1))
                    .then_with(|| x.2.total_cmp(&y.2));
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

fn lookup<'a>(item: &'a Value, path: &str) -> &'a Value {
    let mut cur = item;
    for seg in path.split('/') {
        cur = match cur {
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|(_, v)| v)
                .unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    cur
}

fn compare(v: &Value, op: &str, lit: &Literal) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::String(s), Literal::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Value::String(s), Literal::Time(t)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&chrono::Utc).cmp(t)),
        (Value::Number(n), Literal::Num(l)) => n.as_f64().and_then(|x| x.partial_cmp(l)),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    };
    match (op, ord) {
        ("eq", Some(o)) => o == Ordering::Equal,
        ("ne", Some(o)) => o != Ordering::Equal,
        ("ne", None) => !matches!(v, Value::Null) || !matches!(lit, Literal::Null),
        ("gt", Some(o)) => o == Ordering::Greater,
        ("ge", Some(o)) => o != Ordering::Less,
        ("lt", Some(o)) => o == Ordering::Less,
        ("le", Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

/// `path` on the item, or on a lambda variable when it starts with one (`t/roles`).
fn lookup_in<'a>(item: &'a Value, env: &[(String, &'a Value)], path: &str) -> &'a Value {
    let (head, rest) = path.split_once('/').unwrap_or((path, ""));
    match env.iter().rev().find(|(n, _)| n == head) {
        Some((_, base)) if rest.is_empty() => base,
        Some((_, base)) => lookup(base, rest),
        None => lookup(item, path),
    }
}

fn eval(e: &Expr, item: &Value, env: &[(String, &Value)]) -> bool {
    let resolve = |o: &Operand| -> Value {
        match o {
            Operand::Path(p) => lookup(item, p).clone(),
            Operand::Var(v, sub) => {
                let base = env
                    .iter()
                    .rev()
                    .find(|(n, _)| n == v)
                    .map(|(_, x)| *x)
                    .unwrap_or(&Value::Null);
                match sub {
                    Some(s) => lookup(base, s).clone(),
                    None => base.clone(),
                }
            }
        }
    };
    match e {
        Expr::And(a, b) => eval(a, item, env) && eval(b, item, env),
        Expr::Or(a, b) => eval(a, item, env) || eval(b, item, env),
        Expr::Not(a) => !eval(a, item, env),
        Expr::Cmp(o, op, lit) => compare(&resolve(o), op, lit),
        Expr::Func(f, o, lit) => {
            let v = resolve(o);
            let Some(s) = v.as_str() else { return false };
            let (s, l) = (s.to_lowercase(), lit.to_lowercase());
            match f.as_str() {
                "startswith" => s.starts_with(&l),
                "endswith" => s.ends_with(&l),
                _ => s.contains(&l),
            }
        }
        Expr::In(o, values) => {
            let v = resolve(o);
            values.iter().any(|lit| compare(&v, "eq", lit))
        }
        Expr::Any(path, var, body) | Expr::All(path, var, body) => {
            // A collection the stored object lacks is an empty one (Graph always has
            // collection properties, `[]` when empty).
            let empty = Vec::new();
            let xs = match lookup_in(item, env, path) {
                Value::Array(xs) => xs,
                Value::Null => &empty,
                _ => return false,
            };
            let each = |x: &Value| {
                let mut env2: Vec<(String, &Value)> = env.to_vec();
                env2.push((var.clone(), x));
                eval(body, item, &env2)
            };
            if matches!(e, Expr::Any(..)) {
                xs.iter().any(each)
            } else {
                xs.iter().all(each)
            }
        }
    }
}

impl Filter {
    /// Parses a filter.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let toks = tokenize(text)?;
        if toks.len() > MAX_FILTER_TOKENS {
            return Err(format!(
                "The filter holds {} tokens; at most {MAX_FILTER_TOKENS} are supported",
                toks.len()
            ));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            vars: Vec::new(),
            depth: 0,
        };
        let e = p.or()?;
        if p.pos != p.toks.len() {
            return Err(format!("Syntax error in filter near token {}", p.pos + 1));
        }
        Ok(Filter(e))
    }

    /// Whether the filter uses operators that need `ConsistencyLevel: eventual` on
    /// directory objects (`endswith`, `ne`, `not`).
    pub fn is_advanced(&self) -> bool {
        fn adv(e: &Expr) -> bool {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => adv(a) || adv(b),
                Expr::Not(_) => true,
                Expr::Cmp(_, op, _) => op == "ne",
                Expr::Func(f, _, _) => f == "endswith",
                Expr::In(..) => false,
                Expr::Any(_, _, b) | Expr::All(_, _, b) => adv(b),
            }
        }
        adv(&self.0)
    }

    /// Whether `item` matches.
    pub fn matches(&self, item: &Value) -> bool {
        eval(&self.0, item, &[])
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
        assert!(Filter::parse("displayName eq 'O''Brien and co'")
            .unwrap()
            .matches(&json!({"displayName":"O'Brien and co"})));
        assert!(Filter::parse("endswith(mail,'x')").unwrap().is_advanced());
        assert!(Filter::parse("mail gt").is_err());
        assert!(Filter::parse("substringof('a',mail)").is_err());
    }

    #[test]
    fn filters_the_sdk_sends() {
        let audit = json!({"activityDisplayName":"Reset user password","activityDateTime":"2026-11-21T10:00:00Z",
            "targetResources":[{"id":"u1","type":"User"}],"initiatedBy":{"user":{"id":"a1"}}});
        let f = Filter::parse("(activityDisplayName eq 'Reset user password' or activityDisplayName eq 'Add user') and targetResources/any(t:t/id eq 'u1') and activityDateTime ge 2026-11-20T00:00:00Z").unwrap();
        assert!(f.matches(&audit));
        assert!(!Filter::parse("activityDateTime ge 2026-11-22T00:00:00Z")
            .unwrap()
            .matches(&audit));
        assert!(Filter::parse("initiatedBy/user/id eq 'a1'")
            .unwrap()
            .matches(&audit));
        let signin =
            json!({"status":{"errorCode":50126},"createdDateTime":"2026-11-21T10:15:02.6843152Z"});
        assert!(
            Filter::parse("status/errorCode ne 0 and createdDateTime le 2026-11-22T00:00:00Z")
                .unwrap()
                .matches(&signin)
        );
        let g = json!({"groupTypes":["Unified","DynamicMembership"]});
        assert!(Filter::parse("groupTypes/any(c:c eq 'Unified')")
            .unwrap()
            .matches(&g));
        assert!(!Filter::parse("not groupTypes/any(c:c eq 'Unified')")
            .unwrap()
            .matches(&g));
    }

    #[test]
    fn in_all_and_bare_guids() {
        let g = json!({"id": "8A6A5F3E-1111-4222-8333-944444444444", "mailNickname": "sales",
            "groupTypes": ["Unified"], "members": [{"id": "a", "roles": ["x"]}, {"id": "b", "roles": ["x", "y"]}]});
        assert!(Filter::parse("mailNickname in ('hr', 'Sales')")
            .unwrap()
            .matches(&g));
        assert!(!Filter::parse("mailNickname in ('hr')").unwrap().matches(&g));
        assert!(Filter::parse("id eq 8a6a5f3e-1111-4222-8333-944444444444")
            .unwrap()
            .matches(&g));
        assert!(Filter::parse(
            "id in (00000000-0000-0000-0000-000000000000, 8a6a5f3e-1111-4222-8333-944444444444)"
        )
        .unwrap()
        .matches(&g));
        assert!(
            Filter::parse("groupTypes/any(c:c in ('Unified', 'DynamicMembership'))")
                .unwrap()
                .matches(&g)
        );
        assert!(Filter::parse("members/all(m:m/roles/any(r:r eq 'x'))")
            .unwrap()
            .matches(&g));
        assert!(!Filter::parse("members/all(m:m/roles/any(r:r eq 'y'))")
            .unwrap()
            .matches(&g));
        assert!(Filter::parse("missing/all(m:m eq 'x')")
            .unwrap()
            .matches(&json!({"missing": []})));
        assert!(Filter::parse("absent/all(m:m eq 'x')").unwrap().matches(&g));
        assert!(!Filter::parse("absent/any(m:m eq 'x')").unwrap().matches(&g));
        assert!(Filter::parse("mailNickname in ()").is_err());
        assert!(Filter::parse("mailNickname in ('a' 'b')").is_err());
        assert!(Filter::parse("id eq 8a6a5f3e-1111").is_err());
    }

    proptest::proptest! {
        #[test]
        fn filters_parse_or_refuse_without_panicking(
            text in proptest::prop_oneof![
                "\\PC{0,120}",
                "[a-zA-Z/]{1,12} (eq|ne|gt|ge|lt|le) ('[^']{0,10}'|[0-9]{1,5}|true|null)( (and|or) [a-z]{1,5} eq 'x'){0,5}",
                "(\\(|not |startswith\\(|[a-z]{1,4}/(any|all)\\([a-z]:){0,40}[a-z]{1,4} (eq 'x'|in \\(('x'|1|[0-9a-f-]{1,36})(, ?'y'){0,3}\\)?)(\\)){0,40}",
            ],
        ) {
            if let Ok(f) = Filter::parse(&text) {
                let _ = f.matches(&json!({"a": 1, "b": "x", "c": [1, 2]}));
                let _ = f.is_advanced();
            }
            let _ = parse_query(Some(&text));
            let _ = percent_decode(&text);
        }
    }

    #[test]
    fn absurd_filters_are_refused() {
        let deep = format!("{}a eq 'x'{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(Filter::parse(&deep).is_err());
        let nots = format!("{}a eq 'x'", "not ".repeat(100_000));
        assert!(Filter::parse(&nots).is_err());
        let long = vec!["a eq 'x'"; 10_000].join(" and ");
        assert!(Filter::parse(&long).is_err());
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
