//! Ready-made scenarios.

use cipp_core::{Credentials, SecretString};
use serde_json::Value;

use crate::state::{paths, synthetic_guid, user_json, SimApp, SimState, SimTenant};

/// The demo partner tenant's initial domain.
pub const DEMO_PARTNER: &str = "cipp-partner.onmicrosoft.com";
/// The demo partner application's client id.
pub const DEMO_CLIENT_ID: &str = "b61f2d5e-5c1e-4c1a-9d0e-0c1bb0d00001";
/// The demo partner application's secret (only valid in the simulator).
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
/// The demo partner refresh token (only valid in the simulator).
pub const DEMO_REFRESH_TOKEN: &str = "demo-partner-refresh-token";

/// Credentials that work on the demo scenario: the partner app's refresh token.
pub fn demo_credentials() -> Credentials {
    Credentials::PartnerRefreshToken {
        client_id: DEMO_CLIENT_ID.to_owned(),
        secret: SecretString::from(DEMO_CLIENT_SECRET),
        refresh_token: SecretString::from(DEMO_REFRESH_TOKEN),
    }
}

/// A demo user: display name, alias, job title, enabled.
type Person = (&'static str, &'static str, &'static str, bool);

/// Adds `people` at `domain`, their ids derived from their UPNs.
fn add_people(t: &mut SimTenant, domain: &str, people: &[Person]) {
    for (display, alias, title, enabled) in people {
        let upn = format!("{alias}@{domain}");
        let mut u: Value = user_json(display, &upn, title, *enabled);
        u["id"] = Value::String(synthetic_guid(&upn));
        t.add_user(u);
    }
}

fn customer(name: &str, initial: &str, default: &str, people: &[Person]) -> SimTenant {
    let mut t =
        SimTenant::new(&synthetic_guid(initial), name, initial).with_default_domain(default);
    add_people(&mut t, default, people);
    t
}

/// [`demo_at`] with the current time.
pub fn demo(state: &mut SimState) {
    demo_at(state, chrono::Utc::now());
}

/// A partner tenant and three customer tenants (Contoso, Fabrikam, Northwind Traders)
/// with users; the partner app is registered and consented, and a partner refresh token
/// ([`DEMO_REFRESH_TOKEN`]) is valid for the partner and its GDAP customers.
///
/// Contoso also has licences, groups of every kind (a distribution list and a mail-enabled
/// security group among them), MFA methods, sign-in and audit logs relative to `now`, and
/// one compromised account, Megan Bowen: a rule forwarding mail outside, a legacy-auth
/// sign-in from abroad, an authenticator added yesterday and consent to a mail app.
pub fn demo_at(state: &mut SimState, now: chrono::DateTime<chrono::Utc>) {
    let mut partner = SimTenant::new(
        &synthetic_guid(DEMO_PARTNER),
        "CIPP Demo Partner",
        DEMO_PARTNER,
    )
    .with_default_domain("msp.example");
    add_people(
        &mut partner,
        "msp.example",
        &[
            ("Pat Partner", "pat", "Service Desk Lead", true),
            ("Sam Technician", "sam", "Technician", true),
        ],
    );
    let customers = vec![
        customer(
            "Contoso Ltd",
            "contoso.onmicrosoft.com",
            "contoso.com",
            &[
                ("Adele Vance", "adelev", "Retail Manager", true),
                ("Alex Wilber", "alexw", "Marketing Assistant", true),
                ("Diego Siciliani", "diegos", "HR Manager", true),
                ("Grady Archie", "gradya", "Designer", true),
                ("Isaiah Langer", "isaiahl", "Sales Rep", true),
                ("Megan Bowen", "meganb", "Marketing Manager", true),
                ("Former Employee", "former", "Analyst", false),
            ],
        ),
        customer(
            "Fabrikam Inc",
            "fabrikam.onmicrosoft.com",
            "fabrikam.com",
            &[
                ("Nestor Wilke", "nestorw", "Director", true),
                ("Patti Fernandez", "pattif", "President", true),
                ("Lynne Robbins", "lynner", "Planner", true),
            ],
        ),
        customer(
            "Northwind Traders",
            "northwind.onmicrosoft.com",
            "northwindtraders.com",
            &[
                ("Johanna Lorenz", "johannal", "Engineer", true),
                ("Lee Gu", "leeg", "Director", true),
                ("Miriam Graham", "miriamg", "Director", true),
                ("Henrietta Mueller", "henriettam", "Developer", true),
            ],
        ),
    ];
    let mut customers = customers;
    if let Some(contoso) = customers.first_mut() {
        seed_contoso(contoso, now);
        // Apple tokens that an expiry alert should catch.
        let ts =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        contoso
            .intune
            .store
            .get_mut(crate::state::paths::APNS)
            .replace_all(vec![serde_json::json!({
                "@odata.type": "#microsoft.graph.applePushNotificationCertificate",
                "id": synthetic_guid("apns-contoso"),
                "appleIdentifier": "mdm@contoso.com",
                "topicIdentifier": "com.apple.mgmt.External.contoso",
                "expirationDateTime": ts(now + chrono::Duration::days(20)),
                "certificateUploadStatus": "uploaded"
            })]);
        contoso
            .intune
            .store
            .get_mut(crate::state::paths::VPP_TOKENS)
            .replace_all(vec![serde_json::json!({
                "@odata.type": "#microsoft.graph.vppToken",
                "id": synthetic_guid("vpp-contoso"),
                "organizationName": "Contoso",
                "appleId": "vpp@contoso.com",
                "expirationDateTime": ts(now + chrono::Duration::days(200)),
                "state": "valid"
            })]);
    }
    partner.gdap.customers = customers.iter().map(|c| c.id.clone()).collect();
    // One active GDAP relationship per customer with CIPP's default roles, auto-extending.
    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let activated = now - chrono::Duration::days(100);
    for c in &customers {
        let id = format!("{}-{}", c.id, synthetic_guid(&format!("gdap{}", c.id)));
        partner.gdap.relationships_mut().insert(serde_json::json!({
            "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
            "@odata.etag": format!("W/\"JyI{}Iic=\"", &c.id[..8]),
            "id": id,
            "displayName": format!("CIPP_{}", c.default_domain.split('.').next().unwrap_or("customer")),
            "duration": "P730D",
            "customer": {"tenantId": c.id, "displayName": c.display_name},
            "accessDetails": {"unifiedRoles": CIPP_DEFAULT_ROLE_IDS.iter().map(|r| serde_json::json!({"roleDefinitionId": r})).collect::<Vec<_>>()},
            "status": "active",
            "autoExtendDuration": "P180D",
            "createdDateTime": ts(activated - chrono::Duration::days(1)),
            "lastModifiedDateTime": ts(activated),
            "activatedDateTime": ts(activated),
            "endDateTime": ts(activated + chrono::Duration::days(730)),
        }));
    }
    let app = SimApp {
        client_id: DEMO_CLIENT_ID.to_owned(),
        secret: DEMO_CLIENT_SECRET.to_owned(),
        home_tenant: partner.id.clone(),
        consented: customers.iter().map(|c| c.id.clone()).collect(),
    };
    state
        .refresh_tokens
        .insert(DEMO_REFRESH_TOKEN.to_owned(), partner.id.clone());
    state.apps.insert(app.client_id.clone(), app);
    state.tenants.insert(partner.id.clone(), partner);
    for c in customers {
        state.tenants.insert(c.id.clone(), c);
    }
}

/// CIPP's 15 default GDAP role template ids.
const CIPP_DEFAULT_ROLE_IDS: [&str; 15] = [
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "3a2c62db-5318-420d-8d74-23affee5d9d5",
    "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "892c5842-a9a6-463a-8041-72aa08ca3cf6",
    "7698a772-787b-4ac8-901f-60d6b08affd2",
    "69091246-20e8-4a56-aa4d-066075b2a7a8",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    "0526716b-113d-4c15-b2c8-68e3c22b9f80",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "8329153b-31d0-4727-b945-745eb3bc5f31",
];

/// The compromised demo account.
pub const DEMO_COMPROMISED_UPN: &str = "meganb@contoso.com";
/// Microsoft 365 Business Premium.
pub const SKU_BUSINESS_PREMIUM: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
/// Exchange Online (Plan 1).
pub const SKU_EXCHANGE_STANDARD: &str = "4b9405b0-7788-4568-add1-99614e613b69";

/// A sign-in's city, country, latitude and longitude.
#[derive(Clone, Copy)]
struct Place(&'static str, &'static str, f64, f64);

const SEATTLE: Place = Place("Seattle", "US", 47.61, -122.33);
const REDMOND: Place = Place("Redmond", "US", 47.67, -122.12);
const LAGOS: Place = Place("Lagos", "NG", 6.45, 3.39);

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn seed_contoso(t: &mut SimTenant, now: chrono::DateTime<chrono::Utc>) {
    use serde_json::json;
    let days = |d: i64| ts(now - chrono::Duration::days(d));
    let hours = |h: i64| ts(now - chrono::Duration::hours(h));
    let id_of = |t: &SimTenant, alias: &str| -> String {
        t.users()
            .iter()
            .find(|u| u["mailNickname"] == json!(alias))
            .and_then(|u| u["id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let enabled = t
        .users()
        .iter()
        .filter(|u| u["accountEnabled"] == json!(true))
        .count() as i64;
    for u in t.directory.users_mut().iter_mut() {
        if u["accountEnabled"] == json!(true) {
            u["assignedLicenses"] = json!([{"skuId": SKU_BUSINESS_PREMIUM, "disabledPlans": []}]);
        }
    }
    t.directory.store.get_mut(paths::SKUS).replace_all(vec![
        json!({"id": format!("{}_{SKU_BUSINESS_PREMIUM}", t.id), "skuId": SKU_BUSINESS_PREMIUM, "skuPartNumber": "SPB",
               "capabilityStatus": "Enabled", "consumedUnits": enabled, "prepaidUnits": {"enabled": 10, "suspended": 0, "warning": 0}, "servicePlans": [
                   {"servicePlanId": "c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "servicePlanName": "INTUNE_A", "provisioningStatus": "Success", "appliesTo": "User"},
                   {"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success", "appliesTo": "User"},
                   {"servicePlanId": "9aaf7827-d63c-4b61-89c3-182f06f82e5c", "servicePlanName": "EXCHANGE_S_STANDARD", "provisioningStatus": "Success", "appliesTo": "User"}]}),
        json!({"id": format!("{}_{SKU_EXCHANGE_STANDARD}", t.id), "skuId": SKU_EXCHANGE_STANDARD, "skuPartNumber": "EXCHANGESTANDARD",
               "capabilityStatus": "Enabled", "consumedUnits": 0, "prepaidUnits": {"enabled": 5, "suspended": 0, "warning": 0}, "servicePlans": [
                   {"servicePlanId": "9aaf7827-d63c-4b61-89c3-182f06f82e5c", "servicePlanName": "EXCHANGE_S_STANDARD", "provisioningStatus": "Success", "appliesTo": "User"}]}),
    ]);
    let adele = id_of(t, "adelev");
    let megan = id_of(t, "meganb");
    let diego = id_of(t, "diegos");
    t.directory
        .roles
        .insert("62e90394-69f5-4237-9190-012177145e10".into(), vec![diego]);
    for u in t.directory.users_mut().iter_mut() {
        u["lastPasswordChangeDateTime"] = json!(days(120));
    }
    let groups = [
        ("All Staff", "allstaff", json!(["Unified"]), true, false),
        ("Sales Team", "sales", json!([]), false, true),
        ("Everyone DL", "everyone", json!([]), true, false),
        ("Finance Secure", "financesecure", json!([]), true, true),
        (
            "Dynamic Sales",
            "dynsales",
            json!(["DynamicMembership"]),
            false,
            true,
        ),
    ];
    for (name, nick, types, mail, sec) in groups {
        let mut g = json!({"id": synthetic_guid(&format!("{}-{nick}", t.id)), "displayName": name, "mailNickname": nick,
            "groupTypes": types, "mailEnabled": mail, "securityEnabled": sec, "createdDateTime": days(300),
            "visibility": if mail { json!("Public") } else { json!(null) }});
        if nick == "dynsales" {
            g["membershipRule"] = json!("(user.department -eq \"Sales\")");
            g["membershipRuleProcessingState"] = json!("On");
        }
        if mail {
            g["mail"] = json!(format!("{nick}@contoso.com"));
        }
        let id = t.add_group(g);
        t.directory
            .members
            .insert(id, vec![adele.clone(), megan.clone()]);
    }
    t.auth.methods.insert(adele.clone(), vec![
        json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": synthetic_guid("adele-auth"),
               "displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7", "createdDateTime": days(200)}),
        json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7",
               "phoneNumber": "+1 4255550101", "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy"}),
    ]);
    t.auth.methods.insert(megan.clone(), vec![
        json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7",
               "phoneNumber": "+1 4255550102", "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy"}),
        json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": synthetic_guid("megan-new-auth"),
               "displayName": "SM-A546E", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.2403.1234", "createdDateTime": hours(20)}),
    ]);
    // Megan's usual sign-ins, then legacy IMAP from Lagos; two colleagues' for contrast.
    #[rustfmt::skip]
    let sign_ins: [(&str, &str, i64, Place, &str, &str, &str); 6] = [
        ("s1", "meganb", 6 * 24, SEATTLE, "Browser", "Office 365", "203.0.113.10"),
        ("s2", "meganb", 3 * 24, SEATTLE, "Browser", "Outlook Web", "203.0.113.10"),
        ("s3", "meganb", 40, LAGOS, "IMAP4", "Office 365 Exchange Online", "198.51.100.66"),
        ("s4", "meganb", 39, SEATTLE, "Browser", "Outlook Web", "203.0.113.10"),
        ("s5", "adelev", 2 * 24, REDMOND, "Browser", "Office 365", "203.0.113.20"),
        ("s6", "alexw", 24, REDMOND, "Mobile Apps and Desktop clients", "Microsoft Teams", "203.0.113.21"),
    ];
    t.logs.sign_ins = sign_ins
        .iter()
        .map(|&(id, alias, ago, place, client, app, ip)| {
            let Place(city, country, lat, lon) = place;
            json!({"id": synthetic_guid(id), "createdDateTime": hours(ago), "userPrincipalName": format!("{alias}@contoso.com"),
               "userId": id_of(t, alias), "appDisplayName": app, "appId": synthetic_guid(app), "ipAddress": ip, "clientAppUsed": client,
               "isInteractive": client == "Browser", "conditionalAccessStatus": "notApplied",
               "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null},
               "location": {"city": city, "state": city, "countryOrRegion": country, "geoCoordinates": {"latitude": lat, "longitude": lon}},
               "deviceDetail": {"operatingSystem": "Windows10", "browser": "Edge"}})
        })
        .collect();
    t.mail.inbox_rules.insert(megan.clone(), vec![
        json!({"id": "AQAAAJ5dZqA=", "displayName": "..", "sequence": 1, "isEnabled": true, "hasError": false, "isReadOnly": false,
               "conditions": {"bodyOrSubjectContains": ["invoice", "payment", "wire"]},
               "actions": {"forwardTo": [{"emailAddress": {"name": "collector", "address": "collector@evil-mail.example"}}],
                           "moveToFolder": "RSS Feeds", "markAsRead": true, "stopProcessingRules": true}}),
        json!({"id": "AQAAAJ5dZqB=", "displayName": "Newsletters", "sequence": 2, "isEnabled": true, "hasError": false, "isReadOnly": false,
               "conditions": {"senderContains": ["news@"]}, "actions": {"moveToFolder": "Newsletters"}}),
    ]);
    let shady_sp = synthetic_guid("sp-mail-sync-pro");
    t.directory.store.get_mut(paths::SERVICE_PRINCIPALS).replace_all(vec![
        json!({"id": synthetic_guid("sp-office"), "appId": "00000002-0000-0ff1-ce00-000000000000", "displayName": "Office 365 Exchange Online",
               "publisherName": "Microsoft Services", "createdDateTime": days(900)}),
        json!({"id": shady_sp, "appId": synthetic_guid("app-mail-sync-pro"), "displayName": "Mail Sync Pro",
               "publisherName": "Unverified", "createdDateTime": hours(38)}),
    ]);
    t.directory.store.get_mut(paths::GRANTS).replace_all(vec![
        json!({"id": "l5aW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk", "clientId": shady_sp, "consentType": "Principal",
        "principalId": megan, "resourceId": synthetic_guid("sp-graph"), "scope": "Mail.ReadWrite Mail.Send offline_access User.Read"}),
    ]);
    #[rustfmt::skip]
    let audits = [
        ("a1", "Consent to application", "ApplicationManagement", hours(38), "meganb"),
        ("a2", "User registered security info", "UserManagement", hours(20), "meganb"),
        ("a3", "Change user password", "UserManagement", days(10), "adelev"),
    ];
    t.logs.directory_audits = audits
        .into_iter()
        .map(|(id, activity, cat, at, alias)| {
            let (target, upn) = (id_of(t, alias), format!("{alias}@contoso.com"));
            json!({"id": format!("Directory_{}", synthetic_guid(id)), "category": cat, "correlationId": synthetic_guid(id),
               "result": "success", "resultReason": "", "activityDisplayName": activity, "activityDateTime": at,
               "loggedByService": "Core Directory", "operationType": "Add",
               "initiatedBy": {"user": {"id": target, "displayName": null, "userPrincipalName": upn, "ipAddress": "198.51.100.66"}},
               "targetResources": [{"id": target, "displayName": null, "type": "User", "userPrincipalName": upn, "modifiedProperties": []}],
               "additionalDetails": []})
        })
        .collect();
    seed_contoso_exchange(t, now);
    t.intune.store.get_mut(paths::MANAGED_DEVICES).replace_all(vec![
        json!({"id": synthetic_guid("dev-adele"), "deviceName": "ADELE-LAPTOP", "operatingSystem": "Windows", "osVersion": "10.0.22631",
               "complianceState": "compliant", "userPrincipalName": "adelev@contoso.com", "enrolledDateTime": days(120), "lastSyncDateTime": hours(3)}),
        json!({"id": synthetic_guid("dev-megan"), "deviceName": "MEGAN-PHONE", "operatingSystem": "iOS", "osVersion": "17.5",
               "complianceState": "compliant", "userPrincipalName": DEMO_COMPROMISED_UPN, "enrolledDateTime": days(90), "lastSyncDateTime": hours(5)}),
    ]);
}

fn seed_contoso_exchange(t: &mut SimTenant, now: chrono::DateTime<chrono::Utc>) {
    use serde_json::json;
    let hours = |h: i64| ts(now - chrono::Duration::hours(h));
    let users = t.users().to_vec();
    let domain = t.initial_domain().to_owned();
    t.exchange.seed_from_users(&users, &domain);
    let megan = DEMO_COMPROMISED_UPN;
    if let Some(mb) = t
        .exchange
        .mailboxes
        .iter_mut()
        .find(|m| m["UserPrincipalName"] == json!(megan))
    {
        mb["ForwardingSmtpAddress"] = json!("smtp:collector@evil-mail.example");
        mb["DeliverToMailboxAndForward"] = json!(true);
        mb["TotalItemSize"] = json!("52.3 GB (56,156,954,214 bytes)");
    }
    let rules = t.exchange.inbox_rules.entry(megan.to_owned()).or_default();
    rules.push(json!({"Identity": format!("{megan}\\11794723498573471745"), "Name": "..", "Enabled": true, "Priority": 1,
        "ForwardTo": ["\"collector@evil-mail.example\" [SMTP:collector@evil-mail.example]"], "MoveToFolder": "RSS Feeds",
        "MarkAsRead": true, "StopProcessingRules": true, "SubjectOrBodyContainsWords": ["invoice", "payment", "wire"],
        "Description": "If the message includes 'invoice' or 'payment' or 'wire' in the subject or body, forward the message to collector@evil-mail.example, move it to RSS Feeds, mark it as read and stop processing more rules"}));
    rules.push(json!({"Identity": format!("{megan}\\11794723498573471746"), "Name": ".", "Enabled": true, "Priority": 2,
        "DeleteMessage": true, "FromAddressContainsWords": ["security@contoso.com", "helpdesk"], "IsHidden": true,
        "Description": "If the message was sent by security@contoso.com or helpdesk, delete the message"}));
    rules.push(json!({"Identity": format!("{megan}\\11794723498573471747"), "Name": "Newsletters", "Enabled": true, "Priority": 3,
        "MoveToFolder": "Newsletters", "FromAddressContainsWords": ["news@"]}));
    t.exchange.mailbox_permissions.push(
        json!({"Identity": megan, "User": "alexw@contoso.com", "AccessRights": ["FullAccess"],
        "IsInherited": false, "Deny": false, "AutoMapping": false}),
    );
    t.exchange.mobile_devices.insert(megan.to_owned(), vec![
        json!({"Identity": format!("{megan}\\ExchangeActiveSyncDevices\\iPhone§abc"), "FriendlyName": "Megan's iPhone", "DeviceModel": "iPhone15,2",
               "DeviceOS": "iOS 17.5", "DeviceAccessState": "Allowed", "FirstSyncTime": ts(now - chrono::Duration::days(90))}),
        json!({"Identity": format!("{megan}\\ExchangeActiveSyncDevices\\Android§xyz"), "FriendlyName": "Android", "DeviceModel": "Unknown",
               "DeviceOS": "Android 12", "DeviceAccessState": "Allowed", "FirstSyncTime": hours(39)}),
    ]);
    let record = |op: &str, at: String, user: &str, data: serde_json::Value| {
        json!({"RecordType": "ExchangeAdmin", "CreationDate": at, "UserIds": user, "Operations": op,
               "AuditData": data.to_string(), "Identity": synthetic_guid(&format!("{op}{user}"))})
    };
    t.exchange.audit_records = vec![
        record(
            "New-InboxRule",
            hours(39),
            megan,
            json!({"Operation": "New-InboxRule", "Workload": "Exchange", "Id": synthetic_guid("ual-newinboxrule-megan"), "CreationTime": hours(39).trim_end_matches('Z'), "UserId": megan, "ClientIP": "198.51.100.66",
            "Parameters": [{"Name": "Name", "Value": ".."}, {"Name": "ForwardTo", "Value": "collector@evil-mail.example"}, {"Name": "MoveToFolder", "Value": "RSS Feeds"}]}),
        ),
        record(
            "Set-Mailbox",
            hours(38),
            megan,
            json!({"Operation": "Set-Mailbox", "Workload": "Exchange", "Id": synthetic_guid("ual-setmailbox-megan"), "CreationTime": hours(38).trim_end_matches('Z'), "UserId": megan, "ClientIP": "198.51.100.66",
            "Parameters": [{"Name": "ForwardingSmtpAddress", "Value": "smtp:collector@evil-mail.example"}, {"Name": "DeliverToMailboxAndForward", "Value": "True"}]}),
        ),
        record(
            "Add-MailboxPermission",
            hours(37),
            megan,
            json!({"Operation": "Add-MailboxPermission", "Workload": "Exchange", "Id": synthetic_guid("ual-addmbxperm-megan"), "CreationTime": hours(37).trim_end_matches('Z'), "UserId": megan, "ObjectId": megan,
            "Parameters": [{"Name": "User", "Value": "alexw@contoso.com"}, {"Name": "AccessRights", "Value": "FullAccess"}]}),
        ),
    ];
    t.exchange.message_traces = (0..5)
        .map(|i| json!({"MessageTraceId": synthetic_guid(&format!("trace-{i}")), "Received": hours(36 - i),
            "SenderAddress": megan, "RecipientAddress": format!("accounts{i}@supplier-payments.example"),
            "Subject": "Updated bank details for invoice payment", "Status": "Delivered", "FromIP": "198.51.100.66"}))
        .collect();
}
