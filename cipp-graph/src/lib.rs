//! Typed Microsoft Graph operations for cipp-rs: users, groups, authentication methods,
//! deleted items, audit and sign-in logs, reports, domains, inbox rules and `$batch`; and
//! the management side: GDAP ([`gdap`], with CIPP's role-mapping workflow), Conditional
//! Access ([`conditional_access`]) and Intune ([`intune`]).
//!
//! Every operation is built as a value first — a [`GraphOp`] (a request plus its decoder)
//! or, for collections, an [`ApiRequest`](cipp_core::ApiRequest) to stream — in the modules
//! [`users`], [`groups`], [`auth_methods`], [`audit`], [`directory`] and [`mail`]. Values
//! can be sent, put into a [`batch::Batch`], or inspected in a unit test. [`GraphClient`]
//! sends them and implements the small service traits ([`UsersApi`], [`GroupsApi`],
//! [`AuthMethodsApi`], [`AuditApi`], [`DirectoryApi`], [`MailApi`]) that upper layers and
//! integrators can mock.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::{Pipeline, TenantId};
//! use cipp_graph::{GraphClient, UsersApi, odata::Query, users::UserRef};
//! use futures::TryStreamExt;
//!
//! let sim = cipp_sim::Simulator::demo();
//! let graph = GraphClient::new(Pipeline::builder().transport(Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
//! let contoso = TenantId::parse("contoso.onmicrosoft.com")?;
//! let users: Vec<_> = graph.list_users(&contoso, &Query::new().select(["id", "displayName"])).try_collect().await?;
//! assert!(!users.is_empty());
//! let adele = graph.get_user(&contoso, &UserRef::parse("adelev@contoso.com")?).await?;
//! assert_eq!(adele.display_name.as_deref(), Some("Adele Vance"));
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod applications;
pub mod audit;
pub mod auth_methods;
pub mod batch;
pub mod call;
mod client;
pub mod conditional_access;
pub mod directory;
pub mod gdap;
pub mod groups;
pub mod intune;
pub mod mail;
pub mod mfa_push;
pub mod model;
pub mod odata;
pub mod op;
pub mod password;
pub mod sharepoint;
mod tenant;
pub mod users;

pub use call::{Call, Items, List};
pub use cipp_core;
pub use client::{
    AuditApi, AuthMethodsApi, ConditionalAccessApi, DirectoryApi, GdapApi, GraphClient, GroupsApi,
    IntuneApi, MailApi, UsersApi,
};
pub use op::GraphOp;
pub use tenant::TenantGraph;
pub use users::PasswordReset;
