//! The voice channel end to end: participants may choose `voice` (a call that reads the alert
//! aloud); an alert of a category whose channel order calls (by default `search` and `alarm`:
//! push, then SMS, then a call) calls each recipient whose first phone channel, in that order, is
//! a call, through the voice gateway (the fake, over a real socket); the gateway's signed call
//! statuses (`POST /v1/voice/status`) settle the delivery, reach the counters and the dossier,
//! call once more after no answer, and bill their started minutes in the costs report. Updates
//! and the closing message call whoever a call reached.

use std::time::Duration;

use burgernet_core::alerts::delivery::plan::{ChannelOrder, ChannelOrders};
use burgernet_core::providers::webhook_signature;
use burgernet_core::reports::{dutch_date, rollup};
use burgernet_fakes::voice::speaking_seconds;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::voice::{CallOutcomeFake, ReceivedCall};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

const STATUSES: &str = "/v1/voice/status";
/// Chose only calls: no smartphone.
const CALLER: &str = "+31650200001";
/// Chose SMS and calls, without the app.
const TEXTER: &str = "+31650200002";
/// Chose push and calls, with the app.
const APP_USER: &str = "+31650200003";

async fn app_with(channel_orders: ChannelOrders) -> TestApp {
    let app =
        TestApp::spawn_with(TestAppOptions { workers: true, channel_orders, ..TestAppOptions::default() })
            .await;
    app.load_reference_data().await;
    // The gateway reports every call's outcome to the app, signed with the shared secret.
    app.voice.set_status_webhook(&app.url(STATUSES), app.voice.webhook_secret(), Duration::ZERO);
    app
}

async fn app() -> TestApp {
    app_with(ChannelOrders::default()).await
}

fn calling_alert() -> Value {
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["channels"] = json!(["voice", "sms", "push"]);
    body
}

async fn phone_only(app: &TestApp, phone: &str, channels: Vec<&'static str>) {
    app.participant(phone, Profile { channels, ..Profile::default() }).await;
}

/// The calls the gateway placed to `phone`, oldest first.
fn calls_to(app: &TestApp, phone: &str) -> Vec<ReceivedCall> {
    app.voice.calls().into_iter().filter(|call| call.to == phone).collect()
}

/// The dossier's `voice_call` entries, oldest first.
async fn call_entries(app: &TestApp, dispatcher: &str, alert: &str) -> Vec<Value> {
    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    dossier["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "voice_call").cloned().collect()
}

/// The latest reach preview's exact counts, from its audit record.
async fn last_preview(app: &TestApp, column: &str) -> i64 {
    app.database_count(&format!("SELECT {column} AS count FROM reach_previews ORDER BY id DESC LIMIT 1"))
        .await
}

/// Makes the lane runs that will call again due now, instead of in two minutes.
async fn call_again_now(app: &TestApp) {
    app.database_exec("UPDATE background_jobs SET run_at = now() WHERE job_type LIKE 'deliver_%voice'").await;
}

#[tokio::test]
async fn a_search_alert_calls_whom_only_a_call_reaches_and_the_status_settles_it_in_counters_dossier_and_costs()
 {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_only(&app, CALLER, vec!["voice"]).await;
    phone_only(&app, TEXTER, vec!["push", "sms", "voice"]).await;
    let app_user_phone = android_device("app-user");
    let app_user_token = app_user_phone["push_token"].as_str().unwrap().to_string();
    let app_user =
        Profile { channels: vec!["push", "voice"], devices: vec![app_user_phone], ..Profile::default() };
    app.participant(APP_USER, app_user).await;

    // The preview says who gets a call: the caller at once, the app user if push fails.
    let preview = json!({"category": "search", "urgent": true, "channels": ["voice", "sms", "push"],
                         "area": circle(ROTTERDAM, 2_000.0)});
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview).await;
    assert_eq!(last_preview(&app, "voice_participants").await, 1);
    assert_eq!(last_preview(&app, "voice_fallback_participants").await, 1);
    assert_eq!(last_preview(&app, "sms_participants").await, 1, "SMS comes before a call for search");

    let id = app.send_new_alert(&dispatcher, calling_alert()).await;
    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["channels"], json!(["push", "sms", "voice"]), "kept in the category's order");

    // One call, to the caller, read in Dutch: the alert and the call-back number, twice.
    let calls = app.voice.wait_for_calls(1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!((call.to.as_str(), call.language.as_str()), (CALLER, "nl-NL"));
    assert!(
        call.text.starts_with(
            "Dit is een oproep van Burgernet. Gezocht: man op witte scooter. Man, 25-35 jaar, zwarte jas, rode sjaal."
        ),
        "{}",
        call.text
    );
    assert_eq!(
        call.text.matches("Heeft u iets gezien? Bel dan 0, 9, 0, 0, 8, 8, 4, 4.").count(),
        2,
        "{}",
        call.text
    );
    assert!(call.text.ends_with("Einde van het bericht."), "{}", call.text);

    // The gateway's status settles the delivery: heard, with its minutes.
    let statuses = app.voice.wait_for_statuses(1).await;
    assert_eq!((statuses[0].status.as_str(), statuses[0].answer), ("answered", Some(204)));
    let counters = app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["delivered"] == 1).await;
    assert_eq!(counters["voice"]["failed"], 0, "{counters}");
    assert_eq!(counters["recipients"], 3, "{counters}");
    let minutes = i64::from(speaking_seconds(&call.text).div_ceil(60));
    let entries = call_entries(&app, &dispatcher, &id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], "system");
    assert_eq!(entries[0]["body"]["status"], "answered");
    assert_eq!(entries[0]["body"]["billable_minutes"], minutes);
    assert_eq!(entries[0]["body"]["calls_again"], false);

    // SMS before a call: the texter got an SMS; the app user a push; neither a call.
    let texts = app.sms.wait_for_sent(2).await;
    assert!(texts.iter().any(|sms| sms.to == TEXTER && sms.body.contains("Gezocht")), "{texts:?}");
    assert_eq!(app.fcm_kinds_to(&app_user_token), ["alert"]);
    assert!(calls_to(&app, TEXTER).is_empty() && calls_to(&app, APP_USER).is_empty());

    // An update and the closing message call whom a call reached, and only them.
    let update = json!({"texts": {"nl": {"message": "Laatst gezien bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    let calls = app.voice.wait_for_calls(2).await;
    assert!(calls[1].text.contains("Update: Gezocht: man op witte scooter. Laatst gezien bij het station."));
    assert!(calls[1].text.contains("Bel dan 0, 9, 0, 0"), "an update asks for calls too");
    app.voice.wait_for_statuses(2).await;
    let closing =
        json!({"outcome": "hard_success", "texts": {"nl": {"message": "Hij is aangehouden. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let calls = app.voice.wait_for_calls(3).await;
    assert!(calls[2].text.contains("Afgelopen: Gezocht: man op witte scooter. Hij is aangehouden. Dank!"));
    assert!(!calls[2].text.contains("Bel dan"), "a closing message asks nothing: {}", calls[2].text);
    assert_eq!(calls.iter().filter(|call| call.to == CALLER).count(), 3, "{calls:?}");
    app.voice.wait_for_statuses(3).await;
    app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["delivered"] == 3).await;

    // The costs report bills every started minute of every call, at the tariff (€ 0.10).
    let billed: i64 = calls.iter().map(|call| i64::from(speaking_seconds(&call.text).div_ceil(60))).sum();
    let mut conn = app.database.connect().await;
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(49);
    while rollup::roll_up_alerts(&mut conn, later).await.unwrap().busy {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let today = dutch_date(chrono::Utc::now());
    let costs = app.get_json(&format!("/v1/reports/costs?from={today}&to={today}"), &app.admin_token()).await;
    assert_eq!(costs["total"]["voice_minutes"], billed, "{}", costs["total"]);
    assert_eq!(costs["total"]["voice_eur"], billed as f64 / 10.0, "{}", costs["total"]);
}

#[tokio::test]
async fn a_call_nobody_answers_is_placed_once_more_and_a_dead_number_quarantines() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    const DEAD: &str = "+31650200009";
    phone_only(&app, CALLER, vec!["voice"]).await;
    let dead = app.participant(DEAD, Profile { channels: vec!["voice"], ..Profile::default() }).await;
    app.voice.set_outcome(CALLER, CallOutcomeFake::NoAnswer);
    app.voice.set_outcome(DEAD, CallOutcomeFake::Failed { error_code: "invalid_number".into() });

    let id = app.send_new_alert(&dispatcher, calling_alert()).await;
    app.voice.wait_for_statuses(2).await;
    // Nobody picked up: the delivery waits for the next call; the dead number failed for good.
    let counters = app
        .wait_for_counters(&dispatcher, &id, |c| c["voice"]["retrying"] == 1 && c["voice"]["failed"] == 1)
        .await;
    assert_eq!(counters["voice"]["delivered"], 0, "{counters}");
    let me = app.get_json("/v1/me", &dead.access_token).await;
    assert_eq!(me["status"], "quarantined", "a dead number is the municipality's to look at: {me}");

    // The next call is placed; nobody answers it either: the delivery fails, with no third call.
    call_again_now(&app).await;
    let calls = app.voice.wait_for_calls(3).await;
    assert_eq!(calls_to(&app, CALLER).len(), 2, "{calls:?}");
    app.voice.wait_for_statuses(3).await;
    let counters = app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["failed"] == 2).await;
    assert_eq!(counters["voice"]["retrying"], 0, "{counters}");
    call_again_now(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls_to(&app, CALLER).len(), 2, "a call is tried twice, not more");

    let entries = call_entries(&app, &dispatcher, &id).await;
    let seen: Vec<(Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (e["body"]["status"].clone(), e["body"]["error_code"].clone(), e["body"]["calls_again"].clone())
        })
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.contains(&(json!("no_answer"), Value::Null, json!(true))), "{seen:?}");
    assert!(seen.contains(&(json!("no_answer"), Value::Null, json!(false))), "{seen:?}");
    assert!(seen.contains(&(json!("failed"), json!("invalid_number"), json!(false))), "{seen:?}");
    let verification = app.get_json(&format!("/v1/alerts/{id}/dossier/verification"), &dispatcher).await;
    assert_eq!(verification["intact"], true, "{verification}");
}

#[tokio::test]
async fn an_alert_closed_before_the_second_call_places_none_and_calls_nobody_it_did_not_reach() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_only(&app, CALLER, vec!["voice"]).await;
    app.voice.set_outcome(CALLER, CallOutcomeFake::Busy);
    let id = app.send_new_alert(&dispatcher, calling_alert()).await;
    app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["retrying"] == 1).await;

    let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "De actie is gestopt."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    call_again_now(&app).await;
    let counters = app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["failed"] == 1).await;
    assert_eq!(counters["voice"]["retrying"], 0, "{counters}");
    assert_eq!(counters["batches_pending"], 0, "{counters}");
    let failed = app
        .database_count("SELECT count(*) AS count FROM deliveries WHERE channel = 'voice' AND error_code = 'alert_closed'")
        .await;
    assert_eq!(failed, 1);
    // The busy line was never reached: no second call, and no call for the closing message.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls_to(&app, CALLER).len(), 1);
}

#[tokio::test]
async fn where_the_order_puts_a_call_first_it_comes_before_an_sms_and_after_a_failed_push() {
    let orders = ChannelOrders { search: ChannelOrder::PushVoiceSms, ..ChannelOrders::default() };
    let app = app_with(orders).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_only(&app, TEXTER, vec!["push", "sms", "voice"]).await;
    let dead_phone = android_device("dead-token");
    let dead_token = dead_phone["push_token"].as_str().unwrap().to_string();
    app.fcm.unregister(&dead_token);
    let app_user =
        Profile { channels: vec!["push", "sms", "voice"], devices: vec![dead_phone], ..Profile::default() };
    app.participant(APP_USER, app_user).await;

    let id = app.send_new_alert(&dispatcher, calling_alert()).await;
    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["channels"], json!(["push", "voice", "sms"]));
    // The texter is called, not texted; the app user is called once their push failed for good.
    let calls = app.voice.wait_for_calls(2).await;
    let mut called: Vec<&str> = calls.iter().map(|call| call.to.as_str()).collect();
    called.sort_unstable();
    assert_eq!(called, [TEXTER, APP_USER]);
    app.wait_for_counters(&dispatcher, &id, |c| c["voice"]["delivered"] == 2 && c["batches_pending"] == 0)
        .await;
    let alert_sms = app.sms.sent().into_iter().filter(|sms| sms.body.contains("Gezocht")).count();
    assert_eq!(alert_sms, 0, "a call first: no SMS to whom a call reached");
    let reasons = app
        .database_count(
            "SELECT count(*) AS count FROM deliveries
              WHERE channel = 'voice' AND reason IN ('no_push_device', 'push_failed')",
        )
        .await;
    assert_eq!(reasons, 2);
}

#[tokio::test]
async fn inform_alerts_never_call_and_a_dispatcher_cannot_ask_them_to() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_only(&app, CALLER, vec!["voice"]).await;
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["category"] = json!("inform");
    body["urgent"] = json!(false);
    body["channels"] = json!(["push", "voice"]);
    let response = app.send_json_as(Method::POST, "/v1/alerts", &dispatcher, &body).await;
    let problem = assert_problem(response, 422, "invalid_channels").await;
    assert!(problem["detail"].as_str().unwrap().contains("inform alerts do not call"), "{problem}");
    let preview = json!({"category": "inform", "urgent": false, "channels": ["voice"],
                         "area": circle(ROTTERDAM, 2_000.0)});
    let response = app.send_json_as(Method::POST, "/v1/alerts/reach-preview", &dispatcher, &preview).await;
    assert_problem(response, 422, "invalid_channels").await;

    // Sent without calls, it reaches nobody who chose only calls.
    body["channels"] = json!(["push", "sms"]);
    let id = app.send_new_alert(&dispatcher, body).await;
    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["counters"]["recipients"], 0, "{alert}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.voice.calls().is_empty());
}

#[tokio::test]
async fn only_statuses_signed_with_the_gateways_secret_are_heard_and_unknown_calls_change_nothing() {
    let app = app().await;
    let status = json!({"id": "call-unknown", "reference": "r-1", "status": "answered",
                        "duration_seconds": 30, "at": "2026-12-07T03:12:09Z"});
    let body = serde_json::to_vec(&status).unwrap();
    let post = |signature: Option<String>, timestamp: i64, body: Vec<u8>| {
        let mut request = app
            .client
            .post(app.url(STATUSES))
            .header("Content-Type", "application/json")
            .header("X-Signature-Timestamp", timestamp.to_string())
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Signature", signature);
        }
        request.send()
    };
    let now = chrono::Utc::now().timestamp();
    let secret = app.voice.webhook_secret().as_bytes().to_vec();
    let response = post(None, now, body.clone()).await.unwrap();
    assert_problem(response, 401, "invalid_signature").await;
    let wrong = webhook_signature::sign(b"not-the-gateways-secret-of-32-chars", now, &body);
    assert_problem(post(Some(wrong), now, body.clone()).await.unwrap(), 401, "invalid_signature").await;
    let stale = now - 3600;
    let signed_long_ago = webhook_signature::sign(&secret, stale, &body);
    assert_problem(post(Some(signed_long_ago), stale, body.clone()).await.unwrap(), 401, "invalid_signature")
        .await;
    // Signed, but for no call of ours: acknowledged, nothing recorded.
    let signed = webhook_signature::sign(&secret, now, &body);
    assert_eq!(post(Some(signed), now, body).await.unwrap().status(), 202);
    // Signed, but not a call status.
    let nonsense = br#"{"id": "call-1", "status": "hung_up"}"#.to_vec();
    let signed = webhook_signature::sign(&secret, now, &nonsense);
    assert_problem(post(Some(signed), now, nonsense).await.unwrap(), 422, "invalid_call_status").await;
}
