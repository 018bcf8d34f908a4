//! The FCM HTTP v1 client (being written).
