//! The background workers. A [`Runner`] claims jobs from the Postgres queue (see
//! `burgernet_core::jobs` and `burgernet_core::db::jobs`) and runs up to `concurrency` of them at
//! a time:
//!
//! - `slot`: one lane of work: claim a job, run it while a heartbeat keeps its lease, record the
//!   outcome, and wait for a wake-up when the queue is empty;
//! - `listener`: a dedicated connection that `LISTEN`s for new jobs and wakes an idle slot;
//! - `poller`: the fallback when notifications are missed or jobs become due later; it also fails
//!   jobs whose worker vanished on their final attempt;
//! - `registry`: the job types this runner knows, behind one type-erased handler each.

mod listener;
mod poller;
mod registry;
mod runner;
mod slot;

pub use runner::{Runner, RunnerHandle};
