//! Photos and videos sent with tips: where their bytes are kept.

pub mod store;
