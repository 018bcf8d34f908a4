//! The Burgernet domain and data layer, shared by the API, the workers and the command line.

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
pub mod media;
pub mod metrics;
#[cfg(feature = "local")]
pub mod outbox;
pub mod participants;
pub mod providers;
pub mod reference_data;
pub mod sealing;
pub mod secret;
pub mod vocabulary;

/// Lower-case hexadecimal, as hashes are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
