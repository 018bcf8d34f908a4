//! The local outbox: what the stand-ins for push, SMS and e-mail received, only in local mode.

use burgernet_core::outbox::{OutboxChannel, OutgoingMessage};

use crate::helpers::{TestApp, TestAppOptions, problem};

#[tokio::test]
async fn the_outbox_lists_what_the_local_stand_ins_received_newest_first() {
    let app = TestApp::spawn_with(TestAppOptions { dev_mode: true, ..Default::default() }).await;
    let outbox = app.outbox.clone().unwrap();
    outbox.deliver(OutgoingMessage {
        channel: OutboxChannel::Sms,
        recipient: "+31612345678".into(),
        subject: None,
        body: "Uw code is 123456".into(),
        metadata: serde_json::json!({"sender": "Burgernet"}),
    });
    outbox.deliver(OutgoingMessage {
        channel: OutboxChannel::Push,
        recipient: "fcm-token-abc".into(),
        subject: Some("Vermist kind".into()),
        body: "Let op: jongen, 8 jaar, rode jas".into(),
        metadata: serde_json::Value::Null,
    });

    let listed: Vec<serde_json::Value> = app.get("/dev/outbox").await.json().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0]["channel"].as_str(), listed[0]["subject"].as_str()),
        (Some("push"), Some("Vermist kind"))
    );
    assert_eq!(
        (listed[1]["channel"].as_str(), listed[1]["recipient"].as_str()),
        (Some("sms"), Some("+31612345678"))
    );
    let limited: Vec<serde_json::Value> = app.get("/dev/outbox?limit=1").await.json().await.unwrap();
    assert_eq!(limited, listed[..1]);
}

#[tokio::test]
async fn outside_local_mode_there_is_no_outbox() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(app.get("/dev/outbox").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (404, "not_found"));
}
