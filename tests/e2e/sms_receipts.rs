//! Delivery receipts from the SMS gateway (`POST /v1/sms/receipts`): only signed, fresh receipts
//! are heard; a receipt settles the SMS delivery it is about and is written into the alert's
//! dossier; a number that proved dead quarantines its participant, on record as the system's
//! decision, so the municipality sees them in its quarantine queue. The last test runs the whole
//! path: our client sends through the fake gateway, which reports back to the running app.

use std::time::Duration;

use burgernet_core::providers::sms::SmsMessage;
use burgernet_core::providers::webhook_signature;
use burgernet_core::vocabulary::phone::PhoneNumber;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::sms::SmsGatewayExt;
use crate::helpers::{SignedIn, TestApp, participant_ids, problem};

const ANNA: &str = "+31611111111";
const BRAM: &str = "+31622222222";
const RECEIPTS: &str = "/v1/sms/receipts";

/// A participant living in Rotterdam (GM0599), so Rotterdam manages them.
async fn resident(app: &TestApp, phone: &str) -> SignedIn {
    let participant = app.sign_up(phone).await;
    let home = json!({"kind": "home", "name": "Thuis", "latitude": 51.9225, "longitude": 4.4792,
                      "address": {"postcode": "3011 AD", "house_number": "1"}});
    let response = app.send_json_as(Method::POST, "/v1/me/places", &participant.access_token, &home).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    participant
}

/// An alert of region `rotterdam` with one message, as the alert pipeline stores them.
async fn alert(app: &TestApp) -> (Uuid, Uuid) {
    let (alert, message) = (Uuid::new_v4(), Uuid::new_v4());
    let mut conn = app.database.connect().await;
    diesel::sql_query(
        "INSERT INTO alerts (id, region_id, status, category, urgent, channels, description, texts, area,
                             created_by_subject, sent_at)
         SELECT $1, id, 'active', 'search', true, '{push,sms}', '{}',
                '{\"nl\": {\"title\": \"Vermist\", \"message\": \"Jongen, 8 jaar\"}}',
                ST_Multi(ST_MakeEnvelope(4.40, 51.88, 4.55, 51.96, 4326)), 'staff-1', now()
           FROM regions WHERE code = 'rotterdam'",
    )
    .bind::<SqlUuid, _>(alert)
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO alert_messages (id, alert_id, kind, wave, texts, created_by_subject)
         VALUES ($1, $2, 'alert', 0, '{\"nl\": {\"title\": \"Vermist\", \"message\": \"Jongen, 8 jaar\"}}', 'staff-1')",
    )
    .bind::<SqlUuid, _>(message)
    .bind::<SqlUuid, _>(alert)
    .execute(&mut conn)
    .await
    .unwrap();
    (alert, message)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// An SMS of `message` to `participant` that the gateway accepted as `provider_message_id`.
async fn sms_delivery(
    app: &TestApp,
    (alert, message): (Uuid, Uuid),
    participant: &SignedIn,
    provider_message_id: &str,
) -> i64 {
    let mut conn = app.database.connect().await;
    diesel::sql_query(
        "INSERT INTO deliveries (alert_id, message_id, batch_no, participant_id, channel, reason, state,
                                 provider_message_id, sent_at)
         VALUES ($1, $2, 0, $3, 'sms', 'no_push_device', 'sent', $4, now()) RETURNING id",
    )
    .bind::<SqlUuid, _>(alert)
    .bind::<SqlUuid, _>(message)
    .bind::<SqlUuid, _>(participant.participant_id.0)
    .bind::<Text, _>(provider_message_id)
    .get_result::<Id>(&mut conn)
    .await
    .unwrap()
    .id
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Delivery {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Text>)]
    error_code: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    delivered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    failed_at: Option<DateTime<Utc>>,
}

async fn delivery(app: &TestApp, id: i64) -> Delivery {
    let mut conn = app.database.connect().await;
    diesel::sql_query("SELECT state, error_code, delivered_at, failed_at FROM deliveries WHERE id = $1")
        .bind::<BigInt, _>(id)
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[derive(QueryableByName)]
struct DossierEntry {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    actor: String,
    #[diesel(sql_type = Text)]
    body: String,
}

/// The alert's dossier: (kind, actor, body), oldest first.
async fn dossier(app: &TestApp, alert: Uuid) -> Vec<(String, String, Value)> {
    let mut conn = app.database.connect().await;
    diesel::sql_query(
        "SELECT kind, actor, body::text AS body FROM alert_dossier WHERE alert_id = $1 ORDER BY seq",
    )
    .bind::<SqlUuid, _>(alert)
    .load::<DossierEntry>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|entry| (entry.kind, entry.actor, serde_json::from_str(&entry.body).unwrap()))
    .collect()
}

fn receipt(id: &str, status: &str, error_code: Option<&str>, at: &str) -> String {
    json!({"id": id, "reference": "delivery-1", "status": status, "error_code": error_code, "at": at})
        .to_string()
}

/// Posts `body` with the given signature headers (none when `None`).
async fn post_receipt(app: &TestApp, body: &str, headers: Option<(String, String)>) -> reqwest::Response {
    let mut request =
        app.client.post(app.url(RECEIPTS)).header("content-type", "application/json").body(body.to_string());
    if let Some((timestamp, signature)) = headers {
        request = request.header("x-signature-timestamp", timestamp).header("x-signature", signature);
    }
    request.send().await.expect("request sent")
}

/// The headers the gateway sends: signed with `secret` at `timestamp`.
fn signed_with(secret: &str, timestamp: i64, body: &str) -> Option<(String, String)> {
    Some((timestamp.to_string(), webhook_signature::sign(secret.as_bytes(), timestamp, body.as_bytes())))
}

/// Posts `body` signed as the gateway would sign it now.
async fn post_signed(app: &TestApp, body: &str) -> reqwest::Response {
    post_receipt(app, body, signed_with(app.sms.webhook_secret(), Utc::now().timestamp(), body)).await
}

async fn app_with_a_delivery(phone: &str) -> (TestApp, SignedIn, Uuid, i64) {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let participant = resident(&app, phone).await;
    let alert = alert(&app).await;
    let delivery = sms_delivery(&app, alert, &participant, "msg-1").await;
    (app, participant, alert.0, delivery)
}

#[tokio::test]
async fn receipts_without_a_valid_fresh_signature_are_refused_and_change_nothing() {
    let (app, anna, alert, id) = app_with_a_delivery(ANNA).await;
    let body = receipt("msg-1", "failed", Some("unknown_subscriber"), "2026-11-30T16:48:01Z");
    let now = Utc::now().timestamp();
    let secret = app.sms.webhook_secret().to_string();

    let (timestamp, signature) = signed_with(&secret, now, &body).unwrap();
    let refused = [
        ("no signature", None),
        ("another secret", signed_with("another-webhook-secret-0123456789abcdef", now, &body)),
        ("six minutes old", signed_with(&secret, now - 360, &body)),
        ("six minutes ahead", signed_with(&secret, now + 360, &body)),
        (
            "another body",
            signed_with(&secret, now, &receipt("msg-1", "delivered", None, "2026-11-30T16:48:01Z")),
        ),
        ("a timestamp other than the signed one", Some(((now - 1).to_string(), signature.clone()))),
        ("no timestamp", Some((String::new(), signature))),
        ("not hex", Some((timestamp, "sha256=not-hex".into()))),
    ];
    for (what, headers) in refused {
        let (status, problem) = problem(post_receipt(&app, &body, headers).await).await;
        assert_eq!((status, problem["code"].as_str().unwrap()), (401, "invalid_signature"), "{what}");
    }

    assert_eq!(delivery(&app, id).await.state, "sent");
    assert!(dossier(&app, alert).await.is_empty());
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "active");
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_receipt_is_refused_and_changes_nothing() {
    let (app, _, alert, id) = app_with_a_delivery(ANNA).await;
    for body in [
        "not json".to_string(),
        json!({"id": "msg-1", "status": "delivered"}).to_string(),
        receipt("msg-1", "read", None, "2026-11-30T16:48:01Z"),
        receipt("msg-1", "delivered", None, "yesterday"),
        receipt("msg-1", "failed", Some("no such number +31611111111"), "2026-11-30T16:48:01Z"),
    ] {
        let (status, problem) = problem(post_signed(&app, &body).await).await;
        assert_eq!((status, problem["code"].as_str().unwrap()), (422, "invalid_receipt"), "{body}");
        assert!(!problem["detail"].as_str().unwrap().contains("+31"), "{problem}");
    }
    assert_eq!(delivery(&app, id).await.state, "sent");
    assert!(dossier(&app, alert).await.is_empty());
}

#[tokio::test]
async fn delivered_marks_the_delivery_delivered_once_and_a_late_failure_does_not_undo_it() {
    let (app, anna, alert, id) = app_with_a_delivery(ANNA).await;
    let at: DateTime<Utc> = "2026-11-30T16:48:01Z".parse().unwrap();

    let response = post_signed(&app, &receipt("msg-1", "delivered", None, "2026-11-30T16:48:01Z")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        delivery(&app, id).await,
        Delivery { state: "delivered".into(), error_code: None, delivered_at: Some(at), failed_at: None }
    );

    // The gateway repeats itself, then reports a failure it learnt of too late.
    let again = post_signed(&app, &receipt("msg-1", "delivered", None, "2026-11-30T16:50:00Z")).await;
    assert_eq!(again.status(), 204);
    let late = receipt("msg-1", "failed", Some("unknown_subscriber"), "2026-11-30T16:55:00Z");
    assert_eq!(post_signed(&app, &late).await.status(), 204);

    assert_eq!(delivery(&app, id).await.delivered_at, Some(at), "the first arrival counts");
    assert_eq!(delivery(&app, id).await.state, "delivered");
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "active");
    let statuses: Vec<Value> =
        dossier(&app, alert).await.into_iter().map(|(_, _, body)| body["status"].clone()).collect();
    assert_eq!(statuses, ["delivered", "delivered", "failed"], "every receipt is on record");
}

#[tokio::test]
async fn an_unknown_subscriber_fails_the_delivery_and_quarantines_the_participant_on_record() {
    let (app, anna, alert, id) = app_with_a_delivery(ANNA).await;
    let officer = app.relations_officer_token("GM0599");

    let body = receipt("msg-1", "failed", Some("unknown_subscriber"), "2026-11-30T16:48:01Z");
    assert_eq!(post_signed(&app, &body).await.status(), 204);

    assert_eq!(
        delivery(&app, id).await,
        Delivery {
            state: "failed".into(),
            error_code: Some("unknown_subscriber".into()),
            delivered_at: None,
            failed_at: Some("2026-11-30T16:48:01Z".parse().unwrap()),
        }
    );
    let queue = app.get_json("/v1/municipalities/GM0599/queues/quarantine", &officer).await;
    assert_eq!(participant_ids(&queue), [anna.participant_id.to_string()]);
    let record = app
        .get_json(&format!("/v1/municipalities/GM0599/participants/{}", anna.participant_id), &officer)
        .await;
    assert_eq!(record["status"], "quarantined");
    let action = &record["staff_actions"][0];
    assert_eq!(
        (
            &action["action"],
            &action["staff_subject"],
            &action["staff_role"],
            &action["from_status"],
            &action["to_status"]
        ),
        (&json!("quarantine"), &json!("system"), &json!("system"), &json!("active"), &json!("quarantined"))
    );
    assert_eq!(action["reason"], "SMS to this number proved undeliverable (unknown_subscriber)");
    assert_eq!(record["staff_actions"].as_array().unwrap().len(), 1);

    let entries = dossier(&app, alert).await;
    assert_eq!(
        entries,
        [(
            "sms_receipt".to_string(),
            "system".to_string(),
            json!({"delivery_id": id, "participant_id": anna.participant_id.to_string(),
                   "status": "failed", "error_code": "unknown_subscriber"})
        )]
    );
    assert!(!entries[0].2.to_string().contains("611111111"), "no phone number in the dossier");

    // The gateway retries the receipt after an officer reinstated Anna: she stays reinstated.
    let reinstate = json!({"decision": "reinstate", "reason": "Nummer werkt weer"});
    let path = format!("/v1/municipalities/GM0599/participants/{}/decisions", anna.participant_id);
    assert_eq!(app.send_json_as(Method::POST, &path, &officer, &reinstate).await.status(), 200);
    assert_eq!(post_signed(&app, &body).await.status(), 204);
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "active");
}

#[tokio::test]
async fn a_passing_failure_fails_the_delivery_but_keeps_the_participant() {
    let (app, anna, _, id) = app_with_a_delivery(ANNA).await;
    let body = receipt("msg-1", "expired", Some("absent_subscriber"), "2026-11-30T16:48:01Z");
    assert_eq!(post_signed(&app, &body).await.status(), 204);
    let stored = delivery(&app, id).await;
    assert_eq!((stored.state.as_str(), stored.error_code.as_deref()), ("failed", Some("absent_subscriber")));
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["status"], "active");
}

#[tokio::test]
async fn a_receipt_for_a_message_we_do_not_know_is_acknowledged_and_ignored() {
    let (app, _, alert, id) = app_with_a_delivery(ANNA).await;
    let body = receipt("msg-unknown", "failed", Some("unknown_subscriber"), "2026-11-30T16:48:01Z");
    let response = post_signed(&app, &body).await;
    assert_eq!(response.status(), 202, "so the gateway stops retrying");
    assert_eq!(delivery(&app, id).await.state, "sent");
    assert!(dossier(&app, alert).await.is_empty());
}

#[tokio::test]
async fn the_gateways_receipts_reach_the_app_and_a_dead_number_ends_in_the_quarantine_queue() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let anna = resident(&app, ANNA).await;
    let bram = resident(&app, BRAM).await;
    let alert = alert(&app).await;
    // Receipts follow a second after each message, as a gateway's do, which leaves time to store
    // the provider's id first, as the delivery worker does.
    app.sms.set_receipts(&app.url(RECEIPTS), app.sms.webhook_secret(), Duration::from_secs(1));
    app.sms.mark_undeliverable(BRAM);
    let sender = app.sms.sms_sender();

    let mut deliveries = Vec::new();
    for (participant, phone) in [(&anna, ANNA), (&bram, BRAM)] {
        let to = PhoneNumber::parse(phone).unwrap();
        let message =
            SmsMessage { to: &to, body: "Burgernet: vermist, jongen van 8.", reference: "delivery-1" };
        let sent = sender.send(&message).await.expect("accepted by the gateway");
        deliveries.push(sms_delivery(&app, alert, participant, &sent.provider_message_id).await);
    }

    let receipts = app.sms.wait_for_receipts(2).await;
    let mut seen: Vec<(&str, Option<&str>, Option<u16>)> =
        receipts.iter().map(|r| (r.status.as_str(), r.error_code.as_deref(), r.answer)).collect();
    seen.sort();
    assert_eq!(seen, [("delivered", None, Some(204)), ("failed", Some("unknown_subscriber"), Some(204))]);
    assert_eq!(delivery(&app, deliveries[0]).await.state, "delivered");
    assert_eq!(delivery(&app, deliveries[1]).await.state, "failed");
    let queue = app.get_json("/v1/municipalities/GM0599/queues/quarantine", &app.admin_token()).await;
    assert_eq!(participant_ids(&queue), [bram.participant_id.to_string()]);
    assert_eq!(dossier(&app, alert.0).await.len(), 2);
}
