//! Reports 1 and 2 of issue 17: participation per municipality with its monthly trend, and where
//! participants live for the map. A known population signs up, signs off, is removed,
//! quarantined and reinstated, moves and is approved, spread over three months (the changes of
//! each phase are moved to that month, and counted as of that month, before the next phase); the
//! reports must give every figure exactly, and hide those under 5.

use chrono::{Datelike, Months, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};
use burgernet_core::config::ReportSettings;
use burgernet_core::reports::dutch_date;
use burgernet_core::reports::participation::count_participation;

const ROTTERDAM: (f64, f64) = (51.9225, 4.4792);
const SCHIEDAM: (f64, f64) = (51.9193, 4.3988);
/// So low that Schiedam's 8 of 75,718 inhabitants (0.0106%) reach it and Rotterdam's 7 of
/// 612,502 (0.0011%) do not.
const TARGET_PERCENT: f64 = 0.01;

async fn app() -> TestApp {
    let reports =
        ReportSettings { participation_target_percent: TARGET_PERCENT, ..ReportSettings::default() };
    let app = TestApp::spawn_with(TestAppOptions { reports, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

fn few() -> Value {
    json!({"fewer_than": 5})
}

fn exactly(count: i64) -> Value {
    json!({"count": count})
}

/// Signs up a participant with a home at `position`.
async fn resident(app: &TestApp, phone: &str, (latitude, longitude): (f64, f64)) -> (SignedIn, String) {
    let participant = app.sign_up(phone).await;
    let home = json!({"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude,
                      "address": {"postcode": "3011AD", "house_number": "1"}});
    let response = app.send_json_as(Method::POST, "/v1/me/places", &participant.access_token, &home).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let place: Value = response.json().await.unwrap();
    (participant, place["id"].as_str().unwrap().to_string())
}

async fn with_android_device(app: &TestApp, participant: &SignedIn, n: u32) {
    let device = json!({"platform": "android", "push_token": format!("fcm-{n}:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd"),
                        "app_version": "2.4.1", "locale": "nl-NL"});
    let response = app.send_json_as(Method::POST, "/v1/me/devices", &participant.access_token, &device).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

async fn decide(app: &TestApp, municipality: &str, participant: &SignedIn, decision: &str) {
    let token = app.relations_officer_token(municipality);
    let path =
        format!("/v1/municipalities/{municipality}/participants/{}/decisions", participant.participant_id);
    let response =
        app.send_json_as(Method::POST, &path, &token, &json!({"decision": decision, "reason": "Test"})).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The 15th of the month `back` months before this one (Dutch time).
fn mid_month(back: u32) -> NaiveDate {
    let today = dutch_date(Utc::now());
    today.with_day(15).unwrap().checked_sub_months(Months::new(back)).unwrap()
}

/// Moves the changes counted today to `day`, and counts participation as of that day.
async fn close_phase_on(app: &TestApp, day: NaiveDate) {
    app.database_exec(&format!(
        "UPDATE participation_changes SET day = '{day}'
          WHERE day = (now() AT TIME ZONE 'Europe/Amsterdam')::date"
    ))
    .await;
    let mut conn = app.database.connect().await;
    let counted = count_participation(&mut conn, day.and_hms_opt(12, 0, 0).unwrap().and_utc()).await.unwrap();
    assert_eq!(counted, Some(20), "every municipality is counted");
}

/// The population, over three months:
/// - two months ago, 7 sign up in Rotterdam (3 with the app, 4 SMS only) and 6 in Schiedam (1
///   with the app);
/// - last month, 5 more sign up in Rotterdam (one of them e-mail only); of the first seven, 2
///   sign off, 1 is removed, 1 quarantined and 1 moves to Schiedam;
/// - this month the quarantined one is reinstated, one removes their only place, and Schiedam,
///   now approving sign-ups, approves a newcomer.
async fn populate(app: &TestApp) {
    let mut rotterdam = Vec::new();
    for n in 1..=7 {
        let (participant, place) = resident(app, &format!("+3161100000{n}"), ROTTERDAM).await;
        if n <= 3 {
            with_android_device(app, &participant, n).await;
        }
        rotterdam.push((participant, place));
    }
    for n in 1..=6 {
        let (participant, _) = resident(app, &format!("+3162200000{n}"), SCHIEDAM).await;
        if n == 1 {
            with_android_device(app, &participant, 100).await;
        }
    }
    close_phase_on(app, mid_month(2)).await;

    for n in 8..=12 {
        let (participant, _) = resident(app, &format!("+316110000{n:02}"), ROTTERDAM).await;
        if n == 8 {
            let choices = json!({"email": "acht@example.nl", "channels": ["email"]});
            let response =
                app.send_json_as(Method::PATCH, "/v1/me", &participant.access_token, &choices).await;
            assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            app.database_exec("UPDATE participants SET email_verified_at = now() WHERE email IS NOT NULL")
                .await;
        }
    }
    for (leaver, _) in &rotterdam[0..2] {
        assert_eq!(app.delete_as("/v1/me", &leaver.access_token).await.status(), 200);
    }
    decide(app, "GM0599", &rotterdam[3].0, "remove").await;
    decide(app, "GM0599", &rotterdam[4].0, "quarantine").await;
    let (mover, place) = &rotterdam[5];
    let home = json!({"kind": "home", "name": "Thuis", "latitude": SCHIEDAM.0, "longitude": SCHIEDAM.1});
    let response =
        app.send_json_as(Method::PUT, &format!("/v1/me/places/{place}"), &mover.access_token, &home).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    close_phase_on(app, mid_month(1)).await;

    decide(app, "GM0599", &rotterdam[4].0, "reinstate").await;
    let (leaves_no_place, place) = &rotterdam[6];
    assert_eq!(
        app.delete_as(&format!("/v1/me/places/{place}"), &leaves_no_place.access_token).await.status(),
        204
    );
    let policy = json!({"requires_approval": true});
    let officer = app.relations_officer_token("GM0606");
    let response =
        app.send_json_as(Method::PUT, "/v1/municipalities/GM0606/approval-policy", &officer, &policy).await;
    assert_eq!(response.status(), 200);
    let (newcomer, _) = resident(app, "+31622000007", SCHIEDAM).await;
    decide(app, "GM0606", &newcomer, "approve").await;
    let mut conn = app.database.connect().await;
    count_participation(&mut conn, Utc::now()).await.unwrap();
}

fn period_query() -> String {
    let first = mid_month(2).with_day(1).unwrap();
    let last =
        mid_month(0).with_day(1).unwrap().checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap();
    format!("from={first}&to={last}")
}

/// The month's reasons as `(reason, count)`, in the contract's order.
fn reasons(month: &Value) -> Vec<(String, Value)> {
    month["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reason"].as_str().unwrap().to_string(), r["participants"].clone()))
        .collect()
}

fn expected_reasons(counts: [i64; 9]) -> Vec<(String, Value)> {
    let names = [
        "signed_up",
        "approved",
        "reinstated",
        "moved_in",
        "signed_off",
        "removed",
        "quarantined",
        "moved_out",
        "no_place_left",
    ];
    names
        .iter()
        .zip(counts)
        .map(|(name, count)| (name.to_string(), if count >= 5 { exactly(count) } else { few() }))
        .collect()
}

fn assert_share(figures: &Value, active: f64, inhabitants: f64) {
    let share = figures["share_percent"].as_f64().expect("a share");
    assert!((share - active * 100.0 / inhabitants).abs() < 1e-9, "{share}");
}

#[tokio::test]
async fn participation_counts_every_sign_up_sign_off_and_move_per_month_and_municipality() {
    let app = app().await;
    populate(&app).await;
    let admin = app.admin_token();

    // The rollup of changes holds exactly what happened (the report hides counts under 5).
    let changes = app
        .database_count(
            "SELECT count(*) FROM (VALUES
                 ('GM0599', 2, 'signed_up', 7), ('GM0606', 2, 'signed_up', 6),
                 ('GM0599', 1, 'signed_up', 5), ('GM0599', 1, 'signed_off', 2), ('GM0599', 1, 'removed', 1),
                 ('GM0599', 1, 'quarantined', 1), ('GM0599', 1, 'moved_out', 1), ('GM0606', 1, 'moved_in', 1),
                 ('GM0599', 0, 'reinstated', 1), ('GM0599', 0, 'no_place_left', 1), ('GM0606', 0, 'approved', 1))
                 AS expected (cbs, back, reason, participants)
             FULL JOIN (SELECT municipality_cbs, (date_part('year', age(date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam'),
                                                                     date_trunc('month', day))) * 12
                                                  + date_part('month', age(date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam'),
                                                                           date_trunc('month', day))))::int AS back,
                               reason, participants FROM participation_changes) AS counted
               ON counted.municipality_cbs = expected.cbs AND counted.back = expected.back
              AND counted.reason = expected.reason AND counted.participants = expected.participants
            WHERE counted.reason IS NULL OR expected.reason IS NULL",
        )
        .await;
    assert_eq!(changes, 0, "rows of participation_changes missing or unexpected");

    // Rotterdam on its own.
    let report = app
        .get_json(&format!("/v1/reports/participation?municipality=GM0599&{}", period_query()), &admin)
        .await;
    assert_eq!(report["scope"]["level"], "municipality");
    assert_eq!(report["target_percent"], TARGET_PERCENT);
    assert!(report["counted_at"].is_string());
    let rows = report["municipalities"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let rotterdam = &rows[0];
    assert_eq!(
        (rotterdam["cbs_code"].as_str(), rotterdam["name"].as_str()),
        (Some("GM0599"), Some("Rotterdam"))
    );
    assert_eq!(rotterdam["inhabitants"], 612502);
    // R3 (app), R5 reinstated and R9–R12 (SMS only), R8 (e-mail only).
    assert_eq!(
        (&rotterdam["active"], &rotterdam["app"], &rotterdam["sms_only"], &rotterdam["email_only"]),
        (&exactly(7), &few(), &exactly(5), &few())
    );
    assert_share(rotterdam, 7.0, 612502.0);
    assert_eq!(rotterdam["below_target"], true);
    assert_eq!(report["total"], {
        let mut total = rotterdam.clone();
        let total = total.as_object_mut().unwrap();
        total.remove("cbs_code");
        total.remove("name");
        Value::Object(total.clone())
    });
    let months = report["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    let month = |back: u32| mid_month(back).with_day(1).unwrap().to_string();
    assert_eq!(months[0]["month"], month(2));
    assert_eq!(
        (&months[0]["sign_ups"], &months[0]["sign_offs"], &months[0]["net"]),
        (&exactly(7), &few(), &Value::Null)
    );
    assert_eq!(reasons(&months[0]), expected_reasons([7, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(months[0]["active_at_month_end"], exactly(7));
    assert_eq!(months[1]["month"], month(1));
    assert_eq!(
        (&months[1]["sign_ups"], &months[1]["sign_offs"], &months[1]["net"]),
        (&exactly(5), &exactly(5), &json!(0))
    );
    assert_eq!(reasons(&months[1]), expected_reasons([5, 0, 0, 0, 2, 1, 1, 1, 0]));
    assert_eq!(months[1]["active_at_month_end"], exactly(7));
    assert_eq!(months[2]["month"], month(0));
    assert_eq!(
        (&months[2]["sign_ups"], &months[2]["sign_offs"], &months[2]["net"]),
        (&few(), &few(), &Value::Null)
    );
    assert_eq!(reasons(&months[2]), expected_reasons([0, 0, 1, 0, 0, 0, 0, 0, 1]));
    assert_eq!(months[2]["active_at_month_end"], exactly(7));

    // The region: every municipality by name, Schiedam above the target, the total of all.
    let report =
        app.get_json(&format!("/v1/reports/participation?region=rotterdam&{}", period_query()), &admin).await;
    let rows = report["municipalities"].as_array().unwrap();
    assert_eq!(rows.len(), 19);
    let names: Vec<&str> = rows.iter().map(|row| row["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let schiedam = rows.iter().find(|row| row["cbs_code"] == "GM0606").unwrap();
    // S1 (app), S2–S6, R6 moved in and the approved newcomer (SMS only).
    assert_eq!(
        (&schiedam["active"], &schiedam["app"], &schiedam["sms_only"], &schiedam["email_only"]),
        (&exactly(8), &few(), &exactly(7), &few())
    );
    assert_share(schiedam, 8.0, 75718.0);
    assert_eq!(schiedam["below_target"], false);
    for other in rows.iter().filter(|row| row["cbs_code"] != "GM0606" && row["cbs_code"] != "GM0599") {
        assert_eq!(
            (&other["active"], &other["share_percent"], &other["below_target"]),
            (&few(), &Value::Null, &json!(true))
        );
    }
    let inhabitants = report["scope"]["inhabitants"].as_i64().unwrap();
    let total = &report["total"];
    assert_eq!(total["inhabitants"], inhabitants);
    assert_eq!(
        (&total["active"], &total["app"], &total["sms_only"], &total["email_only"], &total["below_target"]),
        (&exactly(15), &few(), &exactly(12), &few(), &json!(true))
    );
    assert_share(total, 15.0, inhabitants as f64);
    let months = report["months"].as_array().unwrap();
    assert_eq!(
        (&months[0]["sign_ups"], &months[0]["net"], &months[0]["active_at_month_end"]),
        (&exactly(13), &Value::Null, &exactly(13))
    );
    assert_eq!(reasons(&months[0]), expected_reasons([13, 0, 0, 0, 0, 0, 0, 0, 0]));
    // The move within the region counts on both sides: 6 joined, 5 left.
    assert_eq!(
        (&months[1]["sign_ups"], &months[1]["sign_offs"], &months[1]["net"]),
        (&exactly(6), &exactly(5), &json!(1))
    );
    assert_eq!(reasons(&months[1]), expected_reasons([5, 0, 0, 1, 2, 1, 1, 1, 0]));
    assert_eq!(months[1]["active_at_month_end"], exactly(14));
    assert_eq!(reasons(&months[2]), expected_reasons([0, 1, 1, 0, 0, 0, 0, 0, 1]));
    assert_eq!(months[2]["active_at_month_end"], exactly(15));

    // The country: the same participants, against every inhabitant.
    let national = app.get_json(&format!("/v1/reports/participation?{}", period_query()), &admin).await;
    assert_eq!(national["scope"]["level"], "national");
    assert_eq!(national["municipalities"].as_array().unwrap().len(), 20);
    assert_eq!(national["total"]["active"], exactly(15));
    assert_eq!(national["total"]["inhabitants"], inhabitants + 931298);
}

#[tokio::test]
async fn the_participation_csv_has_the_same_figures() {
    let app = app().await;
    populate(&app).await;
    let officer = app.relations_officer_token("GM0599");
    let response =
        app.get_as(&format!("/v1/reports/participation?format=csv&{}", period_query()), &officer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let first = mid_month(2).with_day(1).unwrap();
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"participation_GM0599_{first}_")),
        "{disposition}"
    );
    let share = format!("{:.2}", 7.0 * 100.0 / 612502.0);
    let month = |back: u32| mid_month(back).format("%Y-%m").to_string();
    let expected = format!(
        "Deelname per gemeente\r\n\
         cbs_code,gemeente,inwoners,actieve deelnemers,aandeel %,app,alleen sms,alleen e-mail,onder doel\r\n\
         GM0599,Rotterdam,612502,7,{share},<5,5,<5,ja\r\n\
         ,Totaal,612502,7,{share},<5,5,<5,ja\r\n\
         \r\n\
         Verloop per maand\r\n\
         maand,aanmeldingen,afmeldingen,netto,actief aan einde maand,signed_up,approved,reinstated,moved_in,signed_off,removed,quarantined,moved_out,no_place_left\r\n\
         {},7,<5,,7,7,<5,<5,<5,<5,<5,<5,<5,<5\r\n\
         {},5,5,0,7,5,<5,<5,<5,<5,<5,<5,<5,<5\r\n\
         {},<5,<5,,7,<5,<5,<5,<5,<5,<5,<5,<5,<5\r\n",
        month(2),
        month(1),
        month(0)
    );
    assert_eq!(response.text().await.unwrap(), expected);
}

#[tokio::test]
async fn before_the_first_count_the_report_says_nothing_was_counted() {
    let app = app().await;
    let report = app.get_json("/v1/reports/participation?municipality=GM0606", &app.admin_token()).await;
    assert_eq!(report["counted_at"], Value::Null);
    assert_eq!(report["municipalities"][0]["active"], few());
    assert_eq!(report["months"].as_array().unwrap().len(), 12);
    assert!(report["months"].as_array().unwrap().iter().all(|m| m["active_at_month_end"].is_null()));
}

/// Seven homes at one spot in Rotterdam, two 740 m east of it (another square), one in Schiedam;
/// all in postcode area 3011.
async fn distribution_population(app: &TestApp) {
    for (n, (latitude, longitude)) in
        [(51.9225, 4.4792); 7].into_iter().chain([(51.9225, 4.4900); 2]).chain([SCHIEDAM]).enumerate()
    {
        resident(app, &format!("+316330000{n:02}"), (latitude, longitude)).await;
    }
}

#[tokio::test]
async fn distribution_shows_squares_and_postcode_areas_of_5_or_more_and_the_thinnest_squares() {
    let app = app().await;
    distribution_population(&app).await;
    let officer = app.relations_officer_token("GM0599");
    // The figures are those of the workers' count: before it there are none.
    let before = app.get_json("/v1/reports/distribution", &officer).await;
    assert_eq!(
        (&before["as_of"], &before["cells"], &before["postcode_areas"]),
        (&Value::Null, &json!([]), &json!([]))
    );
    let counted_at = Utc::now();
    count_participation(&mut app.database.connect().await, counted_at).await.unwrap();
    let report = app.get_json("/v1/reports/distribution", &officer).await;
    let as_of: chrono::DateTime<Utc> = report["as_of"].as_str().unwrap().parse().unwrap();
    assert!((as_of - counted_at).num_milliseconds().abs() < 1, "{as_of} {counted_at}");
    assert_eq!(report["scope"]["cbs_code"], "GM0599");
    assert_eq!(report["cell_metres"], 500);
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "the square of two is left out: {cells:?}");
    assert_eq!(cells[0]["participants"], exactly(7));
    let id = cells[0]["id"].as_str().unwrap();
    assert_eq!(id, "E0925N4375");
    let ring = cells[0]["polygon"]["coordinates"][0].as_array().unwrap();
    assert_eq!(cells[0]["polygon"]["type"], "Polygon");
    assert_eq!(ring.len(), 5, "a closed square");
    let (lons, lats): (Vec<f64>, Vec<f64>) =
        ring.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).unzip();
    let inside = |values: &[f64], v: f64| {
        values.iter().cloned().fold(f64::MAX, f64::min) < v
            && v < values.iter().cloned().fold(f64::MIN, f64::max)
    };
    assert!(inside(&lons, 4.4792) && inside(&lats, 51.9225), "the homes lie in the square: {ring:?}");
    assert_eq!(report["not_shown_in_cells"], few());
    assert_eq!(report["postcode_areas"], json!([{"postcode_area": "3011", "participants": exactly(9)}]));
    assert_eq!(report["not_shown_in_postcode_areas"], few());
    let thin = report["thin_coverage"].as_array().unwrap();
    assert_eq!(thin.len(), 1);
    assert_eq!(thin[0]["cbs_code"], "GM0599");
    let thinnest = thin[0]["cells"].as_array().unwrap();
    assert_eq!(thinnest.len(), 10);
    assert!(thinnest.iter().all(|cell| cell["participants"] == few() && cell["id"] != id));

    // A region: its municipalities' thinnest squares each, by CBS code.
    let manager = app.region_manager_token("rotterdam");
    let report = app.get_json("/v1/reports/distribution?region=rotterdam", &manager).await;
    let thin = report["thin_coverage"].as_array().unwrap();
    assert_eq!(thin.len(), 19);
    assert_eq!(report["cells"].as_array().unwrap().len(), 1);
    assert_eq!(report["postcode_areas"][0]["participants"], exactly(10));

    let csv = app.get_as("/v1/reports/distribution?format=csv", &officer).await.text().await.unwrap();
    assert!(
        csv.starts_with(&format!(
            "Deelnemers per vierkant van 500 m\r\nvierkant,deelnemers\r\n{id},7\r\nin vierkanten onder 5,<5\r\n\r\n\
             Deelnemers per postcodegebied\r\npostcode,deelnemers\r\n3011,9\r\nin gebieden onder 5,<5\r\n\r\n\
             Dunst bezette vierkanten\r\ncbs_code,vierkant,deelnemers\r\nGM0599,"
        )),
        "{csv}"
    );
    assert_eq!(csv.lines().filter(|line| line.starts_with("GM0599,E")).count(), 10);

    let body = assert_problem(
        app.get_as("/v1/reports/distribution", &app.admin_token()).await,
        400,
        "invalid_scope",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("name a region or municipality"), "{body}");
}

#[tokio::test]
async fn who_may_read_the_participation_and_distribution_reports() {
    let app = app().await;
    let participant = app.sign_up("+31644000001").await;
    for report in ["participation", "distribution"] {
        let path = |query: &str| format!("/v1/reports/{report}?{query}");
        let status = |token: String, query: &'static str| {
            let app = &app;
            let path = path(query);
            async move { app.get_as(&path, &token).await.status().as_u16() }
        };
        assert_eq!(
            status(app.relations_officer_token("GM0599"), "municipality=GM0599").await,
            200,
            "{report}"
        );
        assert_eq!(status(app.relations_officer_token("GM0599"), "").await, 200, "{report}");
        assert_problem(
            app.get_as(&path("municipality=GM0599"), &app.relations_officer_token("GM0606")).await,
            403,
            "out_of_scope",
        )
        .await;
        assert_problem(
            app.get_as(&path("region=rotterdam"), &app.relations_officer_token("GM0599")).await,
            403,
            "out_of_scope",
        )
        .await;
        assert_eq!(status(app.dispatcher_token("rotterdam"), "municipality=GM0599").await, 200, "{report}");
        assert_eq!(status(app.dispatcher_token("rotterdam"), "region=rotterdam").await, 200, "{report}");
        assert_problem(
            app.get_as(&path("municipality=GM0363"), &app.dispatcher_token("rotterdam")).await,
            403,
            "out_of_scope",
        )
        .await;
        assert_eq!(status(app.region_manager_token("rotterdam"), "region=rotterdam").await, 200, "{report}");
        assert_eq!(
            status(app.region_manager_token("rotterdam"), "municipality=GM0606").await,
            200,
            "{report}"
        );
        assert_problem(
            app.get_as(&path("region=rotterdam"), &app.region_manager_token("amsterdam")).await,
            403,
            "out_of_scope",
        )
        .await;
        assert_eq!(status(app.admin_token(), "region=amsterdam").await, 200, "{report}");
        assert_eq!(status(app.admin_token(), "municipality=GM0599").await, 200, "{report}");
        assert_problem(app.get_as(&path("municipality=GM9999"), &app.admin_token()).await, 404, "not_found")
            .await;
        assert_problem(
            app.get_as(&path("municipality=rotterdam"), &app.admin_token()).await,
            400,
            "invalid_scope",
        )
        .await;
        assert_problem(
            app.get_as(&path("from=2026-05-01&to=2026-04-01"), &app.admin_token()).await,
            400,
            "invalid_period",
        )
        .await;
        assert_problem(app.get_as(&path("format=pdf"), &app.admin_token()).await, 400, "invalid_query").await;
        assert_problem(app.get_as(&path(""), &participant.access_token).await, 403, "staff_only").await;
        assert_problem(app.get(&path("")).await, 401, "unauthenticated").await;
    }
    assert_eq!(
        app.get_as("/v1/reports/participation", &app.admin_token()).await.status(),
        200,
        "the country"
    );
}
