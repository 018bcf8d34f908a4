//! A message as each medium carries it, in the recipient's language: a push (title and text), an
//! SMS (built for the medium: at most three segments, the call-back line always kept), an e-mail,
//! a call's script.
//! An exercise or test says so in every one: `OEFENING` after the sender's name, and a first line
//! saying it is not a real alert.

use crate::alerts::content::{AlertTexts, MessageTexts};
use crate::providers::{sms_text, voice_script};
use crate::vocabulary::Language;
use crate::vocabulary::alerts::{AlertPurpose, MessageKind};

/// The longest SMS an alert message may become, in segments.
pub const MAX_SMS_SEGMENTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub push_title: String,
    pub push_body: String,
    pub sms: String,
    /// How many segments the SMS takes unshortened: above [`MAX_SMS_SEGMENTS`], `sms` was cut.
    pub sms_segments_unshortened: usize,
    pub email_subject: String,
    pub email_body: String,
    /// What a call reads aloud: the call script, with the call-back number digit by digit.
    pub voice: String,
}

struct Words {
    update: &'static str,
    ended: &'static str,
    call: &'static str,
}

/// How an exercise or test is marked in `language`: the word after "Burgernet" and the first line
/// of the text. Every marker holds `OEFENING`, the word participants know from the exercises.
fn exercise_marker(purpose: AlertPurpose, language: Language) -> Option<(&'static str, &'static str)> {
    match (purpose, language) {
        (AlertPurpose::Actual, _) => None,
        (AlertPurpose::Exercise, Language::Dutch) => {
            Some(("OEFENING", "Dit is een oefening, geen echte melding."))
        }
        (AlertPurpose::Exercise, Language::English) => {
            Some(("EXERCISE (OEFENING)", "This is an exercise, not a real alert."))
        }
        (AlertPurpose::Test, Language::Dutch) => {
            Some(("OEFENING (TEST)", "Dit is een test, geen echte melding."))
        }
        (AlertPurpose::Test, Language::English) => {
            Some(("TEST (OEFENING)", "This is a test, not a real alert."))
        }
    }
}

fn words(language: Language) -> Words {
    match language {
        Language::Dutch => Words { update: "Update", ended: "Afgelopen", call: "Gezien? Bel" },
        Language::English => Words { update: "Update", ended: "Ended", call: "Seen anything? Call" },
    }
}

/// Renders one message of an alert in `language` (Dutch when the control room wrote no English).
pub fn render(
    kind: MessageKind,
    purpose: AlertPurpose,
    alert: &AlertTexts,
    message: Option<&MessageTexts>,
    call_back_number: Option<&str>,
    language: Language,
) -> Rendered {
    let words = words(language);
    let alert_text = alert.in_language(language);
    let call_line = call_back_number.map(|number| format!("{} {number}.", words.call));
    let (title, body) = match (kind, message) {
        (MessageKind::Alert, _) | (_, None) => {
            let mut body = alert_text.message.clone();
            if let Some(instruction) = &alert_text.instruction {
                body = format!("{body}\n{instruction}");
            }
            (alert_text.title.clone(), body)
        }
        (MessageKind::Update, Some(texts)) => {
            (format!("{}: {}", words.update, alert_text.title), texts.in_language(language).message.clone())
        }
        (MessageKind::Closing, Some(texts)) => {
            (format!("{}: {}", words.ended, alert_text.title), texts.in_language(language).message.clone())
        }
    };
    let with_call = |text: &str| match (&call_line, kind) {
        (Some(line), MessageKind::Alert | MessageKind::Update) => format!("{text}\n{line}"),
        _ => text.to_string(),
    };
    let sms_tail = match (&call_line, kind) {
        (Some(line), MessageKind::Alert | MessageKind::Update) => format!(" {line}"),
        _ => String::new(),
    };
    // A call says the exercise before anything else: who picks up mid-sentence hears it twice.
    let spoken = match exercise_marker(purpose, language) {
        Some((marker, notice)) => format!("{marker}. {notice} {title}. {body}"),
        None => format!("{title}. {body}"),
    };
    let spoken_call_back = match kind {
        MessageKind::Alert | MessageKind::Update => call_back_number.unwrap_or_default(),
        MessageKind::Closing => "",
    };
    let (sender, body) = match exercise_marker(purpose, language) {
        Some((marker, notice)) => (format!("Burgernet {marker}"), format!("{notice}\n{body}")),
        None => ("Burgernet".to_string(), body),
    };
    let sms_head = format!("{sender}: {title}. {}", body.replace('\n', " "));
    Rendered {
        push_title: format!("{sender}: {title}"),
        push_body: with_call(&body),
        sms: sms_text::fit_with_tail(&sms_head, &sms_tail, MAX_SMS_SEGMENTS).body,
        sms_segments_unshortened: sms_text::prepare(&format!("{sms_head}{sms_tail}")).segments,
        email_subject: format!("{sender}: {title}"),
        email_body: with_call(&body),
        voice: voice_script::call_script(language, &spoken, spoken_call_back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::content::{AlertText, MessageText};

    fn alert() -> AlertTexts {
        AlertTexts {
            nl: AlertText {
                title: "Vermist: jongen van 8".into(),
                message: "Rode jas, blauwe pet.".into(),
                instruction: Some("Benader hem rustig.".into()),
            },
            en: Some(AlertText {
                title: "Missing: boy aged 8".into(),
                message: "Red coat, blue cap.".into(),
                instruction: None,
            }),
        }
    }

    #[test]
    fn the_alert_in_each_language_with_the_call_back_line() {
        let nl = render(
            MessageKind::Alert,
            AlertPurpose::Actual,
            &alert(),
            None,
            Some("0900-8844"),
            Language::Dutch,
        );
        assert_eq!(nl.push_title, "Burgernet: Vermist: jongen van 8");
        assert_eq!(nl.push_body, "Rode jas, blauwe pet.\nBenader hem rustig.\nGezien? Bel 0900-8844.");
        assert!(nl.sms.starts_with("Burgernet: Vermist: jongen van 8. Rode jas"), "{}", nl.sms);
        assert!(nl.sms.ends_with("Gezien? Bel 0900-8844."), "{}", nl.sms);
        assert_eq!(nl.sms_segments_unshortened, 1);
        let en =
            render(MessageKind::Alert, AlertPurpose::Actual, &alert(), None, Some("112"), Language::English);
        assert_eq!(en.push_body, "Red coat, blue cap.\nSeen anything? Call 112.");
    }

    #[test]
    fn a_long_alert_fits_three_sms_segments_and_keeps_the_call_back_line() {
        let mut texts = alert();
        texts.nl.message = "Signalement: man met een lange donkere jas en een rode sjaal. ".repeat(16);
        texts.nl.title = "Gezocht “de scooterrover”".into();
        let rendered = render(
            MessageKind::Alert,
            AlertPurpose::Actual,
            &texts,
            None,
            Some("0900-8844"),
            Language::Dutch,
        );
        let sms = sms_text::prepare(&rendered.sms);
        assert!(sms.segments <= MAX_SMS_SEGMENTS, "{} segments: {}", sms.segments, rendered.sms);
        assert_eq!(
            sms.encoding,
            sms_text::SmsEncoding::Gsm7,
            "curly quotes are made GSM-7: {}",
            rendered.sms
        );
        assert!(rendered.sms.ends_with("... Gezien? Bel 0900-8844."), "{}", rendered.sms);
        assert!(rendered.sms_segments_unshortened > MAX_SMS_SEGMENTS, "it says it was cut");
        // The push keeps the whole text; the provider client shortens it only to its own limit.
        assert!(rendered.push_body.len() > 900);
    }

    #[test]
    fn an_exercise_says_so_in_every_medium_and_language() {
        let update = MessageTexts { nl: MessageText { message: "Hij draagt nu een pet.".into() }, en: None };
        for (kind, message) in [(MessageKind::Alert, None), (MessageKind::Update, Some(&update))] {
            let nl = render(kind, AlertPurpose::Exercise, &alert(), message, Some("112"), Language::Dutch);
            assert!(nl.push_title.starts_with("Burgernet OEFENING: "), "{}", nl.push_title);
            assert!(
                nl.push_body.starts_with("Dit is een oefening, geen echte melding.\n"),
                "{}",
                nl.push_body
            );
            assert!(nl.sms.starts_with("Burgernet OEFENING: "), "{}", nl.sms);
            assert!(nl.email_subject.starts_with("Burgernet OEFENING: "), "{}", nl.email_subject);
            assert!(nl.email_body.starts_with("Dit is een oefening"), "{}", nl.email_body);
            let en = render(kind, AlertPurpose::Exercise, &alert(), message, Some("112"), Language::English);
            assert!(en.push_title.starts_with("Burgernet EXERCISE (OEFENING): "), "{}", en.push_title);
            assert!(en.sms.contains("This is an exercise, not a real alert."), "{}", en.sms);
            assert!(
                nl.voice.starts_with(
                    "Dit is een oproep van Burgernet. OEFENING. Dit is een oefening, geen echte melding."
                ),
                "{}",
                nl.voice
            );
            assert!(en.voice.contains("EXERCISE (OEFENING). This is an exercise"), "{}", en.voice);
        }
        let test = render(MessageKind::Alert, AlertPurpose::Test, &alert(), None, None, Language::Dutch);
        assert_eq!(test.push_title, "Burgernet OEFENING (TEST): Vermist: jongen van 8");
        assert!(test.push_body.starts_with("Dit is een test, geen echte melding.\n"), "{}", test.push_body);
    }

    #[test]
    fn a_call_reads_the_alert_and_the_call_back_number_digit_by_digit_twice() {
        let nl = render(
            MessageKind::Alert,
            AlertPurpose::Actual,
            &alert(),
            None,
            Some("0900-8844"),
            Language::Dutch,
        );
        assert_eq!(
            nl.voice,
            "Dit is een oproep van Burgernet. Vermist: jongen van 8. Rode jas, blauwe pet. Benader hem \
             rustig. Heeft u iets gezien? Bel dan 0, 9, 0, 0, 8, 8, 4, 4. Ik herhaal. Vermist: jongen \
             van 8. Rode jas, blauwe pet. Benader hem rustig. Heeft u iets gezien? Bel dan 0, 9, 0, 0, \
             8, 8, 4, 4. Einde van het bericht."
        );
        let closing = MessageTexts { nl: MessageText { message: "Hij is gevonden.".into() }, en: None };
        let ended = render(
            MessageKind::Closing,
            AlertPurpose::Actual,
            &alert(),
            Some(&closing),
            Some("112"),
            Language::English,
        );
        assert!(
            ended.voice.starts_with("This is a call from Burgernet. Ended: Missing: boy aged 8."),
            "{}",
            ended.voice
        );
        assert!(!ended.voice.contains("Call"), "a closing message asks for no calls: {}", ended.voice);
    }

    #[test]
    fn follow_ups_name_the_alert() {
        let closing = MessageTexts { nl: MessageText { message: "Hij is gevonden. Dank!".into() }, en: None };
        let rendered = render(
            MessageKind::Closing,
            AlertPurpose::Actual,
            &alert(),
            Some(&closing),
            Some("112"),
            Language::English,
        );
        assert_eq!(rendered.push_title, "Burgernet: Ended: Missing: boy aged 8");
        // No English closing text: the Dutch one, and no call to action once it is over.
        assert_eq!(rendered.push_body, "Hij is gevonden. Dank!");
    }
}
