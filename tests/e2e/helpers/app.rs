//! `TestApp`: the real API server on a random port, over its own database, with a test identity
//! provider whose tokens it trusts. In dev mode (or with `local_identity`) the app also serves
//! that identity provider's OpenID Connect endpoints and sign-in page under `/dev/identity`, as
//! `burgernet dev` does: tokens from the page and from [`TestApp::staff_token`] then carry the
//! same issuer ([`TestApp::identity_issuer`]), and the console's redirect URI is
//! [`TestApp::console_url`].

use std::net::TcpListener;
use std::time::Duration;

use burgernet_api::state::AppState;
use burgernet_core::alerts::area::AreaLimits;
use burgernet_core::alerts::delivery::DeliverySettings;
use burgernet_core::alerts::delivery::plan::ChannelOrders;
use burgernet_core::alerts::dossier::checkpoints::{CheckpointKey, CheckpointSettings};
use burgernet_core::alerts::tips::TipSettings;
use burgernet_core::auth::jwks::{JwksRefresh, JwksUrl};
use burgernet_core::auth::keys::StaffKeys;
use burgernet_core::auth::participant::ParticipantTokenConfig;
use burgernet_core::auth::participant::{ParticipantTokenKey, ParticipantTokens};
use burgernet_core::auth::staff::{StaffKeySource, StaffRole, StaffTokenAlgorithms, StaffTokenConfig};
use burgernet_core::config::{
    ApiConfig, ConsoleConfig, EventStreamSettings, LaneJobs, ReportSettings, WorkerConfig,
};
use burgernet_core::env::Env;
use burgernet_core::ids::{ParticipantId, SessionId};
use burgernet_core::media::MediaSettings;
use burgernet_core::media::store::MediaStore;
use burgernet_core::media::video::VideoTools;
use burgernet_core::messages::AllowedChannels;
use burgernet_core::metrics::{self, DeliveryMetrics};
use burgernet_core::outbox::LocalOutbox;
use burgernet_core::participants::notices::MessagingConfig;
use burgernet_core::participants::sign_in::SignInPolicy;
use burgernet_fakes::fcm::FakeFcm;
use burgernet_fakes::identity::FakeIdentityProvider;
use burgernet_local::identity::openid::{self, LocalOpenIdProvider};
use burgernet_local::identity::{DevKeyPair, StaffTokenRequest, mint_staff_token};
use burgernet_workers::{HealthServer, RunnerHandle, WorkerHealth, stall_threshold};

use super::TestDatabase;
use super::apns::ApnsHarness;
use super::fcm::{FakeFcmExt, start_fake_fcm};
use super::s3::ScratchDir;
use super::sms::{FakeSmsGateway, SmsGatewayExt};
use super::smtp_sink::SmtpSink;
use super::voice::{FakeVoiceGateway, VoiceGatewayExt};

/// The issuer of staff tokens, unless the app serves the local identity provider (then
/// [`TestApp::identity_issuer`]).
pub const ISSUER: &str = "https://idp.politie.test";
pub const AUDIENCE: &str = "burgernet-api";
pub const PARTICIPANT_SECRET: &str = "test-participant-secret-0123456789abcdef";

/// How the staff keys are handed to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffKeyFormat {
    Jwks,
    Pem,
    /// Fetched from a fake identity provider ([`TestApp::identity_provider`]), refreshed so.
    JwksUrl(JwksRefresh),
}

#[derive(Debug, Clone)]
pub struct TestAppOptions {
    pub staff_keys: StaffKeyFormat,
    /// Messages go to the local outbox instead of the fake providers, and `/dev/outbox` exists;
    /// the local identity provider is served under `/dev/identity` (as with `local_identity`).
    pub dev_mode: bool,
    /// The local identity provider (OpenID Connect, with its sign-in page) is served under
    /// `/dev/identity`, signing with [`TestApp::identity`], and staff tokens carry its issuer.
    pub local_identity: bool,
    pub max_body_bytes: usize,
    pub sign_in: SignInPolicy,
    /// Also run the job workers, so jobs the API enqueues (notices, e-mails) are carried out.
    pub workers: bool,
    /// How the workers deliver alerts; retries are quick in tests.
    pub delivery: DeliverySettings,
    /// Limits on attached photos and videos (the defaults of the environment).
    pub media: MediaSettings,
    /// Limits on tips (the defaults of the environment).
    pub tips: TipSettings,
    /// ffprobe and ffmpeg for the workers (from `PATH`).
    pub video: VideoTools,
    /// Limits on alert areas (the defaults of the environment).
    pub alert_areas: AreaLimits,
    /// The media store of the app and the workers (say, on a [`super::s3::FakeS3`]); by default a
    /// filesystem store in a scratch directory, its URLs served by the app.
    pub media_store: Option<MediaStore>,
    /// Limits on event streams (the defaults of the environment).
    pub event_streams: EventStreamSettings,
    pub reports: ReportSettings,
    /// Which channels each kind of municipal message may use (the default of the environment).
    pub municipal_message_channels: AllowedChannels,
    /// How long after its send an alert recruits those who enter its area (2 h, the default).
    pub recruiting_window: Duration,
    /// Where each category's alerts put SMS and calls (the default: calls for search and alarm,
    /// after SMS).
    pub channel_orders: ChannelOrders,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            staff_keys: StaffKeyFormat::Jwks,
            dev_mode: false,
            local_identity: false,
            max_body_bytes: 64 * 1024,
            sign_in: SignInPolicy::default(),
            workers: false,
            delivery: DeliverySettings {
                retry_base: Duration::from_millis(20),
                // Time windows that open are looked for often, so tests need not wait long.
                recruitment_check: Duration::from_millis(500),
                ..DeliverySettings::default()
            },
            media: MediaSettings::from_env(&Env::default()).unwrap(),
            tips: TipSettings::from_env(&Env::default()).unwrap(),
            video: VideoTools::from_env(&Env::default()).unwrap(),
            alert_areas: AreaLimits::default(),
            media_store: None,
            event_streams: EventStreamSettings::from_env(&Env::default()).unwrap(),
            reports: ReportSettings::default(),
            municipal_message_channels: AllowedChannels::default(),
            recruiting_window: Duration::from_secs(2 * 3600),
            channel_orders: ChannelOrders::default(),
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub identity: DevKeyPair,
    /// The `iss` of staff tokens: [`ISSUER`], or the local identity provider's when it is served.
    staff_token_issuer: String,
    /// With [`StaffKeyFormat::JwksUrl`]: the identity provider publishing `identity`'s key.
    pub identity_provider: Option<FakeIdentityProvider>,
    pub participant_tokens: ParticipantTokens,
    pub outbox: Option<LocalOutbox>,
    /// The SMS gateway the app sends through (unused in dev mode).
    pub sms: FakeSmsGateway,
    /// The SMTP server the app sends through (unused in dev mode).
    pub smtp: SmtpSink,
    /// The voice gateway the workers place calls through (unused in dev mode); its call statuses
    /// go nowhere until a test points them at the app (`set_status_webhook`).
    pub voice: FakeVoiceGateway,
    /// APNs and FCM, which the workers push through.
    pub apns: ApnsHarness,
    pub fcm: FakeFcm,
    /// The media store: the one of the options, or a filesystem store in a scratch directory, its
    /// URLs served by the app.
    pub media_store: MediaStore,
    _media_dir: ScratchDir,
    /// With workers: where they serve `/healthz`, `/readyz` and `/metrics`.
    pub worker_address: Option<String>,
    /// With workers: what they measure deliveries in (their `/metrics` shows it).
    pub worker_metrics: Option<DeliveryMetrics>,
    /// Held so the workers run as long as the app (dropping the handle stops them).
    _workers: Option<(RunnerHandle, HealthServer)>,
}

/// Jobs the in-process workers run at once, besides the delivery lanes'.
pub const WORKER_CONCURRENCY: usize = 2;

/// Delivery jobs per lane the in-process workers run at once.
pub const LANE_JOBS: LaneJobs = LaneJobs { push: 2, sms: 2, email: 1, voice: 1 };

/// The key the app's filesystem media store signs its URLs with.
pub const MEDIA_SIGNING_KEY: &str = "test-media-signing-key-0123456789abcdef";

/// The key the workers sign the dossier's checkpoints with.
pub const DOSSIER_CHECKPOINT_KEY: &str = "test-dossier-checkpoint-key-0123456789abcdef";

pub fn dossier_checkpoint_settings() -> CheckpointSettings {
    CheckpointSettings { key: CheckpointKey::parse(DOSSIER_CHECKPOINT_KEY).unwrap(), retention: None }
}

/// The public URL the test app puts in links.
pub const PUBLIC_URL: &str = "https://api.burgernet.test";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(options: TestAppOptions) -> Self {
        Self::spawn_on(TestDatabase::new().await, options).await
    }

    /// The app over a database the test provides (say, on a cluster of its own).
    pub async fn spawn_on(database: TestDatabase, options: TestAppOptions) -> Self {
        let identity = DevKeyPair::generate();
        let mut identity_provider = None;
        let keys = match options.staff_keys {
            StaffKeyFormat::Jwks => {
                StaffKeySource::Fixed(StaffKeys::parse(identity.jwks.as_bytes()).unwrap())
            }
            StaffKeyFormat::Pem => {
                StaffKeySource::Fixed(StaffKeys::parse(identity.public_pem.as_bytes()).unwrap())
            }
            StaffKeyFormat::JwksUrl(refresh) => {
                let provider = FakeIdentityProvider::start(&identity.jwks).await;
                let url = JwksUrl { url: provider.jwks_url().to_string(), refresh };
                identity_provider = Some(provider);
                StaffKeySource::Url(url)
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let address = format!("http://{}", listener.local_addr().unwrap());
        let local_identity = (options.dev_mode || options.local_identity).then(|| {
            LocalOpenIdProvider::new(&address, AUDIENCE, identity.private_pem.clone(), identity.jwks.clone())
                .expect("the local identity provider")
        });
        let staff_token_issuer = match &local_identity {
            Some(provider) => provider.issuer().to_string(),
            None => ISSUER.to_string(),
        };
        let sms = FakeSmsGateway::start().await;
        let smtp = SmtpSink::start().await;
        let voice = FakeVoiceGateway::start().await;
        let apns = ApnsHarness::start().await;
        let fcm = start_fake_fcm();
        let messaging = MessagingConfig {
            apns: Some(apns.config()),
            fcm: Some(fcm.fcm_config()),
            sms: (!options.dev_mode).then(|| sms.sms_gateway_config()),
            smtp: (!options.dev_mode).then(|| smtp.smtp_config()),
            voice: (!options.dev_mode).then(|| voice.voice_gateway_config()),
            channel_orders: options.channel_orders,
            public_url: PUBLIC_URL.into(),
        };
        let config = ApiConfig {
            bind: listener.local_addr().unwrap(),
            max_body_bytes: options.max_body_bytes,
            participant_tokens: ParticipantTokenConfig {
                key: ParticipantTokenKey::parse(PARTICIPANT_SECRET).unwrap(),
                previous_key: None,
                access_token_ttl: Duration::from_secs(900),
            },
            staff_tokens: StaffTokenConfig {
                issuer: staff_token_issuer.clone(),
                audience: AUDIENCE.into(),
                keys,
                algorithms: StaffTokenAlgorithms::default(),
            },
            sign_in: options.sign_in,
            live_location_ttl: Duration::from_secs(2 * 3600),
            recruiting_window: options.recruiting_window,
            // Tests speak for different clients through X-Forwarded-For, as a proxy would.
            trusted_proxy_hops: 1,
            messaging,
            alert_areas: options.alert_areas,
            tips: options.tips,
            media: options.media,
            event_streams: options.event_streams,
            reports: options.reports,
            municipal_message_channels: options.municipal_message_channels.clone(),
            cap_sender: burgernet_core::alerts::cap::CapSender("burgernet.test".into()),
            console: ConsoleConfig {
                oidc_issuer: staff_token_issuer.clone(),
                oidc_client_id: "burgernet-console".into(),
                oidc_scopes: "openid profile".into(),
                redirect_uri: openid::console_url_for(&address),
                // No background map: the tests' browser loads nothing from outside.
                tiles: None,
                media_origin: None,
            },
        };
        let outbox = options.dev_mode.then(LocalOutbox::new);
        let media_dir = ScratchDir::new("media");
        let env = Env::from_pairs([
            ("BURGERNET_MEDIA_STORE", "filesystem"),
            ("BURGERNET_MEDIA_DIR", media_dir.path().to_str().expect("a UTF-8 path")),
            ("BURGERNET_MEDIA_SIGNING_KEY", MEDIA_SIGNING_KEY),
            ("BURGERNET_PUBLIC_URL", address.as_str()),
        ]);
        let media_store = match options.media_store {
            Some(store) => store,
            None => MediaStore::from_env(&env).expect("the media store's configuration"),
        };
        let state = match &outbox {
            Some(outbox) => {
                AppState::in_local_mode(&config, database.pool(), outbox.clone(), media_store.clone())
            }
            None => AppState::new(&config, database.pool(), media_store.clone()),
        }
        .expect("providers");
        let state = match local_identity {
            Some(provider) => state.with_dev_identity(provider),
            None => state,
        };
        let messaging = state.messaging.clone();
        let server = burgernet_api::build_server(listener, state).expect("build the server");
        tokio::spawn(server);
        let mut worker_address = None;
        let mut worker_metrics = None;
        let workers = if options.workers {
            let health_listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
            let config = WorkerConfig {
                bind: health_listener.local_addr().unwrap(),
                concurrency: WORKER_CONCURRENCY,
                lane_jobs: LANE_JOBS,
                lease: Duration::from_secs(10),
                poll_interval: Duration::from_millis(200),
                shutdown_grace: Duration::from_secs(1),
                delivery: options.delivery.clone(),
                video: options.video.clone(),
                tip_retention: options.tips.retention,
                dossier_checkpoints: Some(dossier_checkpoint_settings()),
            };
            let registry = metrics::new_registry();
            let delivery_metrics = DeliveryMetrics::register(&registry);
            let stall_after = stall_threshold(config.poll_interval);
            let runner = burgernet_workers::application_runner(
                database.pool(),
                config,
                messaging,
                media_store.clone(),
                delivery_metrics.clone(),
            )
            .start()
            .await;
            worker_address = Some(format!("http://{}", health_listener.local_addr().unwrap()));
            worker_metrics = Some(delivery_metrics);
            let health =
                WorkerHealth { pool: database.pool(), heartbeat: runner.heartbeat(), registry, stall_after };
            Some((runner, HealthServer::start(health_listener, health).expect("serve the workers' health")))
        } else {
            None
        };
        let participant_tokens =
            ParticipantTokens::new(config.participant_tokens.key, Duration::from_secs(900));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self {
            address,
            client,
            database,
            identity,
            staff_token_issuer,
            identity_provider,
            participant_tokens,
            outbox,
            sms,
            smtp,
            voice,
            apns,
            fcm,
            media_store,
            _media_dir: media_dir,
            worker_address,
            worker_metrics,
            _workers: workers,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The issuer of the staff tokens the app accepts: with `dev_mode` or `local_identity`, the
    /// local identity provider's (`{address}/dev/identity`).
    pub fn identity_issuer(&self) -> &str {
        &self.staff_token_issuer
    }

    /// The console's address: the local identity provider's one redirect URI.
    pub fn console_url(&self) -> String {
        openid::console_url_for(&self.address)
    }

    /// Runs `burgernet admin verify-dossier` on an alert of this app; returns whether it
    /// succeeded, and its output.
    pub fn verify_dossier(&self, alert: &str) -> (bool, String, String) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_burgernet"))
            .args(["admin", "verify-dossier", alert])
            .env_clear()
            .envs(self.admin_environment())
            .output()
            .expect("run burgernet");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The environment `burgernet admin` needs to reach this app's database (as the app's role)
    /// and media store, and to check the dossier's checkpoints.
    pub fn admin_environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.database.url.expose().clone()),
            ("BURGERNET_MEDIA_STORE", "filesystem".into()),
            ("BURGERNET_MEDIA_DIR", self._media_dir.path().to_str().expect("a UTF-8 path").into()),
            ("BURGERNET_MEDIA_SIGNING_KEY", MEDIA_SIGNING_KEY.into()),
            ("BURGERNET_PUBLIC_URL", self.address.clone()),
            ("BURGERNET_DOSSIER_CHECKPOINT_KEY", DOSSIER_CHECKPOINT_KEY.into()),
        ]
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
        self.staff_member_token("staff-1", role)
    }

    /// A staff token of the staff member `subject`: another person than `staff_token`'s.
    pub fn staff_member_token(&self, subject: &str, role: StaffRole) -> String {
        self.staff_token_for(StaffTokenRequest {
            subject: subject.into(),
            name: Some("Test Staff".into()),
            role,
            issuer: self.staff_token_issuer.clone(),
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

    pub fn region_manager_token(&self, region: &str) -> String {
        self.staff_token(StaffRole::RegionManager { region: region.into() })
    }

    pub fn admin_token(&self) -> String {
        self.staff_token(StaffRole::Admin)
    }

    /// An access token for a participant and session that need not exist: enough for requests
    /// refused before the session is looked up (wrong role, bad token).
    pub fn unchecked_participant_token(&self, participant: ParticipantId) -> String {
        self.participant_tokens
            .issue_access_token(participant, SessionId::new(), chrono::Utc::now())
            .token
            .expose()
            .clone()
    }

    /// The demo municipalities in region `rotterdam`, plus region `amsterdam` with Amsterdam in it.
    pub async fn load_reference_data(&self) {
        let mut conn = self.database.connect().await;
        burgernet_core::reference_data::load_demo_reference_data(&mut conn).await.unwrap();
        let amsterdam = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"cbs_code":"GM0363","name":"Amsterdam","inhabitants":931298},
            "geometry":{"type":"Polygon","coordinates":[[[4.73,52.28],[5.07,52.28],[5.07,52.43],[4.73,52.43],[4.73,52.28]]]}}]}"#;
        burgernet_core::reference_data::load_municipalities(&mut conn, amsterdam, None).await.unwrap();
        let code = burgernet_core::vocabulary::regions::RegionCode::parse("amsterdam").unwrap();
        let gm0363 = burgernet_core::vocabulary::regions::CbsCode::parse("GM0363").unwrap();
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

/// Reads a problem document and checks its status and code; returns it.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let (actual, body) = problem(response).await;
    assert_eq!((actual, body["code"].as_str().unwrap()), (status, code), "{body}");
    body
}

/// A participant signed in through the real flow.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub participant_id: ParticipantId,
    pub access_token: String,
    pub refresh_token: String,
}

impl SignedIn {
    /// The tokens in an answer of `POST /v1/sign-in/tokens` or `POST /v1/session/refresh`.
    pub fn from_answer(body: &serde_json::Value) -> Self {
        SignedIn {
            participant_id: ParticipantId(body["participant_id"].as_str().unwrap().parse().unwrap()),
            access_token: body["access_token"].as_str().unwrap().to_string(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_string(),
        }
    }

    /// The session id inside the access token.
    pub fn session_id(&self, app: &TestApp) -> SessionId {
        app.participant_tokens.verify_access_token(&self.access_token).expect("a valid token").session_id
    }
}

/// The six-digit code in a sign-in SMS.
pub fn code_in(body: &str) -> String {
    let digits: String =
        body.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 6, "no code in {body:?}");
    digits
}

impl TestApp {
    /// Asks for a code for `phone` (from client address `client`) and returns the response.
    pub async fn request_code_from(&self, phone: &str, client: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/sign-in/codes"))
            .header("x-forwarded-for", client)
            .json(&serde_json::json!({ "phone_number": phone }))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn verify_code_from(&self, phone: &str, code: &str, client: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/sign-in/tokens"))
            .header("x-forwarded-for", client)
            .json(&serde_json::json!({ "phone_number": phone, "code": code }))
            .send()
            .await
            .expect("request sent")
    }

    /// The code in the latest SMS the gateway delivered to `phone` (E.164).
    pub fn last_code_sent_to(&self, phone: &str) -> String {
        let sent = self.sms.sent();
        let message = sent.iter().rev().find(|sms| sms.to == phone).expect("an SMS to this number");
        code_in(&message.body)
    }

    /// Signs a participant up (or in) through the app's flow: code by SMS, then tokens. Each call
    /// uses its own client address, so rate limits per client do not add up across calls.
    pub async fn sign_up(&self, phone: &str) -> SignedIn {
        let client = format!("198.51.100.{}", rand::random::<u8>());
        let response = self.request_code_from(phone, &client).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        let code = self.last_code_sent_to(phone);
        let response = self.verify_code_from(phone, &code, &client).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        SignedIn::from_answer(&response.json().await.unwrap())
    }

    pub async fn send_json_as(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("request sent")
    }
}

impl TestApp {
    /// GETs `path` as `token`, expecting 200, and returns the JSON body.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        let response = self.get_as(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }
}

/// The participant ids in a page of participants, in order.
pub fn participant_ids(page: &serde_json::Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_string()).collect()
}
