//! The properties CIPP adds to an audit record before rules see it.
//!
//! What needs no outside service is done here: the name/value lists of a record
//! (`Parameters` of Exchange cmdlets, `ExtendedProperties` and `DeviceProperties` of sign-ins,
//! `ModifiedProperties` of directory changes) become properties, and the forwarding targets
//! of inbox rules and mailboxes are collected. What needs one — the country, proxy and
//! hosting flags of the client IP — comes from the caller's [`IpInfo`].
//!
//! Properties added (CIPP's names, plus `CIPPForwardingAddress`):
//!
//! | Property | Value |
//! |---|---|
//! | `<Name>` of each `Parameters`, `ExtendedProperties`, `DeviceProperties` entry | its `Value` (a name the record already has keeps the record's value) |
//! | `CIPPParameters`, `CIPPExtendedProperties`, `CIPPDeviceProperties` | an object `{Name: Value}` (CIPP keeps these as JSON text; as objects they can be reached as `CIPPParameters.ForwardTo`, and `like` on the whole object still sees its JSON) |
//! | `<Name>` / `Previous_Value_<Name>` of each `ModifiedProperties` entry | its `NewValue` / `OldValue` as text |
//! | `CIPPModifiedProperties` | an object `{Name: {NewValue, OldValue}}` |
//! | `CIPPForwardingAddress` | the addresses of `ForwardTo`, `RedirectTo`, `ForwardAsAttachmentTo`, `ForwardingSmtpAddress`, `ForwardingAddress` (list; absent when none) |
//! | `ClientIP` | rewritten without port or brackets |
//! | `CIPPGeoLocation`, `CIPPBadRepIP`, `CIPPHostedIP` | country, proxy/anonymiser flag, hosting flag of the client IP; `"Unknown"` for private and reserved addresses and for addresses the [`IpInfo`] does not know |
//! | `CIPPIPDetected`, `CIPPLocationInfo` | the client IP; the [`IpDetails`] found (or `null`) |
//! | `HasLocationData` | whether a location is known (true for private addresses, as in CIPP); false for trusted, redacted or missing IPs |
//! | `AuditRecord` | for Graph audit-log query records (`{…, auditData: {…}}`): the outer record |
//!
//! CIPP also maps GUIDs and partner UPNs to directory names (`CIPP<Name>` properties); that
//! needs the tenant's directory and is not done here.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::conditions::{get_key, scalar_text};

/// `ExtendedProperties` values that mark the intermediate steps of one sign-in; CIPP skips
/// records carrying one of them, and so does [`super::evaluate`].
pub const IGNORED_EXTENDED_PROPERTY_VALUES: [&str; 4] = [
    "SAS:EndAuth",
    "SAS:ProcessAuth",
    "deviceAuth:ReprocessTls",
    "Consent:Set",
];

/// What is known about one IP address (CIPP's geo-IP answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct IpDetails {
    /// Country or region, as the lookup service names it (CIPP's countries are ISO 3166
    /// alpha-2 codes, e.g. `NL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_or_region: Option<String>,
    /// City, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Internet provider or organisation, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isp: Option<String>,
    /// A known VPN, proxy or anonymiser (Tor) address.
    #[serde(default)]
    pub proxy: bool,
    /// A hosting provider or data-centre address.
    #[serde(default)]
    pub hosting: bool,
}

impl IpDetails {
    /// Details with a country and no flags.
    pub fn new(country_or_region: impl Into<String>) -> Self {
        Self {
            country_or_region: Some(country_or_region.into()),
            ..Self::default()
        }
    }

    /// Sets the proxy / anonymiser flag.
    pub fn with_proxy(mut self, proxy: bool) -> Self {
        self.proxy = proxy;
        self
    }

    /// Sets the hosting-provider flag.
    pub fn with_hosting(mut self, hosting: bool) -> Self {
        self.hosting = hosting;
        self
    }

    /// Sets the city.
    pub fn with_city(mut self, city: impl Into<String>) -> Self {
        self.city = Some(city.into());
        self
    }

    /// Sets the provider.
    pub fn with_isp(mut self, isp: impl Into<String>) -> Self {
        self.isp = Some(isp.into());
        self
    }
}

/// The caller's knowledge of IP addresses. Evaluation is synchronous: look the distinct
/// client IPs of a batch up first (CIPP does one batched geo-IP call per run) and answer from
/// memory here.
pub trait IpInfo {
    /// What is known about a public address; `None` when nothing is.
    fn lookup(&self, ip: IpAddr) -> Option<IpDetails>;

    /// Whether the address is one of the tenant's trusted IPs (CIPP's `trustedIps` table):
    /// records from it get no location properties. None by default.
    fn is_trusted(&self, _ip: IpAddr) -> bool {
        false
    }
}

/// Knows no address: every public IP is `"Unknown"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIpInfo;

impl IpInfo for NoIpInfo {
    fn lookup(&self, _ip: IpAddr) -> Option<IpDetails> {
        None
    }
}

/// A fixed, in-memory [`IpInfo`] (for tests, or filled from a prefetch).
#[derive(Debug, Clone, Default)]
pub struct StaticIpInfo {
    details: HashMap<IpAddr, IpDetails>,
    trusted: HashSet<IpAddr>,
}

impl StaticIpInfo {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds what is known about `ip`.
    pub fn with(mut self, ip: IpAddr, details: IpDetails) -> Self {
        self.details.insert(ip, details);
        self
    }

    /// Marks `ip` as trusted.
    pub fn trust(mut self, ip: IpAddr) -> Self {
        self.trusted.insert(ip);
        self
    }

    /// Adds or replaces what is known about `ip`.
    pub fn insert(&mut self, ip: IpAddr, details: IpDetails) {
        self.details.insert(ip, details);
    }
}

impl IpInfo for StaticIpInfo {
    fn lookup(&self, ip: IpAddr) -> Option<IpDetails> {
        self.details.get(&ip).cloned()
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.contains(&ip)
    }
}

/// The audit record rules are evaluated on: the record itself (Microsoft's unified audit log
/// shape), or its `auditData` when it is a Graph audit-log query record, with the
/// properties listed in the module documentation added. A record that is not a JSON
/// object is returned unchanged.
pub fn enrich(record: &Value, ip: &dyn IpInfo) -> Value {
    let (mut data, outer) = match record
        .as_object()
        .and_then(|o| get_key(o, "auditData"))
        .and_then(Value::as_object)
    {
        Some(inner) => (inner.clone(), Some(record)),
        None => match record.as_object() {
            Some(o) => (o.clone(), None),
            None => return record.clone(),
        },
    };

    for (list, summary) in [
        ("Parameters", "CIPPParameters"),
        ("ExtendedProperties", "CIPPExtendedProperties"),
        ("DeviceProperties", "CIPPDeviceProperties"),
    ] {
        let pairs = name_values(&data, list);
        if pairs.is_empty() {
            continue;
        }
        let mut obj = Map::new();
        for (name, value) in pairs {
            insert_new(&mut data, &name, value.clone());
            obj.insert(name, value);
        }
        data.insert(summary.to_owned(), Value::Object(obj));
    }

    if let Some(Value::Array(items)) = get_key(&data, "ModifiedProperties").cloned() {
        let mut obj = Map::new();
        for item in items.iter().filter_map(Value::as_object) {
            let Some(name) = get_key(item, "Name").and_then(Value::as_str) else {
                continue;
            };
            let new = get_key(item, "NewValue").cloned().unwrap_or(Value::Null);
            let old = get_key(item, "OldValue").cloned().unwrap_or(Value::Null);
            insert_new(
                &mut data,
                name,
                Value::String(scalar_text(&new).into_owned()),
            );
            insert_new(
                &mut data,
                &format!("Previous_Value_{name}"),
                Value::String(scalar_text(&old).into_owned()),
            );
            let mut pair = Map::new();
            pair.insert("NewValue".to_owned(), new);
            pair.insert("OldValue".to_owned(), old);
            obj.insert(name.to_owned(), Value::Object(pair));
        }
        if !obj.is_empty() {
            data.insert("CIPPModifiedProperties".to_owned(), Value::Object(obj));
        }
    }

    let forwarding = forwarding_addresses(&data);
    if !forwarding.is_empty() {
        data.insert(
            "CIPPForwardingAddress".to_owned(),
            Value::Array(forwarding.into_iter().map(Value::String).collect()),
        );
    }

    let has_location = add_location(&mut data, ip);
    data.insert("HasLocationData".to_owned(), Value::Bool(has_location));

    if let Some(outer) = outer {
        data.insert("AuditRecord".to_owned(), outer.clone());
    }
    Value::Object(data)
}

/// Whether CIPP skips this record (an intermediate sign-in step, see
/// [`IGNORED_EXTENDED_PROPERTY_VALUES`]).
pub(crate) fn is_ignored(record: &Value) -> bool {
    let data = record
        .as_object()
        .and_then(|o| get_key(o, "auditData"))
        .unwrap_or(record);
    let Some(obj) = data.as_object() else {
        return false;
    };
    name_values(obj, "ExtendedProperties").iter().any(|(_, v)| {
        v.as_str()
            .is_some_and(|s| IGNORED_EXTENDED_PROPERTY_VALUES.contains(&s))
    })
}

/// The `{Name, Value}` entries of a list property.
fn name_values(data: &Map<String, Value>, list: &str) -> Vec<(String, Value)> {
    let Some(Value::Array(items)) = get_key(data, list) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|item| {
            let name = get_key(item, "Name")?.as_str()?;
            if name.is_empty() {
                return None;
            }
            Some((
                name.to_owned(),
                get_key(item, "Value").cloned().unwrap_or(Value::Null),
            ))
        })
        .collect()
}

/// Adds `name` unless the record already has it (in any case).
fn insert_new(data: &mut Map<String, Value>, name: &str, value: Value) {
    if get_key(data, name).is_none() {
        data.insert(name.to_owned(), value);
    }
}

/// The forwarding parameters whose addresses make up `CIPPForwardingAddress`.
const FORWARDING_PARAMETERS: [&str; 5] = [
    "ForwardTo",
    "RedirectTo",
    "ForwardAsAttachmentTo",
    "ForwardingSmtpAddress",
    "ForwardingAddress",
];

/// The forwarding targets of the record's `Parameters`: `a@x;b@y`, `smtp:a@x`,
/// `"Name" [SMTP:a@x]` and plain recipient names all give one entry each.
fn forwarding_addresses(data: &Map<String, Value>) -> Vec<String> {
    let Some(Value::Object(params)) = data.get("CIPPParameters") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for name in FORWARDING_PARAMETERS {
        let Some(value) = get_key(params, name) else {
            continue;
        };
        let texts: Vec<String> = match value {
            Value::Array(items) => items.iter().map(|v| scalar_text(v).into_owned()).collect(),
            other => vec![scalar_text(other).into_owned()],
        };
        for text in texts {
            for part in text.split(';') {
                if let Some(address) = clean_address(part) {
                    if !out.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
                        out.push(address);
                    }
                }
            }
        }
    }
    out
}

fn clean_address(part: &str) -> Option<String> {
    let mut s = part.trim();
    if let Some(start) = s.find('[') {
        if let Some(end) = s[start..].find(']') {
            s = &s[start + 1..start + end];
        }
    }
    let s = s.trim().trim_matches('"').trim();
    let s = match s.split_once(':') {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("smtp") => rest.trim(),
        _ => s,
    };
    (!s.is_empty()).then(|| s.to_owned())
}

/// Sets the location properties; returns `HasLocationData`.
fn add_location(data: &mut Map<String, Value>, info: &dyn IpInfo) -> bool {
    let key = ["ClientIP", "ClientIPAddress"].into_iter().find_map(|k| {
        data.keys()
            .find(|existing| existing.eq_ignore_ascii_case(k))
            .cloned()
    });
    let Some(key) = key else {
        return false;
    };
    let raw = match data.get(&key) {
        Some(Value::String(s)) => s.clone(),
        _ => return false,
    };
    // Redacted addresses (`XXX.XXX.…`) carry nothing to look up.
    if raw.trim().is_empty() || raw.contains('X') {
        return false;
    }
    let text = normalize_ip(&raw);
    data.insert(key, Value::String(text.clone()));
    let parsed = text.parse::<IpAddr>().ok();
    if parsed.is_some_and(|ip| info.is_trusted(ip)) {
        return false;
    }
    let unknown = Value::String("Unknown".to_owned());
    data.insert("CIPPIPDetected".to_owned(), Value::String(text));
    let found = match parsed {
        Some(ip) if is_reserved(ip) => {
            data.insert("CIPPGeoLocation".to_owned(), unknown.clone());
            data.insert("CIPPBadRepIP".to_owned(), unknown.clone());
            data.insert("CIPPHostedIP".to_owned(), unknown);
            data.insert("CIPPLocationInfo".to_owned(), Value::Null);
            return true;
        }
        Some(ip) => info.lookup(ip),
        None => None,
    };
    match found {
        Some(details) => {
            data.insert(
                "CIPPGeoLocation".to_owned(),
                details
                    .country_or_region
                    .clone()
                    .map_or(unknown, Value::String),
            );
            data.insert("CIPPBadRepIP".to_owned(), Value::Bool(details.proxy));
            data.insert("CIPPHostedIP".to_owned(), Value::Bool(details.hosting));
            data.insert(
                "CIPPLocationInfo".to_owned(),
                serde_json::to_value(&details).unwrap_or(Value::Null),
            );
            true
        }
        None => {
            data.insert("CIPPGeoLocation".to_owned(), unknown.clone());
            data.insert("CIPPBadRepIP".to_owned(), unknown.clone());
            data.insert("CIPPHostedIP".to_owned(), unknown);
            data.insert("CIPPLocationInfo".to_owned(), Value::Null);
            false
        }
    }
}

/// `1.2.3.4:5678` → `1.2.3.4`, `[2001:db8::1]:443` → `2001:db8::1`.
pub(crate) fn normalize_ip(raw: &str) -> String {
    let s = raw.trim();
    if let Some(rest) = s.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            return rest[..end].to_owned();
        }
    }
    if s.parse::<IpAddr>().is_ok() {
        return s.to_owned();
    }
    match s.split_once(':') {
        Some((host, port)) if !port.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host.to_owned()
        }
        _ => s.replace(['[', ']'], ""),
    }
}

/// Private, loopback, link-local, shared (CGNAT), multicast and reserved addresses: CIPP's
/// list, for which no lookup is made.
pub(crate) fn is_reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            a == 0
                || a == 10
                || a == 127
                || a >= 224
                || (a == 169 && b == 254)
                || (a == 192 && b == 168)
                || (a == 172 && (16..=31).contains(&b))
                || (a == 100 && (64..=127).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_reserved(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_unspecified()
                || v6.is_loopback()
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
                || (first & 0xff00) == 0xff00
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn parameters_become_properties() {
        let r = json!({
            "Operation": "New-InboxRule",
            "Parameters": [
                {"Name": "Name", "Value": "."},
                {"Name": "ForwardTo", "Value": "\"Eve\" [SMTP:eve@evil.example];mallory@evil.example"},
                {"Name": "Operation", "Value": "spoofed"}
            ]
        });
        let e = enrich(&r, &NoIpInfo);
        assert_eq!(e["Name"], ".");
        assert_eq!(
            e["Operation"], "New-InboxRule",
            "existing properties are kept"
        );
        assert_eq!(e["CIPPParameters"]["Operation"], "spoofed");
        assert_eq!(
            e["CIPPForwardingAddress"],
            json!(["eve@evil.example", "mallory@evil.example"])
        );
        assert_eq!(e["HasLocationData"], false);
    }

    #[test]
    fn mailbox_forwarding_strips_smtp_prefix() {
        let r = json!({"Parameters": [
            {"Name": "Identity", "Value": "meganb"},
            {"Name": "ForwardingSmtpAddress", "Value": "smtp:exfil@evil.example"},
            {"Name": "DeliverToMailboxAndForward", "Value": "True"}
        ]});
        let e = enrich(&r, &NoIpInfo);
        assert_eq!(e["CIPPForwardingAddress"], json!(["exfil@evil.example"]));
        assert!(enrich(&json!({"Parameters": []}), &NoIpInfo)
            .get("CIPPForwardingAddress")
            .is_none());
    }

    #[test]
    fn modified_properties_become_properties() {
        let r = json!({"ModifiedProperties": [
            {"Name": "Role.DisplayName", "NewValue": "Exchange Administrator", "OldValue": ""},
            {"Name": "AccountEnabled", "NewValue": ["false"], "OldValue": ["true"]}
        ]});
        let e = enrich(&r, &NoIpInfo);
        assert_eq!(e["Role.DisplayName"], "Exchange Administrator");
        assert_eq!(e["AccountEnabled"], "[\"false\"]");
        assert_eq!(e["Previous_Value_AccountEnabled"], "[\"true\"]");
        assert_eq!(
            e["CIPPModifiedProperties"]["Role.DisplayName"]["NewValue"],
            "Exchange Administrator"
        );
    }

    #[test]
    fn graph_query_records_use_audit_data() {
        let r = json!({"id": "abc", "operation": "UserLoggedIn", "auditData": {"Id": "abc", "Operation": "UserLoggedIn", "ClientIP": "203.0.113.9"}});
        let info = StaticIpInfo::new().with(ip("203.0.113.9"), IpDetails::new("NL"));
        let e = enrich(&r, &info);
        assert_eq!(e["Operation"], "UserLoggedIn");
        assert_eq!(e["CIPPGeoLocation"], "NL");
        assert_eq!(e["AuditRecord"]["id"], "abc");
    }

    #[test]
    fn location_from_ip_info() {
        let info = StaticIpInfo::new()
            .with(
                ip("198.51.100.7"),
                IpDetails::new("RU").with_proxy(true).with_city("Moscow"),
            )
            .trust(ip("192.0.2.10"));
        let e = enrich(&json!({"ClientIP": "198.51.100.7:50123"}), &info);
        assert_eq!(e["ClientIP"], "198.51.100.7");
        assert_eq!(e["CIPPGeoLocation"], "RU");
        assert_eq!(e["CIPPBadRepIP"], true);
        assert_eq!(e["CIPPHostedIP"], false);
        assert_eq!(e["CIPPLocationInfo"]["City"], "Moscow");
        assert_eq!(e["HasLocationData"], true);

        let trusted = enrich(&json!({"ClientIP": "192.0.2.10"}), &info);
        assert!(trusted.get("CIPPGeoLocation").is_none());
        assert_eq!(trusted["HasLocationData"], false);

        let private = enrich(&json!({"ClientIP": "10.1.2.3"}), &info);
        assert_eq!(private["CIPPGeoLocation"], "Unknown");
        assert_eq!(private["HasLocationData"], true);

        let unknown = enrich(&json!({"ClientIP": "[2001:db8::5]:443"}), &info);
        assert_eq!(unknown["ClientIP"], "2001:db8::5");
        assert_eq!(unknown["CIPPGeoLocation"], "Unknown");
        assert_eq!(unknown["HasLocationData"], false);

        let redacted = enrich(&json!({"ClientIP": "XXX.XXX.XXX.XXX"}), &info);
        assert!(redacted.get("CIPPIPDetected").is_none());
    }

    #[test]
    fn reserved_ranges() {
        for r in [
            "10.0.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_reserved(ip(r)), "{r}");
        }
        for p in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1"] {
            assert!(!is_reserved(ip(p)), "{p}");
        }
    }

    #[test]
    fn intermediate_sign_in_steps_are_ignored() {
        let r = json!({"ExtendedProperties": [{"Name": "RequestType", "Value": "SAS:EndAuth"}]});
        assert!(is_ignored(&r));
        assert!(!is_ignored(
            &json!({"ExtendedProperties": [{"Name": "RequestType", "Value": "OAuth2:Token"}]})
        ));
    }
}
