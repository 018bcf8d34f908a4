//! Signing in by phone: a six-digit code by SMS (through the fake gateway, over HTTP), its
//! expiry, the attempt limit and lockout, the resend throttle and rate limits, failed sends, and
//! sessions of rotating refresh tokens with reuse detection and sign-out.

use std::time::Duration;

use burgernet_core::participants::sign_in::{REFRESH_RETRY_GRACE, SignInPolicy};
use burgernet_core::secret::SecretTokenHash;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};
use burgernet_fakes::faults::Fault;

const PHONE: &str = "+31612345678";
const CLIENT: &str = "203.0.113.7";

/// An app whose resend interval does not get in the way of tests about other limits.
async fn app_without_resend_wait() -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        sign_in: SignInPolicy { resend_interval: Duration::from_millis(1), ..SignInPolicy::default() },
        ..TestAppOptions::default()
    })
    .await
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"].to_str().unwrap().parse().expect("Retry-After in seconds")
}

#[tokio::test]
async fn a_code_goes_out_by_sms_and_signs_a_new_participant_in() {
    let app = TestApp::spawn().await;
    let response = app.request_code_from("06 1234 5678", CLIENT).await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    let expires_at: chrono::DateTime<chrono::Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    let minutes = (expires_at - chrono::Utc::now()).num_seconds();
    assert!((9 * 60..=10 * 60).contains(&minutes), "a code lives 10 minutes, got {minutes}s");

    let sent = app.sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, PHONE, "the national form is sent as E.164");
    assert_eq!(sent[0].from, "Burgernet");
    let code = app.last_code_sent_to(PHONE);

    // Only a keyed hash of the code is stored, with the provider's message id.
    let mut conn = app.database.connect().await;
    let (hash, message_id): (Vec<u8>, Option<String>) = burgernet_core::db::schema::sign_in_challenges::table
        .select((
            burgernet_core::db::schema::sign_in_challenges::code_hash,
            burgernet_core::db::schema::sign_in_challenges::provider_message_id,
        ))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(hash.len(), 32);
    assert!(!hash.windows(6).any(|window| window == code.as_bytes()));
    assert_eq!(message_id.as_deref(), Some(sent[0].id.as_str()));

    let response = app.verify_code_from(PHONE, &code, CLIENT).await;
    assert_eq!(response.status(), 200);
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tokens["new_participant"], true);
    let profile = app.get_as("/v1/me", tokens["access_token"].as_str().unwrap()).await;
    let profile: serde_json::Value = profile.json().await.unwrap();
    assert_eq!(profile["phone_number"], PHONE);
    assert_eq!(profile["id"], tokens["participant_id"]);
    assert_eq!(profile["status"], "active");

    // The code is spent, and signing in again later finds the same participant.
    assert_problem(app.verify_code_from(PHONE, &code, CLIENT).await, 422, "no_active_code").await;
    let again = app.sign_up(PHONE).await;
    assert_eq!(again.participant_id.to_string(), tokens["participant_id"].as_str().unwrap());
}

#[tokio::test]
async fn numbers_outside_the_eu_or_not_numbers_at_all_are_refused_without_an_sms() {
    let app = TestApp::spawn().await;
    for (number, code) in [
        ("+1 212 555 0100", "unsupported_phone_country"),
        ("+44 7700 900123", "unsupported_phone_country"),
        ("0612", "invalid_phone_number"),
        ("call me maybe", "invalid_phone_number"),
        ("+31 6 1234 5678 9", "invalid_phone_number"),
        ("", "invalid_phone_number"),
    ] {
        let body = assert_problem(app.request_code_from(number, CLIENT).await, 422, code).await;
        assert!(!body["detail"].as_str().unwrap().contains("212"), "the detail does not echo the number");
    }
    // Other EU numbers are welcome.
    assert_eq!(app.request_code_from("+32 470 12 34 56", CLIENT).await.status(), 202);
    assert_eq!(app.sms.sent().len(), 1);
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let app = TestApp::spawn().await;
    app.request_code_from(PHONE, CLIENT).await;
    let code = app.last_code_sent_to(PHONE);
    // Let ten minutes pass for this code.
    let mut conn = app.database.connect().await;
    diesel::sql_query("UPDATE sign_in_challenges SET sent_at = sent_at - interval '10 minutes', expires_at = expires_at - interval '10 minutes'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_problem(app.verify_code_from(PHONE, &code, CLIENT).await, 422, "code_expired").await;
    // A new code can be requested at once and works.
    assert_eq!(app.request_code_from(PHONE, CLIENT).await.status(), 202);
    let code = app.last_code_sent_to(PHONE);
    assert_eq!(app.verify_code_from(PHONE, &code, CLIENT).await.status(), 200);
}

#[tokio::test]
async fn five_wrong_codes_lock_the_number_for_a_while_even_for_the_right_code() {
    let app = app_without_resend_wait().await;
    app.request_code_from(PHONE, CLIENT).await;
    let code = app.last_code_sent_to(PHONE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempts_left in (1..=4).rev() {
        let body =
            assert_problem(app.verify_code_from(PHONE, wrong, CLIENT).await, 422, "code_incorrect").await;
        assert!(
            body["detail"].as_str().unwrap().contains(&format!("{attempts_left} attempts left")),
            "{body}"
        );
    }
    let fifth = app.verify_code_from(PHONE, wrong, CLIENT).await;
    let wait = retry_after(&fifth);
    assert!((14 * 60..=15 * 60).contains(&wait), "locked for the lockout period, got {wait}s");
    assert_problem(fifth, 429, "sign_in_locked").await;

    // Locked: the right code does not work, and no new code is sent.
    assert_problem(app.verify_code_from(PHONE, &code, CLIENT).await, 429, "sign_in_locked").await;
    assert_problem(app.request_code_from(PHONE, CLIENT).await, 429, "sign_in_locked").await;
    assert_eq!(app.sms.sent().len(), 1);

    // After the lockout a new code can be requested and works.
    let mut conn = app.database.connect().await;
    diesel::sql_query("UPDATE sign_in_challenges SET locked_until = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.request_code_from(PHONE, CLIENT).await.status(), 202);
    assert_eq!(app.verify_code_from(PHONE, &app.last_code_sent_to(PHONE), CLIENT).await.status(), 200);
}

#[tokio::test]
async fn a_new_code_waits_for_the_resend_interval() {
    let app = TestApp::spawn().await;
    assert_eq!(app.request_code_from(PHONE, CLIENT).await.status(), 202);
    let response = app.request_code_from(PHONE, CLIENT).await;
    let wait = retry_after(&response);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_problem(response, 429, "resend_too_soon").await;
    assert_eq!(app.sms.sent().len(), 1);
}

#[tokio::test]
async fn codes_are_rate_limited_per_phone_number_and_per_client() {
    let app = app_without_resend_wait().await;
    // Per number: five codes an hour, from whichever client.
    for n in 0..5 {
        let response = app.request_code_from(PHONE, &format!("192.0.2.{n}")).await;
        assert_eq!(response.status(), 202);
    }
    let refused = app.request_code_from(PHONE, "192.0.2.99").await;
    // Counters count per hour of the clock (a counter's start ties it to no request), so the
    // wait is until the next full hour.
    let wait = retry_after(&refused) as i64;
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let to_next_hour = 3600 - unix % 3600;
    assert!((wait - to_next_hour).abs() <= 2, "until the hour is over ({to_next_hour}s), got {wait}s");
    assert_problem(refused, 429, "rate_limited").await;
    assert_eq!(app.sms.sent().len(), 5);

    // Per client: thirty requests an hour, whichever numbers.
    let client = "198.51.100.200";
    for n in 0..30 {
        let response = app.request_code_from(&format!("+3161000{n:04}"), client).await;
        assert_eq!(response.status(), 202, "request {n}");
    }
    assert_problem(app.request_code_from("+31620000000", client).await, 429, "rate_limited").await;
    // Another client is not affected.
    assert_eq!(app.request_code_from("+31620000000", "198.51.100.201").await.status(), 202);
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64_network_not_by_each_address() {
    let app = app_without_resend_wait().await;
    for n in 0..30 {
        let client = format!("2001:db8:1:2:{n:x}::1");
        let response = app.request_code_from(&format!("+3161000{n:04}"), &client).await;
        assert_eq!(response.status(), 202, "request {n}");
    }
    let fresh_address_same_line =
        app.request_code_from("+31620000000", "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    assert_problem(fresh_address_same_line, 429, "rate_limited").await;
    assert_eq!(app.request_code_from("+31620000000", "2001:db8:1:3::1").await.status(), 202, "another line");
}

#[tokio::test]
async fn codes_stop_when_the_hourly_budget_of_a_foreign_country_or_of_all_numbers_is_spent() {
    let app = TestApp::spawn_with(TestAppOptions {
        sign_in: SignInPolicy {
            resend_interval: Duration::from_millis(1),
            codes_per_foreign_country_per_hour: 3,
            codes_per_hour: 6,
            ..SignInPolicy::default()
        },
        ..TestAppOptions::default()
    })
    .await;
    // Pumping Belgian numbers from many clients: the country's budget ends it.
    for n in 0..3 {
        let response = app.request_code_from(&format!("+3247012345{n}"), &format!("192.0.2.{n}")).await;
        assert_eq!(response.status(), 202, "Belgian number {n}");
    }
    let refused = app.request_code_from("+32470123459", "192.0.2.9").await;
    assert!(retry_after(&refused) <= 3600);
    assert_problem(refused, 429, "sign_in_budget_exhausted").await;
    assert_eq!(app.sms.sent().len(), 3, "no SMS beyond the budget");
    // Dutch numbers are counted only in the budget of all numbers.
    for n in 0..3 {
        let response = app.request_code_from(&format!("+3161000000{n}"), &format!("198.51.100.{n}")).await;
        assert_eq!(response.status(), 202, "Dutch number {n}");
    }
    assert_problem(
        app.request_code_from("+31610000009", "198.51.100.9").await,
        429,
        "sign_in_budget_exhausted",
    )
    .await;
    assert_eq!(app.sms.sent().len(), 6);
}

#[tokio::test]
async fn a_failed_sms_is_reported_and_leaves_no_code_behind() {
    let app = TestApp::spawn().await;
    app.sms.faults().fail_next(1, Fault::ServerError);
    let response = app.request_code_from(PHONE, CLIENT).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 502, "sms_not_sent").await;
    assert!(app.sms.sent().is_empty());
    assert_problem(app.verify_code_from(PHONE, "123456", CLIENT).await, 422, "no_active_code").await;

    // Nothing holds up a second try.
    assert_eq!(app.request_code_from(PHONE, CLIENT).await.status(), 202);

    app.sms.reject_number("+31687654321");
    let app2 = app;
    assert_problem(app2.request_code_from("+31687654321", CLIENT).await, 422, "phone_number_unreachable")
        .await;
}

#[tokio::test]
async fn a_refresh_token_works_once_and_reuse_ends_the_whole_session() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up(PHONE).await;
    let refresh = |token: &str| {
        app.client.post(app.url("/v1/session/refresh")).json(&json!({ "refresh_token": token })).send()
    };

    let first = refresh(&signed_in.refresh_token).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_ne!(first["refresh_token"], signed_in.refresh_token.as_str());
    assert_eq!(first["participant_id"], signed_in.participant_id.to_string());
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/v1/me", access).await.status(), 200);

    // The old token again, after the grace for lost answers: someone has a copy. The session
    // ends for everyone.
    outlive_refresh_retry_grace(&app).await;
    assert_problem(refresh(&signed_in.refresh_token).await.unwrap(), 401, "refresh_token_reused").await;
    assert_problem(refresh(first["refresh_token"].as_str().unwrap()).await.unwrap(), 401, "session_revoked")
        .await;
    assert_problem(app.get_as("/v1/me", access).await, 401, "session_revoked").await;
    assert_problem(app.get_as("/v1/me", &signed_in.access_token).await, 401, "session_revoked").await;

    // Other sessions of the same participant are untouched.
    let other = app.sign_up(PHONE).await;
    assert_eq!(app.get_as("/v1/me", &other.access_token).await.status(), 200);
    assert_problem(refresh("not-a-token").await.unwrap(), 401, "invalid_refresh_token").await;
}

/// Moves every refresh token's use back beyond the grace in which a retry is still answered.
async fn outlive_refresh_retry_grace(app: &TestApp) {
    let grace = REFRESH_RETRY_GRACE.as_secs() + 1;
    diesel::sql_query(format!(
        "UPDATE refresh_tokens SET used_at = used_at - interval '{grace} seconds' WHERE used_at IS NOT NULL"
    ))
    .execute(&mut app.database.connect().await)
    .await
    .unwrap();
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/session/refresh"))
        .json(&json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .unwrap()
}

async fn refreshed(app: &TestApp, refresh_token: &str) -> SignedIn {
    let response = refresh(app, refresh_token).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    SignedIn::from_answer(&response.json().await.unwrap())
}

#[tokio::test]
async fn a_refresh_retried_within_seconds_gets_a_working_pair_of_the_same_session() {
    // The app refreshed, but the answer was lost on a bad connection: it retries with the same
    // refresh token, the only one it has.
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up(PHONE).await;
    let lost = refreshed(&app, &signed_in.refresh_token).await;
    let retried = refreshed(&app, &signed_in.refresh_token).await;
    assert_eq!(retried.participant_id, signed_in.participant_id);
    assert_eq!(retried.session_id(&app), signed_in.session_id(&app));
    assert_ne!(retried.refresh_token, lost.refresh_token);
    assert_eq!(app.get_as("/v1/me", &retried.access_token).await.status(), 200);

    // The session goes on from the retried answer.
    let next = refreshed(&app, &retried.refresh_token).await;
    assert_eq!(app.get_as("/v1/me", &next.access_token).await.status(), 200);

    // The lost answer's refresh token was replaced by the retry's: if it turns up after all,
    // two holders exist, and the session ends for both.
    assert_problem(refresh(&app, &lost.refresh_token).await, 401, "refresh_token_reused").await;
    assert_problem(app.get_as("/v1/me", &next.access_token).await, 401, "session_revoked").await;
    // Of the four tokens, nothing but their hashes is stored.
    let mut stored: Vec<Vec<u8>> = burgernet_core::db::schema::refresh_tokens::table
        .select(burgernet_core::db::schema::refresh_tokens::token_hash)
        .load(&mut app.database.connect().await)
        .await
        .unwrap();
    let mut hashes: Vec<Vec<u8>> = [&signed_in, &lost, &retried, &next]
        .iter()
        .map(|tokens| SecretTokenHash::of(&tokens.refresh_token).0.to_vec())
        .collect();
    stored.sort();
    hashes.sort();
    assert_eq!(stored, hashes);
}

#[tokio::test]
async fn a_refresh_token_replayed_later_or_after_the_session_moved_on_still_ends_the_session() {
    let app = TestApp::spawn().await;

    // Replayed after the grace: a copy.
    let signed_in = app.sign_up(PHONE).await;
    let next = refreshed(&app, &signed_in.refresh_token).await;
    outlive_refresh_retry_grace(&app).await;
    assert_problem(refresh(&app, &signed_in.refresh_token).await, 401, "refresh_token_reused").await;
    assert_problem(app.get_as("/v1/me", &next.access_token).await, 401, "session_revoked").await;

    // Replayed within the grace, but the holder has already used the next token: a copy too.
    let signed_in = app.sign_up(PHONE).await;
    let next = refreshed(&app, &signed_in.refresh_token).await;
    let after_next = refreshed(&app, &next.refresh_token).await;
    assert_problem(refresh(&app, &signed_in.refresh_token).await, 401, "refresh_token_reused").await;
    assert_problem(app.get_as("/v1/me", &after_next.access_token).await, 401, "session_revoked").await;
}

#[tokio::test]
async fn the_next_refresh_token_is_stored_in_the_transaction_that_retires_the_old_one() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up(PHONE).await;
    // Adding a trigger takes the schema's owner.
    let mut conn = app.database.connect_as_owner().await;
    // The database fails while the next token is being stored.
    diesel::sql_query(
        "CREATE FUNCTION refuse_refresh_tokens() RETURNS trigger AS $$
         BEGIN RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse_refresh_tokens BEFORE INSERT ON refresh_tokens
         FOR EACH ROW EXECUTE FUNCTION refuse_refresh_tokens()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_problem(refresh(&app, &signed_in.refresh_token).await, 500, "internal_error").await;

    // The old token was not retired without a successor: it is as unused as before.
    let used: Vec<Option<chrono::DateTime<chrono::Utc>>> = burgernet_core::db::schema::refresh_tokens::table
        .select(burgernet_core::db::schema::refresh_tokens::used_at)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(used, vec![None]);

    diesel::sql_query("DROP TRIGGER refuse_refresh_tokens ON refresh_tokens")
        .execute(&mut conn)
        .await
        .unwrap();
    outlive_refresh_retry_grace(&app).await;
    let next = refreshed(&app, &signed_in.refresh_token).await;
    assert_eq!(app.get_as("/v1/me", &next.access_token).await.status(), 200);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up(PHONE).await;
    let mut conn = app.database.connect().await;
    diesel::sql_query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap();
    let response = app
        .client
        .post(app.url("/v1/session/refresh"))
        .json(&json!({ "refresh_token": signed_in.refresh_token }));
    assert_problem(response.send().await.unwrap(), 401, "refresh_token_expired").await;
}

#[tokio::test]
async fn signing_out_ends_the_session_and_its_tokens() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up(PHONE).await;
    let response = app.delete_as("/v1/session", &signed_in.access_token).await;
    assert_eq!(response.status(), 204);
    assert_problem(app.get_as("/v1/session", &signed_in.access_token).await, 401, "session_revoked").await;
    let response = app
        .client
        .post(app.url("/v1/session/refresh"))
        .json(&json!({ "refresh_token": signed_in.refresh_token }));
    assert_problem(response.send().await.unwrap(), 401, "session_revoked").await;
}

#[tokio::test]
async fn malformed_codes_are_refused_before_they_count_as_attempts() {
    let app = TestApp::spawn().await;
    app.request_code_from(PHONE, CLIENT).await;
    for code in ["12345", "1234567", "12345a", ""] {
        assert_problem(app.verify_code_from(PHONE, code, CLIENT).await, 422, "invalid_code").await;
    }
    let attempts: i32 = burgernet_core::db::schema::sign_in_challenges::table
        .select(burgernet_core::db::schema::sign_in_challenges::failed_attempts)
        .first(&mut app.database.connect().await)
        .await
        .unwrap();
    assert_eq!(attempts, 0);
}
