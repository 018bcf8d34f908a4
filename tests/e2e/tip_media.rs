//! Tips with photos and videos: the app declares each file, uploads it straight to the media
//! store with the presigned request it gets back, and reports completion; the worker verifies the
//! file and keeps it as evidence; the control room reviews it through short-lived links that are
//! written to the dossier; retention removes it unless it is on legal hold.

use std::time::Duration;

use burgernet_core::auth::staff::StaffRole;
use burgernet_core::media::photo::samples::{SampleExif, jpeg_with_exif};
use burgernet_core::media::retention;
use burgernet_core::media::store::MediaStore;
use chrono::NaiveDate;
use image::RgbImage;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, circle, read_events};
use crate::helpers::videos::{made_by_ffmpeg, two_second_video};
use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};

const DAM_SQUARE: (f64, f64) = (52.373, 4.8931);

fn sha256(bytes: &[u8]) -> String {
    burgernet_core::hex(&Sha256::digest(bytes))
}

/// A 1200x900 photo taken on the Dam, with its capture time and position in EXIF.
fn photo() -> Vec<u8> {
    let image = RgbImage::from_fn(1200, 900, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let exif = SampleExif {
        orientation: Some(1),
        captured_at: Some(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_hms_opt(3, 12, 5).unwrap()),
        // Like many cameras: the clock without its offset from UTC.
        captured_at_offset: None,
        position: Some(DAM_SQUARE),
    };
    jpeg_with_exif(&image, 85, &exif)
}

/// A PNG whose header claims 60000 x 60000 pixels (10.8 GB decoded): a decompression bomb.
fn png_bomb() -> Vec<u8> {
    png_claiming(60_000, 60_000)
}

/// A PNG whose header claims `width` x `height` RGB pixels, with a few bytes of pixel data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &header));
    // A zlib stream of a few bytes; the decoder must refuse the size before inflating anything.
    png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

struct Scene {
    app: TestApp,
    dispatcher: String,
    alert: String,
    witness: SignedIn,
}

async fn scene(options: TestAppOptions) -> Scene {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..options }).await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let witness = app.participant("+31610000081", Profile::default()).await;
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    Scene { app, dispatcher, alert, witness }
}

impl Scene {
    /// Closes the alert with `outcome` and makes it look closed `days_ago`, for retention.
    async fn close_days_ago(&self, outcome: &str, message: &str, days_ago: u32) {
        let closing = json!({"outcome": outcome, "texts": {"nl": {"message": message}}});
        self.app
            .expect_ok(Method::POST, &format!("/v1/alerts/{}/close", self.alert), &self.dispatcher, closing)
            .await;
        let backdate = format!(
            "UPDATE alerts SET closed_at = now() - interval '{days_ago} days' WHERE id = '{}'",
            self.alert
        );
        self.app.database_exec(&backdate).await;
    }

    async fn tip(&self, who: &SignedIn, body: Value) -> Value {
        let response = self
            .app
            .post_json_as(&format!("/v1/me/alerts/{}/tips", self.alert), &who.access_token, &body)
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    fn media_path(&self, tip: &Value) -> String {
        format!("/v1/me/alerts/{}/tips/{}/media", self.alert, tip["id"].as_str().unwrap())
    }

    /// Declares `bytes` as `content_type` (with the hash of `declared`) on the tip.
    async fn declare(
        &self,
        who: &SignedIn,
        tip: &Value,
        content_type: &str,
        bytes: &[u8],
        declared: &[u8],
    ) -> reqwest::Response {
        let body =
            json!({"content_type": content_type, "size_bytes": bytes.len(), "sha256": sha256(declared)});
        let mut request = self
            .app
            .client
            .post(self.app.url(&self.media_path(tip)))
            .bearer_auth(&who.access_token)
            .json(&body);
        if let Some(key) = tip["sender_key"].as_str() {
            request = request.header("Tip-Sender-Key", key);
        }
        request.send().await.unwrap()
    }

    /// Declares, uploads exactly as the answer says, and reports completion; returns the media id.
    async fn attach(&self, who: &SignedIn, tip: &Value, content_type: &str, bytes: &[u8]) -> String {
        let response = self.declare(who, tip, content_type, bytes, bytes).await;
        assert_eq!(response.status(), 201);
        let declared: Value = response.json().await.unwrap();
        assert_eq!(declared["media"]["state"], "pending_upload");
        assert_eq!(declared["upload"]["method"], "single");
        let uploaded = put_presigned(&self.app, &declared["upload"]["request"], bytes.to_vec()).await;
        assert!(uploaded.status().is_success(), "{}", uploaded.text().await.unwrap());
        let id = declared["media"]["id"].as_str().unwrap().to_string();
        let completion = self.complete(who, tip, &id).await;
        assert_eq!(completion.status(), 200);
        id
    }

    async fn complete(&self, who: &SignedIn, tip: &Value, media: &str) -> reqwest::Response {
        let path = format!("{}/{media}/completion", self.media_path(tip));
        let mut request =
            self.app.client.post(self.app.url(&path)).bearer_auth(&who.access_token).json(&json!({}));
        if let Some(key) = tip["sender_key"].as_str() {
            request = request.header("Tip-Sender-Key", key);
        }
        request.send().await.unwrap()
    }

    /// Lets the worker settle the file; returns it as the sender sees it then.
    async fn settled(&self, who: &SignedIn, tip: &Value, media: &str) -> Value {
        self.app.run_pending_jobs().await;
        let path = format!("/v1/me/alerts/{}/tips/{}", self.alert, tip["id"].as_str().unwrap());
        let mut request = self.app.client.get(self.app.url(&path)).bearer_auth(&who.access_token);
        if let Some(key) = tip["sender_key"].as_str() {
            request = request.header("Tip-Sender-Key", key);
        }
        let mine: Value = request.send().await.unwrap().json().await.unwrap();
        let file = mine["media"].as_array().unwrap().iter().find(|m| m["id"] == media).unwrap().clone();
        assert!(["ready", "rejected"].contains(&file["state"].as_str().unwrap()), "still {file}");
        file
    }

    /// Objects the store holds for the file, in any area.
    async fn stored_objects(&self, media: &str) -> Vec<String> {
        let store = &self.app.media_store;
        let mut found = Vec::new();
        for key in [
            format!("uploads/{media}"),
            format!("evidence/{media}"),
            format!("derived/{media}/thumbnail.jpg"),
            format!("derived/{media}/display.jpg"),
            format!("derived/{media}/poster.jpg"),
            format!("derived/{media}/preview.mp4"),
        ] {
            let object = burgernet_core::media::store::ObjectKey::new(key.clone()).unwrap();
            if store.size(&object).await.unwrap().is_some() {
                found.push(key);
            }
        }
        found
    }
}

async fn put_presigned(app: &TestApp, request: &Value, bytes: Vec<u8>) -> reqwest::Response {
    let method = Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut put = app.client.request(method, request["url"].as_str().unwrap()).body(bytes);
    for (name, value) in request["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name, value.as_str().unwrap());
        }
    }
    put.send().await.unwrap()
}

fn has_exif(jpeg: &[u8]) -> bool {
    jpeg.windows(6).any(|window| window == b"Exif\0\0")
}

#[tokio::test]
async fn a_retried_tip_with_the_same_idempotency_key_creates_nothing_new() {
    let scene = scene(TestAppOptions::default()).await;
    let path = format!("/v1/me/alerts/{}/tips", scene.alert);
    let send = |key: &'static str, body: Value| {
        let request = scene.app.client.post(scene.app.url(&path)).bearer_auth(&scene.witness.access_token);
        request.header("Idempotency-Key", key).json(&body).send()
    };
    let tip = json!({"text": "Man met rode jas bij de Markthal.", "anonymous": true});
    let first = send("tip-7f3a", tip.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let retry = send("tip-7f3a", tip.clone()).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["Idempotent-Replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first, "the first answer, sender key and all");
    let count = format!("SELECT count(*) AS count FROM tips WHERE alert_id = '{}'", scene.alert);
    assert_eq!(scene.app.database_count(&count).await, 1);

    let other = send("tip-7f3a", json!({"text": "Iets anders."})).await.unwrap();
    assert_problem(other, 422, "idempotency_key_reused").await;
    let bad = send("   ", tip.clone()).await.unwrap();
    assert_problem(bad, 422, "invalid_idempotency_key").await;
    assert_eq!(scene.app.database_count(&count).await, 1);
    let new_key = send("tip-8b21", tip).await.unwrap();
    assert_eq!(new_key.status(), 201);
    assert_eq!(scene.app.database_count(&count).await, 2);
}

/// Someone who reads the whole database (a backup, a stolen dump) tries to find who sent an
/// anonymous tip, or to act as its sender, by the ways the data used to allow; none works.
#[tokio::test]
async fn an_anonymous_tip_cannot_be_tied_to_its_sender_by_reading_the_database() {
    let scene = scene(TestAppOptions::default()).await;
    let app = &scene.app;
    let path = format!("/v1/me/alerts/{}/tips", scene.alert);
    let send = || {
        let request = app.client.post(app.url(&path)).bearer_auth(&scene.witness.access_token);
        request
            .header("Idempotency-Key", "tip-anon-1")
            .json(&json!({"text": "Zag hem rennen.", "anonymous": true}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let sender_key = first["sender_key"].as_str().unwrap().to_string();
    let tip = first["id"].as_str().unwrap().to_string();
    let participant = scene.witness.participant_id.to_string();
    // A photo with it counts against the hourly media limit.
    scene.attach(&scene.witness, &first, "image/jpeg", &photo()).await;

    // The rate limits' counters began in the clock's hour, not at the tip's moment.
    let joined_by_time = app
        .database_count(&format!(
            "SELECT count(*) FROM tips t JOIN rate_limit_counters c ON c.window_started_at = t.created_at
              WHERE t.id = '{tip}'"
        ))
        .await;
    assert_eq!(joined_by_time, 0);
    for kind in ["tips", "media"] {
        let counters = app
            .database_count(&format!("SELECT count(*) FROM rate_limit_counters WHERE key LIKE '{kind}:%'"))
            .await;
        assert_eq!(counters, 1, "the {kind} counter was counted");
    }
    // Counter keys are not a plain hash of the participant's id or phone number (trying every
    // participant, or every number, finds nothing).
    let plain =
        [("tips", participant.as_str()), ("media", participant.as_str()), ("sign-in:phone", "+31610000081")];
    for (kind, value) in plain {
        let plain_hash = app
            .database_count(&format!(
                "SELECT count(*) FROM rate_limit_counters
                  WHERE key = '{kind}:' || left(encode(sha256(convert_to('{value}', 'UTF8')), 'hex'), 32)"
            ))
            .await;
        assert_eq!(plain_hash, 0, "{kind}");
    }
    // The secret shown once is stored nowhere, not in the stored answer for retries either.
    let secret_stored = app
        .database_count(&format!(
            "SELECT count(*) FROM idempotent_requests WHERE response::text LIKE '%{sender_key}%'
                 OR response::text LIKE '%{tip}%'"
        ))
        .await;
    assert_eq!(secret_stored, 0);
    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["Idempotent-Replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap()["sender_key"], sender_key, "a retry still gets it");
}

#[tokio::test]
async fn a_photo_becomes_evidence_and_the_control_room_sees_it_without_metadata() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    let tip = scene.tip(&scene.witness, json!({"text": "Foto van de scooter.", "may_call_back": true})).await;
    let original = photo();
    let media = scene.attach(&scene.witness, &tip, "image/jpeg", &original).await;
    let settled = scene.settled(&scene.witness, &tip, &media).await;
    assert_eq!(settled["state"], "ready", "{settled}");
    assert_eq!(settled["kind"], "photo");

    // The original moved, unchanged, from the upload area to the evidence area; previews beside it.
    let mut objects = scene.stored_objects(&media).await;
    objects.sort();
    assert_eq!(
        objects,
        [
            format!("derived/{media}/display.jpg"),
            format!("derived/{media}/thumbnail.jpg"),
            format!("evidence/{media}")
        ]
    );

    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), dispatcher).await;
    let file = &tips[0]["media"][0];
    assert_eq!(file["id"], media.as_str());
    assert_eq!(file["sha256"], sha256(&original));
    assert_eq!(file["state"], "ready");
    assert_eq!(file["previews"], json!(["thumbnail", "display"]));
    assert_eq!((file["width"].as_i64(), file["height"].as_i64()), (Some(1200), Some(900)));
    // Restricted metadata from the file, for the control room only. The camera wrote its clock
    // without a zone: Dutch time is assumed (CET in November).
    assert_eq!(file["captured_at"], "2026-11-30T02:12:05Z");
    assert!((file["capture_position"]["latitude"].as_f64().unwrap() - DAM_SQUARE.0).abs() < 1e-4);
    assert!((file["capture_position"]["longitude"].as_f64().unwrap() - DAM_SQUARE.1).abs() < 1e-4);
    let thumbnail = app.client.get(file["thumbnail"]["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(thumbnail.status(), 200);
    let thumbnail = thumbnail.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&thumbnail).unwrap().width(), 320);
    assert!(!has_exif(&thumbnail), "the thumbnail carries EXIF");
    let expires =
        chrono::DateTime::parse_from_rfc3339(file["thumbnail"]["expires_at"].as_str().unwrap()).unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::seconds(301));

    // Viewing the display image: a short link, recorded with who looked.
    let views = format!("/v1/alerts/{alert}/media/{media}/views");
    let link = app.expect_ok(Method::POST, &views, dispatcher, json!({"preview": "display"})).await;
    let display = app.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&display).unwrap().width(), 1200);
    assert!(!has_exif(&display), "the display image carries EXIF");
    assert!(!display.windows(4).any(|w| w == b"GPS\0"));
    let poster = app.send_json_as(Method::POST, &views, dispatcher, &json!({"preview": "poster"})).await;
    assert_problem(poster, 409, "no_preview").await;

    // The original only with a reason; the bytes are the participant's, to the byte.
    let downloads = format!("/v1/alerts/{alert}/media/{media}/original-downloads");
    let refused = app.send_json_as(Method::POST, &downloads, dispatcher, &json!({"reason": ""})).await;
    assert_problem(refused, 422, "invalid_reason").await;
    let link = app
        .expect_ok(
            Method::POST,
            &downloads,
            dispatcher,
            json!({"reason": "Overdracht aan recherche, zaak 2026-118"}),
        )
        .await;
    let downloaded =
        app.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(downloaded.as_ref(), original.as_slice());

    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    let entries = dossier["entries"].as_array().unwrap();
    let entry =
        |kind: &str| entries.iter().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"));
    assert_eq!(entry("media_ready")["body"]["sha256"], sha256(&original));
    assert_eq!(entry("media_viewed")["body"]["preview"], "display");
    assert!(entry("media_viewed")["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(
        entry("media_original_downloaded")["body"]["reason"],
        "Overdracht aan recherche, zaak 2026-118"
    );
    assert!(entry("media_original_downloaded")["actor"].as_str().unwrap().starts_with("staff:"));
}

#[tokio::test]
async fn files_that_are_not_what_they_claim_are_rejected_and_nothing_is_kept() {
    let scene = scene(TestAppOptions::default()).await;
    let tip = scene.tip(&scene.witness, json!({"text": "Ik heb beelden."})).await;
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(4096, 0x90);
    let whole = photo();
    let truncated = whole[..whole.len() / 2].to_vec();
    for (bytes, content_type, code) in [
        (elf, "image/jpeg", "type_not_allowed"),
        (truncated, "image/jpeg", "image_unreadable"),
        (png_bomb(), "image/png", "image_too_large"),
        (whole.clone(), "image/png", "type_mismatch"),
    ] {
        let media = scene.attach(&scene.witness, &tip, content_type, &bytes).await;
        let settled = scene.settled(&scene.witness, &tip, &media).await;
        assert_eq!(settled["state"], "rejected", "{code}: {settled}");
        assert_eq!(settled["rejection"]["code"], code);
        assert!(!settled["rejection"]["reason"].as_str().unwrap().is_empty());
        assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new(), "{code}: something was kept");
    }

    // A file that differs from its declared hash: the store refuses the upload outright, and a
    // store that let it through would still see it refused by the worker.
    let response =
        scene.declare(&scene.witness, &tip, "image/jpeg", &whole, &photo_of_something_else()).await;
    let declared: Value = response.json().await.unwrap();
    let refused = put_presigned(&scene.app, &declared["upload"]["request"], whole.clone()).await;
    assert!(refused.status().is_client_error(), "the store took a file with the wrong hash");
    let media = declared["media"]["id"].as_str().unwrap().to_string();
    assert_problem(scene.complete(&scene.witness, &tip, &media).await, 409, "upload_missing").await;
    let key = burgernet_core::media::store::ObjectKey::new(format!("uploads/{media}")).unwrap();
    scene.app.media_store.put(&key, whole, "image/jpeg").await.unwrap();
    assert_eq!(scene.complete(&scene.witness, &tip, &media).await.status(), 200);
    let settled = scene.settled(&scene.witness, &tip, &media).await;
    assert_eq!(settled["rejection"]["code"], "hash_mismatch");
    assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new());

    let dossier = scene.app.dossier_kinds(&scene.dispatcher, &scene.alert).await;
    assert_eq!(dossier.iter().filter(|kind| *kind == "media_rejected").count(), 5);
}

#[tokio::test]
async fn a_photo_over_the_pixel_limit_is_refused_at_the_first_attempt_and_never_decided_again() {
    let scene = scene(TestAppOptions::default()).await;
    let tip = scene.tip(&scene.witness, json!({"text": "Een panorama."})).await;
    // 8000 x 8000 is 64 megapixels: within the sides allowed, over the pixels.
    let photo = png_claiming(8000, 8000);
    let declared: Value =
        scene.declare(&scene.witness, &tip, "image/png", &photo, &photo).await.json().await.unwrap();
    let media = declared["media"]["id"].as_str().unwrap().to_string();
    assert!(put_presigned(&scene.app, &declared["upload"]["request"], photo).await.status().is_success());
    // Removing the refused file fails for a while, as when the store cannot be reached: a
    // directory stands where its evidence copy would be.
    let MediaStore::Filesystem(store) = &scene.app.media_store else { panic!("a filesystem store") };
    let obstacle = store.root().join(format!("objects/evidence/{media}"));
    std::fs::create_dir_all(obstacle.join("in-the-way")).unwrap();
    assert_eq!(scene.complete(&scene.witness, &tip, &media).await.status(), 200);

    // The refusal is recorded at the first attempt, with a reason the app can show...
    let settled = scene.settled(&scene.witness, &tip, &media).await;
    assert_eq!(settled["state"], "rejected", "{settled}");
    assert_eq!(settled["rejection"]["code"], "image_too_large");
    let reason = settled["rejection"]["reason"].as_str().unwrap();
    assert!(reason.contains("50 megapixels"), "{reason}");
    // ...while the job fails on the store and waits to come back, only to finish the removal.
    let jobs = format!(
        "SELECT count(*) AS count FROM background_jobs \
         WHERE job_type = 'process_media' AND payload->>'media_id' = '{media}'"
    );
    let waiting_to_retry = format!("{jobs} AND state = 'queued' AND attempts = 1 AND last_error IS NOT NULL");
    scene.app.run_pending_jobs().await;
    assert_eq!(scene.app.database_count(&waiting_to_retry).await, 1);
    std::fs::remove_dir_all(&obstacle).unwrap();
    scene.app.database.make_jobs_due("process_media").await;
    scene.app.run_pending_jobs().await;
    assert_eq!(scene.app.database_count(&jobs).await, 0);

    // The retry removed what was left and decided nothing again.
    assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new());
    let settled = scene.settled(&scene.witness, &tip, &media).await;
    assert_eq!(settled["rejection"]["code"], "image_too_large");
    let dossier = scene.app.dossier_kinds(&scene.dispatcher, &scene.alert).await;
    assert_eq!(dossier.iter().filter(|kind| *kind == "media_rejected").count(), 1);
}

fn photo_of_something_else() -> Vec<u8> {
    let image = RgbImage::from_fn(64, 64, |_, _| image::Rgb([1, 2, 3]));
    jpeg_with_exif(&image, 80, &SampleExif::default())
}

#[tokio::test]
async fn only_the_sender_attaches_media_within_the_limits() {
    let scene = scene(TestAppOptions::default()).await;
    let app = &scene.app;
    let named = scene.tip(&scene.witness, json!({"text": "Zie foto."})).await;
    let anonymous = scene.tip(&scene.witness, json!({"text": "Zie foto.", "anonymous": true})).await;
    let neighbour = app.participant("+31610000082", Profile::default()).await;
    let bytes = photo();

    // Another participant cannot see or extend the tip; an anonymous tip needs its key.
    assert_problem(scene.declare(&neighbour, &named, "image/jpeg", &bytes, &bytes).await, 404, "not_found")
        .await;
    let without_key = json!({"id": anonymous["id"]});
    assert_problem(
        scene.declare(&scene.witness, &without_key, "image/jpeg", &bytes, &bytes).await,
        404,
        "not_found",
    )
    .await;
    let wrong_key = json!({"id": anonymous["id"], "sender_key": "not-the-key"});
    assert_problem(
        scene.declare(&scene.witness, &wrong_key, "image/jpeg", &bytes, &bytes).await,
        404,
        "not_found",
    )
    .await;
    let path = format!("/v1/me/alerts/{}/tips/{}", scene.alert, named["id"].as_str().unwrap());
    assert_problem(app.get_as(&path, &neighbour.access_token).await, 404, "not_found").await;
    let media = scene.attach(&scene.witness, &anonymous, "image/jpeg", &bytes).await;
    assert_eq!(scene.settled(&scene.witness, &anonymous, &media).await["state"], "ready");
    let stored = format!(
        "SELECT count(*) AS count FROM tips WHERE id = '{}' AND participant_id IS NULL",
        anonymous["id"].as_str().unwrap()
    );
    assert_eq!(app.database_count(&stored).await, 1, "the anonymous tip names nobody");

    for (content_type, size, code) in [
        ("application/x-msdownload", 1_000, "media_type_not_allowed"),
        ("image/jpeg", 0, "media_empty"),
        ("video/mp4", 0, "media_empty"),
        ("image/jpeg", 40 * 1024 * 1024 + 1, "media_too_large"),
        ("video/mp4", 1024 * 1024 * 1024 + 1, "media_too_large"),
    ] {
        let body = json!({"content_type": content_type, "size_bytes": size, "sha256": sha256(b"x")});
        assert_problem(
            app.post_json_as(&scene.media_path(&named), &scene.witness.access_token, &body).await,
            422,
            code,
        )
        .await;
    }
    let body = json!({"content_type": "image/jpeg", "size_bytes": 10, "sha256": "abc"});
    assert_problem(
        app.post_json_as(&scene.media_path(&named), &scene.witness.access_token, &body).await,
        422,
        "invalid_sha256",
    )
    .await;

    // Ten per tip; a large video is uploaded in parts.
    for _ in 0..10 {
        let body =
            json!({"content_type": "video/mp4", "size_bytes": 300 * 1024 * 1024, "sha256": sha256(b"v")});
        let response = app.post_json_as(&scene.media_path(&named), &scene.witness.access_token, &body).await;
        assert_eq!(response.status(), 201);
        let declared: Value = response.json().await.unwrap();
        assert_eq!(declared["upload"]["method"], "multipart");
        assert_eq!(declared["upload"]["parts"].as_array().unwrap().len(), 5, "300 MiB in parts of 64 MiB");
    }
    let body = json!({"content_type": "image/jpeg", "size_bytes": 10, "sha256": sha256(b"x")});
    assert_problem(
        app.post_json_as(&scene.media_path(&named), &scene.witness.access_token, &body).await,
        409,
        "too_many_media",
    )
    .await;

    let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "Beëindigd."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{}/close", scene.alert), &scene.dispatcher, closing)
        .await;
    assert_problem(
        scene.declare(&scene.witness, &anonymous, "image/jpeg", &bytes, &bytes).await,
        409,
        "alert_closed",
    )
    .await;
}

#[tokio::test]
async fn a_console_polling_the_tips_is_recorded_once_per_quarter_hour_per_person() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    scene.tip(&scene.witness, json!({"text": "Scooter bij de Markthal."})).await;
    let tips = format!("/v1/alerts/{alert}/tips");
    let colleague = app.staff_member_token("staff-2", StaffRole::Dispatcher { region: "rotterdam".into() });

    // The console refreshes the list every few seconds: one entry per person who looked.
    for _ in 0..4 {
        app.get_json(&tips, dispatcher).await;
    }
    app.get_json(&tips, &colleague).await;
    app.get_json(&tips, &colleague).await;

    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    let views: Vec<(&str, &Value)> = dossier["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "tips_viewed")
        .map(|entry| (entry["actor"].as_str().unwrap(), &entry["body"]))
        .collect();
    assert_eq!(
        views,
        [
            ("staff:staff-1", &json!({"tips": 1, "thumbnails": 0})),
            ("staff:staff-2", &json!({"tips": 1, "thumbnails": 0}))
        ]
    );
}

#[tokio::test]
async fn the_control_room_assesses_tips_and_retention_keeps_only_what_is_on_hold() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    let kept = scene.tip(&scene.witness, json!({"text": "Kenteken 12-ABC-3.", "may_call_back": true})).await;
    let dropped = scene.tip(&scene.witness, json!({"text": "Een foto."})).await;
    let kept_id = kept["id"].as_str().unwrap();
    let dropped_id = dropped["id"].as_str().unwrap();
    let kept_media = scene.attach(&scene.witness, &kept, "image/jpeg", &photo()).await;
    let dropped_media = scene.attach(&scene.witness, &dropped, "image/jpeg", &photo()).await;
    scene.settled(&scene.witness, &kept, &kept_media).await;
    scene.settled(&scene.witness, &dropped, &dropped_media).await;
    let abandoned: Value =
        scene.declare(&scene.witness, &dropped, "image/jpeg", &photo(), &photo()).await.json().await.unwrap();

    let assessment = format!("/v1/alerts/{alert}/tips/{kept_id}/assessment");
    let forwarded = json!({"assessment": "forwarded", "forwarded_to": "Noodhulp Rotterdam-Centrum", "note": "Kenteken klopt"});
    let recorded = app.send_json_as(Method::PUT, &assessment, dispatcher, &forwarded).await;
    assert_eq!(recorded.status(), 200);
    let recorded: Value = recorded.json().await.unwrap();
    assert_eq!(recorded["forwarded_to"], "Noodhulp Rotterdam-Centrum");
    let unnamed = json!({"assessment": "forwarded"});
    assert_problem(
        app.send_json_as(Method::PUT, &assessment, dispatcher, &unnamed).await,
        422,
        "invalid_assessment",
    )
    .await;
    let unknown = json!({"assessment": "maybe"});
    assert_problem(
        app.send_json_as(Method::PUT, &assessment, dispatcher, &unknown).await,
        422,
        "invalid_body",
    )
    .await;
    let hold = format!("/v1/alerts/{alert}/tips/{kept_id}/legal-hold");
    let placed = app.send_json_as(Method::PUT, &hold, dispatcher, &json!({"reason": "Zaak 2026-118"})).await;
    assert_eq!(placed.status(), 200);
    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), dispatcher).await;
    let listed = tips.as_array().unwrap().iter().find(|tip| tip["id"] == kept_id).unwrap();
    assert_eq!(listed["assessment"]["assessment"], "forwarded");
    assert_eq!(listed["legal_hold"]["reason"], "Zaak 2026-118");

    // The alert closed 91 days ago; the upload never completed is two days old.
    scene.close_days_ago("hard_success", "Aangehouden.", 91).await;
    let abandoned_id = abandoned["media"]["id"].as_str().unwrap();
    app.database_exec(&format!(
        "UPDATE tip_media SET upload_expires_at = now() - interval '1 minute' WHERE id = '{abandoned_id}'"
    ))
    .await;

    let mut conn = app.database.connect().await;
    let upkeep = retention::EvidenceUpkeep { retention: Duration::from_secs(90 * 86_400) };
    let done = upkeep.run(&mut conn).await.unwrap();
    assert_eq!((done.expired_uploads, done.removed_tips), (1, 1));
    let remaining = format!("SELECT count(*) AS count FROM tips WHERE alert_id = '{alert}'");
    assert_eq!(app.database_count(&remaining).await, 1, "the tip on hold stays");
    // A job removes the files after the commit.
    app.run_pending_jobs().await;
    assert_eq!(scene.stored_objects(&dropped_media).await, Vec::<String>::new());
    assert_eq!(scene.stored_objects(&kept_media).await.len(), 3);
    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    let removal =
        dossier["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "retention_removed").unwrap();
    assert_eq!(removal["body"]["tips"], json!([dropped_id]));
    assert_eq!(removal["body"]["media"][0]["sha256"], sha256(&photo()));

    // Lifting the hold lets retention take the rest.
    assert_eq!(app.delete_as(&hold, dispatcher).await.status(), 204);
    assert_eq!(upkeep.run(&mut conn).await.unwrap().removed_tips, 1);
    assert_eq!(app.database_count(&remaining).await, 0);
    app.run_pending_jobs().await;
    assert_eq!(scene.stored_objects(&kept_media).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_alert_on_legal_hold_keeps_its_tips_and_erasure_keeps_the_evidence_without_identity() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    let tip = scene.tip(&scene.witness, json!({"text": "Filmpje.", "may_call_back": true})).await;
    let media = scene.attach(&scene.witness, &tip, "image/jpeg", &photo()).await;
    scene.settled(&scene.witness, &tip, &media).await;

    assert!(app.delete_as("/v1/me", &scene.witness.access_token).await.status().is_success());
    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), dispatcher).await;
    assert_eq!(tips[0]["participant_id"], Value::Null);
    assert_eq!(tips[0]["may_call_back"], false);
    assert_eq!(tips[0]["media"][0]["state"], "ready", "the evidence stays");

    let admin = app.admin_token();
    let hold = format!("/v1/alerts/{alert}/legal-hold");
    let placed = app.send_json_as(Method::PUT, &hold, &admin, &json!({"reason": "OM-verzoek"})).await;
    assert_eq!(placed.status(), 200);
    scene.close_days_ago("no_result", "Beëindigd.", 400).await;
    let mut conn = app.database.connect().await;
    let upkeep = retention::EvidenceUpkeep { retention: Duration::from_secs(90 * 86_400) };
    assert_eq!(upkeep.run(&mut conn).await.unwrap().removed_tips, 0);
    assert_eq!(scene.stored_objects(&media).await.len(), 3);
    let kinds = app.dossier_kinds(dispatcher, alert).await;
    assert!(kinds.contains(&"legal_hold_placed".to_string()), "{kinds:?}");
}

/// A 2-second 640x480 H.264 video made by ffmpeg (installed by `scripts/install-deps`).
fn video() -> Vec<u8> {
    two_second_video(&[])
}

#[tokio::test]
async fn a_video_gets_a_poster_frame_and_the_event_stream_shows_it_ready() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    let stream = app.get_as(&format!("/v1/alerts/{alert}/events"), dispatcher).await;
    assert_eq!(stream.status(), 200);
    let tip = scene.tip(&scene.witness, json!({"text": "Ik heb hem gefilmd."})).await;
    let recording = video();
    let media = scene.attach(&scene.witness, &tip, "video/mp4", &recording).await;

    // New tips and files becoming ready appear on the live stream, as dossier entries.
    let events = read_events(stream, |events| {
        events.iter().any(|(event, data)| event == "dossier" && data["kind"] == "media_ready")
    })
    .await;
    let kinds: Vec<&str> = events
        .iter()
        .filter(|(event, _)| event == "dossier")
        .map(|(_, data)| data["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tip"), "{kinds:?}");
    let ready = events.iter().find(|(_, data)| data["kind"] == "media_ready").unwrap();
    assert_eq!(ready.1["body"]["media_id"], media.as_str());

    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), dispatcher).await;
    let file = &tips[0]["media"][0];
    assert_eq!(file["kind"], "video");
    assert_eq!(file["has_preview"], true);
    assert_eq!(file["previews"], json!(["poster", "video"]));
    assert_eq!((file["width"].as_i64(), file["height"].as_i64()), (Some(640), Some(480)));
    assert!((file["duration_seconds"].as_f64().unwrap() - 2.0).abs() < 0.2, "{file}");
    assert_eq!(file["codec"], "h264");
    let poster = app.client.get(file["thumbnail"]["url"].as_str().unwrap()).send().await.unwrap();
    let poster = poster.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&poster).unwrap().width(), 640);
    assert!(!has_exif(&poster));
    let views = format!("/v1/alerts/{alert}/media/{media}/views");
    let link = app.expect_ok(Method::POST, &views, dispatcher, json!({"preview": "poster"})).await;
    let viewed = app.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(viewed, poster, "the link serves the poster");
    let mut objects = scene.stored_objects(&media).await;
    objects.sort();
    assert_eq!(
        objects,
        [
            format!("derived/{media}/poster.jpg"),
            format!("derived/{media}/preview.mp4"),
            format!("evidence/{media}")
        ]
    );
}

#[tokio::test]
async fn without_ffmpeg_a_video_is_kept_as_evidence_without_a_preview() {
    let missing = std::path::PathBuf::from("/nonexistent/burgernet-test");
    let video_tools = burgernet_core::media::video::VideoTools::new(
        missing.join("ffprobe"),
        missing.join("ffmpeg"),
        Duration::from_secs(10),
        1,
    );
    let scene = scene(TestAppOptions { video: video_tools, ..TestAppOptions::default() }).await;
    let tip = scene.tip(&scene.witness, json!({"text": "Filmpje van de vlucht."})).await;
    let media = scene.attach(&scene.witness, &tip, "video/mp4", &video()).await;
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
    let tips = scene.app.get_json(&format!("/v1/alerts/{}/tips", scene.alert), &scene.dispatcher).await;
    let file = &tips[0]["media"][0];
    assert_eq!(file["has_preview"], false);
    assert_eq!(file["previews"], json!([]));
    assert_eq!(file["thumbnail"], Value::Null);
    assert_eq!(scene.stored_objects(&media).await, [format!("evidence/{media}")]);
    let views = format!("/v1/alerts/{}/media/{media}/views", scene.alert);
    for preview in ["poster", "video"] {
        let view = scene
            .app
            .send_json_as(Method::POST, &views, &scene.dispatcher, &json!({"preview": preview}))
            .await;
        assert_problem(view, 409, "no_preview").await;
    }
}

/// A 1-second 1920x1080 recording with sound that carries, as a phone's does, where and when it
/// was taken (ffmpeg writes the QuickTime tags).
fn phone_video() -> Vec<u8> {
    made_by_ffmpeg(
        "mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1920x1080:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-metadata",
            "location=+51.9225+004.4792/",
            "-metadata",
            "creation_time=2026-11-30T03:04:05Z",
            "-metadata",
            "com.apple.quicktime.location.ISO6709=+51.9225+004.4792+002.000/",
            "-movflags",
            "use_metadata_tags",
        ],
    )
}

/// `ffprobe`'s view of a file's streams and tags.
fn probe(bytes: &[u8]) -> Value {
    let path = std::env::temp_dir().join(format!("burgernet-e2e-probe-{}.mp4", uuid::Uuid::new_v4()));
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "ffprobe cannot read it");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_video_plays_in_the_control_room_from_a_preview_without_its_position_until_retention_removes_it() {
    let scene = scene(TestAppOptions::default()).await;
    let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
    let tip = scene.tip(&scene.witness, json!({"text": "Hij rende weg, ik heb het gefilmd."})).await;
    let media = scene.attach(&scene.witness, &tip, "video/quicktime", &phone_video()).await;
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");

    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), dispatcher).await;
    let file = &tips[0]["media"][0];
    assert_eq!(file["previews"], json!(["poster", "video"]));
    let views = format!("/v1/alerts/{alert}/media/{media}/views");
    let link = app.expect_ok(Method::POST, &views, dispatcher, json!({"preview": "video"})).await;
    let url = link["url"].as_str().unwrap();

    let whole = app.client.get(url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let preview = whole.bytes().await.unwrap();
    let probed = probe(&preview);
    let streams = probed["streams"].as_array().unwrap();
    let codecs: Vec<&str> = streams.iter().map(|stream| stream["codec_name"].as_str().unwrap()).collect();
    assert_eq!(codecs, ["h264", "aac"]);
    assert_eq!(streams[0]["height"], 720);
    let format_tags = probed["format"]["tags"].as_object().unwrap();
    assert!(
        !format_tags.keys().any(|name| name.contains("location") || name == "creation_time"),
        "{format_tags:?}"
    );
    assert!(!preview.windows(8).any(|window| window == b"+51.9225"), "the position is in the preview");

    // A browser plays and seeks with ranges.
    let range = app.client.get(url).header("Range", "bytes=100-199").send().await.unwrap();
    assert_eq!(range.status(), 206);
    let total = preview.len();
    assert_eq!(range.headers()["content-range"], format!("bytes 100-199/{total}").as_str());
    assert_eq!(range.bytes().await.unwrap(), preview[100..200]);
    let beyond = app.client.get(url).header("Range", format!("bytes={total}-")).send().await.unwrap();
    assert_problem(beyond, 416, "range_not_satisfiable").await;

    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    let viewed = dossier["entries"].as_array().unwrap().iter().find(|entry| entry["kind"] == "media_viewed");
    assert_eq!(viewed.unwrap()["body"]["preview"], "video");

    // Retention removes the preview with the rest.
    scene.close_days_ago("hard_success", "Aangehouden.", 91).await;
    let mut conn = app.database.connect().await;
    let upkeep = retention::EvidenceUpkeep { retention: Duration::from_secs(90 * 86_400) };
    assert_eq!(upkeep.run(&mut conn).await.unwrap().removed_tips, 1);
    let kept = scene.stored_objects(&media).await;
    let preview_key = format!("derived/{media}/preview.mp4");
    assert!(kept.contains(&preview_key), "the files go only after the commit: {kept:?}");
    app.run_pending_jobs().await;
    assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_video_whose_transcoding_times_out_keeps_its_poster_without_a_playable_preview() {
    use std::os::unix::fs::PermissionsExt;

    // ffmpeg as installed, but the transcoding (the one run with libx264) hangs.
    let dir = std::env::temp_dir().join(format!("burgernet-e2e-tools-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ffmpeg = dir.join("ffmpeg");
    std::fs::write(&ffmpeg, "#!/bin/sh\ncase \"$*\" in *libx264*) sleep 60;; esac\nexec ffmpeg \"$@\"\n")
        .unwrap();
    std::fs::set_permissions(&ffmpeg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let video_tools =
        burgernet_core::media::video::VideoTools::new("ffprobe".into(), ffmpeg, Duration::from_secs(3), 1);
    let scene = scene(TestAppOptions { video: video_tools, ..TestAppOptions::default() }).await;
    let tip = scene.tip(&scene.witness, json!({"text": "Filmpje."})).await;
    let media = scene.attach(&scene.witness, &tip, "video/mp4", &video()).await;
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
    std::fs::remove_dir_all(&dir).unwrap();

    let tips = scene.app.get_json(&format!("/v1/alerts/{}/tips", scene.alert), &scene.dispatcher).await;
    let file = &tips[0]["media"][0];
    assert_eq!((&file["has_preview"], &file["previews"]), (&json!(true), &json!(["poster"])));
    let mut objects = scene.stored_objects(&media).await;
    objects.sort();
    assert_eq!(objects, [format!("derived/{media}/poster.jpg"), format!("evidence/{media}")]);
    let views = format!("/v1/alerts/{}/media/{media}/views", scene.alert);
    let video =
        scene.app.send_json_as(Method::POST, &views, &scene.dispatcher, &json!({"preview": "video"})).await;
    assert_problem(video, 409, "no_preview").await;
}

/// A photo of noise, which JPEG cannot compress: more than 5 MiB.
fn large_photo() -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let image = RgbImage::from_fn(2600, 2000, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    jpeg_with_exif(&image, 97, &SampleExif::default())
}

/// A scene in which files above 1 MiB go up in parts of 5 MiB.
async fn scene_with_small_parts() -> Scene {
    let mut options = TestAppOptions::default();
    options.media.single_upload_max_bytes = 1024 * 1024;
    options.media.part_bytes = 5 * 1024 * 1024;
    scene(options).await
}

#[tokio::test]
async fn a_file_above_the_single_upload_limit_goes_up_in_parts_and_is_completed_once() {
    let scene = scene_with_small_parts().await;
    let tip = scene.tip(&scene.witness, json!({"text": "Grote foto."})).await;
    let bytes = large_photo();
    assert!(bytes.len() > 5 * 1024 * 1024, "{} bytes", bytes.len());

    let response = scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes).await;
    assert_eq!(response.status(), 201);
    let declared: Value = response.json().await.unwrap();
    assert_eq!(declared["upload"]["method"], "multipart");
    assert_eq!(declared["upload"]["part_size_bytes"], 5 * 1024 * 1024);
    let requests = declared["upload"]["parts"].as_array().unwrap();
    assert_eq!(requests.len(), bytes.len().div_ceil(5 * 1024 * 1024));
    let media = declared["media"]["id"].as_str().unwrap().to_string();
    let path = format!("{}/{media}/completion", scene.media_path(&tip));

    // Before the parts are uploaded and named there is nothing to complete.
    let early = scene.app.post_json_as(&path, &scene.witness.access_token, &json!({"parts": []})).await;
    assert_problem(early, 409, "upload_missing").await;

    let mut parts = Vec::new();
    for (index, (request, chunk)) in requests.iter().zip(bytes.chunks(5 * 1024 * 1024)).enumerate() {
        let uploaded = put_presigned(&scene.app, request, chunk.to_vec()).await;
        assert!(uploaded.status().is_success(), "part {}: {}", index + 1, uploaded.status());
        let etag = uploaded.headers()["etag"].to_str().unwrap().to_string();
        parts.push(json!({"number": index + 1, "etag": etag}));
    }
    let completion = json!({"parts": parts});
    let completed = scene.app.post_json_as(&path, &scene.witness.access_token, &completion).await;
    assert_eq!(completed.status(), 200);
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
    // A repeated completion (the answer was lost) answers the state and starts nothing new.
    let again: Value =
        scene.app.post_json_as(&path, &scene.witness.access_token, &completion).await.json().await.unwrap();
    assert_eq!(again["state"], "ready");
    let jobs = format!(
        "SELECT count(*) AS count FROM background_jobs WHERE job_type = 'process_media' AND payload->>'media_id' = '{media}'"
    );
    assert!(scene.app.database_count(&jobs).await <= 1);

    let tips = scene.app.get_json(&format!("/v1/alerts/{}/tips", scene.alert), &scene.dispatcher).await;
    assert_eq!(tips[0]["media"][0]["sha256"], sha256(&bytes));
}

#[tokio::test]
async fn a_completion_must_name_every_uploaded_part_once_and_in_order() {
    let scene = scene_with_small_parts().await;
    let tip = scene.tip(&scene.witness, json!({"text": "Grote foto."})).await;
    let bytes = large_photo();
    let declared: Value =
        scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes).await.json().await.unwrap();
    let requests = declared["upload"]["parts"].as_array().unwrap();
    let media = declared["media"]["id"].as_str().unwrap().to_string();
    let path = format!("{}/{media}/completion", scene.media_path(&tip));
    let mut parts = Vec::new();
    for (index, (request, chunk)) in requests.iter().zip(bytes.chunks(5 * 1024 * 1024)).enumerate() {
        let uploaded = put_presigned(&scene.app, request, chunk.to_vec()).await;
        assert!(uploaded.status().is_success());
        let etag = uploaded.headers()["etag"].to_str().unwrap().to_string();
        parts.push(json!({"number": index + 1, "etag": etag}));
    }
    assert!(parts.len() >= 2);
    let (app, token) = (&scene.app, &scene.witness.access_token);
    let complete = |parts: Vec<Value>| {
        let body = json!({"parts": parts});
        let path = path.clone();
        async move { app.post_json_as(&path, token, &body).await }
    };
    let with = |changes: &[(usize, Value)]| {
        let mut changed = parts.clone();
        for (index, part) in changes {
            changed[*index] = part.clone();
        }
        changed
    };

    // A list that leaves a part out (the parts then add up to less than declared), or names a part
    // with another part's ETag: the file has not arrived in full.
    let without_the_last = parts[..parts.len() - 1].to_vec();
    assert_problem(complete(without_the_last).await, 409, "upload_missing").await;
    let wrong_etag = with(&[(1, json!({"number": 2, "etag": parts[0]["etag"]}))]);
    assert_problem(complete(wrong_etag).await, 409, "upload_missing").await;
    // Repeated or out of order (S3's InvalidPartOrder): the list itself is wrong.
    let mut first_twice = vec![parts[0].clone()];
    first_twice.extend(parts.iter().cloned());
    let swapped = with(&[(0, parts[1].clone()), (1, parts[0].clone())]);
    for list in [vec![parts[0].clone(); 40], first_twice, swapped] {
        assert_problem(complete(list).await, 422, "invalid_part_list").await;
    }
    // None of these wrote anything, and the file still waits for its completion.
    assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new());
    let completed = complete(parts.clone()).await;
    assert_eq!(completed.status(), 200);
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
}

#[tokio::test]
async fn each_participant_sends_a_limited_number_of_tips_and_files_per_hour() {
    let mut options = TestAppOptions::default();
    options.tips.per_participant_per_hour = 2;
    options.media.per_participant_per_hour = 2;
    let scene = scene(options).await;
    let first = scene.tip(&scene.witness, json!({"text": "Eén."})).await;
    scene.tip(&scene.witness, json!({"text": "Twee."})).await;
    let path = format!("/v1/me/alerts/{}/tips", scene.alert);
    let third = scene.app.post_json_as(&path, &scene.witness.access_token, &json!({"text": "Drie."})).await;
    let retry_after: u64 = third.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after));
    assert_problem(third, 429, "rate_limited").await;
    // The limit is the participant's, over every alert; others are not held back by it.
    let neighbour = scene.app.participant("+31610000083", Profile::default()).await;
    let second = scene.app.send_new_alert(&scene.dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    scene.app.wait_until_delivered(&scene.dispatcher, &second).await;
    let path = format!("/v1/me/alerts/{second}/tips");
    let witness = scene.app.post_json_as(&path, &scene.witness.access_token, &json!({"text": "Vier."})).await;
    assert_problem(witness, 429, "rate_limited").await;
    let other = scene.app.post_json_as(&path, &neighbour.access_token, &json!({"text": "Ik ook."})).await;
    assert_eq!(other.status(), 201);

    let bytes = photo();
    for _ in 0..2 {
        assert_eq!(scene.declare(&scene.witness, &first, "image/jpeg", &bytes, &bytes).await.status(), 201);
    }
    let over = scene.declare(&scene.witness, &first, "image/jpeg", &bytes, &bytes).await;
    assert!(over.headers().contains_key("retry-after"));
    assert_problem(over, 429, "rate_limited").await;
}

#[tokio::test]
async fn an_iphone_heic_photo_is_kept_without_a_preview_rather_than_refused() {
    let scene = scene(TestAppOptions::default()).await;
    let tip = scene.tip(&scene.witness, json!({"text": "Foto van mijn iPhone."})).await;
    // The start of an iPhone HEIC file: an `ftyp` box of brand heic; this platform decodes no HEIC.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.resize(4096, 0);
    let media = scene.attach(&scene.witness, &tip, "image/heic", &heic).await;
    assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
    let tips = scene.app.get_json(&format!("/v1/alerts/{}/tips", scene.alert), &scene.dispatcher).await;
    assert_eq!(tips[0]["media"][0]["has_preview"], false);
    assert_eq!(scene.stored_objects(&media).await, [format!("evidence/{media}")], "the original is kept");
}

/// The store is never waited on inside a database transaction: a slow store holds no locks and
/// no transaction open, and a failure on either side leaves nothing behind on the other.
mod store_outside_transactions {
    use super::*;
    use crate::helpers::s3::{FakeS3, S3Operation};

    /// A trigger function with which the database refuses a write, as a failing database would.
    const REFUSE: &str = "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                            $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$";

    /// A scene on an S3 store in which every file goes up in parts (one part, for a small file).
    async fn scene_on(s3: &FakeS3) -> Scene {
        let mut options = TestAppOptions { media_store: Some(s3.media_store()), ..TestAppOptions::default() };
        options.media.single_upload_max_bytes = 1024;
        options.media.part_bytes = 5 * 1024 * 1024;
        scene(options).await
    }

    /// Asserts, while the store holds a request of `operation`, that no connection of the app
    /// waits inside a transaction; then lets the request go.
    async fn no_transaction_waits_on(app: &TestApp, held: crate::helpers::s3::Held) {
        held.arrived().await;
        // Long enough for a transaction left open around the held request to have been idle
        // past the 200 ms below, which a transaction merely between two statements never is.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let waiting = "SELECT count(*) AS count FROM pg_stat_activity
                        WHERE datname = current_database() AND state LIKE 'idle in transaction%'
                          AND now() - state_change > interval '200 milliseconds'";
        assert_eq!(app.database_count(waiting).await, 0, "a transaction waits for the store");
        drop(held);
    }

    #[tokio::test]
    async fn a_slow_store_keeps_no_transaction_open_while_a_file_is_declared_and_completed() {
        let s3 = FakeS3::start().await;
        let scene = scene_on(&s3).await;
        let tip = scene.tip(&scene.witness, json!({"text": "Foto."})).await;
        let bytes = photo();

        let creating = s3.hold(S3Operation::CreateMultipartUpload);
        let (declared, ()) = tokio::join!(
            scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes),
            no_transaction_waits_on(&scene.app, creating)
        );
        assert_eq!(declared.status(), 201);
        let declared: Value = declared.json().await.unwrap();
        assert_eq!(declared["upload"]["method"], "multipart");
        let part = &declared["upload"]["parts"][0];
        let uploaded = put_presigned(&scene.app, part, bytes.clone()).await;
        assert!(uploaded.status().is_success(), "{}", uploaded.status());
        let etag = uploaded.headers()["etag"].to_str().unwrap().to_string();
        let media = declared["media"]["id"].as_str().unwrap().to_string();
        let path = format!("{}/{media}/completion", scene.media_path(&tip));
        let completion = json!({"parts": [{"number": 1, "etag": etag}]});

        let looking = s3.hold(S3Operation::HeadObject);
        let completing = s3.hold(S3Operation::CompleteMultipartUpload);
        let (completed, ()) =
            tokio::join!(scene.app.post_json_as(&path, &scene.witness.access_token, &completion), async {
                no_transaction_waits_on(&scene.app, looking).await;
                no_transaction_waits_on(&scene.app, completing).await;
            });
        assert_eq!(completed.status(), 200);
        assert_eq!(completed.json::<Value>().await.unwrap()["state"], "uploaded");
        assert_eq!(scene.settled(&scene.witness, &tip, &media).await["state"], "ready");
        assert_eq!(s3.uploads_in_progress(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_declaration_that_fails_after_its_upload_was_created_leaves_no_upload_behind() {
        let s3 = FakeS3::start().await;
        let scene = scene_on(&s3).await;
        let app = &scene.app;
        let tip = scene.tip(&scene.witness, json!({"text": "Foto."})).await;
        let bytes = photo();
        // The database refuses the file's row: the store has created the upload by then.
        app.database_exec_as_owner(REFUSE).await;
        app.database_exec_as_owner(
            "CREATE TRIGGER refuse BEFORE INSERT ON tip_media FOR EACH ROW EXECUTE FUNCTION refuse()",
        )
        .await;

        let refused = scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes).await;
        assert_eq!(refused.status(), 500);
        assert_eq!(s3.uploads_in_progress(), Vec::<String>::new(), "aborted at once");

        // The store cannot abort it just then (or the API stops before it tries): the job queued
        // before the upload was created aborts it later.
        s3.fail(S3Operation::AbortMultipartUpload, true);
        let refused = scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes).await;
        assert_eq!(refused.status(), 500);
        assert_eq!(s3.uploads_in_progress().len(), 1);
        s3.fail(S3Operation::AbortMultipartUpload, false);
        app.database.make_jobs_due("abort_unclaimed_upload").await;
        app.run_pending_jobs().await;
        assert_eq!(s3.uploads_in_progress(), Vec::<String>::new());

        // A declaration that is recorded keeps its upload, whatever the job does later.
        app.database_exec_as_owner("DROP TRIGGER refuse ON tip_media").await;
        let declared = scene.declare(&scene.witness, &tip, "image/jpeg", &bytes, &bytes).await;
        assert_eq!(declared.status(), 201);
        let queued =
            "SELECT count(*) AS count FROM background_jobs WHERE job_type = 'abort_unclaimed_upload'";
        app.run_pending_jobs().await;
        assert_eq!(app.database_count(queued).await, 0);
        assert_eq!(s3.uploads_in_progress().len(), 1);
    }

    #[tokio::test]
    async fn retention_removes_files_only_after_its_commit_and_a_failing_store_delays_only_the_files() {
        let s3 = FakeS3::start().await;
        let scene =
            scene(TestAppOptions { media_store: Some(s3.media_store()), ..TestAppOptions::default() }).await;
        let (app, dispatcher, alert) = (&scene.app, &scene.dispatcher, &scene.alert);
        let tip = scene.tip(&scene.witness, json!({"text": "Een foto."})).await;
        let media = scene.attach(&scene.witness, &tip, "image/jpeg", &photo()).await;
        scene.settled(&scene.witness, &tip, &media).await;
        assert_eq!(scene.stored_objects(&media).await.len(), 3);
        scene.close_days_ago("hard_success", "Aangehouden.", 91).await;
        let upkeep = retention::EvidenceUpkeep { retention: Duration::from_secs(90 * 86_400) };
        let mut conn = app.database.connect().await;
        let tips = format!("SELECT count(*) AS count FROM tips WHERE alert_id = '{alert}'");

        // The removal cannot be recorded in the dossier: it rolls back, and the files stay.
        app.database_exec_as_owner(REFUSE).await;
        app.database_exec_as_owner(
            "CREATE TRIGGER refuse BEFORE INSERT ON alert_dossier
               FOR EACH ROW WHEN (NEW.kind = 'retention_removed') EXECUTE FUNCTION refuse()",
        )
        .await;
        assert!(upkeep.run(&mut conn).await.is_err());
        assert_eq!(app.database_count(&tips).await, 1);
        assert_eq!(scene.stored_objects(&media).await.len(), 3, "the rows remain, so do the files");
        app.database_exec_as_owner("DROP TRIGGER refuse ON alert_dossier").await;

        // The store fails: the rows go all the same, and the files once it works again.
        s3.fail(S3Operation::DeleteObject, true);
        assert_eq!(upkeep.run(&mut conn).await.unwrap().removed_tips, 1);
        assert_eq!(app.database_count(&tips).await, 0);
        assert!(app.dossier_kinds(dispatcher, alert).await.contains(&"retention_removed".to_string()));
        let failed_once = "SELECT count(*) AS count FROM background_jobs
                            WHERE job_type = 'remove_media_objects' AND attempts >= 1 AND last_error IS NOT NULL";
        app.run_pending_jobs().await;
        assert_eq!(app.database_count(failed_once).await, 1);
        assert_eq!(scene.stored_objects(&media).await.len(), 3);
        s3.fail(S3Operation::DeleteObject, false);
        app.database.make_jobs_due("remove_media_objects").await;
        app.run_pending_jobs().await;
        assert_eq!(scene.stored_objects(&media).await, Vec::<String>::new());
        let jobs = "SELECT count(*) AS count FROM background_jobs WHERE job_type = 'remove_media_objects'";
        assert_eq!(app.database_count(jobs).await, 0);
    }
}
