//! Shared test harness: databases, the running app, tokens.

pub mod alerts;
pub mod apns;
pub mod app;
pub mod browser;
pub mod cap;
pub mod database;
pub mod fcm;
pub mod jobs;
pub mod population;
pub mod s3;
pub mod sms;
pub mod smtp_sink;
pub mod videos;
pub mod voice;

pub use app::{SignedIn, TestApp, TestAppOptions, assert_problem, participant_ids, problem};
pub use database::TestDatabase;
