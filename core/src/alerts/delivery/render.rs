//! A message as each medium carries it, in the recipient's language: a push (title and text), an
//! SMS (built for the medium: at most three segments, the call-back line always kept), an e-mail.

use crate::alerts::content::{AlertTexts, MessageTexts};
use crate::providers::sms_text;
use crate::vocabulary::Language;
use crate::vocabulary::alerts::MessageKind;

/// The longest SMS an alert message may become, in segments.
pub const MAX_SMS_SEGMENTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub push_title: String,
    pub push_body: String,
    pub sms: String,
    pub email_subject: String,
    pub email_body: String,
}

struct Words {
    update: &'static str,
    ended: &'static str,
    call: &'static str,
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
    let sms_head = format!("Burgernet: {title}. {}", body.replace('\n', " "));
    Rendered {
        push_title: format!("Burgernet: {title}"),
        push_body: with_call(&body),
        sms: sms_text::fit_with_tail(&sms_head, &sms_tail, MAX_SMS_SEGMENTS).body,
        email_subject: format!("Burgernet: {title}"),
        email_body: with_call(&body),
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
        let nl = render(MessageKind::Alert, &alert(), None, Some("0900-8844"), Language::Dutch);
        assert_eq!(nl.push_title, "Burgernet: Vermist: jongen van 8");
        assert_eq!(nl.push_body, "Rode jas, blauwe pet.\nBenader hem rustig.\nGezien? Bel 0900-8844.");
        assert!(nl.sms.starts_with("Burgernet: Vermist: jongen van 8. Rode jas"), "{}", nl.sms);
        assert!(nl.sms.ends_with("Gezien? Bel 0900-8844."), "{}", nl.sms);
        let en = render(MessageKind::Alert, &alert(), None, Some("112"), Language::English);
        assert_eq!(en.push_body, "Red coat, blue cap.\nSeen anything? Call 112.");
    }

    #[test]
    fn a_long_alert_fits_three_sms_segments_and_keeps_the_call_back_line() {
        let mut texts = alert();
        texts.nl.message = "Signalement: man met een lange donkere jas en een rode sjaal. ".repeat(16);
        texts.nl.title = "Gezocht “de scooterrover”".into();
        let rendered = render(MessageKind::Alert, &texts, None, Some("0900-8844"), Language::Dutch);
        let sms = sms_text::prepare(&rendered.sms);
        assert!(sms.segments <= MAX_SMS_SEGMENTS, "{} segments: {}", sms.segments, rendered.sms);
        assert_eq!(
            sms.encoding,
            sms_text::SmsEncoding::Gsm7,
            "curly quotes are made GSM-7: {}",
            rendered.sms
        );
        assert!(rendered.sms.ends_with("... Gezien? Bel 0900-8844."), "{}", rendered.sms);
        // The push keeps the whole text; the provider client shortens it only to its own limit.
        assert!(rendered.push_body.len() > 900);
    }

    #[test]
    fn follow_ups_name_the_alert() {
        let closing = MessageTexts { nl: MessageText { message: "Hij is gevonden. Dank!".into() }, en: None };
        let rendered = render(MessageKind::Closing, &alert(), Some(&closing), Some("112"), Language::English);
        assert_eq!(rendered.push_title, "Burgernet: Ended: Missing: boy aged 8");
        // No English closing text: the Dutch one, and no call to action once it is over.
        assert_eq!(rendered.push_body, "Hij is gevonden. Dank!");
    }
}
