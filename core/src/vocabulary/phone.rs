//! Phone numbers of participants, normalised to E.164 so one person cannot sign up twice under
//! two spellings of the same number, and limited to the countries the service accepts: EU/EEA
//! member states and Switzerland. The full number is personal data: `Debug` masks it and
//! there is deliberately no `Display`, so it cannot slip into a log line by accident.

use std::fmt;

use super::{InvalidInput, checked_text};

const INVALID: &str = "invalid_phone_number";
const UNSUPPORTED_COUNTRY: &str = "unsupported_phone_country";

/// Country calling codes of the EU and EEA member states plus Switzerland. E.164 country codes
/// are prefix-free, so at most one of these can match the start of a number.
const ACCEPTED_COUNTRY_CODES: &[&str] = &[
    "30",  // Greece
    "31",  // Netherlands
    "32",  // Belgium
    "33",  // France
    "34",  // Spain
    "36",  // Hungary
    "39",  // Italy
    "40",  // Romania
    "41",  // Switzerland
    "43",  // Austria
    "45",  // Denmark
    "46",  // Sweden
    "47",  // Norway
    "48",  // Poland
    "49",  // Germany
    "351", // Portugal
    "352", // Luxembourg
    "353", // Ireland
    "354", // Iceland
    "356", // Malta
    "357", // Cyprus
    "358", // Finland
    "359", // Bulgaria
    "370", // Lithuania
    "371", // Latvia
    "372", // Estonia
    "385", // Croatia
    "386", // Slovenia
    "420", // Czechia
    "421", // Slovakia
    "423", // Liechtenstein
];

checked_text!(
    /// A phone number in E.164 form, like `+31612345678`.
    #[derive()]
    #[serde(transparent)]
    #[schema(value_type = String, example = "+31612345678")]
    PhoneNumber
);

impl PhoneNumber {
    /// Accepts what people type: separators (space, `-`, `.`, parentheses), `00` for `+`, a Dutch
    /// trunk `0` (`06 12345678`) and the `+31 (0)6…` notation.
    /// The country calling code, without `+` (`31` for the Netherlands).
    pub fn country_code(&self) -> &'static str {
        let digits = &self.0[1..];
        // Parsed numbers start with an accepted code, and the codes are prefix-free.
        ACCEPTED_COUNTRY_CODES.iter().find(|code| digits.starts_with(**code)).copied().unwrap_or("")
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let digits = international_digits(raw.trim())?;
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(InvalidInput::new(
                INVALID,
                "A phone number has 8 to 15 digits including the country code.",
            ));
        }
        let Some(country) = ACCEPTED_COUNTRY_CODES.iter().find(|code| digits.starts_with(**code)) else {
            return Err(InvalidInput::new(
                UNSUPPORTED_COUNTRY,
                "Only phone numbers from EU/EEA countries and Switzerland are accepted.",
            ));
        };
        if *country == "31" {
            let national = &digits[2..];
            // Every Dutch number, mobile (6xxxxxxxx) or landline, has 9 digits after the trunk 0.
            if national.len() != 9 || national.starts_with('0') {
                return Err(InvalidInput::new(
                    INVALID,
                    "A Dutch phone number has 10 digits starting with 0, like 06 12345678.",
                ));
            }
        }
        Ok(Self(format!("+{digits}")))
    }

    /// Enough to recognise the number in a log or on a staff screen, not enough to call it:
    /// `+31*******78`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() <= 5 {
            // Not something `parse` produces; reveal nothing rather than most of it.
            return "*".repeat(chars.len());
        }
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

/// The digits of the number with its country code and without `+`, or an error when `raw` is
/// not written like a phone number.
fn international_digits(raw: &str) -> Result<String, InvalidInput> {
    let not_a_number = || {
        InvalidInput::new(
            INVALID,
            "Enter a phone number using digits, optionally with spaces, dashes, dots or \
             parentheses, like 06 12345678 or +32 470 12 34 56.",
        )
    };
    let (has_plus, rest) = match raw.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let international = has_plus || rest.starts_with("00");
    // "+31 (0)6 12345678": the "(0)" is the trunk prefix, dialled only from inside the country.
    let rest = if international { rest.replacen("(0)", "", 1) } else { rest.to_string() };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(not_a_number()),
        }
    }
    if has_plus {
        Ok(digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        Ok(rest.to_string())
    } else if let Some(rest) = digits.strip_prefix('0') {
        Ok(format!("31{rest}"))
    } else if digits.is_empty() {
        Err(not_a_number())
    } else {
        Err(InvalidInput::new(
            INVALID,
            "Start the number with + and the country code, like +32, or enter a Dutch number \
             starting with 0.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> String {
        PhoneNumber::parse(raw).unwrap_or_else(|e| panic!("{raw:?} rejected: {e:?}")).0
    }

    fn code(raw: &str) -> &'static str {
        PhoneNumber::parse(raw).expect_err(raw).code
    }

    #[test]
    fn a_number_knows_its_country_code() {
        assert_eq!(PhoneNumber::parse("0612345678").unwrap().country_code(), "31");
        assert_eq!(PhoneNumber::parse("+32470123456").unwrap().country_code(), "32");
        assert_eq!(PhoneNumber::parse("+358401234567").unwrap().country_code(), "358");
    }

    #[test]
    fn normalises_dutch_national_numbers() {
        assert_eq!(parsed("0612345678"), "+31612345678");
        assert_eq!(parsed("06 12345678"), "+31612345678");
        assert_eq!(parsed("  06-12 34 56 78 "), "+31612345678");
        assert_eq!(parsed("010-1234567"), "+31101234567");
        assert_eq!(parsed("(010) 123.45.67"), "+31101234567");
        assert_eq!(parsed("0299 123456"), "+31299123456");
    }

    #[test]
    fn normalises_international_prefixes() {
        assert_eq!(parsed("+31612345678"), "+31612345678");
        assert_eq!(parsed("+31 6 1234 5678"), "+31612345678");
        assert_eq!(parsed("0031612345678"), "+31612345678");
        assert_eq!(parsed("+31 (0)6 12345678"), "+31612345678");
        assert_eq!(parsed("0032 (0)470 12 34 56"), "+32470123456");
        assert_eq!(parsed("+32 470 12 34 56"), "+32470123456");
        assert_eq!(parsed("0049 151 23456789"), "+4915123456789");
        assert_eq!(parsed("+352 621 123 456"), "+352621123456");
        assert_eq!(parsed("+41 79 123 45 67"), "+41791234567");
        // Italian landlines keep their leading 0 after the country code.
        assert_eq!(parsed("+39 06 1234 5678"), "+390612345678");
    }

    #[test]
    fn rejects_what_is_not_a_phone_number() {
        for raw in [
            "",
            "   ",
            "+",
            "abc",
            "06-1234567x",
            "06/12345678",
            "+31+612345678",
            "31612345678",       // no + and no trunk 0: country code is ambiguous
            "+0612345678",       // country codes never start with 0
            "000612345678",      // likewise after 00
            "+3161234",          // too short
            "+4915123456789012", // 16 digits
            "+31 (0)6 12345678 (0)",
        ] {
            assert_eq!(code(raw), "invalid_phone_number", "{raw:?}");
        }
    }

    #[test]
    fn dutch_numbers_need_exactly_nine_digits_after_31() {
        assert_eq!(code("06 1234567"), "invalid_phone_number");
        assert_eq!(code("06 123456789"), "invalid_phone_number");
        assert_eq!(code("+31 06 12345678"), "invalid_phone_number");
        assert_eq!(code("+31 061234567"), "invalid_phone_number");
    }

    #[test]
    fn only_eu_eea_and_swiss_numbers_are_accepted() {
        for raw in ["+1 202 555 0123", "+44 7700 900123", "+355 69 123 4567", "+90 532 123 4567"] {
            let error = PhoneNumber::parse(raw).expect_err(raw);
            assert_eq!(error.code, "unsupported_phone_country", "{raw:?}");
            assert!(error.detail.contains("EU/EEA"));
        }
        for raw in ["+358 40 1234567", "+423 660 1234", "+354 611 1234", "+47 412 34 567"] {
            assert!(PhoneNumber::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn error_details_never_repeat_the_number() {
        for raw in ["06 9876543", "+1 202 987 6543", "069876543!", "319876543", "+44 7700 987654"] {
            let detail = PhoneNumber::parse(raw).expect_err(raw).detail;
            assert!(!detail.contains("98765"), "{detail}");
        }
    }

    #[test]
    fn masks_all_but_country_and_last_two_digits() {
        let number = PhoneNumber::parse("06 12345678").unwrap();
        assert_eq!(number.masked(), "+31*******78");
        assert_eq!(format!("{number:?}"), "PhoneNumber(\"+31*******78\")");
        assert_eq!(PhoneNumber("+4915123456789".into()).masked(), "+49*********89");
        assert_eq!(PhoneNumber("+312".into()).masked(), "****");
    }

    #[test]
    fn serialises_as_the_plain_e164_string() {
        let number = PhoneNumber::parse("0031 6 12345678").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"+31612345678\"");
        assert_eq!(number.as_str(), "+31612345678");
    }
}
