//! Participants (deelnemers): the people alerts go to. The types here are what the rest of the
//! program sees after input from the app or from staff has been parsed; nothing inside the
//! program handles an unchecked phone number, position or push token.

pub mod devices;
pub mod email;
pub mod phone;
pub mod places;

/// Input from outside that does not describe a valid value. `code` is stable and machine
/// readable (it becomes the problem `code` at the HTTP edge); `detail` is for a person and
/// never repeats a full phone number, e-mail address or position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct InvalidInput {
    pub code: &'static str,
    pub detail: String,
}

impl InvalidInput {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}
