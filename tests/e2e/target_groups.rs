//! Target groups (doelgroepen): an administrator creates a group for a region and names its owner,
//! a dispatcher of the region; the owner hands out the invitation code; participants type it in
//! the app and the owner approves them. Staff of the region see the group and how many members it
//! has (never an exact count under 5); only the owner and administrators see the code and the
//! members; staff of another region do not see the group at all.
//!
//! The people: the owner is dispatcher `dienstleider-rotterdam` of region `rotterdam`; the
//! ordinary test tokens (`staff-1`) are other people, so Rotterdam's dispatcher of those tokens is
//! staff of the region who does not own the group.

use burgernet_core::auth::staff::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::Profile;
use crate::helpers::{SignedIn, TestApp, assert_problem};

/// The subject of the group's owner.
const OWNER: &str = "dienstleider-rotterdam";

const ALICE: &str = "+31612345001";
const BOB: &str = "+31612345002";
const CAROL: &str = "+31612345003";

/// The owner, in their role of dispatcher of Rotterdam.
fn owner_token(app: &TestApp) -> String {
    app.staff_member_token(OWNER, StaffRole::Dispatcher { region: "rotterdam".into() })
}

fn handhavers() -> Value {
    json!({
        "name": "Handhavers Rotterdam",
        "description": "Boa's van de gemeente Rotterdam.",
        "owner": {"subject": OWNER, "name": "Dienstleider Rotterdam"},
    })
}

/// Creates a group as the administrator and returns it.
async fn create_group(app: &TestApp, region: &str, body: Value) -> Value {
    let path = format!("/v1/regions/{region}/target-groups");
    let response = app.post_json_as(&path, &app.admin_token(), &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let group: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/target-groups/{}", group["id"].as_str().unwrap()));
    group
}

/// The admin creates Rotterdam's enforcement officers' group; returns its path and code.
async fn scene(app: &TestApp) -> (String, String) {
    app.load_reference_data().await;
    let group = create_group(app, "rotterdam", handhavers()).await;
    let code = group["invitation_code"].as_str().unwrap().to_string();
    (format!("/v1/target-groups/{}", group["id"].as_str().unwrap()), code)
}

async fn join(app: &TestApp, who: &SignedIn, code: &str) -> reqwest::Response {
    app.post_json_as("/v1/me/target-groups", &who.access_token, &json!({"invitation_code": code})).await
}

/// Joins, expecting a new request, and returns it.
async fn join_new(app: &TestApp, who: &SignedIn, code: &str) -> Value {
    let response = join(app, who, code).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn is_handed_out_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    let alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    parts.iter().map(|part| part.len()).collect::<Vec<_>>() == [4, 4, 2]
        && parts.concat().chars().all(|c| alphabet.contains(c))
}

#[tokio::test]
async fn the_owner_approves_a_participant_who_joined_with_the_code() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let owner = owner_token(&app);
    assert!(is_handed_out_code(&code), "{code}");
    let stored = code.replace('-', "");
    let stored_as = format!("SELECT count(*) FROM target_groups WHERE invitation_code = '{stored}'");
    assert_eq!(app.database_count(&stored_as).await, 1, "stored without hyphens");

    // Alice types the code as people do: in lower case, with spaces.
    let alice = app.participant(ALICE, Profile::default()).await;
    app.expect_ok(Method::PATCH, "/v1/me", &alice.access_token, json!({"display_name": "Alice"})).await;
    let typed = code.to_lowercase().replace('-', " ");
    let request = join_new(&app, &alice, &typed).await;
    assert_eq!(request["status"], "pending");
    assert_eq!(request["group"]["name"], "Handhavers Rotterdam");
    assert_eq!(request["group"]["region"], "rotterdam");
    assert_eq!(format!("/v1/target-groups/{}", request["group"]["id"].as_str().unwrap()), group);
    assert!(request["requested_at"].is_string() && request["decided_at"].is_null(), "{request}");
    // Asking again answers with the request there is.
    let again = join(&app, &alice, &code).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), request);

    // The owner sees who asked: the name Alice gave and her number, masked.
    let pending = app.get_json(&format!("{group}/members?status=pending"), &owner).await;
    assert_eq!(pending["total"], 1, "{pending}");
    let asked = &pending["items"][0];
    assert_eq!(asked["participant_id"], alice.participant_id.to_string());
    assert_eq!(asked["display_name"], "Alice");
    assert_eq!(asked["phone_number"], "+31*******01");
    assert_eq!(asked["status"], "pending");
    assert_eq!(app.get_json(&format!("{group}/members?status=approved"), &owner).await["total"], 0);

    let approval = format!("{group}/members/{}", alice.participant_id);
    let approved = app.expect_ok(Method::PUT, &approval, &owner, Value::Null).await;
    assert_eq!(approved["status"], "approved");
    assert!(approved["decided_at"].is_string(), "{approved}");
    // Approving again changes nothing, also not when it was approved.
    assert_eq!(app.expect_ok(Method::PUT, &approval, &app.admin_token(), Value::Null).await, approved);
    let mine = app.get_json("/v1/me/target-groups", &alice.access_token).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["status"], "approved");
    assert_eq!(mine[0]["decided_at"], approved["decided_at"]);
    // The participant's data export lists it.
    let export = app.get_json("/v1/me/export", &alice.access_token).await;
    assert_eq!(export["target_groups"].as_array().map(Vec::len), Some(1), "{}", export["target_groups"]);
    assert_eq!(export["target_groups"][0]["status"], "approved");
    assert_eq!(export["target_groups"][0]["region"], "rotterdam");

    // Staff of the region see the group and its counts, never under 5 exactly, and not the code.
    let expected_members = json!({"approved": {"fewer_than": 5}, "pending": {"fewer_than": 5}});
    for token in [
        app.dispatcher_token("rotterdam"),
        app.region_manager_token("rotterdam"),
        app.relations_officer_token("GM0599"),
    ] {
        let listed = app.get_json("/v1/target-groups", &token).await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let seen = app.get_json(&group, &token).await;
        assert_eq!(listed[0], seen);
        assert_eq!(seen["members"], expected_members);
        assert_eq!(seen["owner"], json!({"subject": OWNER, "name": "Dienstleider Rotterdam"}));
        assert_eq!(seen["description"], "Boa's van de gemeente Rotterdam.");
        assert!(seen["invitation_code"].is_null(), "{seen}");
    }
    // The owner and administrators see the code.
    for token in [&owner, &app.admin_token()] {
        assert_eq!(app.get_json(&group, token).await["invitation_code"], code.as_str());
        assert_eq!(app.get_json("/v1/target-groups", token).await[0]["invitation_code"], code.as_str());
    }
}

#[tokio::test]
async fn a_new_invitation_code_replaces_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let (group, old) = scene(&app).await;
    let owner = owner_token(&app);
    let alice = app.participant(ALICE, Profile::default()).await;
    join_new(&app, &alice, &old).await;

    let renewed = app.expect_ok(Method::POST, &format!("{group}/invitation-code"), &owner, Value::Null).await;
    let new = renewed["invitation_code"].as_str().unwrap().to_string();
    assert!(is_handed_out_code(&new) && new != old, "{old} then {new}");
    assert_eq!(app.get_json(&group, &owner).await["invitation_code"], new.as_str());

    let bob = app.participant(BOB, Profile::default()).await;
    assert_problem(join(&app, &bob, &old).await, 404, "unknown_invitation_code").await;
    join_new(&app, &bob, &new).await;
    // Alice's request, made with the old code, stays.
    assert_eq!(app.get_json(&format!("{group}/members"), &owner).await["total"], 2);
    // An administrator may renew it too.
    let renew = format!("{group}/invitation-code");
    let renewed = app.expect_ok(Method::POST, &renew, &app.admin_token(), Value::Null).await;
    assert_ne!(renewed["invitation_code"], new.as_str());
}

#[tokio::test]
async fn only_the_owner_sees_the_members_and_other_regions_do_not_see_the_group() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let alice = app.participant(ALICE, Profile::default()).await;
    join_new(&app, &alice, &code).await;
    let member = format!("{group}/members/{}", alice.participant_id);

    // Staff of Rotterdam who do not own the group: refused.
    for token in [app.dispatcher_token("rotterdam"), app.relations_officer_token("GM0599")] {
        assert_problem(app.get_as(&format!("{group}/members"), &token).await, 403, "not_group_owner").await;
        let approve = app.send_json_as(Method::PUT, &member, &token, &Value::Null).await;
        assert_problem(approve, 403, "not_group_owner").await;
        assert_problem(app.delete_as(&member, &token).await, 403, "not_group_owner").await;
        let renew = app.post_json_as(&format!("{group}/invitation-code"), &token, &Value::Null).await;
        assert_problem(renew, 403, "not_group_owner").await;
    }
    // Staff of Amsterdam: there is no such group; also not for the owner's own subject when they
    // act as a dispatcher of Amsterdam.
    let owner_in_amsterdam =
        app.staff_member_token(OWNER, StaffRole::Dispatcher { region: "amsterdam".into() });
    for token in
        [app.dispatcher_token("amsterdam"), app.relations_officer_token("GM0363"), owner_in_amsterdam]
    {
        assert_problem(app.get_as(&group, &token).await, 404, "target_group_not_found").await;
        assert_problem(app.get_as(&format!("{group}/members"), &token).await, 404, "target_group_not_found")
            .await;
        let approve = app.send_json_as(Method::PUT, &member, &token, &Value::Null).await;
        assert_problem(approve, 404, "target_group_not_found").await;
        assert_eq!(app.get_json("/v1/target-groups", &token).await, json!([]));
    }
    // An unknown group gets the same answer as another region's.
    let unknown = format!("/v1/target-groups/{}", uuid::Uuid::new_v4());
    assert_problem(app.get_as(&unknown, &owner_token(&app)).await, 404, "target_group_not_found").await;
    // Naming another region in the list is refused outright; one's own is fine.
    let amsterdam = app.dispatcher_token("amsterdam");
    assert_problem(app.get_as("/v1/target-groups?region=rotterdam", &amsterdam).await, 403, "out_of_scope")
        .await;
    let own = app.get_json("/v1/target-groups?region=rotterdam", &app.dispatcher_token("rotterdam")).await;
    assert_eq!(own.as_array().unwrap().len(), 1);

    // Only administrators keep the groups: not even the owner creates, changes or archives one.
    let owner = owner_token(&app);
    let create = app.post_json_as("/v1/regions/rotterdam/target-groups", &owner, &handhavers()).await;
    assert_problem(create, 403, "role_required").await;
    let rename = app.send_json_as(Method::PATCH, &group, &owner, &json!({"name": "Boa's"})).await;
    assert_problem(rename, 403, "role_required").await;
    assert_problem(app.delete_as(&group, &owner).await, 403, "role_required").await;
    // Participants are sent away, and so is a call without a token.
    assert_problem(app.get_as("/v1/target-groups", &alice.access_token).await, 403, "staff_only").await;
    assert_problem(app.get_as(&format!("{group}/members"), &alice.access_token).await, 403, "staff_only")
        .await;
    assert_problem(app.get("/v1/target-groups").await, 401, "unauthenticated").await;
    // Staff are sent to the app for the participant's side.
    let staff_join =
        app.post_json_as("/v1/me/target-groups", &owner, &json!({"invitation_code": code})).await;
    assert_problem(staff_join, 403, "participants_only").await;

    // Nothing changed: the request waits; the owner still approves it.
    let approved = app.expect_ok(Method::PUT, &member, &owner, Value::Null).await;
    assert_eq!(approved["status"], "approved");
}

#[tokio::test]
async fn an_administrator_renames_a_group_and_hands_it_to_another_owner() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let admin = app.admin_token();
    let changes = json!({
        "name": "Boa's Rotterdam",
        "description": null,
        "owner": {"subject": "wijkagent-gm0599"},
    });
    let changed = app.expect_ok(Method::PATCH, &group, &admin, changes).await;
    assert_eq!(changed["name"], "Boa's Rotterdam");
    assert!(changed["description"].is_null(), "{changed}");
    assert_eq!(changed["owner"], json!({"subject": "wijkagent-gm0599", "name": null}));
    assert_eq!(changed["invitation_code"], code.as_str(), "the code stays");
    // An empty change changes nothing.
    assert_eq!(app.expect_ok(Method::PATCH, &group, &admin, json!({})).await["name"], "Boa's Rotterdam");

    // The new owner works for a municipality of the region; the old one owns it no more.
    let new_owner = app.staff_member_token(
        "wijkagent-gm0599",
        StaffRole::RelationsOfficer { municipality: "GM0599".into() },
    );
    assert_eq!(app.get_json(&group, &new_owner).await["invitation_code"], code.as_str());
    assert_eq!(app.get_json(&format!("{group}/members"), &new_owner).await["total"], 0);
    assert!(app.get_json(&group, &owner_token(&app)).await["invitation_code"].is_null());
    assert_problem(app.get_as(&format!("{group}/members"), &owner_token(&app)).await, 403, "not_group_owner")
        .await;

    // Without an owner named, the administrator who creates a group owns it.
    let ours = create_group(&app, "rotterdam", json!({"name": "Taxichauffeurs"})).await;
    assert_eq!(ours["owner"], json!({"subject": "staff-1", "name": "Test Staff"}));
    assert!(ours["description"].is_null());
    assert_eq!(ours["members"], json!({"approved": {"fewer_than": 5}, "pending": {"fewer_than": 5}}));
    assert!(ours["archived_at"].is_null());
}

#[tokio::test]
async fn guessing_codes_stops_after_ten_attempts_an_hour() {
    let app = TestApp::spawn().await;
    let (_, code) = scene(&app).await;
    let alice = app.participant(ALICE, Profile::default()).await;
    let wrong = |n: usize| format!("ZZZZ-ZZZZ-Z{}", &"23456789ABCDEF"[n..=n]);
    for n in 0..10 {
        assert_problem(join(&app, &alice, &wrong(n)).await, 404, "unknown_invitation_code").await;
    }
    let response = join(&app, &alice, &wrong(10)).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429, "too_many_attempts").await;
    // Within the hour even the right code is refused, so a code found by trying would be no use.
    assert_problem(join(&app, &alice, &code).await, 429, "too_many_attempts").await;
    assert_eq!(app.database_count("SELECT count(*) FROM target_group_members").await, 0);
    // Another participant is not held back.
    let bob = app.participant(BOB, Profile::default()).await;
    join_new(&app, &bob, &code).await;
}

#[tokio::test]
async fn an_archived_group_takes_no_members_and_drops_its_requests() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let (owner, admin) = (owner_token(&app), app.admin_token());
    let alice = app.participant(ALICE, Profile::default()).await;
    let bob = app.participant(BOB, Profile::default()).await;
    join_new(&app, &alice, &code).await;
    join_new(&app, &bob, &code).await;
    let alice_member = format!("{group}/members/{}", alice.participant_id);
    app.expect_ok(Method::PUT, &alice_member, &owner, Value::Null).await;

    assert_eq!(app.delete_as(&group, &admin).await.status(), 204);
    // Bob's request is gone; Alice stays a member, so alerts that reached her keep naming the group.
    let statuses = "SELECT count(*) FROM target_group_members";
    assert_eq!(app.database_count(&format!("{statuses} WHERE status = 'pending'")).await, 0);
    assert_eq!(app.database_count(&format!("{statuses} WHERE status = 'approved'")).await, 1);
    let members = app.get_json(&format!("{group}/members"), &owner).await;
    assert_eq!(members["items"][0]["participant_id"], alice.participant_id.to_string());
    assert_eq!(members["total"], 1);

    // No new members: the code opens nothing.
    let carol = app.participant(CAROL, Profile::default()).await;
    assert_problem(join(&app, &carol, &code).await, 404, "unknown_invitation_code").await;
    assert_eq!(app.get_json("/v1/me/target-groups", &bob.access_token).await, json!([]));

    // Listed only when archived groups are asked for.
    assert_eq!(app.get_json("/v1/target-groups", &admin).await, json!([]));
    assert_eq!(app.get_json("/v1/target-groups", &owner).await, json!([]));
    let archived = app.get_json("/v1/target-groups?archived=true", &owner).await;
    assert_eq!(archived.as_array().unwrap().len(), 1, "{archived}");
    assert!(archived[0]["archived_at"].is_string(), "{archived}");
    assert_eq!(app.get_json(&group, &owner).await, archived[0]);

    // It changes no more, but members can still be removed, and archiving again is no change.
    let renew = app.post_json_as(&format!("{group}/invitation-code"), &owner, &Value::Null).await;
    assert_problem(renew, 409, "target_group_archived").await;
    let approve = app.send_json_as(Method::PUT, &alice_member, &owner, &Value::Null).await;
    assert_problem(approve, 409, "target_group_archived").await;
    let rename = app.send_json_as(Method::PATCH, &group, &admin, &json!({"name": "Oud"})).await;
    assert_problem(rename, 409, "target_group_archived").await;
    assert_eq!(app.delete_as(&group, &admin).await.status(), 204);
    assert_eq!(app.delete_as(&alice_member, &owner).await.status(), 204);
    assert_eq!(app.database_count(statuses).await, 0);

    // Its name is free again for a new group of the region.
    create_group(&app, "rotterdam", handhavers()).await;
}

#[tokio::test]
async fn participants_leave_and_erasure_removes_their_memberships() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let owner = owner_token(&app);
    let taxis =
        create_group(&app, "rotterdam", json!({"name": "Taxichauffeurs", "owner": {"subject": OWNER}})).await;
    let taxi_code = taxis["invitation_code"].as_str().unwrap();
    let alice = app.participant(ALICE, Profile::default()).await;
    let group_id = group.rsplit('/').next().unwrap();

    // Leaving withdraws a request; leaving again finds nothing.
    join_new(&app, &alice, &code).await;
    let leave = format!("/v1/me/target-groups/{group_id}");
    assert_eq!(app.delete_as(&leave, &alice.access_token).await.status(), 204);
    assert_problem(app.delete_as(&leave, &alice.access_token).await, 404, "not_a_member").await;
    assert_eq!(app.get_json(&format!("{group}/members"), &owner).await["total"], 0);

    // A member leaves as well; the owner's rejection of a request removes it just the same.
    join_new(&app, &alice, &code).await;
    app.expect_ok(Method::PUT, &format!("{group}/members/{}", alice.participant_id), &owner, Value::Null)
        .await;
    assert_eq!(app.delete_as(&leave, &alice.access_token).await.status(), 204);
    join_new(&app, &alice, &code).await;
    let member = format!("{group}/members/{}", alice.participant_id);
    assert_eq!(app.delete_as(&member, &owner).await.status(), 204);
    assert_problem(app.delete_as(&member, &owner).await, 404, "member_not_found").await;
    assert_eq!(app.get_json("/v1/me/target-groups", &alice.access_token).await, json!([]));

    // Erasure removes every membership and request, from the database itself.
    join_new(&app, &alice, &code).await;
    join_new(&app, &alice, taxi_code).await;
    app.expect_ok(Method::PUT, &member, &owner, Value::Null).await;
    let hers = format!(
        "SELECT count(*) FROM target_group_members WHERE participant_id = '{}'",
        alice.participant_id
    );
    assert_eq!(app.database_count(&hers).await, 2);
    assert_eq!(app.delete_as("/v1/me", &alice.access_token).await.status(), 200);
    assert_eq!(app.database_count(&hers).await, 0);
    assert_eq!(app.get_json(&format!("{group}/members"), &owner).await["total"], 0);
}

#[tokio::test]
async fn only_active_participants_join() {
    let app = TestApp::spawn().await;
    let (_, code) = scene(&app).await;
    let alice = app.participant(ALICE, Profile::default()).await;
    let decision = json!({"decision": "quarantine", "reason": "Sms-berichten komen niet aan."});
    let path = format!("/v1/municipalities/GM0599/participants/{}/decisions", alice.participant_id);
    app.expect_ok(Method::POST, &path, &app.relations_officer_token("GM0599"), decision).await;
    assert_problem(join(&app, &alice, &code).await, 403, "participant_not_active").await;
    assert_eq!(app.database_count("SELECT count(*) FROM target_group_members").await, 0);
}

#[tokio::test]
async fn malformed_input_is_refused_with_a_problem_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (group, code) = scene(&app).await;
    let (admin, owner) = (app.admin_token(), owner_token(&app));
    let create = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move { app.post_json_as("/v1/regions/rotterdam/target-groups", &admin, &body).await }
    };

    // Names, descriptions, owners, and the shape of the body.
    let cases = [
        (json!({"name": "x".repeat(101)}), 422, "invalid_group_name"),
        (json!({"name": "   "}), 422, "invalid_group_name"),
        (json!({"name": "Twee\nregels"}), 422, "invalid_group_name"),
        (json!({"name": "Taxi's", "description": "x".repeat(501)}), 422, "invalid_group_description"),
        (json!({"name": "Taxi's", "owner": {"subject": ""}}), 422, "invalid_owner"),
        (json!({"name": "Taxi's", "owner": {"subject": "s", "role": "admin"}}), 422, "invalid_body"),
        (json!({"name": "Taxi's", "colour": "geel"}), 422, "invalid_body"),
        (json!({"description": "Zonder naam"}), 422, "invalid_body"),
        (json!({"name": 7}), 422, "invalid_body"),
        // The same name as a group of the region, in another case.
        (json!({"name": "HANDHAVERS rotterdam"}), 409, "target_group_name_taken"),
    ];
    for (body, status, code) in cases {
        assert_problem(create(body).await, status, code).await;
    }
    let not_json = app
        .client
        .post(app.url("/v1/regions/rotterdam/target-groups"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400, "malformed_json").await;
    let path = "/v1/regions/Rotterdam/target-groups";
    assert_problem(app.post_json_as(path, &admin, &handhavers()).await, 400, "invalid_path_parameter").await;
    let path = "/v1/regions/utrecht/target-groups";
    assert_problem(app.post_json_as(path, &admin, &handhavers()).await, 404, "not_found").await;
    // The same name in another region is another group.
    create_group(&app, "amsterdam", json!({"name": "Handhavers Rotterdam"})).await;

    // Changes are held to the same rules.
    for (body, status, code) in [
        (json!({"name": ""}), 422, "invalid_group_name"),
        (json!({"owner": null, "extra": 1}), 422, "invalid_body"),
        (json!({"owner": {"subject": "x".repeat(201)}}), 422, "invalid_owner"),
    ] {
        assert_problem(app.send_json_as(Method::PATCH, &group, &admin, &body).await, status, code).await;
    }
    let taxis = create_group(&app, "rotterdam", json!({"name": "Taxichauffeurs"})).await;
    let taxis = format!("/v1/target-groups/{}", taxis["id"].as_str().unwrap());
    let rename =
        app.send_json_as(Method::PATCH, &taxis, &admin, &json!({"name": "handhavers ROTTERDAM"})).await;
    assert_problem(rename, 409, "target_group_name_taken").await;

    // Malformed ids and queries.
    for path in ["/v1/target-groups/not-a-uuid", "/v1/target-groups/not-a-uuid/members"] {
        assert_problem(app.get_as(path, &owner).await, 400, "invalid_path_parameter").await;
    }
    let malformed = format!("{group}/members/not-a-uuid");
    let approve = app.send_json_as(Method::PUT, &malformed, &owner, &Value::Null).await;
    assert_problem(approve, 400, "invalid_path_parameter").await;
    let alice = app.participant(ALICE, Profile::default()).await;
    let leave = app.delete_as("/v1/me/target-groups/42", &alice.access_token).await;
    assert_problem(leave, 400, "invalid_path_parameter").await;
    for query in ["status=rejected", "status=PENDING", "page=0", "per_page=101", "sort=name"] {
        let path = format!("{group}/members?{query}");
        assert_problem(app.get_as(&path, &owner).await, 400, "invalid_query").await;
    }
    for query in ["archived=maybe", "region=Rotterdam", "owner=me"] {
        let path = format!("/v1/target-groups?{query}");
        assert_problem(app.get_as(&path, &admin).await, 400, "invalid_query").await;
    }
    // A participant who never asked cannot be approved or removed.
    let stranger = format!("{group}/members/{}", alice.participant_id);
    let approve = app.send_json_as(Method::PUT, &stranger, &owner, &Value::Null).await;
    assert_problem(approve, 404, "member_not_found").await;
    assert_problem(app.delete_as(&stranger, &owner).await, 404, "member_not_found").await;

    // Codes that cannot be codes are refused without counting as a guess.
    for (body, status, problem_code) in [
        (json!({"invitation_code": "ABCD-EFGH"}), 422, "invalid_invitation_code"),
        (json!({"invitation_code": "ABCD-EFGH-J0"}), 422, "invalid_invitation_code"),
        (json!({"invitation_code": ""}), 422, "invalid_invitation_code"),
        (json!({"invitation_code": code, "name": "Alice"}), 422, "invalid_body"),
        (json!({}), 422, "invalid_body"),
    ] {
        let response = app.post_json_as("/v1/me/target-groups", &alice.access_token, &body).await;
        assert_problem(response, status, problem_code).await;
    }
    let counted = "SELECT count(*) FROM rate_limit_counters WHERE key LIKE 'target-group-join:%'";
    assert_eq!(app.database_count(counted).await, 0);
    assert_eq!(app.database_count("SELECT count(*) FROM target_group_members").await, 0);
    assert_eq!(app.get_json("/v1/target-groups", &admin).await.as_array().unwrap().len(), 3);
}
