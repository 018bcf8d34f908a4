//! Bad input at the edge: every malformed request gets a problem document with the right status
//! and a stable code, never a 500 and never actix's plain-text defaults.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
use crate::helpers::{TestApp, TestAppOptions, problem};

async fn expect_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let (actual, body) = problem(response).await;
    assert_eq!((actual, body["code"].as_str().unwrap()), (status, code), "{body}");
    body
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    expect_problem(app.get("/v1/no-such-thing").await, 404, "not_found").await;
    expect_problem(app.get("/").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_naming_the_allowed_methods() {
    let app = TestApp::spawn().await;
    let response = app.client.delete(app.url("/v1/regions")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, POST");
    expect_problem(response, 405, "method_not_allowed").await;

    let response = app.client.post(app.url("/v1/regions/rotterdam")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    expect_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v1/regions"))
        .bearer_auth(app.admin_token())
        .header("content-type", "application/json")
        .body("{\"code\": \"utrecht\", ")
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "malformed_json").await;
}

#[tokio::test]
async fn a_body_with_the_wrong_content_type_is_a_415_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v1/regions"))
        .bearer_auth(app.admin_token())
        .header("content-type", "text/plain")
        .body(r#"{"code": "utrecht", "name": "Utrecht"}"#)
        .send()
        .await
        .unwrap();
    expect_problem(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem_and_nothing_is_written() {
    let app = TestApp::spawn_with(TestAppOptions { max_body_bytes: 1024, ..Default::default() }).await;
    let body = json!({"code": "utrecht", "name": "x".repeat(2000)});
    let body = expect_problem(
        app.post_json_as("/v1/regions", &app.admin_token(), &body).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("1024"));
    let regions: Vec<serde_json::Value> =
        app.get_as("/v1/regions", &app.admin_token()).await.json().await.unwrap();
    assert!(regions.is_empty());
}

#[tokio::test]
async fn a_body_with_wrong_or_unknown_fields_is_a_422_problem_that_names_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let body = expect_problem(
        app.post_json_as("/v1/regions", &admin, &json!({"name": "Utrecht"})).await,
        422,
        "invalid_body",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("code"), "{body}");
    let body = expect_problem(
        app.post_json_as("/v1/regions", &admin, &json!({"code": "Not A Code!", "name": "Utrecht"})).await,
        422,
        "invalid_body",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("region code"), "{body}");
    expect_problem(
        app.post_json_as("/v1/regions", &admin, &json!({"code": "utrecht", "name": "U", "colour": "blue"}))
            .await,
        422,
        "invalid_body",
    )
    .await;
    let body = expect_problem(
        app.post_json_as("/v1/regions", &admin, &json!({"code": "utrecht", "name": ""})).await,
        422,
        "invalid_reference_data",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("name"), "{body}");
}

#[tokio::test]
async fn a_malformed_path_parameter_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let body = expect_problem(
        app.get_as("/v1/municipalities/Rotterdam", &admin).await,
        400,
        "invalid_path_parameter",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("GM"), "{body}");
    expect_problem(app.get_as("/v1/regions/NOT%20VALID", &admin).await, 400, "invalid_path_parameter").await;
    // Well-formed but absent: 404.
    expect_problem(app.get_as("/v1/municipalities/GM9999", &admin).await, 404, "not_found").await;
    expect_problem(app.get_as("/v1/regions/utrecht", &admin).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_malformed_query_is_a_400_problem() {
    let app = TestApp::spawn_with(TestAppOptions { dev_mode: true, ..Default::default() }).await;
    expect_problem(app.get("/dev/outbox?limit=lots").await, 400, "invalid_query").await;
}

#[tokio::test]
async fn nothing_a_client_sends_causes_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"".to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"\"a string\"".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("application/json", br#"{"code": 12, "name": []}"#.to_vec()),
        ("application/json", br#"{"code": "a\u0000b", "name": "x"}"#.to_vec()),
        ("application/json; charset=latin1", br#"{"code": "x"}"#.to_vec()),
        ("multipart/form-data", b"--x\r\n".to_vec()),
    ];
    for (content_type, body) in bodies {
        let response = app
            .client
            .post(app.url("/v1/regions"))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (status, _) = problem(response).await;
        assert!((400..500).contains(&status), "{content_type} {body:?} gave {status}");
    }
    for path in
        ["/v1/regions/%FF", "/v1/municipalities/GM0599%00", "/v1/regions/..%2F..%2Fetc", "/v1//regions"]
    {
        let response = app.get_as(path, &admin).await;
        assert!(response.status().is_client_error(), "{path} gave {}", response.status());
        problem(response).await;
    }
    let not_text = reqwest::header::HeaderValue::from_bytes(b"Bearer \xc3\x28").unwrap();
    let weird_auth =
        app.client.get(app.url("/v1/staff/me")).header("authorization", not_text).send().await.unwrap();
    assert_eq!(problem(weird_auth).await.0, 401);
}

#[tokio::test]
async fn no_text_from_outside_may_hold_a_nul_character() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let (officer, dispatcher, admin) =
        (app.relations_officer_token("GM0599"), app.dispatcher_token("rotterdam"), app.admin_token());
    let anna = app.sign_up("+31611111111").await;
    let home = json!({"kind": "home", "name": "Thuis", "latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1});
    let response = app.send_json_as(Method::POST, "/v1/me/places", &anna.access_token, &home).await;
    assert_eq!(response.status(), 201);
    let record = format!("/v1/municipalities/GM0599/participants/{}", anna.participant_id);

    // PostgreSQL cannot store U+0000, so no field takes it: every JSON body is refused alike,
    // whichever field (or key) carries it, before anything is looked at or stored.
    let mut alert = alert_body(circle(ROTTERDAM, 1_000.0));
    alert["texts"]["nl"]["title"] = json!("Gezocht\u{0}");
    let bodies: Vec<(Method, String, &str, Value)> = vec![
        (
            Method::POST,
            format!("{record}/decisions"),
            &officer,
            json!({"decision": "quarantine", "reason": "SMS\u{0} komt niet aan"}),
        ),
        (Method::PATCH, "/v1/me".into(), &anna.access_token, json!({"display_name": "An\u{0}na"})),
        (Method::PATCH, "/v1/me".into(), &anna.access_token, json!({"email": "anna@exa\u{0}mple.nl"})),
        (Method::POST, "/v1/alerts".into(), &dispatcher, alert),
        (Method::POST, "/v1/regions".into(), &admin, json!({"code": "utrecht", "name": "Utrecht\u{0}"})),
        (Method::PATCH, "/v1/me".into(), &anna.access_token, json!({"\u{0}": 1})),
    ];
    for (method, path, token, body) in bodies {
        let response = app.send_json_as(method.clone(), &path, token, &body).await;
        let problem = expect_problem(response, 422, "invalid_body").await;
        assert!(problem["detail"].as_str().unwrap().contains("NUL"), "{method} {path}: {problem}");
    }
    let participant = app.get_json(&record, &officer).await;
    assert_eq!((&participant["status"], &participant["staff_actions"]), (&json!("active"), &json!([])));
    assert_eq!(app.get_json("/v1/me", &anna.access_token).await["display_name"], Value::Null);

    // Nor in a path or a query.
    expect_problem(app.get_as("/v1/regions/rotter%00dam", &admin).await, 400, "invalid_path_parameter").await;
    let search = "/v1/municipalities/GM0599/participants?postcode=3011%00AD";
    expect_problem(app.get_as(search, &officer).await, 400, "invalid_query").await;

    // The six characters of the escape written out are text like any other.
    let written_out = json!({"display_name": "C:\\u0000"});
    let response = app.send_json_as(Method::PATCH, "/v1/me", &anna.access_token, &written_out).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["display_name"], "C:\\u0000");
}
