//! Local fakes of the providers Burgernet talks to, each a real server on 127.0.0.1 that speaks the
//! provider's protocol, checks credentials the way the provider does, answers with the provider's
//! real error bodies, and can be told to fail ([`faults`]):
//!
//! - [`apns`]: Apple Push Notification service, HTTP/2 over TLS, ES256 provider tokens;
//! - [`fcm`]: Firebase Cloud Messaging HTTP v1 and Google's OAuth2 token endpoint;
//! - [`sms`]: the SMS gateway of `burgernet_core::providers::sms`, with delivery receipts;
//! - [`voice`]: the voice gateway of `burgernet_core::providers::voice`, with call statuses (both
//!   gateways on the server of [`json_gateway`]);
//! - [`identity`]: the organisation's identity provider, publishing its staff token keys (JWKS).
//!
//! The TLS servers present certificates from a throwaway certificate authority ([`tls`]); clients
//! trust it as an extra CA, exactly as they would a corporate proxy's. The tests, the benchmark
//! (`burgernet bench`, where the fakes run in a process of their own) and local mode
//! (`burgernet dev`) all use these, so the real client code runs everywhere.

pub mod accepts;
pub mod apns;
pub mod faults;
pub mod fcm;
mod http1;
pub mod identity;
pub mod json_gateway;
pub mod sms;
pub mod tls;
pub mod voice;
