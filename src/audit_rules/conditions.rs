//! One condition of an audit-log rule: a property path into the (enriched) record, an
//! operator and an input, with PowerShell's comparison semantics where they are sensible.
//!
//! CIPP turns each condition into `$_.<Property> -<operator> '<input>'` and runs it through
//! `Where-Object`. The rules here follow PowerShell where it matters for real rules, and say
//! where they differ:
//!
//! * Property names are case-insensitive; a dot walks into nested objects, and through an
//!   array it collects the property of every element (PowerShell's member enumeration). A
//!   key that itself contains dots (`Role.DisplayName`, as Entra ID's `ModifiedProperties`
//!   names are flattened) is found first as a whole.
//! * A missing property or JSON `null` is PowerShell's `$null`: it is equal to nothing, is
//!   like / matches what the empty string would, and is never greater or smaller.
//! * A property holding a list (or collected through one) holds the condition when any of
//!   its elements does. Every negated operator (`ne`, `notlike`, `notmatch`, `notin`,
//!   `notcontains`) is exactly the negation of its positive form, also for lists — unlike
//!   PowerShell, where `@('a','b') -ne 'a'` is truthy.
//! * Text comparisons ignore case. A JSON number on the left compares numerically with a
//!   numeric input (as PowerShell converts the right side to the left side's type); a JSON
//!   boolean compares as the text `true` / `false` (PowerShell would treat any non-empty
//!   string as `$true`).
//! * `like` knows `*` and `?` only; `[` and `]` are literal characters (PowerShell would read
//!   them as a character class).
//! * `match` uses the `regex` crate, not .NET: look-around and back-references are refused
//!   when the rule is loaded, as are patterns longer than [`MAX_PATTERN_LEN`] or compiling
//!   beyond a fixed size.
//! * `gt`, `lt`, `ge`, `le` compare numbers when both sides parse as numbers, else dates
//!   (RFC 3339, or the unified audit log's `2024-05-02T09:14:22` without offset, read as
//!   UTC), else text ignoring case.
//! * `in` / `notin` take a JSON list (of values or of `{value, label}` objects) or a
//!   comma-separated text; `contains` / `notcontains` test membership for a list and a
//!   substring (ignoring case) for a text.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::RuleError;

/// The longest `match` / `notmatch` pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;

/// The longest property path accepted, in bytes.
pub const MAX_PROPERTY_LEN: usize = 256;

/// The compiled size limit of one regular expression (bytes of the `regex` crate's program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A validated property path: ASCII letters, digits, `_` and `.` (CIPP's
/// `^[A-Za-z0-9_.]+$`), no empty segment, at most [`MAX_PROPERTY_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PropertyPath(String);

impl PropertyPath {
    /// Checks and wraps a property path such as `Operation`, `CIPPParameters.ForwardTo` or
    /// `Role.DisplayName`.
    pub fn parse(path: &str) -> Result<Self, RuleError> {
        let invalid = |reason: &str| RuleError::InvalidProperty {
            property: path.to_owned(),
            reason: reason.to_owned(),
        };
        if path.is_empty() {
            return Err(invalid("is empty"));
        }
        if path.len() > MAX_PROPERTY_LEN {
            return Err(invalid(&format!(
                "is longer than {MAX_PROPERTY_LEN} characters"
            )));
        }
        if !path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(invalid(
                "may only contain letters A-Z, digits, '_' and '.' (as CIPP requires)",
            ));
        }
        if path.split('.').any(str::is_empty) {
            return Err(invalid(
                "has an empty segment (a leading, trailing or doubled '.')",
            ));
        }
        Ok(Self(path.to_owned()))
    }

    /// A path known to be valid (the presets' own).
    pub(crate) fn trusted(path: &'static str) -> Self {
        Self(path.to_owned())
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the path finds in `record`.
    pub(crate) fn resolve<'a>(&self, record: &'a Value) -> Subject<'a> {
        // A key containing dots, taken whole, wins over walking the segments.
        if self.0.contains('.') {
            if let Some(v) = record.as_object().and_then(|o| get_key(o, &self.0)) {
                return Subject::from_value(v);
            }
        }
        let mut current: Vec<&'a Value> = vec![record];
        let mut enumerated = false;
        for segment in self.0.split('.') {
            let mut next = Vec::new();
            for value in current {
                match value {
                    Value::Object(o) => {
                        if let Some(v) = get_key(o, segment) {
                            next.push(v);
                        }
                    }
                    Value::Array(items) => {
                        enumerated = true;
                        for item in items {
                            if let Some(v) = item.as_object().and_then(|o| get_key(o, segment)) {
                                next.push(v);
                            }
                        }
                    }
                    _ => {}
                }
            }
            current = next;
        }
        if !enumerated && current.len() == 1 {
            return Subject::from_value(current[0]);
        }
        let mut items = Vec::new();
        for v in current {
            match v {
                Value::Array(a) => items.extend(a.iter().filter(|x| !x.is_null())),
                Value::Null => {}
                other => items.push(other),
            }
        }
        if items.is_empty() {
            Subject::Missing
        } else {
            Subject::List(items)
        }
    }
}

impl TryFrom<String> for PropertyPath {
    type Error = RuleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PropertyPath> for String {
    fn from(p: PropertyPath) -> Self {
        p.0
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key of a JSON object, exact first, then ignoring ASCII case (as PowerShell does).
pub(crate) fn get_key<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// What a property path found in a record.
#[derive(Debug, Clone)]
pub(crate) enum Subject<'a> {
    /// No such property, or JSON `null`.
    Missing,
    /// One value that is not a list.
    Scalar(&'a Value),
    /// A list, or values collected through a list.
    List(Vec<&'a Value>),
}

impl<'a> Subject<'a> {
    fn from_value(v: &'a Value) -> Self {
        match v {
            Value::Null => Subject::Missing,
            Value::Array(items) => Subject::List(items.iter().filter(|x| !x.is_null()).collect()),
            other => Subject::Scalar(other),
        }
    }
}

/// A comparison operator CIPP allows (`Test-CIPPConditionFilter`'s list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Operator {
    /// Equal, ignoring case.
    Eq,
    /// Not equal: exactly `!eq`.
    Ne,
    /// Wildcard match (`*`, `?`), ignoring case.
    Like,
    /// Exactly `!like`.
    NotLike,
    /// Regular-expression search, ignoring case.
    Match,
    /// Exactly `!match`.
    NotMatch,
    /// Greater than (numbers, then dates, then text).
    Gt,
    /// Less than.
    Lt,
    /// Greater than or equal.
    Ge,
    /// Less than or equal.
    Le,
    /// The value is one of the input list.
    In,
    /// Exactly `!in`.
    NotIn,
    /// A list property holds the input; a text property contains it.
    Contains,
    /// Exactly `!contains`.
    NotContains,
}

impl Operator {
    /// Every operator, in CIPP's order.
    pub const ALL: [Operator; 14] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Like,
        Operator::NotLike,
        Operator::Match,
        Operator::NotMatch,
        Operator::Gt,
        Operator::Lt,
        Operator::Ge,
        Operator::Le,
        Operator::In,
        Operator::NotIn,
        Operator::Contains,
        Operator::NotContains,
    ];

    /// The operator as CIPP writes it (`eq`, `notlike`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::Like => "like",
            Operator::NotLike => "notlike",
            Operator::Match => "match",
            Operator::NotMatch => "notmatch",
            Operator::Gt => "gt",
            Operator::Lt => "lt",
            Operator::Ge => "ge",
            Operator::Le => "le",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Contains => "contains",
            Operator::NotContains => "notcontains",
        }
    }

    /// The positive operator and whether this one negates it.
    fn positive(self) -> (Operator, bool) {
        match self {
            Operator::Ne => (Operator::Eq, true),
            Operator::NotLike => (Operator::Like, true),
            Operator::NotMatch => (Operator::Match, true),
            Operator::NotIn => (Operator::In, true),
            Operator::NotContains => (Operator::Contains, true),
            other => (other, false),
        }
    }
}

impl FromStr for Operator {
    type Err = RuleError;
    /// Parses an operator ignoring case (`EQ`, `NotIn` and `notin` are the same).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Operator::ALL
            .into_iter()
            .find(|op| op.as_str() == lower)
            .ok_or_else(|| RuleError::UnknownOperator {
                operator: s.to_owned(),
                property: None,
            })
    }
}

impl TryFrom<String> for Operator {
    type Error = RuleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Operator> for String {
    fn from(op: Operator) -> Self {
        op.as_str().to_owned()
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition: `<property> <operator> <input>`. Built with [`Condition::new`] (or
/// deserialized, which does the same checks), so a regular expression is compiled once.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "RawCondition", into = "RawCondition")]
pub struct Condition {
    property: PropertyPath,
    operator: Operator,
    input: Value,
    compiled: Compiled,
}

/// The serialized shape of a [`Condition`]: `{"property", "operator", "input"}`.
#[derive(Serialize, Deserialize)]
struct RawCondition {
    property: String,
    operator: String,
    #[serde(default)]
    input: Value,
}

impl TryFrom<RawCondition> for Condition {
    type Error = RuleError;
    fn try_from(raw: RawCondition) -> Result<Self, Self::Error> {
        let property = PropertyPath::parse(&raw.property)?;
        let operator =
            raw.operator
                .parse::<Operator>()
                .map_err(|_| RuleError::UnknownOperator {
                    operator: raw.operator.clone(),
                    property: Some(raw.property.clone()),
                })?;
        Condition::new(property, operator, raw.input)
    }
}

impl From<Condition> for RawCondition {
    fn from(c: Condition) -> Self {
        RawCondition {
            property: c.property.0,
            operator: c.operator.as_str().to_owned(),
            input: c.input,
        }
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("property", &self.property.0)
            .field("operator", &self.operator)
            .field("input", &self.input)
            .finish()
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.property == other.property
            && self.operator == other.operator
            && self.input == other.input
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = match &self.input {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        write!(f, "{} {} {}", self.property, self.operator, input)
    }
}

impl Condition {
    /// Checks and compiles a condition. `input` is a text, number or boolean for the
    /// single-value operators; a JSON list or a comma-separated text for `in` / `notin`; a
    /// regular expression (at most [`MAX_PATTERN_LEN`] bytes) for `match` / `notmatch`.
    pub fn new(
        property: PropertyPath,
        operator: Operator,
        input: Value,
    ) -> Result<Self, RuleError> {
        let compiled = compile(operator, &input).map_err(|reason| match reason {
            CompileError::Regex(reason) => RuleError::InvalidRegex {
                property: property.0.clone(),
                pattern: scalar_text(&input).into_owned(),
                reason,
            },
            CompileError::TooLong(len) => RuleError::PatternTooLong {
                property: property.0.clone(),
                len,
                max: MAX_PATTERN_LEN,
            },
            CompileError::Input(reason) => RuleError::InvalidInput {
                property: property.0.clone(),
                operator: operator.as_str().to_owned(),
                reason,
            },
        })?;
        Ok(Self {
            property,
            operator,
            input,
            compiled,
        })
    }

    /// A condition of the presets (valid by construction; were it not, it would never hold,
    /// and the presets' tests would fail).
    pub(crate) fn preset(property: &'static str, operator: Operator, input: Value) -> Self {
        let compiled = compile(operator, &input).unwrap_or(Compiled::Never);
        Self {
            property: PropertyPath::trusted(property),
            operator,
            input,
            compiled,
        }
    }

    /// The property path.
    pub fn property(&self) -> &PropertyPath {
        &self.property
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The input as given.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// Whether the condition holds for `record` (an enriched audit record, see
    /// [`super::enrich`]).
    pub fn holds(&self, record: &Value) -> bool {
        let subject = self.property.resolve(record);
        let (positive, negate) = self.operator.positive();
        let result = match &self.compiled {
            Compiled::Never => return false,
            Compiled::Text(t) => match positive {
                Operator::Eq => any_of(&subject, |v| eq_value(v, t)),
                Operator::Gt => any_of(&subject, |v| order(v, t) == Some(Ordering::Greater)),
                Operator::Lt => any_of(&subject, |v| order(v, t) == Some(Ordering::Less)),
                Operator::Ge => any_of(&subject, |v| {
                    matches!(order(v, t), Some(Ordering::Greater | Ordering::Equal))
                }),
                Operator::Le => any_of(&subject, |v| {
                    matches!(order(v, t), Some(Ordering::Less | Ordering::Equal))
                }),
                Operator::Contains => match &subject {
                    Subject::Missing => false,
                    Subject::Scalar(v @ Value::String(_)) => {
                        scalar_text(v).to_lowercase().contains(&t.lower)
                    }
                    Subject::Scalar(v) => eq_value(v, t),
                    Subject::List(items) => items.iter().any(|v| eq_value(v, t)),
                },
                _ => false,
            },
            Compiled::Wildcard(pattern) => match &subject {
                Subject::Missing => wildcard_chars(&[], pattern),
                _ => any_of(&subject, |v| {
                    let text: Vec<char> = scalar_text(v).to_lowercase().chars().collect();
                    wildcard_chars(&text, pattern)
                }),
            },
            Compiled::Regex(re) => match &subject {
                Subject::Missing => re.is_match(""),
                _ => any_of(&subject, |v| re.is_match(&scalar_text(v))),
            },
            Compiled::List(list) => any_of(&subject, |v| list.iter().any(|t| eq_value(v, t))),
        };
        result != negate
    }
}

/// Whether `f` holds for the value, or for any element of a list.
fn any_of(subject: &Subject<'_>, f: impl Fn(&Value) -> bool) -> bool {
    match subject {
        Subject::Missing => false,
        Subject::Scalar(v) => f(v),
        Subject::List(items) => items.iter().any(|v| f(v)),
    }
}

/// An input prepared for comparison.
#[derive(Clone, Debug)]
enum Compiled {
    /// A single value.
    Text(Text),
    /// A lower-cased `like` pattern.
    Wildcard(Vec<char>),
    /// A compiled `match` pattern.
    Regex(Regex),
    /// An `in` list.
    List(Vec<Text>),
    /// A condition that could not be compiled (presets only): never holds.
    Never,
}

/// One comparison value, with its number and date readings.
#[derive(Clone, Debug)]
struct Text {
    lower: String,
    number: Option<f64>,
    date: Option<DateTime<Utc>>,
}

impl Text {
    fn new(s: &str) -> Self {
        Self {
            lower: s.to_lowercase(),
            number: parse_number(s),
            date: parse_date(s),
        }
    }
}

enum CompileError {
    Regex(String),
    TooLong(usize),
    Input(String),
}

fn compile(operator: Operator, input: &Value) -> Result<Compiled, CompileError> {
    let (positive, _) = operator.positive();
    match positive {
        Operator::In => Ok(Compiled::List(
            list_items(input).iter().map(|s| Text::new(s)).collect(),
        )),
        Operator::Match => {
            let pattern = single(input)?;
            if pattern.len() > MAX_PATTERN_LEN {
                return Err(CompileError::TooLong(pattern.len()));
            }
            RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Compiled::Regex)
                .map_err(|e| CompileError::Regex(e.to_string()))
        }
        Operator::Like => {
            let pattern = single(input)?;
            Ok(Compiled::Wildcard(pattern.to_lowercase().chars().collect()))
        }
        _ => Ok(Compiled::Text(Text::new(&single(input)?))),
    }
}

/// The text of a single-value input; a list is refused (use `in`).
fn single(input: &Value) -> Result<String, CompileError> {
    match input {
        Value::Array(_) => Err(CompileError::Input(
            "takes a single value, not a list (use `in` / `notin` for a list)".to_owned(),
        )),
        Value::Object(o) => match o.get("value") {
            // A `{value, label}` choice as CIPP's forms store it.
            Some(v) if !v.is_array() && !v.is_object() => Ok(scalar_text(v).into_owned()),
            _ => Err(CompileError::Input(
                "takes a text, number or boolean, not an object".to_owned(),
            )),
        },
        other => Ok(scalar_text(other).into_owned()),
    }
}

/// The items of an `in` input: a JSON list (of values or `{value, label}` objects), or a
/// comma-separated text.
pub(crate) fn list_items(input: &Value) -> Vec<String> {
    match input {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Null => None,
                Value::Object(o) => o.get("value").map(|v| scalar_text(v).into_owned()),
                other => Some(scalar_text(other).into_owned()),
            })
            .collect(),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Null => Vec::new(),
        Value::Object(o) => match o.get("value") {
            Some(v) => list_items(v),
            None => Vec::new(),
        },
        other => vec![scalar_text(other).into_owned()],
    }
}

/// A value as text: a string as is, a number as JSON writes it, `true` / `false`, `null` as
/// the empty string, an object or list as compact JSON.
pub(crate) fn scalar_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        other => Cow::Owned(other.to_string()),
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    // Only plain decimal numbers: Rust would also read "inf" and "NaN".
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if t.len() < 10 || !t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn value_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

/// `eq` for one non-list value.
fn eq_value(v: &Value, t: &Text) -> bool {
    if let (Value::Number(n), Some(x)) = (v, t.number) {
        if let Some(y) = n.as_f64() {
            return y == x;
        }
    }
    scalar_text(v).to_lowercase() == t.lower
}

/// The order of one non-list value against the input: numbers, then dates, then text.
fn order(v: &Value, t: &Text) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (value_number(v), t.number) {
        return a.partial_cmp(&b);
    }
    let text = scalar_text(v);
    if let (Some(a), Some(b)) = (parse_date(&text), t.date) {
        return Some(a.cmp(&b));
    }
    Some(text.to_lowercase().as_str().cmp(t.lower.as_str()))
}

/// PowerShell's `-like` for `*` and `?`, ignoring case: whether `text` matches `pattern`.
pub fn wildcard_match(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    wildcard_chars(&text, &pattern)
}

/// Wildcard matching with one backtracking point: O(text × pattern) at worst, no recursion.
fn wildcard_chars(text: &[char], pattern: &[char]) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn cond(p: &str, op: &str, input: Value) -> Condition {
        Condition::new(
            PropertyPath::parse(p).expect("path"),
            op.parse().expect("operator"),
            input,
        )
        .expect("condition")
    }

    #[test]
    fn property_paths_are_validated() {
        assert!(PropertyPath::parse("CIPPParameters.ForwardTo").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a b", "$_.x", "a;b", "Ünicode"] {
            let err = PropertyPath::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("property"), "{err}");
        }
        assert!(PropertyPath::parse(&"a".repeat(MAX_PROPERTY_LEN + 1)).is_err());
    }

    #[test]
    fn keys_are_case_insensitive_and_dots_walk_objects() {
        let r = json!({"operation": "New-InboxRule", "Outer": {"Inner": 5}, "Role.DisplayName": "Exchange Administrator"});
        assert!(cond("Operation", "eq", json!("new-inboxrule")).holds(&r));
        assert!(cond("outer.inner", "eq", json!("5")).holds(&r));
        assert!(cond("Role.DisplayName", "eq", json!("exchange administrator")).holds(&r));
    }

    #[test]
    fn member_enumeration_through_lists() {
        let r = json!({"Target": [{"ID": "a"}, {"ID": "b"}], "Tags": ["x", "y"]});
        assert!(cond("Target.ID", "eq", json!("b")).holds(&r));
        assert!(!cond("Target.ID", "eq", json!("c")).holds(&r));
        assert!(cond("Tags", "contains", json!("Y")).holds(&r));
        assert!(cond("Tags", "notcontains", json!("z")).holds(&r));
    }

    #[test]
    fn missing_is_null() {
        let r = json!({"Operation": "x", "Null": null});
        for p in ["Nope", "Null"] {
            assert!(!cond(p, "eq", json!("")).holds(&r));
            assert!(cond(p, "ne", json!("[]")).holds(&r));
            assert!(!cond(p, "like", json!("*PassId*")).holds(&r));
            assert!(cond(p, "like", json!("*")).holds(&r));
            assert!(!cond(p, "gt", json!("1")).holds(&r));
            assert!(!cond(p, "in", json!(["a"])).holds(&r));
            assert!(cond(p, "notin", json!(["a"])).holds(&r));
        }
    }

    #[test]
    fn numbers_booleans_and_text() {
        let r = json!({"RecordType": 15, "Proxy": true, "Size": "10", "Name": "Beta"});
        assert!(cond("RecordType", "eq", json!("15.0")).holds(&r));
        assert!(cond("Proxy", "eq", json!("True")).holds(&r));
        assert!(cond("Proxy", "ne", json!("false")).holds(&r));
        assert!(
            cond("Size", "gt", json!("9")).holds(&r),
            "numeric, not text order"
        );
        assert!(cond("Size", "le", json!(10)).holds(&r));
        assert!(cond("Name", "gt", json!("alpha")).holds(&r));
        assert!(cond("Name", "lt", json!("GAMMA")).holds(&r));
    }

    #[test]
    fn dates_compare_as_dates() {
        let r = json!({"CreationTime": "2024-05-02T09:14:22"});
        assert!(cond("CreationTime", "gt", json!("2024-05-02T09:00:00Z")).holds(&r));
        assert!(!cond("CreationTime", "lt", json!("2024-05-02T10:14:22+01:00")).holds(&r));
        assert!(cond("CreationTime", "ge", json!("2024-05-02T10:14:22+01:00")).holds(&r));
    }

    #[test]
    fn in_takes_lists_and_comma_text() {
        let r = json!({"CIPPGeoLocation": "NL"});
        assert!(cond("CIPPGeoLocation", "in", json!("US, nl ,BE")).holds(&r));
        assert!(cond(
            "CIPPGeoLocation",
            "in",
            json!([{"value": "NL", "label": "Netherlands"}])
        )
        .holds(&r));
        assert!(cond("CIPPGeoLocation", "notin", json!(["US", "BE"])).holds(&r));
        assert!(!cond("CIPPGeoLocation", "notin", json!(["US", "nl"])).holds(&r));
    }

    #[test]
    fn contains_is_substring_for_text() {
        let r = json!({"ObjectId": "meganb@contoso.com\\Forward all"});
        assert!(cond("ObjectId", "contains", json!("FORWARD")).holds(&r));
        assert!(cond("ObjectId", "notcontains", json!("delete")).holds(&r));
    }

    #[test]
    fn regex_is_case_insensitive_and_checked_at_load() {
        let r = json!({"UserAgent": "python-requests/2.31"});
        assert!(cond("UserAgent", "match", json!("^PYTHON-")).holds(&r));
        assert!(cond("UserAgent", "notmatch", json!("curl")).holds(&r));
        let bad = Condition::new(
            PropertyPath::parse("x").expect("p"),
            Operator::Match,
            json!("(unclosed"),
        );
        assert!(matches!(bad, Err(RuleError::InvalidRegex { .. })));
        let lookahead = Condition::new(
            PropertyPath::parse("x").expect("p"),
            Operator::Match,
            json!("a(?=b)"),
        );
        assert!(matches!(lookahead, Err(RuleError::InvalidRegex { .. })));
        let long = Condition::new(
            PropertyPath::parse("x").expect("p"),
            Operator::Match,
            json!("a".repeat(MAX_PATTERN_LEN + 1)),
        );
        assert!(matches!(long, Err(RuleError::PatternTooLong { .. })));
        let huge = Condition::new(
            PropertyPath::parse("x").expect("p"),
            Operator::Match,
            json!("(?:\\w{500}){500}"),
        );
        assert!(
            matches!(huge, Err(RuleError::InvalidRegex { .. })),
            "{huge:?}"
        );
    }

    #[test]
    fn single_value_operators_refuse_lists() {
        let err = Condition::new(
            PropertyPath::parse("x").expect("p"),
            Operator::Eq,
            json!(["a"]),
        )
        .expect_err("list");
        assert!(err.to_string().contains("use `in`"), "{err}");
    }

    #[test]
    fn operators_parse_ignoring_case_and_unknown_ones_are_named() {
        assert_eq!("EQ".parse::<Operator>().expect("eq"), Operator::Eq);
        assert_eq!("NotIn".parse::<Operator>().expect("notin"), Operator::NotIn);
        let err = "between".parse::<Operator>().expect_err("unknown");
        assert!(err.to_string().contains("between"), "{err}");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("RSS Feeds", "*rss*"));
        assert!(wildcard_match("attacker@evil.example", "*@*"));
        assert!(!wildcard_match("Inbox", "*@*"));
        assert!(wildcard_match("abc", "a?c"));
        assert!(!wildcard_match("abc", "a?"));
        assert!(wildcard_match("", "*"));
        assert!(!wildcard_match("", "?"));
        assert!(wildcard_match("[x]", "[x]"), "brackets are literal");
        assert!(wildcard_match(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "*a*a*a*a*a*a*b"
        ));
    }

    #[test]
    fn conditions_round_trip_through_serde() {
        let c = cond("MoveToFolder", "like", json!("*RSS*"));
        let v = serde_json::to_value(&c).expect("ser");
        assert_eq!(
            v,
            json!({"property": "MoveToFolder", "operator": "like", "input": "*RSS*"})
        );
        let back: Condition = serde_json::from_value(v).expect("de");
        assert_eq!(back, c);
        let bad = serde_json::from_value::<Condition>(
            json!({"property": "x", "operator": "approx", "input": "1"}),
        )
        .expect_err("bad operator");
        assert!(bad.to_string().contains("approx"), "{bad}");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn like_with_the_literal_string_matches(s in ".*") {
            prop_assert!(wildcard_match(&s, &s));
            let r = json!({"P": s.clone()});
            prop_assert!(cond("P", "like", json!(s)).holds(&r));
        }

        #[test]
        fn wildcard_never_panics(text in ".*", pattern in "[a-c*?\\[\\]]{0,12}") {
            let _ = wildcard_match(&text, &pattern);
        }

        #[test]
        fn star_matches_everything(text in ".*") {
            prop_assert!(wildcard_match(&text, "*"));
            prop_assert!(wildcard_match(&text, "**"));
        }

        #[test]
        fn ne_is_not_eq(value in arb_json(), input in ".*") {
            let r = json!({"P": value});
            let eq = cond("P", "eq", json!(input.clone())).holds(&r);
            let ne = cond("P", "ne", json!(input)).holds(&r);
            prop_assert_eq!(eq, !ne);
        }

        #[test]
        fn every_operator_on_arbitrary_json_never_panics(value in arb_json(), input in ".*", path in "[A-Za-z]{1,3}(\\.[A-Za-z]{1,3}){0,2}") {
            let r = json!({"P": value.clone(), "Q": [value.clone(), {"P": value}]});
            for op in Operator::ALL {
                let c = Condition::new(PropertyPath::parse(&path).expect("path"), op, json!(input.clone()));
                if let Ok(c) = c {
                    let (positive, negate) = op.positive();
                    let _ = c.holds(&r);
                    if negate {
                        let p = Condition::new(PropertyPath::parse(&path).expect("path"), positive, json!(input.clone()))
                            .expect("the positive form compiles too");
                        prop_assert_eq!(c.holds(&r), !p.holds(&r));
                    }
                }
            }
        }

        #[test]
        fn ordering_is_consistent(a in "-?[0-9]{1,6}", b in "-?[0-9]{1,6}") {
            let r = json!({"P": a.clone()});
            let gt = cond("P", "gt", json!(b.clone())).holds(&r);
            let le = cond("P", "le", json!(b.clone())).holds(&r);
            prop_assert_eq!(gt, !le);
            let x: f64 = a.parse().expect("number");
            let y: f64 = b.parse().expect("number");
            prop_assert_eq!(gt, x > y);
        }

        #[test]
        fn text_ordering_is_consistent(a in ".*", b in ".*") {
            let r = json!({"P": a});
            let lt = cond("P", "lt", json!(b.clone())).holds(&r);
            let ge = cond("P", "ge", json!(b)).holds(&r);
            prop_assert_eq!(lt, !ge);
        }
    }
}
