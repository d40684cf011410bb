//! Offboard a user with CIPP's options; licence removal comes back as a follow-up.
//!
//! ```sh
//! cargo run --example offboard_user
//! ```

#[path = "support/mod.rs"]
mod support;

use cipp::offboarding::{offboard, run_follow_up, LicenseRemoval, OffboardingOptions};

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let (cipp, sim) = support::client()?;
    let (tenant, user) = support::target("isaiahl@contoso.com")?;
    if sim.is_none() && std::env::var("CIPP_OFFBOARD").as_deref() != Ok("yes") {
        println!("set CIPP_OFFBOARD=yes to offboard {user} in a real tenant");
        return Ok(());
    }
    let options = OffboardingOptions {
        // Cut access first.
        revoke_sessions: true,
        reset_password: true,
        disable_sign_in: true,
        // Detach the account from the organisation.
        hide_from_gal: true,
        remove_groups: true,
        remove_rules: true,
        remove_mobile_devices: true,
        // Hand the mailbox over to a colleague.
        out_of_office: Some("I no longer work here; please contact the service desk.".into()),
        grant_full_access: vec![("adelev@contoso.com".into(), true)],
        convert_to_shared: true,
        // Sign-in methods now; licences later, once the shared mailbox has landed.
        remove_mfa_methods: true,
        licenses: LicenseRemoval::Deferred,
        ..Default::default()
    };
    let result = offboard(&cipp.tenant(&tenant)?, &user, &options).await?;
    support::print_report(&format!("offboarding {user}"), &result.report);
    for f in &result.follow_ups {
        println!("follow-up: {f:?}");
        // A real caller hands this to the scheduler; the example runs it at once.
        println!(
            "  → {}",
            support::outcome_line(&run_follow_up(&cipp, f).await?)
        );
    }
    Ok(())
}
