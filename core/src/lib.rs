//! The Burgernet domain and data layer, shared by the API, the workers and the command line.
//!
//! Its modules form layers, and imports point down only (checked by `tests/module_layers.rs`):
//!
//! 1. vocabulary: [`ids`], [`secret`], [`env`] (the environment reader), [`vocabulary`] (closed
//!    sets and checked values), [`backoff`], [`sealing`];
//! 2. the data layer [`db`] and the provider clients [`providers`];
//! 3. the job mechanism [`jobs`] and the [`metrics`];
//! 4. the domain services: [`auth`], [`participants`], [`alerts`], [`media`], [`reference_data`],
//!    [`idempotency`], [`target_groups`], [`partners`],
//!    [`scenarios`];
//! 5. the settings of each process ([`config`]) and what the application is made of
//!    ([`application`]).

pub mod alerts;
pub mod application;
pub mod auth;
pub mod backoff;
pub mod config;
pub mod db;
pub mod env;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod markup;
pub mod media;
pub mod messages;
pub mod metrics;
#[cfg(feature = "local")]
pub mod outbox;
pub mod participants;
pub mod partners;
pub mod providers;
pub mod reference_data;
pub mod reports;
pub mod scenarios;
pub mod sealing;
pub mod secret;
pub mod target_groups;
pub mod vocabulary;

/// Lower-case hexadecimal, as hashes are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
