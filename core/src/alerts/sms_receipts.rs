//! Delivery receipts from the SMS gateway (being written).
