//! The dossier's tamper-evidence against our own credentials: the application's database role
//! can only read and append to it, and signed checkpoints in the object store show a dossier
//! that someone with more power rewrote and re-chained, or cut short.

use burgernet_core::alerts::dossier::checkpoints::{
    ChainHead, Checkpoint, CheckpointKey, CheckpointSettings,
};
use burgernet_core::alerts::dossier::{self, checkpoints};
use burgernet_core::ids::AlertId;
use burgernet_core::media::store::{MediaStore, PutOnce};
use diesel_async::RunQueryDsl;

use crate::helpers::TestApp;
use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
use crate::helpers::app::dossier_checkpoint_settings;
use crate::helpers::s3::FakeS3;

/// An app (without workers: the tests write checkpoints themselves) with a draft alert whose
/// dossier has a few entries; returns the alert's id and a dispatcher's token.
async fn app_with_alert() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let id = alert["id"].as_str().unwrap().to_string();
    grow(&app, &dispatcher, &id, 2).await;
    (app, id, dispatcher)
}

/// Adds `entries` entries to the dossier (each export is recorded).
async fn grow(app: &TestApp, dispatcher: &str, id: &str, entries: usize) {
    for _ in 0..entries {
        app.get_json(&format!("/v1/alerts/{id}/dossier"), dispatcher).await;
    }
}

async fn write_checkpoint(app: &TestApp, store: &MediaStore) -> Option<i64> {
    let mut conn = app.database.connect().await;
    checkpoints::write_checkpoint(&mut conn, store, &dossier_checkpoint_settings()).await.unwrap()
}

async fn last_seq(app: &TestApp, id: &str) -> i32 {
    let mut conn = app.database.connect().await;
    burgernet_core::db::dossier::last_seq(&mut conn, AlertId(id.parse().unwrap())).await.unwrap()
}

/// What the dossier's owner (not the application) can do: switch the append-only trigger off
/// and run `statement`.
async fn as_owner_without_triggers(app: &TestApp, statement: &str) {
    let mut conn = app.database.connect_as_owner().await;
    for sql in [
        "ALTER TABLE alert_dossier DISABLE TRIGGER alert_dossier_append_only",
        statement,
        "ALTER TABLE alert_dossier ENABLE TRIGGER alert_dossier_append_only",
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
    }
}

/// Recomputes every entry's `prev_hash` and `hash` with the database's own function, as one who
/// rewrote an entry would, so the chain holds again.
fn rechain(id: &str) -> String {
    format!(
        "DO $$
         DECLARE entry record; previous bytea;
         BEGIN
           FOR entry IN SELECT seq FROM alert_dossier WHERE alert_id = '{id}' ORDER BY seq LOOP
             UPDATE alert_dossier SET prev_hash = previous,
                    hash = sha256(convert_to(alert_dossier_canonical_text(
                        previous, alert_id, seq, kind, actor, actor_name, recorded_at, body), 'UTF8'))
              WHERE alert_id = '{id}' AND seq = entry.seq
             RETURNING hash INTO previous;
           END LOOP;
         END $$"
    )
}

#[tokio::test]
async fn the_application_role_can_append_to_the_dossier_but_never_change_it() {
    let (app, id, _) = app_with_alert().await;
    assert!(last_seq(&app, &id).await >= 3, "the application appended");
    let mut conn = app.database.connect().await;
    for statement in [
        format!("UPDATE alert_dossier SET body = '{{}}' WHERE alert_id = '{id}'"),
        format!("DELETE FROM alert_dossier WHERE alert_id = '{id}'"),
        "TRUNCATE alert_dossier".into(),
        "ALTER TABLE alert_dossier DISABLE TRIGGER alert_dossier_append_only".into(),
        "ALTER TABLE alert_dossier DISABLE TRIGGER ALL".into(),
        "DROP TRIGGER alert_dossier_append_only ON alert_dossier".into(),
        "SET session_replication_role = replica".into(),
        "UPDATE reach_previews SET participants = 0".into(),
    ] {
        let error = diesel::sql_query(&statement).execute(&mut conn).await.unwrap_err().to_string();
        assert!(
            error.contains("permission denied") || error.contains("must be owner"),
            "{statement}: {error}"
        );
    }
    assert!(!burgernet_core::db::dossier_checkpoints::role_can_rewrite_dossier(&mut conn).await.unwrap());
    let mut owner = app.database.connect_as_owner().await;
    assert!(burgernet_core::db::dossier_checkpoints::role_can_rewrite_dossier(&mut owner).await.unwrap());
}

#[tokio::test]
async fn a_dossier_rewritten_and_rechained_by_its_owner_passes_its_chain_but_not_its_checkpoints() {
    let (app, id, dispatcher) = app_with_alert().await;
    let alert = AlertId(id.parse().unwrap());
    assert_eq!(write_checkpoint(&app, &app.media_store).await, Some(1));
    let first_anchor = last_seq(&app, &id).await;
    assert_eq!(write_checkpoint(&app, &app.media_store).await, None, "nothing grew since");
    grow(&app, &dispatcher, &id, 2).await;
    assert_eq!(write_checkpoint(&app, &app.media_store).await, Some(2));
    let second_anchor = last_seq(&app, &id).await;
    let (intact, stdout, stderr) = app.verify_dossier(&id);
    assert!(intact, "{stdout}{stderr}");
    assert!(stdout.contains("It matches the 2 checkpoints of it"), "{stdout}");

    // The owner cuts the last entry off: the chain still holds, checkpoint 2 knows better.
    as_owner_without_triggers(
        &app,
        &format!("DELETE FROM alert_dossier WHERE alert_id = '{id}' AND seq = {second_anchor}"),
    )
    .await;
    // ... and rewrites the first entry, then recomputes every hash after it.
    as_owner_without_triggers(
        &app,
        &format!("UPDATE alert_dossier SET body = body || '{{\"forged\": true}}' WHERE alert_id = '{id}' AND seq = 1"),
    )
    .await;
    as_owner_without_triggers(&app, &rechain(&id)).await;

    let mut conn = app.database.connect().await;
    let chain = dossier::verify(&mut conn, alert).await.unwrap();
    assert_eq!(chain.first_broken, None, "the re-chained dossier passes the chain's own check");
    assert_eq!(chain.entries, second_anchor as usize - 1);

    let (intact, _, stderr) = app.verify_dossier(&id);
    assert!(!intact, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "checkpoint dossier-checkpoints/000000000001.json disagrees: it anchors entry {first_anchor} with hash"
        )) && stderr.contains("the dossier was rewritten"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "checkpoint dossier-checkpoints/000000000002.json disagrees: it anchors entry {second_anchor}, which \
             is missing from the dossier"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("does not match 2 of its checkpoints"), "{stderr}");
}

#[tokio::test]
async fn a_forged_checkpoint_is_reported() {
    let (app, id, _) = app_with_alert().await;
    assert_eq!(write_checkpoint(&app, &app.media_store).await, Some(1));
    // Checkpoint 2, right in every field but signed with another key.
    let mut conn = app.database.connect().await;
    let alert = AlertId(id.parse().unwrap());
    let seq = last_seq(&app, &id).await;
    let hash =
        burgernet_core::db::dossier_checkpoints::entry_hash(&mut conn, alert, seq).await.unwrap().unwrap();
    let forged = Checkpoint {
        number: 2,
        previous: None,
        written_at: chrono::Utc::now(),
        heads: vec![ChainHead { alert_id: alert, seq, hash: burgernet_core::hex(&hash) }],
    };
    let other_key = CheckpointKey::parse("not-the-workers-key-0123456789abcdef0123").unwrap();
    let written = app
        .media_store
        .put_once(&Checkpoint::object_key(2), forged.seal(&other_key), "application/json", None)
        .await
        .unwrap();
    assert_eq!(written, PutOnce::Written);

    let (intact, _, stderr) = app.verify_dossier(&id);
    assert!(!intact);
    assert!(
        stderr.contains(
            "checkpoint dossier-checkpoints/000000000002.json disagrees: its signature does not match: it was \
             forged or altered"
        ),
        "{stderr}"
    );
}

/// Both stores: a checkpoint is written once; a second write under its key is refused and leaves
/// the first as it was, and the writer does not take someone else's object for its own.
#[tokio::test]
async fn a_checkpoint_is_never_overwritten_on_either_store() {
    let (app, id, dispatcher) = app_with_alert().await;
    let s3 = FakeS3::start().await;
    for (backend, store) in [("filesystem", app.media_store.clone()), ("s3", s3.media_store())] {
        let key =
            burgernet_core::media::store::ObjectKey::new(format!("dossier-checkpoints/test-{backend}.json"))
                .unwrap();
        let first = store.put_once(&key, b"first".to_vec(), "application/json", None).await.unwrap();
        assert_eq!(first, PutOnce::Written, "{backend}");
        let second = store.put_once(&key, b"second".to_vec(), "application/json", None).await.unwrap();
        assert_eq!(second, PutOnce::Exists, "{backend}");
        assert_eq!(store.read_small(&key, 100).await.unwrap(), b"first", "{backend}");
        assert!(
            store
                .list(&burgernet_core::media::store::ObjectKey::new("dossier-checkpoints").unwrap())
                .await
                .unwrap()
                .contains(&key),
            "{backend}"
        );
        store.delete(&key).await.unwrap();
    }

    // The next checkpoint's key is taken by an object the key did not sign: the writer refuses it
    // and leaves it there, round after round, and writes nothing else.
    let s3_store = s3.media_store();
    let squatter = Checkpoint::object_key(1);
    s3_store.put_once(&squatter, b"{}".to_vec(), "application/json", None).await.unwrap();
    let mut conn = app.database.connect().await;
    for _ in 0..2 {
        let error = checkpoints::write_checkpoint(&mut conn, &s3_store, &dossier_checkpoint_settings())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("is not a checkpoint this key signed"), "{error}");
    }
    assert_eq!(s3_store.read_small(&squatter, 100).await.unwrap(), b"{}");
    s3_store.delete(&squatter).await.unwrap();

    // On S3 with a retention, checkpoints go under Object Lock in compliance mode; the dossier
    // checks out against them.
    let settings = CheckpointSettings {
        retention: Some(std::time::Duration::from_secs(3650 * 86_400)),
        ..dossier_checkpoint_settings()
    };
    assert_eq!(checkpoints::write_checkpoint(&mut conn, &s3_store, &settings).await.unwrap(), Some(1));
    assert_eq!(s3.object_lock(Checkpoint::object_key(1).as_str()).as_deref(), Some("COMPLIANCE"));
    grow(&app, &dispatcher, &id, 1).await;
    assert_eq!(checkpoints::write_checkpoint(&mut conn, &s3_store, &settings).await.unwrap(), Some(2));
    let alert = AlertId(id.parse().unwrap());
    let found = checkpoints::verify(&mut conn, &s3_store, &settings.key, alert).await.unwrap();
    assert_eq!((found.checkpoints, found.anchored_heads, found.problems), (2, 2, vec![]));

    // The checkpoint row of a round whose transaction failed after the write: the next round
    // adopts the object instead of stopping.
    diesel::sql_query("DELETE FROM dossier_anchors WHERE checkpoint = 2").execute(&mut conn).await.unwrap();
    diesel::sql_query("DELETE FROM dossier_checkpoints WHERE number = 2").execute(&mut conn).await.unwrap();
    assert_eq!(checkpoints::write_checkpoint(&mut conn, &s3_store, &settings).await.unwrap(), Some(2));
    assert_eq!(checkpoints::write_checkpoint(&mut conn, &s3_store, &settings).await.unwrap(), None);
}
