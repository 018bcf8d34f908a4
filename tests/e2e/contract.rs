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

/// Every `$ref` in `value`, with where it was found.
fn references<'a>(value: &'a serde_json::Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        serde_json::Value::Object(object) => {
            for (key, inner) in object {
                match (key.as_str(), inner) {
                    ("$ref", serde_json::Value::String(target)) => found.push((at.clone(), target)),
                    _ => references(inner, format!("{at}/{key}"), found),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                references(inner, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_served_contract_resolves() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut found = Vec::new();
    references(&served, String::new(), &mut found);
    assert!(found.len() > 100, "{} references", found.len());
    let dangling: Vec<String> = found
        .iter()
        .filter(|(_, target)| {
            // Only references within the document: `#` and a JSON pointer (RFC 6901).
            target.strip_prefix('#').is_none_or(|pointer| served.pointer(pointer).is_none())
        })
        .map(|(at, target)| format!("{at} -> {target}"))
        .collect();
    assert!(dangling.is_empty(), "references that resolve to nothing:\n{}", dangling.join("\n"));
}

#[test]
fn every_operation_with_a_json_body_declares_how_the_body_may_be_refused() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // The SMS gateway's receipts, the voice gateway's call statuses and the mail
            // provider's bounce reports are signed bytes, checked and refused as a whole
            // (`invalid_receipt`, `invalid_call_status`, `invalid_bounce`).
            let signed =
                ["/v1/sms/receipts", "/v1/voice/status", "/v1/email/bounces"].contains(&path.as_str());
            if operation["requestBody"]["content"]["application/json"].is_null() || signed {
                continue;
            }
            let responses = &operation["responses"];
            for status in ["400", "413", "415", "422"] {
                assert!(responses[status].is_object(), "{method} {path} does not declare {status}");
            }
            // A body of the wrong shape is `invalid_body`, whatever else the operation checks.
            let unprocessable = responses["422"]["description"].as_str().unwrap_or_default();
            assert!(unprocessable.contains("`invalid_body`"), "{method} {path}: 422 is {unprocessable:?}");
        }
    }
}

#[test]
fn the_event_stream_describes_each_event_and_its_data() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let resolve = |schema: &serde_json::Value| -> serde_json::Value {
        match schema["$ref"].as_str() {
            Some(target) => document.pointer(target.trim_start_matches('#')).expect("resolves").clone(),
            None => schema.clone(),
        }
    };
    let stream = &document["paths"]["/v1/alerts/{alert_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"];
    let event = resolve(stream);
    let variants = event["oneOf"].as_array().unwrap_or_else(|| panic!("no oneOf of events: {event}"));
    let mut described = std::collections::BTreeMap::new();
    for variant in variants {
        let variant = resolve(variant);
        let name = variant["properties"]["event"]["enum"][0].as_str().expect("an event name").to_string();
        // On the wire `data` is one line of JSON: a string, whose JSON has the schema named.
        let data = &variant["properties"]["data"];
        assert_eq!(
            (&data["type"], &data["contentMediaType"]),
            (&serde_json::json!("string"), &serde_json::json!("application/json")),
            "{name}"
        );
        let data = resolve(&data["contentSchema"]);
        assert!(data.is_object() && data != serde_json::json!({}), "{name}: no schema for its data");
        assert!(variant["description"].is_string(), "{name} is not described");
        described.insert(name, (variant["properties"]["id"].is_object(), data));
    }
    assert_eq!(described.keys().collect::<Vec<_>>(), ["counters", "dossier", "end", "token_expired"]);
    // Only dossier entries carry an id (their number, written out), which Last-Event-ID resumes after.
    assert_eq!(described.values().map(|(id, _)| *id).collect::<Vec<_>>(), [false, true, false, false]);
    assert!(described["counters"].1["properties"]["batches_pending"].is_object());
    assert!(described["dossier"].1["properties"]["kind"].is_object());
}
