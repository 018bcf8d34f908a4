//! What a municipal message says: a subject and a text per language, as its writer gives them
//! and as they are stored.

use serde::{Deserialize, Serialize};

use crate::vocabulary::{InvalidInput, Language};

/// The longest subject, in characters: what a mail client or a notification shows.
pub const MAX_SUBJECT_CHARS: usize = 150;
/// The longest text, in characters: a newsletter, not a book.
pub const MAX_BODY_CHARS: usize = 20_000;

/// A subject and a text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageText {
    /// 1 to 150 characters, on one line.
    pub subject: String,
    /// 1 to 20,000 characters; plain text, line breaks kept.
    pub body: String,
}

/// The message in Dutch, and optionally in English for participants who chose English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTexts {
    pub nl: MessageText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<MessageText>,
}

impl MessageTexts {
    /// Trimmed, and refused when a subject or text is empty or too long, or a subject spans lines.
    pub fn parse(self) -> Result<Self, InvalidInput> {
        let text = |text: MessageText, language: &str| {
            let subject = text.subject.trim().to_string();
            let body = text.body.trim().to_string();
            let subject_chars = subject.chars().count();
            if subject_chars == 0
                || subject_chars > MAX_SUBJECT_CHARS
                || subject.chars().any(char::is_control)
            {
                return Err(InvalidInput::new(
                    "invalid_message_text",
                    format!(
                        "The {language} subject must be 1 to {MAX_SUBJECT_CHARS} characters on one line."
                    ),
                ));
            }
            let body_chars = body.chars().count();
            let stray_control = body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
            if body_chars == 0 || body_chars > MAX_BODY_CHARS || stray_control {
                return Err(InvalidInput::new(
                    "invalid_message_text",
                    format!("The {language} text must be 1 to {MAX_BODY_CHARS} characters of plain text."),
                ));
            }
            Ok(MessageText { subject, body })
        };
        Ok(Self { nl: text(self.nl, "Dutch")?, en: self.en.map(|en| text(en, "English")).transpose()? })
    }

    /// The text for a participant who reads `language`: English when there is one, else Dutch.
    pub fn in_language(&self, language: Language) -> &MessageText {
        match (language, &self.en) {
            (Language::English, Some(english)) => english,
            _ => &self.nl,
        }
    }
}

/// The stored texts; they were checked before they were stored.
pub(crate) fn stored_texts(texts: &serde_json::Value) -> MessageTexts {
    serde_json::from_value(texts.clone()).unwrap_or_else(|_| MessageTexts {
        nl: MessageText { subject: String::new(), body: String::new() },
        en: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(subject: &str, body: &str) -> MessageText {
        MessageText { subject: subject.into(), body: body.into() }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        let texts = MessageTexts { nl: text("  Inbraken in Noord ", " Let op.\nDank u. "), en: None }
            .parse()
            .unwrap();
        assert_eq!(texts.nl, text("Inbraken in Noord", "Let op.\nDank u."));
        for wrong in [
            text("", "tekst"),
            text("onderwerp", "  "),
            text("twee\nregels", "tekst"),
            text(&"x".repeat(MAX_SUBJECT_CHARS + 1), "tekst"),
            text("onderwerp", &"x".repeat(MAX_BODY_CHARS + 1)),
            text("onderwerp", "bel\u{7}"),
        ] {
            let error = MessageTexts { nl: wrong.clone(), en: None }.parse().unwrap_err();
            assert_eq!(error.code, "invalid_message_text", "{wrong:?}");
        }
        let english = MessageTexts { nl: text("a", "b"), en: Some(text("", "c")) }.parse().unwrap_err();
        assert!(english.detail.contains("English"), "{}", english.detail);
    }

    #[test]
    fn english_readers_get_english_when_there_is_some() {
        let both = MessageTexts { nl: text("Hallo", "Tekst"), en: Some(text("Hello", "Text")) };
        assert_eq!(both.in_language(Language::English).subject, "Hello");
        assert_eq!(both.in_language(Language::Dutch).subject, "Hallo");
        let dutch = MessageTexts { nl: text("Hallo", "Tekst"), en: None };
        assert_eq!(dutch.in_language(Language::English).subject, "Hallo");
    }
}
