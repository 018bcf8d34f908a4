//! The reports on alerts (issue 17, reports 3 to 5) over a known population and known alerts:
//! alert results, the delivery funnel and the costs, every figure checked, in JSON and CSV, for
//! the country, a region and each municipality; and who may read them.
//!
//! The scene: in Rotterdam (GM0599) five participants with a working Android phone, five whose
//! token is dead, and one without a device whose SMS does not arrive; in Schiedam (GM0606) five
//! with a working phone. Alert A (urgent search, both towns) is acknowledged by the five working
//! Rotterdam phones and one in Schiedam, opened by the five in Rotterdam, gets two tips, and ends
//! in a hard success; B, C and D go to Schiedam only: B ends in a soft success, C is cancelled, D
//! stays active. Unacknowledged urgent pushes get an SMS after 6 seconds.

use std::time::Duration;

use burgernet_core::alerts::delivery::DeliverySettings;
use burgernet_core::config::ReportSettings;
use burgernet_core::providers::sms_text;
use burgernet_core::reports::costs::Tariffs;
use burgernet_core::reports::{dutch_date, rollup};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};

const SCHIEDAM: (f64, f64) = (51.9193, 4.3988);
/// Between the two: a circle of 7 km around it covers both.
const BETWEEN: (f64, f64) = (51.9209, 4.4390);
/// Long enough for the receipts a test posts to come first, even on a busy machine.
const FALLBACK_AFTER: Duration = Duration::from_secs(6);

fn tariffs() -> Tariffs {
    Tariffs {
        sms_segment_micros: 50_000,
        push_micros: 100,
        email_micros: 2_000,
        voice_minute_micros: 250_000,
    }
}

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions {
        workers: true,
        delivery: DeliverySettings {
            sms_fallback_after: FALLBACK_AFTER,
            retry_base: Duration::from_millis(20),
            ..DeliverySettings::default()
        },
        reports: ReportSettings { tariffs: tariffs(), ..ReportSettings::default() },
        ..TestAppOptions::default()
    })
    .await;
    app.load_reference_data().await;
    app
}

struct Person {
    me: SignedIn,
    phone: String,
    /// The id of the working device, if any.
    device: Option<String>,
}

async fn person(
    app: &TestApp,
    phone: &str,
    home: (f64, f64),
    device: Option<Value>,
    language: &'static str,
) -> Person {
    let devices = device.into_iter().collect();
    let me =
        app.participant(phone, Profile { places: vec![home], devices, language, ..Profile::default() }).await;
    let listed = app.get_json("/v1/me/devices", &me.access_token).await;
    let device = listed.as_array().unwrap().first().map(|d| d["id"].as_str().unwrap().to_string());
    Person { me, phone: phone.to_string(), device }
}

async fn receipt(app: &TestApp, alert: &str, person: &Person, kind: &str) {
    let body = json!({"kind": kind, "device_id": person.device});
    app.expect_ok(Method::POST, &format!("/v1/me/alerts/{alert}/receipts"), &person.me.access_token, body)
        .await;
}

async fn close(app: &TestApp, dispatcher: &str, alert: &str, outcome: &str) {
    let closing = json!({"outcome": outcome, "texts": {"nl": {"message": "De actie is afgelopen. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/close"), dispatcher, closing).await;
}

/// Rolls up until this round was not skipped for a worker's housekeeping holding the lock.
async fn roll_up(app: &TestApp, now: chrono::DateTime<chrono::Utc>) {
    let mut conn = app.database.connect().await;
    loop {
        let round = rollup::roll_up_alerts(&mut conn, now).await.unwrap();
        if !round.busy {
            assert_eq!(round.failed, 0);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the SMS gateway's receipts for every SMS accepted are recorded.
async fn wait_for_sms_receipts(app: &TestApp) {
    for _ in 0..300 {
        let waiting = app
            .database_count("SELECT count(*) FROM deliveries WHERE channel = 'sms' AND state = 'sent'")
            .await;
        if waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SMS receipts never all arrived");
}

async fn report(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get_as(path, token).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The figure at `pointer` of each channel, push, SMS, e-mail.
fn per_channel(figures: &Value, field: &str) -> Vec<Value> {
    figures["channels"].as_array().unwrap().iter().map(|c| c[field].clone()).collect()
}

fn exact(count: i64) -> Value {
    json!({"count": count})
}

fn hidden() -> Value {
    json!({"fewer_than": 5})
}

/// The SMS segments the gateway received for these numbers (as it counts them, independently of
/// the rollup).
fn segments_sent_to(app: &TestApp, numbers: &[String]) -> i64 {
    app.sms
        .sent()
        .iter()
        .filter(|sms| numbers.contains(&sms.to) && sms.reference.as_deref().is_some_and(|r| r.contains(':')))
        .map(|sms| sms_text::prepare(&sms.body).segments as i64)
        .sum()
}

#[tokio::test]
async fn alert_results_delivery_and_costs_count_every_message_of_a_known_scene() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // Receipts come two seconds after acceptance, when the delivery is surely recorded (one for
    // a delivery not yet recorded would be ignored).
    app.sms.set_receipts(&app.url("/v1/sms/receipts"), app.sms.webhook_secret(), Duration::from_secs(2));

    let mut working = Vec::new();
    for n in 1..=5 {
        let device = android_device(&format!("r{n}"));
        working.push(person(&app, &format!("+3162000010{n}"), ROTTERDAM, Some(device), "nl").await);
    }
    let mut dead_ones = Vec::new();
    for n in 1..=5 {
        let dead = android_device(&format!("dead{n}"));
        app.fcm.unregister(dead["push_token"].as_str().unwrap());
        dead_ones.push(person(&app, &format!("+3162000020{n}"), ROTTERDAM, Some(dead), "nl").await);
    }
    let unreachable = person(&app, "+31620000301", ROTTERDAM, None, "en").await;
    app.sms.mark_undeliverable(unreachable.phone.clone());
    let mut schiedam = Vec::new();
    for n in 1..=5 {
        let device = android_device(&format!("s{n}"));
        schiedam.push(person(&app, &format!("+3162000040{n}"), SCHIEDAM, Some(device), "nl").await);
    }

    // A, both towns: its Dutch SMS takes two segments, its English one one.
    let mut body_a = alert_body(circle(BETWEEN, 7_000.0));
    body_a["texts"]["nl"]["message"] = json!(
        "Man, 25-35 jaar, zwarte jas, rode sjaal, witte helm en een grote blauwe rugtas; hij vluchtte over de Coolsingel richting het Centraal Station."
    );
    let a = app.send_new_alert(&dispatcher, body_a).await;
    app.wait_until_delivered(&dispatcher, &a).await;
    for p in &working {
        receipt(&app, &a, p, "opened").await;
    }
    receipt(&app, &a, &schiedam[0], "received").await;
    app.run_jobs_due_within(FALLBACK_AFTER + Duration::from_secs(1)).await;
    let tip = json!({"text": "Witte scooter bij het station."});
    app.expect_ok(Method::POST, &format!("/v1/me/alerts/{a}/tips"), &working[0].me.access_token, tip).await;
    let anonymous = json!({"text": "Hij ging richting de Maas.", "anonymous": true});
    app.expect_ok(Method::POST, &format!("/v1/me/alerts/{a}/tips"), &working[1].me.access_token, anonymous)
        .await;
    close(&app, &dispatcher, &a, "hard_success").await;
    app.run_jobs_due_within(Duration::from_secs(1)).await;

    // B, C and D: Schiedam only, nobody acknowledges.
    let schiedam_alert = |category: &'static str| {
        let mut body = alert_body(circle(SCHIEDAM, 1_000.0));
        body["category"] = json!(category);
        body
    };
    for (category, outcome) in
        [("engage", Some("soft_success")), ("alarm", Some("cancelled")), ("search", None)]
    {
        let alert = app.send_new_alert(&dispatcher, schiedam_alert(category)).await;
        app.wait_until_delivered(&dispatcher, &alert).await;
        app.run_jobs_due_within(FALLBACK_AFTER + Duration::from_secs(1)).await;
        if let Some(outcome) = outcome {
            close(&app, &dispatcher, &alert, outcome).await;
            app.run_jobs_due_within(Duration::from_secs(1)).await;
        }
    }
    wait_for_sms_receipts(&app).await;
    roll_up(&app, chrono::Utc::now()).await;

    let today = dutch_date(chrono::Utc::now());
    let period = format!("from={today}&to={today}");
    let admin = app.admin_token();
    let month = format!("{}", today.format("%Y-%m-01"));

    // --- Alert results ---
    let national = report(&app, &format!("/v1/reports/alert-results?{period}"), &admin).await;
    let region = report(&app, &format!("/v1/reports/alert-results?{period}"), &dispatcher).await;
    assert_eq!(national["scope"]["level"], "national");
    assert_eq!(region["scope"]["level"], "region");
    for report in [&national, &region] {
        let total = &report["total"];
        assert_eq!(
            total["outcomes"],
            json!({"hard_success": 1, "soft_success": 1, "no_result": 0, "cancelled": 1, "active": 1})
        );
        assert_eq!(total["alerts"], 4);
        // Of the two that ran their course (the cancelled and the active one do not count).
        assert_eq!(total["hard_success_percent"], 50.0);
        assert_eq!(total["hard_and_soft_success_percent"], 100.0);
        // 16 for A, 5 each for B, C, D.
        assert_eq!(total["reach"], exact(31));
        assert_eq!(total["tips"], 2);
        assert_eq!(total["tips_per_alert"], 0.5);
        assert_eq!(total["acknowledged"], exact(6));
        assert_eq!(total["acknowledged_percent"], 19.4, "6 of 31");
        assert_eq!(total["opened"], exact(5));
        assert_eq!(total["opened_percent"], 16.1, "5 of 31");
        assert_eq!(report["months"].as_array().unwrap().len(), 1);
        assert_eq!(report["months"][0]["month"], month.as_str());
        let mut in_month = report["months"][0].clone();
        in_month.as_object_mut().unwrap().remove("month");
        assert_eq!(&in_month, total, "one month: the same figures");
        assert_eq!(
            report["by_category"],
            json!([
                {"category": "alarm", "urgent": true, "alerts": 1},
                {"category": "engage", "urgent": true, "alerts": 1},
                {"category": "search", "urgent": true, "alerts": 2},
            ])
        );
        let times = &report["push_times"];
        assert_eq!(times["alerts"], 4, "every alert pushed");
        for to in ["to_first_push", "to_last_push"] {
            let (median, p95) =
                (times[to]["median_seconds"].as_f64().unwrap(), times[to]["p95_seconds"].as_f64().unwrap());
            assert!((0.0..=30.0).contains(&median) && median <= p95 && p95 <= 30.0, "{times}");
        }
        assert!(
            times["to_first_push"]["median_seconds"].as_f64()
                <= times["to_last_push"]["median_seconds"].as_f64()
        );
        assert_eq!(
            report["municipalities"],
            json!([
                {"cbs_code": "GM0599", "name": "Rotterdam", "alerts": 1, "reach": exact(11), "acknowledged": exact(5), "opened": exact(5)},
                {"cbs_code": "GM0606", "name": "Schiedam", "alerts": 4, "reach": exact(20), "acknowledged": hidden(), "opened": hidden()},
            ])
        );
    }
    let amsterdam =
        report(&app, &format!("/v1/reports/alert-results?{period}&region=amsterdam"), &admin).await;
    assert_eq!(amsterdam["total"]["alerts"], 0, "another region's alerts");
    assert_eq!(amsterdam["total"]["hard_success_percent"], Value::Null);
    assert_eq!(amsterdam["total"]["reach"], hidden());

    let officer = app.relations_officer_token("GM0599");
    let rotterdam = report(&app, &format!("/v1/reports/alert-results?{period}"), &officer).await;
    assert_eq!(rotterdam["scope"]["cbs_code"], "GM0599");
    let total = &rotterdam["total"];
    assert_eq!(total["alerts"], 1, "only A reached Rotterdam");
    assert_eq!(
        total["outcomes"],
        json!({"hard_success": 1, "soft_success": 0, "no_result": 0, "cancelled": 0, "active": 0})
    );
    assert_eq!(
        (&total["hard_success_percent"], &total["hard_and_soft_success_percent"]),
        (&json!(100.0), &json!(100.0))
    );
    assert_eq!(total["reach"], exact(11), "Rotterdam's recipients only");
    assert_eq!((&total["tips"], &total["tips_per_alert"]), (&json!(2), &json!(2.0)), "the alert's tips");
    assert_eq!((&total["acknowledged"], &total["acknowledged_percent"]), (&exact(5), &json!(45.5)));
    assert_eq!((&total["opened"], &total["opened_percent"]), (&exact(5), &json!(45.5)));
    assert_eq!(rotterdam["push_times"]["alerts"], 1);
    let schiedam_report =
        report(&app, &format!("/v1/reports/alert-results?{period}&municipality=GM0606"), &dispatcher).await;
    let total = &schiedam_report["total"];
    assert_eq!(total["alerts"], 4);
    assert_eq!(
        total["outcomes"],
        json!({"hard_success": 1, "soft_success": 1, "no_result": 0, "cancelled": 1, "active": 1})
    );
    assert_eq!(total["reach"], exact(20));
    assert_eq!(
        (&total["acknowledged"], &total["acknowledged_percent"]),
        (&hidden(), &Value::Null),
        "1 is not shown"
    );
    assert_eq!((&total["opened"], &total["opened_percent"]), (&hidden(), &Value::Null));
    assert_eq!(total["tips_per_alert"], 0.5);

    // --- Delivery ---
    let delivery = report(&app, &format!("/v1/reports/delivery?{period}"), &admin).await;
    let total = &delivery["total"];
    // Push: A to 5 + 5 devices (5 dead), its closing to the 10 that work; B and C 5 each and
    // their closings; D 5. Receipts with the device mark 6 pushes delivered.
    assert_eq!(per_channel(total, "channel"), [json!("push"), json!("sms"), json!("email"), json!("voice")]);
    assert_eq!(per_channel(total, "sent"), [json!(45), json!(44), json!(0), json!(0)]);
    assert_eq!(per_channel(total, "delivered"), [json!(6), json!(43), json!(0), json!(0)]);
    assert_eq!(
        per_channel(total, "failed"),
        [json!(5), json!(1), json!(0), json!(0)],
        "dead tokens; the undeliverable SMS"
    );
    assert_eq!(per_channel(total, "acknowledged"), [exact(6), hidden(), hidden(), hidden()]);
    assert_eq!(per_channel(total, "opened"), [exact(5), hidden(), hidden(), hidden()]);
    // SMS: A to the 5 dead, the one without a device and the 4 in Schiedam who did not
    // acknowledge, and its closing to those it reached (not the one whose SMS failed); B, C, D 5
    // each, and the closings of B and C.
    assert_eq!(
        total["sms_fallbacks"],
        json!({"no_push_device": 1, "push_failed": 5, "not_acknowledged": 19})
    );
    assert_eq!(total["devices_removed"], exact(5));
    let mut in_month = delivery["months"][0].clone();
    assert_eq!(in_month.as_object_mut().unwrap().remove("month"), Some(json!(month)));
    assert_eq!(&in_month, total);
    let delivery_rotterdam = report(&app, &format!("/v1/reports/delivery?{period}"), &officer).await;
    let total = &delivery_rotterdam["total"];
    assert_eq!(per_channel(total, "sent"), [json!(10), json!(11), json!(0), json!(0)]);
    assert_eq!(per_channel(total, "delivered"), [json!(5), json!(10), json!(0), json!(0)]);
    assert_eq!(per_channel(total, "failed"), [json!(5), json!(1), json!(0), json!(0)]);
    assert_eq!(total["sms_fallbacks"], json!({"no_push_device": 1, "push_failed": 5, "not_acknowledged": 0}));
    assert_eq!(total["devices_removed"], exact(5));
    let region_manager = app.region_manager_token("rotterdam");
    let delivery_schiedam =
        report(&app, &format!("/v1/reports/delivery?{period}&municipality=GM0606"), &region_manager).await;
    let total = &delivery_schiedam["total"];
    assert_eq!(per_channel(total, "sent"), [json!(35), json!(33), json!(0), json!(0)]);
    assert_eq!(per_channel(total, "delivered"), [json!(1), json!(33), json!(0), json!(0)]);
    assert_eq!(
        total["sms_fallbacks"],
        json!({"no_push_device": 0, "push_failed": 0, "not_acknowledged": 19})
    );
    assert_eq!(total["devices_removed"], hidden());

    // --- Costs ---
    let rotterdam_numbers: Vec<String> =
        dead_ones.iter().chain([&unreachable]).map(|p| p.phone.clone()).collect();
    let schiedam_numbers: Vec<String> = schiedam.iter().map(|p| p.phone.clone()).collect();
    let (rotterdam_segments, schiedam_segments) =
        (segments_sent_to(&app, &rotterdam_numbers), segments_sent_to(&app, &schiedam_numbers));
    // A's Dutch SMS is two segments (to 5 + 4), its English one (to 1) and every other SMS one.
    assert_eq!((rotterdam_segments, schiedam_segments), (5 * 2 + 1 + 5, 4 * 2 + 4 + 25));
    let costs = report(&app, &format!("/v1/reports/costs?{period}"), &admin).await;
    assert_eq!(
        costs["tariffs"],
        json!({"sms_segment_micros": 50_000, "push_micros": 100, "email_micros": 2_000, "voice_minute_micros": 250_000})
    );
    let costs_of = |push: i64, sms: i64, segments: i64| {
        // As the report keeps them: in millionths of a euro, summed exactly.
        let (push_micros, sms_micros) = (push * 100, segments * 50_000);
        let euros = |micros: i64| micros as f64 / 1_000_000.0;
        let (push_eur, sms_eur, total_eur) =
            (euros(push_micros), euros(sms_micros), euros(push_micros + sms_micros));
        json!({"push_messages": push, "sms_messages": sms, "sms_segments": segments, "email_messages": 0,
               "voice_minutes": 0, "push_eur": push_eur, "sms_eur": sms_eur, "email_eur": 0.0, "voice_eur": 0.0,
               "total_eur": total_eur})
    };
    let rotterdam_costs = costs_of(10, 11, 16);
    let schiedam_costs = costs_of(35, 33, 37);
    assert_eq!(rotterdam_costs["total_eur"], 0.801);
    assert_eq!(schiedam_costs["total_eur"], 1.8535);
    assert_eq!(costs["total"], costs_of(45, 44, 53));
    assert_eq!(costs["total"]["total_eur"], 2.6545);
    assert_eq!(costs["inhabitants"], 2_190_541, "the demo region and Amsterdam");
    assert_eq!(costs["per_inhabitant_eur"], 0.000001, "€ 2.65 over 2.2 million");
    let municipalities = costs["municipalities"].as_array().unwrap();
    assert_eq!(municipalities.len(), 2, "those sent messages: {municipalities:?}");
    assert_eq!(
        (&municipalities[0]["cbs_code"], &municipalities[0]["inhabitants"], &municipalities[0]["total"]),
        (&json!("GM0599"), &json!(612_502), &rotterdam_costs)
    );
    assert_eq!(municipalities[0]["per_inhabitant_eur"], 0.000001, "€ 0.801 over 612,502");
    assert_eq!(
        (&municipalities[1]["cbs_code"], &municipalities[1]["inhabitants"], &municipalities[1]["total"]),
        (&json!("GM0606"), &json!(75_718), &schiedam_costs)
    );
    assert_eq!(municipalities[1]["per_inhabitant_eur"], 0.000024, "€ 1.8535 over 75,718");
    let mut month_costs = municipalities[1]["months"][0].clone();
    assert_eq!(month_costs.as_object_mut().unwrap().remove("month"), Some(json!(month)));
    assert_eq!(month_costs, schiedam_costs);
    let officer_costs = report(&app, &format!("/v1/reports/costs?{period}"), &officer).await;
    assert_eq!(officer_costs["total"], rotterdam_costs);
    assert_eq!(officer_costs["municipalities"].as_array().unwrap().len(), 1);

    // --- The same figures as CSV ---
    let response = app.get_as(&format!("/v1/reports/costs?{period}&format=csv"), &officer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"costs_GM0599_{today}_{today}.csv\"").as_str()
    );
    let csv = response.text().await.unwrap();
    assert!(
        csv.contains("Rotterdam,GM0599,612502,10,11,16,0,0,0.0010,0.80,0.00,0.00,0.80,0.000001\r\n"),
        "{csv}"
    );
    assert!(csv.contains("sms-segment,0.05\r\n"), "{csv}");
    let csv = app
        .get_as(&format!("/v1/reports/alert-results?{period}&municipality=GM0606&format=csv"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\r\ntotaal,4,1,1,0,1,1,50.0,100.0,20,2,0.50,<5,,<5,\r\n"), "{csv}");
    let csv =
        app.get_as(&format!("/v1/reports/delivery?{period}&format=csv"), &admin).await.text().await.unwrap();
    assert!(csv.contains("\r\ntotaal,push,45,6,5,6,5\r\n"), "{csv}");
    assert!(csv.contains("\r\ntotaal,sms,44,43,1,<5,<5\r\n"), "{csv}");
    assert!(csv.contains("\r\ntotaal,1,5,19,5\r\n"), "{csv}");
}

/// Two days after an alert closed its figures are final: later receipts no longer change them,
/// while an active alert's still do.
#[tokio::test]
async fn a_closed_alert_s_figures_become_final_after_two_days() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut people = Vec::new();
    for n in 1..=5 {
        let device = android_device(&format!("f{n}"));
        people.push(person(&app, &format!("+3162000050{n}"), ROTTERDAM, Some(device), "nl").await);
    }
    let mut body = alert_body(circle(ROTTERDAM, 1_000.0));
    body["channels"] = json!(["push"]);
    let closed = app.send_new_alert(&dispatcher, body.clone()).await;
    app.wait_until_delivered(&dispatcher, &closed).await;
    close(&app, &dispatcher, &closed, "no_result").await;
    let active = app.send_new_alert(&dispatcher, body).await;
    app.wait_until_delivered(&dispatcher, &active).await;
    roll_up(&app, chrono::Utc::now() + chrono::TimeDelta::hours(49)).await;

    app.database_exec("UPDATE alert_recipients SET received_at = now(), opened_at = now()").await;
    roll_up(&app, chrono::Utc::now() + chrono::TimeDelta::hours(49)).await;
    let today = dutch_date(chrono::Utc::now());
    let results =
        report(&app, &format!("/v1/reports/alert-results?from={today}&to={today}"), &dispatcher).await;
    assert_eq!(results["total"]["reach"], exact(10));
    assert_eq!(results["total"]["opened"], exact(5), "the active alert's opens only");
    assert_eq!(results["total"]["outcomes"]["no_result"], 1);
    assert_eq!(results["total"]["outcomes"]["active"], 1);
}

/// A non-urgent alert by e-mail: five readers in Rotterdam get it and its closing message, each
/// an e-mail priced at the e-mail tariff; no SMS, no push.
#[tokio::test]
async fn e_mails_count_in_the_funnel_and_cost_their_tariff() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    for n in 1..=5 {
        let reader = app
            .participant(
                &format!("+3162000060{n}"),
                Profile { channels: vec!["email"], ..Profile::default() },
            )
            .await;
        let email = json!({"email": format!("lezer{n}@example.nl")});
        app.expect_ok(Method::PATCH, "/v1/me", &reader.access_token, email).await;
    }
    app.database_exec("UPDATE participants SET email_verified_at = now() WHERE email IS NOT NULL").await;
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["urgent"] = json!(false);
    body["category"] = json!("inform");
    body["channels"] = json!(["email"]);
    let alert = app.send_new_alert(&dispatcher, body).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    close(&app, &dispatcher, &alert, "no_result").await;
    app.run_jobs_due_within(Duration::from_secs(1)).await;
    let mails =
        app.smtp.messages().into_iter().filter(|m| m.subject.contains("Gezocht: man op witte scooter"));
    assert_eq!(mails.count(), 10, "the alert and its closing message to each");
    roll_up(&app, chrono::Utc::now()).await;

    let today = dutch_date(chrono::Utc::now());
    let officer = app.relations_officer_token("GM0599");
    let delivery = report(&app, &format!("/v1/reports/delivery?from={today}&to={today}"), &officer).await;
    let total = &delivery["total"];
    assert_eq!(per_channel(total, "sent"), [json!(0), json!(0), json!(10), json!(0)]);
    assert_eq!(
        per_channel(total, "delivered"),
        [json!(0), json!(0), json!(0), json!(0)],
        "SMTP confirms no arrival"
    );
    assert_eq!(per_channel(total, "failed"), [json!(0), json!(0), json!(0), json!(0)]);
    assert_eq!(total["sms_fallbacks"], json!({"no_push_device": 0, "push_failed": 0, "not_acknowledged": 0}));
    let costs = report(&app, &format!("/v1/reports/costs?from={today}&to={today}"), &officer).await;
    assert_eq!(costs["total"]["email_messages"], 10);
    assert_eq!(costs["total"]["email_eur"], 0.02, "10 at € 0.002");
    assert_eq!(costs["total"]["total_eur"], 0.02);
    let results = report(&app, &format!("/v1/reports/alert-results?from={today}&to={today}"), &officer).await;
    assert_eq!(results["total"]["outcomes"]["no_result"], 1);
    assert_eq!(
        (&results["total"]["hard_success_percent"], &results["total"]["reach"]),
        (&json!(0.0), &exact(5))
    );
    assert_eq!(results["by_category"], json!([{"category": "inform", "urgent": false, "alerts": 1}]));
    assert_eq!(results["push_times"]["alerts"], 0, "no push: no push times");
    assert_eq!(results["push_times"]["to_first_push"], json!({"median_seconds": null, "p95_seconds": null}));
}

#[tokio::test]
async fn only_staff_of_the_scope_read_the_alert_reports() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let participant = app.sign_up("+31620000901").await;
    let callers = [
        ("officer of the municipality", app.relations_officer_token("GM0599"), "", Ok("municipality")),
        (
            "officer of another",
            app.relations_officer_token("GM0606"),
            "municipality=GM0599",
            Err((403, "out_of_scope")),
        ),
        ("dispatcher of the region", app.dispatcher_token("rotterdam"), "", Ok("region")),
        (
            "dispatcher, a municipality",
            app.dispatcher_token("rotterdam"),
            "municipality=GM0606",
            Ok("municipality"),
        ),
        (
            "region manager of the region",
            app.region_manager_token("rotterdam"),
            "region=rotterdam",
            Ok("region"),
        ),
        (
            "region manager of another",
            app.region_manager_token("amsterdam"),
            "region=rotterdam",
            Err((403, "out_of_scope")),
        ),
        ("admin", app.admin_token(), "", Ok("national")),
        ("admin, a region", app.admin_token(), "region=rotterdam", Ok("region")),
        ("admin, no such municipality", app.admin_token(), "municipality=GM9999", Err((404, "not_found"))),
        (
            "admin, both",
            app.admin_token(),
            "region=rotterdam&municipality=GM0599",
            Err((400, "invalid_scope")),
        ),
        (
            "admin, a bad period",
            app.admin_token(),
            "from=2026-05-01&to=2026-04-01",
            Err((400, "invalid_period")),
        ),
        ("admin, an unknown parameter", app.admin_token(), "colour=red", Err((400, "invalid_query"))),
        ("participant", participant.access_token.clone(), "", Err((403, "staff_only"))),
    ];
    for path in ["/v1/reports/alert-results", "/v1/reports/delivery", "/v1/reports/costs"] {
        for (who, token, query, expected) in &callers {
            let response = app.get_as(&format!("{path}?{query}"), token).await;
            match expected {
                Ok(level) => {
                    assert_eq!(response.status(), 200, "{path} {who}");
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(body["scope"]["level"], *level, "{path} {who}");
                }
                Err((status, code)) => {
                    assert_problem(response, *status, code).await;
                }
            }
        }
        assert_problem(app.get(path).await, 401, "unauthenticated").await;
    }
}
