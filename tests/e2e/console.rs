//! The console in a real browser (headless Chromium through ChromeDriver) against the real server,
//! database and workers: what a dispatcher and a relations officer do, as they do it, including
//! signing in through the local identity provider's page. Screenshots of the main screens go to
//! `target/console-screenshots/`.

use std::io::Cursor;

use burgernet_core::alerts::content::AlertTexts;
use burgernet_core::alerts::delivery::render::{MAX_SMS_SEGMENTS, render};
use burgernet_core::providers::sms_text;
use burgernet_core::vocabulary::Language;
use burgernet_core::vocabulary::alerts::{AlertPurpose, MessageKind};
use image::{ImageFormat, RgbImage};
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM, alert_body, circle};
use crate::helpers::browser::Browser;
use crate::helpers::population::POPULATION_CENTRE;
use crate::helpers::videos::two_second_video;
use crate::helpers::{SignedIn, TestApp, TestAppOptions};

const POPULATION: u32 = 40;

async fn console_app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions {
        local_identity: true,
        workers: true,
        ..TestAppOptions::default()
    })
    .await;
    app.load_reference_data().await;
    app
}

/// Who signs in on the local identity provider's page.
enum Staff<'a> {
    Dispatcher(&'a str),
    RelationsOfficer(&'a str),
}

/// Opens the console and signs in through the identity provider's page, as a person would.
async fn sign_in(browser: &Browser, app: &TestApp, staff: Staff<'_>) {
    browser.goto(&app.url("/console/")).await;
    sign_in_on_the_page(browser, staff, None).await;
}

/// Fills in the identity provider's page the console sent the browser to; `session` is one of the
/// page's session lengths (`1m`, ...), else its default.
async fn sign_in_on_the_page(browser: &Browser, staff: Staff<'_>, session: Option<&str>) {
    browser.find("form[action='authorize']").await;
    if let Some(session) = session {
        browser.select("select[name='session']", session).await;
    }
    match staff {
        Staff::Dispatcher(region) => {
            browser.select("select[name='role']", "dispatcher").await;
            browser.select("select[name='region']", region).await;
        }
        Staff::RelationsOfficer(municipality) => {
            browser.select("select[name='role']", "relations_officer").await;
            browser.select("select[name='municipality']", municipality).await;
        }
    }
    browser.click_on("form[action='authorize'] button[type='submit']").await;
    // Back in the console, signed in: the header names the role.
    browser.find("header.top .who").await;
}

pub(crate) fn jpeg_photo() -> Vec<u8> {
    let image = RgbImage::from_fn(800, 600, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 120]));
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}

/// A 2-second 640x480 H.264 video with a position in its metadata, made by ffmpeg.
fn phone_video() -> Vec<u8> {
    two_second_video(&["location=+51.9225+004.4792/"])
}

/// A tip with files, sent through the participant API as the app sends it.
pub(crate) async fn send_tip(
    app: &TestApp,
    witness: &SignedIn,
    alert: &str,
    text: &str,
    files: &[(&str, Vec<u8>)],
) {
    let tip = app
        .expect_ok(
            Method::POST,
            &format!("/v1/me/alerts/{alert}/tips"),
            &witness.access_token,
            json!({
                "text": text,
                "may_call_back": true,
                "location": {"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 12.0},
            }),
        )
        .await;
    let media_path = format!("/v1/me/alerts/{alert}/tips/{}/media", tip["id"].as_str().unwrap());
    for (content_type, bytes) in files {
        let declaration = json!({"content_type": content_type, "size_bytes": bytes.len(), "sha256": burgernet_core::hex(&Sha256::digest(bytes))});
        let declared = app.expect_ok(Method::POST, &media_path, &witness.access_token, declaration).await;
        let request = &declared["upload"]["request"];
        let method = Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut upload = app.client.request(method, request["url"].as_str().unwrap()).body(bytes.clone());
        for (name, value) in request["headers"].as_object().unwrap() {
            if !name.eq_ignore_ascii_case("content-length") {
                upload = upload.header(name, value.as_str().unwrap());
            }
        }
        assert!(upload.send().await.unwrap().status().is_success());
        let media = declared["media"]["id"].as_str().unwrap();
        app.expect_ok(
            Method::POST,
            &format!("{media_path}/{media}/completion"),
            &witness.access_token,
            json!({}),
        )
        .await;
    }
}

/// Types a circle into the area panel, as a dispatcher without a mouse would, and submits it.
async fn type_circle(browser: &Browser, (latitude, longitude): (f64, f64), radius_meters: &str) {
    browser.click_on("details summary").await;
    browser.fill("#circle-latitude", &latitude.to_string()).await;
    browser.fill("#circle-longitude", &longitude.to_string()).await;
    browser.fill("#circle-radius", radius_meters).await;
    browser.click_on(".area-panel form button[type='submit']").await;
}

/// The number in a counters cell.
async fn counter(browser: &Browser, channel: &str, row: &str) -> i64 {
    let text =
        browser.text_of(&format!("#counters td[data-channel='{channel}'][data-counter='{row}']")).await;
    text.trim().parse().unwrap_or(-1)
}

#[tokio::test]
async fn a_dispatcher_draws_an_area_sees_the_reach_sends_and_follows_the_alert_to_its_close() {
    let app = console_app().await;
    let population = app.seed_population(POPULATION, 50).await;
    let witness = app.participant("+31610000091", Profile::default()).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::Dispatcher("rotterdam")).await;

    // The first screen: the region's map and an empty alert.
    browser.find("#compose-heading").await;
    browser
        .wait_until(
            "the region's boundaries on the map",
            "return document.querySelectorAll('.leaflet-overlay-pane path').length > 3;",
            vec![],
        )
        .await;
    let density_cells = browser
        .eval(
            "return document.querySelectorAll('.leaflet-overlay-pane path[fill=\"#e37400\"]').length;",
            vec![],
        )
        .await;
    assert!(density_cells.as_i64().unwrap() >= 1, "the population's squares are shaded");
    let first_screen = browser
        .eval("return performance.getEntriesByName('console-ready')[0]?.startTime ?? -1;", vec![])
        .await;
    println!("console first_screen_ms={first_screen}");
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility: {violations:#?}");

    // A circle entered with the keyboard brings the map to the neighbourhood; a polygon drawn with
    // the mouse around the population then replaces it.
    type_circle(&browser, POPULATION_CENTRE, "1800").await;
    browser.wait_for_text("#area-summary", |text| text.contains("1800")).await;
    browser.click_on("#draw-polygon").await;
    let size = browser
        .eval(
            "const r = document.querySelector('.map').getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        )
        .await;
    let (width, height) = (size[0].as_f64().unwrap() as i64, size[1].as_f64().unwrap() as i64);
    let (cx, cy, dx, dy) = (width / 2, height / 2, width * 3 / 10, height * 4 / 10);
    for (x, y) in
        [(cx - dx, cy - dy), (cx + dx, cy - dy), (cx + dx, cy + dy), (cx - dx, cy + dy), (cx - dx, cy - dy)]
    {
        browser.click_at(".map", x, y).await;
    }
    browser.wait_for_text("#area-summary", |text| text.contains("4")).await;

    // The reach follows the drawing: every seeded participant and the witness live inside.
    let everyone = (POPULATION + 1).to_string();
    browser.wait_for_text("#reach tr[data-reach='participants'] td", |text| text == everyone).await;
    browser.save_screenshot("dispatcher-reach").await;

    // While the dispatcher reshapes the area the reach keeps up; the browser's own timing of each
    // preview gives its p95 (printed; a timed assertion would only measure the machine's load).
    for radius in (2_000..=3_100).step_by(100) {
        browser.fill("#circle-radius", &radius.to_string()).await;
        browser.click_on(".area-panel form button[type='submit']").await;
        browser.wait_for_text("#area-summary", |text| text.contains(&radius.to_string())).await;
        browser
            .wait_until("the reach to settle", "return !document.querySelector('#reach .pending');", vec![])
            .await;
    }
    let mut reach_ms = browser.request_durations("/v1/alerts/reach-preview").await;
    reach_ms.sort_by(f64::total_cmp);
    let p95 = reach_ms[(reach_ms.len() * 95).div_ceil(100) - 1];
    println!("console reach_previews={} reach_p95_ms={p95:.0}", reach_ms.len());
    // A polygon again, drawn around the population at the map's new scale, for the alert itself.
    browser.click_on("#draw-polygon").await;
    for (x, y) in
        [(cx - dx, cy - dy), (cx + dx, cy - dy), (cx + dx, cy + dy), (cx - dx, cy + dy), (cx - dx, cy - dy)]
    {
        browser.click_at(".map", x, y).await;
    }
    browser.wait_for_text("#area-summary", |text| text.contains("4")).await;
    browser.wait_for_text("#reach tr[data-reach='participants'] td", |text| text == everyone).await;
    // Reshaped with the mouse: a corner dragged outwards in the map's edit mode asks for the
    // reach again.
    let previews_before = browser.request_durations("/v1/alerts/reach-preview").await.len();
    browser.click_on("a.leaflet-buttons-control-button:has(.leaflet-pm-icon-edit)").await;
    browser.drag(".leaflet-marker-pane .marker-icon:not(.marker-icon-middle)", -25, -25).await;
    browser.click_on("a.leaflet-buttons-control-button:has(.leaflet-pm-icon-edit)").await;
    browser
        .wait_until(
            "a new reach for the reshaped area",
            "return performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/alerts/reach-preview')).length > arguments[0];",
            vec![json!(previews_before)],
        )
        .await;
    browser.wait_for_text("#reach tr[data-reach='participants'] td", |text| text == everyone).await;

    // The texts; the SMS counter counts as the server's renderer does.
    browser.fill("#nl-title", "Vermist: jongen van 8").await;
    browser
        .fill(
            "#nl-message",
            "Jongen, 8 jaar, blauwe jas, rode pet. Laatst gezien bij het Centraal Station – richting Weena…",
        )
        .await;
    browser.fill("#nl-instruction", "Zie je hem? Blijf bij hem en bel 112.").await;
    browser.fill("#call-back-number", "0900-8844").await;
    // The description and the English text.
    browser.click_on("#person-details summary").await;
    browser.select("#description-person-sex", "male").await;
    browser.fill("#description-person-age_min", "7").await;
    browser.fill("#description-person-age_max", "9").await;
    browser.fill("#description-person-clothing", "blauwe jas, rode pet").await;
    browser.click_on("#vehicle-details summary").await;
    browser.select("#description-vehicle-kind", "bicycle").await;
    browser.fill("#description-vehicle-colour", "groen").await;
    browser.click_on("#english-texts summary").await;
    browser.fill("#en-title", "Missing: boy aged 8").await;
    browser.fill("#en-message", "Boy, 8, blue coat, red cap. Last seen at Rotterdam Central.").await;
    browser.wait_for_text("#sms-counter-en", |text| text.starts_with("EN")).await;
    let texts: AlertTexts = serde_json::from_value(json!({"nl": {
        "title": "Vermist: jongen van 8",
        "message": "Jongen, 8 jaar, blauwe jas, rode pet. Laatst gezien bij het Centraal Station – richting Weena…",
        "instruction": "Zie je hem? Blijf bij hem en bel 112."}}))
    .unwrap();
    let rendered =
        render(MessageKind::Alert, AlertPurpose::Actual, &texts, None, Some("0900-8844"), Language::Dutch);
    let server_sms = sms_text::prepare(&rendered.sms);
    assert!(server_sms.segments <= MAX_SMS_SEGMENTS);
    let counted = browser
        .eval("const p = document.querySelector('#sms-counter-nl'); return [p.dataset.segments, p.dataset.encoding, p.dataset.units];", vec![])
        .await;
    assert_eq!(counted[0], server_sms.segments.to_string(), "segments as the server counts them");
    assert_eq!(counted[1], "gsm7", "the dash and ellipsis have GSM-7 forms, as on the server");
    assert_eq!(browser.text_of(".notification .push-title").await, rendered.push_title);
    browser.save_screenshot("dispatcher-compose").await;

    // Send: the confirmation repeats the reach.
    browser.click_on("#send-alert").await;
    let confirmation = browser.wait_for_text("#confirm-send p", |text| text.contains(&everyone)).await;
    assert!(confirmation.contains(&everyone), "{confirmation}");
    browser.click_on("#confirm-send-button").await;
    browser
        .wait_until("the live view of the alert", "return location.hash.startsWith('#/alerts/');", vec![])
        .await;
    let alert =
        browser.eval("return location.hash.split('/')[2];", vec![]).await.as_str().unwrap().to_string();

    // The counters reach the number of recipients, from the event stream.
    browser.wait_for_text("#recipients-count", |text| text == everyone).await;
    let devices = (population.android_tokens.len() + population.ios_tokens.len()) as i64;
    let sms_only = population.sms_only_phones.len() as i64 + 1;
    for _ in 0..300 {
        if counter(&browser, "push", "sent").await == devices
            && counter(&browser, "sms", "sent").await == sms_only
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(counter(&browser, "push", "sent").await, devices, "a push to every device");
    assert_eq!(counter(&browser, "sms", "sent").await, sms_only, "an SMS to everyone without a device");
    browser.wait_for_text("#since-send", |text| !text.is_empty()).await;
    let sent = app.get_json(&format!("/v1/alerts/{alert}"), &app.dispatcher_token("rotterdam")).await;
    let person = &sent["description"]["person"];
    assert_eq!(
        (&person["sex"], &person["age_min"], &person["age_max"]),
        (&json!("male"), &json!(7), &json!(9))
    );
    assert_eq!(person["clothing"], "blauwe jas, rode pet");
    let vehicle = &sent["description"]["vehicle"];
    assert_eq!((&vehicle["kind"], &vehicle["colour"]), (&json!("bicycle"), &json!("groen")));
    assert_eq!(sent["texts"]["en"]["title"], "Missing: boy aged 8");
    assert_eq!(sent["call_back_number"], "0900-8844");

    // A tip with a photo arrives live; the viewer shows the display image.
    send_tip(
        &app,
        &witness,
        &alert,
        "Ik zie hem bij de fontein op het Stationsplein.",
        &[("image/jpeg", jpeg_photo())],
    )
    .await;
    browser.wait_for_text("#tips .tip-text", |text| text.contains("fontein")).await;
    browser
        .wait_until("the tip's position on the map", "return document.querySelectorAll('.leaflet-overlay-pane path[stroke=\"#1e8e3e\"]').length === 1;", vec![])
        .await;
    browser.click_on("#tips .thumbnail").await;
    browser
        .wait_until("the display image", "const i = document.querySelector('#display-image'); return !!i && i.complete && i.naturalWidth > 0;", vec![])
        .await;
    browser.save_screenshot("dispatcher-tip-viewer").await;
    browser.click_on("#media-viewer .buttons button").await;

    // Expand with a second polygon east of the first; the preview counts only new participants.
    browser.click_on("#action-expand").await;
    browser.click_on("#expand-draw-polygon").await;
    for (x, y) in [
        (cx + dx + 60, cy - 40),
        (width - 30, cy - 40),
        (width - 30, cy + 40),
        (cx + dx + 60, cy + 40),
        (cx + dx + 60, cy - 40),
    ] {
        browser.click_at(".map", x, y).await;
    }
    browser
        .wait_for_text("#expansion-reach tr[data-reach='participants'] td", |text| text.starts_with('<'))
        .await;
    browser.click_on("#expand-form button[type='submit']").await;
    browser.wait_for_text("#timeline", |text| text.contains("expanded")).await;

    // An update, then closing with an outcome and a closing message.
    browser.click_on("#action-update").await;
    browser.fill("#update-nl", "Hij is gezien op de Coolsingel, richting Beurs.").await;
    browser.click_on("#update-form button[type='submit']").await;
    browser.wait_for_text("#timeline", |text| text.contains("updated")).await;
    browser.save_screenshot("dispatcher-alert-live").await;
    browser.click_on("#action-close").await;
    browser.select("#close-outcome", "hard_success").await;
    browser.fill("#close-nl", "De jongen is gevonden. Dank voor het uitkijken!").await;
    browser.click_on("#close-form button[type='submit']").await;
    browser.wait_for_text(".status", |text| text == "Afgesloten").await;

    // Nothing the page loaded came from anywhere but this server.
    let origins = browser.eval("return [...new Set(performance.getEntriesByType('resource').map((e) => new URL(e.name).origin))];", vec![]).await;
    assert_eq!(origins, json!([app.url("")]), "the console loads nothing from elsewhere");
    let closed = app.get_json(&format!("/v1/alerts/{alert}"), &app.dispatcher_token("rotterdam")).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["outcome"], "hard_success");
    assert_eq!(closed["areas"].as_array().unwrap().len(), 2, "the expansion is the second wave");
}

#[tokio::test]
async fn another_regions_dispatcher_does_not_see_the_alert_and_an_area_outside_the_region_is_refused() {
    let app = console_app().await;
    app.seed_population(10, 0).await;
    let alert =
        app.send_new_alert(&app.dispatcher_token("rotterdam"), alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::Dispatcher("amsterdam")).await;
    browser.find("#compose-heading").await;

    // An area in Rotterdam is outside Amsterdam's region: the server's refusal, in words, with its code.
    type_circle(&browser, ROTTERDAM, "1000").await;
    let refusal = browser.wait_for_text("#reach .error", |text| !text.is_empty()).await;
    assert!(refusal.contains("buiten jouw eenheid"), "{refusal}");
    assert!(refusal.contains("area_outside_region"), "the code for support: {refusal}");
    // In their own region the reach is shown.
    browser.fill("#circle-latitude", &AMSTERDAM.0.to_string()).await;
    browser.fill("#circle-longitude", &AMSTERDAM.1.to_string()).await;
    browser.click_on(".area-panel form button[type='submit']").await;
    browser.wait_for_text("#reach tr[data-reach='participants'] td", |text| text == "< 5").await;

    // The alerts list holds no alert of Rotterdam, and opening it by its address shows nothing of it.
    browser.goto(&app.url("/console/#/alerts")).await;
    sign_in_again_if_asked(&browser).await;
    browser.find("#status-filter").await;
    assert!(browser.find_now(&format!("[data-alert='{alert}']")).await.is_none());
    browser.goto(&app.url(&format!("/console/#/alerts/{alert}"))).await;
    sign_in_again_if_asked(&browser).await;
    let error = browser.wait_for_text(".error", |text| !text.is_empty()).await;
    assert!(error.contains("buiten jouw eenheid") && error.contains("out_of_scope"), "{error}");
    assert!(!browser.text_of("main").await.contains("Gezocht"), "nothing of the alert is shown");
}

#[tokio::test]
async fn an_exercise_is_written_as_one_and_listed_apart_marked_oefening() {
    let app = console_app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut exercise = alert_body(circle(ROTTERDAM, 1_000.0));
    exercise["purpose"] = json!("exercise");
    let exercise = app.create_alert(&dispatcher, exercise).await["id"].as_str().unwrap().to_string();
    let real = app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let real = real["id"].as_str().unwrap().to_string();
    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::Dispatcher("rotterdam")).await;

    // Choosing an exercise says whom it reaches.
    browser.find("#compose-heading").await;
    assert!(browser.find_now("#purpose-hint").await.is_none(), "a real alert needs no warning");
    browser.select("#purpose", "exercise").await;
    let hint = browser.wait_for_text("#purpose-hint", |text| !text.is_empty()).await;
    assert!(hint.contains("OEFENING") && hint.contains("meedoen aan oefeningen"), "{hint}");

    // The list marks the exercise, and only it; so does its page.
    browser.goto(&app.url("/console/#/alerts")).await;
    sign_in_again_if_asked(&browser).await;
    let badge = browser
        .wait_for_text(&format!("[data-alert='{exercise}'] .badge.exercise"), |text| !text.is_empty())
        .await;
    assert_eq!(badge, "OEFENING");
    assert!(browser.find_now(&format!("[data-alert='{real}'] .badge.exercise")).await.is_none());
    browser.goto(&app.url(&format!("/console/#/alerts/{exercise}"))).await;
    sign_in_again_if_asked(&browser).await;
    assert_eq!(browser.wait_for_text("#alert-purpose", |text| !text.is_empty()).await, "OEFENING");
}

#[tokio::test]
async fn a_dispatcher_alerts_a_target_group_only_and_sees_it_named_on_the_alert() {
    let app = console_app().await;
    let admin = app.admin_token();
    let group = app
        .expect_ok(
            Method::POST,
            "/v1/regions/rotterdam/target-groups",
            &admin,
            json!({"name": "Taxichauffeurs"}),
        )
        .await;
    let (group_id, code) = (group["id"].as_str().unwrap(), group["invitation_code"].as_str().unwrap());
    let driver_phone = crate::helpers::alerts::android_device("driver");
    let driver_token = driver_phone["push_token"].as_str().unwrap().to_string();
    let driver = app
        .participant(
            "+31650800001",
            Profile { places: vec![AMSTERDAM], devices: vec![driver_phone], ..Profile::default() },
        )
        .await;
    app.expect_ok(
        Method::POST,
        "/v1/me/target-groups",
        &driver.access_token,
        json!({"invitation_code": code}),
    )
    .await;
    let approval = format!("/v1/target-groups/{group_id}/members/{}", driver.participant_id);
    app.expect_ok(Method::PUT, &approval, &admin, json!({})).await;
    app.participant("+31650800002", Profile::default()).await; // at home in the area

    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::Dispatcher("rotterdam")).await;
    browser.find("#compose-heading").await;
    type_circle(&browser, ROTTERDAM, "1000").await;
    browser.fill("#nl-title", "Gezocht: witte bestelbus").await;
    browser.fill("#nl-message", "Witte bestelbus, kenteken begint met VX.").await;
    // The region's group, with its members shown only as "< 5"; alerting it only.
    let label =
        browser.wait_for_text(&format!("label[for='group-{group_id}']"), |text| !text.is_empty()).await;
    assert_eq!(label, "Taxichauffeurs (< 5)");
    browser.click_on(&format!("#group-{group_id}")).await;
    browser.wait_for_text("#reach tr[data-reach='target-groups'] td", |text| text == "< 5").await;
    browser.click_on("#groups-only").await;

    browser.click_on("#send-alert").await;
    browser.find("#confirm-send tr[data-reach='target-groups']").await;
    browser.click_on("#confirm-send-button").await;
    browser
        .wait_until("the live view of the alert", "return location.hash.startsWith('#/alerts/');", vec![])
        .await;
    let named = browser.wait_for_text("#alert-target-groups", |text| !text.is_empty()).await;
    assert_eq!(named, "Alleen de doelgroepen: Taxichauffeurs");
    let alert =
        browser.eval("return location.hash.split('/')[2];", vec![]).await.as_str().unwrap().to_string();
    let counters = app.wait_until_delivered(&app.dispatcher_token("rotterdam"), &alert).await;
    assert_eq!(counters["recipients"], 1, "the driver only, not the resident: {counters}");
    assert_eq!(app.fcm_kinds_to(&driver_token), ["alert"]);
}

/// A new page load signs in again (the token lives in the page's memory only).
async fn sign_in_again_if_asked(browser: &Browser) {
    if browser.find_now("form[action='authorize']").await.is_some() {
        sign_in_on_the_page(browser, Staff::Dispatcher("amsterdam"), None).await;
    }
}

#[tokio::test]
async fn an_expired_session_returns_to_sign_in_and_the_draft_being_written_is_still_there() {
    let app = console_app().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/console/")).await;
    sign_in_on_the_page(&browser, Staff::Dispatcher("rotterdam"), Some("1m")).await;
    browser.fill("#nl-title", "Vermist: meisje van 6").await;
    browser.fill("#nl-message", "Meisje, 6 jaar, roze jas.").await;
    // The session ends after a minute: the console goes back to the identity provider by itself.
    browser.find_within("form[action='authorize']", std::time::Duration::from_secs(150)).await;
    sign_in_on_the_page(&browser, Staff::Dispatcher("rotterdam"), None).await;
    browser.find("#compose-heading").await;
    assert_eq!(
        browser.eval("return document.querySelector('#nl-title').value;", vec![]).await,
        "Vermist: meisje van 6"
    );
    assert_eq!(
        browser.eval("return document.querySelector('#nl-message').value;", vec![]).await,
        "Meisje, 6 jaar, roze jas."
    );
    assert!(browser.text_of("main").await.contains("concept is teruggezet"), "the dispatcher is told");
    // No token was kept where scripts of other pages or a later reader could find it.
    let stored = browser
        .eval(
            "return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]);",
            vec![],
        )
        .await;
    assert!(!stored.as_str().unwrap().contains("eyJ"), "a JWT in web storage: {stored}");
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_and_its_settings_name_the_identity_provider() {
    let app = console_app().await;
    let page = app.get("/console/").await;
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.starts_with("default-src 'self'; script-src 'self'; style-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<script defer src=\"/console/app.js\"></script>"), "one script, from here");
    assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");

    // Assets carry a validator: a reload costs a 304.
    let script = app.get("/console/app.js").await;
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    let tag = script.headers()["etag"].to_str().unwrap().to_string();
    let again =
        app.client.get(app.url("/console/app.js")).header("if-none-match", &tag).send().await.unwrap();
    assert_eq!(again.status(), 304);

    let settings: serde_json::Value = app.get("/console/settings.json").await.json().await.unwrap();
    assert_eq!(settings["oidc"]["issuer"], app.identity_issuer());
    assert_eq!(settings["oidc"]["client_id"], "burgernet-console");
    assert_eq!(settings["oidc"]["redirect_uri"], app.console_url());
    assert_eq!(settings["tiles"], serde_json::Value::Null, "no background map in the tests");

    // `/console` leads to `/console/`; an unknown asset is a problem document, not the page.
    assert_eq!(app.get("/console").await.headers()["location"], "/console/");
    assert_eq!(app.get("/console/nothing.js").await.status(), 404);
}

#[tokio::test]
async fn a_relations_officer_approves_a_waiting_participant_from_the_queue() {
    let app = console_app().await;
    let officer = app.relations_officer_token("GM0599");
    app.expect_ok(
        Method::PUT,
        "/v1/municipalities/GM0599/approval-policy",
        &officer,
        json!({"requires_approval": true}),
    )
    .await;
    let waiting = app.participant("+31610000092", Profile::default()).await;
    let page = app.get_json("/v1/municipalities/GM0599/queues/approval", &officer).await;
    assert_eq!(page["total"], 1, "the new participant waits for approval: {page}");

    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::RelationsOfficer("GM0599")).await;
    browser.find("#queues-heading").await;
    let row = browser.find("#queue-items li").await;
    let text = browser.text(&row).await;
    assert!(text.contains("+31610000092") || text.contains("06"), "{text}");
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility: {violations:#?}");
    browser.save_screenshot("relations-officer-queue").await;

    let share = browser.wait_for_text("#participation-share", |text| !text.is_empty()).await;
    assert!(share.contains("612"), "Rotterdam's inhabitants: {share}");
    assert_eq!(
        browser.eval("return document.querySelector('#approval-policy').checked;", vec![]).await,
        true
    );

    browser.fill("#queue-items input[id^='reason-']", "Woont in de gemeente; gegevens gecontroleerd.").await;
    browser.click_on("#queue-items button[type='submit']").await;
    browser
        .wait_until("the queue to empty", "return !document.querySelector('#queue-items li');", vec![])
        .await;
    let decided = app
        .get_json(&format!("/v1/municipalities/GM0599/participants/{}", waiting.participant_id), &officer)
        .await;
    assert_eq!(decided["status"], "active", "{decided}");

    // Searching the municipality's participants by phone number.
    browser.click_on("a[href='#/participants']").await;
    browser.fill("#search-phone", "06 1000 0092").await;
    browser.click_on("form.inline button[type='submit']").await;
    let found = browser.wait_for_text("main [role='status']", |text| !text.is_empty()).await;
    assert_eq!(found, "1 gevonden");
    assert!(browser.text_of("main table").await.contains("+31610000092"));
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility of the search: {violations:#?}");
}

#[tokio::test]
async fn a_dispatcher_reviews_a_tip_plays_its_video_and_checks_and_exports_the_dossier() {
    let app = console_app().await;
    app.seed_population(10, 100).await;
    let witness = app.participant("+31610000093", Profile::default()).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    send_tip(
        &app,
        &witness,
        &alert,
        "Filmpje van de scooter op de Coolsingel.",
        &[("video/mp4", phone_video())],
    )
    .await;

    let browser = Browser::start().await;
    sign_in(&browser, &app, Staff::Dispatcher("rotterdam")).await;
    // The region's map shows the active alert's area (dashed).
    browser
        .wait_until(
            "the active alert on the map",
            "return !!document.querySelector('.leaflet-overlay-pane path[stroke-dasharray]');",
            vec![],
        )
        .await;
    browser.goto(&app.url(&format!("/console/#/alerts/{alert}"))).await;
    browser.wait_for_text("#tips .tip-text", |text| text.contains("Coolsingel")).await;
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility of the alert's page: {violations:#?}");

    // The video plays in the browser from the worker's preview (its poster is the thumbnail).
    browser.click_on("#tips .thumbnail").await;
    browser
        .wait_until(
            "the video preview to load",
            "const v = document.querySelector('#display-video'); return !!v && v.readyState >= 1 && v.videoWidth > 0;",
            vec![],
        )
        .await;
    let size = browser
        .eval(
            "const v = document.querySelector('#display-video'); return [v.videoWidth, v.videoHeight];",
            vec![],
        )
        .await;
    assert_eq!(size, json!([640, 480]));
    // The original only with a reason, which the dossier keeps.
    browser.fill("#download-reason", "Doorgestuurd naar de recherche, zaak 2026-123").await;
    browser.click_on("#media-viewer form button[type='submit']").await;
    browser
        .wait_until(
            "the download to be recorded",
            "return document.querySelector('#timeline')?.innerText.includes('media_original_downloaded');",
            vec![],
        )
        .await;
    browser.click_on("#media-viewer .buttons button").await;

    // Assessment and legal hold.
    browser.click_on("#tips .decisions summary").await;
    browser.select("#tips select[id^='assessment-']", "forwarded").await;
    browser.fill("#tips input[id^='forwarded-']", "Noodhulp Rotterdam-Centrum").await;
    browser.click_on("#tips .decisions form button[type='submit']").await;
    browser.wait_for_text("#tips .decisions [role='status']", |text| text == "Gelukt.").await;
    browser.fill("#tips input[id^='hold-']", "Zaak 2026-123").await;
    browser.click_on("#tips .decisions form:nth-of-type(2) button[type='submit']").await;
    browser.wait_for_text("#tips .held", |text| text.contains("Zaak 2026-123")).await;
    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), &dispatcher).await;
    assert_eq!(tips[0]["assessment"]["assessment"], "forwarded");
    assert_eq!(tips[0]["assessment"]["forwarded_to"], "Noodhulp Rotterdam-Centrum");
    assert_eq!(tips[0]["legal_hold"]["reason"], "Zaak 2026-123");

    // The dossier: every entry, the chain verified, and the export.
    browser.click_on(&format!("a[href='#/alerts/{alert}/dossier']")).await;
    browser.wait_for_text("#verification", |text| text.contains("onbeschadigd")).await;
    browser
        .wait_for_text("#timeline", |text| text.contains("tip_assessed") && text.contains("created"))
        .await;
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility of the dossier: {violations:#?}");
    browser.click_on("#export-dossier").await;
    let kinds = app.dossier_kinds(&dispatcher, &alert).await;
    assert!(kinds.iter().filter(|kind| *kind == "exported").count() >= 1, "{kinds:?}");
}

#[tokio::test]
async fn an_administrator_sees_the_regions_at_a_glance_and_the_alerts_read_only() {
    let app = console_app().await;
    app.seed_population(12, 50).await;
    let alert =
        app.send_new_alert(&app.dispatcher_token("rotterdam"), alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/console/")).await;
    browser.find("form[action='authorize']").await;
    browser.select("select[name='role']", "admin").await;
    browser.click_on("form[action='authorize'] button[type='submit']").await;

    let rotterdam =
        browser.wait_for_text("#regions-table tr[data-region='rotterdam']", |text| !text.is_empty()).await;
    assert!(rotterdam.contains("12"), "12 active participants: {rotterdam}");
    browser.click_on("#regions-table tr[data-region='rotterdam'] button").await;
    browser
        .wait_for_text(".municipalities", |text| text.contains("Schiedam") && text.contains("GM0599"))
        .await;
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility of the overview: {violations:#?}");
    browser.save_screenshot("administrator-overview").await;

    // Every region's alerts, read only: no actions on an active alert.
    browser.click_on("a[href='#/alerts']").await;
    browser.select("#status-filter", "active").await;
    browser.click_on(&format!("[data-alert='{alert}'] a")).await;
    browser.find("#counters").await;
    assert!(browser.find_now("#action-close").await.is_none(), "an administrator acts on nothing");

    // In English on request.
    browser.select("header select", "en").await;
    browser.wait_for_text("header nav", |text| text.contains("Alerts")).await;
    browser.click_on("a[href='#/alerts']").await;
    browser.find("#alerts-table").await;
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility of the alerts list: {violations:#?}");

    // Signing out ends the identity provider's session and leaves the console signed out.
    browser.click_on("header button").await;
    browser.wait_for_text("main", |text| text.contains("You are signed out")).await;
    assert!(browser.find_now("header.top").await.is_none());
}

#[tokio::test]
async fn in_local_mode_the_address_of_the_server_leads_to_the_console() {
    let local = TestApp::spawn_with(TestAppOptions { dev_mode: true, ..TestAppOptions::default() }).await;
    let root = local.get("/").await;
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/console/");
    let production = TestApp::spawn().await;
    assert_eq!(production.get("/").await.status(), 404, "outside local mode `/` is no page");
}
