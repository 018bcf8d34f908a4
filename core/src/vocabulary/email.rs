//! E-mail addresses of participants, checked just enough to catch typing mistakes and to keep
//! header-breaking characters out (whether the address exists is settled by a confirmation
//! mail, not here). The address is personal data: `Debug` masks it and there is deliberately no
//! `Display`, so it cannot slip into a log line by accident.

use std::fmt;

use super::{InvalidInput, checked_text};

const INVALID: &str = "invalid_email";
/// RFC 5321 limits, in octets.
const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_PART_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

checked_text!(
    /// An e-mail address with a lower-cased domain, like `jan.jansen@example.nl`. The local part
    /// keeps its case: mail servers may treat it as case-sensitive.
    #[derive()]
    #[serde(transparent)]
    #[schema(value_type = String, format = Email, example = "jan.jansen@example.nl")]
    EmailAddress
);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.len() > MAX_ADDRESS_LEN {
            return Err(invalid("An e-mail address has at most 254 characters."));
        }
        let mut parts = raw.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("An e-mail address contains exactly one @, like jan@example.nl."));
        };
        if local.is_empty() || local.len() > MAX_LOCAL_PART_LEN {
            return Err(invalid("The part before the @ must have 1 to 64 characters."));
        }
        // Whitespace and control characters (CR, LF) could split a mail header.
        if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("The part before the @ cannot contain spaces or control characters."));
        }
        let domain = domain.to_ascii_lowercase();
        if !valid_domain(&domain) {
            return Err(invalid(
                "The part after the @ must be a domain name like example.nl: letters, digits and \
                 hyphens, separated by dots.",
            ));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// Enough to recognise the address in a log or on a staff screen: `j***@example.nl`.
    pub fn masked(&self) -> String {
        match self.0.rsplit_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().map(String::from).unwrap_or_default();
                format!("{first}***@{domain}")
            }
            // Not something `parse` produces; reveal nothing.
            None => "***".to_string(),
        }
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.masked()).finish()
    }
}

fn invalid(detail: &str) -> InvalidInput {
    InvalidInput::new(INVALID, detail)
}

/// A lower-case DNS name with at least two labels whose top-level label is alphabetic (or an
/// IDNA `xn--` label, which is how internationalised top-level domains are written in ASCII).
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let valid_label = |label: &&str| {
        (1..=MAX_LABEL_LEN).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let Some(top) = labels.last() else { return false };
    let valid_top =
        (top.len() >= 2 && top.bytes().all(|b| b.is_ascii_lowercase())) || top.starts_with("xn--");
    labels.len() >= 2 && labels.iter().all(valid_label) && valid_top
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> String {
        EmailAddress::parse(raw).unwrap_or_else(|e| panic!("{raw:?} rejected: {e:?}")).0
    }

    #[test]
    fn accepts_and_normalises_ordinary_addresses() {
        assert_eq!(parsed("jan@example.nl"), "jan@example.nl");
        assert_eq!(parsed("  Jan.Jansen@Example.NL \n"), "Jan.Jansen@example.nl");
        assert_eq!(
            parsed("jan+burgernet@mail.politie-regio.example.nl"),
            "jan+burgernet@mail.politie-regio.example.nl"
        );
        assert_eq!(parsed("a@b2.co"), "a@b2.co");
        assert_eq!(parsed("jöran@example.nl"), "jöran@example.nl");
        assert_eq!(parsed("test@example.xn--p1ai"), "test@example.xn--p1ai");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "",
            "jan",
            "jan@",
            "@example.nl",
            "jan@@example.nl",
            "jan@piet@example.nl",
            "jan jansen@example.nl",
            "jan\r\nBcc: x@example.nl",
            "jan\t@example.nl",
            "jan@example",
            "jan@example.n",
            "jan@example.nl.",
            "jan@.example.nl",
            "jan@example..nl",
            "jan@-example.nl",
            "jan@example-.nl",
            "jan@exa_mple.nl",
            "jan@exämple.nl",
            "jan@example.n1",
            "jan@[192.0.2.1]",
        ] {
            let error = EmailAddress::parse(raw).expect_err(raw);
            assert_eq!(error.code, "invalid_email", "{raw:?}");
        }
    }

    #[test]
    fn enforces_length_limits() {
        let local_64 = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local_64}@example.nl")).is_ok());
        assert!(EmailAddress::parse(&format!("{}@example.nl", "a".repeat(65))).is_err());

        let label_63 = "b".repeat(63);
        assert!(EmailAddress::parse(&format!("jan@{label_63}.nl")).is_ok());
        assert!(EmailAddress::parse(&format!("jan@{}.nl", "b".repeat(64))).is_err());

        // 64 + "@" + 3 * (60 + ".") + 6 = 254
        let domain = format!("{0}.{0}.{0}.abcdef", "c".repeat(60));
        let address = format!("{local_64}@{domain}");
        assert_eq!(address.len(), 254);
        assert!(EmailAddress::parse(&address).is_ok());
        let too_long = format!("{local_64}@{domain}f");
        assert!(EmailAddress::parse(&too_long).is_err());
    }

    #[test]
    fn error_details_never_repeat_the_address() {
        for raw in ["jan.jansen@example", "jan jansen@example.nl", "jan.jansen"] {
            let detail = EmailAddress::parse(raw).expect_err(raw).detail;
            assert!(!detail.contains("jansen"), "{detail}");
        }
    }

    #[test]
    fn masks_the_local_part() {
        let address = EmailAddress::parse("Jan.Jansen@Example.nl").unwrap();
        assert_eq!(address.masked(), "J***@example.nl");
        assert_eq!(format!("{address:?}"), "EmailAddress(\"J***@example.nl\")");
        assert_eq!(EmailAddress("geen-adres".into()).masked(), "***");
    }

    #[test]
    fn serialises_as_the_plain_string() {
        let address = EmailAddress::parse("jan@EXAMPLE.nl").unwrap();
        assert_eq!(serde_json::to_string(&address).unwrap(), "\"jan@example.nl\"");
        assert_eq!(address.as_str(), "jan@example.nl");
    }
}
