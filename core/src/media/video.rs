//! Videos of a tip.
