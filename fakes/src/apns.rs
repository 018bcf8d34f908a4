//! The fake APNs server (being written).
