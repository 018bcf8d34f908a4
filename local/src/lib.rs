//! Local tooling, used by `burgernet dev`, `burgernet bench` and the tests, and left out of the
//! production build (the binary's `local` feature): a PostgreSQL + PostGIS cluster of our own
//! ([`postgres`]), a stand-in for the organisation's identity provider ([`identity`]) and the
//! benchmark's synthetic national population ([`db::synthetic`], its SQL in this crate's data
//! layer).

pub mod db;
pub mod identity;
pub mod postgres;
