//! What comes back from a municipal message: one-click unsubscribes (RFC 8058), bounces the mail
//! provider reports, and messages opened in the app.
//!
//! # Bounce reports
//!
//! The mail provider tells us about mail that could not be delivered by calling our API, signed
//! like the SMS gateway's receipts (`providers::webhook_signature`, with
//! `BURGERNET_EMAIL_WEBHOOK_SECRET`):
//!
//! ```text
//! POST {our public URL}/v1/email/bounces
//! Content-Type: application/json
//! X-Signature-Timestamp: 1764521281
//! X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
//!
//! {"message_id": "<6f1c…@burgernet.nl>", "type": "permanent", "at": "2026-12-09T10:15:00Z",
//!  "diagnostic_code": "5.1.1"}
//! ```
//!
//! `message_id` is the `Message-ID` we gave the e-mail: of a municipal message, or of an alert.
//! `type` is one of:
//! - `permanent`: the address does not work. It becomes unverified, the participant waits in the
//!   municipality's verification queue with the reason `email_bounced`, and no further mail goes
//!   to it until they confirm it or set another.
//! - `transient`: a full mailbox, a server that was away; the provider retried and gave up on
//!   this one message. Nothing changes.
//! - `complaint`: the recipient marked it as spam. They no longer get that kind of municipal
//!   message; a complaint about an alert changes nothing (alerts are what they signed up for).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

use super::content::stored_texts;
use crate::db::municipal_messages::{self as queries, UnsubscribeTarget};
use crate::db::participants as participant_queries;
use crate::ids::{MunicipalMessageId, ParticipantId};
use crate::secret::SecretTokenHash;
use crate::vocabulary::{Language, MunicipalMessageKind};

/// The longest unsubscribe token we look up: ours are 43 characters.
const MAX_TOKEN_CHARS: usize = 128;

/// Whom an unsubscribe link is for, as its page shows it.
#[derive(Debug, Clone)]
pub struct UnsubscribeLink {
    pub kind: MunicipalMessageKind,
    pub language: Language,
    pub municipality_name: String,
}

impl From<UnsubscribeTarget> for UnsubscribeLink {
    fn from(target: UnsubscribeTarget) -> Self {
        Self { kind: target.kind, language: target.language, municipality_name: target.municipality_name }
    }
}

async fn target_of(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> Result<Option<UnsubscribeTarget>, diesel::result::Error> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    queries::find_by_unsubscribe_token(conn, &SecretTokenHash::of(token).0).await
}

/// What the link would unsubscribe from, without doing it (its page, before the button).
pub async fn unsubscribe_link(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> Result<Option<UnsubscribeLink>, diesel::result::Error> {
    Ok(target_of(conn, token).await?.map(UnsubscribeLink::from))
}

/// Unsubscribes the participant the link was sent to from the message's kind. Doing it again
/// changes nothing and says the same; none for a link we do not know.
pub async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> Result<Option<UnsubscribeLink>, diesel::result::Error> {
    conn.transaction(async |conn| {
        let Some(target) = target_of(conn, token).await? else { return Ok(None) };
        queries::unsubscribe(conn, target.message_id, target.participant_id, target.kind).await?;
        Ok(Some(target.into()))
    })
    .await
}

/// What the mail provider says became of one e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BounceType {
    /// The address does not work.
    Permanent,
    /// Delivery failed for now (a full mailbox); the address may work.
    Transient,
    /// The recipient marked the message as spam.
    Complaint,
}

/// A bounce report as the mail provider sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BounceReportBody {
    /// The `Message-ID` we gave the e-mail, angle brackets included.
    pub message_id: String,
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub at: DateTime<Utc>,
    /// The enhanced status code (`5.1.1`), if the provider gives one.
    #[serde(default)]
    pub diagnostic_code: Option<String>,
}

/// A body that is not a bounce report; the text does not repeat the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the body is not a bounce report: {0}")]
pub struct InvalidBounce(String);

/// Reads a bounce report's body (after its signature was verified).
pub fn parse_bounce(body: &[u8]) -> Result<BounceReportBody, InvalidBounce> {
    let report: BounceReportBody = serde_json::from_slice(body).map_err(|error| {
        let what = match error.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            _ => "it is not JSON",
        };
        InvalidBounce(format!("{what} (line {}, column {})", error.line(), error.column()))
    })?;
    let id = &report.message_id;
    let shaped = (3..=256).contains(&id.len())
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && id.bytes().all(|b| b.is_ascii_graphic());
    if !shaped {
        return Err(InvalidBounce("message_id must be a Message-ID such as <id@domain>".into()));
    }
    if report
        .diagnostic_code
        .as_ref()
        .is_some_and(|code| code.len() > 32 || !code.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(InvalidBounce("diagnostic_code must be a short status code such as 5.1.1".into()));
    }
    Ok(report)
}

/// What a bounce report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceOutcome {
    /// No e-mail of ours (a municipal message's or an alert's) has this Message-ID.
    Unknown,
    Recorded {
        /// The address became unverified (a permanent bounce to an address not changed since).
        address_marked: bool,
    },
}

/// Records what the mail provider reported, about a municipal message's e-mail or an alert's.
pub async fn record_bounce(
    conn: &mut AsyncPgConnection,
    report: &BounceReportBody,
) -> Result<BounceOutcome, diesel::result::Error> {
    conn.transaction(async |conn| {
        if report.bounce_type == BounceType::Transient {
            // The provider gave up on one message, not on the address: nothing to change.
            let ours = queries::is_our_email(conn, &report.message_id).await?
                || queries::alert_email_recipient(conn, &report.message_id).await?.is_some();
            return Ok(if ours {
                BounceOutcome::Recorded { address_marked: false }
            } else {
                BounceOutcome::Unknown
            });
        }
        let bounced = report.bounce_type == BounceType::Permanent;
        let newsletter = queries::record_bounce(conn, &report.message_id, report.at, bounced).await?;
        let (participant, sent_at) = match &newsletter {
            Some(recipient) => (recipient.participant_id, recipient.sent_at),
            None => match queries::alert_email_recipient(conn, &report.message_id).await? {
                Some(alert_email) => (alert_email.participant_id, alert_email.sent_at),
                None => return Ok(BounceOutcome::Unknown),
            },
        };
        let address_marked = match (report.bounce_type, &newsletter) {
            (BounceType::Permanent, _) => queries::mark_address_bounced(conn, participant, sent_at).await?,
            (BounceType::Complaint, Some(recipient)) => {
                queries::unsubscribe(conn, recipient.message_id, recipient.participant_id, recipient.kind)
                    .await?;
                false
            }
            _ => false,
        };
        Ok(BounceOutcome::Recorded { address_marked })
    })
    .await
}

/// A municipal message as the participant reads it in the app.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedMessage {
    #[schema(value_type = uuid::Uuid)]
    pub id: MunicipalMessageId,
    /// CBS code of the municipality that sent it.
    pub municipality: String,
    pub municipality_name: String,
    pub kind: MunicipalMessageKind,
    /// In the participant's language when the municipality wrote one, else in Dutch.
    pub subject: String,
    pub body: String,
    pub sent_at: DateTime<Utc>,
    /// Whether the app reported it opened.
    pub opened: bool,
}

/// The newest municipal messages the participant received in the app (at most 50).
pub async fn received(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Vec<ReceivedMessage>, diesel::result::Error> {
    let language = language_of(conn, participant).await?;
    let rows = queries::received(conn, participant, 50).await?;
    Ok(rows.into_iter().map(|row| as_received(row, language)).collect())
}

/// One municipal message the participant received in the app.
pub async fn received_one(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: MunicipalMessageId,
) -> Result<Option<ReceivedMessage>, diesel::result::Error> {
    let language = language_of(conn, participant).await?;
    Ok(queries::received_one(conn, participant, id).await?.map(|row| as_received(row, language)))
}

/// The app opened the message; the first time counts. Returns whether the participant received
/// it in the app.
pub async fn opened(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: MunicipalMessageId,
) -> Result<bool, diesel::result::Error> {
    queries::mark_opened(conn, participant, id).await
}

async fn language_of(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Language, diesel::result::Error> {
    Ok(participant_queries::find(conn, participant, false).await?.map_or(Language::Dutch, |row| row.language))
}

fn as_received(row: queries::ReceivedRow, language: Language) -> ReceivedMessage {
    let texts = stored_texts(&row.texts);
    let text = texts.in_language(language);
    ReceivedMessage {
        id: row.id,
        municipality: row.municipality_cbs,
        municipality_name: row.municipality_name,
        kind: row.kind,
        subject: text.subject.clone(),
        body: text.body.clone(),
        sent_at: row.sent_at,
        opened: row.opened,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bounce_report() {
        let report = parse_bounce(
            br#"{"message_id":"<abc@burgernet.nl>","type":"permanent","at":"2026-12-09T10:15:00Z","diagnostic_code":"5.1.1"}"#,
        )
        .unwrap();
        assert_eq!(report.bounce_type, BounceType::Permanent);
        assert_eq!(report.message_id, "<abc@burgernet.nl>");
    }

    #[test]
    fn refuses_what_is_not_a_bounce_report_without_repeating_it() {
        for body in [
            r#"not json jan@example.nl"#,
            r#"{"message_id":"<abc@burgernet.nl>","type":"bounced","at":"2026-12-09T10:15:00Z"}"#,
            r#"{"message_id":"jan@example.nl","type":"permanent","at":"2026-12-09T10:15:00Z"}"#,
            r#"{"message_id":"<a b@c>","type":"permanent","at":"2026-12-09T10:15:00Z"}"#,
            r#"{"message_id":"<abc@burgernet.nl>","type":"permanent","at":"2026-12-09T10:15:00Z","diagnostic_code":"550 jan@example.nl unknown"}"#,
            r#"{"message_id":"<abc@burgernet.nl>","type":"permanent","at":"2026-12-09T10:15:00Z","recipient":"jan@example.nl"}"#,
        ] {
            let error = parse_bounce(body.as_bytes()).unwrap_err();
            assert!(!error.to_string().contains("jan@"), "{error}");
        }
    }
}
