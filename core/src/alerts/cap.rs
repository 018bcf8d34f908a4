//! CAP 1.2 out: every message of a sent alert (the alert, each expansion, each update, the
//! closing) as an OASIS Common Alerting Protocol 1.2 message, for partners that take their alerts
//! from the same source (road-side displays, AMBER Alert, broadcasters) and for the control room's
//! incident system.
//!
//! How our alert becomes CAP:
//! - `identifier` is the message's id; `sender` the configured `BURGERNET_CAP_SENDER`; `sent` when
//!   the message went out, in UTC written `-00:00` as CAP 1.2 asks (never `Z`);
//! - `status` is the alert's purpose (`Actual`, `Exercise`, `Test`); `scope` is `Public`;
//! - `msgType`: the alert is `Alert`; expansions and updates are `Update`; the closing is an
//!   `Update` with `responseType` `AllClear`, or a `Cancel` for an alert closed as cancelled. Each
//!   message after the first names every earlier one in `references`;
//! - one `info` per language the control room wrote (`nl-NL`, and `en-GB` when there is English):
//!   the category mapped to CAP's (`search`, `engage`: Security; `alarm`, `inform`: Safety), the
//!   event, urgency, severity and certainty the category implies, the texts (`headline`,
//!   `description`, `instruction`), and the call-back number as `contact`;
//! - `area`: each drawn area of the waves sent so far, a circle as CAP's `lat,lon radius-in-km`,
//!   a polygon as its outer ring in `lat,lon` pairs (closed). CAP has no holes: a polygon's holes
//!   are left out, so the CAP area is never smaller than ours.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::json;

use super::access::{self, AccessError};
use super::content::{AlertTexts, MessageTexts};
use super::lifecycle::AlertError;
use super::{Actor, dossier};
use crate::auth::staff::StaffMember;
use crate::db::alerts::{self as queries, AlertRow, AreaRow, MessageRow};
use crate::ids::{AlertId, AlertMessageId};
use crate::markup::escape;
use crate::vocabulary::alerts::{AlertPurpose, AlertStatus, MessageKind, Outcome};
use crate::vocabulary::area::AreaShape;
use crate::vocabulary::{Category, Language};

/// CAP 1.2's XML namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// The `parameter` that carries our own category (`search`, `alarm`, ...).
pub const CATEGORY_PARAMETER: &str = "burgernet:category";

/// The media type of a CAP message.
pub const MEDIA_TYPE: &str = "application/cap+xml";

/// Who we are in CAP (`BURGERNET_CAP_SENDER`, default `burgernet.nl`): partners tell messages
/// apart by sender and identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapSender(pub String);

impl Default for CapSender {
    fn default() -> Self {
        Self("burgernet.nl".into())
    }
}

impl CapSender {
    /// A sender has no spaces, commas or `<`/`&` (CAP 1.2, 3.3.2).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&')) {
            return Err("expected a name without spaces, commas, < or &, such as burgernet.nl".into());
        }
        Ok(Self(raw.to_string()))
    }
}

/// The CAP message of `message` of the alert (its latest without), for a staff member who may see
/// the alert; recorded in its dossier as an export (`cap_exported`, once per quarter hour per
/// person). A draft has none (`alert_not_sent`).
pub async fn for_staff(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    message: Option<AlertMessageId>,
    sender: &CapSender,
) -> Result<String, AlertError> {
    let alert = access::alert_seen_by(conn, staff, id, false).await?;
    if alert.status == AlertStatus::Draft {
        return Err(AlertError::WrongStatus { status: alert.status, action: "exported as CAP" });
    }
    let areas = queries::list_areas(conn, id).await?;
    let messages = cap_messages(queries::list_messages(conn, id).await?, &areas);
    let index = match message {
        Some(wanted) => messages.iter().position(|m| m.id == wanted).ok_or(AccessError::NotFound)?,
        None => messages.len().checked_sub(1).ok_or(AccessError::NotFound)?,
    };
    let xml = self::message(sender, &alert, &areas, &messages, index);
    let body = json!({ "message_id": messages[index].id });
    dossier::record_view(conn, id, &Actor::staff(staff), "cap_exported", body).await?;
    Ok(xml)
}

/// The messages CAP knows, in order: the alert, each expansion (a wave with a drawn area), each
/// update and the closing. The waves of those who came into the area are the same alert to more
/// people, not a new message.
pub fn cap_messages(messages: Vec<MessageRow>, areas: &[AreaRow]) -> Vec<MessageRow> {
    messages
        .into_iter()
        .filter(|m| m.kind != MessageKind::Alert || areas.iter().any(|area| Some(area.wave) == m.wave))
        .collect()
}

/// The CAP 1.2 message of `messages[index]`: the alert's messages in the order they were written
/// (the earlier ones are its references), with the alert's drawn areas.
pub fn message(
    sender: &CapSender,
    alert: &AlertRow,
    areas: &[AreaRow],
    messages: &[MessageRow],
    index: usize,
) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        alert_element(sender, alert, areas, messages, index)
    )
}

/// The `<alert>` element of [`message`], without the XML declaration: to carry inside another
/// document (a partner's Atom feed).
pub fn alert_element(
    sender: &CapSender,
    alert: &AlertRow,
    areas: &[AreaRow],
    messages: &[MessageRow],
    index: usize,
) -> String {
    let message = &messages[index];
    let alert_texts: AlertTexts =
        serde_json::from_value(alert.texts.clone()).expect("stored alert texts are AlertTexts");
    let message_texts: Option<MessageTexts> = match message.kind {
        MessageKind::Alert => None,
        _ => Some(
            serde_json::from_value(message.texts.clone()).expect("stored message texts are MessageTexts"),
        ),
    };
    let closing = message.kind == MessageKind::Closing;
    let cancelled = closing && alert.outcome == Some(Outcome::Cancelled);
    let msg_type = match (index, cancelled) {
        (_, true) => "Cancel",
        (0, false) => "Alert",
        _ => "Update",
    };
    let mut xml = Xml::default();
    xml.raw(&format!("<alert xmlns=\"{NAMESPACE}\">\n"));
    xml.element(1, "identifier", &message.id.to_string());
    xml.element(1, "sender", &sender.0);
    xml.element(1, "sent", &cap_time(sent_at(alert, message)));
    xml.element(1, "status", status(alert.purpose));
    xml.element(1, "msgType", msg_type);
    xml.element(1, "scope", "Public");
    if index > 0 {
        let references: Vec<String> = messages[..index]
            .iter()
            .map(|earlier| format!("{},{},{}", sender.0, earlier.id, cap_time(sent_at(alert, earlier))))
            .collect();
        xml.element(1, "references", &references.join(" "));
    }
    if let Some(incident) = &alert.incident_reference {
        xml.element(1, "incidents", incident);
    }
    let languages: &[Language] =
        if alert_texts.en.is_some() { &[Language::Dutch, Language::English] } else { &[Language::Dutch] };
    let drawn: Vec<&AreaRow> = areas.iter().filter(|area| area.created_at <= message.created_at).collect();
    for language in languages {
        let text = alert_texts.in_language(*language);
        let words = words(*language);
        xml.open(1, "info");
        xml.element(2, "language", language_tag(*language));
        xml.element(2, "category", cap_category(alert.category));
        xml.element(2, "event", event(alert.category, *language));
        if closing {
            xml.element(2, "responseType", "AllClear");
        }
        let (urgency, severity, certainty) =
            if closing { ("Past", "Minor", "Observed") } else { assessment(alert.category, alert.urgent) };
        xml.element(2, "urgency", urgency);
        xml.element(2, "severity", severity);
        xml.element(2, "certainty", certainty);
        xml.element(2, "senderName", &format!("Burgernet, {} {}", words.region, alert.region_code));
        let description = match &message_texts {
            Some(texts) => &texts.in_language(*language).message,
            None => &text.message,
        };
        xml.element(2, "headline", &headline_of(&text.title, message.kind, *language));
        xml.element(2, "description", description);
        if let (false, Some(instruction)) = (closing, &text.instruction) {
            xml.element(2, "instruction", instruction);
        }
        if let Some(number) = &alert.call_back_number {
            xml.element(2, "contact", number);
        }
        // Our own category, so that a system of ours reading this back needs no mapping.
        xml.open(2, "parameter");
        xml.element(3, "valueName", CATEGORY_PARAMETER);
        xml.element(3, "value", alert.category.as_str());
        xml.close(2, "parameter");
        xml.open(2, "area");
        xml.element(3, "areaDesc", &format!("{} {}", words.area, alert.region_code));
        let shapes: Vec<AreaShape> =
            drawn.iter().filter_map(|area| serde_json::from_value(area.shape.clone()).ok()).collect();
        for ring in shapes.iter().flat_map(outer_rings) {
            xml.element(3, "polygon", &ring);
        }
        for shape in &shapes {
            if let AreaShape::Circle { center, radius_meters } = shape {
                let circle = format!("{},{} {}", center.latitude, center.longitude, radius_meters / 1000.0);
                xml.element(3, "circle", &circle);
            }
        }
        xml.close(2, "area");
        xml.close(1, "info");
    }
    xml.raw("</alert>\n");
    xml.0
}

/// The headline of `message` in `language`, as its CAP message has it.
pub fn headline(alert: &AlertRow, message: &MessageRow, language: Language) -> String {
    let alert_texts: AlertTexts =
        serde_json::from_value(alert.texts.clone()).expect("stored alert texts are AlertTexts");
    headline_of(&alert_texts.in_language(language).title, message.kind, language)
}

/// The alert's title, behind `Update:` or `Afgelopen:` (`Ended:`) for an update or the closing.
fn headline_of(title: &str, kind: MessageKind, language: Language) -> String {
    let words = words(language);
    match kind {
        MessageKind::Alert => title.to_string(),
        MessageKind::Update => format!("{}: {title}", words.update),
        MessageKind::Closing => format!("{}: {title}", words.ended),
    }
}

/// When a message went out: the alert when it was sent, the others when they were written.
fn sent_at(alert: &AlertRow, message: &MessageRow) -> DateTime<Utc> {
    match (message.kind, message.wave) {
        (MessageKind::Alert, Some(0)) => alert.sent_at.unwrap_or(message.created_at),
        _ => message.created_at,
    }
}

/// `2026-12-07T03:12:09-00:00`: whole seconds, UTC as `-00:00` (CAP 1.2, 3.3.2).
pub fn cap_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S-00:00").to_string()
}

fn status(purpose: AlertPurpose) -> &'static str {
    match purpose {
        AlertPurpose::Actual => "Actual",
        AlertPurpose::Exercise => "Exercise",
        AlertPurpose::Test => "Test",
    }
}

fn language_tag(language: Language) -> &'static str {
    match language {
        Language::Dutch => "nl-NL",
        Language::English => "en-GB",
    }
}

/// CAP's category: a search or a call to watch out is a police matter (`Security`); a disaster
/// or a warning is about safety (`Safety`).
fn cap_category(category: Category) -> &'static str {
    match category {
        Category::Search | Category::Engage => "Security",
        Category::Alarm | Category::Inform => "Safety",
    }
}

pub(crate) fn event(category: Category, language: Language) -> &'static str {
    match (category, language) {
        (Category::Search, Language::Dutch) => "Burgernet zoekactie",
        (Category::Engage, Language::Dutch) => "Burgernet oproep",
        (Category::Alarm, Language::Dutch) => "Burgernet alarm",
        (Category::Inform, Language::Dutch) => "Burgernet informatie",
        (Category::Search, Language::English) => "Burgernet search",
        (Category::Engage, Language::English) => "Burgernet appeal",
        (Category::Alarm, Language::English) => "Burgernet alarm",
        (Category::Inform, Language::English) => "Burgernet information",
    }
}

/// Urgency, severity and certainty: an urgent alert asks for action now; searches and alarms are
/// about something that happened.
fn assessment(category: Category, urgent: bool) -> (&'static str, &'static str, &'static str) {
    let urgency = if urgent { "Immediate" } else { "Expected" };
    match category {
        Category::Alarm => (urgency, "Severe", "Observed"),
        Category::Search => (urgency, "Severe", "Observed"),
        Category::Engage => (urgency, "Moderate", "Observed"),
        Category::Inform => (urgency, "Minor", "Likely"),
    }
}

struct Words {
    region: &'static str,
    area: &'static str,
    update: &'static str,
    ended: &'static str,
}

fn words(language: Language) -> Words {
    match language {
        Language::Dutch => Words {
            region: "politieregio",
            area: "Burgernetgebied in politieregio",
            update: "Update",
            ended: "Afgelopen",
        },
        Language::English => Words {
            region: "police region",
            area: "Burgernet area in police region",
            update: "Update",
            ended: "Ended",
        },
    }
}

/// The outer ring of each polygon of `shape` as CAP writes it: `lat,lon` pairs, the first repeated
/// last. A circle has none (it is a `circle`).
fn outer_rings(shape: &AreaShape) -> Vec<String> {
    let polygons: Vec<&Vec<Vec<Vec<f64>>>> = match shape {
        AreaShape::Circle { .. } => Vec::new(),
        AreaShape::Polygon { coordinates } => vec![coordinates],
        AreaShape::MultiPolygon { coordinates } => coordinates.iter().collect(),
    };
    polygons
        .into_iter()
        .filter_map(|rings| rings.first())
        .map(|ring| {
            let mut points: Vec<String> = ring
                .iter()
                .filter(|position| position.len() >= 2)
                .map(|position| format!("{},{}", position[1], position[0]))
                .collect();
            if points.first() != points.last()
                && let Some(first) = points.first().cloned()
            {
                points.push(first);
            }
            points.join(" ")
        })
        .collect()
}

/// A small XML writer: elements with escaped text and attributes (`markup::escape`), two spaces
/// per level. The partners' Atom feed is written with it too.
#[derive(Default)]
pub(crate) struct Xml(String);

impl Xml {
    pub(crate) fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn indent(&mut self, level: usize) {
        self.0.push_str(&"  ".repeat(level));
    }

    pub(crate) fn open(&mut self, level: usize, name: &str) {
        self.indent(level);
        let _ = writeln!(self.0, "<{name}>");
    }

    pub(crate) fn close(&mut self, level: usize, name: &str) {
        self.indent(level);
        let _ = writeln!(self.0, "</{name}>");
    }

    pub(crate) fn element(&mut self, level: usize, name: &str, text: &str) {
        self.indent(level);
        let _ = writeln!(self.0, "<{name}>{}</{name}>", escape(text));
    }

    /// `<name a="v"/>`.
    pub(crate) fn empty(&mut self, level: usize, name: &str, attributes: &[(&str, &str)]) {
        self.indent(level);
        let _ = writeln!(self.0, "<{name}{}/>", attribute_list(attributes));
    }

    /// `<name a="v">inner</name>`, with `inner` XML as it is (an element written elsewhere).
    pub(crate) fn wrap(&mut self, level: usize, name: &str, attributes: &[(&str, &str)], inner: &str) {
        self.indent(level);
        let _ = writeln!(self.0, "<{name}{}>{inner}</{name}>", attribute_list(attributes));
    }

    pub(crate) fn finish(self) -> String {
        self.0
    }
}

/// ` a="v" b="w"`, the values escaped.
fn attribute_list(attributes: &[(&str, &str)]) -> String {
    attributes.iter().map(|(name, value)| format!(" {name}=\"{}\"", escape(value))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_whole_seconds_in_utc_written_minus_zero() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T03:12:09.456Z").unwrap().with_timezone(&Utc);
        assert_eq!(cap_time(at), "2026-12-07T03:12:09-00:00");
    }

    #[test]
    fn attribute_values_are_escaped_for_double_quotes() {
        let mut xml = Xml::default();
        xml.empty(0, "link", &[("rel", "self"), ("href", "https://x.test/?a=1&b=\"2\"")]);
        assert_eq!(xml.finish(), "<link rel=\"self\" href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\"/>\n");
    }

    #[test]
    fn polygons_are_outer_rings_in_lat_lon_order_and_closed() {
        let square = AreaShape::Polygon {
            coordinates: vec![
                vec![vec![4.4, 51.9], vec![4.5, 51.9], vec![4.5, 52.0], vec![4.4, 52.0]],
                vec![vec![4.42, 51.92], vec![4.43, 51.92], vec![4.43, 51.93], vec![4.42, 51.92]],
            ],
        };
        assert_eq!(outer_rings(&square), ["51.9,4.4 51.9,4.5 52,4.5 52,4.4 51.9,4.4"]);
    }

    #[test]
    fn a_sender_is_one_word() {
        assert!(CapSender::parse("burgernet.nl").is_ok());
        for wrong in ["", "burger net", "a,b", "a&b"] {
            assert!(CapSender::parse(wrong).is_err(), "{wrong}");
        }
    }
}
