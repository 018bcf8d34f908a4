//! The closed sets of alerts and their delivery, as the alert and delivery tables store them.

use super::{Category, Channel, text_enum};

text_enum!(
    /// Where an alert is in its life.
    AlertStatus {
        /// Being prepared; nothing has been sent.
        Draft => "draft",
        /// Sent; participants are being reached and may answer.
        Active => "active",
        /// Closed with an outcome and a closing message; accepts nothing more.
        Closed => "closed",
    }
);

text_enum!(
    /// Why an alert is sent: for real, or to practise or test (CAP 1.2 `status` `Actual`,
    /// `Exercise`, `Test`). An exercise or test reaches only participants who opted in to
    /// exercises (and the members of the target groups named), says so in every message and
    /// dossier entry, and is kept out of the alert results.
    AlertPurpose {
        /// A real alert.
        Actual => "actual",
        /// A "heterdaad" exercise with participants who signed up for them (seed 003).
        Exercise => "exercise",
        /// A technical test of the chain, to be disregarded by whoever receives it.
        Test => "test",
    }
);

// `text_enum!` derives no `Default` (most of its enums have none), so it cannot be derived here.
#[allow(clippy::derivable_impls)]
impl Default for AlertPurpose {
    fn default() -> Self {
        Self::Actual
    }
}

impl AlertPurpose {
    /// What a place or live position must carry in `reach_categories` for an alert of this
    /// purpose and `category` to reach it: the category, or `exercise`, the opt-in to exercises
    /// (the database computes the same as `alerts.reach_key`).
    pub fn reach_key(self, category: Category) -> &'static str {
        match self {
            Self::Actual => category.as_str(),
            Self::Exercise | Self::Test => EXERCISE_REACH_KEY,
        }
    }

    pub fn is_actual(self) -> bool {
        self == Self::Actual
    }
}

/// The `reach_categories` entry of a participant who opted in to exercises.
pub const EXERCISE_REACH_KEY: &str = "exercise";

text_enum!(
    /// How an alert ended; success rates steer the programme (design.md section 1).
    Outcome {
        /// A direct result thanks to participants.
        HardSuccess => "hard_success",
        /// A good outcome not due to participants.
        SoftSuccess => "soft_success",
        NoResult => "no_result",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// What a message of an alert is.
    MessageKind {
        /// The alert itself, sent to the recipients of one wave.
        Alert => "alert",
        /// An extra message to everyone reached.
        Update => "update",
        /// The closing message to everyone reached.
        Closing => "closing",
    }
);

text_enum!(
    /// A recipient's one-tap answer to an alert, given from its notification or in the app.
    AlertAnswer {
        /// I see what the alert describes, now (a tip of high priority, with my position when
        /// given).
        SeenNow => "seen_now",
        /// I am looking.
        Searching => "searching",
        /// I am not in the area (any more).
        NotInArea => "not_in_area",
        /// I cannot help.
        CannotHelp => "cannot_help",
    }
);

text_enum!(
    /// What the control room made of a tip.
    Assessment {
        Relevant => "relevant",
        NotRelevant => "not_relevant",
        /// Passed on to a unit (named in `forwarded_to`).
        Forwarded => "forwarded",
    }
);

text_enum!(
    /// A lane of delivery work.
    Lane {
        Push => "push",
        Sms => "sms",
        Email => "email",
        /// The SMS to recipients the push lane was meant to reach: after their pushes failed for
        /// good (or their device went before it was tried). Queued when the push lane ends.
        FallbackSms => "fallback_sms",
        Voice => "voice",
        /// The call to recipients the push lane was meant to reach, as `fallback_sms` for SMS,
        /// where the alert's channel order puts a call in their way.
        FallbackVoice => "fallback_voice",
    }
);

impl Lane {
    pub fn channel(self) -> Channel {
        match self {
            Self::Push => Channel::Push,
            Self::Sms | Self::FallbackSms => Channel::Sms,
            Self::Email => Channel::Email,
            Self::Voice | Self::FallbackVoice => Channel::Voice,
        }
    }

    /// The lanes of earlier messages that a follow-up in this lane waits for, batch by batch, so
    /// that it arrives after them: its own channel's, and for SMS and calls also the push lane's
    /// (whose end queues the SMS or call after failed pushes).
    pub fn follows(self) -> &'static [Lane] {
        match self {
            Self::Push => &[Lane::Push],
            Self::Sms | Self::FallbackSms => &[Lane::Push, Lane::Sms, Lane::FallbackSms],
            Self::Email => &[Lane::Email],
            Self::Voice | Self::FallbackVoice => &[Lane::Push, Lane::Voice, Lane::FallbackVoice],
        }
    }

    /// The lane that follows up the push lane for those it did not reach, on `channel`.
    pub fn fallback(channel: Channel) -> Option<Lane> {
        match channel {
            Channel::Sms => Some(Self::FallbackSms),
            Channel::Voice => Some(Self::FallbackVoice),
            Channel::Push | Channel::Email => None,
        }
    }
}

text_enum!(
    /// Why a channel is used: the primary route, or which fallback rule applied (for SMS and
    /// calls).
    Reason {
        Primary => "primary",
        NoPushDevice => "no_push_device",
        PushFailed => "push_failed",
        NotAcknowledged => "not_acknowledged",
    }
);

text_enum!(
    /// Where a delivery stands.
    DeliveryState {
        /// A passing failure; try again.
        Retrying => "retrying",
        /// Accepted by the provider.
        Sent => "sent",
        /// The provider confirmed it arrived (an SMS receipt).
        Delivered => "delivered",
        Failed => "failed",
    }
);
