//! CAP 1.2 out: every message of a sent alert (the alert, an expansion, an update, the closing)
//! as an OASIS Common Alerting Protocol 1.2 message at `GET /v1/alerts/{id}/cap` (the latest) and
//! `GET /v1/alerts/{id}/messages/{message_id}/cap`, each valid against the official CAP 1.2
//! schema (`tests/data/cap/CAP-v1.2.xsd`, checked with `xmllint`), each after the first naming
//! the earlier ones in `references`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
use crate::helpers::cap::{assert_valid_cap, one, texts};
use crate::helpers::{TestApp, assert_problem};

/// The CAP message at `path`, checked to be CAP 1.2 as the schema says.
async fn cap(app: &TestApp, path: &str, token: &str) -> String {
    let response = app.get_as(path, token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/cap+xml");
    let xml = response.text().await.unwrap();
    assert_valid_cap(&xml);
    xml
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    app
}

#[tokio::test]
async fn each_message_of_an_alert_is_a_valid_cap_message_referring_to_the_ones_before() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["texts"]["nl"]["message"] = json!("Man, 25-35 jaar, rode sjaal & zwarte jas <met capuchon>.");
    let draft = app.create_alert(&dispatcher, body).await;
    let id = draft["id"].as_str().unwrap().to_string();
    let response = app.get_as(&format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_problem(response, 409, "alert_not_sent").await;

    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/send"), &dispatcher, json!({})).await;
    let alert = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert!(alert.contains("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"), "{alert}");
    let sent_alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    let first = sent_alert["messages"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(one(&alert, "identifier"), first);
    assert_eq!(one(&alert, "sender"), "burgernet.test");
    assert!(one(&alert, "sent").ends_with("-00:00"), "UTC is written -00:00 in CAP");
    assert_eq!(
        (one(&alert, "status"), one(&alert, "msgType"), one(&alert, "scope")),
        ("Actual", "Alert", "Public")
    );
    assert!(texts(&alert, "references").is_empty());
    // One info per language, with the texts escaped as XML.
    assert_eq!(texts(&alert, "language"), ["nl-NL", "en-GB"]);
    assert_eq!(texts(&alert, "category"), ["Security", "Security"]);
    assert_eq!(texts(&alert, "event"), ["Burgernet zoekactie", "Burgernet search"]);
    assert_eq!(texts(&alert, "urgency"), ["Immediate", "Immediate"]);
    assert_eq!(texts(&alert, "severity"), ["Severe", "Severe"]);
    assert_eq!(texts(&alert, "certainty"), ["Observed", "Observed"]);
    assert_eq!(
        texts(&alert, "headline"),
        ["Gezocht: man op witte scooter", "Wanted: man on a white scooter"]
    );
    assert_eq!(
        texts(&alert, "description")[0],
        "Man, 25-35 jaar, rode sjaal &amp; zwarte jas &lt;met capuchon&gt;."
    );
    assert_eq!(texts(&alert, "instruction"), ["Benader hem niet; bel 112.", "Do not approach; call 112."]);
    assert_eq!(texts(&alert, "contact"), ["0900-8844", "0900-8844"]);
    // The circle as drawn: CAP's `lat,lon radius-in-km`.
    assert_eq!(texts(&alert, "circle"), ["51.9225,4.4792 2", "51.9225,4.4792 2"]);
    assert!(texts(&alert, "polygon").is_empty());

    // An expansion by a polygon: an Update, its area the circle and the polygon's ring in lat,lon.
    let square = json!({"type": "Polygon", "coordinates": [[[4.47, 51.92], [4.50, 51.92], [4.50, 51.94],
                                                             [4.47, 51.94], [4.47, 51.92]]]});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/expansions"), &dispatcher, json!({"area": square}))
        .await;
    let expansion = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&expansion, "msgType"), "Update");
    assert_eq!(texts(&expansion, "polygon")[0], "51.92,4.47 51.92,4.5 51.94,4.5 51.94,4.47 51.92,4.47");
    assert_eq!(texts(&expansion, "circle").len(), 2, "the first area stays");
    let references = one(&expansion, "references").to_string();
    assert!(references.starts_with(&format!("burgernet.test,{first},")), "{references}");

    let update = json!({"texts": {"nl": {"message": "Laatst gezien bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    let updated = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&updated, "msgType"), "Update");
    assert_eq!(texts(&updated, "headline")[0], "Update: Gezocht: man op witte scooter");
    assert_eq!(
        texts(&updated, "description"),
        ["Laatst gezien bij het station.", "Laatst gezien bij het station."]
    );
    assert_eq!(one(&updated, "references").split(' ').count(), 2);

    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Hij is aangehouden. Dank!"},
                                                             "en": {"message": "He was arrested. Thank you!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let closed = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&closed, "msgType"), "Update");
    assert_eq!(texts(&closed, "responseType"), ["AllClear", "AllClear"]);
    assert_eq!(texts(&closed, "urgency"), ["Past", "Past"]);
    assert_eq!(texts(&closed, "headline")[1], "Ended: Wanted: man on a white scooter");
    assert!(texts(&closed, "instruction").is_empty(), "nothing to do any more");
    let earlier: Vec<&str> = one(&closed, "references").split(' ').collect();
    assert_eq!(earlier.len(), 3, "the alert, the expansion and the update");

    // Each message keeps its own CAP form.
    let again = cap(&app, &format!("/v1/alerts/{id}/messages/{first}/cap"), &dispatcher).await;
    assert_eq!(again, alert);
    let unknown = format!("/v1/alerts/{id}/messages/{}/cap", uuid::Uuid::new_v4());
    assert_problem(app.get_as(&unknown, &dispatcher).await, 404, "not_found").await;
    // Reading it is an export on the record.
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let exports =
        dossier["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "cap_exported").count();
    assert_eq!(exports, 1, "once per quarter hour per person");
}

#[tokio::test]
async fn an_exercise_says_so_and_a_cancelled_alert_is_a_cap_cancel() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut body: Value = alert_body(circle(ROTTERDAM, 1_000.0));
    body["purpose"] = json!("exercise");
    body["category"] = json!("inform");
    body["urgent"] = json!(false);
    body["texts"]["en"] = Value::Null;
    let id = app.send_new_alert(&dispatcher, body).await;
    let exercise = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&exercise, "status"), "Exercise");
    assert_eq!(one(&exercise, "language"), "nl-NL", "no English written, no English info");
    assert_eq!(
        (one(&exercise, "category"), one(&exercise, "urgency"), one(&exercise, "certainty")),
        ("Safety", "Expected", "Likely")
    );
    let closing = json!({"outcome": "cancelled", "texts": {"nl": {"message": "Vergissing: deze oefening gaat niet door."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let cancel = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&cancel, "msgType"), "Cancel");
    assert_eq!(one(&cancel, "status"), "Exercise");
}

/// Posts `xml` as a CAP message to make a draft.
async fn post_cap(app: &TestApp, token: Option<&str>, xml: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/v1/alerts/cap"))
        .header("Content-Type", "application/cap+xml")
        .body(xml.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_cap_message_of_ours_read_back_makes_the_same_alert_as_a_draft() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut body = alert_body(circle(ROTTERDAM, 1_500.0));
    body["incident_reference"] = json!("GMS-2026-004711");
    body["channels"] = json!(["push", "sms", "voice"]);
    let id = app.send_new_alert(&dispatcher, body).await;
    let original = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(original["incident_reference"], "GMS-2026-004711");
    let xml = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    assert_eq!(one(&xml, "incidents"), "GMS-2026-004711");

    let response = post_cap(&app, Some(&dispatcher), &xml).await;
    assert_eq!(response.status(), 201);
    let draft: Value = response.json().await.unwrap();
    assert_eq!(draft["status"], "draft", "never sent without a dispatcher");
    assert_ne!(draft["id"], original["id"]);
    for field in
        ["category", "purpose", "urgent", "channels", "texts", "call_back_number", "incident_reference"]
    {
        assert_eq!(draft[field], original[field], "{field}");
    }
    assert_eq!(draft["areas"][0]["shape"], original["areas"][0]["shape"], "the same circle");
    // The dossier keeps the incident reference from the start.
    let draft_id = draft["id"].as_str().unwrap();
    let dossier = app.get_json(&format!("/v1/alerts/{draft_id}/dossier"), &dispatcher).await;
    assert_eq!(dossier["entries"][0]["kind"], "created");
    assert_eq!(dossier["entries"][0]["body"]["incident_reference"], "GMS-2026-004711");
}

#[tokio::test]
async fn what_a_cap_message_says_that_we_cannot_map_is_refused_naming_the_element() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_500.0))).await;
    let ours = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    // A message from another system: CAP's own categories, no parameter of ours.
    let theirs = ours
        .replace("<valueName>burgernet:category</valueName>", "<valueName>gms:code</valueName>")
        .replace("<category>Security</category>", "<category>Met</category>");
    let problem = assert_problem(post_cap(&app, Some(&dispatcher), &theirs).await, 422, "invalid_cap").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("alert/info/category:"), "{problem}");
    let update = ours.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>");
    let problem = assert_problem(post_cap(&app, Some(&dispatcher), &update).await, 422, "invalid_cap").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("alert/msgType:"), "{problem}");
    let bomb = format!(
        "<!DOCTYPE alert [<!ENTITY a \"aaaaaaaaaa\">]>{}",
        ours.replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "")
    );
    assert_problem(post_cap(&app, Some(&dispatcher), &bomb).await, 422, "invalid_cap").await;
    assert_problem(post_cap(&app, Some(&dispatcher), "not xml at all").await, 422, "invalid_cap").await;
    let as_json = app.post_json_as("/v1/alerts/cap", &dispatcher, &json!({"alert": "x"})).await;
    assert_problem(as_json, 415, "unsupported_media_type").await;
    // Mapped, but against our own rules: the circle is outside Amsterdam's region.
    let amsterdam = app.dispatcher_token("amsterdam");
    assert_problem(post_cap(&app, Some(&amsterdam), &ours).await, 422, "area_outside_region").await;
    // Nothing of it was kept.
    let drafts = app.get_json("/v1/alerts?status=draft", &dispatcher).await;
    assert_eq!(drafts, json!([]));
}

#[tokio::test]
async fn only_dispatchers_make_drafts_from_cap() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_500.0))).await;
    let xml = cap(&app, &format!("/v1/alerts/{id}/cap"), &dispatcher).await;
    let participant = app.sign_up("+31612340001").await;
    assert_problem(post_cap(&app, None, &xml).await, 401, "unauthenticated").await;
    assert_problem(post_cap(&app, Some(&participant.access_token), &xml).await, 403, "staff_only").await;
    for other in
        [app.relations_officer_token("GM0599"), app.admin_token(), app.region_manager_token("rotterdam")]
    {
        assert_problem(post_cap(&app, Some(&other), &xml).await, 403, "role_required").await;
    }
    assert_eq!(post_cap(&app, Some(&dispatcher), &xml).await.status(), 201);
}
