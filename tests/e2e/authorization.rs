//! The authorization matrix of everything participants brought: the sign-in endpoints, the
//! participant's own account, places, devices and session, and the municipality's management of
//! participants. Every route is called by every kind of caller, with real data behind the ids, so
//! an "allowed" cell is a call that really succeeds and a refused cell is refused before it
//! touches anything. The matrix:
//!
//! - signing in (`/v1/sign-in/codes`, `/v1/sign-in/tokens`, `/v1/session/refresh`) and the e-mail
//!   verification link: public; every caller gets the same answer, token or not, so a wrong body
//!   gets a validation answer, never 401 or 403;
//! - the participant's own endpoints (`/v1/me...`, `/v1/session`): only the participant; any staff
//!   member gets 403 `participants_only`, no token 401 `unauthenticated`;
//! - participant management (`/v1/municipalities/GM0599/participants...`, `/queues/...`,
//!   `/decisions`, `/approval-policy`): the officer of GM0599 and the admin; the officer of GM0363
//!   gets 403 `out_of_scope`, the dispatcher 403 `role_required` (dispatchers see no participant's
//!   personal data at all), a participant 403 `staff_only`, no token 401 `unauthenticated`;
//! - the SMS gateway's delivery receipts (`/v1/sms/receipts`) and the voice gateway's call statuses
//!   (`/v1/voice/status`): public but signed; a bearer token
//!   counts for nothing, so every caller without the gateway's signature gets 401
//!   `invalid_signature`;
//! - target groups (`/v1/target-groups...`, `/v1/regions/{code}/target-groups`): administrators
//!   keep them; staff of the group's region see them; only the owner and administrators see the
//!   members and act on them; to staff of another region a group does not exist (404
//!   `target_group_not_found`). The participant's side (`/v1/me/target-groups...`) is the
//!   participant's own account.
//!
//! After the matrix come the same rules on data: officers see only the participants their
//! municipality manages, a participant cannot reach another's places or devices, and an erased
//! participant's tokens open nothing.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::app::PUBLIC_URL;
use crate::helpers::{SignedIn, TestApp, TestAppOptions, participant_ids, problem};

/// Rotterdam (GM0599), near the Coolsingel.
const ROTTERDAM_HOME: (f64, f64) = (51.9225312, 4.4791709);
/// Rotterdam too, a little south.
const ROTTERDAM_WORK: (f64, f64) = (51.9050000, 4.4800000);
/// Amsterdam (GM0363).
const AMSTERDAM_HOME: (f64, f64) = (52.3676000, 4.9041000);

const ALICE_PHONE: &str = "+31612340001";
const BOB_PHONE: &str = "+31612340002";
const LEAVER_PHONE: &str = "+31612340003";

const FCM_TOKEN_1: &str = "fcm-token-alice-one:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq";
const FCM_TOKEN_2: &str = "fcm-token-alice-two:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq";
const FCM_TOKEN_3: &str = "fcm-token-alice-three:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOY";
const FCM_TOKEN_BOB: &str = "fcm-token-bob:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYqL0dJ4";

/// Who calls, in the order of the matrix's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    NoToken,
    /// A participant signed in through the app: the one the row's ids belong to.
    Participant,
    /// A control-room dispatcher of region `rotterdam`, which Rotterdam belongs to.
    Dispatcher,
    /// A dispatcher of region `amsterdam`.
    OtherDispatcher,
    /// A relations officer of Rotterdam (GM0599), the municipality that manages the participant.
    Officer,
    /// A relations officer of Amsterdam (GM0363).
    OtherOfficer,
    Admin,
}

use Caller::*;

const CALLERS: [Caller; 7] =
    [NoToken, Participant, Dispatcher, OtherDispatcher, Officer, OtherOfficer, Admin];

/// What one caller gets from one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The handler ran and succeeded with this status.
    Allowed(u16),
    /// Refused for who the caller is: 401 or 403, with this problem code.
    Denied(u16, &'static str),
    /// The handler ran and answered about the request itself (a validation answer).
    Invalid(u16, &'static str),
    /// The handler ran and answered with an HTML page of this status.
    Page(u16),
}

use Expect::*;

const NO_TOKEN: Expect = Denied(401, "unauthenticated");
const PARTICIPANTS_ONLY: Expect = Denied(403, "participants_only");
const STAFF_ONLY: Expect = Denied(403, "staff_only");
const ROLE_REQUIRED: Expect = Denied(403, "role_required");
const OUT_OF_SCOPE: Expect = Denied(403, "out_of_scope");

/// A participant endpoint: only the participant; every staff member is sent to the app.
fn only_the_participant(success: u16) -> [Expect; 7] {
    [
        NO_TOKEN,
        Allowed(success),
        PARTICIPANTS_ONLY,
        PARTICIPANTS_ONLY,
        PARTICIPANTS_ONLY,
        PARTICIPANTS_ONLY,
        PARTICIPANTS_ONLY,
    ]
}

/// Participant management: the municipality's own officers and administrators. A dispatcher
/// sees no participant's personal data at all.
fn only_the_municipalitys_managers(success: u16) -> [Expect; 7] {
    [NO_TOKEN, STAFF_ONLY, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(success), OUT_OF_SCOPE, Allowed(success)]
}

/// Acting on an alert: the dispatchers of its region only. Administrators read, but do not act.
fn only_the_regions_dispatchers(success: u16) -> [Expect; 7] {
    [NO_TOKEN, STAFF_ONLY, Allowed(success), OUT_OF_SCOPE, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED]
}

/// Reading an alert: the dispatchers of its region and administrators.
fn the_regions_dispatchers_and_admins(success: u16) -> [Expect; 7] {
    [NO_TOKEN, STAFF_ONLY, Allowed(success), OUT_OF_SCOPE, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(success)]
}

/// A public endpoint: the same answer whoever calls, token or not.
fn the_same_for_everyone(answer: Expect) -> [Expect; 7] {
    [answer; 7]
}

/// One endpoint: the request, and what each caller gets.
struct Row {
    method: Method,
    /// The route pattern, as in the OpenAPI document.
    route: &'static str,
    /// The route with real ids filled in.
    path: String,
    body: Option<Value>,
    expect: [Expect; 7],
    /// The participant's token for this row when it is not the main session's (for rows that
    /// end a session).
    participant_token: Option<String>,
    /// What the admin sends instead of `body`, for steps that cannot be repeated: the admin
    /// calls after the officer.
    admin_body: Option<Value>,
    /// Where the admin sends it instead of `path`, for the same reason.
    admin_path: Option<String>,
}

/// `route` with its `{placeholders}` replaced by `ids`, in order.
fn fill(route: &str, ids: &[&str]) -> String {
    let mut path = String::new();
    let mut rest = route;
    let mut ids = ids.iter();
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("a closed placeholder") + start;
        path.push_str(&rest[..start]);
        path.push_str(ids.next().unwrap_or_else(|| panic!("no id for a placeholder of {route}")));
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    assert!(ids.next().is_none(), "more ids than placeholders in {route}");
    path
}

fn row(method: Method, route: &'static str, ids: &[&str], body: Option<Value>, expect: [Expect; 7]) -> Row {
    Row {
        method,
        route,
        path: fill(route, ids),
        body,
        expect,
        participant_token: None,
        admin_body: None,
        admin_path: None,
    }
}

fn place_body(kind: &str, name: &str, (latitude, longitude): (f64, f64)) -> Value {
    json!({
        "kind": kind,
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "address": {"postcode": "3011 AD", "house_number": "12"},
    })
}

fn device_body(push_token: &str, app_version: &str) -> Value {
    json!({"platform": "android", "push_token": push_token, "app_version": app_version, "locale": "nl-NL"})
}

/// Adds a place through the API and returns its id.
async fn add_place(app: &TestApp, who: &SignedIn, body: Value) -> String {
    let response = app.post_json_as("/v1/me/places", &who.access_token, &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let place: Value = response.json().await.unwrap();
    place["id"].as_str().unwrap().to_string()
}

/// Registers a device through the API and returns its id.
async fn add_device(app: &TestApp, who: &SignedIn, push_token: &str) -> String {
    let response =
        app.post_json_as("/v1/me/devices", &who.access_token, &device_body(push_token, "2.4.1")).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let device: Value = response.json().await.unwrap();
    device["id"].as_str().unwrap().to_string()
}

/// The staff tokens, one per kind of staff caller.
struct Tokens {
    dispatcher: String,
    other_dispatcher: String,
    officer: String,
    other_officer: String,
    admin: String,
}

impl Tokens {
    fn new(app: &TestApp) -> Self {
        Self {
            dispatcher: app.dispatcher_token("rotterdam"),
            other_dispatcher: app.dispatcher_token("amsterdam"),
            officer: app.relations_officer_token("GM0599"),
            other_officer: app.relations_officer_token("GM0363"),
            admin: app.admin_token(),
        }
    }
}

/// Sends the row's request as `caller` and says how the answer differs from the matrix, if it does.
async fn check(
    app: &TestApp,
    row: &Row,
    caller: Caller,
    token: Option<&str>,
    expect: Expect,
) -> Option<String> {
    let body = match (&row.admin_body, caller) {
        (Some(body), Admin) => Some(body),
        _ => row.body.as_ref(),
    };
    let path = match (&row.admin_path, caller) {
        (Some(path), Admin) => path,
        _ => &row.path,
    };
    let mut request = app.client.request(row.method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let got = if content_type == "application/problem+json" {
        let (_, body) = problem(response).await;
        let code = body["code"].as_str().unwrap().to_string();
        match expect {
            Denied(s, c) | Invalid(s, c) if (s, c) == (status, code.as_str()) => return None,
            _ => format!("{status} {code}: {}", body["detail"]),
        }
    } else if content_type == "text/event-stream" {
        // A stream does not end by itself: the status and the type are the answer.
        match expect {
            Allowed(s) if s == status => return None,
            _ => format!("{status} {content_type}"),
        }
    } else {
        let text = response.text().await.unwrap_or_default();
        match expect {
            Allowed(s) if s == status => return None,
            Page(s) if s == status && content_type.starts_with("text/html") => return None,
            _ => format!("{status} {content_type}: {}", text.chars().take(200).collect::<String>()),
        }
    };
    Some(format!("{} {path} as {caller:?}: expected {expect:?}, got {got}", row.method))
}

/// Runs one row for every caller: first everyone who should be refused, then whoever is allowed
/// (in column order), so a successful call also shows the refused ones left everything in place.
async fn run_row(app: &TestApp, tokens: &Tokens, main_participant: &str, row: &Row) -> Vec<String> {
    let token = |caller: Caller| -> Option<&str> {
        match caller {
            NoToken => None,
            Participant => Some(row.participant_token.as_deref().unwrap_or(main_participant)),
            Dispatcher => Some(&tokens.dispatcher),
            OtherDispatcher => Some(&tokens.other_dispatcher),
            Officer => Some(&tokens.officer),
            OtherOfficer => Some(&tokens.other_officer),
            Admin => Some(&tokens.admin),
        }
    };
    let refused = CALLERS.iter().zip(row.expect).filter(|(_, expect)| !matches!(expect, Allowed(_)));
    let allowed = CALLERS.iter().zip(row.expect).filter(|(_, expect)| matches!(expect, Allowed(_)));
    let mut mismatches = Vec::new();
    for (caller, expect) in refused.chain(allowed) {
        mismatches.extend(check(app, row, *caller, token(*caller), expect).await);
    }
    mismatches
}

/// Checks that `matrix` has one row per operation the contract tags with one of `tags` (besides
/// those `covered_elsewhere`), then makes every row's call as every caller; fails naming each cell
/// that differs from the matrix.
async fn check_matrix(
    app: &TestApp,
    tokens: &Tokens,
    participant_token: &str,
    matrix: &[Row],
    tags: &[&str],
    covered_elsewhere: &[(&str, &str)],
) {
    let mut covered: BTreeSet<(String, String)> =
        matrix.iter().map(|row| (row.method.to_string(), row.route.to_string())).collect();
    assert_eq!(covered.len(), matrix.len(), "one row per operation");
    covered.extend(covered_elsewhere.iter().map(|(method, route)| (method.to_string(), route.to_string())));
    assert_eq!(covered, operations_tagged(app, tags).await, "the matrix and the contract differ");
    let mut mismatches = Vec::new();
    for row in matrix {
        mismatches.extend(run_row(app, tokens, participant_token, row).await);
    }
    assert!(
        mismatches.is_empty(),
        "{} cells differ from the matrix:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The tags of the operations participants brought, in the OpenAPI document.
const PARTICIPANT_TAGS: [&str; 6] =
    ["sign-in", "participants", "my account", "participant management", "sms gateway", "voice gateway"];

/// The tags of the alert operations.
const ALERT_TAGS: [&str; 2] = ["alerts", "my alerts"];

/// Every (method, route) of the OpenAPI document under one of `tags`.
async fn operations_tagged(app: &TestApp, tags: &[&str]) -> BTreeSet<(String, String)> {
    let contract: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut operations = BTreeSet::new();
    for (route, methods) in contract["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let operation_tags = operation["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
            if operation_tags.iter().any(|tag| tags.contains(&tag.as_str().unwrap_or_default())) {
                operations.insert((method.to_uppercase(), route.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_participant_and_participant_management_endpoint_answers_each_caller_as_the_matrix_says() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let tokens = Tokens::new(&app);

    // The participant: a home in Rotterdam, so Rotterdam manages them; a second place and a
    // second device to remove; "alerts where I am" on, so a position can be stored.
    let alice = app.sign_up(ALICE_PHONE).await;
    let home = add_place(&app, &alice, place_body("home", "Thuis", ROTTERDAM_HOME)).await;
    let work = add_place(&app, &alice, place_body("work", "Werk", ROTTERDAM_WORK)).await;
    let device = add_device(&app, &alice, FCM_TOKEN_1).await;
    let spare_device = add_device(&app, &alice, FCM_TOKEN_2).await;
    let switched_on = json!({"alerts_where_i_am": true});
    let response = app.send_json_as(Method::PATCH, "/v1/me", &alice.access_token, &switched_on).await;
    assert_eq!(response.status(), 200);
    let profile = app.get_json("/v1/me", &alice.access_token).await;
    assert_eq!(
        (profile["municipality"].as_str(), profile["status"].as_str()),
        (Some("GM0599"), Some("active"))
    );
    // A second session of the same participant, to sign out; and another participant, to erase.
    let alice_on_another_phone = app.sign_up(ALICE_PHONE).await;
    assert_eq!(alice_on_another_phone.participant_id, alice.participant_id);
    let leaver = app.sign_up(LEAVER_PHONE).await;
    // A target group of Rotterdam, for Alice to join and leave.
    let taxis = json!({"name": "Taxichauffeurs"});
    let group = app.post_json_as("/v1/regions/rotterdam/target-groups", &tokens.admin, &taxis).await;
    let group: Value = group.json().await.unwrap();
    let group_id = group["id"].as_str().unwrap().to_string();
    let invitation = json!({"invitation_code": group["invitation_code"]});

    let alice_id = alice.participant_id.to_string();
    let quarantine = json!({"decision": "quarantine", "reason": "Sms-berichten komen niet aan."});
    let reinstate = json!({"decision": "reinstate", "reason": "Het nummer werkt weer."});
    let location = json!({"latitude": 51.92, "longitude": 4.48, "accuracy_meters": 25.0});
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        // Signing in needs no token, and a token changes nothing: a wrong body gets the same
        // validation answer from everyone. (The e-mail verification link has a test of its own.)
        row(M::POST, "/v1/sign-in/codes", &[], Some(json!({"phone_number": "not a phone number"})),
            the_same_for_everyone(Invalid(422, "invalid_phone_number"))),
        row(M::POST, "/v1/sign-in/tokens", &[], Some(json!({"phone_number": ALICE_PHONE, "code": "12ab"})),
            the_same_for_everyone(Invalid(422, "invalid_code"))),
        row(M::POST, "/v1/session/refresh", &[], Some(json!({})),
            the_same_for_everyone(Invalid(422, "invalid_body"))),

        // The participant's own account.
        row(M::GET, "/v1/session", &[], None, only_the_participant(200)),
        row(M::GET, "/v1/me", &[], None, only_the_participant(200)),
        row(M::PATCH, "/v1/me", &[], Some(json!({"display_name": "Alice"})), only_the_participant(200)),
        row(M::GET, "/v1/me/export", &[], None, only_the_participant(200)),
        row(M::GET, "/v1/me/places", &[], None, only_the_participant(200)),
        row(M::POST, "/v1/me/places", &[], Some(place_body("other", "Sportclub", ROTTERDAM_WORK)),
            only_the_participant(201)),
        row(M::PUT, "/v1/me/places/{place_id}", &[&home], Some(place_body("home", "Thuis", ROTTERDAM_HOME)),
            only_the_participant(200)),
        row(M::DELETE, "/v1/me/places/{place_id}", &[&work], None, only_the_participant(204)),
        row(M::GET, "/v1/me/location", &[], None, only_the_participant(200)),
        row(M::PUT, "/v1/me/location", &[], Some(location), only_the_participant(200)),
        row(M::DELETE, "/v1/me/location", &[], None, only_the_participant(204)),
        row(M::GET, "/v1/me/devices", &[], None, only_the_participant(200)),
        row(M::POST, "/v1/me/devices", &[], Some(device_body(FCM_TOKEN_3, "2.4.1")),
            only_the_participant(201)),
        row(M::PUT, "/v1/me/devices/{device_id}", &[&device], Some(device_body(FCM_TOKEN_1, "2.5.0")),
            only_the_participant(200)),
        row(M::DELETE, "/v1/me/devices/{device_id}", &[&spare_device], None, only_the_participant(204)),
        row(M::POST, "/v1/me/target-groups", &[], Some(invitation), only_the_participant(201)),
        row(M::GET, "/v1/me/target-groups", &[], None, only_the_participant(200)),
        row(M::DELETE, "/v1/me/target-groups/{group_id}", &[&group_id], None, only_the_participant(204)),

        // The municipality's side: Rotterdam manages the participant.
        row(M::GET, "/v1/municipalities/{cbs_code}/participants", &["GM0599"], None,
            only_the_municipalitys_managers(200)),
        row(M::GET, "/v1/municipalities/{cbs_code}/queues/{queue}", &["GM0599", "approval"], None,
            only_the_municipalitys_managers(200)),
        row(M::GET, "/v1/municipalities/{cbs_code}/participants/{participant_id}", &["GM0599", &alice_id],
            None, only_the_municipalitys_managers(200)),
        // The officer quarantines; the admin, who calls after the officer, reinstates.
        Row {
            admin_body: Some(reinstate),
            ..row(M::POST, "/v1/municipalities/{cbs_code}/participants/{participant_id}/decisions",
                &["GM0599", &alice_id], Some(quarantine), only_the_municipalitys_managers(200))
        },
        row(M::PUT, "/v1/municipalities/{cbs_code}/approval-policy", &["GM0599"],
            Some(json!({"requires_approval": false})), only_the_municipalitys_managers(200)),
        // Counts only, no participant: the dispatchers of its region see them too.
        row(M::GET, "/v1/municipalities/{cbs_code}/participation", &["GM0599"], None,
            [NO_TOKEN, STAFF_ONLY, Allowed(200), OUT_OF_SCOPE, Allowed(200), OUT_OF_SCOPE, Allowed(200)]),

        // The SMS gateway reports on the participant's messages; only its signature counts.
        row(M::POST, "/v1/sms/receipts", &[],
            Some(json!({"id": "msg-1", "reference": "r-1", "status": "failed",
                        "error_code": "unknown_subscriber", "at": "2026-11-30T16:48:01Z"})),
            the_same_for_everyone(Denied(401, "invalid_signature"))),
        // The voice gateway reports how a call went; only its signature counts.
        row(M::POST, "/v1/voice/status", &[],
            Some(json!({"id": "call-1", "reference": "r-1", "status": "answered", "duration_seconds": 30,
                        "at": "2026-12-07T03:12:09Z"})),
            the_same_for_everyone(Denied(401, "invalid_signature"))),

        // Ending a session, and the account: another session, and another participant.
        Row {
            participant_token: Some(alice_on_another_phone.access_token.clone()),
            ..row(M::DELETE, "/v1/session", &[], None, only_the_participant(204))
        },
        Row {
            participant_token: Some(leaver.access_token.clone()),
            ..row(M::DELETE, "/v1/me", &[], None, only_the_participant(200))
        },
    ];

    // The matrix covers every operation participants brought, and nothing else (the e-mail
    // verification link has its own test).
    let elsewhere = [("GET", "/v1/email-verifications/{token}")];
    check_matrix(&app, &tokens, &alice.access_token, &matrix, &PARTICIPANT_TAGS, &elsewhere).await;

    // The refused calls changed nothing; each allowed one did its one thing.
    let places = app.get_json("/v1/me/places", &alice.access_token).await;
    let names: Vec<&str> = places.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Thuis", "Sportclub"], "{places}");
    let devices = app.get_json("/v1/me/devices", &alice.access_token).await;
    let devices: Vec<(&str, &str)> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["push_token"].as_str().unwrap(), d["app_version"].as_str().unwrap()))
        .collect();
    assert_eq!(devices, [(FCM_TOKEN_1, "2.5.0"), (FCM_TOKEN_3, "2.4.1")]);
    assert_eq!(
        app.get_json("/v1/me/target-groups", &alice.access_token).await,
        json!([]),
        "joined, then left"
    );
    let record =
        app.get_json(&format!("/v1/municipalities/GM0599/participants/{alice_id}"), &tokens.officer).await;
    let actions: Vec<(&str, &str)> = record["staff_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["staff_role"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("reinstate", "admin"), ("quarantine", "relations_officer")], "newest first");
    assert_eq!(record["status"], "active");
    // Signing out ended only that session; the main one still works.
    let (status, body) = problem(app.get_as("/v1/session", &alice_on_another_phone.access_token).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "session_revoked"));
    assert_eq!(app.get_as("/v1/session", &alice.access_token).await.status(), 200);
    let (status, _) = problem(app.get_as("/v1/me", &leaver.access_token).await).await;
    assert_eq!(status, 401, "the erased participant's token");
}

/// Not the caller's region: to them the group does not exist.
const NOT_THEIRS: Expect = Denied(404, "target_group_not_found");
/// Staff of the group's region who do not own it.
const NOT_OWNER: Expect = Denied(403, "not_group_owner");

/// Keeping target groups: administrators only.
fn only_admins(success: u16) -> [Expect; 7] {
    [NO_TOKEN, STAFF_ONLY, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(success)]
}

/// A group's code and members: its owner (the dispatcher) and administrators.
fn the_owner_and_admins(success: u16) -> [Expect; 7] {
    [NO_TOKEN, STAFF_ONLY, Allowed(success), NOT_THEIRS, NOT_OWNER, NOT_THEIRS, Allowed(success)]
}

/// The matrix of the target groups: administrators keep them, staff of the group's region see
/// them, the owner and administrators hand out the code and decide about members, and staff of
/// another region do not see the group at all. The group belongs to Rotterdam and its owner is
/// the dispatcher; the officer of GM0599 (a municipality of Rotterdam) is another person here.
/// Rows run in order: the code is renewed, Alice's request approved and then removed (Bob's, by
/// the administrator), and last the group is archived.
#[tokio::test]
async fn every_target_group_endpoint_answers_each_caller_as_the_matrix_says() {
    use burgernet_core::auth::staff::StaffRole;
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let officer = StaffRole::RelationsOfficer { municipality: "GM0599".into() };
    let tokens = Tokens { officer: app.staff_member_token("officer-gm0599", officer), ..Tokens::new(&app) };
    let dispatcher_subject = "staff-1";
    let handhavers = json!({"name": "Handhavers", "owner": {"subject": dispatcher_subject}});
    let group = app.post_json_as("/v1/regions/rotterdam/target-groups", &tokens.admin, &handhavers).await;
    assert_eq!(group.status(), 201);
    let group: Value = group.json().await.unwrap();
    let group_id = group["id"].as_str().unwrap().to_string();
    let code = json!({"invitation_code": group["invitation_code"]});
    let alice = app.participant(ALICE_PHONE, crate::helpers::alerts::Profile::default()).await;
    let bob = app.participant(BOB_PHONE, crate::helpers::alerts::Profile::default()).await;
    for who in [&alice, &bob] {
        let response = app.post_json_as("/v1/me/target-groups", &who.access_token, &code).await;
        assert_eq!(response.status(), 201);
    }
    let (alice_id, bob_id) = (alice.participant_id.to_string(), bob.participant_id.to_string());

    let seen_by_the_regions_staff =
        [NO_TOKEN, STAFF_ONLY, Allowed(200), NOT_THEIRS, Allowed(200), NOT_THEIRS, Allowed(200)];
    let member = "/v1/target-groups/{group_id}/members/{participant_id}";
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        row(M::POST, "/v1/regions/{region_code}/target-groups", &["rotterdam"],
            Some(json!({"name": "Taxichauffeurs"})), only_admins(201)),
        // Everyone on the staff lists the groups they may see (another region's: none).
        row(M::GET, "/v1/target-groups", &[], None,
            [NO_TOKEN, STAFF_ONLY, Allowed(200), Allowed(200), Allowed(200), Allowed(200), Allowed(200)]),
        row(M::GET, "/v1/target-groups/{group_id}", &[&group_id], None, seen_by_the_regions_staff),
        row(M::PATCH, "/v1/target-groups/{group_id}", &[&group_id], Some(json!({"description": "Boa's."})),
            only_admins(200)),
        row(M::POST, "/v1/target-groups/{group_id}/invitation-code", &[&group_id], None, the_owner_and_admins(200)),
        row(M::GET, "/v1/target-groups/{group_id}/members", &[&group_id], None, the_owner_and_admins(200)),
        // The owner approves; the administrator approves again, which changes nothing.
        row(M::PUT, member, &[&group_id, &alice_id], None, the_owner_and_admins(200)),
        // The owner removes Alice; the administrator rejects Bob.
        Row {
            admin_path: Some(fill(member, &[&group_id, &bob_id])),
            ..row(M::DELETE, member, &[&group_id, &alice_id], None, the_owner_and_admins(204))
        },
        // Last: archiving ends the group.
        row(M::DELETE, "/v1/target-groups/{group_id}", &[&group_id], None, only_admins(204)),
    ];
    check_matrix(&app, &tokens, &alice.access_token, &matrix, &["target groups"], &[]).await;

    // The refused calls changed nothing; each allowed one did its one thing.
    let archived = app.get_json(&format!("/v1/target-groups/{group_id}"), &tokens.admin).await;
    assert!(archived["archived_at"].is_string(), "{archived}");
    assert_eq!(archived["description"], "Boa's.");
    assert_eq!(archived["owner"]["subject"], dispatcher_subject);
    assert_ne!(archived["invitation_code"], group["invitation_code"], "renewed");
    assert_eq!(archived["members"], json!({"approved": {"fewer_than": 5}, "pending": {"fewer_than": 5}}));
    assert_eq!(app.database_count("SELECT count(*) FROM target_group_members").await, 0);
    let names: Vec<String> = app
        .get_json("/v1/target-groups?archived=true", &tokens.admin)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Handhavers", "Taxichauffeurs"], "one group created");
}

/// The matrix of the alert endpoints: the control room's (dispatchers act in their own region,
/// administrators only read, municipal officers and participants see no alerts) and the
/// participant's own alerts. Rows run in order: the draft is sent, the active alert expanded and
/// updated, its tips and dossier read, the participant's receipt and tip taken, and then it is
/// closed and its closing report written.
#[tokio::test]
async fn every_alert_endpoint_answers_each_caller_as_the_matrix_says() {
    use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, circle};
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let tokens = Tokens::new(&app);
    let alice = app.participant(ALICE_PHONE, Profile::default()).await;
    let active = app.send_new_alert(&tokens.dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&tokens.dispatcher, &active).await;
    let draft = app.create_alert(&tokens.dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let draft = draft["id"].as_str().unwrap().to_string();
    let sent = app.get_json(&format!("/v1/alerts/{active}"), &tokens.dispatcher).await;
    let first_message = sent["messages"][0]["id"].as_str().unwrap().to_string();

    let tip = app
        .post_json_as(
            &format!("/v1/me/alerts/{active}/tips"),
            &alice.access_token,
            &json!({"text": "Zag hem rennen."}),
        )
        .await;
    let tip = tip.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let declaration = json!({"content_type": "image/jpeg", "size_bytes": 2_000, "sha256": "ab".repeat(32)});
    let media = app
        .post_json_as(&format!("/v1/me/alerts/{active}/tips/{tip}/media"), &alice.access_token, &declaration)
        .await;
    let media = media.json::<Value>().await.unwrap()["media"]["id"].as_str().unwrap().to_string();
    let not_ready = Invalid(409, "media_not_ready");
    let hold = json!({"reason": "Zaak 2026-118"});

    let preview = json!({"category": "search", "urgent": true, "channels": ["push", "sms"], "area": circle(ROTTERDAM, 1_000.0)});
    let other_region = Invalid(422, "area_outside_region");
    let update = json!({"texts": {"nl": {"message": "Richting Blaak."}}});
    let closing = json!({"outcome": "no_result", "texts": {"nl": {"message": "De actie is beëindigd."}}});
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        // Every dispatcher lists their own region's alerts; an area must touch their region.
        row(M::GET, "/v1/alerts", &[], None,
            [NO_TOKEN, STAFF_ONLY, Allowed(200), Allowed(200), ROLE_REQUIRED, ROLE_REQUIRED, Allowed(200)]),
        row(M::POST, "/v1/alerts/reach-preview", &[], Some(preview),
            [NO_TOKEN, STAFF_ONLY, Allowed(200), other_region, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED]),
        row(M::POST, "/v1/alerts", &[], Some(alert_body(circle(ROTTERDAM, 1_000.0))),
            [NO_TOKEN, STAFF_ONLY, Allowed(201), other_region, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED]),
        row(M::GET, "/v1/alerts/{alert_id}", &[&active], None, the_regions_dispatchers_and_admins(200)),
        row(M::GET, "/v1/alerts/{alert_id}/reach", &[&active], None, the_regions_dispatchers_and_admins(200)),
        // CAP 1.2: whoever sees the alert.
        row(M::GET, "/v1/alerts/{alert_id}/cap", &[&active], None, the_regions_dispatchers_and_admins(200)),
        row(M::GET, "/v1/alerts/{alert_id}/messages/{message_id}/cap", &[&active, &first_message], None,
            the_regions_dispatchers_and_admins(200)),
        // The audit log of reach previews: administrators only.
        row(M::GET, "/v1/reach-previews", &[], None,
            [NO_TOKEN, STAFF_ONLY, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(200)]),
        row(M::POST, "/v1/alerts/{alert_id}/send", &[&draft], None, only_the_regions_dispatchers(202)),
        row(M::POST, "/v1/alerts/{alert_id}/expansion-preview", &[&active],
            Some(json!({"area": circle(ROTTERDAM, 2_000.0)})), only_the_regions_dispatchers(200)),
        row(M::POST, "/v1/alerts/{alert_id}/expansions", &[&active], Some(json!({"area": circle(ROTTERDAM, 2_000.0)})),
            only_the_regions_dispatchers(202)),
        row(M::POST, "/v1/alerts/{alert_id}/updates", &[&active], Some(update), only_the_regions_dispatchers(202)),
        row(M::GET, "/v1/alerts/{alert_id}/tips", &[&active], None, the_regions_dispatchers_and_admins(200)),
        // Assessing is the control room's work; holds and views are open to administrators too.
        row(M::PUT, "/v1/alerts/{alert_id}/tips/{tip_id}/assessment", &[&active, &tip],
            Some(json!({"assessment": "relevant", "note": "Klopt met camerabeelden."})), only_the_regions_dispatchers(200)),
        row(M::PUT, "/v1/alerts/{alert_id}/tips/{tip_id}/legal-hold", &[&active, &tip], Some(hold.clone()),
            the_regions_dispatchers_and_admins(200)),
        row(M::DELETE, "/v1/alerts/{alert_id}/tips/{tip_id}/legal-hold", &[&active, &tip], None,
            the_regions_dispatchers_and_admins(204)),
        row(M::PUT, "/v1/alerts/{alert_id}/legal-hold", &[&active], Some(hold), the_regions_dispatchers_and_admins(200)),
        row(M::DELETE, "/v1/alerts/{alert_id}/legal-hold", &[&active], None, the_regions_dispatchers_and_admins(204)),
        row(M::POST, "/v1/alerts/{alert_id}/media/{media_id}/views", &[&active, &media],
            Some(json!({"preview": "thumbnail"})),
            [NO_TOKEN, STAFF_ONLY, not_ready, OUT_OF_SCOPE, ROLE_REQUIRED, ROLE_REQUIRED, not_ready]),
        row(M::POST, "/v1/alerts/{alert_id}/media/{media_id}/original-downloads", &[&active, &media],
            Some(json!({"reason": "Voor het onderzoek."})),
            [NO_TOKEN, STAFF_ONLY, not_ready, OUT_OF_SCOPE, ROLE_REQUIRED, ROLE_REQUIRED, not_ready]),
        row(M::GET, "/v1/alerts/{alert_id}/dossier", &[&active], None, the_regions_dispatchers_and_admins(200)),
        row(M::GET, "/v1/alerts/{alert_id}/dossier/verification", &[&active], None,
            the_regions_dispatchers_and_admins(200)),
        row(M::GET, "/v1/alerts/{alert_id}/events", &[&active], None, the_regions_dispatchers_and_admins(200)),

        // The participant's own alerts.
        row(M::GET, "/v1/me/alerts", &[], None, only_the_participant(200)),
        row(M::GET, "/v1/me/alerts/{alert_id}", &[&active], None, only_the_participant(200)),
        row(M::POST, "/v1/me/alerts/{alert_id}/receipts", &[&active], Some(json!({"kind": "opened"})),
            only_the_participant(204)),
        row(M::POST, "/v1/me/alerts/{alert_id}/tips", &[&active], Some(json!({"text": "Gezien bij de Markthal."})),
            only_the_participant(201)),
        row(M::PUT, "/v1/me/alerts/{alert_id}/answer", &[&active], Some(json!({"answer": "searching"})),
            only_the_participant(200)),
        row(M::GET, "/v1/me/alerts/{alert_id}/tips/{tip_id}", &[&active, &tip], None, only_the_participant(200)),
        row(M::POST, "/v1/me/alerts/{alert_id}/tips/{tip_id}/media", &[&active, &tip], Some(declaration),
            only_the_participant(201)),
        row(M::POST, "/v1/me/alerts/{alert_id}/tips/{tip_id}/media/{media_id}/completion", &[&active, &tip, &media],
            Some(json!({})), {
                let mut expect = only_the_participant(200);
                expect[1] = Invalid(409, "upload_missing");
                expect
            }),

        // Last: closing ends the alert.
        row(M::POST, "/v1/alerts/{alert_id}/close", &[&active], Some(closing), only_the_regions_dispatchers(200)),
        // Once closed, its public report (region managers write it too: `public_pages`).
        row(M::PUT, "/v1/alerts/{alert_id}/closing-report", &[&active], Some(json!({"text": "Zonder resultaat beëindigd."})),
            only_the_regions_dispatchers(200)),
    ];
    // A CAP message is not JSON: `cap::only_dispatchers_make_drafts_from_cap` checks its callers.
    let elsewhere = [("POST", "/v1/alerts/cap")];
    check_matrix(&app, &tokens, &alice.access_token, &matrix, &ALERT_TAGS, &elsewhere).await;

    // The refused calls changed nothing; each allowed one did its one thing.
    let alert = app.get_json(&format!("/v1/alerts/{active}"), &tokens.admin).await;
    assert_eq!(alert["status"], "closed");
    assert_eq!(alert["outcome"], "no_result");
    assert_eq!(alert["closing_report"]["text"], "Zonder resultaat beëindigd.");
    assert_eq!(alert["areas"].as_array().unwrap().len(), 2, "expanded once");
    let kinds: Vec<&str> =
        alert["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert", "alert", "update", "closing"]);
    let sent = app.get_json(&format!("/v1/alerts/{draft}"), &tokens.admin).await;
    assert_eq!(sent["status"], "active");
    let listed = app.get_json("/v1/alerts", &tokens.other_dispatcher).await;
    assert_eq!(listed, json!([]), "the other region's dispatcher lists only their own region's alerts");
    assert_eq!(app.get_json("/v1/alerts", &tokens.admin).await.as_array().unwrap().len(), 3);
}

/// A public endpoint's answer does not depend on the bearer token: a genuine refresh works
/// without one, and with a staff token or a participant's token attached.
#[tokio::test]
async fn the_sign_in_endpoints_need_no_token_and_ignore_one() {
    let app = TestApp::spawn().await;
    let alice = app.sign_up(ALICE_PHONE).await;
    let mut refresh_token = alice.refresh_token.clone();
    for token in [None, Some(app.admin_token()), Some(alice.access_token.clone())] {
        let mut request =
            app.client.post(app.url("/v1/session/refresh")).json(&json!({"refresh_token": refresh_token}));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "with {token:?}");
        let tokens: Value = response.json().await.unwrap();
        assert_eq!(tokens["participant_id"], alice.participant_id.to_string());
        refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    }

    // A code request with a staff token is a code request: the SMS goes out.
    let response = app
        .client
        .post(app.url("/v1/sign-in/codes"))
        .bearer_auth(app.dispatcher_token("rotterdam"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({"phone_number": BOB_PHONE}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(app.sms.sent().iter().filter(|sms| sms.to == BOB_PHONE).count(), 1);
}

/// The link in the verification e-mail is opened in a browser: it needs no token, ignores one,
/// and answers with a page, for everyone alike.
#[tokio::test]
async fn the_email_verification_link_is_public_and_answers_every_caller_with_the_same_page() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..Default::default() }).await;
    let tokens = Tokens::new(&app);
    let alice = app.sign_up(ALICE_PHONE).await;
    let email = json!({"email": "alice@example.nl"});
    let response = app.send_json_as(Method::PATCH, "/v1/me", &alice.access_token, &email).await;
    assert_eq!(response.status(), 200);
    let mail = app.smtp.wait_for_messages(1).await.remove(0);
    let link =
        mail.text_body.split_whitespace().find(|word| word.starts_with(PUBLIC_URL)).unwrap().to_string();
    let path = link.strip_prefix(PUBLIC_URL).unwrap();

    // The genuine link works with a staff token attached; the token is neither needed nor used.
    let response = app.get_as(path, &tokens.dispatcher).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("E-mailadres bevestigd"));
    assert_eq!(app.get_json("/v1/me", &alice.access_token).await["email_verified"], true);

    // A used link and an unknown one: the same "link does not work" page for every caller.
    let tokens_by_caller = [
        None,
        Some(alice.access_token.as_str()),
        Some(tokens.dispatcher.as_str()),
        Some(tokens.officer.as_str()),
        Some(tokens.other_officer.as_str()),
        Some(tokens.admin.as_str()),
    ];
    let mut mismatches = Vec::new();
    for path in [path.to_string(), "/v1/email-verifications/an-unknown-link".into()] {
        let row = row(
            Method::GET,
            "/v1/email-verifications/{token}",
            &[path.strip_prefix("/v1/email-verifications/").unwrap()],
            None,
            [Page(404); 7],
        );
        assert_eq!(row.path, path);
        for (caller, token) in CALLERS.into_iter().zip(tokens_by_caller) {
            mismatches.extend(check(&app, &row, caller, token, Page(404)).await);
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn officers_see_only_the_participants_their_own_municipality_manages() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let tokens = Tokens::new(&app);
    let alice = app.sign_up(ALICE_PHONE).await;
    let alice_home = add_place(&app, &alice, place_body("home", "Thuis", ROTTERDAM_HOME)).await;
    let bob = app.sign_up(BOB_PHONE).await;
    add_place(&app, &bob, place_body("home", "Thuis", AMSTERDAM_HOME)).await;
    let (alice_id, bob_id) = (alice.participant_id.to_string(), bob.participant_id.to_string());
    let rotterdam = "/v1/municipalities/GM0599/participants";
    let amsterdam = "/v1/municipalities/GM0363/participants";

    // Each officer's list of their own municipality holds exactly its own participant.
    let page = app.get_json(rotterdam, &tokens.officer).await;
    assert_eq!((participant_ids(&page), page["total"].as_i64()), (vec![alice_id.clone()], Some(1)), "{page}");
    assert_eq!(page["items"][0]["phone_number"], ALICE_PHONE);
    let page = app.get_json(amsterdam, &tokens.other_officer).await;
    assert_eq!((participant_ids(&page), page["total"].as_i64()), (vec![bob_id.clone()], Some(1)), "{page}");

    // Searching for the other municipality's participant by phone number finds nothing.
    let search = format!("{amsterdam}?phone_number=%2B31612340001");
    let page = app.get_json(&search, &tokens.other_officer).await;
    assert_eq!((participant_ids(&page), page["total"].as_i64()), (vec![], Some(0)), "{page}");
    let search = format!("{rotterdam}?phone_number=06%2012340001");
    assert_eq!(participant_ids(&app.get_json(&search, &tokens.officer).await), [alice_id.as_str()]);
    // The queues of one's own municipality do not show others' participants either.
    for queue in ["approval", "verification", "quarantine"] {
        let path = format!("/v1/municipalities/GM0363/queues/{queue}");
        assert_eq!(app.get_json(&path, &tokens.other_officer).await["total"], 0, "{queue}");
    }

    // Through one's own municipality, the other's participant does not exist: no record, and no
    // decision about them.
    for (path, token) in [
        (format!("{amsterdam}/{alice_id}"), &tokens.other_officer),
        (format!("{rotterdam}/{bob_id}"), &tokens.officer),
    ] {
        let (status, body) = problem(app.get_as(&path, token).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (404, "not_found"), "{path}");
        let decision = json!({"decision": "remove", "reason": "Verhuisd."});
        let (status, body) =
            problem(app.post_json_as(&format!("{path}/decisions"), token, &decision).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (404, "not_found"), "{path}/decisions");
    }
    // And the other municipality's list is refused outright.
    let (status, body) = problem(app.get_as(rotterdam, &tokens.other_officer).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "out_of_scope"));
    let record = app.get_json(&format!("{rotterdam}/{alice_id}"), &tokens.officer).await;
    assert_eq!(
        (record["status"].as_str(), record["staff_actions"].as_array().map(Vec::len)),
        (Some("active"), Some(0))
    );

    // The admin sees each municipality's own participants, through that municipality.
    assert_eq!(participant_ids(&app.get_json(rotterdam, &tokens.admin).await), [alice_id.as_str()]);
    assert_eq!(participant_ids(&app.get_json(amsterdam, &tokens.admin).await), [bob_id.as_str()]);

    // Scope follows the data: when Alice moves her home to Amsterdam, Amsterdam manages her and
    // Rotterdam's officer loses sight of her.
    let moved = place_body("home", "Thuis", AMSTERDAM_HOME);
    let response = app
        .send_json_as(Method::PUT, &format!("/v1/me/places/{alice_home}"), &alice.access_token, &moved)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get_json(rotterdam, &tokens.officer).await["total"], 0);
    assert_eq!(
        participant_ids(&app.get_json(amsterdam, &tokens.other_officer).await),
        [alice_id.clone(), bob_id]
    );
    assert_eq!(app.get_as(&format!("{rotterdam}/{alice_id}"), &tokens.officer).await.status(), 404);
    assert_eq!(app.get_as(&format!("{amsterdam}/{alice_id}"), &tokens.other_officer).await.status(), 200);
}

#[tokio::test]
async fn a_participant_cannot_read_or_change_another_participants_places_or_devices() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let alice = app.sign_up(ALICE_PHONE).await;
    let alice_place = add_place(&app, &alice, place_body("home", "Thuis", ROTTERDAM_HOME)).await;
    let alice_device = add_device(&app, &alice, FCM_TOKEN_1).await;
    let bob = app.sign_up(BOB_PHONE).await;
    let bob_place = add_place(&app, &bob, place_body("home", "Thuis", AMSTERDAM_HOME)).await;
    let bob_device = add_device(&app, &bob, FCM_TOKEN_BOB).await;
    let bob_before = (
        app.get_json("/v1/me/places", &bob.access_token).await,
        app.get_json("/v1/me/devices", &bob.access_token).await,
    );
    let nobodys = uuid::Uuid::new_v4().to_string();

    // Bob's ids are as unknown to Alice as ids that do not exist: the same 404, the same words.
    for (method, path, body) in [
        (Method::PUT, "/v1/me/places", Some(place_body("home", "Gekaapt", ROTTERDAM_HOME))),
        (Method::DELETE, "/v1/me/places", None),
        (Method::PUT, "/v1/me/devices", Some(device_body(FCM_TOKEN_2, "9.9.9"))),
        (Method::DELETE, "/v1/me/devices", None),
    ] {
        let bobs = if path.ends_with("places") { &bob_place } else { &bob_device };
        let mut answers = Vec::new();
        for id in [bobs, &nobodys] {
            let mut request = app
                .client
                .request(method.clone(), app.url(&format!("{path}/{id}")))
                .bearer_auth(&alice.access_token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let (status, problem_body) = problem(request.send().await.unwrap()).await;
            answers.push((status, problem_body["code"].clone(), problem_body["detail"].clone()));
        }
        assert_eq!(answers[0].0, 404, "{method} {path}/<bob's>: {answers:?}");
        assert_eq!(answers[0].1, "not_found");
        assert_eq!(answers[0], answers[1], "{method} {path}: bob's id and an unknown id are told apart");
    }

    // Alice's lists show only her own; Bob's are exactly as before.
    let places = app.get_json("/v1/me/places", &alice.access_token).await;
    let ids: Vec<&str> = places.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [alice_place.as_str()]);
    let devices = app.get_json("/v1/me/devices", &alice.access_token).await;
    let ids: Vec<&str> = devices.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [alice_device.as_str()]);
    let export = app.get_json("/v1/me/export", &alice.access_token).await;
    assert!(!export.to_string().contains(&bob_place) && !export.to_string().contains(&bob_device));
    let bob_after = (
        app.get_json("/v1/me/places", &bob.access_token).await,
        app.get_json("/v1/me/devices", &bob.access_token).await,
    );
    assert_eq!(bob_after, bob_before);
}

#[tokio::test]
async fn an_erased_participants_old_tokens_open_nothing() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let officer = app.relations_officer_token("GM0599");
    let leaver = app.sign_up(LEAVER_PHONE).await;
    let place = add_place(&app, &leaver, place_body("home", "Thuis", ROTTERDAM_HOME)).await;
    let device = add_device(&app, &leaver, FCM_TOKEN_1).await;
    let record = format!("/v1/municipalities/GM0599/participants/{}", leaver.participant_id);
    assert_eq!(app.get_as(&record, &officer).await.status(), 200);

    let response = app.delete_as("/v1/me", &leaver.access_token).await;
    assert_eq!(response.status(), 200);

    // Every participant endpoint refuses the old access token, whatever it asks for.
    let access = &leaver.access_token;
    for (method, path, body) in [
        (Method::GET, "/v1/session".to_string(), None),
        (Method::GET, "/v1/me".into(), None),
        (Method::PATCH, "/v1/me".into(), Some(json!({"display_name": "Weer terug"}))),
        (Method::DELETE, "/v1/me".into(), None),
        (Method::GET, "/v1/me/export".into(), None),
        (Method::GET, "/v1/me/places".into(), None),
        (Method::POST, "/v1/me/places".into(), Some(place_body("home", "Thuis", ROTTERDAM_HOME))),
        (Method::PUT, format!("/v1/me/places/{place}"), Some(place_body("home", "Thuis", ROTTERDAM_HOME))),
        (Method::DELETE, format!("/v1/me/places/{place}"), None),
        (Method::GET, "/v1/me/location".into(), None),
        (
            Method::PUT,
            "/v1/me/location".into(),
            Some(json!({"latitude": 51.92, "longitude": 4.48, "accuracy_meters": 5.0})),
        ),
        (Method::DELETE, "/v1/me/location".into(), None),
        (Method::GET, "/v1/me/devices".into(), None),
        (Method::POST, "/v1/me/devices".into(), Some(device_body(FCM_TOKEN_2, "2.4.1"))),
        (Method::PUT, format!("/v1/me/devices/{device}"), Some(device_body(FCM_TOKEN_1, "2.4.1"))),
        (Method::DELETE, format!("/v1/me/devices/{device}"), None),
        (Method::GET, "/v1/me/target-groups".into(), None),
        (Method::POST, "/v1/me/target-groups".into(), Some(json!({"invitation_code": "ABCD-EFGH-JK"}))),
        (Method::DELETE, format!("/v1/me/target-groups/{}", uuid::Uuid::new_v4()), None),
        (Method::DELETE, "/v1/session".into(), None),
    ] {
        let mut request = app.client.request(method.clone(), app.url(&path)).bearer_auth(access);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, problem_body) = problem(request.send().await.unwrap()).await;
        assert_eq!(
            (status, problem_body["code"].as_str().unwrap()),
            (401, "session_revoked"),
            "{method} {path}"
        );
    }
    // The refresh token is dead too.
    let response = app
        .client
        .post(app.url("/v1/session/refresh"))
        .json(&json!({"refresh_token": leaver.refresh_token}))
        .send();
    let (status, _) = problem(response.await.unwrap()).await;
    assert_eq!(status, 401);

    // The municipality no longer has them.
    let page = app.get_json("/v1/municipalities/GM0599/participants", &officer).await;
    assert_eq!(page["total"], 0, "{page}");
    assert_eq!(app.get_as(&record, &officer).await.status(), 404);
}

/// The matrix of the partners' keys and their CAP feed: administrators make, list and revoke
/// keys; the feed and its messages open with a partner key (`X-Partner-Key`) only, so every
/// caller with a bearer token, or none, gets 401 `invalid_partner_key`. Rows run in order: last,
/// the key made before the matrix is revoked.
#[tokio::test]
async fn every_partner_key_and_partner_feed_endpoint_answers_each_caller_as_the_matrix_says() {
    use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let tokens = Tokens::new(&app);
    let participant = app.unchecked_participant_token(burgernet_core::ids::ParticipantId::new());
    let key_body = json!({"name": "Matrixborden", "regions": ["rotterdam"], "categories": ["search"]});
    let key = app.post_json_as("/v1/partner-keys", &tokens.admin, &key_body).await;
    assert_eq!(key.status(), 201);
    let key: Value = key.json().await.unwrap();
    let key_id = key["id"].as_str().unwrap().to_string();
    let alert = app.send_new_alert(&tokens.dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let sent = app.get_json(&format!("/v1/alerts/{alert}"), &tokens.admin).await;
    let message = sent["messages"][0]["id"].as_str().unwrap().to_string();

    let partner_key_only = the_same_for_everyone(Denied(401, "invalid_partner_key"));
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        row(M::POST, "/v1/partner-keys", &[], Some(json!({"name": "Omroep", "regions": ["amsterdam"], "categories": ["alarm"]})),
            only_admins(201)),
        row(M::GET, "/v1/partner-keys", &[], None, only_admins(200)),
        row(M::GET, "/v1/cap/feed", &[], None, partner_key_only),
        row(M::GET, "/v1/cap/messages/{message_id}", &[&message], None, partner_key_only),
        // Last: revoking ends the key.
        row(M::DELETE, "/v1/partner-keys/{key_id}", &[&key_id], None, only_admins(204)),
    ];
    check_matrix(&app, &tokens, &participant, &matrix, &["partners", "partner feed"], &[]).await;

    // The refused calls changed nothing; each allowed one did its one thing.
    let keys = app.get_json("/v1/partner-keys", &tokens.admin).await;
    let names: Vec<&str> = keys.as_array().unwrap().iter().map(|key| key["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Matrixborden", "Omroep"], "one key made: {keys}");
    assert!(keys[0]["revoked_at"].is_string() && keys[1]["revoked_at"].is_null(), "{keys}");
    assert!(keys[0]["last_used_at"].is_null(), "no call had a partner key");
}

/// The matrix of the scenarios: the region managers of its region and administrators keep a
/// scenario, its dispatchers list it and make alerts of it, and to staff of another region it does
/// not exist (404 `scenario_not_found`; their list of Rotterdam's is `out_of_scope`). Scenarios are
/// the region managers' work, so here the two officer columns hold the region managers of
/// Rotterdam and of Amsterdam; the relations officers, who have no part in scenarios, are refused
/// on every row after the matrix. Rows run in order: last, the scenario is archived.
#[tokio::test]
async fn every_scenario_endpoint_answers_each_caller_as_the_matrix_says() {
    use crate::scenarios::{filled_in, overval_juwelier};
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let relations_officers = Tokens::new(&app);
    let tokens = Tokens {
        officer: app.region_manager_token("rotterdam"),
        other_officer: app.region_manager_token("amsterdam"),
        ..Tokens::new(&app)
    };
    let alice = app.sign_up(ALICE_PHONE).await;
    let scenario =
        app.post_json_as("/v1/regions/rotterdam/scenarios", &tokens.officer, &overval_juwelier()).await;
    assert_eq!(scenario.status(), 201);
    let scenario: Value = scenario.json().await.unwrap();
    let scenario_id = scenario["id"].as_str().unwrap().to_string();
    let named = |name: &str| {
        let mut body = overval_juwelier();
        body["name"] = json!(name);
        body
    };

    // To staff of another region the scenario does not exist.
    const UNSEEN: Expect = Denied(404, "scenario_not_found");
    let keepers = |success| {
        [NO_TOKEN, STAFF_ONLY, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(success), UNSEEN, Allowed(success)]
    };
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        row(M::GET, "/v1/regions/{region_code}/scenarios", &["rotterdam"], None,
            [NO_TOKEN, STAFF_ONLY, Allowed(200), OUT_OF_SCOPE, Allowed(200), OUT_OF_SCOPE, Allowed(200)]),
        // The region manager makes one scenario, the administrator (who calls after) another.
        Row {
            admin_body: Some(named("Gestolen auto")),
            ..row(M::POST, "/v1/regions/{region_code}/scenarios", &["rotterdam"], Some(named("Vermist kind")),
                [NO_TOKEN, STAFF_ONLY, ROLE_REQUIRED, ROLE_REQUIRED, Allowed(201), OUT_OF_SCOPE, Allowed(201)])
        },
        row(M::PUT, "/v1/scenarios/{scenario_id}", &[&scenario_id], Some(named("Overval juwelier (centrum)")),
            keepers(200)),
        row(M::POST, "/v1/scenarios/{scenario_id}/alerts", &[&scenario_id], Some(filled_in()),
            [NO_TOKEN, STAFF_ONLY, Allowed(201), UNSEEN, ROLE_REQUIRED, ROLE_REQUIRED, ROLE_REQUIRED]),
        // Last: archiving ends the scenario.
        row(M::DELETE, "/v1/scenarios/{scenario_id}", &[&scenario_id], None, keepers(204)),
    ];
    check_matrix(&app, &tokens, &alice.access_token, &matrix, &["scenarios"], &[]).await;

    let mut mismatches = Vec::new();
    let officers =
        [(Officer, &relations_officers.officer), (OtherOfficer, &relations_officers.other_officer)];
    for row in &matrix {
        for (caller, token) in officers {
            mismatches.extend(check(&app, row, caller, Some(token.as_str()), ROLE_REQUIRED).await);
        }
    }
    assert!(mismatches.is_empty(), "relations officers:\n{}", mismatches.join("\n"));

    // The refused calls changed nothing; each allowed one did its one thing.
    let listed = app.get_json("/v1/regions/rotterdam/scenarios", &tokens.admin).await;
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Gestolen auto", "Vermist kind"], "two made, the replaced one archived");
    assert_eq!(app.database_count("SELECT count(*) FROM scenarios").await, 3);
    assert_eq!(
        app.database_count("SELECT count(*) FROM scenarios WHERE name = 'Overval juwelier (centrum)'").await,
        1
    );
    assert_eq!(app.database_count("SELECT count(*) FROM alerts").await, 1, "one alert made of it");
}

/// The matrix of the public endpoints (a real alert's page, its share text, a region's feed of
/// closed alerts, the pages' icon): open to everyone, so every caller, with any token or none, gets the same 200.
#[tokio::test]
async fn every_public_endpoint_answers_every_caller_alike() {
    use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let tokens = Tokens::new(&app);
    let participant = app.unchecked_participant_token(burgernet_core::ids::ParticipantId::new());
    let alert = app.send_new_alert(&tokens.dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let sent = app.get_json(&format!("/v1/alerts/{alert}"), &tokens.dispatcher).await;
    let public_id = sent["public_id"].as_str().unwrap().to_string();

    let everyone = the_same_for_everyone(Allowed(200));
    use Method as M;
    #[rustfmt::skip]
    let matrix = vec![
        row(M::GET, "/public/alerts/{public_id}", &[&public_id], None, everyone),
        row(M::GET, "/public/alerts/{public_id}/share-text", &[&public_id], None, everyone),
        row(M::GET, "/public/regions/{region_code}/closed-alerts.atom", &["rotterdam"], None, everyone),
        row(M::GET, "/public/icon.svg", &[], None, everyone),
    ];
    check_matrix(&app, &tokens, &participant, &matrix, &["public"], &[]).await;
}
