//! Ready-made scenarios.

use cipp_core::{Credentials, SecretString};
use serde_json::Value;

use crate::state::{synthetic_guid, user_json, SimApp, SimState, SimTenant};

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

fn customer(
    name: &str,
    initial: &str,
    default: &str,
    people: &[(&str, &str, &str, bool)],
) -> SimTenant {
    let mut t =
        SimTenant::new(&synthetic_guid(initial), name, initial).with_default_domain(default);
    for (display, alias, title, enabled) in people {
        let upn = format!("{alias}@{default}");
        let mut u: Value = user_json(display, &upn, title, *enabled);
        u["id"] = Value::String(synthetic_guid(&upn));
        t.add_user(u);
    }
    t
}

/// A partner tenant and three customer tenants (Contoso, Fabrikam, Northwind Traders)
/// with users; the partner app is registered and consented, and a partner refresh token
/// ([`DEMO_REFRESH_TOKEN`]) is valid for the partner and its GDAP customers.
pub fn demo(state: &mut SimState) {
    let mut partner = SimTenant::new(
        &synthetic_guid(DEMO_PARTNER),
        "CIPP Demo Partner",
        DEMO_PARTNER,
    )
    .with_default_domain("msp.example");
    for (display, alias, title) in [
        ("Pat Partner", "pat", "Service Desk Lead"),
        ("Sam Technician", "sam", "Technician"),
    ] {
        let upn = format!("{alias}@msp.example");
        let mut u = user_json(display, &upn, title, true);
        u["id"] = Value::String(synthetic_guid(&upn));
        partner.add_user(u);
    }
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
    partner.customers = customers.iter().map(|c| c.id.clone()).collect();
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
