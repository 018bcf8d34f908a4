//! The public side of a real alert: the page anyone may open and share, its share text, the
//! region's Atom feed of closed alerts, and the closing report that communication staff write for
//! the website once the alert is closed.
//!
//! What is public is what the control room wrote for everyone: the alert's texts (title, message,
//! instruction; never the structured description), its category, the names of the municipalities
//! its area covers (never the area itself), the updates sent to everyone reached (an update for
//! those with some answers only is theirs, not the public's), the call-back number while the
//! alert is active, and once it is closed the outcome, the closing message and the closing report.
//! Nothing about participants or tips, no counts of any kind, no staff.
//!
//! A page is found by its public id (see [`super::public_id`]). Only real alerts have one: drafts,
//! exercises and tests have no public page (an exercise on a page that is shared on would be taken
//! for real).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{self, AccessError};
use super::cap::{self, Xml};
use super::content::{AlertTexts, MessageTexts};
use super::public_id::{PublicId, page_url};
use super::{Actor, dossier};
use crate::auth::staff::StaffMember;
use crate::db::alerts::{self as alert_queries, AlertRow, MessageRow};
use crate::db::public_pages::{self as queries, ClosingReportRow};
use crate::db::reference_data as region_queries;
use crate::ids::AlertId;
use crate::markup::ATOM_NAMESPACE;
use crate::partners::ATOM_MEDIA_TYPE;
use crate::vocabulary::alerts::{AlertStatus, MessageKind, Outcome};
use crate::vocabulary::regions::RegionCode;
use crate::vocabulary::{Category, InvalidInput, Language, form_text};

/// The most alerts the feed of a region's closed alerts has.
pub const FEED_LIMIT: i64 = 50;

/// The longest closing report, in characters.
pub const MAX_REPORT_CHARS: usize = 4_000;

/// A real alert as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicAlert {
    pub public_id: String,
    pub category: Category,
    /// What the alert says: title, message and instruction, in Dutch and perhaps English.
    pub texts: AlertTexts,
    /// The number to call with what you saw, while the alert is active.
    pub call_back_number: Option<String>,
    /// The municipalities the alert's area covers part of, by name.
    pub municipalities: Vec<String>,
    pub sent_at: DateTime<Utc>,
    /// The updates sent to everyone reached, oldest first.
    pub updates: Vec<PublicMessage>,
    /// How it ended, once it is closed (until then it is active).
    pub closing: Option<PublicClosing>,
}

/// An update as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicMessage {
    pub texts: MessageTexts,
    pub sent_at: DateTime<Utc>,
}

/// How a closed alert ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicClosing {
    pub outcome: Outcome,
    pub closed_at: DateTime<Utc>,
    /// The closing message to everyone reached.
    pub message: Option<MessageTexts>,
    /// The closing report, once communication staff wrote it.
    pub report: Option<PublicReport>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublicReport {
    pub text: String,
    pub updated_at: DateTime<Utc>,
}

impl PublicAlert {
    /// When anything on its page last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        let mut times = vec![self.sent_at];
        times.extend(self.updates.iter().map(|update| update.sent_at));
        if let Some(closing) = &self.closing {
            times.push(closing.closed_at);
            times.extend(closing.report.as_ref().map(|report| report.updated_at));
        }
        times.into_iter().max().unwrap_or(self.sent_at)
    }

    /// The category and where: `Burgernet zoekactie in Rotterdam en Schiedam`.
    pub fn headline(&self, language: Language) -> String {
        let event = cap::event(self.category, language);
        match self.municipalities.as_slice() {
            [] => event.to_string(),
            names => format!("{event} in {}", list_of(names, language)),
        }
    }
}

/// The public alert whose page this is; `None` for anything that is not the public id of a sent
/// real alert.
pub async fn find(conn: &mut AsyncPgConnection, raw_id: &str) -> diesel::QueryResult<Option<PublicAlert>> {
    let Some(public_id) = PublicId::parse(raw_id) else { return Ok(None) };
    let Some(alert) = queries::find_by_public_id(conn, public_id.as_str()).await? else { return Ok(None) };
    Ok(load(conn, &[alert]).await?.pop())
}

/// The public alerts of `ids` that have a page, in that order; read in four queries however many.
async fn load(conn: &mut AsyncPgConnection, ids: &[AlertId]) -> diesel::QueryResult<Vec<PublicAlert>> {
    let mut rows: HashMap<AlertId, AlertRow> =
        alert_queries::find_alerts(conn, ids).await?.into_iter().map(|row| (row.id, row)).collect();
    let mut messages: HashMap<AlertId, Vec<MessageRow>> = HashMap::new();
    for message in alert_queries::messages_of(conn, ids).await? {
        messages.entry(message.alert_id).or_default().push(message);
    }
    let mut municipalities: HashMap<AlertId, Vec<String>> = HashMap::new();
    for touched in queries::municipalities_touched(conn, ids).await? {
        municipalities.entry(touched.alert_id).or_default().push(touched.name);
    }
    let mut reports: HashMap<AlertId, ClosingReportRow> =
        queries::closing_reports_of(conn, ids).await?.into_iter().map(|row| (row.alert_id, row)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| {
            let row = rows.remove(id)?;
            let messages = messages.remove(id).unwrap_or_default();
            public_view(row, &messages, municipalities.remove(id).unwrap_or_default(), reports.remove(id))
        })
        .collect())
}

/// The public view of a sent real alert (`None` for any other).
fn public_view(
    row: AlertRow,
    messages: &[MessageRow],
    municipalities: Vec<String>,
    report: Option<ClosingReportRow>,
) -> Option<PublicAlert> {
    let (public_id, sent_at) = (row.public_id?, row.sent_at?);
    if !row.purpose.is_actual() {
        return None;
    }
    let message_texts = |message: &MessageRow| -> MessageTexts {
        serde_json::from_value(message.texts.clone()).expect("stored message texts are MessageTexts")
    };
    let updates = messages
        .iter()
        .filter(|message| message.kind == MessageKind::Update && message.to_answers.is_none())
        .map(|message| PublicMessage { texts: message_texts(message), sent_at: message.created_at })
        .collect();
    let closing = match (row.status, row.outcome, row.closed_at) {
        (AlertStatus::Closed, Some(outcome), Some(closed_at)) => Some(PublicClosing {
            outcome,
            closed_at,
            message: messages.iter().find(|message| message.kind == MessageKind::Closing).map(message_texts),
            report: report.map(|report| PublicReport { text: report.text, updated_at: report.updated_at }),
        }),
        _ => None,
    };
    Some(PublicAlert {
        public_id,
        category: row.category,
        texts: serde_json::from_value(row.texts).expect("stored alert texts are AlertTexts"),
        call_back_number: row.call_back_number.filter(|_| row.status == AlertStatus::Active),
        municipalities,
        sent_at,
        updates,
        closing,
    })
}

/// How an alert ended, in words for the public.
pub fn outcome_phrase(outcome: Outcome, language: Language) -> &'static str {
    match (outcome, language) {
        (Outcome::HardSuccess, Language::Dutch) => "Opgelost dankzij de tips van deelnemers",
        (Outcome::HardSuccess, Language::English) => "Solved thanks to participants' tips",
        (Outcome::SoftSuccess, Language::Dutch) => "Goed afgelopen",
        (Outcome::SoftSuccess, Language::English) => "Ended well",
        (Outcome::NoResult, Language::Dutch) => "Beëindigd zonder resultaat",
        (Outcome::NoResult, Language::English) => "Ended without a result",
        (Outcome::Cancelled, Language::Dutch) => "Ingetrokken",
        (Outcome::Cancelled, Language::English) => "Called off",
    }
}

/// `a`, `a en b`, `a, b en c` (English: `and`).
fn list_of(names: &[String], language: Language) -> String {
    let and = match language {
        Language::Dutch => "en",
        Language::English => "and",
    };
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// What the app offers to share: the title, one line on where and how it stands, and the page's
/// address (`page_url`), in `language` where the control room wrote it.
pub fn share_text(alert: &PublicAlert, language: Language, page_url: &str) -> String {
    let title = alert.texts.in_language(language).title.replace('\n', " ");
    let headline = alert.headline(language);
    let line = match (&alert.closing, &alert.call_back_number, language) {
        (Some(closing), _, Language::Dutch) => {
            format!("{headline} is afgelopen. {}.", outcome_phrase(closing.outcome, language))
        }
        (Some(closing), _, Language::English) => {
            format!("{headline} has ended. {}.", outcome_phrase(closing.outcome, language))
        }
        (None, Some(number), Language::Dutch) => format!("{headline}. Ziet u iets? Bel {number}."),
        (None, Some(number), Language::English) => format!("{headline}. Seen something? Call {number}."),
        (None, None, _) => format!("{headline}."),
    };
    format!("{title}\n{line}\n{page_url}\n")
}

/// A region's closed real alerts, for its feed.
pub struct ClosedAlertsFeed {
    pub region_code: String,
    pub region_name: String,
    /// The latest closed first, at most [`FEED_LIMIT`].
    pub alerts: Vec<PublicAlert>,
}

/// The closed real alerts of the region with `raw_code`, the latest closed first; `None` when
/// there is no such region.
pub async fn closed_in_region(
    conn: &mut AsyncPgConnection,
    raw_code: &str,
) -> diesel::QueryResult<Option<ClosedAlertsFeed>> {
    let Ok(code) = RegionCode::parse(raw_code) else { return Ok(None) };
    let Some(region) = region_queries::find_region(conn, &code).await? else { return Ok(None) };
    let ids = queries::closed_public_alerts(conn, region.id, FEED_LIMIT).await?;
    Ok(Some(ClosedAlertsFeed {
        region_code: region.code.as_str().to_string(),
        region_name: region.name,
        alerts: load(conn, &ids).await?,
    }))
}

impl ClosedAlertsFeed {
    /// The feed as Atom 1.0: an entry per alert with its outcome as summary, its closing report
    /// (else its closing message) as content, and a link to its page. `public_url` is the API's
    /// public address (`BURGERNET_PUBLIC_URL`).
    pub fn atom(&self, public_url: &str) -> String {
        let public_url = public_url.trim_end_matches('/');
        let mut xml = Xml::default();
        xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.raw(&format!("<feed xmlns=\"{ATOM_NAMESPACE}\" xml:lang=\"nl\">\n"));
        xml.element(1, "id", &format!("urn:burgernet:closed-alerts:{}", self.region_code));
        xml.element(1, "title", &format!("Burgernet {}: afgelopen acties", self.region_name));
        let updated = self.alerts.iter().map(PublicAlert::updated_at).max().unwrap_or_else(Utc::now);
        xml.element(1, "updated", &atom_time(updated));
        let self_link = format!("{public_url}/public/regions/{}/closed-alerts.atom", self.region_code);
        xml.empty(1, "link", &[("rel", "self"), ("type", ATOM_MEDIA_TYPE), ("href", &self_link)]);
        xml.open(1, "author");
        xml.element(2, "name", "Burgernet");
        xml.close(1, "author");
        for alert in &self.alerts {
            let Some(closing) = &alert.closing else { continue };
            xml.open(1, "entry");
            xml.element(2, "id", &format!("urn:burgernet:public-alert:{}", alert.public_id));
            xml.element(2, "title", &alert.texts.nl.title);
            xml.element(2, "published", &atom_time(alert.sent_at));
            xml.element(2, "updated", &atom_time(alert.updated_at()));
            let link = page_url(public_url, &alert.public_id);
            xml.empty(2, "link", &[("rel", "alternate"), ("type", "text/html"), ("href", &link)]);
            let category = cap::event(alert.category, Language::Dutch);
            xml.empty(2, "category", &[("term", alert.category.as_str()), ("label", category)]);
            let summary = format!(
                "{}. {}.",
                alert.headline(Language::Dutch),
                outcome_phrase(closing.outcome, Language::Dutch)
            );
            xml.element(2, "summary", &summary);
            let content = match (&closing.report, &closing.message) {
                (Some(report), _) => Some(report.text.as_str()),
                (None, Some(message)) => Some(message.nl.message.as_str()),
                (None, None) => None,
            };
            if let Some(content) = content {
                // Atom's default type: plain text, so the report shows as written.
                xml.element(2, "content", content);
            }
            xml.close(1, "entry");
        }
        xml.raw("</feed>\n");
        xml.finish()
    }
}

fn atom_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// --- the closing report ---

/// The closing report as staff write it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosingReportRequest {
    /// The report for the public: what happened and how it ended; 1 to 4,000 characters, line
    /// breaks allowed. It is shown as written on the alert's public page and in the region's feed.
    pub text: String,
}

/// A closed alert's public report, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClosingReport {
    pub text: String,
    /// The subject of who last wrote it.
    pub written_by: String,
    /// When it was first written.
    pub written_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ClosingReportRow> for ClosingReport {
    fn from(row: ClosingReportRow) -> Self {
        Self {
            text: row.text,
            written_by: row.written_by_subject,
            written_at: row.written_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClosingReportError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("This alert is {}; its closing report is written once it is closed.", .0.as_str())]
    NotClosed(AlertStatus),
    #[error("This alert is an exercise or a test; it has no public page and so no closing report.")]
    NotPublic,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The report's text: line breaks as `\n`, trimmed, 1 to [`MAX_REPORT_CHARS`] characters, no other
/// control characters.
fn parse_report_text(raw: &str) -> Result<String, InvalidInput> {
    form_text(&raw.replace("\r\n", "\n"), MAX_REPORT_CHARS, true).ok().flatten().ok_or_else(|| {
        InvalidInput::new(
            "invalid_closing_report",
            "The closing report has 1 to 4,000 characters, without control characters other than line breaks.",
        )
    })
}

/// Writes (or rewrites) the closing report of a closed real alert, and records it in the dossier
/// (`closing_report_written`). Who: the dispatchers and region managers of the alert's region.
pub async fn write_closing_report(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    request: ClosingReportRequest,
) -> Result<ClosingReport, ClosingReportError> {
    let actor = &Actor::staff(staff);
    conn.transaction(async |conn| {
        let alert = access::alert_seen_by(conn, staff, id, true).await?;
        access::may_write_closing_report(staff, &alert.region_code)?;
        if !alert.purpose.is_actual() {
            return Err(ClosingReportError::NotPublic);
        }
        if alert.status != AlertStatus::Closed {
            return Err(ClosingReportError::NotClosed(alert.status));
        }
        let text = parse_report_text(&request.text)?;
        let row = queries::write_closing_report(conn, id, &text, &actor.subject()).await?;
        dossier::record(conn, id, actor, "closing_report_written", json!({ "text": text })).await?;
        Ok(ClosingReport::from(row))
    })
    .await
}

/// The alert's closing report, if written.
pub async fn closing_report(
    conn: &mut AsyncPgConnection,
    id: AlertId,
) -> diesel::QueryResult<Option<ClosingReport>> {
    Ok(queries::closing_reports_of(conn, &[id]).await?.pop().map(ClosingReport::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::content::{AlertText, MessageText};

    fn alert(closing: Option<PublicClosing>) -> PublicAlert {
        let text = |title: &str| AlertText { title: title.into(), message: "x".into(), instruction: None };
        PublicAlert {
            public_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            category: Category::Search,
            texts: AlertTexts { nl: text("Gezocht:\nman"), en: Some(text("Wanted: man")) },
            call_back_number: closing.is_none().then(|| "0900-8844".to_string()),
            municipalities: vec!["Rotterdam".into(), "Schiedam".into(), "Vlaardingen".into()],
            sent_at: Utc::now(),
            updates: Vec::new(),
            closing,
        }
    }

    #[test]
    fn the_share_text_is_the_title_one_line_and_the_address() {
        let url = "https://burgernet.test/public/alerts/AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            share_text(&alert(None), Language::Dutch, url),
            format!(
                "Gezocht: man\nBurgernet zoekactie in Rotterdam, Schiedam en Vlaardingen. Ziet u iets? \
                 Bel 0900-8844.\n{url}\n"
            )
        );
        let closing = PublicClosing {
            outcome: Outcome::HardSuccess,
            closed_at: Utc::now(),
            message: Some(MessageTexts { nl: MessageText { message: "Gevonden.".into() }, en: None }),
            report: None,
        };
        assert_eq!(
            share_text(&alert(Some(closing)), Language::English, url),
            format!(
                "Wanted: man\nBurgernet search in Rotterdam, Schiedam and Vlaardingen has ended. Solved \
                 thanks to participants' tips.\n{url}\n"
            )
        );
    }

    #[test]
    fn a_report_keeps_its_line_breaks_and_nothing_else_unprintable() {
        assert_eq!(parse_report_text(" Gevonden.\r\n\r\nDank! ").unwrap(), "Gevonden.\n\nDank!");
        assert_eq!(parse_report_text("  ").unwrap_err().code, "invalid_closing_report");
        assert!(parse_report_text("a\u{7}").is_err());
        assert!(parse_report_text(&"x".repeat(MAX_REPORT_CHARS + 1)).is_err());
    }
}
