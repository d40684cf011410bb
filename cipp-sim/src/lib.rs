//! A simulated Microsoft 365 (being built).

pub use cipp_core;
