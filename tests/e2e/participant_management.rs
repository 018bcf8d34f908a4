//! The municipality's side: listing and searching its participants, the approval,
//! verification and quarantine queues, decisions with their reasons on record, the messages
//! decisions send, and the approval policy.

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem, participant_ids, problem};

const ROTTERDAM: (f64, f64) = (51.9225, 4.4792);
const SCHIEDAM: (f64, f64) = (51.9193, 4.3988);

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// Signs up a participant with a home at `position` and the given postcode.
async fn resident(app: &TestApp, phone: &str, (latitude, longitude): (f64, f64), postcode: &str) -> SignedIn {
    let participant = app.sign_up(phone).await;
    let home = json!({"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude,
                      "address": {"postcode": postcode, "house_number": "1"}});
    let response = app.send_json_as(Method::POST, "/v1/me/places", &participant.access_token, &home).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    participant
}

async fn decide(
    app: &TestApp,
    token: &str,
    participant: &SignedIn,
    decision: &str,
    reason: &str,
) -> reqwest::Response {
    let path = format!("/v1/municipalities/GM0599/participants/{}/decisions", participant.participant_id);
    app.send_json_as(Method::POST, &path, token, &json!({"decision": decision, "reason": reason})).await
}

#[tokio::test]
async fn officers_list_and_search_the_participants_of_their_municipality() {
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    let bram = resident(&app, "+31622222222", ROTTERDAM, "3012 CD").await;
    let _schiedam = resident(&app, "+31633333333", SCHIEDAM, "3111 AB").await;
    let _no_place_yet = app.sign_up("+31644444444").await;

    let page = app.get_json("/v1/municipalities/GM0599/participants", &officer).await;
    assert_eq!(
        participant_ids(&page),
        vec![anna.participant_id.to_string(), bram.participant_id.to_string()]
    );
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64(), page["per_page"].as_i64()),
        (Some(2), Some(1), Some(25))
    );
    assert_eq!(page["items"][0]["phone_number"], "+31611111111");
    assert_eq!(page["items"][0]["status"], "active");

    // Pages.
    let second = app.get_json("/v1/municipalities/GM0599/participants?per_page=1&page=2", &officer).await;
    assert_eq!(
        (participant_ids(&second), second["total"].as_i64()),
        (vec![bram.participant_id.to_string()], Some(2))
    );

    // Search by number in any accepted form, and by postcode.
    let found =
        app.get_json("/v1/municipalities/GM0599/participants?phone_number=06%2022222222", &officer).await;
    assert_eq!(participant_ids(&found), vec![bram.participant_id.to_string()]);
    let found = app.get_json("/v1/municipalities/GM0599/participants?postcode=3011ad", &officer).await;
    assert_eq!(participant_ids(&found), vec![anna.participant_id.to_string()]);
    let found = app.get_json("/v1/municipalities/GM0599/participants?status=quarantined", &officer).await;
    assert_eq!(found["total"], 0);

    for (query, status, code) in [
        ("per_page=500", 400, "invalid_query"),
        ("page=0", 400, "invalid_query"),
        ("status=sleeping", 400, "invalid_query"),
        ("sort=name", 400, "invalid_query"),
        ("phone_number=12", 422, "invalid_phone_number"),
        ("postcode=abc", 422, "invalid_postal_address"),
    ] {
        let response = app.get_as(&format!("/v1/municipalities/GM0599/participants?{query}"), &officer).await;
        let (actual, body) = problem(response).await;
        assert_eq!((actual, body["code"].as_str().unwrap()), (status, code), "{query}: {body}");
    }

    // One participant in full: places and (no) staff actions yet.
    let record = app
        .get_json(&format!("/v1/municipalities/GM0599/participants/{}", anna.participant_id), &officer)
        .await;
    assert_eq!(record["places"][0]["address"]["postcode"], "3011AD");
    assert_eq!(record["staff_actions"], json!([]));
    // A participant of another municipality is not found here.
    let response = app
        .get_as(&format!("/v1/municipalities/GM0599/participants/{}", _schiedam.participant_id), &officer)
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn every_paged_list_takes_pages_up_to_the_millionth_and_refuses_beyond() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let officer = app.relations_officer_token("GM0599");
    resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    for list in [
        "/v1/municipalities/GM0599/participants",
        "/v1/municipalities/GM0599/queues/approval",
        "/v1/municipalities/GM0599/queues/verification",
        "/v1/municipalities/GM0599/queues/quarantine",
    ] {
        // No municipality has a million participants, so one a page reaches them all.
        let deepest = app.get_json(&format!("{list}?page=1000000&per_page=1"), &officer).await;
        assert_eq!(
            (deepest["page"].as_i64(), deepest["items"].as_array().map(Vec::len)),
            (Some(1_000_000), Some(0))
        );
        for page in ["1000001", "9223372036854775807", "9223372036854775808"] {
            let response = app.get_as(&format!("{list}?page={page}&per_page=100"), &officer).await;
            let (status, body) = problem(response).await;
            assert_eq!(
                (status, body["code"].as_str().unwrap()),
                (400, "invalid_query"),
                "{list} page {page}"
            );
        }
    }
}

#[tokio::test]
async fn with_approval_required_new_participants_wait_in_the_approval_queue_until_approved() {
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let response = app
        .send_json_as(
            Method::PUT,
            "/v1/municipalities/GM0599/approval-policy",
            &officer,
            &json!({"requires_approval": true}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    let profile = app.get_json("/v1/me", &anna.access_token).await;
    assert_eq!(profile["status"], "pending");
    let queue = app.get_json("/v1/municipalities/GM0599/queues/approval", &officer).await;
    assert_eq!(participant_ids(&queue), vec![anna.participant_id.to_string()]);

    // Only pending participants can be approved; a reason is required.
    let (status, body) = problem(decide(&app, &officer, &anna, "approve", "  ").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (422, "invalid_reason"));
    let (status, body) = problem(decide(&app, &officer, &anna, "reinstate", "waarom niet").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (409, "decision_not_applicable"));

    let response = decide(&app, &officer, &anna, "approve", "Adres gecontroleerd").await;
    assert_eq!(response.status(), 200);
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["status"], "active");
    let action = &record["staff_actions"][0];
    assert_eq!(
        (action["action"].as_str(), action["from_status"].as_str(), action["to_status"].as_str()),
        (Some("approve"), Some("pending"), Some("active"))
    );
    assert_eq!(
        (action["reason"].as_str(), action["staff_subject"].as_str()),
        (Some("Adres gecontroleerd"), Some("staff-1"))
    );
    assert_eq!(action["staff_role"], "relations_officer");
    assert!(action["at"].is_string());
    assert_eq!(app.get_json("/v1/municipalities/GM0599/queues/approval", &officer).await["total"], 0);

    // The activation confirmation reaches the participant (by SMS: no verified e-mail). Waiting
    // for approval, the first place sent nothing: the sign-in code is the only other message.
    let messages = app.sms.wait_for_sent(2).await;
    let confirmation = messages.last().unwrap();
    assert_eq!(confirmation.to, "+31611111111");
    assert!(confirmation.body.contains("bevestigd"), "{}", confirmation.body);

    // The participant sees the decision in their export too.
    let export = app.get_json("/v1/me/export", &anna.access_token).await;
    assert_eq!(export["staff_actions"][0]["reason"], "Adres gecontroleerd");
}

#[tokio::test]
async fn without_approval_the_first_place_completes_the_sign_up_with_a_confirmation() {
    let app = app().await;
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "active");
    let messages = app.sms.wait_for_sent(2).await;
    assert!(messages[1].body.contains("bevestigd"), "{}", messages[1].body);
}

#[tokio::test]
async fn quarantine_reinstate_reject_and_remove_follow_the_status_rules_and_are_recorded() {
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;

    let response = decide(&app, &officer, &anna, "quarantine", "SMS komt niet aan").await;
    assert_eq!(response.status(), 200);
    let queue = app.get_json("/v1/municipalities/GM0599/queues/quarantine", &officer).await;
    assert_eq!(participant_ids(&queue), vec![anna.participant_id.to_string()]);
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "quarantined");

    assert_eq!(decide(&app, &officer, &anna, "reinstate", "Nummer werkt weer").await.status(), 200);
    assert_eq!(app.get_json("/v1/municipalities/GM0599/queues/quarantine", &officer).await["total"], 0);

    let response = decide(&app, &officer, &anna, "remove", "Verhuisd naar het buitenland").await;
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["status"], "removed");
    let actions: Vec<&str> =
        record["staff_actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["remove", "reinstate", "quarantine"], "newest first");
    let (status, body) = problem(decide(&app, &officer, &anna, "remove", "nogmaals").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (409, "decision_not_applicable"));

    // Reinstating sent a confirmation, removing a notice.
    let messages = app.sms.wait_for_sent(4).await;
    assert!(messages[2].body.contains("bevestigd"), "{}", messages[2].body);
    assert!(messages[3].body.contains("afgemeld"), "{}", messages[3].body);

    // An admin decides too, and is recorded as such.
    let bram = resident(&app, "+31622222222", ROTTERDAM, "3012 CD").await;
    let response = decide(&app, &app.admin_token(), &bram, "quarantine", "Controle").await;
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["staff_actions"][0]["staff_role"], "admin");
}

#[tokio::test]
async fn a_status_the_program_does_not_know_read_back_is_a_server_error_not_a_panic() {
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    assert_eq!(decide(&app, &officer, &anna, "quarantine", "SMS komt niet aan").await.status(), 200);
    // `to_status` has no CHECK constraint; a value written by something other than this
    // program (a manual fix, a newer version) must not take the process down when read.
    let mut conn = app.database.connect_as_owner().await;
    let changed = diesel::sql_query(format!(
        "UPDATE participant_staff_actions SET to_status = 'suspended' WHERE participant_id = '{}'",
        anna.participant_id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(changed, 1);

    let record = format!("/v1/municipalities/GM0599/participants/{}", anna.participant_id);
    assert_problem(app.get_as(&record, &officer).await, 500, "internal_error").await;
    // The server lives on and answers the next request.
    let page = app.get_json("/v1/municipalities/GM0599/participants", &officer).await;
    assert_eq!(participant_ids(&page), vec![anna.participant_id.to_string()]);
}

#[tokio::test]
async fn the_verification_queue_holds_addresses_unverified_after_a_week() {
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    let bram = resident(&app, "+31622222222", ROTTERDAM, "3012 CD").await;
    for who in [&anna, &bram] {
        let response = app
            .send_json_as(Method::PATCH, "/v1/me", &who.access_token, &json!({"email": "iemand@example.nl"}))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.get_json("/v1/municipalities/GM0599/queues/verification", &officer).await["total"], 0);
    let mut conn = app.database.connect().await;
    diesel::sql_query(format!(
        "UPDATE participants SET email_set_at = now() - interval '8 days' WHERE id = '{}'",
        anna.participant_id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let queue = app.get_json("/v1/municipalities/GM0599/queues/verification", &officer).await;
    assert_eq!(participant_ids(&queue), vec![anna.participant_id.to_string()]);
    let response = app.get_as("/v1/municipalities/GM0599/queues/inbox", &officer).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn moving_home_into_a_municipality_that_requires_approval_needs_approval_again() {
    let app = app().await;
    let schiedam_officer = app.relations_officer_token("GM0606");
    let anna = resident(&app, "+31611111111", ROTTERDAM, "3011 AD").await;
    app.send_json_as(
        Method::PUT,
        "/v1/municipalities/GM0606/approval-policy",
        &schiedam_officer,
        &json!({"requires_approval": true}),
    )
    .await;
    let places = app.get_json("/v1/me/places", &anna.access_token).await;
    let id = places[0]["id"].as_str().unwrap();
    let moved = json!({"kind": "home", "name": "Thuis", "latitude": SCHIEDAM.0, "longitude": SCHIEDAM.1});
    let response =
        app.send_json_as(Method::PUT, &format!("/v1/me/places/{id}"), &anna.access_token, &moved).await;
    assert_eq!(response.status(), 200);
    let profile = app.get_json("/v1/me", &anna.access_token).await;
    assert_eq!(
        (profile["municipality"].as_str(), profile["status"].as_str()),
        (Some("GM0606"), Some("pending"))
    );
    let queue = app.get_json("/v1/municipalities/GM0606/queues/approval", &schiedam_officer).await;
    assert_eq!(participant_ids(&queue), vec![anna.participant_id.to_string()]);
    // Rotterdam no longer lists her.
    let officer = app.relations_officer_token("GM0599");
    assert_eq!(app.get_json("/v1/municipalities/GM0599/participants", &officer).await["total"], 0);
}

#[tokio::test]
async fn removing_a_participant_ends_all_their_sessions_and_stops_sign_in_for_their_number() {
    const PHONE: &str = "+31611111111";
    let app = app().await;
    let officer = app.relations_officer_token("GM0599");
    let anna = resident(&app, PHONE, ROTTERDAM, "3011 AD").await;
    app.sms.wait_for_sent(2).await; // the code, then the confirmation
    let tablet = app.sign_up(PHONE).await;
    // A code asked for just before the decision, used just after it.
    let client = "198.51.100.77";
    assert_eq!(app.request_code_from(PHONE, client).await.status(), 202);
    let late_code = app.last_code_sent_to(PHONE);

    assert_eq!(decide(&app, &officer, &anna, "remove", "Misbruik van tips").await.status(), 200);

    // Every session ends at once: access tokens, refresh tokens and the location statement,
    // with a code that tells the app why (the caller proved they held this session).
    for session in [&anna, &tablet] {
        assert_problem(app.get_as("/v1/me", &session.access_token).await, 401, "participant_removed").await;
        let position = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 10.0});
        let response =
            app.send_json_as(Method::PUT, "/v1/me/location", &session.access_token, &position).await;
        assert_problem(response, 401, "participant_removed").await;
        let response = app
            .client
            .post(app.url("/v1/session/refresh"))
            .json(&json!({"refresh_token": session.refresh_token}))
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "participant_removed").await;
    }
    // Whoever holds a code sent to the number before the decision gets no session either; they
    // proved they hold the phone, so they may learn why.
    assert_problem(app.verify_code_from(PHONE, &late_code, client).await, 403, "participant_removed").await;

    // Asking for a new code: no code goes out. The answer is the one every number gets, so the
    // endpoint tells no stranger that this number was removed; the phone's holder reads why in
    // the SMS that goes out instead of the code.
    let sent_before = app.sms.wait_for_sent(5).await.len(); // ... the code, the removal notice
    let response = app.request_code_from(PHONE, "198.51.100.78").await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["expires_at"].is_string() && answer["resend_after"].is_string(), "{answer}");
    let sent = app.sms.wait_for_sent(sent_before + 1).await;
    let notice = &sent.last().unwrap();
    assert_eq!(notice.to, PHONE);
    assert!(!notice.body.chars().any(|c| c.is_ascii_digit()), "no code: {}", notice.body);
    assert!(notice.body.contains("afgemeld"), "{}", notice.body);
    // A guessed code is answered as for any other number.
    assert_problem(app.verify_code_from(PHONE, "000000", "198.51.100.78").await, 422, "code_incorrect").await;
    assert_eq!(
        app.get_json(&format!("/v1/municipalities/GM0599/participants/{}", anna.participant_id), &officer)
            .await["status"],
        "removed"
    );
    let sessions: i64 = diesel::sql_query(format!(
        "SELECT count(*) AS count FROM participant_sessions WHERE participant_id = '{}' AND revoked_at IS NULL",
        anna.participant_id
    ))
    .get_result::<Count>(&mut app.database.connect().await)
    .await
    .unwrap()
    .count;
    assert_eq!(sessions, 0);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}
