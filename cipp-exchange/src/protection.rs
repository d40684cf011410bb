//! Mail-flow and protection objects: transport rules, spam filter (hosted content filter)
//! policies and rules, the connection filter policy, inbound and outbound connectors, and
//! Safe Links policies and rules.
//!
//! Every family is one [`ProtectionKind`]; the cmdlets are built from its noun, so
//! `get(ProtectionKind::SafeLinksRule, None)` is `Get-SafeLinksRule` and
//! `new_object(ProtectionKind::InboundConnector, "From partner", &params)` is
//! `New-InboundConnector -Name "From partner" …`. Rows decode as [`ProtectionObject`], which
//! keeps every property it does not model.
//!
//! | kind | cmdlets |
//! |---|---|
//! | [`ProtectionKind::TransportRule`] | `Get/New/Set/Remove/Enable/Disable-TransportRule` |
//! | [`ProtectionKind::HostedContentFilterPolicy`] | `Get/New/Set/Remove-HostedContentFilterPolicy` |
//! | [`ProtectionKind::HostedContentFilterRule`] | `Get/New/Set/Remove/Enable/Disable-HostedContentFilterRule` |
//! | [`ProtectionKind::HostedConnectionFilterPolicy`] | `Get/Set-HostedConnectionFilterPolicy` (it cannot be created or removed) |
//! | [`ProtectionKind::InboundConnector`] | `Get/New/Set/Remove-InboundConnector` |
//! | [`ProtectionKind::OutboundConnector`] | `Get/New/Set/Remove-OutboundConnector` |
//! | [`ProtectionKind::SafeLinksPolicy`] | `Get/New/Set/Remove-SafeLinksPolicy` |
//! | [`ProtectionKind::SafeLinksRule`] | `Get/New/Set/Remove/Enable/Disable-SafeLinksRule` |
//!
//! ```
//! use cipp_exchange::protection::{self, ProtectionKind};
//! let mut params = serde_json::Map::new();
//! params.insert("SafeLinksPolicy".into(), "Strict links".into());
//! params.insert("RecipientDomainIs".into(), serde_json::json!(["contoso.com"]));
//! let c = protection::new_object(ProtectionKind::SafeLinksRule, "Strict links", &params)?;
//! assert_eq!(c.body()["CmdletInput"]["CmdletName"], "New-SafeLinksRule");
//! assert!(protection::new_object(ProtectionKind::HostedConnectionFilterPolicy, "x", &Default::default()).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cmdlet::Cmdlet;
use crate::model::Extra;
use crate::TenantExchange;

/// Longest name Exchange takes for these objects.
pub const MAX_NAME_CHARS: usize = 64;

/// A family of mail-flow or protection objects, named by its cmdlet noun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProtectionKind {
    /// Transport (mail flow) rule.
    TransportRule,
    /// Anti-spam policy (hosted content filter policy).
    HostedContentFilterPolicy,
    /// Anti-spam rule: who a hosted content filter policy applies to.
    HostedContentFilterRule,
    /// Connection filter policy: one per tenant (`Default`), read and set only.
    HostedConnectionFilterPolicy,
    /// Inbound connector.
    InboundConnector,
    /// Outbound connector.
    OutboundConnector,
    /// Defender for Office 365 Safe Links policy.
    SafeLinksPolicy,
    /// Safe Links rule: who a Safe Links policy applies to.
    SafeLinksRule,
}

/// Every kind, in declaration order.
pub const ALL_KINDS: &[ProtectionKind] = &[
    ProtectionKind::TransportRule,
    ProtectionKind::HostedContentFilterPolicy,
    ProtectionKind::HostedContentFilterRule,
    ProtectionKind::HostedConnectionFilterPolicy,
    ProtectionKind::InboundConnector,
    ProtectionKind::OutboundConnector,
    ProtectionKind::SafeLinksPolicy,
    ProtectionKind::SafeLinksRule,
];

impl ProtectionKind {
    /// The cmdlet noun (`HostedContentFilterPolicy`, …).
    pub fn noun(self) -> &'static str {
        match self {
            ProtectionKind::TransportRule => "TransportRule",
            ProtectionKind::HostedContentFilterPolicy => "HostedContentFilterPolicy",
            ProtectionKind::HostedContentFilterRule => "HostedContentFilterRule",
            ProtectionKind::HostedConnectionFilterPolicy => "HostedConnectionFilterPolicy",
            ProtectionKind::InboundConnector => "InboundConnector",
            ProtectionKind::OutboundConnector => "OutboundConnector",
            ProtectionKind::SafeLinksPolicy => "SafeLinksPolicy",
            ProtectionKind::SafeLinksRule => "SafeLinksRule",
        }
    }

    /// The kind whose noun is `noun` (case-insensitive).
    pub fn from_noun(noun: &str) -> Option<ProtectionKind> {
        ALL_KINDS
            .iter()
            .copied()
            .find(|k| k.noun().eq_ignore_ascii_case(noun))
    }

    /// Whether `New-`/`Remove-` exist (not for the connection filter policy).
    pub fn can_create(self) -> bool {
        self != ProtectionKind::HostedConnectionFilterPolicy
    }

    /// Whether this is a rule (with `Enable-`/`Disable-` cmdlets).
    pub fn is_rule(self) -> bool {
        matches!(
            self,
            ProtectionKind::TransportRule
                | ProtectionKind::HostedContentFilterRule
                | ProtectionKind::SafeLinksRule
        )
    }

    /// For a rule bound to a policy: the parameter (and row property) naming the policy
    /// (`HostedContentFilterPolicy`, `SafeLinksPolicy`).
    pub fn policy_parameter(self) -> Option<&'static str> {
        match self {
            ProtectionKind::HostedContentFilterRule => Some("HostedContentFilterPolicy"),
            ProtectionKind::SafeLinksRule => Some("SafeLinksPolicy"),
            _ => None,
        }
    }

    /// The cmdlet `Verb-Noun` for this kind.
    pub fn cmdlet_name(self, verb: &str) -> String {
        format!("{verb}-{}", self.noun())
    }
}

/// A row of any [`ProtectionKind`]'s `Get-` cmdlet. The common properties are typed;
/// everything else (the policy's settings, the rule's conditions) stays in
/// [`ProtectionObject::extra`] as sent. Typed properties that are not set are left out when
/// written back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct ProtectionObject {
    /// Identity (usually the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Whether this is the tenant's default policy (policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Whether it is on (connectors, policies that have it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Enabled` or `Disabled` (rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Order among the rules (rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(ProtectionObject, extra);

impl ProtectionObject {
    /// For a rule: the policy it applies (`HostedContentFilterPolicy` / `SafeLinksPolicy`).
    pub fn policy(&self, kind: ProtectionKind) -> Option<&str> {
        self.extra.get(kind.policy_parameter()?)?.as_str()
    }

    /// Whether the rule is enabled (`State`), or the object (`Enabled`).
    pub fn is_enabled(&self) -> Option<bool> {
        match &self.state {
            Some(s) => Some(!s.eq_ignore_ascii_case("Disabled")),
            None => self.enabled,
        }
    }
}

fn check_identity(identity: &str) -> Result<(), Error> {
    if identity.trim().is_empty() {
        return Err(Error::invalid_input("Identity", "empty identity"));
    }
    Ok(())
}

fn check_creatable(kind: ProtectionKind) -> Result<(), Error> {
    if kind.can_create() {
        Ok(())
    } else {
        Err(Error::invalid_input(
            kind.noun(),
            "Exchange has one connection filter policy per tenant (Default): it cannot be \
             created or removed; change it with Set-HostedConnectionFilterPolicy",
        ))
    }
}

/// Adds `params` to `c`, refusing `Identity` and `Name` (given as their own argument).
pub(crate) fn with_params(mut c: Cmdlet, params: &Map<String, Value>) -> Result<Cmdlet, Error> {
    for (k, v) in params {
        if k.eq_ignore_ascii_case("Identity") || k.eq_ignore_ascii_case("Name") {
            return Err(Error::invalid_input(
                k,
                "give the name or identity as its own argument",
            ));
        }
        c = c.param(k, v.clone());
    }
    Ok(c)
}

/// `Get-<Noun>` (one by identity, or all).
pub fn get(kind: ProtectionKind, identity: Option<&str>) -> Cmdlet<ProtectionObject> {
    let c = Cmdlet::new(&kind.cmdlet_name("Get"));
    match identity {
        Some(i) => c.param("Identity", i),
        None => c,
    }
    .output()
}

/// `New-<Noun> -Name` with its parameters. A rule of a policy needs the policy parameter
/// ([`ProtectionKind::policy_parameter`]); the connection filter policy cannot be created.
pub fn new_object(
    kind: ProtectionKind,
    name: &str,
    params: &Map<String, Value>,
) -> Result<Cmdlet<ProtectionObject>, Error> {
    check_creatable(kind)?;
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid_input("Name", "must be 1–64 characters"));
    }
    if let Some(p) = kind.policy_parameter() {
        let bound = params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(p))
            .and_then(|(_, v)| v.as_str())
            .is_some_and(|v| !v.trim().is_empty());
        if !bound {
            return Err(Error::invalid_input(
                p,
                format!("a {} needs the policy it applies (-{p})", kind.noun()),
            ));
        }
    }
    with_params(
        Cmdlet::new(&kind.cmdlet_name("New")).param("Name", name),
        params,
    )
    .map(Cmdlet::output)
}

/// `Set-<Noun> -Identity` with the parameters to change (at least one).
pub fn set(
    kind: ProtectionKind,
    identity: &str,
    params: &Map<String, Value>,
) -> Result<Cmdlet, Error> {
    check_identity(identity)?;
    if params.is_empty() {
        return Err(Error::invalid_input(
            "Parameters",
            "give at least one change",
        ));
    }
    with_params(
        Cmdlet::new(&kind.cmdlet_name("Set")).param("Identity", identity),
        params,
    )
}

/// `Remove-<Noun> -Identity -Confirm:$false`.
pub fn remove(kind: ProtectionKind, identity: &str) -> Result<Cmdlet, Error> {
    check_creatable(kind)?;
    check_identity(identity)?;
    Ok(Cmdlet::new(&kind.cmdlet_name("Remove"))
        .param("Identity", identity)
        .param("Confirm", false))
}

/// `Enable-<Noun> -Identity` (on) or `Disable-<Noun> -Identity -Confirm:$false` (off), for
/// rules only.
pub fn set_enabled(kind: ProtectionKind, identity: &str, enabled: bool) -> Result<Cmdlet, Error> {
    if !kind.is_rule() {
        return Err(Error::invalid_input(
            kind.noun(),
            "only rules are enabled or disabled; set the object's Enabled parameter instead",
        ));
    }
    check_identity(identity)?;
    let c = if enabled {
        Cmdlet::new(&kind.cmdlet_name("Enable"))
    } else {
        Cmdlet::new(&kind.cmdlet_name("Disable")).param("Confirm", false)
    };
    Ok(c.param("Identity", identity))
}

impl TenantExchange {
    /// Every object of `kind` (`Get-<Noun>`).
    pub async fn protection_objects(
        &self,
        kind: ProtectionKind,
    ) -> Result<Vec<ProtectionObject>, Error> {
        Ok(self.invoke_as(&get(kind, None)).await?.value)
    }

    /// The object of `kind` named `identity`; `None` when Exchange says it does not exist.
    pub async fn protection_object(
        &self,
        kind: ProtectionKind,
        identity: &str,
    ) -> Result<Option<ProtectionObject>, Error> {
        check_identity(identity)?;
        match self.invoke_as(&get(kind, Some(identity))).await {
            Ok(mut out) => Ok(out.value.pop()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
