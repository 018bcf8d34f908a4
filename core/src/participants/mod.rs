//! Participants (deelnemers): the people alerts go to. The types here are what the rest of the
//! program sees after input from the app or from staff has been parsed; nothing inside the
//! program handles an unchecked phone number, position or push token.

pub mod account;
pub mod management;
pub(crate) mod membership;
pub mod notices;
pub mod participation;
pub mod rate_limits;
pub mod sign_in;
