//! `TestApp`: the real API server on a random port, over its own database, with a test identity
//! provider whose tokens it trusts.

use std::net::TcpListener;
use std::time::Duration;

use burgernet_api::state::AppState;
use burgernet_core::auth::dev_identity::{DevKeyPair, StaffTokenRequest, mint_staff_token};
use burgernet_core::auth::participant::{ParticipantTokenKey, ParticipantTokens};
use burgernet_core::auth::staff::{StaffKeys, StaffRole, StaffTokenAlgorithms};
use burgernet_core::config::{ApiConfig, ParticipantTokenConfig, StaffTokenConfig};
use burgernet_core::ids::ParticipantId;
use burgernet_core::outbox::LocalOutbox;

use super::TestDatabase;

pub const ISSUER: &str = "https://idp.politie.test";
pub const AUDIENCE: &str = "burgernet-api";
pub const PARTICIPANT_SECRET: &str = "test-participant-secret-0123456789abcdef";

/// How the staff keys are handed to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffKeyFormat {
    Jwks,
    Pem,
}

#[derive(Debug, Clone)]
pub struct TestAppOptions {
    pub staff_keys: StaffKeyFormat,
    pub dev_mode: bool,
    pub max_body_bytes: usize,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self { staff_keys: StaffKeyFormat::Jwks, dev_mode: false, max_body_bytes: 64 * 1024 }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub identity: DevKeyPair,
    pub participant_tokens: ParticipantTokens,
    pub outbox: Option<LocalOutbox>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(options: TestAppOptions) -> Self {
        let database = TestDatabase::new().await;
        let identity = DevKeyPair::generate();
        let keys = match options.staff_keys {
            StaffKeyFormat::Jwks => StaffKeys::parse(identity.jwks.as_bytes()),
            StaffKeyFormat::Pem => StaffKeys::parse(identity.public_pem.as_bytes()),
        }
        .expect("test keys parse");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let address = format!("http://{}", listener.local_addr().unwrap());
        let config = ApiConfig {
            bind: listener.local_addr().unwrap(),
            max_body_bytes: options.max_body_bytes,
            participant_tokens: ParticipantTokenConfig {
                key: ParticipantTokenKey::parse(PARTICIPANT_SECRET).unwrap(),
                access_token_ttl: Duration::from_secs(900),
            },
            staff_tokens: StaffTokenConfig {
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                keys,
                algorithms: StaffTokenAlgorithms::default(),
            },
        };
        let outbox = options.dev_mode.then(LocalOutbox::new);
        let state = AppState::new(&config, database.pool(), outbox.clone());
        let server = burgernet_api::build_server(listener, state).expect("build the server");
        tokio::spawn(server);
        let participant_tokens =
            ParticipantTokens::new(config.participant_tokens.key, Duration::from_secs(900));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { address, client, database, identity, participant_tokens, outbox }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request sent")
    }

    pub async fn post_json_as(&self, path: &str, token: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("request sent")
    }

    /// A staff token as the identity provider would issue it.
    pub fn staff_token(&self, role: StaffRole) -> String {
        self.staff_token_for(StaffTokenRequest {
            subject: "staff-1".into(),
            name: Some("Test Staff".into()),
            role,
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            lifetime: Duration::from_secs(600),
        })
    }

    pub fn staff_token_for(&self, request: StaffTokenRequest) -> String {
        mint_staff_token(self.identity.private_pem.expose(), &request).unwrap().expose().clone()
    }

    pub fn dispatcher_token(&self, region: &str) -> String {
        self.staff_token(StaffRole::Dispatcher { region: region.into() })
    }

    pub fn relations_officer_token(&self, municipality: &str) -> String {
        self.staff_token(StaffRole::RelationsOfficer { municipality: municipality.into() })
    }

    pub fn admin_token(&self) -> String {
        self.staff_token(StaffRole::Admin)
    }

    pub fn participant_token(&self, participant: ParticipantId) -> String {
        self.participant_tokens.issue_access_token(participant, chrono::Utc::now()).token.expose().clone()
    }

    /// The demo municipalities in region `rotterdam`, plus region `amsterdam` with Amsterdam in it.
    pub async fn load_reference_data(&self) {
        let mut conn = self.database.connect().await;
        burgernet_core::reference_data::load_demo_reference_data(&mut conn).await.unwrap();
        let amsterdam = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"cbs_code":"GM0363","name":"Amsterdam","inhabitants":931298},
            "geometry":{"type":"Polygon","coordinates":[[[4.73,52.28],[5.07,52.28],[5.07,52.43],[4.73,52.43],[4.73,52.28]]]}}]}"#;
        burgernet_core::reference_data::load_municipalities(&mut conn, amsterdam, None).await.unwrap();
        let code = burgernet_core::reference_data::RegionCode::parse("amsterdam").unwrap();
        let gm0363 = burgernet_core::reference_data::CbsCode::parse("GM0363").unwrap();
        burgernet_core::reference_data::create_region(&mut conn, &code, "Eenheid Amsterdam", &[gm0363])
            .await
            .unwrap();
    }
}

/// Reads a problem document, checking the media type and the fields every problem has.
pub async fn problem(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "status {status}");
    let body: serde_json::Value = response.json().await.expect("a JSON problem body");
    assert_eq!(body["status"], status, "{body}");
    for field in ["type", "title", "detail", "code", "request_id"] {
        assert!(body[field].is_string(), "problem without {field}: {body}");
    }
    assert_eq!(body["type"], format!("urn:burgernet:problem:{}", body["code"].as_str().unwrap()));
    (status, body)
}
