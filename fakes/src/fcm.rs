//! The fake FCM server and token endpoint (being written).
