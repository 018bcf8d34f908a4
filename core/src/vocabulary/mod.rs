//! The shared vocabulary: the checked values and closed sets the whole program speaks in, after
//! input from the app or from staff has been parsed. Nothing inside the program handles an
//! unchecked phone number, position or push token. Everything here is pure: no database, no
//! network, no module of a higher layer.

pub mod alerts;
pub mod area;
pub mod devices;
pub mod email;
pub mod media;
pub mod phone;
pub mod places;
pub mod regions;

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

/// Generates a closed set of lower-case names stored as text: serde, the schema, and the
/// database round trip share one spelling. Values are read and written by diesel as `Text` (and
/// `Text[]` as a `Vec`); a name the program does not know, read from the database, is an error of
/// that query, never a panic.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value named `text`, if there is one.
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                Self::from_name(text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " in the database: {:?}"), text).into()
                })
            }
        }
    };
}
pub(crate) use text_enum;

/// Declares a checked value kept as text in our tables: a newtype over `String` with the derives
/// every such value has (plus those in its own `#[derive(...)]`), its `as_str`, and diesel's `Text`
/// conversion. Only values parsed on the way in are ever stored (and CHECK constraints hold most of
/// them to the same rules), so reading one back does not parse it again. The type's `parse` is its
/// own.
macro_rules! checked_text {
    ($(#[doc = $doc:expr])* #[derive($($extra:ident),*)] $(#[$attr:meta])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(
            Clone, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow, $($extra),*
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $(#[$attr])*
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.0.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(value)
                    .map(Self)
            }
        }
    };
}
pub(crate) use checked_text;

text_enum!(
    /// Where a participant stands with their municipality.
    ParticipantStatus {
        /// Waiting for the municipality's approval; receives no alerts yet.
        Pending => "pending",
        /// Receives alerts.
        Active => "active",
        /// A channel proved undeliverable; receives no alerts until reinstated.
        Quarantined => "quarantined",
        /// Signed off by the municipality or by themselves; receives nothing.
        Removed => "removed",
    }
);

text_enum!(
    /// Why a participant started or stopped being an active participant of a municipality, as the
    /// participation report counts it. The first four join the municipality, the others leave it.
    ParticipationReason {
        /// Completed the sign-up: the first place, in a municipality that does not ask approval.
        SignedUp => "signed_up",
        /// The municipality approved the sign-up or the move in.
        Approved => "approved",
        /// Let back in from quarantine.
        Reinstated => "reinstated",
        /// Came from another municipality, their home (or first place) now lying here.
        MovedIn => "moved_in",
        /// Signed off themselves (erased their account).
        SignedOff => "signed_off",
        /// Removed by the municipality or an administrator.
        Removed => "removed",
        /// Quarantined: a channel proved undeliverable (by staff, or by the system on an SMS
        /// receipt).
        Quarantined => "quarantined",
        /// Moved to another municipality (also when that one still has to approve them).
        MovedOut => "moved_out",
        /// Removed their last place: no municipality manages them until they add one.
        NoPlaceLeft => "no_place_left",
    }
);

impl ParticipationReason {
    /// Whether the participant joins the municipality (rather than leaves it).
    pub fn joins(self) -> bool {
        matches!(self, Self::SignedUp | Self::Approved | Self::Reinstated | Self::MovedIn)
    }
}

text_enum!(
    /// Why a participant's session ended, as recorded with it.
    SessionEnd {
        /// The participant signed out on that device.
        SignedOut => "signed_out",
        /// A used refresh token of the session was presented again: someone holds a copy.
        RefreshTokenReused => "refresh_token_reused",
        /// The participant erased their account.
        Erased => "erased",
        /// The municipality removed the participant (or rejected their sign-up).
        ParticipantRemoved => "participant_removed",
    }
);

text_enum!(
    /// The language messages to the participant are written in.
    Language {
        Dutch => "nl",
        English => "en",
    }
);

text_enum!(
    /// A way to reach a participant.
    Channel {
        Push => "push",
        Sms => "sms",
        Email => "email",
        /// A phone call that reads the message aloud (text-to-speech); needs a phone number.
        Voice => "voice",
    }
);

text_enum!(
    /// A kind of message a municipality sends its own participants (Burgernetmail); participants
    /// opt in to each kind on its own.
    MunicipalMessageKind {
        /// News about Burgernet and the municipality, a few times a year.
        Newsletter => "newsletter",
        /// A non-urgent call to watch out, e.g. after a series of burglaries in a neighbourhood.
        Prevention => "prevention",
    }
);

text_enum!(
    /// Where a municipal message stands.
    MunicipalMessageStatus {
        /// Written, not yet scheduled; may still be changed by scheduling it.
        Draft => "draft",
        /// Waits for its time to be sent; may still be cancelled.
        Scheduled => "scheduled",
        /// Its recipients were taken and it is going out.
        Sending => "sending",
        /// Went to every recipient (or failed for some, for good).
        Sent => "sent",
        /// Cancelled before it was sent; nobody received it.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// The alert categories a participant wants (the four domains of the seeds).
    Category {
        /// Prevention, road closures, forest fire risk.
        Inform => "inform",
        /// Runaway child, burglaries in the street.
        Engage => "engage",
        /// Gas leak, explosion, disaster.
        Alarm => "alarm",
        /// Robber, burglar, missing person, stolen vehicle.
        Search => "search",
    }
);

text_enum!(
    /// Where a participant stands with a target group.
    MembershipStatus {
        /// Asked to join with the invitation code; the owner has not approved yet.
        Pending => "pending",
        /// Approved by the owner (or an administrator): alerts naming the group reach them.
        Approved => "approved",
    }
);

/// Text typed into a form field that breaks the rule of [`form_text`]; the caller says how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRuleBroken;

/// Text typed into a form field, as every field of ours takes it: trimmed, at most `max`
/// characters, no control characters (line breaks allowed where `line_breaks`). `Ok(None)` when
/// nothing is left once trimmed.
pub fn form_text(raw: &str, max: usize, line_breaks: bool) -> Result<Option<String>, TextRuleBroken> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| !c.is_control() || (line_breaks && c == '\n');
    if text.chars().count() > max || !text.chars().all(allowed) {
        return Err(TextRuleBroken);
    }
    Ok(Some(text.to_string()))
}

/// A display name as the participant chose it: trimmed, 1 to 100 characters, no control
/// characters.
pub fn parse_display_name(raw: &str) -> Result<String, InvalidInput> {
    match form_text(raw, 100, false) {
        Ok(Some(name)) => Ok(name),
        _ => Err(InvalidInput::new(
            "invalid_display_name",
            "A display name has 1 to 100 characters and no control characters.",
        )),
    }
}

/// A set of choices without duplicates, in a stable order.
pub fn distinct<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut values = values.to_vec();
    values.sort();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip_through_the_database_spelling() {
        for status in ParticipantStatus::ALL {
            assert_eq!(ParticipantStatus::from_name(status.as_str()), Some(*status));
        }
        assert_eq!(serde_json::to_value(Language::English).unwrap(), "en");
        assert_eq!(serde_json::from_value::<Channel>("sms".into()).unwrap(), Channel::Sms);
        assert!(serde_json::from_value::<Category>("gossip".into()).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(parse_display_name("  Anna  ").unwrap(), "Anna");
        assert_eq!(parse_display_name("   ").unwrap_err().code, "invalid_display_name");
        assert!(parse_display_name(&"x".repeat(101)).is_err());
        assert!(parse_display_name("a\u{7}b").is_err());
    }

    #[test]
    fn distinct_sorts_and_removes_repeats() {
        assert_eq!(
            distinct(&[Channel::Email, Channel::Push, Channel::Email]),
            vec![Channel::Push, Channel::Email]
        );
    }
}
