//! Scenarios (inzetscenario's): a region manager of Rotterdam keeps "Overval juwelier" (a search,
//! urgent, by push and SMS, a circle of 1,500 m, texts in Dutch and English with placeholders for
//! the description); a Rotterdam dispatcher lists it, fills in the description and the center, and
//! gets a draft alert with the values in place, which is sent like any draft. Templates are
//! checked when they are saved; every placeholder they use must be filled in; archived scenarios
//! are neither listed nor used; and to staff of another region a scenario does not exist.

use std::time::Duration;

use burgernet_core::providers::sms_text;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

const SCENARIOS: &str = "/v1/regions/rotterdam/scenarios";

pub(crate) fn overval_juwelier() -> Value {
    json!({
        "name": "Overval juwelier",
        "category": "search",
        "urgent": true,
        "channels": ["sms", "push"],
        "radius_meters": 1500,
        "texts": {
            "nl": {
                "title": "Overval juwelier: dader gezocht",
                "message": "Na een overval op een juwelier is een man gevlucht in {person.clothing}, in een {vehicle.colour} {vehicle.kind} met kenteken {vehicle.licence_plate}.",
                "instruction": "Benader hem niet."
            },
            "en": {
                "title": "Jeweller robbed: robber wanted",
                "message": "After a robbery of a jeweller a man fled wearing {person.clothing}, in a {vehicle.colour} {vehicle.kind}, plate {vehicle.licence_plate}."
            }
        }
    })
}

/// What the dispatcher fills in: every field the texts use, and the center.
pub(crate) fn filled_in() -> Value {
    json!({
        "description": {
            "person": {"sex": "male", "clothing": "zwarte jas, rode sjaal"},
            "vehicle": {"kind": "car", "colour": "grijze", "licence_plate": "xx-123-b"}
        },
        "center": {"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1},
        "call_back_number": "0900-8844"
    })
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    app
}

/// Creates the scenario as the region manager of Rotterdam; returns it.
async fn keep(app: &TestApp, body: Value) -> Value {
    let response = app.post_json_as(SCENARIOS, &app.region_manager_token("rotterdam"), &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn alerts_path(scenario: &Value) -> String {
    format!("/v1/scenarios/{}/alerts", scenario["id"].as_str().unwrap())
}

fn scenario_path(scenario: &Value) -> String {
    format!("/v1/scenarios/{}", scenario["id"].as_str().unwrap())
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|scenario| scenario["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_dispatcher_creates_an_alert_from_the_regions_scenario_with_the_description_in_place() {
    let app = app().await;
    let scenario = keep(&app, overval_juwelier()).await;
    assert_eq!(scenario["region"], "rotterdam");
    assert_eq!(scenario["channels"], json!(["push", "sms"]), "kept in the category's order");
    assert_eq!(scenario["radius_meters"], 1500.0);
    assert_eq!(
        scenario["placeholders"],
        json!(["person.clothing", "vehicle.kind", "vehicle.colour", "vehicle.licence_plate"])
    );
    let written = overval_juwelier();
    assert_eq!(scenario["texts"]["nl"], written["texts"]["nl"], "kept as written");
    assert_eq!(scenario["texts"]["en"]["message"], written["texts"]["en"]["message"]);

    let dispatcher = app.dispatcher_token("rotterdam");
    let listed = app.get_json(SCENARIOS, &dispatcher).await;
    assert_eq!(ids(&listed), [scenario["id"].as_str().unwrap()]);
    assert_eq!(listed[0]["name"], "Overval juwelier");

    let alert = app.expect_ok(Method::POST, &alerts_path(&scenario), &dispatcher, filled_in()).await;
    assert_eq!(alert["status"], "draft");
    assert_eq!(
        (&alert["category"], &alert["urgent"], &alert["channels"], &alert["region"]),
        (&json!("search"), &json!(true), &json!(["push", "sms"]), &json!("rotterdam"))
    );
    assert_eq!(
        alert["texts"]["nl"],
        json!({
            "title": "Overval juwelier: dader gezocht",
            "message": "Na een overval op een juwelier is een man gevlucht in zwarte jas, rode sjaal, in een grijze auto met kenteken XX-123-B.",
            "instruction": "Benader hem niet."
        })
    );
    assert_eq!(
        alert["texts"]["en"]["message"],
        "After a robbery of a jeweller a man fled wearing zwarte jas, rode sjaal, in a grijze car, plate XX-123-B."
    );
    assert_eq!(alert["description"]["vehicle"]["licence_plate"], "XX-123-B", "{alert}");
    assert_eq!(alert["call_back_number"], "0900-8844");
    let circle = json!({"type": "circle", "center": {"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1},
                        "radius_meters": 1500.0});
    assert_eq!(alert["areas"][0]["shape"], circle, "the scenario's radius around the center");

    // The dossier says which scenario the alert came from.
    let id = alert["id"].as_str().unwrap();
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let created = dossier["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "created").unwrap();
    assert_eq!(created["body"]["scenario"], json!({"id": scenario["id"], "name": "Overval juwelier"}));

    // The dispatcher may draw the circle larger, as for any alert within its limits.
    let mut wider = filled_in();
    wider["radius_meters"] = json!(3000);
    let alert = app.expect_ok(Method::POST, &alerts_path(&scenario), &dispatcher, wider.clone()).await;
    assert_eq!(alert["areas"][0]["shape"]["radius_meters"], 3000.0);
    wider["radius_meters"] = json!(20);
    let response = app.post_json_as(&alerts_path(&scenario), &dispatcher, &wider).await;
    assert_problem(response, 422, "invalid_radius").await;
}

#[tokio::test]
async fn every_placeholder_the_texts_use_must_be_filled_in() {
    let app = app().await;
    let scenario = keep(&app, overval_juwelier()).await;
    let dispatcher = app.dispatcher_token("rotterdam");

    let mut without_plate = filled_in();
    without_plate["description"]["vehicle"]["licence_plate"] = json!("   ");
    let response = app.post_json_as(&alerts_path(&scenario), &dispatcher, &without_plate).await;
    let problem = assert_problem(response, 422, "missing_placeholder").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("vehicle.licence_plate"), "{detail}");
    assert!(!detail.contains("person.clothing"), "only what is missing: {detail}");

    let mut without_person = filled_in();
    without_person["description"]["person"] = Value::Null;
    let response = app.post_json_as(&alerts_path(&scenario), &dispatcher, &without_person).await;
    let problem = assert_problem(response, 422, "missing_placeholder").await;
    assert!(problem["detail"].as_str().unwrap().contains("person.clothing"), "{problem}");

    // A value that makes a text too long is refused as for any alert.
    let mut briefing = overval_juwelier();
    briefing["name"] = json!("Overval met toelichting");
    briefing["texts"] = json!({"nl": {"title": "Overval: dader gezocht", "message": "Let op: {free_text}"}});
    let briefing = keep(&app, briefing).await;
    let mut long = filled_in();
    long["description"]["free_text"] = json!("Gezien bij de Markthal. ".repeat(60));
    let response = app.post_json_as(&alerts_path(&briefing), &dispatcher, &long).await;
    let problem = assert_problem(response, 422, "invalid_text").await;
    assert!(problem["detail"].as_str().unwrap().contains("texts.nl.message"), "{problem}");

    assert_eq!(app.database_count("SELECT count(*) FROM alerts").await, 0, "nothing was created");
}

#[tokio::test]
async fn templates_are_checked_when_they_are_saved() {
    let app = app().await;
    let manager = app.region_manager_token("rotterdam");
    let refused = |change: fn(&mut Value)| {
        let mut body = overval_juwelier();
        change(&mut body);
        body
    };
    for (body, code, named) in [
        (
            refused(|b| {
                b["texts"]["nl"]["message"] = json!("Man in {person.clothing}, kenteken {vehicle.plate}.")
            }),
            "invalid_template",
            "{vehicle.plate}",
        ),
        (
            refused(|b| b["texts"]["en"]["title"] = json!("Robbery {person.clothing")),
            "invalid_template",
            "texts.en.title",
        ),
        (
            refused(|b| b["texts"]["nl"]["title"] = json!("{vehicle.licence_plate}")),
            "invalid_template",
            "empty",
        ),
        (
            refused(|b| {
                b["texts"]["nl"]["message"] =
                    json!(format!("{} {{vehicle.licence_plate}}", "Let op. ".repeat(60)))
            }),
            "invalid_template",
            "SMS segments",
        ),
        (refused(|b| b["channels"] = json!(["email"])), "invalid_channels", "Urgent"),
        (refused(|b| b["radius_meters"] = json!(50)), "invalid_radius", "100"),
        (refused(|b| b["name"] = json!("  ")), "invalid_scenario_name", "1 to 100"),
    ] {
        let response = app.post_json_as(SCENARIOS, &manager, &body).await;
        let problem = assert_problem(response, 422, code).await;
        assert!(problem["detail"].as_str().unwrap().contains(named), "{problem}");
    }
    let mut with_category_voice = overval_juwelier();
    with_category_voice["category"] = json!("engage");
    with_category_voice["channels"] = json!(["push", "voice"]);
    let response = app.post_json_as(SCENARIOS, &manager, &with_category_voice).await;
    assert_problem(response, 422, "invalid_channels").await;
    assert_eq!(app.get_json(SCENARIOS, &manager).await, json!([]), "nothing was kept");

    // Names are unique in the region, in any case.
    let scenario = keep(&app, overval_juwelier()).await;
    let mut same_name = overval_juwelier();
    same_name["name"] = json!("OVERVAL Juwelier");
    let response = app.post_json_as(SCENARIOS, &manager, &same_name).await;
    assert_problem(response, 409, "scenario_name_taken").await;

    // Replacing is checked the same way, and changes nothing when refused.
    let path = scenario_path(&scenario);
    let mut broken = overval_juwelier();
    broken["texts"]["nl"]["message"] = json!("Man op een {vehicle.brand}.");
    let response = app.send_json_as(Method::PUT, &path, &manager, &broken).await;
    let problem = assert_problem(response, 422, "invalid_template").await;
    assert!(problem["detail"].as_str().unwrap().contains("{vehicle.brand}"), "{problem}");
    let mut replacement = overval_juwelier();
    replacement["name"] = json!("Overval juwelier (centrum)");
    replacement["radius_meters"] = json!(800);
    replacement["texts"]["nl"]["message"] = json!("Dader gevlucht op een {vehicle.kind}.");
    let replaced = app.expect_ok(Method::PUT, &path, &manager, replacement).await;
    assert_eq!(replaced["id"], scenario["id"]);
    assert_eq!(replaced["radius_meters"], 800.0);
    assert_eq!(replaced["texts"]["nl"]["message"], "Dader gevlucht op een {vehicle.kind}.");
    assert_eq!(
        replaced["placeholders"],
        json!(["person.clothing", "vehicle.kind", "vehicle.colour", "vehicle.licence_plate"]),
        "the English text still uses them all"
    );
    let listed = app.get_json(SCENARIOS, &manager).await;
    assert_eq!(
        (listed.as_array().unwrap().len(), &listed[0]["name"]),
        (1, &json!("Overval juwelier (centrum)"))
    );
}

#[tokio::test]
async fn scenarios_of_one_region_are_invisible_to_another() {
    let app = app().await;
    let scenario = keep(&app, overval_juwelier()).await;
    let amsterdam_dispatcher = app.dispatcher_token("amsterdam");
    let amsterdam_manager = app.region_manager_token("amsterdam");
    let unknown = format!("/v1/scenarios/{}", uuid::Uuid::new_v4());

    // Amsterdam's staff cannot list Rotterdam's scenarios, and their own list is empty.
    for token in [&amsterdam_dispatcher, &amsterdam_manager] {
        assert_problem(app.get_as(SCENARIOS, token).await, 403, "out_of_scope").await;
        assert_eq!(app.get_json("/v1/regions/amsterdam/scenarios", token).await, json!([]));
    }
    // To them the scenario does not exist: the same answer as for an id nobody has.
    let mut answers = Vec::new();
    for path in [scenario_path(&scenario), unknown.clone()] {
        let response = app.post_json_as(&format!("{path}/alerts"), &amsterdam_dispatcher, &filled_in()).await;
        answers.push(assert_problem(response, 404, "scenario_not_found").await["detail"].clone());
        let response = app.send_json_as(Method::PUT, &path, &amsterdam_manager, &overval_juwelier()).await;
        answers.push(assert_problem(response, 404, "scenario_not_found").await["detail"].clone());
        assert_problem(app.delete_as(&path, &amsterdam_manager).await, 404, "scenario_not_found").await;
    }
    assert_eq!(answers[..2], answers[2..], "a scenario of another region and none at all look alike");
    let response = app.post_json_as(SCENARIOS, &amsterdam_manager, &overval_juwelier()).await;
    assert_problem(response, 403, "out_of_scope").await;

    // An administrator keeps Amsterdam's own scenario; Rotterdam's dispatcher neither sees nor
    // uses it.
    let admin = app.admin_token();
    let amsterdams = app.post_json_as("/v1/regions/amsterdam/scenarios", &admin, &overval_juwelier()).await;
    assert_eq!(amsterdams.status(), 201, "the same name in another region");
    let amsterdams: Value = amsterdams.json().await.unwrap();
    let rotterdam_dispatcher = app.dispatcher_token("rotterdam");
    assert_eq!(
        ids(&app.get_json(SCENARIOS, &rotterdam_dispatcher).await),
        [scenario["id"].as_str().unwrap()]
    );
    let response = app.post_json_as(&alerts_path(&amsterdams), &rotterdam_dispatcher, &filled_in()).await;
    assert_problem(response, 404, "scenario_not_found").await;
    // Amsterdam's dispatcher uses it, at a center in Amsterdam.
    let mut in_amsterdam = filled_in();
    in_amsterdam["center"] = json!({"latitude": AMSTERDAM.0, "longitude": AMSTERDAM.1});
    let alert =
        app.expect_ok(Method::POST, &alerts_path(&amsterdams), &amsterdam_dispatcher, in_amsterdam).await;
    assert_eq!(alert["region"], "amsterdam");

    // Rotterdam's scenario is as it was, and nobody made an alert of it.
    let listed = app.get_json(SCENARIOS, &admin).await;
    assert_eq!(listed[0]["texts"], scenario["texts"]);
    assert_eq!(listed[0]["updated_at"], scenario["updated_at"]);
    assert_eq!(app.database_count("SELECT count(*) FROM alerts").await, 1);
}

#[tokio::test]
async fn archived_scenarios_are_not_listed_and_cannot_be_used() {
    let app = app().await;
    let scenario = keep(&app, overval_juwelier()).await;
    let manager = app.region_manager_token("rotterdam");
    let dispatcher = app.dispatcher_token("rotterdam");
    let path = scenario_path(&scenario);

    assert_eq!(app.delete_as(&path, &manager).await.status(), 204);
    assert_eq!(app.get_json(SCENARIOS, &dispatcher).await, json!([]));
    let response = app.post_json_as(&alerts_path(&scenario), &dispatcher, &filled_in()).await;
    assert_problem(response, 409, "scenario_archived").await;
    let response = app.send_json_as(Method::PUT, &path, &manager, &overval_juwelier()).await;
    assert_problem(response, 409, "scenario_archived").await;
    assert_eq!(app.delete_as(&path, &manager).await.status(), 204, "archiving again changes nothing");

    // Its name is free again.
    let successor = keep(&app, overval_juwelier()).await;
    assert_ne!(successor["id"], scenario["id"]);
    assert_eq!(ids(&app.get_json(SCENARIOS, &dispatcher).await), [successor["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn an_alert_from_a_scenario_is_sent_like_any_other_and_its_sms_fits() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    // At home in the circle, without the app: the alert comes by SMS.
    let phone = "+31650900001";
    app.participant(phone, Profile::default()).await;
    let scenario = keep(&app, overval_juwelier()).await;
    let dispatcher = app.dispatcher_token("rotterdam");

    // A long description: the SMS is shortened to three segments and keeps the call-back line.
    let mut long = filled_in();
    long["description"]["person"]["clothing"] = json!(
        "lange donkere regenjas met capuchon, blauwe spijkerbroek, witte sportschoenen, een zwarte \
         rugzak met een rood logo, een grijze sjaal en daaronder een groen trainingsjack"
    );
    long["description"]["vehicle"]["colour"] = json!(
        "donkergrijze metallic, met een witte streep over de motorkap, een gedeukte achterbumper, een \
         zwart dak met een fietsenrek erop en een kapotte linker achterlamp,"
    );
    let alert = app.expect_ok(Method::POST, &alerts_path(&scenario), &dispatcher, long).await;
    let id = alert["id"].as_str().unwrap();
    let response = app.post_json_as(&format!("/v1/alerts/{id}/send"), &dispatcher, &json!({})).await;
    assert_eq!(response.status(), 202);
    let counters = app.wait_until_delivered(&dispatcher, id).await;
    assert_eq!(counters["recipients"], 1, "{counters}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sms = loop {
        let found = app.sms.sent().into_iter().find(|sms| sms.to == phone && sms.body.contains("Overval"));
        if let Some(sms) = found {
            break sms.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no alert SMS: {:?}", app.sms.sent());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(sms.starts_with("Burgernet: Overval juwelier: dader gezocht. Na een overval"), "{sms}");
    assert!(sms.contains("lange donkere regenjas"), "the value is in place: {sms}");
    assert!(sms.ends_with("... Gezien? Bel 0900-8844."), "{sms}");
    assert!(sms_text::prepare(&sms).segments <= 3, "{sms}");
}
