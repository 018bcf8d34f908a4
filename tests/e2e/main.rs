//! End-to-end tests: the real server, a real PostgreSQL + PostGIS, real sockets. One test binary,
//! so the throwaway cluster starts once per run.

mod account;
mod alert_delivery;
mod alerts;
mod apns;
mod auth;
mod authorization;
mod bench;
mod command_line;
mod console;
mod console_api;
mod contract;
mod database_tls;
mod dev_outbox;
mod dossier_anchor;
mod edge;
mod event_streams;
mod fcm;
mod helpers;
mod jobs;
mod local_identity;
mod log_privacy;
mod media_store;
mod migrations;
mod observability;
mod participant_management;
mod providers;
mod reference_data;
mod reports_participation;
mod resilience;
mod retention_and_erasure;
mod selection;
mod service_access;
mod sign_in;
mod sms_receipts;
mod tip_media;
