//! Municipal messages (Burgernetmail): a relations officer writes a newsletter or a preventive
//! message to the participants of their municipality, previews how many it reaches, schedules
//! it, and it goes out in the background, by e-mail (with a one-click unsubscribe link, RFC 8058)
//! and app push, only to those who opted in to its kind. Bounces reported by the mail provider
//! make the address unverified and put the participant in the verification queue. Everything runs
//! against the real server, database, workers, SMTP sink and fake FCM.
//!
//! The people: eight participants of Rotterdam (GM0599) seeded straight into the database, six of
//! them living close together near the Coolsingel (`NEAR`) and two 1.5 km away; and five of
//! Amsterdam (GM0363), who must never get Rotterdam's messages. See [`ROTTERDAM_PEOPLE`].

use std::collections::BTreeSet;
use std::time::Duration;

use burgernet_core::alerts::delivery::DeliverySettings;
use burgernet_core::alerts::delivery::throttle::Rate;
use burgernet_core::providers::webhook_signature;
use chrono::Utc;
use diesel::sql_types::{Array, Double, Nullable, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{alert_body, circle};
use crate::helpers::app::PUBLIC_URL;
use crate::helpers::smtp_sink::{BOUNCE_WEBHOOK_SECRET, ReceivedEmail};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

/// Near the Coolsingel, Rotterdam: six participants live within 200 m of it.
const NEAR: (f64, f64) = (51.9225, 4.4792);
/// South-west of it, about 1.5 km away, still in Rotterdam.
const FURTHER: (f64, f64) = (51.9115, 4.4660);
/// Amsterdam (GM0363).
const AMSTERDAM: (f64, f64) = (52.3676, 4.9041);

/// One seeded participant.
struct Person {
    n: u32,
    municipality: &'static str,
    home: (f64, f64),
    language: &'static str,
    /// The kinds of municipal message they opted in to.
    kinds: &'static [&'static str],
    /// A verified e-mail address.
    email: bool,
    /// An Android device.
    device: bool,
}

const fn person(
    n: u32,
    municipality: &'static str,
    home: (f64, f64),
    kinds: &'static [&'static str],
    email: bool,
    device: bool,
) -> Person {
    Person { n, municipality, home, language: "nl", kinds, email, device }
}

const BOTH: &[&str] = &["newsletter", "prevention"];
const PREVENTION: &[&str] = &["prevention"];

/// Rotterdam: 1 to 6 near the Coolsingel, 7 and 8 further away. Newsletters: 1 to 6 (so 7 and 8
/// only want preventive messages). E-mail: all but 6. A device: 1 to 5 and 7. Participant 2 reads
/// English.
const ROTTERDAM_PEOPLE: [Person; 8] = [
    person(1, "GM0599", (NEAR.0 + 0.0005, NEAR.1), BOTH, true, true),
    Person { language: "en", ..person(2, "GM0599", (NEAR.0 - 0.0005, NEAR.1), BOTH, true, true) },
    person(3, "GM0599", (NEAR.0, NEAR.1 + 0.0008), BOTH, true, true),
    person(4, "GM0599", (NEAR.0, NEAR.1 - 0.0008), BOTH, true, true),
    person(5, "GM0599", (NEAR.0 + 0.001, NEAR.1 + 0.001), BOTH, true, true),
    person(6, "GM0599", (NEAR.0 - 0.001, NEAR.1 - 0.001), BOTH, false, false),
    person(7, "GM0599", FURTHER, PREVENTION, true, true),
    person(8, "GM0599", (FURTHER.0 + 0.0005, FURTHER.1), PREVENTION, true, false),
];

/// Amsterdam: five who want everything, by e-mail and push.
const AMSTERDAM_PEOPLE: [Person; 5] = [
    person(11, "GM0363", AMSTERDAM, BOTH, true, true),
    person(12, "GM0363", AMSTERDAM, BOTH, true, true),
    person(13, "GM0363", AMSTERDAM, BOTH, true, true),
    person(14, "GM0363", AMSTERDAM, BOTH, true, true),
    person(15, "GM0363", AMSTERDAM, BOTH, true, true),
];

fn phone(n: u32) -> String {
    format!("+316200000{n:02}")
}

fn address(n: u32) -> String {
    format!("deelnemer{n}@example.nl")
}

fn fcm_token(n: u32) -> String {
    format!("municipal-{n}:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq")
}

/// Seeds both municipalities' participants: active, with a home, the choices above.
async fn seed(app: &TestApp) {
    let mut conn = app.database.connect().await;
    for person in ROTTERDAM_PEOPLE.iter().chain(&AMSTERDAM_PEOPLE) {
        let email = person.email.then(|| address(person.n));
        let device = person.device.then(|| fcm_token(person.n));
        let kinds: Vec<&str> = person.kinds.to_vec();
        diesel::sql_query(
            "WITH participant AS (
                 INSERT INTO participants (id, phone_number, municipality_cbs, channels, language, email,
                                           email_set_at, email_verified_at, municipal_messages)
                 VALUES (gen_random_uuid(), $1, $2, '{push,sms,email}', $3, $4,
                         CASE WHEN $4 IS NULL THEN NULL ELSE now() - interval '30 days' END,
                         CASE WHEN $4 IS NULL THEN NULL ELSE now() - interval '29 days' END, $5)
                 RETURNING id),
             home AS (
                 INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
                 SELECT gen_random_uuid(), id, 'home', 'Thuis', ST_SetSRID(ST_MakePoint($7, $6), 4326), $2
                   FROM participant)
             INSERT INTO devices (id, participant_id, platform, push_token, app_version, locale)
             SELECT gen_random_uuid(), id, 'android', $8, '2.6.0', 'nl-NL' FROM participant WHERE $8 IS NOT NULL",
        )
        .bind::<Text, _>(phone(person.n))
        .bind::<Text, _>(person.municipality)
        .bind::<Text, _>(person.language)
        .bind::<Nullable<Text>, _>(email)
        .bind::<Array<Text>, _>(kinds)
        .bind::<Double, _>(person.home.0)
        .bind::<Double, _>(person.home.1)
        .bind::<Nullable<Text>, _>(device)
        .execute(&mut conn)
        .await
        .expect("seed a participant");
    }
}

async fn app_with_people() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    seed(&app).await;
    app
}

fn newsletter() -> Value {
    json!({
        "kind": "newsletter",
        "channels": ["email", "push"],
        "texts": {
            "nl": {"subject": "Nieuwsbrief Burgernet Rotterdam", "body": "Dank voor uw hulp dit jaar.\nTot ziens!"},
            "en": {"subject": "Burgernet Rotterdam newsletter", "body": "Thank you for your help this year."}
        }
    })
}

fn prevention_near_the_coolsingel() -> Value {
    json!({
        "kind": "prevention",
        "channels": ["email"],
        "texts": {"nl": {"subject": "Inbraken rond de Coolsingel", "body": "Sluit ramen en deuren."}},
        "area": circle(NEAR, 500.0)
    })
}

const MESSAGES: &str = "/v1/municipalities/GM0599/messages";

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json_as(MESSAGES, token, &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let message: Value = response.json().await.unwrap();
    assert_eq!(location, format!("{MESSAGES}/{}", message["id"].as_str().unwrap()));
    message
}

async fn schedule(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.post_json_as(&format!("{MESSAGES}/{id}/schedule"), token, &body).await
}

/// Schedules the message for now and waits until the workers sent it; returns it with figures.
async fn send_now(app: &TestApp, token: &str, id: &str) -> Value {
    let response = schedule(app, token, id, json!({})).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    wait_until_sent(app, token, id).await
}

async fn wait_until_sent(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let message = app.get_json(&format!("{MESSAGES}/{id}"), token).await;
        if message["status"] == "sent" {
            return message;
        }
        assert!(std::time::Instant::now() < deadline, "not sent in time: {message}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The e-mails that went to `subject`'s recipients, by address.
fn mails_with_subject(app: &TestApp, subject: &str) -> Vec<ReceivedEmail> {
    app.smtp.messages().into_iter().filter(|mail| mail.subject == subject).collect()
}

fn recipients(mails: &[ReceivedEmail]) -> BTreeSet<String> {
    mails.iter().flat_map(|mail| mail.to.clone()).collect()
}

fn addresses(numbers: &[u32]) -> BTreeSet<String> {
    numbers.iter().map(|n| address(*n)).collect()
}

fn exact(count: i64) -> Value {
    json!({"count": count})
}

fn fewer_than_five() -> Value {
    json!({"fewer_than": 5})
}

/// The message's figures for one channel.
fn channel_figures<'a>(message: &'a Value, channel: &str) -> &'a Value {
    message["figures"]["channels"].as_array().unwrap().iter().find(|c| c["channel"] == channel).unwrap()
}

/// The unsubscribe link of a mail, on the test server (the link names the public URL).
fn unsubscribe_path(mail: &ReceivedEmail) -> String {
    let header = mail.header("List-Unsubscribe").expect("a List-Unsubscribe header");
    let url = header.trim_start_matches('<').trim_end_matches('>');
    url.strip_prefix(PUBLIC_URL).expect("a link to the public URL").to_string()
}

async fn municipal_choices(app: &TestApp, n: u32) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Choices {
        #[diesel(sql_type = Array<Text>)]
        municipal_messages: Vec<String>,
    }
    let mut conn = app.database.connect().await;
    let row: Choices =
        diesel::sql_query("SELECT municipal_messages FROM participants WHERE phone_number = $1")
            .bind::<Text, _>(phone(n))
            .get_result(&mut conn)
            .await
            .unwrap();
    row.municipal_messages
}

#[tokio::test]
async fn an_officer_previews_and_sends_a_newsletter_that_reaches_only_those_who_opted_in() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    let draft = create(&app, &officer, newsletter()).await;
    assert_eq!((draft["status"].as_str(), draft["kind"].as_str()), (Some("draft"), Some("newsletter")));
    assert_eq!(draft["texts"]["en"]["subject"], "Burgernet Rotterdam newsletter");
    assert!(draft["figures"].is_null() && draft["send_at"].is_null(), "{draft}");
    let id = draft["id"].as_str().unwrap();

    // Rotterdam's newsletter readers are 1 to 6: 1 to 5 with a verified address and a device; 6
    // has neither, so nothing reaches them.
    let preview = app.get_json(&format!("{MESSAGES}/{id}/preview"), &officer).await;
    assert_eq!(preview["participants"], exact(5), "{preview}");
    assert_eq!(
        preview["channels"],
        json!([
            {"channel": "push", "recipients": exact(5)},
            {"channel": "email", "recipients": exact(5)},
        ])
    );

    let sent = send_now(&app, &officer, id).await;
    let mails = mails_with_subject(&app, "Nieuwsbrief Burgernet Rotterdam");
    let english = mails_with_subject(&app, "Burgernet Rotterdam newsletter");
    assert_eq!(recipients(&mails), addresses(&[1, 3, 4, 5]), "Dutch readers, opted in, verified");
    assert_eq!(recipients(&english), addresses(&[2]), "the English reader gets English");
    assert_eq!(mails.len() + english.len(), 5, "one each");
    for mail in mails.iter().chain(&english) {
        // RFC 8058: an HTTPS link with a token, and the header that makes it one-click.
        let link = mail.header("List-Unsubscribe").unwrap();
        assert!(link.starts_with(&format!("<{PUBLIC_URL}/v1/unsubscribe/")) && link.ends_with('>'), "{link}");
        assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
        assert!(mail.text_body.contains(link.trim_matches(['<', '>'])), "the footer has the link too");
    }
    assert!(
        mails[0].text_body.starts_with("Dank voor uw hulp dit jaar.\nTot ziens!"),
        "{}",
        mails[0].text_body
    );
    assert!(mails[0].text_body.contains("gemeente Rotterdam") && mails[0].text_body.contains("nieuwsbrief"));
    assert!(
        english[0].text_body.contains("the newsletter") && english[0].text_body.contains("unsubscribe here")
    );
    let links: BTreeSet<String> = mails.iter().map(unsubscribe_path).collect();
    assert_eq!(links.len(), 4, "every recipient has a link of their own");

    let pushed: BTreeSet<String> = app
        .fcm
        .received()
        .into_iter()
        .filter(|push| push.data.get("municipal_message_id").map(String::as_str) == Some(id))
        .map(|push| {
            assert_eq!(push.data.get("type").map(String::as_str), Some("municipal_message"));
            assert_eq!(push.priority.as_deref(), Some("NORMAL"), "a newsletter is never urgent");
            push.token
        })
        .collect();
    assert_eq!(pushed, [1, 2, 3, 4, 5].into_iter().map(fcm_token).collect(), "devices of 1 to 5");
    assert!(
        recipients(&app.smtp.messages()).is_disjoint(&addresses(&[7, 8, 11, 12, 13, 14, 15])),
        "neither those without the newsletter nor Amsterdam"
    );

    assert_eq!(sent["figures"]["recipients"], exact(5), "{sent}");
    assert_eq!(sent["figures"]["unsubscribed"], fewer_than_five());
    let email = channel_figures(&sent, "email");
    assert_eq!(
        (&email["recipients"], &email["sent"], &email["pending"]),
        (&exact(5), &exact(5), &fewer_than_five())
    );
    assert!(sent["sent_at"].is_string() && sent["sending_started_at"].is_string());

    // The app shows the message and reports it opened; five opens are counted.
    for n in 1..=5 {
        let signed_in = app.sign_up(&phone(n)).await;
        let mine = app.get_json("/v1/me/messages", &signed_in.access_token).await;
        assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
        let expected_subject =
            if n == 2 { "Burgernet Rotterdam newsletter" } else { "Nieuwsbrief Burgernet Rotterdam" };
        assert_eq!(mine[0]["subject"], expected_subject);
        assert_eq!(
            (mine[0]["municipality_name"].as_str(), mine[0]["opened"].as_bool()),
            (Some("Rotterdam"), Some(false))
        );
        for _ in 0..2 {
            let response = app
                .post_json_as(&format!("/v1/me/messages/{id}/opened"), &signed_in.access_token, &json!({}))
                .await;
            assert_eq!(response.status(), 204, "reporting it again changes nothing");
        }
        let one = app.get_json(&format!("/v1/me/messages/{id}"), &signed_in.access_token).await;
        assert_eq!(one["opened"], true);
    }
    // Participant 6 has no device: the message did not reach them in the app.
    let six = app.sign_up(&phone(6)).await;
    assert_eq!(app.get_json("/v1/me/messages", &six.access_token).await, json!([]));
    assert_problem(app.get_as(&format!("/v1/me/messages/{id}"), &six.access_token).await, 404, "not_found")
        .await;
    let figures = app.get_json(&format!("{MESSAGES}/{id}"), &officer).await;
    assert_eq!(channel_figures(&figures, "push")["opened"], exact(5), "{figures}");
    assert_eq!(channel_figures(&figures, "email")["opened"], fewer_than_five(), "mail is not tracked");

    // The list shows it, newest first, with its figures; the dispatchers of the region read it too.
    let second = create(&app, &officer, prevention_near_the_coolsingel()).await;
    let list = app.get_json(MESSAGES, &app.dispatcher_token("rotterdam")).await;
    let ids: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second["id"].as_str().unwrap(), id]);
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][1]["figures"]["recipients"], exact(5));
}

#[tokio::test]
async fn participants_opt_in_and_out_per_kind_in_their_choices() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    // A new participant signs up through the app: not opted in to anything.
    let alice = app.sign_up("+31612349999").await;
    let home = json!({"kind": "home", "name": "Thuis", "latitude": NEAR.0, "longitude": NEAR.1});
    let response = app.post_json_as("/v1/me/places", &alice.access_token, &home).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let device = json!({"platform": "android", "push_token": fcm_token(99), "app_version": "2.6.0", "locale": "nl-NL"});
    assert_eq!(app.post_json_as("/v1/me/devices", &alice.access_token, &device).await.status(), 201);
    let profile = app.get_json("/v1/me", &alice.access_token).await;
    assert_eq!(profile["municipal_messages"], json!([]), "nothing until they opt in");

    let draft = create(
        &app,
        &officer,
        json!({
            "kind": "newsletter", "channels": ["push"],
            "texts": {"nl": {"subject": "Nieuws", "body": "Tekst."}}
        }),
    )
    .await;
    let preview_path = format!("{MESSAGES}/{}/preview", draft["id"].as_str().unwrap());
    assert_eq!(app.get_json(&preview_path, &officer).await["participants"], exact(5));

    let opt_in = json!({"municipal_messages": ["newsletter", "prevention", "newsletter"]});
    let changed = app.send_json_as(Method::PATCH, "/v1/me", &alice.access_token, &opt_in).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        changed.json::<Value>().await.unwrap()["municipal_messages"],
        json!(["newsletter", "prevention"])
    );
    assert_eq!(app.get_json(&preview_path, &officer).await["participants"], exact(6));

    let opt_out = json!({"municipal_messages": ["prevention"]});
    let changed = app.send_json_as(Method::PATCH, "/v1/me", &alice.access_token, &opt_out).await;
    assert_eq!(changed.json::<Value>().await.unwrap()["municipal_messages"], json!(["prevention"]));
    assert_eq!(app.get_json(&preview_path, &officer).await["participants"], exact(5));

    let unknown = json!({"municipal_messages": ["advertising"]});
    let refused = app.send_json_as(Method::PATCH, "/v1/me", &alice.access_token, &unknown).await;
    assert_problem(refused, 422, "invalid_body").await;
}

#[tokio::test]
async fn a_preventive_message_for_an_area_reaches_only_those_living_in_it() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    // The whole municipality: 1 to 8 want preventive messages; 6 has no address.
    let everywhere = create(
        &app,
        &officer,
        json!({
            "kind": "prevention", "channels": ["email"],
            "texts": {"nl": {"subject": "Let op", "body": "Tekst."}}
        }),
    )
    .await;
    let preview =
        app.get_json(&format!("{MESSAGES}/{}/preview", everywhere["id"].as_str().unwrap()), &officer).await;
    assert_eq!(preview["participants"], exact(7), "{preview}");

    let near = create(&app, &officer, prevention_near_the_coolsingel()).await;
    assert_eq!(near["area"]["type"], "MultiPolygon", "{near}");
    let id = near["id"].as_str().unwrap();
    let preview = app.get_json(&format!("{MESSAGES}/{id}/preview"), &officer).await;
    assert_eq!(preview["participants"], exact(5), "1 to 5 live in it with an address: {preview}");
    send_now(&app, &officer, id).await;
    let mails = mails_with_subject(&app, "Inbraken rond de Coolsingel");
    assert_eq!(recipients(&mails), addresses(&[1, 2, 3, 4, 5]), "Dutch only: the subject is Dutch for all");

    // An area must lie within the municipality, and the channels must be allowed for the kind.
    let mut in_amsterdam = prevention_near_the_coolsingel();
    in_amsterdam["area"] = circle(AMSTERDAM, 1_000.0);
    let refused = app.post_json_as(MESSAGES, &officer, &in_amsterdam).await;
    let problem = assert_problem(refused, 422, "area_outside_municipality").await;
    assert!(problem["detail"].as_str().unwrap().contains("municipality"), "{problem}");
    let mut tiny = prevention_near_the_coolsingel();
    tiny["area"] = circle(NEAR, 50.0);
    assert_problem(app.post_json_as(MESSAGES, &officer, &tiny).await, 422, "invalid_radius").await;
    let mut by_sms = newsletter();
    by_sms["channels"] = json!(["email", "sms"]);
    let problem =
        assert_problem(app.post_json_as(MESSAGES, &officer, &by_sms).await, 422, "channel_not_allowed").await;
    assert!(problem["detail"].as_str().unwrap().contains("not by sms"), "{problem}");
    let mut no_channels = newsletter();
    no_channels["channels"] = json!([]);
    assert_problem(app.post_json_as(MESSAGES, &officer, &no_channels).await, 422, "invalid_channels").await;
    let mut no_subject = newsletter();
    no_subject["texts"]["nl"]["subject"] = json!("  ");
    assert_problem(app.post_json_as(MESSAGES, &officer, &no_subject).await, 422, "invalid_message_text")
        .await;
    let mut no_dutch = newsletter();
    no_dutch["texts"].as_object_mut().unwrap().remove("nl");
    assert_problem(app.post_json_as(MESSAGES, &officer, &no_dutch).await, 422, "invalid_body").await;
    let list = app.get_json(MESSAGES, &officer).await;
    assert_eq!(list["total"], 2, "nothing refused was stored");
}

#[tokio::test]
async fn a_cancelled_message_sends_nothing_and_one_that_went_out_cannot_be_called_back() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    let draft = create(&app, &officer, newsletter()).await;
    let id = draft["id"].as_str().unwrap();
    let soon = (Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let scheduled = schedule(&app, &officer, id, json!({"send_at": soon})).await;
    assert_eq!(scheduled.status(), 200);
    let scheduled: Value = scheduled.json().await.unwrap();
    assert_eq!(scheduled["status"], "scheduled");
    assert_problem(schedule(&app, &officer, id, json!({})).await, 409, "message_not_draft").await;

    let cancel_path = format!("{MESSAGES}/{id}/cancel");
    for _ in 0..2 {
        let cancelled = app.post_json_as(&cancel_path, &officer, &json!({})).await;
        assert_eq!(cancelled.status(), 200, "cancelling again changes nothing");
        let cancelled: Value = cancelled.json().await.unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        assert!(cancelled["cancelled_at"].is_string());
    }
    // Past its time, the job ran and found it cancelled: nothing went out.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(app.smtp.messages().is_empty() && app.fcm.received().is_empty());
    let message = app.get_json(&format!("{MESSAGES}/{id}"), &officer).await;
    assert_eq!((message["status"].as_str(), &message["figures"]), (Some("cancelled"), &Value::Null));
    assert_eq!(jobs_waiting(&app).await, 0, "the job ended");

    let sent = create(&app, &officer, newsletter()).await;
    let sent_id = sent["id"].as_str().unwrap();
    send_now(&app, &officer, sent_id).await;
    let too_late = app.post_json_as(&format!("{MESSAGES}/{sent_id}/cancel"), &officer, &json!({})).await;
    assert_problem(too_late, 409, "message_already_sending").await;

    // Times out of range are refused.
    let later = create(&app, &officer, newsletter()).await;
    let later_id = later["id"].as_str().unwrap();
    for send_at in [Utc::now() - chrono::TimeDelta::hours(1), Utc::now() + chrono::TimeDelta::days(93)] {
        let refused = schedule(&app, &officer, later_id, json!({"send_at": send_at.to_rfc3339()})).await;
        assert_problem(refused, 422, "invalid_send_at").await;
    }
    let unknown = format!("{MESSAGES}/{}/schedule", uuid::Uuid::new_v4());
    assert_problem(app.post_json_as(&unknown, &officer, &json!({})).await, 404, "not_found").await;
}

#[tokio::test]
async fn newsletters_go_out_at_their_own_rate() {
    // Two e-mails a second for newsletters: the five addresses take at least two seconds (the
    // first goes at once, each next one half a second later), however fast the mail server is.
    let delivery = DeliverySettings {
        municipal_email_rate: Rate { per_second: 2.0 },
        ..TestAppOptions::default().delivery
    };
    let app =
        TestApp::spawn_with(TestAppOptions { workers: true, delivery, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    seed(&app).await;
    let officer = app.relations_officer_token("GM0599");
    let mut body = newsletter();
    body["channels"] = json!(["email"]);
    let message = create(&app, &officer, body).await;
    let started = std::time::Instant::now();
    send_now(&app, &officer, message["id"].as_str().unwrap()).await;
    let took = started.elapsed();
    assert_eq!(app.smtp.messages().len(), 5);
    assert!(took >= Duration::from_millis(1_900), "five e-mails at 2 a second took {took:?}");
}

async fn jobs_waiting(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = app.database.connect().await;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM background_jobs WHERE job_type = 'send_municipal_message'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    row.count
}

#[tokio::test]
async fn one_click_unsubscribe_works_without_signing_in_twice_and_the_next_message_skips_them() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    let first = create(&app, &officer, newsletter()).await;
    send_now(&app, &officer, first["id"].as_str().unwrap()).await;
    let mails = mails_with_subject(&app, "Nieuwsbrief Burgernet Rotterdam");
    let to_three = mails.iter().find(|mail| mail.to == [address(3)]).unwrap();
    let link = unsubscribe_path(to_three);

    // Opening the link (as a mail scanner would) only shows a button.
    let page = app.get(&link).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("form-action 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\">") && html.contains("nieuwsbrieven"), "{html}");
    assert_eq!(municipal_choices(&app, 3).await, ["newsletter", "prevention"], "a GET changes nothing");

    // The one-click POST, as a mail client sends it, without any token; twice.
    for _ in 0..2 {
        let done = app
            .client
            .post(app.url(&link))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200);
        assert!(done.text().await.unwrap().contains("Afgemeld"));
    }
    assert_eq!(municipal_choices(&app, 3).await, ["prevention"], "only the newsletter");
    let figures = app.get_json(&format!("{MESSAGES}/{}", first["id"].as_str().unwrap()), &officer).await;
    assert_eq!(figures["figures"]["unsubscribed"], fewer_than_five(), "one, shown as fewer than 5");

    // The next newsletter skips them; a preventive message still reaches them.
    let second = create(
        &app,
        &officer,
        json!({
            "kind": "newsletter", "channels": ["email"],
            "texts": {"nl": {"subject": "Tweede nieuwsbrief", "body": "Meer nieuws."}}
        }),
    )
    .await;
    send_now(&app, &officer, second["id"].as_str().unwrap()).await;
    assert_eq!(recipients(&mails_with_subject(&app, "Tweede nieuwsbrief")), addresses(&[1, 2, 4, 5]));
    let prevention = create(&app, &officer, prevention_near_the_coolsingel()).await;
    send_now(&app, &officer, prevention["id"].as_str().unwrap()).await;
    assert!(recipients(&mails_with_subject(&app, "Inbraken rond de Coolsingel")).contains(&address(3)));

    // A link we never sent: an HTML page says so, for GET and POST alike.
    for method in [Method::GET, Method::POST] {
        let unknown =
            app.client.request(method, app.url("/v1/unsubscribe/not-a-token-of-ours")).send().await.unwrap();
        assert_eq!(unknown.status(), 404);
        assert!(unknown.text().await.unwrap().contains("onbekend"));
    }
}

/// Posts a bounce report signed with `secret` at `timestamp`, as the mail provider does.
async fn post_bounce(app: &TestApp, body: &Value, secret: &str, timestamp: i64) -> reqwest::Response {
    let body = body.to_string();
    app.client
        .post(app.url("/v1/email/bounces"))
        .header("content-type", "application/json")
        .header("x-signature-timestamp", timestamp.to_string())
        .header("x-signature", webhook_signature::sign(secret.as_bytes(), timestamp, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap()
}

fn bounce(message_id: &str, bounce_type: &str) -> Value {
    json!({"message_id": message_id, "type": bounce_type, "at": Utc::now().to_rfc3339(), "diagnostic_code": "5.1.1"})
}

#[tokio::test]
async fn a_signed_bounce_makes_the_address_unverified_queues_the_participant_and_the_next_message_skips_it() {
    let app = app_with_people().await;
    let officer = app.relations_officer_token("GM0599");
    let first = create(&app, &officer, newsletter()).await;
    let first_id = first["id"].as_str().unwrap();
    send_now(&app, &officer, first_id).await;
    let mails = mails_with_subject(&app, "Nieuwsbrief Burgernet Rotterdam");
    let message_id_of = |n: u32| {
        mails.iter().find(|mail| mail.to == [address(n)]).unwrap().header("Message-ID").expect("a Message-ID")
    };
    let to_four = message_id_of(4);
    let queue = "/v1/municipalities/GM0599/queues/verification";
    assert_eq!(app.get_json(queue, &officer).await["total"], 0);

    // Forged, stale, or for an unknown message: refused or ignored, and nothing changes.
    let now = Utc::now().timestamp();
    let forged =
        post_bounce(&app, &bounce(&to_four, "permanent"), "not-the-mail-providers-secret-at-all", now).await;
    assert_problem(forged, 401, "invalid_signature").await;
    let stale = post_bounce(&app, &bounce(&to_four, "permanent"), BOUNCE_WEBHOOK_SECRET, now - 600).await;
    assert_problem(stale, 401, "invalid_signature").await;
    let unsigned = app
        .client
        .post(app.url("/v1/email/bounces"))
        .json(&bounce(&to_four, "permanent"))
        .send()
        .await
        .unwrap();
    assert_problem(unsigned, 401, "invalid_signature").await;
    let unknown =
        post_bounce(&app, &bounce("<unknown@burgernet.nl>", "permanent"), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_eq!(unknown.status(), 202);
    let malformed =
        post_bounce(&app, &json!({"message_id": to_four, "type": "soft"}), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_problem(malformed, 422, "invalid_bounce").await;
    let transient = post_bounce(&app, &bounce(&to_four, "transient"), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_eq!(transient.status(), 204, "acknowledged, changes nothing");
    assert_eq!(app.get_json(queue, &officer).await["total"], 0);

    // A permanent bounce: the address is unverified and the participant waits in the queue.
    for _ in 0..2 {
        let recorded = post_bounce(&app, &bounce(&to_four, "permanent"), BOUNCE_WEBHOOK_SECRET, now).await;
        assert_eq!(recorded.status(), 204, "a repeated report changes nothing more");
    }
    let queued = app.get_json(queue, &officer).await;
    assert_eq!(queued["total"], 1, "{queued}");
    let entry = &queued["items"][0];
    assert_eq!(entry["phone_number"], phone(4));
    assert_eq!(
        (entry["email_verified"].as_bool(), entry["email_problem"].as_str()),
        (Some(false), Some("email_bounced"))
    );
    assert!(entry["email_bounced_at"].is_string());
    let four = app.sign_up(&phone(4)).await;
    assert_eq!(app.get_json("/v1/me", &four.access_token).await["email_verified"], false);
    let figures = app.get_json(&format!("{MESSAGES}/{first_id}"), &officer).await;
    assert_eq!(channel_figures(&figures, "email")["bounced"], fewer_than_five());

    // A complaint ends the newsletter for participant 5.
    let complaint =
        post_bounce(&app, &bounce(&message_id_of(5), "complaint"), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_eq!(complaint.status(), 204);
    assert_eq!(municipal_choices(&app, 5).await, ["prevention"]);

    // The next message skips the bounced address (and 5, who complained).
    let second = create(
        &app,
        &officer,
        json!({
            "kind": "newsletter", "channels": ["email"],
            "texts": {"nl": {"subject": "Na de bounce", "body": "Tekst."}}
        }),
    )
    .await;
    let preview =
        app.get_json(&format!("{MESSAGES}/{}/preview", second["id"].as_str().unwrap()), &officer).await;
    assert_eq!(preview["channels"][0]["recipients"], fewer_than_five(), "{preview}");
    send_now(&app, &officer, second["id"].as_str().unwrap()).await;
    assert_eq!(recipients(&mails_with_subject(&app, "Na de bounce")), addresses(&[1, 2, 3]));

    // Setting a new address takes them out of the queue (until it bounces in turn).
    let new_address = json!({"email": "nieuw4@example.nl"});
    assert_eq!(
        app.send_json_as(Method::PATCH, "/v1/me", &four.access_token, &new_address).await.status(),
        200
    );
    let after = app.get_json(queue, &officer).await;
    assert_eq!(after["total"], 0, "a new address gets its week: {after}");
}

#[tokio::test]
async fn a_bounce_on_an_alert_e_mail_marks_the_address_too() {
    let app = app_with_people().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut body = alert_body(circle(NEAR, 2_000.0));
    body["urgent"] = json!(false);
    body["category"] = json!("inform");
    body["channels"] = json!(["email"]);
    let alert = app.send_new_alert(&dispatcher, body).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    let mail =
        app.smtp.messages().into_iter().find(|mail| mail.to == [address(7)]).expect("the alert by e-mail");
    let message_id = mail.header("Message-ID").unwrap();
    let now = Utc::now().timestamp();

    // A complaint about an alert changes nothing: alerts are what they signed up for.
    let complaint = post_bounce(&app, &bounce(&message_id, "complaint"), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_eq!(complaint.status(), 204);
    assert_eq!(municipal_choices(&app, 7).await, ["prevention"]);
    let queue = "/v1/municipalities/GM0599/queues/verification";
    assert_eq!(app.get_json(queue, &app.relations_officer_token("GM0599")).await["total"], 0);

    let bounced = post_bounce(&app, &bounce(&message_id, "permanent"), BOUNCE_WEBHOOK_SECRET, now).await;
    assert_eq!(bounced.status(), 204);
    let queued = app.get_json(queue, &app.relations_officer_token("GM0599")).await;
    assert_eq!(queued["total"], 1, "{queued}");
    assert_eq!(queued["items"][0]["phone_number"], phone(7));
    assert_eq!(queued["items"][0]["email_problem"], "email_bounced");
}

/// One call of the matrix: the operation, the path with real ids, and what the caller gets: a
/// refusal (status and problem code) or, with status 0 there, the operation's success status.
struct Cell {
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    refused: (u16, &'static str),
    allowed: u16,
}

impl Cell {
    fn new(
        method: Method,
        route: &'static str,
        path: String,
        refused: (u16, &'static str),
        allowed: u16,
    ) -> Self {
        Self { method, route, path, body: None, refused, allowed }
    }

    fn with_body(self, body: Value) -> Self {
        Self { body: Some(body), ..self }
    }
}

/// Who calls, and what they get, for every operation about municipal messages.
#[tokio::test]
async fn every_municipal_message_endpoint_answers_each_caller_as_the_matrix_says() {
    let app = app_with_people().await;
    let participant = app.sign_up(&phone(1)).await;
    let callers: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("participant", Some(participant.access_token.clone())),
        ("officer", Some(app.relations_officer_token("GM0599"))),
        ("officer of Amsterdam", Some(app.relations_officer_token("GM0363"))),
        ("dispatcher", Some(app.dispatcher_token("rotterdam"))),
        ("dispatcher of Amsterdam", Some(app.dispatcher_token("amsterdam"))),
        ("region manager", Some(app.region_manager_token("rotterdam"))),
        ("region manager of Amsterdam", Some(app.region_manager_token("amsterdam"))),
        ("admin", Some(app.admin_token())),
    ];
    // The answers, in the order of `callers`: a status, and the problem's code for a refusal.
    const WRITE: [(u16, &str); 9] = [
        (401, "unauthenticated"),
        (403, "staff_only"),
        (0, ""),
        (403, "out_of_scope"),
        (403, "role_required"),
        (403, "role_required"),
        (403, "role_required"),
        (403, "role_required"),
        (0, ""),
    ];
    const READ: [(u16, &str); 9] = [
        (401, "unauthenticated"),
        (403, "staff_only"),
        (0, ""),
        (403, "out_of_scope"),
        (0, ""),
        (403, "out_of_scope"),
        (0, ""),
        (403, "out_of_scope"),
        (0, ""),
    ];
    const MINE: [(u16, &str); 9] = [
        (401, "unauthenticated"),
        (0, ""),
        (403, "participants_only"),
        (403, "participants_only"),
        (403, "participants_only"),
        (403, "participants_only"),
        (403, "participants_only"),
        (403, "participants_only"),
        (403, "participants_only"),
    ];
    let officer = app.relations_officer_token("GM0599");
    // A sent message, for reading, and one draft per caller that may schedule or cancel.
    let sent = create(&app, &officer, newsletter()).await;
    let sent_id = sent["id"].as_str().unwrap().to_string();
    send_now(&app, &officer, &sent_id).await;
    let mut drafts = Vec::new();
    for _ in 0..2 * callers.len() {
        drafts.push(create(&app, &officer, newsletter()).await["id"].as_str().unwrap().to_string());
    }

    let mut covered = BTreeSet::new();
    let mut mismatches = Vec::new();
    for (index, (who, token)) in callers.iter().enumerate() {
        let schedule_draft = &drafts[2 * index];
        let cancel_draft = &drafts[2 * index + 1];
        let in_an_hour = json!({"send_at": (Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339()});
        let rows = [
            Cell::new(
                Method::POST,
                "/v1/municipalities/{cbs_code}/messages",
                MESSAGES.into(),
                WRITE[index],
                201,
            )
            .with_body(newsletter()),
            Cell::new(
                Method::GET,
                "/v1/municipalities/{cbs_code}/messages",
                MESSAGES.into(),
                READ[index],
                200,
            ),
            Cell::new(
                Method::GET,
                "/v1/municipalities/{cbs_code}/messages/{message_id}",
                format!("{MESSAGES}/{sent_id}"),
                READ[index],
                200,
            ),
            Cell::new(
                Method::GET,
                "/v1/municipalities/{cbs_code}/messages/{message_id}/preview",
                format!("{MESSAGES}/{sent_id}/preview"),
                WRITE[index],
                200,
            ),
            Cell::new(
                Method::POST,
                "/v1/municipalities/{cbs_code}/messages/{message_id}/schedule",
                format!("{MESSAGES}/{schedule_draft}/schedule"),
                WRITE[index],
                200,
            )
            .with_body(in_an_hour),
            Cell::new(
                Method::POST,
                "/v1/municipalities/{cbs_code}/messages/{message_id}/cancel",
                format!("{MESSAGES}/{cancel_draft}/cancel"),
                WRITE[index],
                200,
            )
            .with_body(json!({})),
            Cell::new(Method::GET, "/v1/me/messages", "/v1/me/messages".into(), MINE[index], 200),
            Cell::new(
                Method::GET,
                "/v1/me/messages/{message_id}",
                format!("/v1/me/messages/{sent_id}"),
                MINE[index],
                200,
            ),
            Cell::new(
                Method::POST,
                "/v1/me/messages/{message_id}/opened",
                format!("/v1/me/messages/{sent_id}/opened"),
                MINE[index],
                204,
            )
            .with_body(json!({})),
        ];
        for Cell { method, route, path, body, refused: (refused, code), allowed } in rows {
            covered.insert((method.to_string(), route.to_string()));
            let mut request = app.client.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let expected = if refused == 0 { allowed } else { refused };
            let code_matches = refused == 0
                || serde_json::from_str::<Value>(&text).is_ok_and(|problem| problem["code"] == code);
            if status != expected || !code_matches {
                mismatches
                    .push(format!("{method} {path} as {who}: {status} {text}, expected {expected} {code}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} cells differ:\n{}", mismatches.len(), mismatches.join("\n"));

    // The refused calls changed nothing: only the officer's and the admin's drafts moved on.
    let all = app.get_json(&format!("{MESSAGES}?per_page=100"), &officer).await;
    let statuses: Vec<(String, String)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["status"].as_str().unwrap().to_string()))
        .collect();
    let status_of = |id: &str| statuses.iter().find(|(of, _)| of == id).unwrap().1.clone();
    for (index, (who, _)) in callers.iter().enumerate() {
        let may_write = WRITE[index].0 == 0;
        let (scheduled, cancelled) = (status_of(&drafts[2 * index]), status_of(&drafts[2 * index + 1]));
        let expected = if may_write { ("scheduled", "cancelled") } else { ("draft", "draft") };
        assert_eq!((scheduled.as_str(), cancelled.as_str()), expected, "{who}");
    }
    assert_eq!(all["total"], 1 + 2 * callers.len() + 2, "the officer's and the admin's new drafts only");

    // The public endpoints (the unsubscribe link, the mail provider's reports) take no bearer
    // token: a token opens nothing there and is not needed.
    for (_, token) in &callers {
        let mut request = app.client.post(app.url("/v1/email/bounces")).json(&bounce("<x@y>", "permanent"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_problem(request.send().await.unwrap(), 401, "invalid_signature").await;
    }
    covered.extend([
        ("GET".to_string(), "/v1/unsubscribe/{token}".to_string()),
        ("POST".to_string(), "/v1/unsubscribe/{token}".to_string()),
        ("POST".to_string(), "/v1/email/bounces".to_string()),
    ]);
    let contract: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut tagged = BTreeSet::new();
    for (route, methods) in contract["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let tags = operation["tags"].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|tag| {
                ["municipal messages", "my messages", "mail provider"].contains(&tag.as_str().unwrap())
            }) {
                tagged.insert((method.to_uppercase(), route.clone()));
            }
        }
    }
    assert_eq!(covered, tagged, "the matrix covers every municipal message operation");
}
