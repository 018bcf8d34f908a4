//! The quarterly management report (issue 17, point 6): one document per region or municipality
//! and quarter that holds the participation, distribution, alert results, delivery and costs
//! reports with exactly the figures each of them shows on its own, as JSON, as one CSV file and
//! as a page to print; and who may read it.

use std::time::Duration;

use burgernet_core::reports::participation::count_participation;
use burgernet_core::reports::{ReportPeriod, dutch_date, rollup};
use chrono::{Datelike, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

/// This quarter in Dutch time, as written in the query (`2026-Q4`), and its period.
fn this_quarter() -> (String, ReportPeriod) {
    let today = dutch_date(Utc::now());
    let quarter = format!("{}-Q{}", today.year(), today.month0() / 3 + 1);
    let period = ReportPeriod::quarter(&quarter).unwrap();
    (quarter, period)
}

/// Six participants at home in Rotterdam, five with the app; one alert over them sent and closed
/// as a hard success; the rollups up to date.
async fn scene() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    for number in 0..6 {
        let devices = if number < 5 { vec![android_device(&format!("m{number}"))] } else { Vec::new() };
        let profile = Profile {
            channels: vec!["push", "sms"],
            places: vec![(ROTTERDAM.0 + f64::from(number) * 0.001, ROTTERDAM.1)],
            devices,
            ..Profile::default()
        };
        app.participant(&format!("+316200000{number:02}"), profile).await;
    }
    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 3_000.0))).await;
    for _ in 0..300 {
        let handed_over = app
            .database_count(&format!(
                "SELECT count(*) FROM deliveries WHERE alert_id = '{alert}' AND state IN ('sent', 'delivered')"
            ))
            .await;
        if handed_over == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Gevonden. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/close"), &dispatcher, closing).await;
    let mut conn = app.database.connect().await;
    count_participation(&mut conn, Utc::now()).await.unwrap();
    loop {
        let round = rollup::roll_up_alerts(&mut conn, Utc::now()).await.unwrap();
        if !round.busy {
            assert_eq!((round.rolled_up, round.failed), (1, 0));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get_as(path, token).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_management_report_holds_each_report_with_the_same_figures_in_json_csv_and_print() {
    let app = scene().await;
    let (quarter, period) = this_quarter();
    let officer = app.relations_officer_token("GM0599");
    let report = json_of(&app, &format!("/v1/reports/management?quarter={quarter}"), &officer).await;

    // The officer's own municipality, this quarter.
    assert_eq!(report["scope"]["level"], "municipality");
    assert_eq!(report["scope"]["cbs_code"], "GM0599");
    assert_eq!(report["quarter"], quarter.as_str());
    assert_eq!(report["period"], json!({"first": period.first, "last": period.last}));

    // Each part is the report of the same scope and period on its own.
    let range = format!("municipality=GM0599&from={}&to={}", period.first, period.last);
    for (part, path) in [
        ("participation", format!("/v1/reports/participation?{range}")),
        ("alert_results", format!("/v1/reports/alert-results?{range}")),
        ("delivery", format!("/v1/reports/delivery?{range}")),
        ("costs", format!("/v1/reports/costs?{range}")),
        ("distribution", "/v1/reports/distribution?municipality=GM0599".to_string()),
    ] {
        let alone = json_of(&app, &path, &officer).await;
        let part_of_report = report[part].clone();
        if part == "distribution" {
            // Both are the state at the workers' last count.
            assert!(part_of_report["as_of"].is_string(), "{part_of_report}");
        }
        assert_eq!(part_of_report, alone, "{part}");
    }
    // And the figures are the scene's: six active participants, one alert, a hard success.
    let total = &report["participation"]["total"];
    assert_eq!(total["active"], json!({"count": 6}), "{total}");
    let results = &report["alert_results"]["total"];
    assert_eq!(results["alerts"], 1, "{results}");
    assert_eq!(results["outcomes"]["hard_success"], 1, "{results}");

    // One CSV file with every table, each titled by its section.
    let response =
        app.get_as(&format!("/v1/reports/management?quarter={quarter}&format=csv"), &officer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"managementrapportage_GM0599_{quarter}.csv\"").as_str()
    );
    let csv = response.text().await.unwrap();
    for heading in ["1. Deelname", "2. Spreiding", "3. Resultaten", "4. Bezorging", "5. Kosten"] {
        assert!(csv.lines().any(|line| line.starts_with(heading)), "{heading} in\n{csv}");
    }
    let participation_csv = app
        .get_as(&format!("/v1/reports/participation?{range}&format=csv"), &officer)
        .await
        .text()
        .await
        .unwrap();
    let first_table: Vec<&str> =
        participation_csv.split("\r\n\r\n").next().unwrap().lines().skip(1).collect();
    assert!(csv.contains(&first_table.join("\r\n")), "the participation table as on its own:\n{csv}");

    // A page to print: every section, tables, nothing that runs or loads.
    let response =
        app.get_as(&format!("/v1/reports/management?quarter={quarter}&format=html"), &officer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("<h1>Managementrapportage Burgernet {quarter}</h1>")), "{page}");
    assert!(page.contains("Gemeente Rotterdam (GM0599)"));
    for heading in ["1. Deelname", "2. Spreiding van deelnemers", "3. Resultaten van Burgernetacties"] {
        assert!(page.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    assert!(page.matches("<table>").count() >= 5);
    assert!(!page.contains("<script") && !page.contains("src="), "nothing runs or loads");
}

#[tokio::test]
async fn a_management_report_needs_a_quarter_and_a_region_or_municipality() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let admin = app.admin_token();
    let (quarter, _) = this_quarter();
    for (query, code) in [
        ("region=rotterdam".to_string(), "invalid_period"),
        ("region=rotterdam&quarter=2026-Q5".to_string(), "invalid_period"),
        ("region=rotterdam&quarter=2026-07".to_string(), "invalid_period"),
        (format!("quarter={quarter}"), "invalid_scope"),
        (format!("quarter={quarter}&region=rotterdam&municipality=GM0599"), "invalid_scope"),
        (format!("quarter={quarter}&municipality=0599"), "invalid_scope"),
        (format!("quarter={quarter}&region=rotterdam&format=pdf"), "invalid_query"),
        (format!("quarter={quarter}&region=rotterdam&from=2026-01-01"), "invalid_query"),
    ] {
        assert_problem(app.get_as(&format!("/v1/reports/management?{query}"), &admin).await, 400, code).await;
    }
    let unknown =
        app.get_as(&format!("/v1/reports/management?quarter={quarter}&municipality=GM9999"), &admin).await;
    assert_problem(unknown, 404, "not_found").await;
}

#[tokio::test]
async fn only_staff_of_the_region_or_municipality_read_its_management_report() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let (quarter, _) = this_quarter();
    let of_municipality = format!("/v1/reports/management?quarter={quarter}&municipality=GM0599");
    let of_region = format!("/v1/reports/management?quarter={quarter}&region=rotterdam");
    let participant = app.sign_up("+31620000099").await.access_token;
    for (who, token, municipality, region) in [
        ("officer of GM0599", app.relations_officer_token("GM0599"), 200, 403),
        ("officer of GM0606", app.relations_officer_token("GM0606"), 403, 403),
        ("dispatcher of rotterdam", app.dispatcher_token("rotterdam"), 200, 200),
        ("dispatcher of amsterdam", app.dispatcher_token("amsterdam"), 403, 403),
        ("manager of rotterdam", app.region_manager_token("rotterdam"), 200, 200),
        ("manager of amsterdam", app.region_manager_token("amsterdam"), 403, 403),
        ("administrator", app.admin_token(), 200, 200),
    ] {
        for (path, expected) in [(&of_municipality, municipality), (&of_region, region)] {
            let response = app.get_as(path, &token).await;
            let status = response.status().as_u16();
            if expected == 200 {
                assert_eq!(status, 200, "{who}: {path}");
                let report: Value = response.json().await.unwrap();
                assert!(report["participation"]["municipalities"].is_array(), "{who}: {report}");
            } else {
                assert_problem(response, 403, "out_of_scope").await;
            }
        }
    }
    // Without a scope: the caller's own.
    let own = json_of(
        &app,
        &format!("/v1/reports/management?quarter={quarter}"),
        &app.region_manager_token("rotterdam"),
    )
    .await;
    assert_eq!(
        (own["scope"]["level"].as_str(), own["scope"]["code"].as_str()),
        (Some("region"), Some("rotterdam"))
    );
    assert_problem(app.get_as(&of_region, &participant).await, 403, "staff_only").await;
    assert_problem(app.get(&of_region).await, 401, "unauthenticated").await;
}
