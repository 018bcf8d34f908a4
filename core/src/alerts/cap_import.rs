//! CAP 1.2 in: the control room's incident system (GMS) posts a CAP 1.2 `Alert` message and a
//! draft alert is made of it, for a dispatcher to check and send; nothing is sent without a
//! dispatcher's send. It becomes the same request a dispatcher's form makes
//! ([`NewAlertRequest`]), so every rule of a drafted alert holds for it too.
//!
//! How CAP becomes our alert:
//! - `status` `Actual`, `Exercise` or `Test` is the purpose; `Draft` and `System` are not alerts
//!   for people. Only `msgType` `Alert` makes an alert (an update names an alert we made).
//! - `incidents` is kept as the alert's incident reference.
//! - The Dutch `info` (`nl` or `nl-NL`) is required; an English one (`en`, `en-*`) is used too.
//!   `headline`, `description`, `instruction` and `contact` are the title, message, instruction
//!   and call-back number.
//! - The category is our own when the message carries it (`parameter` `burgernet:category`, as our
//!   own CAP messages do), else CAP's `category` mapped: `Security` and `Rescue` a search; `Fire`,
//!   `CBRNE` and `Env` an alarm; `Safety` an alarm when urgent, else information; `Transport` and
//!   `Infra` information. `Geo`, `Met`, `Health` and `Other` have no Burgernet counterpart.
//! - `urgency` `Immediate` makes it urgent.
//! - The area of the Dutch `info`: one `circle` (`lat,lon radius-in-km`), or one or more
//!   `polygon`s (`lat,lon` pairs). A `geocode` alone names no area we can draw.
//! - The channels are push and SMS, and calls where the category's channel order calls; the
//!   dispatcher can change the draft before sending it.
//!
//! Whatever cannot be mapped is refused (`invalid_cap`) with the element named
//! (`alert/info/category: ...`). The XML may have no DOCTYPE (no entities of its own, nothing
//! fetched), and is bounded in depth and size.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::cap::{CATEGORY_PARAMETER, NAMESPACE};
use super::content::{AlertText, AlertTexts, Description};
use super::delivery::plan::ChannelOrders;
use super::lifecycle::NewAlertRequest;
use crate::vocabulary::alerts::AlertPurpose;
use crate::vocabulary::area::{AreaShape, Coordinates};
use crate::vocabulary::{Category, Channel, InvalidInput};

/// How deep elements may nest: CAP needs four levels (`alert/info/area/polygon`).
const MAX_DEPTH: usize = 8;
/// Elements a message may have: a CAP alert with two languages has a few dozen.
const MAX_ELEMENTS: usize = 2_000;

/// The draft request a CAP 1.2 message makes (see the module documentation).
pub fn draft_request(xml: &str, orders: &ChannelOrders) -> Result<NewAlertRequest, InvalidInput> {
    let alert = parse(xml)?;
    if alert.name != "alert" || alert.namespace.as_deref() != Some(NAMESPACE) {
        return Err(refused("alert", format!("the root must be CAP 1.2's alert ({NAMESPACE})")));
    }
    let purpose = match alert.text_of("status")? {
        "Actual" => AlertPurpose::Actual,
        "Exercise" => AlertPurpose::Exercise,
        "Test" => AlertPurpose::Test,
        other => return Err(refused("alert/status", format!("{other} is not an alert for people"))),
    };
    let msg_type = alert.text_of("msgType")?;
    if msg_type != "Alert" {
        return Err(refused("alert/msgType", format!("only Alert makes a new alert, not {msg_type}")));
    }
    let infos: Vec<&Element> = alert.children("info").collect();
    let dutch = infos
        .iter()
        .find(|info| matches!(info.optional_text("language"), Some("nl" | "nl-NL")))
        .ok_or_else(|| refused("alert/info/language", "an info in Dutch (nl-NL) is required"))?;
    let english = infos
        .iter()
        .find(|info| info.optional_text("language").is_some_and(|l| l == "en" || l.starts_with("en-")));
    let category = category_of(dutch)?;
    let urgent = dutch.text_of("urgency")? == "Immediate";
    let mut channels = vec![Channel::Push, Channel::Sms];
    if orders.of(category).calls() {
        channels.push(Channel::Voice);
    }
    Ok(NewAlertRequest {
        category,
        purpose,
        urgent,
        channels,
        description: Description::default(),
        texts: AlertTexts { nl: text_of(dutch)?, en: english.map(|info| text_of(info)).transpose()? },
        call_back_number: dutch.optional_text("contact").map(str::to_string),
        area: area_of(dutch)?,
        target_groups: Vec::new(),
        reach_area: true,
        incident_reference: alert.optional_text("incidents").map(str::to_string),
    })
}

fn refused(element: &str, detail: impl std::fmt::Display) -> InvalidInput {
    InvalidInput::new("invalid_cap", format!("{element}: {detail}"))
}

fn category_of(info: &Element) -> Result<Category, InvalidInput> {
    let own = info
        .children("parameter")
        .find(|parameter| parameter.optional_text("valueName") == Some(CATEGORY_PARAMETER))
        .and_then(|parameter| parameter.optional_text("value"));
    if let Some(own) = own {
        return Category::from_name(own)
            .ok_or_else(|| refused("alert/info/parameter", format!("{own} is not a Burgernet category")));
    }
    let urgent = info.optional_text("urgency") == Some("Immediate");
    let categories: Vec<&str> = info.children("category").map(|c| c.text.as_str()).collect();
    categories
        .iter()
        .find_map(|category| match *category {
            "Security" | "Rescue" => Some(Category::Search),
            "Fire" | "CBRNE" | "Env" => Some(Category::Alarm),
            "Safety" if urgent => Some(Category::Alarm),
            "Safety" | "Transport" | "Infra" => Some(Category::Inform),
            _ => None,
        })
        .ok_or_else(|| {
            refused("alert/info/category", format!("{} has no Burgernet category", categories.join(", ")))
        })
}

fn text_of(info: &Element) -> Result<AlertText, InvalidInput> {
    Ok(AlertText {
        title: info
            .text_of("headline")
            .map_err(|_| refused("alert/info/headline", "is required"))?
            .to_string(),
        message: info
            .text_of("description")
            .map_err(|_| refused("alert/info/description", "is required"))?
            .to_string(),
        instruction: info.optional_text("instruction").map(str::to_string),
    })
}

fn area_of(info: &Element) -> Result<AreaShape, InvalidInput> {
    let areas: Vec<&Element> = info.children("area").collect();
    let circles: Vec<&str> =
        areas.iter().flat_map(|area| area.children("circle")).map(|c| c.text.as_str()).collect();
    let polygons: Vec<&str> =
        areas.iter().flat_map(|area| area.children("polygon")).map(|p| p.text.as_str()).collect();
    match (circles.as_slice(), polygons.is_empty()) {
        ([circle], true) => circle_of(circle),
        ([], false) => {
            let rings = polygons.iter().map(|polygon| ring_of(polygon)).collect::<Result<Vec<_>, _>>()?;
            Ok(match <[Vec<Vec<f64>>; 1]>::try_from(rings) {
                Ok([ring]) => AreaShape::Polygon { coordinates: vec![ring] },
                Err(rings) => AreaShape::MultiPolygon {
                    coordinates: rings.into_iter().map(|ring| vec![ring]).collect(),
                },
            })
        }
        ([], true) => Err(refused("alert/info/area", "a circle or polygons are required")),
        _ => Err(refused("alert/info/area", "one circle, or polygons without circles")),
    }
}

/// `lat,lon radius-in-km`.
fn circle_of(text: &str) -> Result<AreaShape, InvalidInput> {
    let wrong = || refused("alert/info/area/circle", "expected lat,lon and a radius in km");
    let (point, radius) = text.trim().split_once(char::is_whitespace).ok_or_else(wrong)?;
    let [latitude, longitude] = point_of(point).ok_or_else(wrong)?;
    let radius_km: f64 = radius.trim().parse().map_err(|_| wrong())?;
    if !radius_km.is_finite() {
        return Err(wrong());
    }
    Ok(AreaShape::Circle { center: Coordinates { latitude, longitude }, radius_meters: radius_km * 1000.0 })
}

/// `lat,lon lat,lon ...` as a GeoJSON ring (`[lon, lat]` positions).
fn ring_of(text: &str) -> Result<Vec<Vec<f64>>, InvalidInput> {
    text.split_whitespace()
        .map(|pair| point_of(pair).map(|[latitude, longitude]| vec![longitude, latitude]))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| refused("alert/info/area/polygon", "expected lat,lon pairs separated by spaces"))
}

fn point_of(pair: &str) -> Option<[f64; 2]> {
    let (latitude, longitude) = pair.split_once(',')?;
    let (latitude, longitude): (f64, f64) = (latitude.trim().parse().ok()?, longitude.trim().parse().ok()?);
    (latitude.is_finite() && longitude.is_finite()).then_some([latitude, longitude])
}

/// An element of the message: its local name, its namespace (as its `xmlns` said), its text and
/// its children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    namespace: Option<String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn children<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a Element> + use<'a, 'n> {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The trimmed text of the first child `name` that has some.
    fn optional_text(&self, name: &str) -> Option<&str> {
        self.children(name).map(|child| child.text.trim()).find(|text| !text.is_empty())
    }

    fn text_of(&self, name: &str) -> Result<&str, InvalidInput> {
        self.optional_text(name).ok_or_else(|| refused(&format!("{}/{name}", self.name), "is required"))
    }
}

/// Reads the XML into elements: no DOCTYPE, at most [`MAX_DEPTH`] deep and [`MAX_ELEMENTS`] in all.
fn parse(xml: &str) -> Result<Element, InvalidInput> {
    let malformed = |detail: String| refused("alert", format!("not well-formed XML: {detail}"));
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Element> = Vec::new();
    let mut count = 0;
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|error| malformed(error.to_string()))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_none() => {
                count += 1;
                if count > MAX_ELEMENTS || open.len() >= MAX_DEPTH {
                    return Err(refused("alert", "too many or too deeply nested elements"));
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let namespace = start
                    .attributes()
                    .flatten()
                    .find(|attribute| attribute.key.as_ref() == b"xmlns")
                    .map(|attribute| String::from_utf8_lossy(&attribute.value).into_owned());
                let element = Element { name, namespace, ..Element::default() };
                if empty {
                    close(&mut open, &mut root, element);
                } else {
                    open.push(element);
                }
            }
            Event::End(_) => {
                let element = open.pop().ok_or_else(|| malformed("an end without a start".into()))?;
                close(&mut open, &mut root, element);
            }
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|error| malformed(error.to_string()))?;
                if let Some(element) = open.last_mut() {
                    element.text.push_str(&text);
                }
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|error| malformed(error.to_string()))?;
                if let Some(element) = open.last_mut() {
                    element.text.push_str(&text);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved =
                    match reference.resolve_char_ref().map_err(|error| malformed(error.to_string()))? {
                        Some(character) => character.to_string(),
                        None => {
                            let name = reference.decode().map_err(|error| malformed(error.to_string()))?;
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| malformed(format!("unknown entity &{name};")))?
                                .to_string()
                        }
                    };
                if let Some(element) = open.last_mut() {
                    element.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => return Err(refused("alert", "a DOCTYPE is not allowed")),
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                return Err(malformed("content after the root element".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !open.is_empty() {
        return Err(malformed("an element is not closed".into()));
    }
    root.ok_or_else(|| malformed("no root element".into()))
}

/// Puts a finished element into its parent, or makes it the root.
fn close(open: &mut [Element], root: &mut Option<Element>, element: Element) {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(info: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><alert xmlns=\"{NAMESPACE}\"><identifier>x</identifier><sender>gms</sender>\
             <sent>2026-12-07T03:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType>\
             <scope>Public</scope><incidents>GMS-2026-0042</incidents>{info}</alert>"
        )
    }

    const DUTCH: &str = "<info><language>nl-NL</language><category>Security</category><event>Overval</event>\
        <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>\
        <headline>Overval op juwelier</headline><description>Man met rode sjaal &amp; &#233;en tas</description>\
        <contact>0900-8844</contact><area><areaDesc>Centrum</areaDesc><circle>51.92,4.48 1.5</circle></area></info>";

    #[test]
    fn a_control_rooms_alert_becomes_a_draft_request() {
        let request = draft_request(&message(DUTCH), &ChannelOrders::default()).unwrap();
        assert_eq!(
            (request.category, request.purpose, request.urgent),
            (Category::Search, AlertPurpose::Actual, true)
        );
        assert_eq!(request.texts.nl.title, "Overval op juwelier");
        assert_eq!(request.texts.nl.message, "Man met rode sjaal & \u{e9}en tas");
        assert_eq!(request.call_back_number.as_deref(), Some("0900-8844"));
        assert_eq!(request.incident_reference.as_deref(), Some("GMS-2026-0042"));
        assert_eq!(
            request.area,
            AreaShape::Circle {
                center: Coordinates { latitude: 51.92, longitude: 4.48 },
                radius_meters: 1500.0
            }
        );
        assert_eq!(
            request.channels,
            [Channel::Push, Channel::Sms, Channel::Voice],
            "search calls by default"
        );
    }

    #[test]
    fn what_cannot_be_mapped_is_refused_naming_the_element() {
        let refusal = |xml: String| draft_request(&xml, &ChannelOrders::default()).unwrap_err().detail;
        assert!(refusal(message(&DUTCH.replace("Security", "Met"))).starts_with("alert/info/category:"));
        assert!(refusal(message(&DUTCH.replace("nl-NL", "de-DE"))).starts_with("alert/info/language:"));
        assert!(
            refusal(message(&DUTCH.replace("<circle>51.92,4.48 1.5</circle>", "")))
                .starts_with("alert/info/area:")
        );
        assert!(
            refusal(message(&DUTCH.replace("51.92,4.48 1.5", "north")))
                .starts_with("alert/info/area/circle:")
        );
        assert!(
            refusal(message(DUTCH).replace("<msgType>Alert", "<msgType>Update"))
                .starts_with("alert/msgType:")
        );
        assert!(refusal(message(DUTCH).replace("Actual", "Draft")).starts_with("alert/status:"));
        assert!(
            refusal(message(DUTCH).replace(NAMESPACE, "urn:oasis:names:tc:emergency:cap:1.1"))
                .starts_with("alert:")
        );
        let with_doctype =
            message(DUTCH).replace("<?xml version=\"1.0\"?>", "<!DOCTYPE alert [<!ENTITY x \"y\">]>");
        assert!(refusal(with_doctype).contains("DOCTYPE"));
        assert!(refusal("<alert>".into()).contains("not well-formed"));
    }

    #[test]
    fn polygons_become_a_polygon_or_a_multipolygon_in_geojson_order() {
        let two = DUTCH.replace(
            "<circle>51.92,4.48 1.5</circle>",
            "<polygon>51.9,4.4 51.9,4.5 52,4.5 51.9,4.4</polygon><polygon>52.1,4.4 52.1,4.5 52.2,4.5 52.1,4.4</polygon>",
        );
        let request = draft_request(&message(&two), &ChannelOrders::default()).unwrap();
        let AreaShape::MultiPolygon { coordinates } = request.area else { panic!("{:?}", request.area) };
        assert_eq!(coordinates.len(), 2);
        assert_eq!(coordinates[0][0][1], vec![4.5, 51.9]);
    }
}
