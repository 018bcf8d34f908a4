//! The API contract: the committed `openapi/openapi.json` is exactly what the code serves, every
//! operation says who may call it, and the reference page stands on its own.

use crate::helpers::TestApp;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[tokio::test]
async fn the_committed_contract_is_what_the_server_serves() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let served: serde_json::Value = response.json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(COMMITTED).expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json differs from the contract the code serves.\n\
         Regenerate it with:  cargo run -q -- admin openapi > openapi/openapi.json\n\
         and review the diff: it is a change to the public API."
    );
}

#[test]
fn every_operation_says_who_may_call_it_and_declares_its_token() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(description.contains("Who may call:"), "{method} {path} does not say who may call it");
            let needs_token = !description.contains("Who may call: anyone");
            let declares_token = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                needs_token, declares_token,
                "{method} {path}: security declaration and description disagree"
            );
            if needs_token {
                assert!(operation["responses"]["401"].is_object(), "{method} {path} does not document 401");
            }
        }
    }
}

#[tokio::test]
async fn the_reference_page_lists_every_operation_and_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    for path in document["paths"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("<code>{path}</code>")), "{path} missing from the reference page");
    }
    assert!(html.contains("id=\"schema-Problem\""));
    for external in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "the reference page references something external: {external}");
    }
}
