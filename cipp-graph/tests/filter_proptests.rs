//! Property tests of the typed `$filter` builder (`cipp_graph::filter`): any string
//! round-trips through its quoted literal without closing the quote early, property paths
//! accept only identifiers, and any filter tree renders to text that an independent OData
//! parser (below) reads back as the same tree — so parentheses and precedence are right.

use chrono::{DateTime, TimeZone, Utc};
use cipp_graph::filter::{Filter, Prop, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use uuid::Uuid;

// ---- an independent reader of the rendered text --------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

/// Reads one quoted literal starting at `chars[i] == '\''`; returns its value and the
/// index after its closing quote.
fn read_literal(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    if chars.get(i) != Some(&'\'') {
        return Err("not a literal".into());
    }
    i += 1;
    let mut s = String::new();
    loop {
        match chars.get(i) {
            None => return Err("unterminated literal".into()),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(c) => {
                s.push(*c);
                i += 1;
            }
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            ' ' => i += 1,
            '(' | ')' | ',' | ':' => {
                out.push(match chars[i] {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Colon,
                });
                i += 1;
            }
            '\'' => {
                let (s, next) = read_literal(&chars, i)?;
                out.push(Tok::Str(s));
                i = next;
            }
            c => {
                // Numbers and date-times (which hold `:`) start with a digit or `-`.
                let literal = c.is_ascii_digit() || c == '-';
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'')
                    && (literal || chars[i] != ':')
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Guid(Uuid),
    Time(DateTime<Utc>),
}

impl Lit {
    fn value(&self) -> Value {
        match self {
            Lit::Null => Value::Null,
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Int(n) => Value::Int(*n),
            Lit::Float(x) => Value::Float(*x),
            Lit::Str(s) => Value::String(s.clone()),
            Lit::Guid(g) => Value::Guid(*g),
            Lit::Time(t) => Value::DateTime(*t),
        }
    }
}

/// The tree a filter should read back as.
#[derive(Clone, Debug, PartialEq)]
enum M {
    Cmp(String, String, Lit),
    Func(String, String, String),
    In(String, Vec<Lit>),
    Lambda(String, String, String, Box<M>),
    And(Vec<M>),
    Or(Vec<M>),
    Not(Box<M>),
}

fn join(a: M, b: M, and: bool) -> M {
    let split = |m: M| match m {
        M::And(v) if and => v,
        M::Or(v) if !and => v,
        m => vec![m],
    };
    let mut items = split(a);
    items.extend(split(b));
    if and {
        M::And(items)
    } else {
        M::Or(items)
    }
}

struct Reader {
    toks: Vec<Tok>,
    i: usize,
}

impl Reader {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.i).cloned().ok_or("unexpected end")?;
        self.i += 1;
        Ok(t)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        let got = self.next()?;
        if got == t {
            Ok(())
        } else {
            Err(format!("expected {t:?}, got {got:?}"))
        }
    }
    fn word_is(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn or(&mut self) -> Result<M, String> {
        let mut items = vec![self.and()?];
        while self.word_is("or") {
            self.i += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { M::Or(items) })
    }
    fn and(&mut self) -> Result<M, String> {
        let mut items = vec![self.unary()?];
        while self.word_is("and") {
            self.i += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { M::And(items) })
    }
    fn value(&mut self) -> Result<Lit, String> {
        match self.next()? {
            Tok::Str(s) => Ok(Lit::Str(s)),
            Tok::Word(w) => match w.as_str() {
                "null" => Ok(Lit::Null),
                "true" => Ok(Lit::Bool(true)),
                "false" => Ok(Lit::Bool(false)),
                _ => {
                    if let Ok(n) = w.parse::<i64>() {
                        Ok(Lit::Int(n))
                    } else if let Some(g) = Uuid::parse_str(&w).ok().filter(|_| w.len() == 36) {
                        Ok(Lit::Guid(g))
                    } else if let Ok(t) = DateTime::parse_from_rfc3339(&w) {
                        Ok(Lit::Time(t.with_timezone(&Utc)))
                    } else if let Ok(x) = w.parse::<f64>() {
                        Ok(Lit::Float(x))
                    } else {
                        Err(format!("bad literal {w}"))
                    }
                }
            },
            t => Err(format!("expected a value, got {t:?}")),
        }
    }
    fn unary(&mut self) -> Result<M, String> {
        match self.next()? {
            Tok::Open => {
                let m = self.or()?;
                self.expect(Tok::Close)?;
                Ok(m)
            }
            Tok::Word(w) if w == "not" => {
                self.expect(Tok::Open)?;
                let m = self.or()?;
                self.expect(Tok::Close)?;
                Ok(M::Not(Box::new(m)))
            }
            Tok::Word(w)
                if matches!(w.as_str(), "startsWith" | "endsWith" | "contains")
                    && self.peek() == Some(&Tok::Open) =>
            {
                self.i += 1;
                let Tok::Word(path) = self.next()? else { return Err("function path".into()) };
                self.expect(Tok::Comma)?;
                let Tok::Str(s) = self.next()? else { return Err("function string".into()) };
                self.expect(Tok::Close)?;
                Ok(M::Func(w, path, s))
            }
            Tok::Word(w) if self.peek() == Some(&Tok::Open) => {
                let (coll, kind) = w.rsplit_once('/').ok_or("call of a non-function")?;
                if kind != "any" && kind != "all" {
                    return Err(format!("unknown call {w}"));
                }
                self.i += 1;
                let Tok::Word(var) = self.next()? else { return Err("lambda variable".into()) };
                self.expect(Tok::Colon)?;
                let body = self.or()?;
                self.expect(Tok::Close)?;
                Ok(M::Lambda(kind.into(), coll.into(), var, Box::new(body)))
            }
            Tok::Word(path) => {
                let Tok::Word(op) = self.next()? else { return Err("operator".into()) };
                if op == "in" {
                    self.expect(Tok::Open)?;
                    let mut values = vec![self.value()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.i += 1;
                        values.push(self.value()?);
                    }
                    self.expect(Tok::Close)?;
                    return Ok(M::In(path, values));
                }
                if !matches!(op.as_str(), "eq" | "ne" | "gt" | "ge" | "lt" | "le") {
                    return Err(format!("operator {op}"));
                }
                Ok(M::Cmp(path, op, self.value()?))
            }
            t => Err(format!("unexpected {t:?}")),
        }
    }
}

fn read(text: &str) -> Result<M, String> {
    let mut r = Reader { toks: tokenize(text)?, i: 0 };
    let m = r.or()?;
    if r.i != r.toks.len() {
        return Err(format!("trailing tokens after {}", r.i));
    }
    Ok(m)
}

// ---- strategies -------------------------------------------------------------------------

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[' ()a,:]{0,12}",
        "('|'')*( or | and |\\)|\\(|,)('|'')*",
        "\\PC{0,40}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,5}(/[a-zA-Z_][a-zA-Z0-9_]{0,5}){0,2}"
        .prop_filter("a valid property path", |p| Prop::new(p).is_ok())
}

fn var() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,2}".prop_filter("not a keyword", |v| Prop::new(v).is_ok())
}

fn lit() -> impl Strategy<Value = Lit> {
    prop_oneof![
        Just(Lit::Null),
        any::<bool>().prop_map(Lit::Bool),
        any::<i64>().prop_map(Lit::Int),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Lit::Float),
        any_string().prop_map(Lit::Str),
        any::<[u8; 16]>().prop_map(|b| Lit::Guid(Uuid::from_bytes(b))),
        (0i64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, ns)| Lit::Time(Utc.timestamp_opt(s, ns).single().unwrap())),
    ]
}

const OPS: [&str; 6] = ["eq", "ne", "gt", "ge", "lt", "le"];
const FUNCS: [&str; 3] = ["startsWith", "endsWith", "contains"];

fn leaf() -> impl Strategy<Value = (Filter, M)> {
    prop_oneof![
        (path(), 0..6usize, lit()).prop_map(|(p, op, l)| {
            let prop = Prop::new(&p).unwrap();
            let v = l.value();
            let f = match op {
                0 => prop.eq(v),
                1 => prop.ne(v),
                2 => prop.gt(v),
                3 => prop.ge(v),
                4 => prop.lt(v),
                _ => prop.le(v),
            };
            (f, M::Cmp(p, OPS[op].into(), l))
        }),
        (path(), 0..3usize, any_string()).prop_map(|(p, func, s)| {
            let prop = Prop::new(&p).unwrap();
            let f = match func {
                0 => prop.starts_with(s.clone()),
                1 => prop.ends_with(s.clone()),
                _ => prop.contains(s.clone()),
            };
            (f, M::Func(FUNCS[func].into(), p, s))
        }),
        (path(), vec(lit(), 1..4)).prop_map(|(p, ls)| {
            let f = Prop::new(&p).unwrap().is_in(ls.iter().map(Lit::value)).unwrap();
            (f, M::In(p, ls))
        }),
    ]
}

fn tree() -> impl Strategy<Value = (Filter, M)> {
    leaf().prop_recursive(5, 40, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|((fa, ma), (fb, mb))| (fa & fb, join(ma, mb, true))),
            (inner.clone(), inner.clone())
                .prop_map(|((fa, ma), (fb, mb))| (fa | fb, join(ma, mb, false))),
            inner.clone().prop_map(|(f, m)| (!f, M::Not(Box::new(m)))),
            (path(), var(), any::<bool>(), inner).prop_map(|(coll, v, all, (f, m))| {
                let prop = Prop::new(&coll).unwrap();
                let f = if all { prop.all(&v, |_| Ok(f)) } else { prop.any(&v, |_| Ok(f)) };
                let kind = if all { "all" } else { "any" };
                (f.unwrap(), M::Lambda(kind.into(), coll, v, Box::new(m)))
            }),
        ]
    })
}

// ---- properties -------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any string's literal reads back as the same string and ends exactly where it
    /// should: whatever follows is never part of it, nothing of it leaks out.
    #[test]
    fn string_literals_round_trip(s in any_string(), tail in any_string()) {
        let f = Prop::new("displayName").unwrap().eq(s.clone()) & Prop::new("mail").unwrap().starts_with(tail.clone());
        let text = f.to_string();
        let chars: Vec<char> = text.chars().collect();
        let start = "displayName eq ".chars().count();
        let (value, end) = read_literal(&chars, start).unwrap();
        prop_assert_eq!(&value, &s);
        let rest: String = chars[end..].iter().collect();
        prop_assert!(rest.starts_with(" and startsWith(mail,'"), "{}", rest);
        let rest_chars: Vec<char> = rest.chars().collect();
        let (tail_value, tail_end) = read_literal(&rest_chars, " and startsWith(mail,".len()).unwrap();
        prop_assert_eq!(&tail_value, &tail);
        prop_assert_eq!(rest_chars[tail_end..].iter().collect::<String>(), ")");
        // Quotes inside the literal come only in pairs.
        let inner: String = chars[start + 1..end - 1].iter().collect();
        prop_assert_eq!(inner.replace("''", "").contains('\''), false);
    }

    /// Any filter tree renders to text that reads back as the same tree.
    #[test]
    fn filters_read_back_as_built((f, m) in tree()) {
        let text = f.to_string();
        prop_assert_eq!(read(&text), Ok(m), "{}", text);
        // An `or` joined to other clauses keeps its meaning.
        let joined = format!("{} and x eq 1", f.to_and_operand());
        let back = read(&joined).unwrap();
        prop_assert!(matches!(&back, M::And(v) if v.last() == Some(&M::Cmp("x".into(), "eq".into(), Lit::Int(1)))), "{}", joined);
    }

    /// A property path is accepted only when it is identifiers separated by `/`; what is
    /// accepted is written as one token.
    #[test]
    fn property_paths_are_identifiers(p in prop_oneof![any::<String>(), "[a-zA-Z0-9_/.$ '()-]{0,20}", path()]) {
        match Prop::new(&p) {
            Ok(prop) => {
                prop_assert!(p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '$')), "{:?}", p);
                prop_assert!(!p.starts_with('/') && !p.ends_with('/') && !p.contains("//"));
                let text = prop.eq(1).to_string();
                prop_assert_eq!(tokenize(&text).unwrap(), vec![Tok::Word(p.clone()), Tok::Word("eq".into()), Tok::Word("1".into())]);
            }
            Err(e) => {
                let is_input = matches!(e, cipp_core::Error::InvalidInput { .. });
                prop_assert!(is_input, "{}", e);
            }
        }
    }

    /// Lambda variable names are single identifiers.
    #[test]
    fn lambda_variables_are_identifiers(v in prop_oneof![any::<String>(), "[a-z /:()']{0,6}"]) {
        let coll = Prop::new("tags").unwrap();
        if let Ok(f) = coll.any(&v, |x| Ok(x.eq("a"))) {
            prop_assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{:?}", v);
            prop_assert_eq!(f.to_string(), format!("tags/any({v}:{v} eq 'a')"));
        }
    }
}
