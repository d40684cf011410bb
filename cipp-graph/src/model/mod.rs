//! Typed Graph models. Every resource keeps unknown fields in `extra`, optional fields are
//! `Option`, enums keep unknown values, and timestamps are read tolerantly.

mod audit;
mod auth_method;
mod common;
mod conditional_access;
mod gdap;
mod group;
mod intune;
mod mail;
mod sharepoint;
mod tenant;
mod user;

pub use audit::*;
pub use auth_method::*;
pub use common::{
    parse_timestamp, timestamp, DirectoryObjectId, Extra, Field, GroupId, SkuId, UserId,
};
pub use conditional_access::*;
pub use gdap::*;
pub use group::*;
pub use intune::*;
pub use mail::*;
pub use sharepoint::*;
pub use tenant::*;
pub use user::*;
