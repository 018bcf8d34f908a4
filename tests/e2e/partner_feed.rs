//! Partners read CAP 1.2 through an Atom feed with a key of their own: an administrator makes a
//! key for some regions and categories (`POST /v1/partner-keys`; the key is shown once and only
//! its SHA-256 is kept), and the partner reads `GET /v1/cap/feed` and `GET /v1/cap/messages/{id}`
//! with it in `X-Partner-Key`: only the sent alerts of its regions and categories, real ones
//! unless the key includes exercises, each message's CAP valid against the official schema. A
//! revoked key opens nothing.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::alerts::{AMSTERDAM, ROTTERDAM, alert_body, circle};
use crate::helpers::app::PUBLIC_URL;
use crate::helpers::cap::{assert_valid_cap, assert_well_formed, one, texts};
use crate::helpers::{TestApp, assert_problem};

const KEY_HEADER: &str = "X-Partner-Key";

/// One entry of the feed, as a partner reads it.
#[derive(Debug)]
struct Entry {
    id: String,
    title: String,
    updated: String,
    link: String,
    /// The CAP `<alert>` carried inline.
    cap: String,
}

/// The text between `start` and the next `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let (_, rest) = text.split_once(start).unwrap_or_else(|| panic!("no {start} in {text}"));
    rest.split_once(end).unwrap_or_else(|| panic!("no {end} after {start} in {text}")).0
}

fn entries(feed: &str) -> Vec<Entry> {
    feed.split("<entry>")
        .skip(1)
        .map(|entry| {
            let entry = entry.split_once("</entry>").expect("a closed entry").0;
            let (head, content) =
                entry.split_once("<content type=\"application/cap+xml\">").expect("the CAP message inline");
            let (cap, tail) = content.split_once("</content>").expect("closed content");
            let elements: Vec<&str> = head
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| between(line, "<", ">").split(' ').next().unwrap())
                .collect();
            assert_eq!(elements, ["id", "title", "updated", "link"], "nothing but CAP: {entry}");
            assert!(tail.trim().is_empty(), "nothing after the content: {entry}");
            Entry {
                id: one(head, "id").to_string(),
                title: one(head, "title").to_string(),
                updated: one(head, "updated").to_string(),
                link: between(head, "<link rel=\"alternate\" type=\"application/cap+xml\" href=\"", "\"/>")
                    .to_string(),
                cap: cap.to_string(),
            }
        })
        .collect()
}

async fn read_as_partner(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header(KEY_HEADER, key).send().await.expect("request sent")
}

/// The feed at `path` as the partner with `key` reads it, well-formed Atom, with every entry's CAP
/// valid against the CAP 1.2 schema.
async fn feed(app: &TestApp, path: &str, key: &str) -> (String, Vec<Entry>) {
    let response = read_as_partner(app, path, key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/atom+xml");
    let feed = response.text().await.unwrap();
    assert_well_formed(&feed);
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), "{feed}");
    let entries = entries(&feed);
    for entry in &entries {
        assert!(!entry.cap.starts_with("<?xml"), "the CAP alert inline, without a declaration");
        assert_valid_cap(&entry.cap);
    }
    (feed, entries)
}

/// Makes a key as the administrator; returns the answer.
async fn create_key(app: &TestApp, admin: &str, body: Value) -> Value {
    let response = app.post_json_as("/v1/partner-keys", admin, &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// The ids of the alert's messages, in order, as an administrator sees them.
async fn message_ids(app: &TestApp, alert: &str) -> Vec<String> {
    let alert = app.get_json(&format!("/v1/alerts/{alert}"), &app.admin_token()).await;
    alert["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn a_partner_reads_only_the_cap_messages_of_its_regions_and_categories_until_its_key_is_revoked() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let admin = app.admin_token();
    let dispatcher = app.dispatcher_token("rotterdam");
    let amsterdam_dispatcher = app.dispatcher_token("amsterdam");

    // The administrator gives the partner a key for searches in Rotterdam.
    let body = json!({"name": "Matrixborden Rotterdam", "regions": ["rotterdam"], "categories": ["search"]});
    let issued = create_key(&app, &admin, body).await;
    let key = issued["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("bnp_") && key.len() == 47, "bnp_ and 32 bytes in base64url: {key}");
    assert_eq!(issued["key_prefix"], key[..10]);
    assert_eq!(
        (&issued["name"], &issued["regions"], &issued["categories"], &issued["include_exercises"]),
        (&json!("Matrixborden Rotterdam"), &json!(["rotterdam"]), &json!(["search"]), &json!(false))
    );
    assert!(issued["created_at"].is_string() && issued["revoked_at"].is_null());

    // What a key cannot be made with.
    for (body, code) in [
        (json!({"name": " ", "regions": ["rotterdam"], "categories": ["search"]}), "invalid_partner_name"),
        (json!({"name": "A", "regions": [], "categories": ["search"]}), "invalid_regions"),
        (json!({"name": "A", "regions": ["Rotterdam!"], "categories": ["search"]}), "invalid_regions"),
        (
            json!({"name": "A", "regions": ["rotterdam", "utrecht"], "categories": ["search"]}),
            "unknown_region",
        ),
        (json!({"name": "A", "regions": ["rotterdam"], "categories": []}), "invalid_categories"),
        (json!({"name": "A", "regions": ["rotterdam"], "categories": ["exercise"]}), "invalid_categories"),
        (json!({"name": "A", "regions": ["rotterdam"]}), "invalid_body"),
    ] {
        assert_problem(app.post_json_as("/v1/partner-keys", &admin, &body).await, 422, code).await;
    }

    // A search in Rotterdam: the alert, an update and the closing.
    let search = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let update = json!({"texts": {"nl": {"message": "Laatst gezien bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{search}/updates"), &dispatcher, update).await;
    // What the partner may not see: an inform alert in Rotterdam, a search in Amsterdam, a search
    // exercise in Rotterdam, and a draft.
    let mut inform_body = alert_body(circle(ROTTERDAM, 1_000.0));
    inform_body["category"] = json!("inform");
    inform_body["urgent"] = json!(false);
    let inform = app.send_new_alert(&dispatcher, inform_body).await;
    let amsterdam = app.send_new_alert(&amsterdam_dispatcher, alert_body(circle(AMSTERDAM, 1_000.0))).await;
    let mut exercise_body = alert_body(circle(ROTTERDAM, 1_000.0));
    exercise_body["purpose"] = json!("exercise");
    let exercise = app.send_new_alert(&dispatcher, exercise_body).await;
    app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let closing =
        json!({"outcome": "hard_success", "texts": {"nl": {"message": "Hij is aangehouden. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{search}/close"), &dispatcher, closing).await;
    let search_messages = message_ids(&app, &search).await;
    assert_eq!(search_messages.len(), 3);

    // The feed: the search's three messages, newest first, each its CAP inline and nothing else.
    let (whole, found) = feed(&app, "/v1/cap/feed", &key).await;
    let ids: Vec<String> = found.iter().map(|entry| entry.id.clone()).collect();
    let expected: Vec<String> = search_messages.iter().rev().map(|id| format!("urn:uuid:{id}")).collect();
    assert_eq!(ids, expected, "{whole}");
    let titles: Vec<&str> = found.iter().map(|entry| entry.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Afgelopen: Gezocht: man op witte scooter",
            "Update: Gezocht: man op witte scooter",
            "Gezocht: man op witte scooter"
        ]
    );
    assert!(found.windows(2).all(|pair| pair[0].updated > pair[1].updated), "newest first: {found:?}");
    for (entry, message) in found.iter().zip(search_messages.iter().rev()) {
        assert_eq!(entry.link, format!("{PUBLIC_URL}/v1/cap/messages/{message}"));
        assert_eq!(one(&entry.cap, "identifier"), message);
        assert_eq!(one(&entry.cap, "status"), "Actual");
    }
    assert_eq!(
        texts(&found[0].cap, "msgType").iter().chain(&texts(&found[2].cap, "msgType")).collect::<Vec<_>>(),
        [&"Update", &"Alert"]
    );
    assert_eq!(texts(&found[0].cap, "responseType"), ["AllClear", "AllClear"]);
    // The feed's own head: one feed per key, updated when its newest entry was sent.
    let head = whole.split("<entry>").next().unwrap();
    assert_eq!(one(head, "id"), format!("urn:uuid:{}", issued["id"].as_str().unwrap()));
    assert_eq!(one(head, "title"), "Burgernet: CAP 1.2");
    assert_eq!(one(head, "updated"), found[0].updated);
    assert!(
        head.contains(&format!(
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"{PUBLIC_URL}/v1/cap/feed\"/>"
        )),
        "{head}"
    );
    // No more than CAP says: not the alert's own id, no counters, no tips.
    for internal in [search.as_str(), "counters", "recipients", "tips"] {
        assert!(!whole.contains(internal), "{internal} in the feed");
    }

    // `since` gives only what came after; an unreadable one is refused.
    let since = |at: &str| format!("/v1/cap/feed?since={at}");
    let (_, newer) = feed(&app, &since(&found[1].updated), &key).await;
    assert_eq!(newer.iter().map(|entry| &entry.id).collect::<Vec<_>>(), [&found[0].id]);
    let (nothing_new, none) = feed(&app, &since(&found[0].updated), &key).await;
    assert!(none.is_empty(), "{nothing_new}");
    let (_, all) = feed(&app, &since("2020-01-01T00:00:00Z"), &key).await;
    assert_eq!(all.len(), 3);
    for wrong in ["yesterday", "2026-12-13T08:00:00", "2026-13-01T00:00:00Z"] {
        assert_problem(read_as_partner(&app, &since(wrong), &key).await, 400, "invalid_query").await;
    }

    // Each message on its own, as the entry links to it: the very CAP message the control room
    // exports, and the entry's content without the declaration.
    let update_id = &search_messages[1];
    let response = read_as_partner(&app, &format!("/v1/cap/messages/{update_id}"), &key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/cap+xml");
    let message = response.text().await.unwrap();
    assert_valid_cap(&message);
    let exported = app.get_as(&format!("/v1/alerts/{search}/messages/{update_id}/cap"), &dispatcher).await;
    assert_eq!(message, exported.text().await.unwrap());
    assert_eq!(message.split_once("?>\n").unwrap().1.trim_end(), found[1].cap);
    // Outside the key's scope a message does not exist, like one that does not.
    let mut outside = Vec::new();
    for alert in [&inform, &amsterdam, &exercise] {
        outside.extend(message_ids(&app, alert).await);
    }
    outside.push(uuid::Uuid::new_v4().to_string());
    for message in &outside {
        let response = read_as_partner(&app, &format!("/v1/cap/messages/{message}"), &key).await;
        assert_problem(response, 404, "message_not_found").await;
    }

    // The key is kept as its SHA-256 only, and the list shows no key.
    let stored =
        format!("SELECT count(*) FROM partner_keys WHERE key_hash = decode('{}', 'hex')", sha256_hex(&key));
    assert_eq!(app.database_count(&stored).await, 1);
    let anywhere = format!(
        "SELECT count(*) FROM partner_keys p WHERE strpos(row_to_json(p)::text, '{}') > 0",
        &key[10..]
    );
    assert_eq!(app.database_count(&anywhere).await, 0, "the key itself is stored nowhere");
    let listed = app.get_json("/v1/partner-keys", &admin).await;
    assert!(!listed.to_string().contains(&key[10..]), "{listed}");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("key").is_none(), "{}", listed[0]);
    assert_eq!(listed[0]["key_prefix"], key[..10]);
    assert!(listed[0]["last_used_at"].is_string(), "its use is noted: {}", listed[0]);
    assert!(listed[0]["revoked_at"].is_null());

    // Revoked, the key opens nothing; so does no key, or a made-up one.
    let key_path = format!("/v1/partner-keys/{}", issued["id"].as_str().unwrap());
    assert_eq!(app.delete_as(&key_path, &admin).await.status(), 204);
    assert_eq!(app.delete_as(&key_path, &admin).await.status(), 204, "revoking again changes nothing");
    let unknown = format!("/v1/partner-keys/{}", uuid::Uuid::new_v4());
    assert_problem(app.delete_as(&unknown, &admin).await, 404, "partner_key_not_found").await;
    for path in ["/v1/cap/feed".to_string(), format!("/v1/cap/messages/{update_id}")] {
        assert_problem(read_as_partner(&app, &path, &key).await, 401, "invalid_partner_key").await;
        let made_up = format!("bnp_{}", "A".repeat(43));
        assert_problem(read_as_partner(&app, &path, &made_up).await, 401, "invalid_partner_key").await;
        assert_problem(app.get(&path).await, 401, "invalid_partner_key").await;
    }
    let listed = app.get_json("/v1/partner-keys", &admin).await;
    assert!(listed[0]["revoked_at"].is_string(), "{listed}");
}

#[tokio::test]
async fn a_key_for_several_regions_and_categories_with_exercises_reads_all_of_them_but_drafts() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let admin = app.admin_token();
    let dispatcher = app.dispatcher_token("rotterdam");
    let body = json!({"name": "Regionale omroep", "regions": ["rotterdam", "amsterdam"],
                      "categories": ["search", "inform"], "include_exercises": true});
    let key = create_key(&app, &admin, body).await["key"].as_str().unwrap().to_string();

    let mut exercise_body = alert_body(circle(ROTTERDAM, 1_000.0));
    exercise_body["purpose"] = json!("exercise");
    let exercise = app.send_new_alert(&dispatcher, exercise_body).await;
    let amsterdam =
        app.send_new_alert(&app.dispatcher_token("amsterdam"), alert_body(circle(AMSTERDAM, 1_000.0))).await;
    let mut alarm_body = alert_body(circle(ROTTERDAM, 1_000.0));
    alarm_body["category"] = json!("alarm");
    app.send_new_alert(&dispatcher, alarm_body).await;
    app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;

    let (_, found) = feed(&app, "/v1/cap/feed", &key).await;
    let mut expected = Vec::new();
    for alert in [&amsterdam, &exercise] {
        expected.push(format!("urn:uuid:{}", message_ids(&app, alert).await[0]));
    }
    assert_eq!(
        found.iter().map(|entry| entry.id.clone()).collect::<Vec<_>>(),
        expected,
        "no alarm, no draft"
    );
    assert_eq!(one(&found[1].cap, "status"), "Exercise");
}
