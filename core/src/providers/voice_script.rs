//! What text-to-speech reads in a voice call ([`super::voice`]): an opening that says who calls,
//! the message, the number to call back read digit by digit, then "I repeat" and the message and
//! the number once more, and a closing, so someone who picked up mid-sentence still hears it all.
//!
//! Plain text, no SSML: every gateway reads it, and the punctuation gives the pauses. Digits are
//! separated by `", "` so the voice reads `0800` as "zero, eight, zero, zero" rather than "eight
//! hundred".

use std::borrow::Cow;

use crate::vocabulary::Language;

/// The longest script we hand the gateway. A long message is cut at a word boundary so the whole
/// script, repeat included, stays within this (about four minutes of speech).
pub const MAX_SCRIPT_CHARS: usize = 3000;

/// The fixed sentences of a call in one language.
struct Phrases {
    opening: &'static str,
    call_back: &'static str,
    repeat: &'static str,
    closing: &'static str,
}

fn phrases(language: Language) -> Phrases {
    match language {
        Language::Dutch => Phrases {
            opening: "Dit is een oproep van Burgernet.",
            call_back: "Heeft u iets gezien? Bel dan",
            repeat: "Ik herhaal.",
            closing: "Einde van het bericht.",
        },
        Language::English => Phrases {
            opening: "This is a call from Burgernet.",
            call_back: "Have you seen anything? Call",
            repeat: "I repeat.",
            closing: "End of message.",
        },
    }
}

/// The script for `message` in `language`, with `call_back_number` (as people write it:
/// `0800-0011`, `+31 88 000 0000`) read digit by digit. A number without digits leaves the
/// call-back sentence out.
pub fn call_script(language: Language, message: &str, call_back_number: &str) -> String {
    let phrases = phrases(language);
    let call_back = read_digit_by_digit(call_back_number)
        .map(|digits| format!("{} {digits}.", phrases.call_back))
        .unwrap_or_default();
    let assemble = |message: &str| {
        let once = [message, call_back.as_str()];
        [phrases.opening]
            .into_iter()
            .chain(once)
            .chain([phrases.repeat])
            .chain(once)
            .chain([phrases.closing])
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The message is read twice, each time with a space before it.
    let room = MAX_SCRIPT_CHARS.saturating_sub(assemble("").chars().count() + 2) / 2;
    let message = as_sentence(&message.split_whitespace().collect::<Vec<_>>().join(" "));
    assemble(&shorten(&message, room))
}

/// `0800-0011` as `0, 8, 0, 0, 0, 0, 1, 1`; a leading `+` is read as `plus`, anything else that
/// is not a digit is dropped. `None` without digits.
fn read_digit_by_digit(number: &str) -> Option<String> {
    let number = number.trim();
    let digits: Vec<String> = number.chars().filter(char::is_ascii_digit).map(String::from).collect();
    if digits.is_empty() {
        return None;
    }
    let plus = number.starts_with('+').then(|| "plus".to_string());
    Some(plus.into_iter().chain(digits).collect::<Vec<_>>().join(", "))
}

/// Ends the message with a full stop, unless it ends a sentence already, so the voice pauses
/// before what follows.
fn as_sentence(message: &str) -> String {
    let message = message.trim_end_matches([',', ';', ':', '-']).trim_end();
    if message.is_empty() || message.ends_with(['.', '!', '?']) {
        message.to_string()
    } else {
        format!("{message}.")
    }
}

/// At most `room` characters of `message`: cut after its last whole word that fits, ending with a
/// full stop. A single word longer than `room` is cut where it must be.
fn shorten(message: &str, room: usize) -> Cow<'_, str> {
    if message.chars().count() <= room {
        return Cow::Borrowed(message);
    }
    let Some(keep) = room.checked_sub(1) else { return Cow::Borrowed("") };
    // `keep` characters, leaving room for the full stop.
    let end = message.char_indices().nth(keep).map_or(message.len(), |(at, _)| at);
    let head = &message[..end];
    let head = if message[end..].starts_with(' ') {
        head
    } else {
        head.rfind(' ').map_or(head, |space| &head[..space])
    };
    let head = head.trim_end_matches(|c: char| !c.is_alphanumeric());
    Cow::Owned(if head.is_empty() { String::new() } else { format!("{head}.") })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str =
        "Gezocht: een man van ongeveer 30 jaar, rode jas, op een zwarte fiets richting het station.";

    #[test]
    fn the_script_opens_reads_the_message_and_number_repeats_once_and_closes() {
        let script = call_script(Language::Dutch, MESSAGE, "0800-0011");
        assert_eq!(
            script,
            format!(
                "Dit is een oproep van Burgernet. {MESSAGE} Heeft u iets gezien? Bel dan 0, 8, 0, 0, 0, 0, 1, 1. \
                 Ik herhaal. {MESSAGE} Heeft u iets gezien? Bel dan 0, 8, 0, 0, 0, 0, 1, 1. \
                 Einde van het bericht."
            )
        );
        assert_eq!(script.matches("Ik herhaal.").count(), 1);
        assert_eq!(script.matches(MESSAGE).count(), 2);
        assert_eq!(script.matches("Bel dan").count(), 2);
    }

    #[test]
    fn english_participants_hear_english() {
        let message = "Missing: a girl of 8, blue coat.";
        assert_eq!(
            call_script(Language::English, message, "0800 0011"),
            format!(
                "This is a call from Burgernet. {message} Have you seen anything? Call 0, 8, 0, 0, 0, 0, 1, 1. \
                 I repeat. {message} Have you seen anything? Call 0, 8, 0, 0, 0, 0, 1, 1. End of message."
            )
        );
    }

    #[test]
    fn the_number_is_read_one_digit_at_a_time() {
        assert_eq!(read_digit_by_digit("0800-0011").as_deref(), Some("0, 8, 0, 0, 0, 0, 1, 1"));
        assert_eq!(read_digit_by_digit(" +31 (0)88 12 ").as_deref(), Some("plus, 3, 1, 0, 8, 8, 1, 2"));
        // Only a leading + is read; other signs are dropped like separators.
        assert_eq!(read_digit_by_digit("112+").as_deref(), Some("1, 1, 2"));
        assert_eq!(read_digit_by_digit("bel ons"), None);
        let script = call_script(Language::Dutch, "Let op", "");
        assert_eq!(
            script,
            "Dit is een oproep van Burgernet. Let op. Ik herhaal. Let op. Einde van het bericht."
        );
    }

    #[test]
    fn the_message_becomes_one_sentence_on_one_line() {
        let script = call_script(Language::Dutch, "  Let op:\n\ngestolen   auto,\tkenteken AB-12-CD ", "112");
        assert!(script.contains("Burgernet. Let op: gestolen auto, kenteken AB-12-CD. Heeft u"), "{script}");
        assert!(call_script(Language::English, "Stay inside!", "112").contains("inside! Have you"));
    }

    #[test]
    fn a_long_message_is_cut_at_a_word_boundary_and_still_repeated() {
        let message = "Burgernet zoekt getuigen van een inbraak. ".repeat(100);
        let script = call_script(Language::Dutch, &message, "0800-0011");
        assert!(script.chars().count() <= MAX_SCRIPT_CHARS, "{}", script.chars().count());
        assert!(script.chars().count() > MAX_SCRIPT_CHARS - 50, "{}", script.chars().count());
        assert_eq!(script.matches("Ik herhaal.").count(), 1);
        assert!(script.ends_with("Bel dan 0, 8, 0, 0, 0, 0, 1, 1. Einde van het bericht."), "{script}");
        let read = script
            .strip_prefix("Dit is een oproep van Burgernet. ")
            .and_then(|rest| rest.split(" Heeft u iets gezien?").next())
            .unwrap();
        assert!(message.starts_with(read.trim_end_matches('.')), "{read}");
        let last_word = read.trim_end_matches('.').rsplit(' ').next().unwrap();
        assert!(
            ["Burgernet", "zoekt", "getuigen", "van", "een", "inbraak"].contains(&last_word),
            "{last_word}"
        );
    }

    #[test]
    fn shortening_keeps_whole_words() {
        assert_eq!(shorten("een twee drie", 13), "een twee drie");
        assert_eq!(shorten("een twee drie", 12), "een twee.");
        assert_eq!(shorten("een twee, drie", 11), "een twee.");
        assert_eq!(shorten("een twee drie", 9), "een twee.");
        assert_eq!(shorten("eentweedrie", 6), "eentw.");
        assert_eq!(shorten("een", 0), "");
    }
}
