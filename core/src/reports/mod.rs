//! Reports for steering the programme (design.md section 1; seeds 002 and 003): participation,
//! where participants live, alert results, delivery, costs, and the quarterly management report
//! that puts them together. Each report is read for a [`ReportScope`] (the country, a region or
//! a municipality) over a [`ReportPeriod`] of whole days in Dutch time, from rollups that are
//! kept as deliveries are recorded or by jobs, never by scanning every delivery per request.
//! Counts of people are shown as everywhere to staff: exact from 5 on ([`ReachCount`]).
//!
//! Who reads what: relations officers their municipality; dispatchers and region managers their
//! region and its municipalities; administrators everything.
//!
//! [`ReachCount`]: crate::alerts::reach::ReachCount

pub mod alert_results;
pub mod costs;
pub mod delivery;
pub mod distribution;
pub mod management;
pub mod participation;
mod period;
pub mod rollup;
mod scope;
mod table;

pub use period::{InvalidPeriod, ReportPeriod, dutch_date, dutch_time};
pub use scope::{ReportScope, ScopeRequest, scope_for};
pub use table::{Cell, Section, Table};
