//! End-to-end tests: the real server, a real PostgreSQL + PostGIS, real sockets. One test binary,
//! so the throwaway cluster starts once per run.

mod helpers;
mod jobs;
mod migrations;
mod reference_data;
