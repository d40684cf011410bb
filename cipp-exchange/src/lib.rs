//! The Exchange Online admin REST client (`InvokeCommand`) and typed cmdlets for cipp-rs.
//!
//! A [`cmdlet::Cmdlet`] is a value (name, parameters, `X-AnchorMailbox`, `$select`); the
//! functions in [`cmdlets`] build validated ones for mailboxes, aliases, forwarding,
//! conversions, archives, inbox rules, automatic replies, permissions, distribution groups,
//! mobile devices, transport rules, audit configuration, the unified audit log, message
//! traces and the outbound spam policy, and ([`protection`]) transport rules, spam and
//! connection filters, connectors and Safe Links; [`folder_permissions`] (calendar and
//! contacts sharing), [`junk_email`] (trusted and blocked senders), [`inbox_rules`]
//! (typed `Set-InboxRule`) and [`distribution_groups`] (creating and changing distribution
//! lists, mail-enabled security and dynamic distribution groups). [`ExoClient`] sends them (paging by re-POSTing the
//! body to the next link, `@adminapi.warnings` surfaced) one by one or in `$batch`es of 10;
//! `exo.tenant(&t)` gives a [`TenantExchange`] with the typed operations of one tenant.
//! Microsoft does not document this endpoint; it behaves as CIPP uses it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::{Pipeline, TenantId};
//! use cipp_exchange::ExoClient;
//!
//! let sim = cipp_sim::Simulator::demo();
//! let exo = ExoClient::new(Pipeline::builder().transport(Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
//! let contoso = TenantId::parse("contoso.onmicrosoft.com")?;
//! let rules = exo.tenant(&contoso).inbox_rules("meganb@contoso.com").await?;
//! assert!(rules.iter().any(|r| r.forward_to.is_some()));
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod addresses;
mod client;
pub mod cmdlet;
pub mod cmdlets;
pub mod distribution_groups;
pub mod errors;
pub mod folder_permissions;
pub mod health;
pub mod inbox_rules;
pub mod junk_email;
pub mod model;
pub mod protection;

pub use cipp_core;
pub use client::{
    parse_size, CmdletOutput, Conversion, ExoClient, TenantExchange, MAX_EXO_BATCH,
    SHARED_MAILBOX_WARN_BYTES,
};
