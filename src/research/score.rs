//! Scoring: indicators with severity, points, an explanation and their evidence, and the
//! verdict.

use super::collect::in_window;
use super::*;

const ACTIVE_TITLES: &[&str] = &[
    "Inbox rule sends mail outside the organisation",
    "Inbox rule deletes mail",
    "Inbox rule moves mail to a rarely read folder",
    "Inbox rule created or changed in the window",
    "Mailbox forwards to an external address",
    "MFA method added in the window",
    "Consent to an app with high-privilege scopes",
];

fn address_domain(a: &str) -> Option<String> {
    // Exchange writes recipients as "\"Name\" [SMTP:x@y]" or plain addresses.
    let a = a
        .rsplit("SMTP:")
        .next()
        .unwrap_or(a)
        .trim_end_matches(']')
        .trim()
        .trim_matches('"');
    a.rsplit_once('@').map(|(_, d)| {
        d.trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_ascii_lowercase()
    })
}

fn is_external(address: &str, domains: &[String]) -> bool {
    match address_domain(address) {
        Some(d) => !domains.is_empty() && !domains.contains(&d),
        None => false,
    }
}

/// Great-circle distance in km.
fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    6371.0 * 2.0 * h.sqrt().asin()
}

pub(super) fn score(r: &mut ResearchReport, domains: &[String], usage_location: Option<&str>) {
    let mut out: Vec<Indicator> = Vec::new();
    let mut add =
        |severity: Severity, score: u32, title: &str, explanation: &str, evidence: String| {
            out.push(Indicator {
                severity,
                score,
                title: title.into(),
                explanation: explanation.into(),
                evidence,
                active: ACTIVE_TITLES.contains(&title),
            });
        };
    if let Some(rules) = &r.inbox_rules.data {
        for f in rules.iter().filter(|f| f.rule.enabled != Some(false)) {
            let rule = &f.rule;
            let name = rule.name.clone().unwrap_or_default();
            let targets: Vec<&String> = rule
                .forward_to
                .iter()
                .chain(rule.redirect_to.iter())
                .chain(rule.forward_as_attachment_to.iter())
                .flatten()
                .collect();
            let external: Vec<&&String> =
                targets.iter().filter(|a| is_external(a, domains)).collect();
            if !external.is_empty() {
                add(Severity::High, 40, "Inbox rule sends mail outside the organisation",
                    "Attackers forward or redirect a victim's mail (often invoices and payments) to an address they control.",
                    format!("rule '{name}' → {}", external.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            if rule.delete_message == Some(true) {
                add(
                    Severity::Medium,
                    20,
                    "Inbox rule deletes mail",
                    "Deleting rules hide security alerts and replies from the real owner.",
                    format!("rule '{name}'"),
                );
            }
            if let Some(folder) = &rule.move_to_folder {
                if let Some(f2) = RARELY_READ_FOLDERS.iter().find(|x| {
                    folder
                        .to_ascii_lowercase()
                        .contains(&x.to_ascii_lowercase())
                }) {
                    let high = f2.eq_ignore_ascii_case("RSS");
                    add(if high { Severity::High } else { Severity::Medium }, if high { 30 } else { 15 },
                        "Inbox rule moves mail to a rarely read folder",
                        "Moving mail to RSS Feeds, Archive and similar folders keeps the owner from seeing it; RSS is a classic BEC trick.",
                        format!("rule '{name}' → {folder}"));
                }
            }
            if f.recently_changed {
                add(
                    Severity::Medium,
                    10,
                    "Inbox rule created or changed in the window",
                    "The audit log shows this rule was created or changed recently.",
                    format!("rule '{name}'"),
                );
            }
        }
    }
    if let Some(mb) = &r.mailbox.data {
        if let Some(fwd) = &mb.forwarding_smtp_address {
            if is_external(fwd, domains) || domains.is_empty() {
                add(
                    Severity::High,
                    40,
                    "Mailbox forwards to an external address",
                    "Mailbox-level forwarding copies every message outside the organisation.",
                    fwd.clone(),
                );
            }
        }
    }
    if let Some(signins) = &r.user_sign_ins.data {
        let mut sorted: Vec<&SignIn> = signins.iter().collect();
        sorted.sort_by_key(|s| s.created_date_time);
        let mut countries: Vec<(String, usize)> = Vec::new();
        for s in &sorted {
            if let Some(c) = s
                .location
                .as_ref()
                .and_then(|l| l.country_or_region.clone())
            {
                match countries.iter_mut().find(|(x, _)| *x == c) {
                    Some((_, n)) => *n += 1,
                    None => countries.push((c, 1)),
                }
            }
        }
        let usual: Vec<String> = {
            let mut v: Vec<String> = usage_location
                .map(|u| vec![u.to_ascii_uppercase()])
                .unwrap_or_default();
            if let Some((c, _)) = countries.iter().max_by_key(|(_, n)| *n) {
                v.push(c.clone());
            }
            v
        };
        for (c, n) in &countries {
            if !usual.contains(c) {
                add(Severity::Medium, 20, "Sign-in from a country the user does not use",
                    "Sign-ins from an unusual country can mean someone else holds the password or a token.",
                    format!("{n} sign-in(s) from {c}"));
            }
        }
        for s in &sorted {
            if let Some(client) = &s.client_app_used {
                if LEGACY_CLIENTS
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(client))
                {
                    add(Severity::High, 25, "Legacy authentication sign-in",
                        "Legacy protocols skip MFA; attackers use them to read mail with a stolen password.",
                        format!("{client} from {} at {}", s.ip_address.clone().unwrap_or_default(), s.created_date_time.map(|t| t.to_rfc3339()).unwrap_or_default()));
                }
            }
        }
        for w in sorted.windows(2) {
            let (a, b) = (w[0], w[1]);
            let pos = |s: &SignIn| {
                s.location
                    .as_ref()
                    .and_then(|l| l.geo_coordinates.as_ref())
                    .and_then(|g| Some((g.latitude?, g.longitude?)))
            };
            if let (Some(pa), Some(pb), Some(ta), Some(tb)) =
                (pos(a), pos(b), a.created_date_time, b.created_date_time)
            {
                let km = haversine(pa, pb);
                let hours = ((tb - ta).num_seconds() as f64 / 3600.0).max(1.0 / 60.0);
                if km > 500.0 && km / hours > 900.0 {
                    add(Severity::High, 35, "Impossible travel",
                        "Two consecutive sign-ins too far apart to travel between in the time between them.",
                        format!("{:.0} km in {:.1} h ({} → {})", km, hours,
                            a.location.as_ref().and_then(|l| l.city.clone()).unwrap_or_default(),
                            b.location.as_ref().and_then(|l| l.city.clone()).unwrap_or_default()));
                }
            }
        }
    }
    if let Some(methods) = &r.mfa_methods.data {
        for m in methods {
            if in_window(m.created_date_time, r.window_start) {
                add(Severity::Medium, 20, "MFA method added in the window",
                    "Attackers register their own authenticator to keep access after a password reset.",
                    format!("{} ({})", m.odata_type.trim_start_matches("#microsoft.graph."), m.extra.get("displayName").and_then(|v| v.as_str()).unwrap_or("")));
            }
        }
    }
    if let Some(grants) = &r.consent_grants.data {
        for g in grants {
            let scopes: Vec<&str> = g
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let risky: Vec<&str> = scopes
                .iter()
                .copied()
                .filter(|s| {
                    HIGH_PRIVILEGE_SCOPES
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(s))
                })
                .collect();
            if !risky.is_empty() {
                let app = r
                    .new_service_principals
                    .data
                    .as_ref()
                    .and_then(|sps| {
                        sps.iter()
                            .find(|sp| Some(sp.id.as_str()) == g.client_id.as_deref())
                    })
                    .and_then(|sp| sp.display_name.clone())
                    .unwrap_or_else(|| g.client_id.clone().unwrap_or_default());
                add(Severity::High, 30, "Consent to an app with high-privilege scopes",
                    "An app holding mail or file scopes keeps reading data after the password changes (illicit consent grant).",
                    format!("{app}: {}", risky.join(" ")));
            }
        }
    }
    if let Some(changes) = &r.mailbox_permission_changes.data {
        for c in changes
            .iter()
            .filter(|c| c.operations.as_deref() == Some("Add-MailboxPermission"))
        {
            let d = c.audit_data_json().unwrap_or_default();
            // Only changes made by, or to the mailbox of, the user under research.
            let me = r.user_principal_name.to_ascii_lowercase();
            let by_user = c
                .user_ids
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(&me));
            let on_mailbox = d["ObjectId"]
                .as_str()
                .is_some_and(|o| o.to_ascii_lowercase().contains(&me));
            if !by_user && !on_mailbox {
                continue;
            }
            let param = |n: &str| {
                d["Parameters"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["Name"] == n))
                    .and_then(|p| p["Value"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            add(
                Severity::Medium,
                20,
                "Mailbox permission granted to someone else",
                "New full-access or delegate permissions let another account read the mailbox.",
                format!(
                    "{} granted {} {} on {}",
                    c.user_ids.clone().unwrap_or_default(),
                    param("User"),
                    param("AccessRights"),
                    d["ObjectId"].as_str().unwrap_or("")
                ),
            );
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.score.cmp(&a.score)));
    r.score = out.iter().map(|i| i.score).sum();
    r.verdict = if out.iter().any(|i| i.severity == Severity::High) || r.score >= 60 {
        Verdict::LikelyCompromised
    } else if r.score > 0 {
        Verdict::Suspicious
    } else {
        Verdict::NoIndicators
    };
    r.indicators = out;
}
