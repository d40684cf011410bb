//! Creating and changing Exchange groups: distribution lists and mail-enabled security
//! groups (`New-DistributionGroup`, `Set-DistributionGroup`) and dynamic distribution
//! groups (`New-DynamicDistributionGroup`, `Set-DynamicDistributionGroup`), with their
//! listings. Each function validates its input and returns a [`Cmdlet`]; nothing is sent.
//!
//! ```
//! use cipp_exchange::distribution_groups::{new_distribution_group, DistributionGroupType, NewDistributionGroup};
//! let g = NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
//!     .alias("sales")
//!     .primary_smtp_address("sales@contoso.com");
//! let c = new_distribution_group(&g)?;
//! assert_eq!(c.body()["CmdletInput"]["Parameters"]["Type"], "Distribution");
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::Error;
use serde_json::Value;

use crate::cmdlet::{validate_smtp, Cmdlet};

/// Exchange's limit on a group's `Name`, `DisplayName` and `Alias`.
pub const MAX_NAME_CHARS: usize = 64;

/// The kind of group `New-DistributionGroup` creates (`-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributionGroupType {
    /// A distribution list (`Distribution`).
    Distribution,
    /// A mail-enabled security group (`Security`).
    Security,
}

impl DistributionGroupType {
    /// Exchange's value for `-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            DistributionGroupType::Distribution => "Distribution",
            DistributionGroupType::Security => "Security",
        }
    }
}

/// What `New-DistributionGroup` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDistributionGroup {
    /// `-Name` (unique in the organisation; also the display name unless one is given).
    pub name: String,
    /// `-DisplayName`.
    pub display_name: Option<String>,
    /// `-Alias` (the mail nickname; Exchange derives one from the name when unset).
    pub alias: Option<String>,
    /// `-PrimarySmtpAddress` (Exchange uses the alias at the default domain when unset).
    pub primary_smtp_address: Option<String>,
    /// `-Type`.
    pub group_type: DistributionGroupType,
    /// `-Description`.
    pub description: Option<String>,
    /// `-RequireSenderAuthenticationEnabled` (`false` lets senders outside the
    /// organisation write to the group).
    pub require_sender_authentication: Option<bool>,
}

impl NewDistributionGroup {
    /// A group named `name` of type `group_type`, everything else left to Exchange.
    pub fn new(name: impl Into<String>, group_type: DistributionGroupType) -> Self {
        NewDistributionGroup {
            name: name.into(),
            display_name: None,
            alias: None,
            primary_smtp_address: None,
            group_type,
            description: None,
            require_sender_authentication: None,
        }
    }

    /// With a display name.
    pub fn display_name(mut self, v: impl Into<String>) -> Self {
        self.display_name = Some(v.into());
        self
    }

    /// With an alias.
    pub fn alias(mut self, v: impl Into<String>) -> Self {
        self.alias = Some(v.into());
        self
    }

    /// With a primary SMTP address.
    pub fn primary_smtp_address(mut self, v: impl Into<String>) -> Self {
        self.primary_smtp_address = Some(v.into());
        self
    }

    /// With a description.
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.description = Some(v.into());
        self
    }

    /// Whether senders must be authenticated (inside the organisation).
    pub fn require_sender_authentication(mut self, v: bool) -> Self {
        self.require_sender_authentication = Some(v);
        self
    }
}

/// What `New-DynamicDistributionGroup` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDynamicDistributionGroup {
    /// `-Name`.
    pub name: String,
    /// `-DisplayName`.
    pub display_name: Option<String>,
    /// `-Alias`.
    pub alias: Option<String>,
    /// `-PrimarySmtpAddress`.
    pub primary_smtp_address: Option<String>,
    /// `-RecipientFilter` (an OPATH filter, for example `Department -eq 'Sales'`).
    pub recipient_filter: String,
}

impl NewDynamicDistributionGroup {
    /// A group named `name` whose members are the recipients `recipient_filter` selects.
    pub fn new(name: impl Into<String>, recipient_filter: impl Into<String>) -> Self {
        NewDynamicDistributionGroup {
            name: name.into(),
            display_name: None,
            alias: None,
            primary_smtp_address: None,
            recipient_filter: recipient_filter.into(),
        }
    }

    /// With a display name.
    pub fn display_name(mut self, v: impl Into<String>) -> Self {
        self.display_name = Some(v.into());
        self
    }

    /// With an alias.
    pub fn alias(mut self, v: impl Into<String>) -> Self {
        self.alias = Some(v.into());
        self
    }

    /// With a primary SMTP address.
    pub fn primary_smtp_address(mut self, v: impl Into<String>) -> Self {
        self.primary_smtp_address = Some(v.into());
        self
    }
}

fn check_name(field: &str, v: &str) -> Result<(), Error> {
    if v.trim().is_empty() {
        return Err(Error::invalid_input(field, "empty"));
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid_input(
            field,
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::invalid_input(field, "holds control characters"));
    }
    Ok(())
}

/// Checks an Exchange alias: letters, digits and ``!#$%&'*+-/=?^_`{|}~``, with periods
/// inside (not first, last or twice in a row), at most 64 characters.
pub fn validate_alias(alias: &str) -> Result<(), Error> {
    check_name("Alias", alias)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if let Some(bad) = alias.chars().find(|c| !allowed(*c)) {
        return Err(Error::invalid_input(
            "Alias",
            format!("`{alias}` holds `{bad}`, which an alias cannot"),
        ));
    }
    if alias.starts_with('.') || alias.ends_with('.') || alias.contains("..") {
        return Err(Error::invalid_input(
            "Alias",
            format!("`{alias}` has a period first, last or twice in a row"),
        ));
    }
    Ok(())
}

fn common(
    mut c: Cmdlet,
    name: &str,
    display_name: Option<&str>,
    alias: Option<&str>,
    smtp: Option<&str>,
) -> Result<Cmdlet, Error> {
    check_name("Name", name)?;
    c = c.param("Name", name);
    if let Some(d) = display_name {
        check_name("DisplayName", d)?;
        c = c.param("DisplayName", d);
    }
    if let Some(a) = alias {
        validate_alias(a)?;
        c = c.param("Alias", a);
    }
    if let Some(s) = smtp {
        validate_smtp("PrimarySmtpAddress", s)?;
        c = c.param("PrimarySmtpAddress", s.trim());
    }
    Ok(c)
}

/// `New-DistributionGroup -Name -Type [-DisplayName] [-Alias] [-PrimarySmtpAddress]
/// [-Description] [-RequireSenderAuthenticationEnabled]`. Returns the created group.
pub fn new_distribution_group(group: &NewDistributionGroup) -> Result<Cmdlet, Error> {
    let mut c = common(
        Cmdlet::new("New-DistributionGroup"),
        &group.name,
        group.display_name.as_deref(),
        group.alias.as_deref(),
        group.primary_smtp_address.as_deref(),
    )?
    .param("Type", group.group_type.as_str());
    if let Some(d) = &group.description {
        c = c.param("Description", d.as_str());
    }
    if let Some(r) = group.require_sender_authentication {
        c = c.param("RequireSenderAuthenticationEnabled", r);
    }
    Ok(c)
}

/// `New-DynamicDistributionGroup -Name -RecipientFilter [-DisplayName] [-Alias]
/// [-PrimarySmtpAddress]`. Returns the created group. A filter read back from Exchange
/// (with the system exclusions Exchange appends) is sent as the user's part only
/// ([`strip_system_exclusions`]): Exchange appends them again.
pub fn new_dynamic_distribution_group(
    group: &NewDynamicDistributionGroup,
) -> Result<Cmdlet, Error> {
    if group.recipient_filter.trim().is_empty() {
        return Err(Error::invalid_input("RecipientFilter", "empty filter"));
    }
    Ok(common(
        Cmdlet::new("New-DynamicDistributionGroup"),
        &group.name,
        group.display_name.as_deref(),
        group.alias.as_deref(),
        group.primary_smtp_address.as_deref(),
    )?
    .param(
        "RecipientFilter",
        strip_system_exclusions(&group.recipient_filter),
    ))
}

fn identity_cmdlet(name: &str, identity: &str) -> Result<Cmdlet, Error> {
    if identity.trim().is_empty() {
        return Err(Error::invalid_input("Identity", "empty group identity"));
    }
    Ok(Cmdlet::new(name).param("Identity", identity))
}

/// What `Set-DistributionGroup` / `Set-DynamicDistributionGroup` change (unset: left
/// alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupChanges {
    /// `-DisplayName`.
    pub display_name: Option<String>,
    /// `-Description` (distribution lists and mail-enabled security groups; an empty one
    /// clears it).
    pub description: Option<String>,
    /// `-RecipientFilter` (dynamic distribution groups; sent without the system
    /// exclusions Exchange appends, see [`strip_system_exclusions`]).
    pub recipient_filter: Option<String>,
    /// `-RequireSenderAuthenticationEnabled`.
    pub require_sender_authentication: Option<bool>,
    /// `-HiddenFromAddressListsEnabled`.
    pub hidden_from_address_lists: Option<bool>,
}

impl GroupChanges {
    /// No change.
    pub fn new() -> Self {
        GroupChanges::default()
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == GroupChanges::default()
    }

    fn apply(&self, mut c: Cmdlet) -> Result<Cmdlet, Error> {
        if self.is_empty() {
            return Err(Error::invalid_input("changes", "nothing to change"));
        }
        if let Some(d) = &self.display_name {
            check_name("DisplayName", d)?;
            c = c.param("DisplayName", d.as_str());
        }
        if let Some(d) = &self.description {
            c = c.param("Description", d.as_str());
        }
        if let Some(f) = &self.recipient_filter {
            if f.trim().is_empty() {
                return Err(Error::invalid_input("RecipientFilter", "empty filter"));
            }
            c = c.param("RecipientFilter", strip_system_exclusions(f));
        }
        if let Some(r) = self.require_sender_authentication {
            c = c.param("RequireSenderAuthenticationEnabled", r);
        }
        if let Some(h) = self.hidden_from_address_lists {
            c = c.param("HiddenFromAddressListsEnabled", h);
        }
        Ok(c)
    }
}

/// `Set-DistributionGroup -Identity` with `changes` (a recipient filter is refused: only
/// dynamic distribution groups have one).
pub fn set_distribution_group(identity: &str, changes: &GroupChanges) -> Result<Cmdlet, Error> {
    if changes.recipient_filter.is_some() {
        return Err(Error::invalid_input(
            "RecipientFilter",
            "only a dynamic distribution group has a recipient filter",
        ));
    }
    changes.apply(identity_cmdlet("Set-DistributionGroup", identity)?)
}

/// `Set-DynamicDistributionGroup -Identity` with `changes` (a description is refused:
/// Exchange has none for dynamic distribution groups).
pub fn set_dynamic_distribution_group(
    identity: &str,
    changes: &GroupChanges,
) -> Result<Cmdlet, Error> {
    if changes.description.is_some() {
        return Err(Error::invalid_input(
            "Description",
            "a dynamic distribution group has no description",
        ));
    }
    changes.apply(identity_cmdlet("Set-DynamicDistributionGroup", identity)?)
}

/// `Get-DistributionGroup -ResultSize Unlimited` (distribution lists and mail-enabled
/// security groups), or the one group `identity` names.
pub fn get_distribution_groups(identity: Option<&str>) -> Result<Cmdlet<Value>, Error> {
    match identity {
        Some(i) => identity_cmdlet("Get-DistributionGroup", i),
        None => Ok(Cmdlet::new("Get-DistributionGroup").param("ResultSize", "Unlimited")),
    }
}

/// `Get-DynamicDistributionGroup -ResultSize Unlimited`, or the one group `identity`
/// names.
pub fn get_dynamic_distribution_groups(identity: Option<&str>) -> Result<Cmdlet<Value>, Error> {
    match identity {
        Some(i) => identity_cmdlet("Get-DynamicDistributionGroup", i),
        None => Ok(Cmdlet::new("Get-DynamicDistributionGroup").param("ResultSize", "Unlimited")),
    }
}

// ---------------------------------------------------------------------------------------
// Recipient filters

/// The first clause of the block Exchange Online appends to every dynamic distribution
/// group's `RecipientFilter`: `-and (-not(Name -like 'SystemMailbox{*')) -and
/// (-not(Name -like 'CAS_{*')) -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan'))
/// -and …` (system, discovery, public folder, arbitration and audit mailboxes). A filter
/// read back from Exchange is the user's filter wrapped in parentheses with that block
/// after it.
pub const SYSTEM_EXCLUSION_START: &str = "-not(Name -like 'SystemMailbox{*')";

/// The system exclusions Exchange Online appends, in its order (see
/// [`SYSTEM_EXCLUSION_START`]).
pub const SYSTEM_EXCLUSIONS: &[&str] = &[
    "(-not(Name -like 'SystemMailbox{*'))",
    "(-not(Name -like 'CAS_{*'))",
    "(-not(RecipientTypeDetailsValue -eq 'MailboxPlan'))",
    "(-not(RecipientTypeDetailsValue -eq 'DiscoveryMailbox'))",
    "(-not(RecipientTypeDetailsValue -eq 'PublicFolderMailbox'))",
    "(-not(RecipientTypeDetailsValue -eq 'ArbitrationMailbox'))",
    "(-not(RecipientTypeDetailsValue -eq 'AuditLogMailbox'))",
    "(-not(RecipientTypeDetailsValue -eq 'AuxAuditLogMailbox'))",
    "(-not(RecipientTypeDetailsValue -eq 'SupervisoryReviewPolicyMailbox'))",
];

/// An OPATH token and where it is in the filter.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    /// A quoted string's content (quotes removed, doubled quotes undone).
    Str(String),
    Word(String),
}

/// The filter's tokens with their byte ranges; `None` when a quote is not closed or the
/// parentheses do not balance.
fn tokens(s: &str) -> Option<Vec<(Tok, std::ops::Range<usize>)>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' || c == b'{' {
            depth += 1;
            out.push((Tok::Open, i..i + 1));
            i += 1;
        } else if c == b')' || c == b'}' {
            depth = depth.checked_sub(1)?;
            out.push((Tok::Close, i..i + 1));
            i += 1;
        } else if c == b'\'' || c == b'"' {
            let start = i;
            let mut text = Vec::new();
            i += 1;
            loop {
                let d = *b.get(i)?;
                if d == c {
                    if b.get(i + 1) == Some(&c) {
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
            out.push((
                Tok::Str(String::from_utf8_lossy(&text).into_owned()),
                start..i,
            ));
        } else {
            let start = i;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && !matches!(b[i], b'(' | b')' | b'{' | b'}' | b'\'' | b'"')
            {
                i += 1;
            }
            out.push((Tok::Word(s[start..i].to_owned()), start..i));
        }
    }
    (depth == 0).then_some(out)
}

fn is_op(t: &Tok, op: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(op))
}

fn is_logical(t: &Tok) -> bool {
    is_op(t, "-and") || is_op(t, "-or") || is_op(t, "-xor")
}

/// Whether `toks` is one parenthesised group: `(` … `)` with the first `(` closed last.
fn wrapped(toks: &[(Tok, std::ops::Range<usize>)]) -> bool {
    if toks.len() < 2 || toks[0].0 != Tok::Open || toks[toks.len() - 1].0 != Tok::Close {
        return false;
    }
    let mut depth = 0usize;
    for (i, (t, _)) in toks.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i != toks.len() - 1 {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// The filter without redundant outer parentheses (`((A -and B))` → `A -and B`).
fn unwrap_outer(s: &str) -> &str {
    let mut s = s.trim();
    while let Some(toks) = tokens(s) {
        if !wrapped(&toks) {
            break;
        }
        let inner = s[toks[0].1.end..toks[toks.len() - 1].1.start].trim();
        if inner.is_empty() {
            break;
        }
        s = inner;
    }
    s
}

/// The top-level `-and` operands of `s` (outside parentheses), as byte ranges; empty when
/// `s` also holds a top-level `-or`/`-xor` (then the appended block is not a conjunct of
/// the whole).
fn conjuncts(toks: &[(Tok, std::ops::Range<usize>)]) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    let mut end = 0;
    for (t, r) in toks {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            t if depth == 0 && is_logical(t) => {
                if !is_op(t, "-and") {
                    return Vec::new();
                }
                if let Some(s) = start.take() {
                    parts.push(s..end);
                }
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(r.start);
        }
        end = r.end;
    }
    if let Some(s) = start {
        parts.push(s..end);
    }
    parts
}

/// Whether `part` is one of the clauses Exchange appends: `(-not(Name -like '…'))` or
/// `(-not(RecipientTypeDetailsValue -eq '…'))`, in any spacing and case.
fn is_system_clause(part: &str) -> bool {
    let Some(toks) = tokens(unwrap_outer(part)) else {
        return false;
    };
    let words: Vec<&Tok> = toks.iter().map(|(t, _)| t).collect();
    match words.as_slice() {
        [Tok::Word(not), Tok::Open, Tok::Word(attr), Tok::Word(op), Tok::Str(_), Tok::Close] => {
            not.eq_ignore_ascii_case("-not")
                && ((attr.eq_ignore_ascii_case("Name") && op.eq_ignore_ascii_case("-like"))
                    || (attr.eq_ignore_ascii_case("RecipientTypeDetailsValue")
                        && op.eq_ignore_ascii_case("-eq")))
        }
        _ => false,
    }
}

/// The user's part of a `RecipientFilter` as Exchange Online returns it: the appended
/// system exclusions (the run of `-and (-not(…))` clauses from
/// [`SYSTEM_EXCLUSION_START`] to the end) and the parentheses Exchange wrapped the user's
/// filter in removed. A filter without that block is returned unchanged, so a filter a
/// user wrote (with their own exclusions) is never altered.
///
/// ```
/// use cipp_exchange::distribution_groups::strip_system_exclusions;
/// let read = "((Department -eq 'Sales') -and (-not(Name -like 'SystemMailbox{*')) -and \
///             (-not(Name -like 'CAS_{*')) -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan')))";
/// assert_eq!(strip_system_exclusions(read), "Department -eq 'Sales'");
/// assert_eq!(strip_system_exclusions("Department -eq 'Sales'"), "Department -eq 'Sales'");
/// ```
pub fn strip_system_exclusions(filter: &str) -> String {
    let body = unwrap_outer(filter);
    let Some(toks) = tokens(body) else {
        return filter.to_owned();
    };
    let parts = conjuncts(&toks);
    let texts: Vec<&str> = parts.iter().map(|r| body[r.clone()].trim()).collect();
    // The block starts at the last SystemMailbox clause followed only by system clauses.
    let start = texts.iter().rposition(|p| {
        let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        compact
            .to_ascii_lowercase()
            .contains(&SYSTEM_EXCLUSION_START.replace(' ', "").to_ascii_lowercase())
    });
    let Some(start) = start.filter(|s| {
        *s > 0
            && texts[*s..]
                .iter()
                .all(|p| is_system_clause(p) || is_system_clause(&format!("({p})")))
    }) else {
        return filter.to_owned();
    };
    let (Some(first), Some(last)) = (parts.first(), parts.get(start - 1)) else {
        return filter.to_owned();
    };
    unwrap_outer(&body[first.start..last.end]).to_owned()
}

/// An OPATH expression, parsed with PowerShell's rules (`-and`, `-or` and `-xor` of equal
/// precedence, left to right; `-not` binds tighter).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Logic(String, Vec<Node>),
    Not(Box<Node>),
    Cmp(Vec<Tok>),
}

struct Parser<'a> {
    toks: &'a [(Tok, std::ops::Range<usize>)],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn expr(&mut self, depth: usize) -> Option<Node> {
        if depth > 64 {
            return None;
        }
        let mut left = self.unary(depth)?;
        while let Some(t) = self.peek() {
            if !is_logical(t) {
                break;
            }
            let Tok::Word(w) = t else { return None };
            let op = w.to_ascii_lowercase();
            self.at += 1;
            let right = self.unary(depth)?;
            left = match left {
                Node::Logic(o, mut items) if o == op => {
                    items.push(right);
                    Node::Logic(o, items)
                }
                other => Node::Logic(op, vec![other, right]),
            };
        }
        Some(left)
    }

    fn unary(&mut self, depth: usize) -> Option<Node> {
        match self.peek()? {
            t if is_op(t, "-not") || is_op(t, "!") => {
                self.at += 1;
                Some(Node::Not(Box::new(self.unary(depth + 1)?)))
            }
            Tok::Open => {
                self.at += 1;
                let inner = self.expr(depth + 1)?;
                if self.peek()? != &Tok::Close {
                    return None;
                }
                self.at += 1;
                Some(inner)
            }
            _ => {
                let mut words = Vec::new();
                while let Some(t) = self.peek() {
                    if is_logical(t) || matches!(t, Tok::Open | Tok::Close) {
                        break;
                    }
                    words.push(t.clone());
                    self.at += 1;
                }
                (!words.is_empty()).then_some(Node::Cmp(words))
            }
        }
    }
}

fn print(node: &Node, out: &mut String) {
    match node {
        Node::Logic(op, items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                    out.push_str(op);
                    out.push(' ');
                }
                // A nested run of the same operator reads the same without parentheses.
                match item {
                    Node::Logic(o, inner) if o == op => {
                        let mut s = String::new();
                        print(&Node::Logic(o.clone(), inner.clone()), &mut s);
                        out.push_str(&s[1..s.len() - 1]);
                    }
                    other => print(other, out),
                }
            }
            out.push(')');
        }
        Node::Not(inner) => {
            out.push_str("(-not ");
            print(inner, out);
            out.push(')');
        }
        Node::Cmp(words) => {
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                match w {
                    Tok::Str(s) => {
                        out.push('\'');
                        out.push_str(&s.replace('\'', "''"));
                        out.push('\'');
                    }
                    Tok::Word(w) => out.push_str(&w.to_ascii_lowercase()),
                    Tok::Open | Tok::Close => {}
                }
            }
        }
    }
}

/// A form of a recipient filter for comparing two of them: the system exclusions
/// stripped ([`strip_system_exclusions`]), then parsed and written back with one
/// parenthesis per operation, operators and property names in lower case, strings in
/// single quotes (values keep their case). So the filter a template gives and the one
/// Exchange returns for it — re-parenthesised, exclusions appended — compare equal, while
/// a change of meaning (another value, `-and` for `-or`, other grouping) does not. A
/// filter that does not parse is compared by its text with white space collapsed.
///
/// ```
/// use cipp_exchange::distribution_groups::canonical_recipient_filter as c;
/// let sent = "Department -eq 'Sales' -or Department -eq \"PR\"";
/// let read = "((((Department -eq 'Sales') -or (Department -eq 'PR'))) -and \
///             (-not(Name -like 'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*')))";
/// assert_eq!(c(sent), c(read));
/// assert_ne!(c("A -eq 'x' -and B -eq 'y' -or C -eq 'z'"), c("A -eq 'x' -and (B -eq 'y' -or C -eq 'z')"));
/// ```
pub fn canonical_recipient_filter(filter: &str) -> String {
    let user = strip_system_exclusions(filter);
    let collapsed = || user.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(toks) = tokens(&user) else {
        return collapsed();
    };
    let mut p = Parser { toks: &toks, at: 0 };
    match p.expr(0) {
        Some(node) if p.at == toks.len() => {
            let mut out = String::new();
            print(&node, &mut out);
            out
        }
        _ => collapsed(),
    }
}
