//! Which throttling family a Graph request belongs to, declared on every request this
//! crate builds (core throttles undeclared requests by audience only).

use cipp_core::{ApiRequest, Audience, Workload};

/// The workload (and, for Outlook's per-mailbox limit, the mailbox) of a Graph path.
///
/// ```
/// use cipp_core::Workload;
/// use cipp_graph::workload::classify;
/// assert_eq!(classify("/v1.0/users").0, Workload::GraphIdentity);
/// assert_eq!(classify("/v1.0/auditLogs/signIns?$top=1").0, Workload::GraphReports);
/// assert_eq!(classify("/v1.0/identity/conditionalAccess/policies").0, Workload::GraphConditionalAccess);
/// assert_eq!(classify("/beta/deviceManagement/configurationPolicies").0, Workload::GraphIntune);
/// assert_eq!(
///     classify("/v1.0/users/U1/mailFolders/inbox/messageRules"),
///     (Workload::GraphOutlook, Some("u1".to_owned()))
/// );
/// ```
pub fn classify(path: &str) -> (Workload, Option<String>) {
    let path = path.find('?').map_or(path, |q| &path[..q]);
    let path = match path
        .strip_prefix("https://")
        .or_else(|| path.strip_prefix("http://"))
    {
        Some(rest) => rest.find('/').map_or("/", |j| &rest[j..]),
        None => path,
    };
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let mut b1 = [0u8; 32];
    let mut first = lower(segs.next().unwrap_or(""), &mut b1);
    if first == "v1.0" || first == "beta" {
        first = lower(segs.next().unwrap_or(""), &mut b1);
    }
    let second = segs.next();
    let mut b3 = [0u8; 32];
    let third = lower(segs.next().unwrap_or(""), &mut b3);
    let w = match first {
        "auditlogs" | "reports" => Workload::GraphReports,
        "identity" | "identityprotection" => Workload::GraphConditionalAccess,
        "devicemanagement" | "deviceappmanagement" => Workload::GraphIntune,
        "users" | "me"
            if matches!(
                third,
                "messages" | "mailfolders" | "mailboxsettings" | "events" | "calendar" | "contacts"
            ) =>
        {
            Workload::GraphOutlook
        }
        "users"
        | "groups"
        | "directory"
        | "directoryobjects"
        | "devices"
        | "serviceprincipals"
        | "applications"
        | "domains"
        | "organization"
        | "subscribedskus"
        | "rolemanagement"
        | "directoryroles"
        | "policies"
        | "oauth2permissiongrants"
        | "invitations"
        | "contacts"
        | "me" => Workload::GraphIdentity,
        _ => Workload::GraphOther,
    };
    let partition = match w {
        Workload::GraphOutlook => second.map(str::to_ascii_lowercase),
        _ => None,
    };
    (w, partition)
}

/// `request` with its Graph workload declared (unless it already declares one).
pub fn declare(request: ApiRequest) -> ApiRequest {
    if request.declared_workload().is_some() || request.audience() != &Audience::Graph {
        return request;
    }
    let (w, p) = classify(request.path());
    request.workload(w, p)
}

/// Lower-cases a short path segment into `buf` without allocating (longer ones are not
/// names we classify, so they become "").
fn lower<'a>(segment: &str, buf: &'a mut [u8; 32]) -> &'a str {
    let bytes = segment.as_bytes();
    if bytes.len() > buf.len() {
        return "";
    }
    for (d, s) in buf.iter_mut().zip(bytes) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..bytes.len()]).unwrap_or("")
}
