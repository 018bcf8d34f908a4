//! The SQL of local tooling: the benchmark's synthetic population.

pub mod synthetic;
pub mod synthetic_year;
