//! The Entra built-in role catalogue (name ↔ template id) and CIPP's default GDAP roles.
//!
//! ```
//! use cipp_graph::gdap::roles;
//! assert_eq!(roles::role_id("exchange administrator"), Some("29232cdf-9323-42fd-ade2-1d097af3e4de"));
//! assert_eq!(roles::role_name(roles::GLOBAL_ADMINISTRATOR), Some("Global Administrator"));
//! assert_eq!(roles::CIPP_DEFAULT_ROLES.len(), 15);
//! ```

/// Global Administrator's template id (cannot auto-extend; CIPP advises against it).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Global Reader's template id.
pub const GLOBAL_READER_ID: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

/// Entra built-in roles: (name, template id), from Microsoft's permissions reference.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Authentication Policy Administrator",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
    ("Security Operator", "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f"),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "Exchange Recipient Administrator",
        "31392ffb-586c-42d1-9346-e59415a2cc4e",
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
    ),
    (
        "Cloud Device Administrator",
        "7698a772-787b-4ac8-901f-60d6b08affd2",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
    (
        "License Administrator",
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    ),
    (
        "Teams Administrator",
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ),
    ("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
    ("Directory Writers", "9360feb5-f418-4baa-8175-e2a00bac4301"),
    (
        "Domain Name Administrator",
        "8329153b-31d0-4727-b945-745eb3bc5f31",
    ),
    (
        "Groups Administrator",
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
    ),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"),
    (
        "Service Support Administrator",
        "f023fd81-a637-4b56-95fd-791ac0226033",
    ),
    (
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
    ),
    ("Guest Inviter", "95e79109-95c0-4d8e-aee3-d01accf2d47b"),
    (
        "Compliance Administrator",
        "17315797-102d-40b4-93e0-432062caca18",
    ),
    (
        "Cloud App Security Administrator",
        "892c5842-a9a6-463a-8041-72aa08ca3cf6",
    ),
    (
        "Dynamics 365 Administrator",
        "44367163-eba1-44c3-98af-f5787879f96a",
    ),
    (
        "Power Platform Administrator",
        "11648597-926c-4cf3-9c36-bcebb0ba8dcc",
    ),
    (
        "Office Apps Administrator",
        "2b745bdf-0803-4d80-aa65-822c4493daac",
    ),
    (
        "Teams Communications Administrator",
        "baf37b3a-610e-45da-9e62-d9d1e5e8914b",
    ),
    (
        "Teams Devices Administrator",
        "3d762c5a-1b6c-493f-843e-55a3b42923d4",
    ),
    (
        "Windows 365 Administrator",
        "11451d60-acb2-45eb-a7d6-43d0f0125c13",
    ),
    (
        "Message Center Reader",
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
    ),
    (
        "Directory Synchronization Accounts",
        "d29b2b05-8046-44ba-8758-1e26182fcf32",
    ),
];

/// CIPP's 15 default GDAP roles (the last three are optional in CIPP's wizard): (name,
/// template id).
pub const CIPP_DEFAULT_ROLES: [(&str, &str); 15] = [
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    (
        "Cloud App Security Administrator",
        "892c5842-a9a6-463a-8041-72aa08ca3cf6",
    ),
    (
        "Cloud Device Administrator",
        "7698a772-787b-4ac8-901f-60d6b08affd2",
    ),
    (
        "Teams Administrator",
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ),
    (
        "Authentication Policy Administrator",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    (
        "Domain Name Administrator",
        "8329153b-31d0-4727-b945-745eb3bc5f31",
    ),
];

/// The template id of a built-in role, by name (case-insensitive).
pub fn role_id(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, id)| *id)
}

/// The name of a built-in role, by template id (case-insensitive).
pub fn role_name(id: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(_, i)| i.eq_ignore_ascii_case(id.trim()))
        .map(|(n, _)| *n)
}

/// The name CIPP gives the partner security group of a role: `M365 GDAP <Role>`, with an
/// optional ` - <suffix>`.
pub fn group_name(role: &str, suffix: Option<&str>) -> String {
    match suffix.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => format!("M365 GDAP {role} - {s}"),
        None => format!("M365 GDAP {role}"),
    }
}

/// The mail nickname CIPP gives that group: `M365GDAP<RoleWithoutSpaces><suffix>`.
pub fn group_mail_nickname(role: &str, suffix: Option<&str>) -> String {
    let clean = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_alphanumeric()).collect() };
    format!(
        "M365GDAP{}{}",
        clean(role),
        suffix.map(clean).unwrap_or_default()
    )
}
