//! Shared test harness: databases, the running app, tokens.

pub mod database;

pub use database::TestDatabase;
