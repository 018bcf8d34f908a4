//! Setting the scene for alert tests: participants with places, devices and choices made through
//! the real API, alerts created and sent as a dispatcher would, and waiting for the fan-out.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{SignedIn, TestApp};

/// Rotterdam centre (GM0599, region `rotterdam`).
pub const ROTTERDAM: (f64, f64) = (51.9225, 4.4792);
/// About 4 km east of the centre, still Rotterdam.
pub const KRALINGEN: (f64, f64) = (51.9230, 4.5350);
/// Central Amsterdam (GM0363, region `amsterdam`).
pub const AMSTERDAM: (f64, f64) = (52.3731, 4.8926);

/// How long waits for the fan-out may take before a test fails.
const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// What a test participant has chosen and registered.
#[derive(Debug, Clone)]
pub struct Profile {
    pub channels: Vec<&'static str>,
    pub categories: Option<Vec<&'static str>>,
    pub language: &'static str,
    /// Home positions (each becomes a place).
    pub places: Vec<(f64, f64)>,
    /// Push devices as the registration body (`platform`, `push_token`, ...).
    pub devices: Vec<Value>,
    /// "Alerts where I am" on, with this position.
    pub live_location: Option<(f64, f64)>,
    /// Takes part in exercises and tests.
    pub exercises: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            channels: vec!["push", "sms"],
            categories: None,
            language: "nl",
            places: vec![ROTTERDAM],
            devices: Vec::new(),
            live_location: None,
            exercises: false,
        }
    }
}

/// An Android device registration with a token unique to `label`.
pub fn android_device(label: &str) -> Value {
    json!({
        "platform": "android",
        "push_token": format!("{label}:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq"),
        "app_version": "2.4.1",
        "locale": "nl-NL",
    })
}

/// An iOS device registration; `n` makes the 64-hex-digit token unique.
pub fn ios_device(n: u32) -> Value {
    json!({
        "platform": "ios",
        "push_token": format!("{n:064x}"),
        "apns_environment": "production",
        "app_version": "2.4.1",
        "locale": "nl-NL",
    })
}

pub fn circle((latitude, longitude): (f64, f64), radius_meters: f64) -> Value {
    json!({"type": "circle", "center": {"latitude": latitude, "longitude": longitude}, "radius_meters": radius_meters})
}

/// A valid alert body with `area`; change fields with `body["field"] = ...`.
pub fn alert_body(area: Value) -> Value {
    json!({
        "category": "search",
        "urgent": true,
        "channels": ["push", "sms"],
        "description": {
            "person": {"sex": "male", "age_min": 25, "age_max": 35, "clothing": "zwarte jas, rode sjaal"},
            "vehicle": {"kind": "scooter", "colour": "wit", "licence_plate": "dx-123-b"},
            "free_text": "Gevlucht na een overval op een juwelier."
        },
        "texts": {
            "nl": {"title": "Gezocht: man op witte scooter", "message": "Man, 25-35 jaar, zwarte jas, rode sjaal.", "instruction": "Benader hem niet; bel 112."},
            "en": {"title": "Wanted: man on a white scooter", "message": "Man, 25-35, black coat, red scarf.", "instruction": "Do not approach; call 112."}
        },
        "call_back_number": "0900-8844",
        "area": area,
    })
}

impl TestApp {
    /// Signs a participant up through the app's flow and sets them up as `profile` says.
    pub async fn participant(&self, phone: &str, profile: Profile) -> SignedIn {
        let me = self.sign_up(phone).await;
        let token = &me.access_token;
        let mut changes = json!({"channels": profile.channels, "language": profile.language});
        if let Some(categories) = &profile.categories {
            changes["categories"] = json!(categories);
        }
        if profile.live_location.is_some() {
            changes["alerts_where_i_am"] = json!(true);
        }
        if profile.exercises {
            changes["exercises"] = json!(true);
        }
        self.expect_ok(Method::PATCH, "/v1/me", token, changes).await;
        for (latitude, longitude) in &profile.places {
            let place =
                json!({"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude});
            self.expect_ok(Method::POST, "/v1/me/places", token, place).await;
        }
        for device in &profile.devices {
            self.expect_ok(Method::POST, "/v1/me/devices", token, device.clone()).await;
        }
        if let Some((latitude, longitude)) = profile.live_location {
            let position = json!({"latitude": latitude, "longitude": longitude, "accuracy_meters": 15.0});
            self.expect_ok(Method::PUT, "/v1/me/location", token, position).await;
        }
        me
    }

    /// Sends `body` and expects a 2xx answer; returns its JSON (or null).
    pub async fn expect_ok(&self, method: Method, path: &str, token: &str, body: Value) -> Value {
        let response = self.send_json_as(method.clone(), path, token, &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates an alert as `dispatcher` and returns it.
    pub async fn create_alert(&self, dispatcher: &str, body: Value) -> Value {
        self.expect_ok(Method::POST, "/v1/alerts", dispatcher, body).await
    }

    /// Creates and sends an alert; returns its id.
    pub async fn send_new_alert(&self, dispatcher: &str, body: Value) -> String {
        let alert = self.create_alert(dispatcher, body).await;
        let id = alert["id"].as_str().unwrap().to_string();
        self.expect_ok(Method::POST, &format!("/v1/alerts/{id}/send"), dispatcher, json!({})).await;
        id
    }

    /// Polls the alert until `done` holds for its counters; returns them.
    pub async fn wait_for_counters(
        &self,
        dispatcher: &str,
        alert: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let alert = self.get_json(&format!("/v1/alerts/{alert}"), dispatcher).await;
            if done(&alert["counters"]) {
                return alert["counters"].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "counters never got there: {}",
                alert["counters"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every delivery batch of the alert is done.
    pub async fn wait_until_delivered(&self, dispatcher: &str, alert: &str) -> Value {
        self.wait_for_counters(dispatcher, alert, |c| {
            c["recipients"].as_i64() > Some(0) && c["batches_pending"] == 0
        })
        .await
    }

    /// The kinds (`alert`, `update`, `closing`) of the pushes the fake FCM accepted for `token`,
    /// in order.
    pub fn fcm_kinds_to(&self, token: &str) -> Vec<String> {
        self.fcm
            .received()
            .into_iter()
            .filter(|push| push.token == token)
            .map(|push| push.data.get("kind").cloned().unwrap_or_default())
            .collect()
    }

    /// Runs a statement against the app's database.
    pub async fn database_exec(&self, sql: &str) {
        let mut conn = self.database.connect().await;
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).await.unwrap();
    }

    /// Runs a statement as the schema's owner, for what the application's role may not do (make a
    /// trigger that stands in for a failure, say).
    pub async fn database_exec_as_owner(&self, sql: &str) {
        let mut conn = self.database.connect_as_owner().await;
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).await.unwrap();
    }

    /// Runs a query that returns one `count` (bigint).
    pub async fn database_count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn = self.database.connect().await;
        diesel_async::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), &mut conn).await.unwrap().count
    }

    /// What the latest reach preview counted, exactly, as the audit log keeps it (the preview itself
    /// shows counts under 5 as "fewer than 5"), in the shape of the preview.
    pub async fn recorded_reach(&self) -> Value {
        #[derive(diesel::QueryableByName)]
        struct Recorded {
            #[diesel(sql_type = diesel::sql_types::Text)]
            reach: String,
        }
        let mut conn = self.database.connect().await;
        let recorded: Recorded = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT json_build_object(
                     'participants', participants,
                     'push', json_build_object('participants', push_participants,
                                               'ios_devices', ios_devices, 'android_devices', android_devices),
                     'sms', json_build_object('participants', sms_participants,
                                              'fallback_participants', sms_fallback_participants),
                     'email', json_build_object('participants', email_participants))::text AS reach
                   FROM reach_previews ORDER BY id DESC LIMIT 1",
            ),
            &mut conn,
        )
        .await
        .expect("a recorded reach preview");
        serde_json::from_str(&recorded.reach).unwrap()
    }

    /// The kinds of the alert's dossier entries, in order.
    pub async fn dossier_kinds(&self, token: &str, alert: &str) -> Vec<String> {
        let dossier = self.get_json(&format!("/v1/alerts/{alert}/dossier"), token).await;
        dossier["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Reads Server-Sent Events from `response` until `done` holds for the events so far.
pub async fn read_events(
    response: reqwest::Response,
    done: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut stream = EventStream::new(response);
    assert!(stream.read_until(done).await, "the stream ended early: {:?}", stream.events);
    stream.events
}

/// A stream of Server-Sent Events being read, and the events read so far.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
    pub events: Vec<(String, Value)>,
}

impl EventStream {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "an event stream opens");
        Self { response, buffer: String::new(), events: Vec::new() }
    }

    /// Reads until `done` holds for the events so far (true), or the server ends the stream
    /// (false); 30 seconds at most.
    pub async fn read_until(&mut self, done: impl Fn(&[(String, Value)]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !done(&self.events) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("the stream never got there: {:?}", self.events))
                .unwrap();
            let Some(chunk) = chunk else { return false };
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field =
                    |name: &str| block.lines().find_map(|line| line.strip_prefix(name)).map(str::to_string);
                if let (Some(event), Some(data)) = (field("event: "), field("data: ")) {
                    self.events.push((event, serde_json::from_str(&data).unwrap()));
                }
            }
        }
        true
    }

    /// Reads until the server ends the stream.
    pub async fn read_to_end(&mut self) {
        assert!(!self.read_until(|_| false).await);
    }
}
