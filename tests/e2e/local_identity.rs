//! The local identity provider as the console meets it: an OpenID Connect provider under
//! `/dev/identity` (authorization code flow with PKCE S256) whose sign-in page lets anyone pick a
//! role and a region or municipality, and whose access tokens the API authorizes like any staff
//! token. Only in local mode.

use std::collections::HashMap;

use burgernet_local::identity::openid::{CONSOLE_CLIENT_ID, s256_challenge};
use serde_json::Value;

use crate::helpers::{TestApp, TestAppOptions, assert_problem};

const CSP_PREFIX: &str = "default-src 'none'; style-src 'self'; form-action 'self' http://127.0.0.1:";

async fn local_app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { dev_mode: true, ..Default::default() }).await;
    app.load_reference_data().await;
    app
}

/// `application/x-www-form-urlencoded`, as a browser encodes a form.
fn form_encoded(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (byte as char).to_string()
                }
                _ => format!("%{byte:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The query parameters of an address.
fn query_of(location: &str) -> HashMap<String, String> {
    let decode = |text: &str| -> String {
        let bytes = text.replace('+', " ").into_bytes();
        let mut decoded = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                decoded.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(decoded).unwrap()
    };
    let (_, query) = location.split_once('?').unwrap_or((location, ""));
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// A console starting a sign-in: its PKCE verifier and the authorization request's parameters.
struct Console {
    verifier: String,
    parameters: Vec<(&'static str, String)>,
}

impl Console {
    fn new(app: &TestApp) -> Self {
        let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let parameters = vec![
            ("response_type", "code".to_string()),
            ("client_id", CONSOLE_CLIENT_ID.to_string()),
            ("redirect_uri", app.console_url()),
            ("scope", "openid profile".to_string()),
            ("state", "state-123".to_string()),
            ("nonce", "nonce-456".to_string()),
            ("code_challenge", s256_challenge(&verifier)),
            ("code_challenge_method", "S256".to_string()),
        ];
        Self { verifier, parameters }
    }

    /// The parameters with `changes` (an empty value leaves one out).
    fn with(&self, changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut parameters = self.parameters.clone();
        for &(name, value) in changes {
            parameters.retain(|(existing, _)| *existing != name);
            if !value.is_empty() {
                parameters.push((name, value.to_string()));
            }
        }
        parameters
    }

    fn query(&self, changes: &[(&'static str, &str)]) -> String {
        let parameters = self.with(changes);
        form_encoded(&parameters.iter().map(|(name, value)| (*name, value.as_str())).collect::<Vec<_>>())
    }
}

async fn authorization_page(app: &TestApp, query: &str) -> reqwest::Response {
    app.get(&format!("/dev/identity/authorize?{query}")).await
}

/// Posts the sign-in form: the request's parameters and the choice.
async fn submit(app: &TestApp, console: &Console, choice: &[(&'static str, &str)]) -> reqwest::Response {
    let mut fields = console.with(&[]);
    fields.extend(choice.iter().map(|(name, value)| (*name, value.to_string())));
    let body = form_encoded(&fields.iter().map(|(name, value)| (*name, value.as_str())).collect::<Vec<_>>());
    app.client
        .post(app.url("/dev/identity/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

const DISPATCHER_OF_ROTTERDAM: [(&str, &str); 5] = [
    ("name", "Meldkamer Test"),
    ("role", "dispatcher"),
    ("region", "rotterdam"),
    ("municipality", "GM0599"),
    ("session", "15m"),
];

/// Signs in with `choice` and returns the code the console receives.
async fn code_for(app: &TestApp, console: &Console, choice: &[(&'static str, &str)]) -> String {
    let response = submit(app, console, choice).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&app.console_url()), "{location}");
    let query = query_of(&location);
    assert_eq!(query["state"], "state-123");
    assert_eq!(query["iss"], app.identity_issuer());
    query["code"].clone()
}

async fn exchange(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/dev/identity/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encoded(fields))
        .send()
        .await
        .unwrap()
}

async fn exchange_code(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    let console = app.console_url();
    exchange(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &console),
            ("client_id", CONSOLE_CLIENT_ID),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn token_error(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_discovery_document_describes_the_code_flow_with_pkce() {
    let app = local_app().await;
    let issuer = app.identity_issuer().to_string();
    assert_eq!(issuer, format!("{}/dev/identity", app.address));
    let response = app.get("/dev/identity/.well-known/openid-configuration").await;
    assert_eq!(response.status(), 200);
    let discovery: Value = response.json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(discovery["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(discovery["end_session_endpoint"], format!("{issuer}/end-session"));
    assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(discovery["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(discovery["grant_types_supported"], serde_json::json!(["authorization_code"]));
    assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
    assert_eq!(discovery["token_endpoint_auth_methods_supported"], serde_json::json!(["none"]));

    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let jwks: Value = app.client.get(jwks_uri).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks, serde_json::from_str::<Value>(&app.identity.jwks).unwrap());
}

#[tokio::test]
async fn the_sign_in_page_offers_the_regions_and_municipalities_and_escapes_what_it_is_sent() {
    let app = local_app().await;
    let console = Console::new(&app);
    let response =
        authorization_page(&app, &console.query(&[("state", "\"><script>alert(1)</script>")])).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with(CSP_PREFIX) && policy.ends_with("; frame-ancestors 'none'"), "{policy}");
    let page = response.text().await.unwrap();

    assert!(page.contains("<html lang=\"nl\">") && page.contains("<h1>"), "{page}");
    for id in ["name", "role", "region", "municipality", "session"] {
        assert!(page.contains(&format!("<label for=\"{id}\">")), "no label for {id}: {page}");
    }
    for option in [
        // By name; the first is chosen at first.
        "<option value=\"amsterdam\" selected>Eenheid Amsterdam</option>",
        "<option value=\"rotterdam\">Eenheid Rotterdam (demo)</option>",
        "<option value=\"GM0363\" selected>Amsterdam (GM0363)</option>",
        "<option value=\"GM0599\">Rotterdam (GM0599)</option>",
        "<option value=\"8h\" selected>",
        "<option value=\"1m\">",
        "<option value=\"relations_officer\">Relatiebeheerder gemeente",
    ] {
        assert!(page.contains(option), "no {option}: {page}");
    }
    assert!(page.contains("value=\"Meldkamer Test\""), "{page}");
    assert!(page.contains("<button type=\"submit\">Aanmelden</button>"), "{page}");
    assert!(
        page.contains(
            "<input type=\"hidden\" name=\"state\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">"
        ),
        "{page}"
    );
    assert!(!page.contains("<script") && !page.contains("style="), "no script, no inline style: {page}");

    let stylesheet = app.get("/dev/identity/style.css").await;
    assert_eq!(stylesheet.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn a_dispatcher_signs_in_with_a_code_and_the_api_authorizes_the_token_for_their_region() {
    let app = local_app().await;
    let console = Console::new(&app);
    assert_eq!(authorization_page(&app, &console.query(&[])).await.status(), 200);
    let code = code_for(&app, &console, &DISPATCHER_OF_ROTTERDAM).await;

    let response = exchange_code(&app, &code, &console.verifier).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!((tokens["token_type"].as_str(), tokens["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
    assert_eq!(tokens["scope"], "openid profile");
    let access_token = tokens["access_token"].as_str().unwrap();

    let me = app.get_json("/v1/staff/me", access_token).await;
    assert_eq!((me["role"].as_str(), me["region"].as_str()), (Some("dispatcher"), Some("rotterdam")), "{me}");
    assert_eq!(me["name"], "Meldkamer Test");
    assert!(me["subject"].as_str().unwrap().starts_with("local-"), "{me}");
    assert_eq!(app.get_as("/v1/regions/rotterdam", access_token).await.status(), 200);
    assert_problem(app.get_as("/v1/regions/amsterdam", access_token).await, 403, "out_of_scope").await;
    // The harness's own tokens carry the same issuer.
    assert_eq!(app.get_as("/v1/staff/me", &app.dispatcher_token("rotterdam")).await.status(), 200);

    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[CONSOLE_CLIENT_ID]);
    validation.set_issuer(&[app.identity_issuer()]);
    let key = jsonwebtoken::DecodingKey::from_ec_pem(app.identity.public_pem.as_bytes()).unwrap();
    let id_token = jsonwebtoken::decode::<Value>(tokens["id_token"].as_str().unwrap(), &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        (id_token["nonce"].as_str(), id_token["sub"].as_str()),
        (Some("nonce-456"), me["subject"].as_str())
    );

    // Signing in again as the same person gives the same subject.
    let again = Console::new(&app);
    let code = code_for(&app, &again, &DISPATCHER_OF_ROTTERDAM).await;
    let tokens: Value = exchange_code(&app, &code, &again.verifier).await.json().await.unwrap();
    let me_again = app.get_json("/v1/staff/me", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me_again["subject"], me["subject"]);
}

#[tokio::test]
async fn a_code_needs_its_verifier_its_redirect_uri_and_the_client_and_works_once() {
    let app = local_app().await;
    let console = Console::new(&app);

    let code = code_for(&app, &console, &DISPATCHER_OF_ROTTERDAM).await;
    let wrong_verifier = "w".repeat(43);
    assert_eq!(token_error(exchange_code(&app, &code, &wrong_verifier).await).await, "invalid_grant");
    // The failed exchange burned the code.
    assert_eq!(token_error(exchange_code(&app, &code, &console.verifier).await).await, "invalid_grant");

    let code = code_for(&app, &console, &DISPATCHER_OF_ROTTERDAM).await;
    assert_eq!(exchange_code(&app, &code, &console.verifier).await.status(), 200);
    assert_eq!(
        token_error(exchange_code(&app, &code, &console.verifier).await).await,
        "invalid_grant",
        "reused"
    );

    let code = code_for(&app, &console, &DISPATCHER_OF_ROTTERDAM).await;
    let elsewhere = format!("{}/elsewhere/", app.address);
    let fields = |client_id: &'static str, redirect_uri: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", redirect_uri.to_string()),
            ("client_id", client_id.to_string()),
            ("code_verifier", console.verifier.clone()),
        ]
    };
    let send = async |fields: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
        token_error(exchange(&app, &pairs).await).await
    };
    assert_eq!(send(fields("someone-else", &app.console_url())).await, "invalid_client");
    assert_eq!(send(fields(CONSOLE_CLIENT_ID, &elsewhere)).await, "invalid_grant");

    let mut password_grant = fields(CONSOLE_CLIENT_ID, &app.console_url());
    password_grant[0].1 = "password".into();
    assert_eq!(send(password_grant).await, "unsupported_grant_type");
    let as_json = app
        .client
        .post(app.url("/dev/identity/token"))
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(token_error(as_json).await, "invalid_request");
}

#[tokio::test]
async fn a_request_without_s256_pkce_is_refused_by_redirect_and_an_unknown_redirect_uri_by_a_page() {
    let app = local_app().await;
    let console = Console::new(&app);
    for changes in
        [[("code_challenge_method", "plain")], [("code_challenge_method", "")], [("code_challenge", "")]]
    {
        let response = authorization_page(&app, &console.query(&changes)).await;
        assert_eq!(response.status(), 303, "{changes:?}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(&app.console_url()), "{location}");
        let query = query_of(location);
        assert_eq!((query["error"].as_str(), query["state"].as_str()), ("invalid_request", "state-123"));
    }

    let unlisted = format!("{}/console/evil", app.address);
    for changes in [
        [("redirect_uri", unlisted.as_str())],
        [("redirect_uri", "https://evil.test/")],
        [("client_id", "someone-else")],
    ] {
        let response = authorization_page(&app, &console.query(&changes)).await;
        assert_eq!(response.status(), 400, "{changes:?}");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("Aanmelden niet mogelijk"), "{page}");
        // Posting the form to it is refused the same way.
        let mut posted = Console::new(&app);
        posted.parameters = console.with(&changes);
        let response = submit(&app, &posted, &DISPATCHER_OF_ROTTERDAM).await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
    }
}

#[tokio::test]
async fn a_relations_officer_without_a_municipality_sees_the_form_again_with_their_choices() {
    let app = local_app().await;
    let console = Console::new(&app);
    let response = submit(
        &app,
        &console,
        &[
            ("name", "<script>alert('x')</script>"),
            ("role", "relations_officer"),
            ("region", ""),
            ("municipality", ""),
            ("session", "1m"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(page.contains("A relations officer needs a municipality."), "{page}");
    assert!(page.contains("value=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\""), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("<option value=\"relations_officer\" selected>"), "{page}");
    assert!(page.contains("<option value=\"1m\" selected>"), "{page}");

    // With one, the sign-in goes on.
    let code = code_for(
        &app,
        &console,
        &[
            ("name", "Gemeente Test"),
            ("role", "relations_officer"),
            ("municipality", "GM0599"),
            ("session", "8h"),
        ],
    )
    .await;
    let tokens: Value = exchange_code(&app, &code, &console.verifier).await.json().await.unwrap();
    assert_eq!(tokens["expires_in"], 8 * 3600);
    let me = app.get_json("/v1/staff/me", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (me["role"].as_str(), me["municipality"].as_str()),
        (Some("relations_officer"), Some("GM0599"))
    );
}

#[tokio::test]
async fn signing_out_returns_to_the_console_and_nowhere_else() {
    let app = local_app().await;
    let query = form_encoded(&[("post_logout_redirect_uri", &app.console_url()), ("state", "bye")]);
    let response = app.get(&format!("/dev/identity/end-session?{query}")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("{}?state=bye", app.console_url()));

    let query = form_encoded(&[("post_logout_redirect_uri", "https://evil.test/")]);
    let response = app.get(&format!("/dev/identity/end-session?{query}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Afgemeld"));
}

#[tokio::test]
async fn outside_local_mode_there_is_no_identity_provider() {
    let app = TestApp::spawn().await;
    assert_problem(app.get("/dev/identity/.well-known/openid-configuration").await, 404, "not_found").await;
    assert_problem(app.get("/dev/identity/authorize").await, 404, "not_found").await;
    let token =
        app.client.post(app.url("/dev/identity/token")).body("grant_type=authorization_code").send().await;
    assert_problem(token.unwrap(), 404, "not_found").await;
}
