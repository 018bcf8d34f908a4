//! What an alert says: the structured description (signalement) of a person and a vehicle plus
//! free text, and the texts participants read, per language (Dutch required, English optional).
//! Everything is parsed here, at the edge: trimmed, bounded, free of control characters.

use serde::{Deserialize, Serialize};

use crate::vocabulary::{InvalidInput, Language, form_text, text_enum};

const MAX_FIELD: usize = 200;
const MAX_FREE_TEXT: usize = 2_000;

text_enum!(
    /// Sex as the description gives it.
    Sex {
        Male => "male",
        Female => "female",
        Unknown => "unknown",
    }
);

text_enum!(
    /// The kind of vehicle in a description.
    VehicleKind {
        Car => "car",
        Van => "van",
        Truck => "truck",
        Motorcycle => "motorcycle",
        Scooter => "scooter",
        Bicycle => "bicycle",
        Other => "other",
    }
);

/// A person to look out for. Every field is optional: a description says what is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonDescription {
    pub sex: Option<Sex>,
    /// Estimated age range in years.
    pub age_min: Option<u8>,
    pub age_max: Option<u8>,
    /// Estimated height in centimetres.
    pub height_cm: Option<u16>,
    pub build: Option<String>,
    pub skin_colour: Option<String>,
    pub hair: Option<String>,
    pub clothing: Option<String>,
    /// Anything that stands out: glasses, a limp, a tattoo, what they carry.
    pub particulars: Option<String>,
}

/// A vehicle to look out for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleDescription {
    pub kind: Option<VehicleKind>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub colour: Option<String>,
    /// As seen, e.g. `12-ABC-3`; kept upper case.
    pub licence_plate: Option<String>,
    /// Direction of travel when last seen.
    pub direction: Option<String>,
}

/// The signalement: structured fields for a person and for a vehicle, plus free text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub person: Option<PersonDescription>,
    pub vehicle: Option<VehicleDescription>,
    pub free_text: Option<String>,
}

fn clean(field: &str, raw: &Option<String>, max: usize) -> Result<Option<String>, InvalidInput> {
    let Some(raw) = raw else { return Ok(None) };
    form_text(raw, max, true).map_err(|_| {
        InvalidInput::new(
            "invalid_description",
            format!("{field} has at most {max} characters and no control characters."),
        )
    })
}

impl Description {
    pub fn parse(raw: Description) -> Result<Self, InvalidInput> {
        let person = raw
            .person
            .map(|p| -> Result<PersonDescription, InvalidInput> {
                if let (Some(min), Some(max)) = (p.age_min, p.age_max)
                    && min > max
                {
                    return Err(InvalidInput::new("invalid_description", "age_min is above age_max."));
                }
                if p.age_min.is_some_and(|a| a > 120) || p.age_max.is_some_and(|a| a > 120) {
                    return Err(InvalidInput::new("invalid_description", "Ages are 0 to 120 years."));
                }
                if p.height_cm.is_some_and(|h| !(40..=250).contains(&h)) {
                    return Err(InvalidInput::new("invalid_description", "height_cm is 40 to 250."));
                }
                Ok(PersonDescription {
                    sex: p.sex,
                    age_min: p.age_min,
                    age_max: p.age_max,
                    height_cm: p.height_cm,
                    build: clean("person.build", &p.build, MAX_FIELD)?,
                    skin_colour: clean("person.skin_colour", &p.skin_colour, MAX_FIELD)?,
                    hair: clean("person.hair", &p.hair, MAX_FIELD)?,
                    clothing: clean("person.clothing", &p.clothing, MAX_FIELD)?,
                    particulars: clean("person.particulars", &p.particulars, MAX_FIELD)?,
                })
            })
            .transpose()?;
        let vehicle = raw
            .vehicle
            .map(|v| -> Result<VehicleDescription, InvalidInput> {
                let licence_plate = clean("vehicle.licence_plate", &v.licence_plate, 12)?
                    .map(|plate| plate.to_uppercase())
                    .map(|plate| {
                        if plate.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
                            Ok(plate)
                        } else {
                            Err(InvalidInput::new(
                                "invalid_description",
                                "vehicle.licence_plate has letters, digits, hyphens and spaces only.",
                            ))
                        }
                    })
                    .transpose()?;
                Ok(VehicleDescription {
                    kind: v.kind,
                    make: clean("vehicle.make", &v.make, MAX_FIELD)?,
                    model: clean("vehicle.model", &v.model, MAX_FIELD)?,
                    colour: clean("vehicle.colour", &v.colour, MAX_FIELD)?,
                    licence_plate,
                    direction: clean("vehicle.direction", &v.direction, MAX_FIELD)?,
                })
            })
            .transpose()?;
        Ok(Self { person, vehicle, free_text: clean("free_text", &raw.free_text, MAX_FREE_TEXT)? })
    }
}

/// The alert as participants read it in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertText {
    /// Up to 100 characters, e.g. "Vermist: jongen van 8".
    pub title: String,
    /// What happened and whom or what to look for; up to 1,000 characters.
    pub message: String,
    /// What to do, e.g. "Benader de persoon niet; bel 112."; up to 300 characters.
    pub instruction: Option<String>,
}

/// The alert's texts: Dutch always, English when the control room wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertTexts {
    pub nl: AlertText,
    pub en: Option<AlertText>,
}

/// An update or closing message in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageText {
    /// Up to 1,000 characters.
    pub message: String,
}

/// An update's or closing message's texts: Dutch always, English optionally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTexts {
    pub nl: MessageText,
    pub en: Option<MessageText>,
}

fn required(field: &str, raw: &str, max: usize) -> Result<String, InvalidInput> {
    clean(field, &Some(raw.to_string()), max)
        .map_err(|error| InvalidInput::new("invalid_text", error.detail))?
        .ok_or_else(|| InvalidInput::new("invalid_text", format!("{field} may not be empty.")))
}

impl AlertText {
    fn parse(language: &str, raw: AlertText) -> Result<Self, InvalidInput> {
        Ok(Self {
            title: required(&format!("texts.{language}.title"), &raw.title, 100)?,
            message: required(&format!("texts.{language}.message"), &raw.message, 1_000)?,
            instruction: clean(&format!("texts.{language}.instruction"), &raw.instruction, 300)
                .map_err(|error| InvalidInput::new("invalid_text", error.detail))?,
        })
    }
}

impl AlertTexts {
    pub fn parse(raw: AlertTexts) -> Result<Self, InvalidInput> {
        Ok(Self {
            nl: AlertText::parse("nl", raw.nl)?,
            en: raw.en.map(|en| AlertText::parse("en", en)).transpose()?,
        })
    }

    /// The text in `language`, falling back to Dutch.
    pub fn in_language(&self, language: Language) -> &AlertText {
        match language {
            Language::English => self.en.as_ref().unwrap_or(&self.nl),
            Language::Dutch => &self.nl,
        }
    }
}

impl MessageTexts {
    pub fn parse(raw: MessageTexts) -> Result<Self, InvalidInput> {
        let parse = |language: &str, text: MessageText| -> Result<MessageText, InvalidInput> {
            Ok(MessageText { message: required(&format!("texts.{language}.message"), &text.message, 1_000)? })
        };
        Ok(Self { nl: parse("nl", raw.nl)?, en: raw.en.map(|en| parse("en", en)).transpose()? })
    }

    pub fn in_language(&self, language: Language) -> &MessageText {
        match language {
            Language::English => self.en.as_ref().unwrap_or(&self.nl),
            Language::Dutch => &self.nl,
        }
    }
}

/// The longest call-back number, in characters.
pub const MAX_CALL_BACK_NUMBER_CHARS: usize = 20;

/// The number participants call with what they saw: the control room's line, 112, or the
/// police's 0900-8844. Digits with an optional leading `+`, spaces and hyphens; 3 to 20 characters.
pub fn parse_call_back_number(raw: &str) -> Result<String, InvalidInput> {
    let number = raw.trim();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let shape_ok = number
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0));
    if !(3..=MAX_CALL_BACK_NUMBER_CHARS).contains(&number.len()) || digits < 3 || !shape_ok {
        return Err(InvalidInput::new(
            "invalid_call_back_number",
            "A call-back number has digits, an optional leading +, spaces and hyphens (e.g. 0900-8844).",
        ));
    }
    Ok(number.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &str, message: &str) -> AlertText {
        AlertText { title: title.into(), message: message.into(), instruction: None }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        let parsed =
            AlertTexts::parse(AlertTexts { nl: text("  Vermist  ", " Jongen van 8 "), en: None }).unwrap();
        assert_eq!(parsed.nl.title, "Vermist");
        assert_eq!(parsed.in_language(Language::English).title, "Vermist");
        let error = AlertTexts::parse(AlertTexts { nl: text(" ", "x"), en: None }).unwrap_err();
        assert_eq!(error.code, "invalid_text");
        assert!(error.detail.contains("texts.nl.title"), "{error}");
        let long = "x".repeat(101);
        let error = AlertTexts::parse(AlertTexts { nl: text(&long, "x"), en: None }).unwrap_err();
        assert_eq!(error.code, "invalid_text", "{error}");
        let with_bell = AlertTexts { nl: text("a\u{7}", "x"), en: None };
        assert!(AlertTexts::parse(with_bell).is_err());
    }

    #[test]
    fn descriptions_are_checked() {
        let raw = Description {
            person: Some(PersonDescription { age_min: Some(30), age_max: Some(20), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(Description::parse(raw).unwrap_err().code, "invalid_description");
        let raw = Description {
            vehicle: Some(VehicleDescription {
                licence_plate: Some(" 12-abc-3 ".into()),
                ..Default::default()
            }),
            free_text: Some("  ".into()),
            ..Default::default()
        };
        let parsed = Description::parse(raw).unwrap();
        assert_eq!(parsed.vehicle.unwrap().licence_plate.as_deref(), Some("12-ABC-3"));
        assert_eq!(parsed.free_text, None);
    }

    #[test]
    fn call_back_numbers() {
        for good in ["112", "0900-8844", "+31 10 274 0000"] {
            assert_eq!(parse_call_back_number(good).unwrap(), good);
        }
        for bad in ["", "12", "call me", "0900+8844", "+31 10 274 0000 ext 5"] {
            assert!(parse_call_back_number(bad).is_err(), "{bad}");
        }
    }
}
