//! The fake SMS gateway (being moved here from the test harness).
