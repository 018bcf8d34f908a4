//! Shared test harness: databases, the running app, tokens.

pub mod app;
pub mod database;

pub use app::{TestApp, TestAppOptions, problem};
pub use database::TestDatabase;
