//! Authentication and roles at the edge: every forged, stale or misdirected token is refused with
//! a problem body, and staff are held to their region or municipality.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use burgernet_core::auth::jwks::JwksRefresh;
use burgernet_core::auth::staff::StaffRole;
use burgernet_core::ids::ParticipantId;
use burgernet_local::identity::{DevKeyPair, StaffTokenRequest};
use serde_json::json;

use crate::helpers::app::{AUDIENCE, ISSUER, StaffKeyFormat};
use burgernet_fakes::faults::Rates;

use crate::helpers::{TestApp, TestAppOptions, problem};

fn request(role: StaffRole) -> StaffTokenRequest {
    StaffTokenRequest {
        subject: "staff-1".into(),
        name: None,
        role,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        lifetime: Duration::from_secs(600),
    }
}

fn encode_part(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn valid_claims() -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "attacker", "iat": now, "exp": now + 600, "role": "admin"})
}

async fn assert_refused(app: &TestApp, token: &str, status: u16, code: &str) {
    let (actual_status, body) = problem(app.get_as("/v1/staff/me", token).await).await;
    assert_eq!((actual_status, body["code"].as_str().unwrap()), (status, code), "{body}");
}

#[tokio::test]
async fn a_valid_staff_token_identifies_the_member_and_their_scope() {
    let app = TestApp::spawn().await;
    let response = app.get_as("/v1/staff/me", &app.dispatcher_token("rotterdam")).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"subject": "staff-1", "name": "Test Staff", "role": "dispatcher", "region": "rotterdam"})
    );
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthenticated_and_says_how_to_authenticate() {
    let app = TestApp::spawn().await;
    let response = app.get("/v1/staff/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "unauthenticated"));

    let response = app
        .client
        .get(app.url("/v1/staff/me"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    assert_eq!(problem(response).await.1["code"], "invalid_token");
}

#[tokio::test]
async fn an_expired_staff_token_is_refused() {
    let app = TestApp::spawn().await;
    // Expired an hour ago: well beyond the allowed clock skew.
    let pem = app.identity.private_pem.expose();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let mut claims = valid_claims();
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    let token =
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256), &claims, &key)
            .unwrap();
    assert_refused(&app, &token, 401, "token_expired").await;
}

/// A token with these claims, signed by the app's identity provider as it signs its own.
fn signed_by_the_identity_provider(app: &TestApp, claims: &serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(app.identity.private_pem.expose().as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(burgernet_local::identity::DEV_KEY_ID.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

#[tokio::test]
async fn a_token_for_several_audiences_is_accepted_when_ours_is_one_of_them() {
    // Identity providers send `aud` as a string or as an array (RFC 7519, 4.1.3).
    let app = TestApp::spawn().await;
    let mut claims = valid_claims();
    claims["aud"] = json!(["account", AUDIENCE]);
    let token = signed_by_the_identity_provider(&app, &claims);
    assert_eq!(app.get_as("/v1/staff/me", &token).await.status(), 200);

    claims["aud"] = json!(["account", "some-other-api"]);
    let token = signed_by_the_identity_provider(&app, &claims);
    assert_refused(&app, &token, 401, "invalid_token").await;
}

#[tokio::test]
async fn a_token_that_is_not_valid_yet_is_refused_beyond_the_clock_leeway() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let mut claims = valid_claims();
    claims["nbf"] = json!(now + 600);
    let (_, body) =
        problem(app.get_as("/v1/staff/me", &signed_by_the_identity_provider(&app, &claims)).await).await;
    assert_eq!(body["code"], "invalid_token");
    assert!(body["detail"].as_str().unwrap().contains("not valid yet"), "{body}");

    // Within the leeway allowed for clock skew, as for `exp`.
    claims["nbf"] = json!(now + 10);
    let token = signed_by_the_identity_provider(&app, &claims);
    assert_eq!(app.get_as("/v1/staff/me", &token).await.status(), 200);
}

#[tokio::test]
async fn a_token_without_iat_is_accepted() {
    // `iat` is optional (RFC 7519, 4.1.6); not every identity provider sends it.
    let app = TestApp::spawn().await;
    let mut claims = valid_claims();
    claims.as_object_mut().unwrap().remove("iat");
    let token = signed_by_the_identity_provider(&app, &claims);
    assert_eq!(app.get_as("/v1/staff/me", &token).await.status(), 200);
}

/// A token with these claims, signed with `pair`'s key and naming its key id.
fn signed_with(pair: &DevKeyPair, claims: &serde_json::Value, key_id: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pair.private_pem.expose().as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key_id.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// One JWKS document with the public keys of all `pairs`.
fn jwks_of(pairs: &[&DevKeyPair]) -> String {
    let keys: Vec<serde_json::Value> = pairs
        .iter()
        .flat_map(|pair| {
            let document: serde_json::Value = serde_json::from_str(&pair.jwks).unwrap();
            document["keys"].as_array().unwrap().clone()
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

async fn staff_status(app: &TestApp, token: &str) -> u16 {
    app.get_as("/v1/staff/me", token).await.status().as_u16()
}

async fn app_with_keys_from_a_jwks_url(refresh: JwksRefresh) -> TestApp {
    TestApp::spawn_with(TestAppOptions { staff_keys: StaffKeyFormat::JwksUrl(refresh), ..Default::default() })
        .await
}

#[tokio::test]
async fn a_token_signed_with_a_key_new_at_the_identity_provider_makes_us_fetch_its_keys_at_once() {
    // No scheduled fetch during the test: every fetch here is for a token's unknown key.
    let refresh = JwksRefresh {
        every: Duration::from_secs(3600),
        at_most_every: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
    };
    let app = app_with_keys_from_a_jwks_url(refresh).await;
    let idp = app.identity_provider.as_ref().unwrap();
    assert_eq!(staff_status(&app, &app.admin_token()).await, 200);
    assert_eq!(idp.fetches(), 1, "fetched at start");

    // The identity provider rotates: it publishes a second key and signs with it. The first
    // token naming the new key makes us fetch the keys (no sooner than `at_most_every` after the
    // last fetch), without a restart.
    let second = DevKeyPair::generate_with_key_id("idp-key-2");
    idp.publish(&jwks_of(&[&app.identity, &second]));
    tokio::time::sleep(refresh.at_most_every).await;
    let from_second = signed_with(&second, &valid_claims(), &second.key_id);
    assert_eq!(staff_status(&app, &from_second).await, 200);
    assert_eq!(idp.fetches(), 2);
    assert_eq!(staff_status(&app, &app.admin_token()).await, 200, "the first key still works");

    // Tokens naming keys nobody published do not make us hammer the identity provider: at most
    // one fetch per `at_most_every`.
    let started = std::time::Instant::now();
    for attempt in 0..15 {
        let forged = signed_with(&second, &valid_claims(), &format!("made-up-{attempt}"));
        assert_refused(&app, &forged, 401, "invalid_token").await;
    }
    let allowed = 1 + started.elapsed().as_millis() / refresh.at_most_every.as_millis();
    assert!((idp.fetches() - 2) as u128 <= allowed, "{} fetches", idp.fetches() - 2);

    // An identity provider that fails leaves the last good keys in use.
    idp.faults().set_rates(Rates { server_error: 1.0, ..Rates::default() });
    // Past `at_most_every` since the last fetch, so the next unknown key may fetch again.
    tokio::time::sleep(refresh.at_most_every).await;
    let fetches = idp.fetches();
    let third = DevKeyPair::generate_with_key_id("idp-key-3");
    assert_refused(&app, &signed_with(&third, &valid_claims(), &third.key_id), 401, "invalid_token").await;
    assert_eq!(idp.fetches(), fetches + 1, "a fetch was tried, and failed");
    assert_eq!(staff_status(&app, &from_second).await, 200);
    assert_eq!(staff_status(&app, &app.admin_token()).await, 200);

    // Once it answers again, the third key is fetched like the second.
    idp.faults().clear();
    idp.publish(&jwks_of(&[&second, &third]));
    // Past `at_most_every` since the failed fetch: the third key may be fetched.
    tokio::time::sleep(refresh.at_most_every).await;
    assert_eq!(staff_status(&app, &signed_with(&third, &valid_claims(), &third.key_id)).await, 200);
}

#[tokio::test]
async fn staff_keys_from_a_jwks_url_are_fetched_on_a_schedule_so_a_retired_key_stops_working() {
    let refresh = JwksRefresh {
        every: Duration::from_millis(500),
        at_most_every: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
    };
    let app = app_with_keys_from_a_jwks_url(refresh).await;
    let idp = app.identity_provider.as_ref().unwrap();
    assert_eq!(staff_status(&app, &app.admin_token()).await, 200);

    // Rotated, and the first key retired: no token needs to ask; the next scheduled fetch
    // drops it.
    let second = DevKeyPair::generate_with_key_id("idp-key-2");
    idp.publish(&jwks_of(&[&second]));
    let fetches = idp.fetches();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while idp.fetches() < fetches + 2 {
        assert!(std::time::Instant::now() < deadline, "no scheduled fetch");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_refused(&app, &app.admin_token(), 401, "invalid_token").await;
    assert_eq!(staff_status(&app, &signed_with(&second, &valid_claims(), &second.key_id)).await, 200);
}

#[tokio::test]
async fn a_token_from_another_issuer_or_for_another_audience_is_refused() {
    let app = TestApp::spawn().await;
    let mut wrong_issuer = request(StaffRole::Admin);
    wrong_issuer.issuer = "https://idp.evil.test".into();
    assert_refused(&app, &app.staff_token_for(wrong_issuer), 401, "invalid_token").await;

    let mut wrong_audience = request(StaffRole::Admin);
    wrong_audience.audience = "some-other-api".into();
    assert_refused(&app, &app.staff_token_for(wrong_audience), 401, "invalid_token").await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::spawn().await;
    let token =
        format!("{}.{}.", encode_part(&json!({"alg": "none", "typ": "JWT"})), encode_part(&valid_claims()));
    assert_refused(&app, &token, 401, "invalid_token").await;
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_refused() {
    // Algorithm confusion: the attacker knows the public key and uses its PEM text as an HMAC secret.
    let app =
        TestApp::spawn_with(TestAppOptions { staff_keys: StaffKeyFormat::Pem, ..Default::default() }).await;
    let key = jsonwebtoken::EncodingKey::from_secret(app.identity.public_pem.as_bytes());
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &valid_claims(),
        &key,
    )
    .unwrap();
    assert_refused(&app, &token, 401, "invalid_token").await;
    // The same app accepts a genuine token, so the refusal is about the forgery.
    assert_eq!(app.get_as("/v1/staff/me", &app.admin_token()).await.status(), 200);
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = app.dispatcher_token("rotterdam");
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], encode_part(&claims), parts[2]);
    assert_refused(&app, &tampered, 401, "invalid_token").await;
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_refused() {
    let app = TestApp::spawn().await;
    let stranger = TestApp::spawn().await;
    assert_refused(&app, &stranger.admin_token(), 401, "invalid_token").await;
    assert_refused(&app, "not-a-jwt-at-all", 401, "invalid_token").await;
}

#[tokio::test]
async fn a_genuine_token_without_a_burgernet_role_is_forbidden() {
    let app = TestApp::spawn().await;
    let mut claims = valid_claims();
    for role in ["dispatcher", "region_manager"] {
        claims["role"] = json!(role); // without the region it is scoped to
        let token = signed_by_the_identity_provider(&app, &claims);
        assert_refused(&app, &token, 403, "missing_role").await;
    }
}

#[tokio::test]
async fn a_participant_token_on_a_staff_endpoint_is_forbidden_and_vice_versa() {
    let app = TestApp::spawn().await;
    let participant = app.unchecked_participant_token(ParticipantId::new());
    assert_refused(&app, &participant, 403, "staff_only").await;

    let (status, body) = problem(app.get_as("/v1/session", &app.admin_token()).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "participants_only"));
}

#[tokio::test]
async fn a_participant_token_opens_the_participant_session() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_up("+31612345678").await;
    let response = app.get_as("/v1/session", &signed_in.access_token).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["participant_id"], signed_in.participant_id.to_string());
    assert!(body["expires_at"].is_string());

    let forged = app.participant_tokens.issue_access_token(
        signed_in.participant_id,
        signed_in.session_id(&app),
        chrono::Utc::now() - chrono::Duration::hours(2),
    );
    let (status, body) = problem(app.get_as("/v1/session", forged.token.expose()).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "token_expired"));
}

#[tokio::test]
async fn dispatchers_see_only_their_own_region() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let rotterdam = app.dispatcher_token("rotterdam");

    let response = app.get_as("/v1/regions/rotterdam", &rotterdam).await;
    assert_eq!(response.status(), 200);
    let region: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (region["code"].as_str(), region["municipality_count"].as_i64()),
        (Some("rotterdam"), Some(19))
    );

    let (status, body) = problem(app.get_as("/v1/regions/amsterdam", &rotterdam).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "out_of_scope"));
    let (status, _) = problem(app.get_as("/v1/regions/amsterdam/municipalities", &rotterdam).await).await;
    assert_eq!(status, 403);

    // The same role from the other region is held to its own region too.
    let amsterdam = app.dispatcher_token("amsterdam");
    assert_eq!(app.get_as("/v1/regions/amsterdam/municipalities", &amsterdam).await.status(), 200);
    assert_eq!(app.get_as("/v1/regions/rotterdam", &amsterdam).await.status(), 403);
    assert_eq!(app.get_as("/v1/municipalities/GM0599", &amsterdam).await.status(), 403);
    assert_eq!(app.get_as("/v1/municipalities/GM0599", &rotterdam).await.status(), 200);
}

#[tokio::test]
async fn relations_officers_see_only_their_own_municipality() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let rotterdam_officer = app.relations_officer_token("GM0599");

    let response = app.get_as("/v1/municipalities/GM0599", &rotterdam_officer).await;
    assert_eq!(response.status(), 200);
    let municipality: serde_json::Value = response.json().await.unwrap();
    assert_eq!(municipality["name"], "Rotterdam");
    assert_eq!(municipality["inhabitants"], 612502);
    assert_eq!(municipality["region"], "rotterdam");

    for other in ["GM0606", "GM0363", "GM9999"] {
        let (status, body) =
            problem(app.get_as(&format!("/v1/municipalities/{other}"), &rotterdam_officer).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (403, "out_of_scope"), "{other}");
    }
    assert_eq!(app.get_as("/v1/regions/rotterdam", &rotterdam_officer).await.status(), 403);
}

#[tokio::test]
async fn only_admins_create_regions() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let body = json!({"code": "zeeland-west-brabant", "name": "Eenheid Zeeland-West-Brabant", "municipalities": ["GM0511"]});

    for token in [app.dispatcher_token("rotterdam"), app.relations_officer_token("GM0511")] {
        let (status, problem_body) = problem(app.post_json_as("/v1/regions", &token, &body).await).await;
        assert_eq!((status, problem_body["code"].as_str().unwrap()), (403, "role_required"));
    }
    let listed: Vec<serde_json::Value> =
        app.get_as("/v1/regions", &app.dispatcher_token("rotterdam")).await.json().await.unwrap();
    assert_eq!(listed.len(), 2, "refused requests created nothing");

    let response = app.post_json_as("/v1/regions", &app.admin_token(), &body).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (created["code"].as_str(), created["municipality_count"].as_i64()),
        (Some("zeeland-west-brabant"), Some(1))
    );
    let goedereede: serde_json::Value =
        app.get_as("/v1/municipalities/GM0511", &app.admin_token()).await.json().await.unwrap();
    assert_eq!(goedereede["region"], "zeeland-west-brabant");

    let (status, problem_body) =
        problem(app.post_json_as("/v1/regions", &app.admin_token(), &body).await).await;
    assert_eq!((status, problem_body["code"].as_str().unwrap()), (409, "already_exists"));

    let unknown = json!({"code": "oost-nederland", "name": "Oost", "municipalities": ["GM0001"]});
    let (status, problem_body) =
        problem(app.post_json_as("/v1/regions", &app.admin_token(), &unknown).await).await;
    assert_eq!((status, problem_body["code"].as_str().unwrap()), (422, "unknown_reference"));
    assert!(problem_body["detail"].as_str().unwrap().contains("GM0001"));
}

#[tokio::test]
async fn a_region_manager_reads_the_alerts_and_figures_of_their_region_and_acts_on_nothing() {
    use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
    use reqwest::Method;

    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let manager = app.region_manager_token("rotterdam");

    // Reading: the region, its municipalities, its alerts, an alert, its dossier and tips.
    for path in [
        "/v1/regions/rotterdam".to_string(),
        "/v1/regions/rotterdam/municipalities".to_string(),
        "/v1/municipalities/GM0599/participation".to_string(),
        "/v1/alerts".to_string(),
        format!("/v1/alerts/{alert}"),
        format!("/v1/alerts/{alert}/dossier"),
        format!("/v1/alerts/{alert}/tips"),
    ] {
        assert_eq!(app.get_as(&path, &manager).await.status(), 200, "{path}");
    }
    let listed = app.get_json("/v1/alerts", &manager).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // Acting: neither on alerts nor on evidence nor on participants.
    let hold = json!({"reason": "Nodig voor het onderzoek"});
    for (method, path, body) in [
        (Method::POST, "/v1/alerts".to_string(), alert_body(circle(ROTTERDAM, 1_000.0))),
        (Method::POST, format!("/v1/alerts/{alert}/close"), json!({"outcome": "no_result"})),
        (Method::PUT, format!("/v1/alerts/{alert}/legal-hold"), hold),
        (
            Method::PUT,
            "/v1/municipalities/GM0599/approval-policy".to_string(),
            json!({"requires_approval": true}),
        ),
    ] {
        let (status, body) = problem(app.send_json_as(method.clone(), &path, &manager, &body).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (403, "role_required"), "{method} {path}");
    }
    assert_eq!(app.get_json(&format!("/v1/alerts/{alert}"), &manager).await["status"], "active");
    let (status, body) = problem(app.get_as("/v1/municipalities/GM0599/participants", &manager).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "role_required"), "no personal data");

    // The same role of another region sees none of it.
    let other = app.region_manager_token("amsterdam");
    assert_eq!(app.get_as(&format!("/v1/alerts/{alert}"), &other).await.status(), 403);
    assert_eq!(app.get_as("/v1/regions/rotterdam", &other).await.status(), 403);
    assert_eq!(app.get_as("/v1/municipalities/GM0599/participation", &other).await.status(), 403);
    assert_eq!(app.get_json("/v1/alerts", &other).await, json!([]));
}
