//! `burgernet bench fanout`: the real binary, its own fakes process and the API and workers, over a
//! fresh database of the test cluster with a small synthetic population. `burgernet bench media`:
//! the real binary with two photos. `burgernet bench location`: the real binary and the API it
//! starts (`burgernet serve`), over a fresh database, with a few hundred updates. `burgernet bench
//! reports`: the real binary over a fresh database with a small population and a seeded year.

use std::process::Command;

use crate::helpers::TestDatabase;

/// Checks that the benchmark succeeded and printed exactly one line, starting with its name;
/// returns the line and its figures by name, in the order printed.
fn one_line_of_figures(output: &std::process::Output, name: &str) -> (String, Vec<(String, String)>) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the benchmark failed:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout:\n{stdout}");
    let line = lines[0].to_string();
    assert!(line.starts_with(&format!("{name} ")), "{line}");
    let figures = line
        .split(' ')
        .skip(1)
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    (line, figures)
}

/// The figure `wanted` of a benchmark's line, as a number.
fn figure(figures: &[(String, String)], wanted: &str, line: &str) -> f64 {
    let (_, value) = figures.iter().find(|(name, _)| name == wanted).unwrap();
    value.parse().unwrap_or_else(|_| panic!("{wanted}={value} is not a number: {line}"))
}

/// Runs `burgernet bench ARGS` against a fresh database of the test cluster, with a benchmark
/// directory of its own that is removed afterwards.
async fn bench_on_a_fresh_database(args: &'static [&'static str]) -> std::process::Output {
    let database = TestDatabase::new().await;
    let dir = std::env::temp_dir().join(format!("burgernet-bench-{}", uuid::Uuid::new_v4()));
    let bench_dir = dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_burgernet"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The benchmark seeds and tunes the database (VACUUM, pg_prewarm): as its owner.
            .env("DATABASE_URL", database.owner_url.expose())
            .env("BURGERNET_BENCH_DIR", &dir)
            .arg("bench")
            .args(args)
            .output()
            .expect("run burgernet bench")
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&bench_dir);
    output
}

#[tokio::test]
async fn fanout_prints_one_line_of_figures_with_every_recipient_reached_once() {
    let output = bench_on_a_fresh_database(&["fanout", "--participants", "20000"]).await;
    let (line, figures) = one_line_of_figures(&output, "fanout");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "participants",
            "recipients",
            "select_ms",
            "first_push_ms",
            "last_push_ms",
            "all_sent_ms",
            "pushes_per_s",
            "sms",
            "sms_per_s",
            "sms_capped",
            "missing",
            "duplicates",
            "rss_mb"
        ],
        "{line}"
    );
    for (name, value) in &figures {
        assert!(value.parse::<u64>().is_ok(), "{name}={value} is not a whole number: {line}");
    }
    let value = |wanted: &str| -> u64 {
        figures.iter().find(|(name, _)| name == wanted).map(|(_, value)| value.parse().unwrap()).unwrap()
    };
    assert_eq!(value("participants"), 20_000, "{line}");
    // 2% of the participants, give or take the bisection of the area's radius.
    assert!((360..=440).contains(&value("recipients")), "{line}");
    assert!(value("sms") > 0, "the recipients without the app get an SMS: {line}");
    assert!(value("last_push_ms") >= value("first_push_ms"), "{line}");
    assert!(value("all_sent_ms") >= value("last_push_ms"), "{line}");
    assert!(value("pushes_per_s") > 0 && value("sms_per_s") > 0, "{line}");
    // Everyone's SMS is waited for, except in a national run.
    assert_eq!(value("sms_capped"), 0, "{line}");
    assert_eq!(value("missing"), 0, "{line}");
    assert_eq!(value("duplicates"), 0, "{line}");
}

/// `bench fanout --national` alerts the whole synthetic country, the benchmark's region: that area
/// lies within the region even without any margin across its border.
#[tokio::test]
async fn the_national_alert_of_the_benchmark_lies_within_its_region() {
    use burgernet_core::alerts::area::{AreaLimits, validate};
    use burgernet_core::reference_data::find_region;
    use burgernet_core::vocabulary::area::{AreaShape, DrawnArea};
    use burgernet_core::vocabulary::regions::RegionCode;
    use burgernet_local::db::synthetic;

    let database = TestDatabase::new().await;
    // Seeding tunes the tables (VACUUM ANALYZE): as their owner, as the benchmark runs.
    let mut conn = database.connect_as_owner().await;
    synthetic::seed(&mut conn, 100).await.unwrap();
    let code = RegionCode::parse(synthetic::BENCH_REGION_CODE).unwrap();
    let region = find_region(&mut conn, &code).await.unwrap().expect("the bench region").id;
    let ring = synthetic::national_outline()
        .iter()
        .map(|(longitude, latitude)| vec![*longitude, *latitude])
        .collect();
    let national = DrawnArea::parse(AreaShape::Polygon { coordinates: vec![ring] }).unwrap();
    for region_margin_meters in [0.0, AreaLimits::default().region_margin_meters] {
        // The benchmark allows areas of 100,000 km² (BURGERNET_ALERT_MAX_AREA_KM2).
        let limits = AreaLimits { max_surface_km2: 100_000.0, region_margin_meters };
        let area =
            validate(&mut conn, &national, region, limits).await.expect("the national area is allowed");
        assert!(area.surface_km2 > 80_000.0, "{}", area.surface_km2);
    }
}

#[tokio::test]
async fn media_prints_one_line_of_figures_for_the_photos_processed() {
    let output = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_burgernet"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(["bench", "media", "--photos", "2"])
            .output()
            .expect("run burgernet bench media")
    })
    .await
    .unwrap();
    let (line, figures) = one_line_of_figures(&output, "media");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["photos", "per_s", "p95_ms", "rss_mb"], "{line}");
    let value = |wanted: &str| figure(&figures, wanted, &line);
    assert_eq!(value("photos"), 2.0, "{line}");
    assert!(value("per_s") > 0.0, "{line}");
    assert!(value("p95_ms") > 0.0, "{line}");
    // At least one decoded 12-megapixel photo (36 MB) was in memory.
    assert!(value("rss_mb") >= 36.0, "{line}");
}

#[tokio::test]
async fn location_prints_one_line_of_figures_for_the_updates_asked() {
    let output = bench_on_a_fresh_database(&["location", "--requests", "300"]).await;
    let (line, figures) = one_line_of_figures(&output, "location");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, LOCATION_FIGURES, "{line}");
    let value = |wanted: &str| figure(&figures, wanted, &line);
    assert_eq!(value("participants"), 64.0, "the default: {line}");
    assert_eq!((value("population"), value("active_alerts"), value("entrants")), (0.0, 0.0, 0.0), "{line}");
    assert_eq!(value("requests"), 300.0, "{line}");
    assert!(value("per_s") > 0.0, "{line}");
    assert!(value("p50_ms") > 0.0, "{line}");
    assert!(value("p50_ms") <= value("p99_ms"), "{line}");
}

const LOCATION_FIGURES: [&str; 9] = [
    "participants",
    "population",
    "active_alerts",
    "inside_percent",
    "requests",
    "per_s",
    "p50_ms",
    "p99_ms",
    "entrants",
];

/// On a synthetic population, with alerts recruiting: half the updates land in their areas, and
/// the updates note those who enter them (no worker runs here to recruit them).
#[tokio::test]
async fn location_on_a_population_with_active_alerts_notes_who_enters_their_areas() {
    let output = bench_on_a_fresh_database(&[
        "location",
        "--population",
        "2000",
        "--active-alerts",
        "3",
        "--inside-percent",
        "50",
        "--participants",
        "20",
        "--connections",
        "4",
        "--requests",
        "400",
    ])
    .await;
    let (line, figures) = one_line_of_figures(&output, "location");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, LOCATION_FIGURES, "{line}");
    let value = |wanted: &str| figure(&figures, wanted, &line);
    assert_eq!(
        (value("population"), value("active_alerts"), value("inside_percent")),
        (2000.0, 3.0, 50.0),
        "{line}"
    );
    assert_eq!(value("requests"), 400.0, "{line}");
    // 20 participants each send 20 updates (and up to 20 more to warm up), half of them inside:
    // every one of them enters some area.
    assert!(value("entrants") >= 20.0, "{line}");
    assert!(value("p50_ms") <= value("p99_ms"), "{line}");
}

#[tokio::test]
async fn reports_prints_one_line_of_figures_over_a_seeded_year() {
    let output = bench_on_a_fresh_database(&["reports", "--participants", "2000"]).await;
    let (line, figures) = one_line_of_figures(&output, "reports");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["participants", "alerts", "deliveries", "participation_ms", "results_ms", "costs_ms"],
        "{line}"
    );
    let value = |wanted: &str| figure(&figures, wanted, &line);
    assert_eq!(value("participants"), 2000.0, "{line}");
    assert_eq!(value("alerts"), 8400.0, "700 a month: {line}");
    // 21 recipients each (one in a hundred, plus one), an alert and a closing message to each.
    assert_eq!(value("deliveries"), 8400.0 * 21.0 * 2.0, "{line}");
    for report in ["participation_ms", "results_ms", "costs_ms"] {
        assert!(value(report) > 0.0, "{line}");
    }
}
