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
/// [-PrimarySmtpAddress]`. Returns the created group.
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
    .param("RecipientFilter", group.recipient_filter.as_str()))
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
    /// `-RecipientFilter` (dynamic distribution groups).
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
            c = c.param("RecipientFilter", f.as_str());
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
