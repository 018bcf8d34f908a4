//! The phones that receive push alerts: platform, push token and the details needed to send to
//! them (APNs environment, app version, locale). A push token lets anyone who holds the sender's
//! credentials reach the phone, so `Debug` shows only its first characters.

use std::fmt;

use super::{InvalidInput, checked_text, text_enum};

text_enum!(
    /// The mobile platform; it decides which push service (APNs or FCM) delivers alerts.
    Platform {
        Ios => "ios",
        Android => "android",
    }
);

text_enum!(
    /// Which APNs server an iOS device token belongs to: development builds get sandbox tokens,
    /// which the production server rejects, and the other way round.
    ApnsEnvironment {
        Sandbox => "sandbox",
        Production => "production",
    }
);

/// An iOS device needs an APNs environment to be reachable; for Android one makes no sense.
pub fn check_apns_environment(
    platform: Platform,
    environment: Option<ApnsEnvironment>,
) -> Result<Option<ApnsEnvironment>, InvalidInput> {
    match (platform, environment) {
        (Platform::Ios, None) => Err(InvalidInput::new(
            "invalid_device",
            "iOS devices must say which APNs environment their token is for: sandbox or production.",
        )),
        (Platform::Android, Some(_)) => Err(InvalidInput::new(
            "invalid_device",
            "Android devices have no APNs environment; leave it out.",
        )),
        (_, environment) => Ok(environment),
    }
}

checked_text!(
    /// An APNs device token (iOS, lower-case hex) or an FCM registration token (Android).
    #[derive()]
    #[serde(transparent)]
    #[schema(value_type = String, example = "3f2a9c0e5b7d4a1f8e6c2b0a9d7f5e3c1b9a7f5d3e1c0b8a6f4d2e0c8b6a4f2d")]
    PushToken
);

impl PushToken {
    pub fn parse(platform: Platform, raw: &str) -> Result<Self, InvalidInput> {
        let token = raw.trim();
        match platform {
            Platform::Ios => {
                // Tokens are 32 bytes today; Apple reserves the right to make them longer.
                let valid = (64..=200).contains(&token.len())
                    && token.len().is_multiple_of(2)
                    && token.bytes().all(|b| b.is_ascii_hexdigit());
                if !valid {
                    return Err(InvalidInput::new(
                        "invalid_push_token",
                        "An iOS push token is an APNs device token: an even number of 64 to 200 \
                         hexadecimal characters.",
                    ));
                }
                Ok(Self(token.to_ascii_lowercase()))
            }
            Platform::Android => {
                let valid = (32..=4096).contains(&token.len())
                    && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-'));
                if !valid {
                    return Err(InvalidInput::new(
                        "invalid_push_token",
                        "An Android push token is an FCM registration token: 32 to 4096 letters, \
                         digits, underscores, colons or dashes.",
                    ));
                }
                Ok(Self(token.to_string()))
            }
        }
    }
}

impl fmt::Debug for PushToken {
    // Six characters tell tokens apart in a log without making the token usable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(6).collect();
        f.debug_tuple("PushToken").field(&format_args!("{prefix}…")).finish()
    }
}

checked_text!(
    /// The app's version as it reports it, like `2.4.1` or `2.5.0-beta.1+512`.
    #[derive(Debug)]
    #[serde(transparent)]
    #[schema(value_type = String, example = "2.4.1")]
    AppVersion
);

impl AppVersion {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let valid = (1..=32).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
        if !valid {
            return Err(InvalidInput::new(
                "invalid_app_version",
                "An app version has 1 to 32 letters, digits, dots, plus signs or dashes, like 2.4.1.",
            ));
        }
        Ok(Self(raw.to_string()))
    }
}

checked_text!(
    /// The device's language as a BCP 47 tag, like `nl-NL`; it picks the language of alerts.
    #[derive(Debug)]
    #[serde(transparent)]
    #[schema(value_type = String, example = "nl-NL")]
    Locale
);

impl Locale {
    /// Accepts a language of 2 or 3 letters followed by subtags of 2 to 8 letters or digits,
    /// separated by `-`. Casing follows BCP 47 convention: `nl-nl` becomes `nl-NL`,
    /// `zh-hant-tw` becomes `zh-Hant-TW`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "invalid_locale",
                "A locale is a language tag like nl, nl-NL or en-GB: a 2 or 3 letter language, \
                 optionally followed by subtags of 2 to 8 letters or digits separated by dashes.",
            )
        };
        if raw.is_empty() || raw.len() > 35 {
            return Err(invalid());
        }
        let mut normalised = Vec::new();
        for (position, subtag) in raw.split('-').enumerate() {
            let letters = subtag.bytes().all(|b| b.is_ascii_alphabetic());
            if position == 0 {
                if !(letters && (2..=3).contains(&subtag.len())) {
                    return Err(invalid());
                }
                normalised.push(subtag.to_ascii_lowercase());
                continue;
            }
            if !((2..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric())) {
                return Err(invalid());
            }
            normalised.push(match (letters, subtag.len()) {
                // Region
                (true, 2) => subtag.to_ascii_uppercase(),
                // Script, which directly follows the language
                (true, 4) if position == 1 => {
                    let lower = subtag.to_ascii_lowercase();
                    lower[..1].to_ascii_uppercase() + &lower[1..]
                }
                _ => subtag.to_ascii_lowercase(),
            });
        }
        Ok(Self(normalised.join("-")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const IOS_TOKEN: &str = "3F2A9C0E5B7D4A1F8E6C2B0A9D7F5E3C1B9A7F5D3E1C0B8A6F4D2E0C8B6A4F2D";
    const FCM_TOKEN: &str =
        "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYqL0dJ4q9sA7pW3mK8bN2cV6xZ1yT0uR";

    #[test]
    fn enums_round_trip_through_serde_and_database() {
        for platform in Platform::ALL {
            assert_eq!(Platform::from_name(platform.as_str()), Some(*platform));
            assert_eq!(serde_json::to_value(platform).unwrap(), json!(platform.as_str()));
        }
        for environment in ApnsEnvironment::ALL {
            assert_eq!(ApnsEnvironment::from_name(environment.as_str()), Some(*environment));
            assert_eq!(serde_json::to_value(environment).unwrap(), json!(environment.as_str()));
        }
        assert_eq!(serde_json::from_value::<Platform>(json!("android")).unwrap(), Platform::Android);
        assert!(serde_json::from_value::<Platform>(json!("iOS")).is_err());
        assert!(serde_json::from_value::<ApnsEnvironment>(json!("development")).is_err());
    }

    #[test]
    fn apns_environment_is_required_for_ios_only() {
        let sandbox = Some(ApnsEnvironment::Sandbox);
        assert_eq!(check_apns_environment(Platform::Ios, sandbox), Ok(sandbox));
        assert_eq!(check_apns_environment(Platform::Android, None), Ok(None));

        let error = check_apns_environment(Platform::Ios, None).unwrap_err();
        assert_eq!(error.code, "invalid_device");
        assert!(error.detail.contains("sandbox or production"), "{}", error.detail);
        let error = check_apns_environment(Platform::Android, Some(ApnsEnvironment::Production));
        assert_eq!(error.unwrap_err().code, "invalid_device");
    }

    #[test]
    fn ios_tokens_are_hex_and_lower_cased() {
        let token = PushToken::parse(Platform::Ios, &format!(" {IOS_TOKEN}\n")).unwrap();
        assert_eq!(token.as_str(), IOS_TOKEN.to_ascii_lowercase());
        assert!(PushToken::parse(Platform::Ios, &"ab".repeat(100)).is_ok());
        for raw in [
            String::new(),
            IOS_TOKEN[..62].to_string(),
            format!("{IOS_TOKEN}a"),
            "ab".repeat(101),
            IOS_TOKEN.replace('F', "g"),
            format!("<{}>", &IOS_TOKEN[..62]),
            FCM_TOKEN.to_string(),
        ] {
            let error = PushToken::parse(Platform::Ios, &raw).unwrap_err();
            assert_eq!(error.code, "invalid_push_token", "{raw:?}");
            assert!(error.detail.contains("APNs"));
        }
    }

    #[test]
    fn android_tokens_are_fcm_registration_tokens() {
        assert_eq!(PushToken::parse(Platform::Android, FCM_TOKEN).unwrap().as_str(), FCM_TOKEN);
        // Unlike iOS tokens, FCM tokens are case-sensitive and kept as they are.
        assert!(PushToken::parse(Platform::Android, IOS_TOKEN).unwrap().as_str() == IOS_TOKEN);
        assert!(PushToken::parse(Platform::Android, &"a".repeat(32)).is_ok());
        assert!(PushToken::parse(Platform::Android, &"a".repeat(4096)).is_ok());
        for raw in ["a".repeat(31), "a".repeat(4097), format!("{FCM_TOKEN} x"), format!("{FCM_TOKEN}/")] {
            let error = PushToken::parse(Platform::Android, &raw).unwrap_err();
            assert_eq!(error.code, "invalid_push_token");
            assert!(error.detail.contains("FCM"));
        }
    }

    #[test]
    fn push_token_debug_shows_only_a_prefix() {
        let token = PushToken::parse(Platform::Ios, IOS_TOKEN).unwrap();
        assert_eq!(format!("{token:?}"), "PushToken(3f2a9c…)");
        assert_eq!(serde_json::to_value(&token).unwrap(), json!(IOS_TOKEN.to_ascii_lowercase()));
    }

    #[test]
    fn app_versions() {
        for raw in ["1", "2.4.1", "2.5.0-beta.1+512", "2024.11.3-RC2"] {
            assert_eq!(AppVersion::parse(raw).unwrap().as_str(), raw);
        }
        for raw in ["", " 2.4.1", "2.4.1 (512)", "v2_4", &"1".repeat(33)] {
            assert_eq!(AppVersion::parse(raw).unwrap_err().code, "invalid_app_version", "{raw:?}");
        }
        assert_eq!(serde_json::to_value(AppVersion::parse("2.4.1").unwrap()).unwrap(), json!("2.4.1"));
    }

    #[test]
    fn locales_are_normalised() {
        let normalised = |raw: &str| Locale::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}")).0;
        assert_eq!(normalised("nl"), "nl");
        assert_eq!(normalised("NL"), "nl");
        assert_eq!(normalised("nl-nl"), "nl-NL");
        assert_eq!(normalised("EN-gb"), "en-GB");
        assert_eq!(normalised("fy-NL"), "fy-NL");
        assert_eq!(normalised("pap-CW"), "pap-CW");
        assert_eq!(normalised("zh-hant-tw"), "zh-Hant-TW");
        assert_eq!(normalised("es-419"), "es-419");
        assert_eq!(normalised("de-CH-1996"), "de-CH-1996");
        assert_eq!(normalised("sl-ROZAJ-biske"), "sl-rozaj-biske");
    }

    #[test]
    fn malformed_locales_are_rejected() {
        for raw in [
            "",
            "n",
            "dutch",
            "nl_NL",
            "nl-",
            "-nl",
            "nl--NL",
            "nl-N",
            "nl-NL-abcdefghi",
            "n1-NL",
            "en-u-ca-gregory",
            " nl",
            "nl-ÑL",
        ] {
            assert_eq!(Locale::parse(raw).unwrap_err().code, "invalid_locale", "{raw:?}");
        }
        let long = format!("en{}", "-abcdefgh".repeat(4));
        assert_eq!(long.len(), 38);
        assert!(Locale::parse(&long).is_err());
        assert!(Locale::parse(&long[..35]).is_ok());
    }
}
