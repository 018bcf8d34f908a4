//! The public side of a real alert: its page (`/public/alerts/{public_id}`), the share text the app
//! offers, and the region's Atom feed of closed alerts with the closing reports that communication
//! staff write. The page shows what the control room wrote for everyone (texts, category, the
//! municipalities, updates to everyone, the outcome, the closing message and report) and nothing
//! else: these tests put tips with photos, answers, a signalement, an incident number, an update
//! for some recipients only and staff names into an alert, and look for every one of them, and
//! for any count, on the page, in the share text and in the feed. Exercises, tests and drafts have
//! no page. Last, the page in a real browser: it loads with its own style and breaks no policy.

use burgernet_core::auth::staff::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::console::{jpeg_photo, send_tip};
use crate::helpers::alerts::{Profile, ROTTERDAM, circle};
use crate::helpers::app::PUBLIC_URL;
use crate::helpers::browser::Browser;
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

const WITNESS_PHONE: &str = "+31610000191";
const SEARCHER_PHONE: &str = "+31610000192";

/// West of the centre, across the border with Schiedam: the expansion makes the alert cover both.
const TOWARDS_SCHIEDAM: (f64, f64) = (51.92, 4.445);

const TIP_TEXT: &str = "Ik zag hem bij de fietsenstalling met een gele rugzak.";
const INCIDENT: &str = "GMS-2026-118877";
const TO_SEARCHERS: &str = "Zoekers: kijk ook bij de Euromast.";
const REPORT: &str = "Dankzij tips van deelnemers werd de man binnen het uur aangehouden.\n\nDe politie dankt \
                      iedereen die meekeek. <script>alert('x')</script> & tot een volgende keer.";

/// The alert: its public texts hold no digits, so that any number on the page would be one
/// that does not belong there. The signalement, the incident number and the drawn circle are the
/// control room's, never the public's.
fn alert_body() -> Value {
    json!({
        "category": "search",
        "urgent": true,
        "channels": ["push", "sms"],
        "description": {
            "person": {"sex": "male", "age_min": 25, "age_max": 35, "clothing": "zwarte jas met bontkraag",
                       "particulars": "tatoeage van een slang in de nek"},
            "vehicle": {"kind": "scooter", "colour": "wit", "licence_plate": "DX-123-B"},
            "free_text": "Gevlucht na een overval op juwelier Van Dijk."
        },
        "texts": {
            "nl": {"title": "Gezocht: man op witte scooter", "message": "Man met donkere jas, vluchtte richting de Maas.",
                   "instruction": "Benader hem niet; bel de politie."},
            "en": {"title": "Wanted: man on a white scooter", "message": "Man in a dark coat, fled towards the river Maas.",
                   "instruction": "Do not approach him; call the police."}
        },
        "call_back_number": "0900-8844",
        "incident_reference": INCIDENT,
        "area": circle(ROTTERDAM, 1_000.0),
    })
}

/// What must never be public, with what it is, to name in a failure.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn assert_none_in(&self, what: &str, text: &str) {
        for (name, secret) in &self.0 {
            assert!(!text.contains(secret.as_str()), "{what} shows {name} ({secret}):\n{text}");
        }
    }
}

/// The text a reader sees in the page's body, times left out and entities read.
fn visible_text_without_times(html: &str) -> String {
    let body = html.split_once("<body>").map_or(html, |(_, body)| body);
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("<time") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("</time>").expect("a closed time") + start;
        rest = &rest[end + "</time>".len()..];
    }
    text.push_str(rest);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `content` of the `<meta>` with `property` (or `name`).
fn meta(html: &str, property: &str) -> Option<String> {
    let attribute = if property.starts_with("og:") { "property" } else { "name" };
    let start = html.find(&format!("<meta {attribute}=\"{property}\" content=\""))?;
    let value = &html[start..].split_once("content=\"")?.1;
    Some(value.split_once('"')?.0.to_string())
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// The page's policy forbids every script and source but its own style.
fn assert_strict_page_headers(response: &reqwest::Response) {
    assert_eq!(header(response, "content-type"), "text/html; charset=utf-8");
    let policy = header(response, "content-security-policy");
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
    for directive in ["img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy} lacks {directive}");
    }
    assert!(!policy.contains("script") && !policy.contains("unsafe"), "{policy}");
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "cache-control"), "public, max-age=60");
}

#[tokio::test]
async fn a_closed_alert_shows_its_public_side_and_nothing_of_tips_participants_staff_or_counts() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let writer =
        app.staff_member_token("communicatie-7", StaffRole::RegionManager { region: "rotterdam".into() });
    let witness = app.participant(WITNESS_PHONE, Profile::default()).await;
    let searcher = app.participant(SEARCHER_PHONE, Profile::default()).await;
    let draft = app.create_alert(&dispatcher, alert_body()).await;
    assert_eq!(draft["public_id"], Value::Null, "a draft has no public page");
    let alert = draft["id"].as_str().unwrap().to_string();
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/send"), &dispatcher, json!({})).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    let staff_view = app.get_json(&format!("/v1/alerts/{alert}"), &dispatcher).await;
    let public_id = staff_view["public_id"].as_str().expect("sent: a public id").to_string();
    assert_eq!(public_id.len(), 22, "{public_id}");
    assert!(public_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let page_path = format!("/public/alerts/{public_id}");
    let page_url = format!("{PUBLIC_URL}{page_path}");

    // The participant's app offers to share the page.
    let received = app.get_json(&format!("/v1/me/alerts/{alert}"), &witness.access_token).await;
    assert_eq!(received["share_url"], page_url.as_str(), "{received}");

    // While active: the call-back number, and findable.
    let active = app.get(&page_path).await;
    assert_eq!(active.status(), 200);
    assert_strict_page_headers(&active);
    let active = active.text().await.unwrap();
    assert!(active.contains("Ziet u iets? Bel <a href=\"tel:0900-8844\">0900-8844</a>."), "{active}");
    assert!(active.contains("<p class=\"status active\">Actief</p>"));
    assert_eq!(meta(&active, "robots"), None, "an active alert may be found");
    assert_eq!(meta(&active, "og:title").as_deref(), Some("Gezocht: man op witte scooter"));

    // Everything that must stay in the control room.
    send_tip(&app, &witness, &alert, TIP_TEXT, &[("image/jpeg", jpeg_photo())]).await;
    let tips = app.get_json(&format!("/v1/alerts/{alert}/tips"), &dispatcher).await;
    let tip = tips[0]["id"].as_str().unwrap().to_string();
    let media = tips[0]["media"][0]["id"].as_str().unwrap().to_string();
    app.expect_ok(
        Method::PUT,
        &format!("/v1/me/alerts/{alert}/answer"),
        &searcher.access_token,
        json!({"answer": "searching"}),
    )
    .await;
    let updates = format!("/v1/alerts/{alert}/updates");
    let to_everyone = json!({"texts": {"nl": {"message": "Laatst gezien bij het Centraal Station."},
                                       "en": {"message": "Last seen near Central Station."}}});
    app.expect_ok(Method::POST, &updates, &dispatcher, to_everyone).await;
    let to_some = json!({"texts": {"nl": {"message": TO_SEARCHERS}}, "to_answers": ["searching"]});
    app.expect_ok(Method::POST, &updates, &dispatcher, to_some).await;
    let expansion = json!({"area": circle(TOWARDS_SCHIEDAM, 1_000.0)});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/expansions"), &dispatcher, expansion).await;

    // The report is written once the alert is closed.
    let report_path = format!("/v1/alerts/{alert}/closing-report");
    let early = app.send_json_as(Method::PUT, &report_path, &writer, &json!({"text": REPORT})).await;
    assert_problem(early, 409, "alert_not_closed").await;
    let closing = json!({"outcome": "hard_success", "texts": {
        "nl": {"message": "De man is aangehouden. Dank voor het meekijken!"},
        "en": {"message": "The man has been arrested. Thank you for watching out!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/close"), &dispatcher, closing).await;

    // Communication staff work under the region: its dispatchers and region managers write the
    // report; administrators, relations officers and other regions do not.
    let refusals = [
        (app.admin_token(), 403, "role_required"),
        (app.relations_officer_token("GM0599"), 403, "role_required"),
        (app.region_manager_token("amsterdam"), 403, "out_of_scope"),
        (app.dispatcher_token("amsterdam"), 403, "out_of_scope"),
        (searcher.access_token.clone(), 403, "staff_only"),
    ];
    for (token, status, code) in refusals {
        let refused = app.send_json_as(Method::PUT, &report_path, &token, &json!({"text": REPORT})).await;
        assert_problem(refused, status, code).await;
    }
    let empty = app.send_json_as(Method::PUT, &report_path, &writer, &json!({"text": " \n "})).await;
    assert_problem(empty, 422, "invalid_closing_report").await;
    let first =
        app.expect_ok(Method::PUT, &report_path, &dispatcher, json!({"text": "Eerste versie."})).await;
    let report = app.expect_ok(Method::PUT, &report_path, &writer, json!({"text": REPORT})).await;
    assert_eq!(report["text"], REPORT);
    assert_eq!(report["written_by"], "communicatie-7");
    assert_eq!(report["written_at"], first["written_at"], "rewriting keeps when it was first written");
    let staff_view = app.get_json(&format!("/v1/alerts/{alert}"), &dispatcher).await;
    assert_eq!(staff_view["closing_report"], report);
    assert_eq!(staff_view["public_id"], public_id.as_str());
    let kinds = app.dossier_kinds(&dispatcher, &alert).await;
    assert_eq!(kinds.iter().filter(|kind| *kind == "closing_report_written").count(), 2, "{kinds:?}");

    let message_ids: Vec<String> = staff_view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    let mut secrets = Secrets(vec![
        ("the tip's words", TIP_TEXT.into()),
        ("the tip's words", "gele rugzak".into()),
        ("the tip's id", tip),
        ("the photo's id", media),
        ("an address of the API", "/v1/".into()),
        ("the media store", "media-store".into()),
        ("a participant's id", witness.participant_id.to_string()),
        ("a participant's id", searcher.participant_id.to_string()),
        ("a phone number", WITNESS_PHONE.into()),
        ("a phone number", WITNESS_PHONE[3..].into()),
        ("a phone number", SEARCHER_PHONE.into()),
        ("the drawn area and the tip's position", ROTTERDAM.0.to_string()),
        ("the drawn area and the tip's position", ROTTERDAM.1.to_string()),
        ("the drawn area", TOWARDS_SCHIEDAM.1.to_string()),
        ("the drawn area", "radius_meters".into()),
        ("the drawn area", "coordinates".into()),
        ("a staff member", "staff-1".into()),
        ("a staff member", "Test Staff".into()),
        ("a staff member", "communicatie-7".into()),
        ("the signalement", "bontkraag".into()),
        ("the signalement", "slang in de nek".into()),
        ("the signalement", "DX-123-B".into()),
        ("the signalement", "juwelier Van Dijk".into()),
        ("the incident number", INCIDENT.into()),
        ("an update for searchers only", TO_SEARCHERS.into()),
        ("the alert's own id", alert.clone()),
        ("answers", "searching".into()),
        ("the script in the report, unescaped", "<script".into()),
    ]);
    secrets.0.extend(message_ids.into_iter().map(|id| ("a message id", id)));

    let response = app.get(&page_path).await;
    assert_eq!(response.status(), 200);
    assert_strict_page_headers(&response);
    let html = response.text().await.unwrap();
    secrets.assert_none_in("the page", &html);
    let text = visible_text_without_times(&html);
    assert!(!text.chars().any(|c| c.is_ascii_digit()), "a number on the page, perhaps a count:\n{text}");
    for shown in [
        "<h1>Gezocht: man op witte scooter</h1>",
        "Man met donkere jas, vluchtte richting de Maas.",
        "Benader hem niet; bel de politie.",
        "Burgernet zoekactie in Rotterdam en Schiedam",
        "Laatst gezien bij het Centraal Station.",
        "Opgelost dankzij de tips van deelnemers.",
        "De man is aangehouden. Dank voor het meekijken!",
        "<h1>Wanted: man on a white scooter</h1>",
        "Burgernet search in Rotterdam and Schiedam",
        "Last seen near Central Station.",
        "Solved thanks to participants&#39; tips.",
        "The man has been arrested. Thank you for watching out!",
        "<p class=\"status closed\">Afgelopen</p>",
        "Dankzij tips van deelnemers werd de man binnen het uur aangehouden.\n\nDe politie dankt iedereen die \
         meekeek. &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; tot een volgende keer.",
    ] {
        assert!(html.contains(shown), "the page lacks {shown:?}:\n{html}");
    }
    assert!(!html.contains("0900-8844") && !html.contains("tel:"), "no call-back number once closed");
    // A link shared in a chat app shows a preview.
    assert_eq!(meta(&html, "og:title").as_deref(), Some("Afgelopen: Gezocht: man op witte scooter"));
    assert_eq!(
        meta(&html, "og:description").as_deref(),
        Some("Burgernet zoekactie in Rotterdam en Schiedam. Opgelost dankzij de tips van deelnemers.")
    );
    assert_eq!(meta(&html, "og:type").as_deref(), Some("website"));
    assert_eq!(meta(&html, "og:site_name").as_deref(), Some("Burgernet"));
    assert_eq!(meta(&html, "og:locale").as_deref(), Some("nl_NL"));
    assert_eq!(meta(&html, "og:url").as_deref(), Some(page_url.as_str()));
    assert_eq!(meta(&html, "og:image"), None);
    assert_eq!(meta(&html, "robots").as_deref(), Some("noindex"), "once over, kept out of search engines");

    // The share text: the title, one line, the address.
    let share = app.get(&format!("{page_path}/share-text")).await;
    assert_eq!(share.status(), 200);
    assert_eq!(header(&share, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(header(&share, "cache-control"), "public, max-age=60");
    let share = share.text().await.unwrap();
    assert_eq!(
        share,
        format!(
            "Gezocht: man op witte scooter\nBurgernet zoekactie in Rotterdam en Schiedam is afgelopen. \
             Opgelost dankzij de tips van deelnemers.\n{page_url}\n"
        )
    );
    secrets.assert_none_in("the share text", &share);
    let english = app.get(&format!("{page_path}/share-text?language=en")).await.text().await.unwrap();
    assert!(english.starts_with(
        "Wanted: man on a white scooter\nBurgernet search in Rotterdam and Schiedam has ended."
    ));

    // The region's feed of closed alerts.
    let feed = app.get("/public/regions/rotterdam/closed-alerts.atom").await;
    assert_eq!(feed.status(), 200);
    assert_eq!(header(&feed, "content-type"), "application/atom+xml");
    assert_eq!(header(&feed, "cache-control"), "public, max-age=300");
    let feed = feed.text().await.unwrap();
    secrets.assert_none_in("the feed", &feed);
    for shown in [
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"nl\">",
        &format!("<id>urn:burgernet:public-alert:{public_id}</id>"),
        "<title>Gezocht: man op witte scooter</title>",
        &format!("<link rel=\"alternate\" type=\"text/html\" href=\"{page_url}\"/>"),
        "<category term=\"search\" label=\"Burgernet zoekactie\"/>",
        "<summary>Burgernet zoekactie in Rotterdam en Schiedam. Opgelost dankzij de tips van deelnemers.</summary>",
        "<content>Dankzij tips van deelnemers werd de man binnen het uur aangehouden.",
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; tot een volgende keer.</content>",
    ] {
        assert!(feed.contains(shown), "the feed lacks {shown:?}:\n{feed}");
    }
    assert_eq!(feed.matches("<entry>").count(), 1, "{feed}");
    let other_region = app.get("/public/regions/amsterdam/closed-alerts.atom").await.text().await.unwrap();
    assert!(!other_region.contains("<entry>"), "{other_region}");
    assert_problem(app.get("/public/regions/utrecht/closed-alerts.atom").await, 404, "not_found").await;
    assert_problem(app.get("/public/regions/Not%20A%20Code/closed-alerts.atom").await, 404, "not_found")
        .await;
}

#[tokio::test]
async fn exercises_tests_drafts_and_unknown_ids_have_no_public_page() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let practiser = app.participant(WITNESS_PHONE, Profile { exercises: true, ..Profile::default() }).await;
    let mut exercise = alert_body();
    exercise["purpose"] = json!("exercise");
    let exercise = app.send_new_alert(&dispatcher, exercise).await;
    app.wait_until_delivered(&dispatcher, &exercise).await;
    let mut test = alert_body();
    test["purpose"] = json!("test");
    let test = app.send_new_alert(&dispatcher, test).await;
    let draft = app.create_alert(&dispatcher, alert_body()).await;
    let draft = draft["id"].as_str().unwrap();
    for alert in [exercise.as_str(), test.as_str(), draft] {
        let view = app.get_json(&format!("/v1/alerts/{alert}"), &dispatcher).await;
        assert_eq!(view["public_id"], Value::Null, "{alert} is {} {}", view["purpose"], view["status"]);
    }
    assert_eq!(app.database_count("SELECT count(*) FROM alerts WHERE public_id IS NOT NULL").await, 0);
    let received = app.get_json(&format!("/v1/me/alerts/{exercise}"), &practiser.access_token).await;
    assert_eq!(received["share_url"], Value::Null, "nothing to share: {received}");

    // Closed, an exercise still has no page, so no report.
    let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "Einde van de oefening."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{exercise}/close"), &dispatcher, closing).await;
    let report = app
        .send_json_as(
            Method::PUT,
            &format!("/v1/alerts/{exercise}/closing-report"),
            &dispatcher,
            &json!({"text": "Goed geoefend."}),
        )
        .await;
    assert_problem(report, 409, "alert_not_public").await;
    let feed = app.get("/public/regions/rotterdam/closed-alerts.atom").await.text().await.unwrap();
    assert!(!feed.contains("<entry>"), "no exercise in the feed: {feed}");

    // Even an id that somehow sat on an exercise opens nothing.
    app.database_exec(&format!(
        "UPDATE alerts SET public_id = 'oefeningOEFENINGoefeni' WHERE id = '{exercise}'"
    ))
    .await;
    for id in ["oefeningOEFENINGoefeni", "AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fetc"] {
        let response = app.get(&format!("/public/alerts/{id}")).await;
        assert_eq!(response.status(), 404, "{id}");
        assert_strict_page_headers(&response);
        let html = response.text().await.unwrap();
        assert!(html.contains("Deze pagina bestaat niet"), "{html}");
        assert_eq!(meta(&html, "robots").as_deref(), Some("noindex"));
        assert_problem(app.get(&format!("/public/alerts/{id}/share-text")).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn the_public_page_loads_in_a_real_browser_with_its_style_and_breaks_no_policy() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body()).await;
    let closing = json!({"outcome": "soft_success", "texts": {"nl": {"message": "Hij is gevonden."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{alert}/close"), &dispatcher, closing).await;
    let report = format!("/v1/alerts/{alert}/closing-report");
    app.expect_ok(Method::PUT, &report, &dispatcher, json!({"text": REPORT})).await;
    let public_id = app.get_json(&format!("/v1/alerts/{alert}"), &dispatcher).await["public_id"]
        .as_str()
        .unwrap()
        .to_string();

    let browser = Browser::start().await;
    browser.goto(&app.url(&format!("/public/alerts/{public_id}"))).await;
    let title = browser.find("h1").await;
    assert_eq!(browser.text(&title).await, "Gezocht: man op witte scooter");
    assert_eq!(browser.text_of("#report").await.lines().next(), REPORT.lines().next());
    // The inline style, allowed by its hash, applied: the policy let it through.
    let background = browser.eval("return getComputedStyle(document.body).backgroundColor;", vec![]).await;
    assert_eq!(background, "rgb(242, 244, 246)");
    assert_eq!(browser.eval("return document.scripts.length;", vec![]).await, 0);
    browser.save_screenshot("public-alert-page").await;
    let log = browser.log().await;
    assert!(log.is_empty(), "the page wrote to the browser's console (a policy it broke?):\n{log}");
    let violations = browser.serious_accessibility_violations().await;
    assert!(violations.is_empty(), "accessibility: {violations:#?}");
}
