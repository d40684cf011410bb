//! A tour of the user actions.
//!
//! ```sh
//! cargo run --example user_actions
//! ```

#[path = "support/mod.rs"]
mod support;

use cipp::exchange::addresses::AliasChange;
use cipp::exchange::cmdlets::AutoReply;
use cipp::graph::model::NewTemporaryAccessPass;
use cipp::graph::password::PasswordStyle;
use cipp::users::Guard;
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let (cipp, sim) = support::client()?;
    let (tenant, user) = support::target("alexw@contoso.com")?;
    let u = cipp.tenant(&tenant)?.user(&user)?;

    let v = u.view().await?;
    println!(
        "{} <{}>: {} groups/roles, {} methods, last sign-in {:?}",
        v.user.display_name.unwrap_or_default(),
        v.user.user_principal_name.unwrap_or_default(),
        v.member_of.len(),
        v.methods.len(),
        v.last_sign_in.and_then(|s| s.created_date_time)
    );
    println!("privileged roles: {:?}", u.privileged_roles().await?);
    if sim.is_none() {
        println!("(read-only tour on a real tenant; the changes below run on the simulator only)");
        return Ok(());
    }
    let tap = u
        .create_temporary_access_pass(
            &NewTemporaryAccessPass {
                lifetime_in_minutes: Some(60),
                ..Default::default()
            },
            Guard::RefusePrivileged,
        )
        .await?;
    println!(
        "temporary access pass created (valid {} min)",
        tap.lifetime_in_minutes.unwrap_or(0)
    );
    let reset = u
        .reset_password(
            None,
            &PasswordStyle::passphrase(),
            true,
            Guard::RefusePrivileged,
        )
        .await?;
    println!(
        "password reset to a {}-character passphrase",
        reset.password.expose_secret().len()
    );
    println!(
        "aliases: {}",
        support::outcome_line(
            &u.change_aliases(&AliasChange {
                add: vec!["alex.wilber@contoso.com".into()],
                ..Default::default()
            })
            .await?
        )
    );
    u.set_out_of_office(
        &AutoReply::Scheduled {
            start: None,
            end: None,
        },
        Some("Back next week"),
        None,
    )
    .await?;
    println!("out of office scheduled for the next 7 days");
    println!(
        "block sign-in: {}",
        support::outcome_line(&u.set_sign_in(false, Guard::RefusePrivileged).await?)
    );
    support::print_report(
        "re-require MFA registration",
        &u.rerequire_mfa(Guard::RefusePrivileged).await?,
    );
    let admin = cipp.tenant(&tenant)?.user("diegos@contoso.com")?;
    match admin.set_sign_in(false, Guard::RefusePrivileged).await {
        Err(e) => println!("guardrail: {e}"),
        Ok(o) => println!("unexpected: {o:?}"),
    }
    Ok(())
}
