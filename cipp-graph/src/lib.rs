//! Typed Microsoft Graph operations for cipp-rs: users, groups, authentication methods,
//! deleted items, audit and sign-in logs, reports, domains, inbox rules, service
//! principals, SharePoint/OneDrive and `$batch`; and the management side: GDAP ([`gdap`],
//! with CIPP's role-mapping workflow), Conditional Access ([`conditional_access`]) and
//! Intune ([`intune`]).
//!
//! [`GraphClient::tenant`] scopes the client to one tenant; its handlers hold every
//! operation, once: `graph.tenant(&t).users().get(&u)`, `.groups().members(&g)`,
//! `.conditional_access().policies()`, … A single operation is a [`Call`] — await it to
//! send it, or take its request value with [`Call::op`] for a [`batch::Batch`] or a unit
//! test. A collection is a [`List`] with optional OData arguments (`.select`, `.filter`,
//! `.top`, …) that collects when awaited or streams with [`List::stream`]. Invalid input is
//! refused before anything is sent. Integrators mock at the transport
//! (`cipp_core::test_util::MockTransport`) or by operation name
//! (`cipp_core::test_util::OperationMock`).
//!
//! The request values themselves are built by the free functions of each area module
//! ([`users::get`], [`groups::add_member`], …), which validate input and declare the
//! operation's throttling [`workload`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::{Pipeline, TenantId};
//! use cipp_graph::{users::UserRef, GraphClient};
//!
//! let sim = cipp_sim::Simulator::demo();
//! let graph = GraphClient::new(Pipeline::builder().transport(Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
//! let contoso = graph.tenant(&TenantId::parse("contoso.onmicrosoft.com")?);
//! let users = contoso.users().list().select(["id", "displayName"]).await?;
//! assert!(!users.is_empty());
//! let adele = contoso.users().get(&UserRef::parse("adelev@contoso.com")?).await?;
//! assert_eq!(adele.display_name.as_deref(), Some("Adele Vance"));
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod applications;
pub mod audit;
pub mod audit_queries;
pub mod auth_methods;
pub mod batch;
pub mod call;
mod client;
pub mod collections;
pub mod conditional_access;
pub mod consent;
pub mod delta;
pub mod devices;
pub mod directory;
pub mod domain_records;
pub mod filter;
pub mod gdap;
pub mod group_membership;
pub mod groups;
pub mod identity_protection;
pub mod intune;
pub mod mail;
pub mod mailbox_usage;
pub mod managed_devices;
pub mod mfa_push;
pub mod model;
pub mod odata;
pub mod op;
pub mod password;
pub mod posture;
pub mod recycle_bin;
pub mod role_management;
pub mod settings;
pub mod sharepoint;
pub mod sponsors;
mod tenant;
pub mod users;
pub mod workload;

pub use call::{Call, Items, List};
pub use cipp_core;
pub use client::GraphClient;
pub use op::GraphOp;
pub use tenant::TenantGraph;
pub use users::PasswordReset;
