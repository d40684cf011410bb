//! A typed OData `$filter` builder for what Microsoft Graph accepts.
//!
//! A [`Prop`] is a property path checked when it is made (identifiers separated by `/`,
//! nothing else), so a [`Filter`] built from props and [`Value`]s always renders to a
//! well-formed expression: string literals are quoted with every `'` doubled, GUIDs,
//! numbers, booleans, `null` and date-times (ISO 8601 UTC, `2024-01-01T00:00:00Z`) are
//! written unquoted, and `and` / `or` / `not` get the parentheses their precedence needs
//! (`not` binds tighter than `and`, which binds tighter than `or`).
//!
//! | builder | renders |
//! |---|---|
//! | `p.eq(v)` `ne` `gt` `ge` `lt` `le` | `p eq v` … |
//! | `p.is_null()` / `p.is_not_null()` | `p eq null` / `p ne null` |
//! | `p.starts_with(s)` `ends_with` `contains` | `startsWith(p,'s')` … |
//! | `p.is_in([a, b])?` | `p in ('a','b')` |
//! | `p.any("x", \|x\| Ok(x.child("id")?.eq(v)))?` / `all` | `p/any(x:x/id eq v)` |
//! | `a.and(b)`, `a & b` / `a.or(b)`, `a \| b` / `a.not()`, `!a` | `a and b` / `a or b` / `not(a)` |
//!
//! The result is a plain `$filter` string: pass it to [`Query::filter`] or
//! [`List::filter`](crate::List::filter) (both take `impl Into<String>`, and a `Filter`
//! converts), or to the `extra` field of [`SignInFilter`](crate::audit::SignInFilter) and
//! [`AuditFilter`](crate::audit::AuditFilter), which AND it with their own clauses. The
//! request's query encoding ([`cipp_core::request::encode_component`]) then
//! percent-encodes it as Graph expects (`startsWith(a,'b')` → `startsWith%28a%2C%27b%27%29`).
//!
//! What Graph supports varies by resource and property; each property's documentation
//! says which operators it takes. In particular:
//! - `contains` is refused on directory objects (users, groups, devices, applications,
//!   service principals): use `$search` there; some other resources (several Intune
//!   collections, for example) accept it.
//! - `endsWith`, `ne`, `not` and `not … in` on directory objects are advanced queries:
//!   [`Query`] adds `ConsistencyLevel: eventual` and `$count=true` for them.
//! - `in` is limited to 15 values per clause by default on directory objects.
//! - Compare `Edm.Guid` properties (`skuId`, `correlationId`) with [`Value::Guid`]
//!   (unquoted) and `Edm.String` ones holding ids (`userId`, `targetResources/id`) with
//!   a string (quoted): Graph refuses the other form.
//!
//! ```
//! # fn main() -> Result<(), cipp_core::Error> {
//! use chrono::{TimeZone, Utc};
//! use cipp_graph::filter::{Filter, Prop};
//! use cipp_graph::odata::Query;
//!
//! let since = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
//! let sku = uuid::Uuid::parse_str("c7df2760-2c81-4ef7-b578-5b5392b571df").unwrap();
//! let f = Prop::new("accountEnabled")?.eq(true)
//!     & Prop::new("assignedLicenses")?.any("x", |x| Ok(x.child("skuId")?.eq(sku)))?
//!     & (Prop::new("displayName")?.starts_with("O'Brien") | Prop::new("createdDateTime")?.ge(since));
//! assert_eq!(
//!     f.to_string(),
//!     "accountEnabled eq true \
//!      and assignedLicenses/any(x:x/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df) \
//!      and (startsWith(displayName,'O''Brien') or createdDateTime ge 2024-01-01T00:00:00Z)"
//! );
//! let smtp = Prop::new("proxyAddresses")?.any("p", |p| Ok(p.starts_with("smtp:")))?;
//! assert_eq!(smtp.to_string(), "proxyAddresses/any(p:startsWith(p,'smtp:'))");
//! // Property names are checked before anything is built, let alone sent.
//! assert!(Prop::new("displayName eq 'x' or true").is_err());
//! let q = Query::new().filter(&f);
//! assert_eq!(q.filter_expr(), Some(f.to_string().as_str()));
//! # Ok(()) }
//! ```
//!
//! [`Query`]: crate::odata::Query
//! [`Query::filter`]: crate::odata::Query::filter

use std::fmt::{self, Write as _};

use chrono::{DateTime, SecondsFormat, Utc};
use cipp_core::Error;
use uuid::Uuid;

/// The longest identifier OData allows (`SimpleIdentifier`).
const MAX_IDENTIFIER: usize = 128;
/// The most segments a property path may have.
const MAX_SEGMENTS: usize = 16;

/// Words a property or lambda variable may not be named: OData's operators and literals
/// (Graph reads them case-insensitively).
const RESERVED: &[&str] = &[
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "has", "in", "add", "sub", "mul",
    "div", "divby", "mod", "null", "true", "false", "inf", "nan", "any", "all",
];

/// A property path such as `displayName`, `status/errorCode` or `x/skuId` inside a lambda:
/// identifiers separated by `/` (a segment may be a qualified type cast like
/// `microsoft.graph.user`, and the last one may be `$count`), checked when it is made.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prop(String);

fn bad(path: &str, why: &str) -> Error {
    Error::invalid_input("$filter", format!("`{path}` is not a property path: {why}"))
}

/// Checks one identifier: a letter or `_`, then letters, digits and `_`, at most 128.
fn identifier(word: &str) -> bool {
    let mut chars = word.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first && word.len() <= MAX_IDENTIFIER && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

impl Prop {
    /// A property path, refused unless every `/`-separated segment is an identifier (or a
    /// dotted qualified name, or a final `$count`) and the first is not an OData keyword.
    pub fn new(path: &str) -> Result<Prop, Error> {
        if path.is_empty() {
            return Err(bad(path, "it is empty"));
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() > MAX_SEGMENTS {
            return Err(bad(path, "it has too many segments"));
        }
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            if *seg == "$count" && i == last && i > 0 {
                continue;
            }
            if !seg.split('.').all(identifier) {
                return Err(bad(
                    path,
                    "each segment must be an identifier (letters, digits, `_`)",
                ));
            }
            if reserved(seg)
                && (i == 0 || matches!(seg.to_ascii_lowercase().as_str(), "any" | "all"))
            {
                return Err(bad(path, "it is an OData keyword"));
            }
        }
        Ok(Prop(path.to_owned()))
    }

    /// This path followed by `segment` (`x` → `x/skuId`).
    pub fn child(&self, segment: &str) -> Result<Prop, Error> {
        if segment.contains('/') {
            return Err(bad(segment, "a child is one segment"));
        }
        Prop::new(&format!("{}/{segment}", self.0))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn cmp(&self, op: CmpOp, value: Value) -> Filter {
        Filter(Expr::Cmp(self.clone(), op, value))
    }

    /// `prop eq value`.
    pub fn eq(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Eq, value.into())
    }
    /// `prop ne value` (an advanced query on directory objects).
    pub fn ne(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Ne, value.into())
    }
    /// `prop gt value`.
    pub fn gt(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Gt, value.into())
    }
    /// `prop ge value`.
    pub fn ge(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Ge, value.into())
    }
    /// `prop lt value`.
    pub fn lt(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Lt, value.into())
    }
    /// `prop le value`.
    pub fn le(&self, value: impl Into<Value>) -> Filter {
        self.cmp(CmpOp::Le, value.into())
    }
    /// `prop eq null`.
    pub fn is_null(&self) -> Filter {
        self.cmp(CmpOp::Eq, Value::Null)
    }
    /// `prop ne null`.
    pub fn is_not_null(&self) -> Filter {
        self.cmp(CmpOp::Ne, Value::Null)
    }

    fn func(&self, f: Func, s: impl Into<String>) -> Filter {
        Filter(Expr::Func(f, self.clone(), s.into()))
    }
    /// `startsWith(prop,'s')`.
    pub fn starts_with(&self, s: impl Into<String>) -> Filter {
        self.func(Func::StartsWith, s)
    }
    /// `endsWith(prop,'s')` (an advanced query on directory objects).
    pub fn ends_with(&self, s: impl Into<String>) -> Filter {
        self.func(Func::EndsWith, s)
    }
    /// `contains(prop,'s')`. Graph refuses it on directory objects (use `$search`) and
    /// accepts it only on some properties of other resources: see the module docs.
    pub fn contains(&self, s: impl Into<String>) -> Filter {
        self.func(Func::Contains, s)
    }

    /// `prop in (a,b,…)`; refused when `values` is empty (OData has no empty list).
    pub fn is_in<I, V>(&self, values: I) -> Result<Filter, Error>
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        let values: Vec<Value> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return Err(Error::invalid_input(
                "$filter",
                format!("`{} in ()` needs at least one value", self.0),
            ));
        }
        Ok(Filter(Expr::In(self.clone(), values)))
    }

    fn lambda(
        &self,
        kind: Lambda,
        var: &str,
        body: impl FnOnce(Prop) -> Result<Filter, Error>,
    ) -> Result<Filter, Error> {
        if !identifier(var) || reserved(var) {
            return Err(Error::invalid_input(
                "$filter",
                format!("`{var}` is not a lambda variable name (one identifier)"),
            ));
        }
        let Filter(body) = body(Prop(var.to_owned()))?;
        Ok(Filter(Expr::Lambda {
            kind,
            collection: self.clone(),
            var: var.to_owned(),
            body: Box::new(body),
        }))
    }

    /// `prop/any(var:body)`: true when `body` holds for at least one item of the
    /// collection. `body` gets the range variable as a [`Prop`]: compare it directly for a
    /// collection of primitives (`proxyAddresses/any(p:startsWith(p,'smtp:'))`) or use
    /// [`Prop::child`] for a collection of objects (`assignedLicenses/any(x:x/skuId eq …)`).
    pub fn any(
        &self,
        var: &str,
        body: impl FnOnce(Prop) -> Result<Filter, Error>,
    ) -> Result<Filter, Error> {
        self.lambda(Lambda::Any, var, body)
    }

    /// `prop/all(var:body)`: true when `body` holds for every item (see [`Prop::any`]).
    pub fn all(
        &self,
        var: &str,
        body: impl FnOnce(Prop) -> Result<Filter, Error>,
    ) -> Result<Filter, Error> {
        self.lambda(Lambda::All, var, body)
    }
}

impl fmt::Display for Prop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A literal on the right of a comparison or in an `in` list.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number (`NaN`, `INF`, `-INF` for the non-finite ones).
    Float(f64),
    /// A string, quoted with every `'` doubled; also for enum members (`'high'`).
    String(String),
    /// An `Edm.Guid`, unquoted.
    Guid(Uuid),
    /// An `Edm.DateTimeOffset`, unquoted ISO 8601 UTC (`2024-01-01T00:00:00Z`; fractions
    /// of a second only when present).
    DateTime(DateTime<Utc>),
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(as $cast:ty)?;)*) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$v(x $(as $cast)?)
            }
        }
    )*};
}

value_from! {
    bool => Bool;
    i32 => Int as i64;
    i64 => Int;
    u32 => Int as i64;
    f64 => Float;
    String => String;
    Uuid => Guid;
    DateTime<Utc> => DateTime;
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}

impl Value {
    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(x) if x.is_nan() => out.push_str("NaN"),
            Value::Float(x) if x.is_infinite() => {
                out.push_str(if *x > 0.0 { "INF" } else { "-INF" })
            }
            // `{:?}` keeps a decimal point or exponent (`1.0`, `1e-7`): a double literal.
            Value::Float(x) => {
                let _ = write!(out, "{x:?}");
            }
            Value::String(s) => write_quoted(s, out),
            Value::Guid(g) => {
                let _ = write!(out, "{}", g.hyphenated());
            }
            Value::DateTime(t) => out.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// Quotes a string literal, doubling every single quote: the only character that could
/// end an OData string literal early.
fn write_quoted(s: &str, out: &mut String) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

/// A filter expression (see the [module docs](self)). Render it with `to_string()` or
/// convert it into a `String`.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter(Expr);

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Cmp(Prop, CmpOp, Value),
    Func(Func, Prop, String),
    In(Prop, Vec<Value>),
    Lambda {
        kind: Lambda,
        collection: Prop,
        var: String,
        body: Box<Expr>,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lambda {
    Any,
    All,
}

/// Binding strength: `or` < `and` < everything else (`not`, comparisons, calls).
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Or(_) => 1,
        Expr::And(_) => 2,
        _ => 3,
    }
}

impl Expr {
    fn write(&self, out: &mut String) {
        match self {
            Expr::Cmp(p, op, v) => {
                let op = match op {
                    CmpOp::Eq => "eq",
                    CmpOp::Ne => "ne",
                    CmpOp::Gt => "gt",
                    CmpOp::Ge => "ge",
                    CmpOp::Lt => "lt",
                    CmpOp::Le => "le",
                };
                let _ = write!(out, "{p} {op} ");
                v.write(out);
            }
            Expr::Func(func, p, s) => {
                let name = match func {
                    Func::StartsWith => "startsWith",
                    Func::EndsWith => "endsWith",
                    Func::Contains => "contains",
                };
                let _ = write!(out, "{name}({p},");
                write_quoted(s, out);
                out.push(')');
            }
            Expr::In(p, values) => {
                let _ = write!(out, "{p} in (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(')');
            }
            Expr::Lambda {
                kind,
                collection,
                var,
                body,
            } => {
                let kind = match kind {
                    Lambda::Any => "any",
                    Lambda::All => "all",
                };
                let _ = write!(out, "{collection}/{kind}({var}:");
                body.write(out);
                out.push(')');
            }
            Expr::And(items) => Self::write_joined(items, " and ", 2, out),
            Expr::Or(items) => Self::write_joined(items, " or ", 1, out),
            Expr::Not(inner) => {
                out.push_str("not(");
                inner.write(out);
                out.push(')');
            }
        }
    }

    fn write_joined(items: &[Expr], sep: &str, level: u8, out: &mut String) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            if precedence(item) < level {
                out.push('(');
                item.write(out);
                out.push(')');
            } else {
                item.write(out);
            }
        }
    }

    /// Joins two expressions with `and` (`or`), flattening nested ones of the same kind.
    fn join(self, other: Expr, and: bool) -> Expr {
        let split = |e: Expr| match e {
            Expr::And(v) if and => v,
            Expr::Or(v) if !and => v,
            e => vec![e],
        };
        let mut items = split(self);
        items.extend(split(other));
        if and {
            Expr::And(items)
        } else {
            Expr::Or(items)
        }
    }
}

impl Filter {
    /// `self and other`.
    #[must_use]
    pub fn and(self, other: Filter) -> Filter {
        Filter(self.0.join(other.0, true))
    }

    /// `self or other` (parenthesised when it becomes part of an `and`).
    #[must_use]
    pub fn or(self, other: Filter) -> Filter {
        Filter(self.0.join(other.0, false))
    }

    /// `not(self)` (an advanced query on directory objects).
    #[allow(clippy::should_implement_trait)] // `!filter` works too (`std::ops::Not`)
    #[must_use]
    pub fn not(self) -> Filter {
        Filter(Expr::Not(Box::new(self.0)))
    }

    /// Every filter joined with `and`; `None` when there is none.
    pub fn all_of(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        filters.into_iter().reduce(Filter::and)
    }

    /// Any of the filters (joined with `or`); `None` when there is none.
    pub fn any_of(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        filters.into_iter().reduce(Filter::or)
    }

    /// The expression, parenthesised when it is an `or`, so it can be joined with other
    /// clauses by `" and "`.
    pub fn to_and_operand(&self) -> String {
        let text = self.to_string();
        if precedence(&self.0) < 2 {
            format!("({text})")
        } else {
            text
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.0.write(&mut out);
        f.write_str(&out)
    }
}

impl From<Filter> for String {
    fn from(f: Filter) -> String {
        f.to_string()
    }
}

impl From<&Filter> for String {
    fn from(f: &Filter) -> String {
        f.to_string()
    }
}

impl std::ops::BitAnd for Filter {
    type Output = Filter;
    fn bitand(self, rhs: Filter) -> Filter {
        self.and(rhs)
    }
}

impl std::ops::BitOr for Filter {
    type Output = Filter;
    fn bitor(self, rhs: Filter) -> Filter {
        self.or(rhs)
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;
    fn not(self) -> Filter {
        Filter::not(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn p(path: &str) -> Prop {
        Prop::new(path).unwrap()
    }

    fn render(f: Filter) -> String {
        f.to_string()
    }

    #[test]
    fn comparisons_and_literals() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let g = Uuid::parse_str("C7DF2760-2C81-4EF7-B578-5B5392B571DF").unwrap();
        assert_eq!(
            render(p("accountEnabled").eq(true)),
            "accountEnabled eq true"
        );
        assert_eq!(render(p("status/errorCode").ne(0)), "status/errorCode ne 0");
        assert_eq!(render(p("riskLevel").gt("low")), "riskLevel gt 'low'");
        assert_eq!(
            render(p("createdDateTime").ge(t)),
            "createdDateTime ge 2024-01-01T00:00:00Z"
        );
        let ms = t + chrono::Duration::milliseconds(250);
        assert_eq!(
            render(p("createdDateTime").lt(ms)),
            "createdDateTime lt 2024-01-01T00:00:00.250Z"
        );
        assert_eq!(render(p("n").le(-3i64)), "n le -3");
        assert_eq!(render(p("score").gt(1.0)), "score gt 1.0");
        assert_eq!(render(p("score").gt(f64::NAN)), "score gt NaN");
        assert_eq!(render(p("score").lt(f64::NEG_INFINITY)), "score lt -INF");
        assert_eq!(
            render(p("correlationId").eq(g)),
            "correlationId eq c7df2760-2c81-4ef7-b578-5b5392b571df"
        );
        assert_eq!(render(p("manager").is_null()), "manager eq null");
        assert_eq!(render(p("mail").is_not_null()), "mail ne null");
        assert_eq!(
            render(p("displayName").eq("O'Brien")),
            "displayName eq 'O''Brien'"
        );
        assert_eq!(render(p("displayName").eq("")), "displayName eq ''");
    }

    #[test]
    fn functions_in_and_lambdas() {
        assert_eq!(
            render(p("appDisplayName").starts_with("Office 365")),
            "startsWith(appDisplayName,'Office 365')"
        );
        assert_eq!(
            render(p("mail").ends_with("@contoso.com")),
            "endsWith(mail,'@contoso.com')"
        );
        assert_eq!(
            render(p("deviceName").contains("it's")),
            "contains(deviceName,'it''s')"
        );
        assert_eq!(
            render(p("userType").is_in(["Guest", "Member"]).unwrap()),
            "userType in ('Guest','Member')"
        );
        assert!(p("userType").is_in(Vec::<String>::new()).is_err());
        let sku = Uuid::nil();
        let licensed = p("assignedLicenses").any("x", |x| Ok(x.child("skuId")?.eq(sku)));
        assert_eq!(
            render(licensed.unwrap()),
            "assignedLicenses/any(x:x/skuId eq 00000000-0000-0000-0000-000000000000)"
        );
        let smtp = p("proxyAddresses")
            .any("p", |p| Ok(p.starts_with("smtp:")))
            .unwrap();
        assert_eq!(render(smtp), "proxyAddresses/any(p:startsWith(p,'smtp:'))");
        let all = p("groupTypes").all("g", |g| Ok(g.ne("Unified") & g.ne("DynamicMembership")));
        assert_eq!(
            render(all.unwrap()),
            "groupTypes/all(g:g ne 'Unified' and g ne 'DynamicMembership')"
        );
        let nested = p("a").any("x", |x| x.child("b")?.any("y", |y| Ok(y.eq(1) | y.eq(2))));
        assert_eq!(
            render(nested.unwrap()),
            "a/any(x:x/b/any(y:y eq 1 or y eq 2))"
        );
        assert!(p("a").any("x y", |x| Ok(x.eq(1))).is_err());
        assert!(p("a").any("not", |x| Ok(x.eq(1))).is_err());
        assert!(p("a").any("x", |x| Ok(x.child("b/c")?.eq(1))).is_err());
    }

    #[test]
    fn precedence_gets_minimal_parentheses() {
        let (a, b, c, d) = (p("a").eq(1), p("b").eq(2), p("c").eq(3), p("d").eq(4));
        assert_eq!(
            render(a.clone() & b.clone() & c.clone()),
            "a eq 1 and b eq 2 and c eq 3"
        );
        assert_eq!(
            render(a.clone() | b.clone() | c.clone()),
            "a eq 1 or b eq 2 or c eq 3"
        );
        assert_eq!(
            render((a.clone() | b.clone()) & c.clone()),
            "(a eq 1 or b eq 2) and c eq 3"
        );
        assert_eq!(
            render(a.clone() & (b.clone() | c.clone())),
            "a eq 1 and (b eq 2 or c eq 3)"
        );
        assert_eq!(
            render((a.clone() & b.clone()) | c.clone()),
            "a eq 1 and b eq 2 or c eq 3"
        );
        assert_eq!(
            render((a.clone() | b.clone()) & (c.clone() | d.clone())),
            "(a eq 1 or b eq 2) and (c eq 3 or d eq 4)"
        );
        assert_eq!(render(!(a.clone() & b.clone())), "not(a eq 1 and b eq 2)");
        assert_eq!(render(!a.clone() & b.clone()), "not(a eq 1) and b eq 2");
        assert_eq!(render(!!a.clone()), "not(not(a eq 1))");
        assert_eq!(
            render(!(a.clone() | b.clone()) | (c.clone() & !d.clone())),
            "not(a eq 1 or b eq 2) or c eq 3 and not(d eq 4)"
        );
        let groups = p("groupTypes").any("c", |c| Ok(c.eq("Unified"))).unwrap();
        assert_eq!(
            render(groups.not()),
            "not(groupTypes/any(c:c eq 'Unified'))"
        );
        assert_eq!(
            (a.clone() | b.clone()).to_and_operand(),
            "(a eq 1 or b eq 2)"
        );
        assert_eq!(
            (a.clone() & b.clone()).to_and_operand(),
            "a eq 1 and b eq 2"
        );
        assert_eq!(
            Filter::all_of([a.clone(), b.clone()]),
            Some(a.clone() & b.clone())
        );
        assert_eq!(Filter::any_of([c.clone(), d.clone()]), Some(c | d));
        assert_eq!(Filter::any_of([]), None);
    }

    #[test]
    fn property_paths_are_checked() {
        for ok in [
            "displayName",
            "status/errorCode",
            "_x1",
            "extension_0123abcd_costCenter",
            "members/microsoft.graph.user/displayName",
            "assignedLicenses/$count",
            "onPremisesExtensionAttributes/extensionAttribute1",
            "location/in",
        ] {
            assert!(Prop::new(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "",
            "display Name",
            "1abc",
            "a//b",
            "a/",
            "/a",
            "a'b",
            "a(b)",
            "a,b",
            "null",
            "not",
            "TRUE",
            "a/any",
            "$count",
            "a/$count/b",
            "a.",
            "dïsplay",
            "a eq 'x' or 1 eq 1",
            "a%20b",
        ] {
            assert!(Prop::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Prop::new(&"a".repeat(129)).is_err());
        assert!(Prop::new(&["a"; 17].join("/")).is_err());
        assert!(p("a").child("b/c").is_err());
        assert_eq!(p("a").child("b").unwrap().as_str(), "a/b");
    }
}
