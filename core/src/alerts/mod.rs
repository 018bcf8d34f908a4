//! Alerts (Burgernetacties): a dispatcher's message to every participant in an area, from the
//! first draft to the closing message, with the dossier that records all of it.
//!
//! - [`area`]: the area as drawn (circle or GeoJSON polygon) and its validation;
//! - [`audience`]: the target groups an alert reaches besides (or instead of) its area;
//! - [`content`]: what an alert says: the structured description and the texts per language;
//! - [`lifecycle`]: create, send, expand, update and close, each one transaction that records
//!   itself in the dossier and enqueues the jobs it causes;
//! - [`reach`]: who an area reaches (the preview, and the recipients a wave is sent to);
//! - [`delivery`]: the jobs that fan a message out to its recipients by push, SMS and e-mail;
//! - [`progress`]: counters and the participant's view (my alerts, receipts);
//! - [`public_page`]: the public page of a real alert, its share text, the region's feed of
//!   closed alerts and their closing reports; [`public_id`]: the page's unguessable id;
//! - [`dossier`]: the append-only, hash-chained record of every event, its export and verifier;
//! - [`sms_receipts`]: delivery receipts from the SMS gateway;
//! - [`tips`]: what participants saw, sent to the control room, anonymously if they choose;
//! - [`answers`]: one-tap answers to an alert, from its notification.

pub mod access;
pub mod answers;
pub mod area;
pub mod audience;
pub mod call_statuses;
pub mod cap;
pub mod cap_import;
pub mod content;
pub mod delivery;
pub mod dossier;
pub mod lifecycle;
pub mod progress;
pub mod public_id;
pub mod public_page;
pub mod reach;
pub mod sms_receipts;
pub mod tip_review;
pub mod tips;

pub use crate::vocabulary::{Category, Channel};

/// Who did something to an alert, as the dossier records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Staff {
        subject: String,
        name: Option<String>,
    },
    Participant(crate::ids::ParticipantId),
    /// A participant who chose not to be known (an anonymous tip).
    Anonymous,
    System,
}

impl Actor {
    pub fn staff(member: &crate::auth::staff::StaffMember) -> Self {
        Self::Staff { subject: member.subject.clone(), name: member.name.clone() }
    }

    /// `staff:<subject>`, `participant:<id>` or `system`.
    pub fn label(&self) -> String {
        match self {
            Self::Staff { subject, .. } => format!("staff:{subject}"),
            Self::Participant(id) => format!("participant:{id}"),
            Self::Anonymous => "anonymous".into(),
            Self::System => "system".into(),
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Staff { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    /// The subject stored with rows a staff member created.
    pub fn subject(&self) -> String {
        match self {
            Self::Staff { subject, .. } => subject.clone(),
            other => other.label(),
        }
    }
}
