//! What retention and erasure remove is really gone: a tip's words and the control room's notes on
//! it are nowhere in the database once the tip's retention has passed (the append-only dossier
//! holds them sealed with a key retention destroys, and its chain still verifies), and how a
//! recipient was reached (a place of theirs or their live location in the alert's area) is not
//! kept at all.

use std::time::Duration;

use burgernet_core::alerts::dossier;
use burgernet_core::ids::AlertId;
use burgernet_core::media::retention;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, circle};
use crate::helpers::{SignedIn, TestApp, TestAppOptions};

/// The tables (of the application's schema) with a row whose every column, as JSON, holds all of
/// `needles`.
async fn tables_holding(app: &TestApp, needles: &[&str]) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let patterns: Vec<String> = needles.iter().map(|needle| format!("%{needle}%")).collect();
    let mut conn = app.database.connect().await;
    let tables: Vec<Table> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT t.table_name::text AS name
               FROM information_schema.tables t,
                    LATERAL query_to_xml(format(
                        'SELECT count(*) AS n FROM %I.%I AS r WHERE row_to_json(r)::text LIKE ALL (%L::text[])',
                        t.table_schema, t.table_name, $1), false, true, '') AS found
              WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                AND (xpath('/row/n/text()', found))[1]::text::bigint > 0
              ORDER BY 1",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&patterns),
        &mut conn,
    )
    .await
    .unwrap();
    tables.into_iter().map(|table| table.name).collect()
}

struct Scene {
    app: TestApp,
    dispatcher: String,
    alert: String,
}

impl Scene {
    /// An alert sent in Rotterdam and delivered to `profile`'s participant.
    async fn new(profile: Profile) -> (Self, SignedIn) {
        let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
        app.load_reference_data().await;
        let dispatcher = app.dispatcher_token("rotterdam");
        let witness = app.participant("+31610000091", profile).await;
        let alert = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
        app.wait_until_delivered(&dispatcher, &alert).await;
        (Self { app, dispatcher, alert }, witness)
    }

    async fn tip(&self, who: &SignedIn, text: &str) -> String {
        let path = format!("/v1/me/alerts/{}/tips", self.alert);
        let body = json!({"text": text, "may_call_back": true});
        let response = self.app.post_json_as(&path, &who.access_token, &body).await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }

    async fn assess(&self, tip: &str, note: &str) {
        let path = format!("/v1/alerts/{}/tips/{tip}/assessment", self.alert);
        let body = json!({"assessment": "relevant", "note": note});
        self.app.expect_ok(Method::PUT, &path, &self.dispatcher, body).await;
    }

    /// The body of the exported dossier's only entry of `kind`.
    async fn exported_body(&self, kind: &str) -> Value {
        let dossier =
            self.app.get_json(&format!("/v1/alerts/{}/dossier", self.alert), &self.dispatcher).await;
        let mut found = dossier["entries"].as_array().unwrap().iter().filter(|entry| entry["kind"] == kind);
        let entry = found.next().unwrap_or_else(|| panic!("no {kind} entry"));
        assert!(found.next().is_none(), "one {kind} entry");
        entry["body"].clone()
    }

    /// Closes the alert, dates the closing 91 days back and runs retention (90 days).
    async fn close_and_retain(&self) {
        let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "Beëindigd."}}});
        self.app
            .expect_ok(Method::POST, &format!("/v1/alerts/{}/close", self.alert), &self.dispatcher, closing)
            .await;
        self.app
            .database_exec(&format!(
                "UPDATE alerts SET closed_at = now() - interval '91 days' WHERE id = '{}'",
                self.alert
            ))
            .await;
        let upkeep = retention::EvidenceUpkeep { retention: Duration::from_secs(90 * 86_400) };
        upkeep.run(&mut self.app.database.connect().await).await.unwrap();
        let tips = format!("SELECT count(*) AS count FROM tips WHERE alert_id = '{}'", self.alert);
        assert_eq!(self.app.database_count(&tips).await, 0, "retention removed the tips");
    }

    async fn assert_dossier_verifies(&self) {
        let alert = AlertId(self.alert.parse().unwrap());
        let verified = dossier::verify(&mut self.app.database.connect().await, alert).await.unwrap();
        assert_eq!(verified.first_broken, None);
    }
}

#[tokio::test]
async fn after_retention_no_word_of_a_tip_or_its_assessment_is_left_and_the_dossier_still_verifies() {
    let (scene, witness) = Scene::new(Profile::default()).await;
    let tip = scene.tip(&witness, "Man met kwartelkoning-tatoeage liep richting station.").await;
    scene.assess(&tip, "Melder klinkt betrouwbaar, roerdomp-zaak.").await;

    // While the tip is kept, the export shows its words; the dossier itself holds them sealed.
    assert_eq!(
        scene.exported_body("tip").await["text"],
        "Man met kwartelkoning-tatoeage liep richting station."
    );
    assert_eq!(
        scene.exported_body("tip_assessed").await["note"],
        "Melder klinkt betrouwbaar, roerdomp-zaak."
    );
    assert_eq!(tables_holding(&scene.app, &["kwartelkoning"]).await, ["tips"]);
    assert_eq!(tables_holding(&scene.app, &["roerdomp"]).await, ["tips"]);
    scene.assert_dossier_verifies().await;

    scene.close_and_retain().await;
    assert_eq!(tables_holding(&scene.app, &["kwartelkoning"]).await, Vec::<String>::new());
    assert_eq!(tables_holding(&scene.app, &["roerdomp"]).await, Vec::<String>::new());
    let key = format!("SELECT count(*) AS count FROM tip_text_keys WHERE tip_id = '{tip}'");
    assert_eq!(scene.app.database_count(&key).await, 0, "the key is destroyed with the tip");
    scene.assert_dossier_verifies().await;
    let submitted = scene.exported_body("tip").await;
    assert_eq!(
        (submitted["text"].clone(), submitted["text_removed"].clone()),
        (Value::Null, json!("retention"))
    );
    assert_eq!(submitted["may_call_back"], true, "what is not personal text stays readable");
    let assessed = scene.exported_body("tip_assessed").await;
    assert_eq!(
        (assessed["note"].clone(), assessed["note_removed"].clone()),
        (Value::Null, json!("retention"))
    );
    assert_eq!(assessed["assessment"], "relevant");
}

/// Erasure keeps a tip as evidence without its sender (see `db::tips::detach_participant`): its
/// words stay readable until the tip's retention.
#[tokio::test]
async fn no_record_keeps_that_a_recipient_was_reached_by_live_location_before_or_after_erasure_and_retention()
{
    let reached_by_live_location =
        Profile { places: Vec::new(), live_location: Some(ROTTERDAM), ..Profile::default() };
    let (scene, witness) = Scene::new(reached_by_live_location).await;
    let participant = witness.participant_id.0.to_string();
    let recipient = format!(
        "SELECT count(*) AS count FROM alert_recipients WHERE participant_id = '{participant}' AND alert_id = '{}'",
        scene.alert
    );
    assert_eq!(scene.app.database_count(&recipient).await, 1, "reached by their live location");
    let matched = [participant.as_str(), "\"live_location\""];
    assert_eq!(tables_holding(&scene.app, &matched).await, Vec::<String>::new());
    let tip = scene.tip(&witness, "Zag de scooter bij de lepelaar-brug.").await;

    assert!(scene.app.delete_as("/v1/me", &witness.access_token).await.status().is_success());
    assert_eq!(tables_holding(&scene.app, &matched).await, Vec::<String>::new());
    assert_eq!(scene.exported_body("tip").await["text"], "Zag de scooter bij de lepelaar-brug.");
    let tips = scene.app.get_json(&format!("/v1/alerts/{}/tips", scene.alert), &scene.dispatcher).await;
    assert_eq!(
        (tips[0]["id"].as_str(), tips[0]["participant_id"].clone()),
        (Some(tip.as_str()), Value::Null)
    );

    scene.close_and_retain().await;
    assert_eq!(tables_holding(&scene.app, &matched).await, Vec::<String>::new());
    assert_eq!(tables_holding(&scene.app, &["lepelaar"]).await, Vec::<String>::new());
    scene.assert_dossier_verifies().await;
}
