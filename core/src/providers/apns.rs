//! The APNs client (being written).
