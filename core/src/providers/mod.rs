//! Clients for the providers that carry messages to participants.
