//! The API contract: generated from the handlers' annotations, served as `/openapi.json`, rendered
//! as a self-contained reference page at `/docs`, and used to answer 405 with an `Allow` header.

use actix_web::App;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Burgernet API",
        description = "The national Burgernet service: the police control rooms alert participating citizens \
                       in an area and receive their tips; municipalities manage participants.\n\n\
                       Errors are `application/problem+json` (RFC 9457) with a stable `code`. \
                       Staff endpoints take a bearer token from the organisation's identity provider \
                       (`staff_token`); app endpoints take a participant access token (`participant_token`).",
        license(name = "EUPL-1.2")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this contract."),
        (name = "staff", description = "Control-room and municipal staff."),
        (name = "reference data", description = "Police regions and municipalities."),
        (name = "participants", description = "The app's own session."),
        (name = "municipal messages", description = "Burgernetmail: a municipality's newsletters and preventive messages to its own participants, who opt in per kind; and the one-click unsubscribe link they carry."),
        (name = "target groups", description = "Target groups (doelgroepen): per region, named lists of participants, such as a municipality's enforcement officers or a shopping centre's security staff, that an alert can reach wherever they are. Participants join with the group's invitation code; its owner approves them."),
        (name = "partners", description = "Partner systems (road-side displays, AMBER Alert, broadcasters) and their keys to the CAP feed: administrators make and revoke them."),
        (name = "partner feed", description = "What partners read with their key (`X-Partner-Key`): the CAP 1.2 messages of the sent alerts in its regions and categories, as an Atom feed and one by one."),
        (name = "public", description = "Open to anyone, without a token, and cacheable: the public page of a sent real alert (HTML with Open Graph tags, no scripts), the text the app offers to share, and a region's Atom feed of closed alerts with their closing reports. Never anything about participants or tips, no counts, not the drawn area."),
        (name = "scenarios", description = "Scenarios (inzetscenario's): per region, the alerts its control room sends again and again, kept by its region managers as templates with placeholders for the description (`{person.clothing}`, `{vehicle.licence_plate}`, ...). A dispatcher of the region fills in the description and the center to create a draft alert from one."),
        (name = "reports", description = "Figures for steering the programme: participation, distribution, alert results, delivery, costs and the quarterly management report; as JSON, CSV or a printable page."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.bearer_format = Some("JWT".into());
            http.description = Some(description.into());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "staff_token",
            bearer(
                "A token from the organisation's identity provider, with claim `role` (`dispatcher` or \
                 `region_manager` with `region`, `relations_officer` with `municipality`, or `admin`).",
            ),
        );
        components.add_security_scheme(
            "participant_token",
            bearer("A participant access token issued by this API after phone verification."),
        );
        components.add_security_scheme(
            "voice_gateway_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Signature",
                "`sha256=` and the hex HMAC-SHA256, keyed with the voice gateway's webhook secret, of \
                 `X-Signature-Timestamp`, a dot and the raw body.",
            ))),
        );
        components.add_security_scheme(
            "mail_provider_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Signature",
                "`sha256=` and the hex HMAC-SHA256, keyed with the mail provider's webhook secret, of \
                 `X-Signature-Timestamp`, a dot and the raw body.",
            ))),
        );
        components.add_security_scheme(
            "sms_gateway_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Signature",
                "`sha256=` and the hex HMAC-SHA256, keyed with the shared webhook secret, of \
                 `X-Signature-Timestamp`, a dot and the raw body.",
            ))),
        );
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Partner-Key",
                "A partner's key to the CAP feed (`bnp_...`), given by an administrator \
                 (`POST /v1/partner-keys`).",
            ))),
        );
    }
}

/// The whole contract, as the code defines it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    let mut document = document;
    utoipa::Modify::modify(&EventsAsSent, &mut document);
    document
}

/// Describes each Server-Sent Event as a client reads it off the wire. The stream's schema names
/// its events as Rust sees them (`data` an object, `id` a number), but on the wire every field of
/// an event is text: `data` is one line of JSON and `id` a number written out. So each event's
/// `data` becomes a string whose JSON follows the schema it had (`contentMediaType` and
/// `contentSchema`, which validators such as schemathesis check) and `id` a string of digits.
/// utoipa has no `contentSchema`; it goes in as an extension, which is written as it is named.
struct EventsAsSent;

/// The schemas that describe an event stream's events.
const EVENT_SCHEMAS: [&str; 1] = ["AlertStreamEvent"];

impl utoipa::Modify for EventsAsSent {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
        use utoipa::openapi::{RefOr, extensions::Extensions};

        let Some(components) = openapi.components.as_mut() else { return };
        for name in EVENT_SCHEMAS {
            let Some(RefOr::T(Schema::OneOf(events))) = components.schemas.get_mut(name) else {
                panic!("{name} is described as one of its events");
            };
            for event in &mut events.items {
                let RefOr::T(Schema::Object(Object { properties, .. })) = event else { continue };
                if let Some(data) = properties.get_mut("data") {
                    let payload = serde_json::to_value(&*data).expect("a schema serialises");
                    *data = ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type("application/json")
                        .extensions(Some(Extensions::from_iter([("contentSchema", payload)])))
                        .into();
                }
                if let Some(id) = properties.get_mut("id") {
                    *id = ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]+$")).into();
                }
            }
        }
    }
}

/// The contract in the forms the server hands out, computed once at start.
pub struct Contract {
    pub json: String,
    pub reference_html: String,
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl Contract {
    pub fn new() -> Self {
        let document = openapi_document();
        let json = document.to_pretty_json().expect("the contract serialises");
        let value: serde_json::Value = serde_json::from_str(&json).expect("the contract is JSON");
        let routes = value["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| {
                        let segments = path.split('/').map(str::to_string).collect();
                        let methods = item
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reference_html = crate::reference_page::render(&value);
        Self { json, reference_html, routes }
    }

    /// The methods the contract allows on a concrete path (empty when no route matches).
    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<String> = self
            .routes
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
            })
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

impl Default for Contract {
    fn default() -> Self {
        Self::new()
    }
}
