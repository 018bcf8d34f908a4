//! How an alert reaches people: push to every device over APNs and FCM (the local fakes, over
//! TLS and HTTP/2), SMS when push is impossible, fails for good, or is not acknowledged in time,
//! dead tokens removed, and passing failures retried within a budget without a storm.

use std::time::Duration;

use burgernet_core::alerts::delivery::DeliverySettings;
use burgernet_core::db::jobs::JobState;
use burgernet_fakes::faults::{Fault, Rates};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{
    Profile, ROTTERDAM, alert_body, android_device, circle, ios_device, read_events,
};
use crate::helpers::jobs::describe;
use crate::helpers::{TestApp, TestAppOptions};

async fn app_with(delivery: DeliverySettings) -> TestApp {
    let app =
        TestApp::spawn_with(TestAppOptions { workers: true, delivery, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

async fn app() -> TestApp {
    app_with(TestAppOptions::default().delivery).await
}

fn token_of(device: &Value) -> String {
    device["push_token"].as_str().unwrap().to_string()
}

/// The alert's SMS, by recipient (notices and sign-in codes left out).
fn alert_sms_to(app: &TestApp) -> Vec<String> {
    let mut to: Vec<String> = app
        .sms
        .sent()
        .into_iter()
        .filter(|sms| sms.reference.as_deref().is_some_and(|reference| reference.contains(':')))
        .map(|sms| sms.to)
        .collect();
    to.sort();
    to
}

#[tokio::test]
async fn every_device_gets_the_push_and_sms_goes_only_where_push_cannot() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let android = android_device("pixel");
    let iphone = ios_device(7);
    app.participant(
        "+31620000001",
        Profile { devices: vec![android.clone(), iphone.clone()], language: "en", ..Profile::default() },
    )
    .await;
    app.participant("+31620000002", Profile::default()).await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 2, "{counters}");
    assert_eq!(counters["push"]["sent"], 2, "{counters}");
    assert_eq!(counters["sms"]["sent"], 1, "{counters}");

    let fcm = app.fcm.received();
    assert_eq!(fcm.len(), 1);
    assert_eq!(fcm[0].token, token_of(&android));
    assert_eq!(fcm[0].title.as_deref(), Some("Burgernet: Wanted: man on a white scooter"));
    assert_eq!(
        fcm[0].body.as_deref(),
        Some(
            "Man, 25-35, black coat, red scarf.\nDo not approach; call 112.\nSeen anything? Call 0900-8844."
        )
    );
    assert_eq!(fcm[0].priority.as_deref(), Some("HIGH"));
    assert_eq!(fcm[0].collapse_key.as_deref(), Some(id.as_str()));
    assert_eq!(fcm[0].data.get("alert_id").map(String::as_str), Some(id.as_str()));
    assert_eq!(fcm[0].data.get("kind").map(String::as_str), Some("alert"));

    let apns = app.apns.fake.received();
    assert_eq!(apns.len(), 1);
    assert_eq!(apns[0].token, token_of(&iphone));
    assert_eq!(apns[0].priority, Some(10));
    assert_eq!(apns[0].collapse_id.as_deref(), Some(id.as_str()));
    assert_eq!(apns[0].payload["aps"]["interruption-level"], "time-sensitive");
    assert_eq!(apns[0].payload["aps"]["alert"]["title"], "Burgernet: Wanted: man on a white scooter");
    assert_eq!(apns[0].payload["alert_id"], id);

    assert_eq!(alert_sms_to(&app), ["+31620000002"], "no SMS for the participant whose push works");
}

#[tokio::test]
async fn a_non_urgent_alert_is_quiet_and_goes_by_email_to_those_who_chose_it() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let android = android_device("quiet");
    app.participant("+31620000011", Profile { devices: vec![android], ..Profile::default() }).await;
    let mailer = app
        .participant("+31620000012", Profile { channels: vec!["email", "sms"], ..Profile::default() })
        .await;
    app.expect_ok(Method::PATCH, "/v1/me", &mailer.access_token, json!({"email": "lezer@example.nl"})).await;
    app.database_exec("UPDATE participants SET email_verified_at = now() WHERE email IS NOT NULL").await;

    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["urgent"] = json!(false);
    body["category"] = json!("inform");
    body["channels"] = json!(["push", "sms", "email"]);
    let id = app.send_new_alert(&dispatcher, body).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["push"]["sent"], 1, "{counters}");
    assert_eq!(counters["email"]["sent"], 1, "{counters}");
    assert_eq!(counters["sms"]["sent"], 0, "e-mail reaches them, so no SMS: {counters}");
    assert_eq!(app.fcm.received()[0].priority.as_deref(), Some("NORMAL"));
    let mails: Vec<_> =
        app.smtp.messages().into_iter().filter(|m| m.subject.starts_with("Burgernet: Gezocht")).collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["lezer@example.nl"]);
    assert!(mails[0].text_body.contains("Gezien? Bel 0900-8844."), "{}", mails[0].text_body);
}

#[tokio::test]
async fn a_dead_token_removes_the_device_and_an_sms_takes_over() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let old_phone = android_device("gone");
    let old_iphone = ios_device(99);
    let me = app
        .participant(
            "+31620000021",
            Profile { devices: vec![old_phone.clone(), old_iphone.clone()], ..Profile::default() },
        )
        .await;
    app.fcm.unregister(&token_of(&old_phone));
    app.apns.fake.unregister(&token_of(&old_iphone));

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["push"]["failed"], 2, "{counters}");
    assert_eq!(counters["sms"]["sent"], 1, "{counters}");
    assert_eq!(alert_sms_to(&app), ["+31620000021"]);
    assert_eq!(
        app.get_json("/v1/me/devices", &me.access_token).await,
        json!([]),
        "both dead devices are gone"
    );
    assert_eq!(app.fcm.requests(), 1, "a dead token is not retried");
    assert_eq!(app.apns.fake.requests().len(), 1, "a dead token is not retried");

    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let removed: Vec<&Value> =
        dossier["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "device_removed").collect();
    assert_eq!(removed.len(), 2);
    let sms_result = dossier["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deliveries")
        .flat_map(|e| e["body"]["results"].as_array().unwrap().clone())
        .find(|r| r["channel"] == "sms")
        .unwrap();
    assert_eq!(sms_result["reason"], "push_failed");
}

#[tokio::test]
async fn an_urgent_push_nobody_acknowledged_is_followed_by_an_sms() {
    let delivery = DeliverySettings {
        sms_fallback_after: Duration::from_secs(4),
        retry_base: Duration::from_millis(20),
        ..DeliverySettings::default()
    };
    let sms_fallback_after = delivery.sms_fallback_after;
    let app = app_with(delivery).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let attentive = app
        .participant("+31620000031", Profile { devices: vec![android_device("awake")], ..Profile::default() })
        .await;
    app.participant(
        "+31620000032",
        Profile { devices: vec![android_device("asleep")], ..Profile::default() },
    )
    .await;
    app.participant(
        "+31620000033",
        Profile { channels: vec!["push"], devices: vec![android_device("push-only")], ..Profile::default() },
    )
    .await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.fcm.wait_for_received(3).await.unwrap();
    let receipt = json!({"kind": "received"});
    app.expect_ok(Method::POST, &format!("/v1/me/alerts/{id}/receipts"), &attentive.access_token, receipt)
        .await;

    // The check for unacknowledged pushes comes `sms_fallback_after` after the push lane ended.
    app.run_jobs_due_within(sms_fallback_after + Duration::from_secs(1)).await;
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(counters["sms"]["sent"], 1, "{counters}");
    assert_eq!(counters["acknowledged"], 1);
    assert_eq!(alert_sms_to(&app), ["+31620000032"], "only the one who chose SMS and did not acknowledge");
    // Nothing more follows: no job is left in the queue that could send it.
    let left = app.database.jobs().await;
    assert!(left.is_empty(), "{}", describe(&left));
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let reasons: Vec<Value> = dossier["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deliveries")
        .flat_map(|e| e["body"]["results"].as_array().unwrap().clone())
        .filter(|r| r["channel"] == "sms")
        .map(|r| r["reason"].clone())
        .collect();
    assert_eq!(reasons, [json!("not_acknowledged")]);
}

#[tokio::test]
async fn updates_and_the_closing_go_to_the_devices_that_got_the_alert() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let android = android_device("follow");
    app.participant("+31620000041", Profile { devices: vec![android.clone()], ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    let update = json!({"texts": {"nl": {"message": "Scooter gevonden bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    let closing = json!({"outcome": "soft_success", "texts": {"nl": {"message": "De man is aangehouden."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;

    let received = app.fcm.wait_for_received(3).await.unwrap();
    let kinds: Vec<&str> = received.iter().map(|push| push.data["kind"].as_str()).collect();
    assert_eq!(kinds, ["alert", "update", "closing"], "in order");
    assert_eq!(received[2].body.as_deref(), Some("De man is aangehouden."));
    assert_eq!(received[2].priority.as_deref(), Some("NORMAL"), "the closing message is not urgent");
    assert!(received.iter().all(|push| push.collapse_key.as_deref() == Some(id.as_str())));
    assert!(alert_sms_to(&app).is_empty());
}

/// The update's push lane job: the tail of a query about it.
const UPDATE_JOB: &str =
    "FROM background_jobs j JOIN alert_messages m ON m.id = (j.payload->>'message_id')::uuid
     WHERE j.job_type = 'deliver_push' AND m.kind = 'update'";

#[tokio::test]
async fn a_follow_up_waits_for_its_batch_without_spending_attempts_and_goes_after_a_batch_failed_for_good() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31620000051", Profile { devices: vec![ios_device(51)], ..Profile::default() }).await;
    app.participant("+31620000052", Profile { devices: vec![android_device("down")], ..Profile::default() })
        .await;
    // FCM is over its quota (429 QUOTA_EXCEEDED): the batch's push lane waits at least a minute
    // to retry the Android push.
    app.fcm.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 2 });
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.apns.fake.wait_for_received(1).await.unwrap();
    app.wait_for_counters(&dispatcher, &id, |c| c["push"]["sent"] == 1 && c["push"]["retrying"] == 1).await;

    let update = json!({"texts": {"nl": {"message": "Gezien bij de Maas."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    // The update's job runs, finds the alert still on its way to the batch, and waits (2 s at a
    // time): none of its runs, here made due at once three times over, spends an attempt.
    let waited =
        format!("SELECT count(*) {UPDATE_JOB} AND j.last_error LIKE 'waiting for the earlier messages%'");
    // Read while it waits in the queue (a run in progress holds its attempt until it ends).
    let attempts_while_queued = format!(
        "SELECT coalesce(max(j.attempts) FILTER (WHERE j.state = 'queued'), -1)::bigint AS count {UPDATE_JOB}"
    );
    for run in 1..=3 {
        if run > 1 {
            let due_now =
                format!("UPDATE background_jobs SET run_at = now() WHERE id IN (SELECT j.id {UPDATE_JOB})");
            app.database_exec(&due_now).await;
        }
        app.run_pending_jobs().await;
        assert_eq!(app.database_count(&waited).await, 1, "run {run} of the update's job waited");
        let mut attempts = app.database_count(&attempts_while_queued).await;
        if attempts == -1 {
            // Its next run (2 s on) began meanwhile.
            app.run_pending_jobs().await;
            attempts = app.database_count(&attempts_while_queued).await;
        }
        assert_eq!(attempts, 0, "after run {run}");
        assert_eq!(app.apns.fake.requests().len(), 1, "the update did not overtake the alert");
    }

    // The alert's push lane job fails for good: its next failed run, due now, is its last.
    app.database_exec(
        "UPDATE background_jobs j SET max_attempts = j.attempts + 1, run_at = now()
           FROM alert_messages m
          WHERE m.id = (j.payload->>'message_id')::uuid AND m.kind = 'alert' AND j.job_type = 'deliver_push'",
    )
    .await;
    app.run_pending_jobs().await;
    let failed = "SELECT count(*) FROM background_jobs WHERE job_type = 'deliver_push' AND state = 'failed'";
    assert_eq!(app.database_count(failed).await, 1, "the alert's push lane job failed for good");
    // The update still goes out, to the device the alert reached, and nothing is pending any more.
    let received = app.apns.fake.wait_for_received(2).await.unwrap();
    assert_eq!(received[1].payload["kind"], "update", "{:?}", received[1].payload);
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["push"]["sent"], 2, "{counters}");
    let abandoned = app
        .database_count(&format!(
            "SELECT count(*) FROM delivery_batches b JOIN alert_messages m ON m.id = b.message_id
              WHERE b.alert_id = '{id}' AND m.kind = 'alert' AND b.lane = 'push'
                AND b.finished_at IS NOT NULL AND b.abandoned_at IS NOT NULL"
        ))
        .await;
    assert_eq!(abandoned, 1, "the failed batch counts as finished, and as abandoned");

    // Nor does the abandoned batch hold up the closing or the end of the control room's stream.
    let stream = app.client.get(app.url(&format!("/v1/alerts/{id}/events"))).bearer_auth(&dispatcher);
    let stream = stream.send().await.unwrap();
    let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "De actie is beëindigd."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let received = app.apns.fake.wait_for_received(3).await.unwrap();
    assert_eq!(received[2].payload["kind"], "closing", "{:?}", received[2].payload);
    let events = read_events(stream, |events| events.iter().any(|(event, _)| event == "end")).await;
    assert!(events.iter().any(|(event, data)| event == "dossier" && data["kind"] == "closed"), "{events:?}");
}

#[tokio::test]
async fn passing_failures_are_retried_within_the_budget_without_a_storm() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut tokens = Vec::new();
    for n in 0..12 {
        let android = android_device(&format!("flaky-{n}"));
        let iphone = ios_device(1_000 + n);
        tokens.push(token_of(&android));
        tokens.push(token_of(&iphone));
        app.participant(
            &format!("+316200001{n:02}"),
            Profile { devices: vec![android, iphone], ..Profile::default() },
        )
        .await;
    }
    let dead = android_device("flaky-dead");
    let dead_participant = app
        .participant(
            "+31620000199",
            Profile { devices: vec![dead.clone()], channels: vec!["push"], ..Profile::default() },
        )
        .await
        .participant_id
        .to_string();
    app.fcm.unregister(&token_of(&dead));
    // FCM's 429 is QUOTA_EXCEEDED, which pauses FCM for a minute (see below): only APNs says
    // "slow down" here.
    let flaky = Rates { server_error: 0.3, rate_limited: 0.0, retry_after_seconds: 1, drop_connection: 0.0 };
    app.fcm.faults().set_rates(flaky);
    app.apns.fake.faults().set_rates(Rates { rate_limited: 0.1, ..flaky });

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let counters = app
        .wait_for_counters(&dispatcher, &id, |c| c["push"]["sent"] == 24 && c["batches_pending"] == 0)
        .await;
    assert_eq!(counters["push"]["failed"], 1, "only the dead token: {counters}");
    assert_eq!(counters["push"]["retrying"], 0);

    let mut delivered: Vec<String> =
        app.fcm.counts_by_token().into_keys().chain(app.apns.fake.counts_by_token().into_keys()).collect();
    delivered.sort();
    tokens.sort();
    assert_eq!(delivered, tokens, "every device got the alert");
    assert!(
        app.fcm
            .counts_by_token()
            .values()
            .chain(app.apns.fake.counts_by_token().values())
            .all(|count| *count == 1),
        "and exactly once"
    );
    // About 1.7 attempts per push are expected at these rates; a storm would be many more.
    let requests = app.fcm.requests() + app.apns.fake.requests().len();
    assert!(requests <= 25 * 3, "{requests} requests for 25 pushes");
    // The dead token may meet a 503 first, like any other; once FCM calls it unregistered it is
    // removed and never tried again.
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let dead_results: Vec<Value> = dossier["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "deliveries")
        .flat_map(|entry| entry["body"]["results"].as_array().unwrap().clone())
        .filter(|result| result["participant_id"] == dead_participant.as_str())
        .collect();
    let last = dead_results.last().unwrap();
    assert_eq!((last["error_code"].clone(), last["state"].clone()), (json!("UNREGISTERED"), json!("failed")));
    assert_eq!(dead_results.iter().filter(|result| result["error_code"] == "UNREGISTERED").count(), 1);
    let removed =
        dossier["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "device_removed").count();
    assert_eq!(removed, 1);
}

#[tokio::test]
async fn a_provider_asking_to_wait_gets_its_pause_while_the_other_goes_on() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31620000201", Profile { devices: vec![ios_device(201)], ..Profile::default() }).await;
    app.participant("+31620000202", Profile { devices: vec![android_device("eager")], ..Profile::default() })
        .await;
    app.apns.fake.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 2 });

    let started = std::time::Instant::now();
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.fcm.wait_for_received(1).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "FCM waited for APNs: {:?}", started.elapsed());
    app.apns.fake.wait_for_received(1).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2), "APNs retried after {:?}", started.elapsed());
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["push"]["sent"], 2);
    assert_eq!(app.apns.fake.requests().len(), 2);
}

#[tokio::test]
async fn fcm_over_its_quota_is_left_alone_for_at_least_a_minute_and_apns_is_not() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant(
        "+31620000211",
        Profile { devices: vec![android_device("over-quota")], ..Profile::default() },
    )
    .await;
    app.participant("+31620000212", Profile { devices: vec![ios_device(212)], ..Profile::default() }).await;
    // 429 QUOTA_EXCEEDED with Retry-After: 2. Google asks for at least a minute.
    app.fcm.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 2 });

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.apns.fake.wait_for_received(1).await.unwrap();
    let counters = app
        .wait_for_counters(&dispatcher, &id, |c| c["push"]["sent"] == 1 && c["push"]["retrying"] == 1)
        .await;
    assert_eq!(counters["batches_pending"], 1, "{counters}");
    let error = app
        .database_count(&format!(
            "SELECT count(*) FROM deliveries WHERE alert_id = '{id}' AND state = 'retrying'
                AND error_code = 'QUOTA_EXCEEDED'"
        ))
        .await;
    assert_eq!(error, 1);
    // The push lane's job comes back after the minute (plus jitter), not after Retry-After.
    app.run_pending_jobs().await;
    let requeued =
        "SELECT count(*) FROM background_jobs WHERE job_type = 'deliver_push' AND state = 'queued'";
    assert_eq!(app.database_count(requeued).await, 1, "the push lane's job was queued again");
    let queued_for = app
        .database_count(
            "SELECT min(extract(epoch FROM run_at - now()))::bigint AS count FROM background_jobs
              WHERE job_type = 'deliver_push' AND state = 'queued'",
        )
        .await;
    assert!((55..=80).contains(&queued_for), "the push lane comes back in {queued_for} s");
    // The queue has run dry and its one job for FCM waits out the pause: nothing else can go
    // to FCM meanwhile.
    let left: Vec<_> = app.database.jobs().await.into_iter().map(|job| (job.job_type, job.state)).collect();
    assert_eq!(left, [("deliver_push".to_string(), JobState::Queued)]);
    assert_eq!(app.fcm.requests(), 1, "nothing more went to FCM within its pause");
}
