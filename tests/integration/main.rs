//! The facade's integration tests, in one binary: each file was a test binary of its own,
//! and linking thirty binaries of the whole workspace cost CI minutes. Each module is one
//! area; `common` is the shared setup.

mod common;

mod access;
mod access_control;
mod alerts;
mod alerts_exchange;
mod alerts_identity;
mod alerts_tenant;
mod audit_log;
mod audit_sinks;
mod create_user;
mod facade;
mod facade_wire;
mod gdap_actions;
mod gdap_onboarding;
mod guard;
mod layering;
mod offboarding_follow_ups;
mod recycle_bin;
mod research_report;
mod scheduler_commands;
mod standards_drift;
mod standards_fleet;
mod task_owners;
mod templates_deploy;
mod templates_exchange;
mod templates_guardrails;
mod tenant_groups;
mod triggers;
mod user_actions_more;
mod user_actions_sim;
mod user_commands;
