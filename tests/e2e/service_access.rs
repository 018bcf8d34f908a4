//! The services decide access themselves, not only the HTTP routes in front of them. Called
//! directly, as a new entry point would call them (the console, an admin task), they refuse staff
//! of another region or municipality, and a role that may look but not act, before they read or
//! change anything.

use burgernet_core::alerts::access::AccessError;
use burgernet_core::alerts::lifecycle::{self, AlertError};
use burgernet_core::alerts::{dossier, progress, reach, tip_review};
use burgernet_core::auth::staff::{StaffMember, StaffRole};
use burgernet_core::ids::{AlertId, ParticipantId, TipId};
use burgernet_core::participants::management::{self, Listing, ManagementError};
use burgernet_core::reference_data::{self, LookupError};
use burgernet_core::vocabulary::alerts::AlertStatus;
use burgernet_core::vocabulary::regions::{CbsCode, RegionCode};
use chrono::{TimeDelta, Utc};

use crate::helpers::alerts::{ROTTERDAM, alert_body, circle};
use crate::helpers::{TestApp, TestAppOptions};

/// How long a sent alert recruits those who enter its area (the default).
const RECRUITING: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

fn staff(role: StaffRole) -> StaffMember {
    StaffMember {
        subject: "staff-service-access".into(),
        name: None,
        role,
        token_expires_at: Utc::now() + TimeDelta::hours(1),
    }
}

fn dispatcher_of(region: &str) -> StaffMember {
    staff(StaffRole::Dispatcher { region: region.into() })
}

fn manager_of(region: &str) -> StaffMember {
    staff(StaffRole::RegionManager { region: region.into() })
}

fn officer_of(municipality: &str) -> StaffMember {
    staff(StaffRole::RelationsOfficer { municipality: municipality.into() })
}

fn out_of_scope(result: Result<impl std::fmt::Debug, AccessError>) -> bool {
    matches!(result, Err(AccessError::OutOfScope(_)))
}

fn alert_out_of_scope(result: Result<impl std::fmt::Debug, AlertError>) -> bool {
    matches!(result, Err(AlertError::Access(AccessError::OutOfScope(_))))
}

#[tokio::test]
async fn alert_services_refuse_other_regions_and_let_administrators_look_but_not_act() {
    let app = TestApp::spawn_with(TestAppOptions::default()).await;
    app.load_reference_data().await;
    let created =
        app.create_alert(&app.dispatcher_token("rotterdam"), alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let alert = AlertId(created["id"].as_str().unwrap().parse().unwrap());
    let mut conn = app.database.connect().await;
    let conn = &mut conn;
    let (rotterdam, amsterdam) = (dispatcher_of("rotterdam"), dispatcher_of("amsterdam"));
    let (admin, officer) = (staff(StaffRole::Admin), officer_of("GM0599"));
    let (rotterdam_manager, amsterdam_manager) = (manager_of("rotterdam"), manager_of("amsterdam"));

    // Looking: the region's dispatchers and manager, and administrators; nobody else.
    for outsider in [&amsterdam, &amsterdam_manager, &officer] {
        assert!(out_of_scope(progress::view(conn, outsider, alert).await), "{outsider:?}");
        assert!(out_of_scope(progress::look_up(conn, outsider, alert).await), "{outsider:?}");
        assert!(out_of_scope(dossier::export_for(conn, outsider, alert).await), "{outsider:?}");
        assert!(alert_out_of_scope(reach::of_alert(conn, outsider, alert).await), "{outsider:?}");
        let tips = tip_review::set_legal_hold(conn, outsider, alert, None, None).await;
        assert!(
            matches!(tips, Err(tip_review::TipReviewError::Access(AccessError::OutOfScope(_)))),
            "{tips:?}"
        );
    }
    assert_eq!(progress::view(conn, &admin, alert).await.unwrap().status, AlertStatus::Draft);
    assert_eq!(progress::view(conn, &rotterdam_manager, alert).await.unwrap().status, AlertStatus::Draft);
    assert!(dossier::export_for(conn, &rotterdam_manager, alert).await.is_ok());
    assert_eq!(progress::list(conn, &rotterdam_manager, None, None, 50).await.unwrap().len(), 1);
    assert!(progress::list(conn, &amsterdam_manager, None, None, 50).await.unwrap().is_empty());
    assert!(progress::list(conn, &amsterdam, None, None, 50).await.unwrap().is_empty());
    assert_eq!(progress::list(conn, &admin, None, None, 50).await.unwrap().len(), 1);
    // An alert that does not exist is not found, for anyone who may look at all.
    assert!(matches!(progress::view(conn, &rotterdam, AlertId::new()).await, Err(AccessError::NotFound)));

    // The region's manager reads the alert but keeps no evidence: a legal hold is refused before
    // its reason is even read.
    let hold = tip_review::set_legal_hold(conn, &rotterdam_manager, alert, None, None).await;
    assert!(matches!(hold, Err(tip_review::TipReviewError::Access(AccessError::OutOfScope(_)))), "{hold:?}");

    // Acting: the region's own dispatchers only; administrators and the region's manager read
    // every alert of theirs but act on none.
    for outsider in [&amsterdam, &admin, &rotterdam_manager, &officer] {
        assert!(alert_out_of_scope(lifecycle::send(conn, outsider, alert, RECRUITING).await), "{outsider:?}");
        let assessed = tip_review::assess(
            conn,
            outsider,
            alert,
            TipId::new(),
            &serde_json::from_value(serde_json::json!({"assessment": "relevant"})).unwrap(),
        )
        .await;
        assert!(
            matches!(assessed, Err(tip_review::TipReviewError::Access(AccessError::OutOfScope(_)))),
            "{outsider:?}: {assessed:?}"
        );
    }
    // The refusals changed nothing: the alert is still a draft, and its own dispatcher sends it.
    assert_eq!(progress::view(conn, &rotterdam, alert).await.unwrap().status, AlertStatus::Draft);
    let sent = lifecycle::send(conn, &rotterdam, alert, RECRUITING).await.unwrap();
    assert_eq!(sent.status, AlertStatus::Active);
    assert!(sent.sent_at.is_some());
}

#[tokio::test]
async fn municipal_services_refuse_other_municipalities_and_dispatchers() {
    let app = TestApp::spawn_with(TestAppOptions::default()).await;
    app.load_reference_data().await;
    let mut conn = app.database.connect().await;
    let conn = &mut conn;
    let rotterdam_officer = officer_of("GM0599");
    let schiedam_officer = officer_of("GM0606");
    let dispatcher = dispatcher_of("rotterdam");
    let manager = manager_of("rotterdam");
    let no_one = ParticipantId::new();

    // The region's dispatchers and manager read figures, not participants' records.
    for outsider in [&schiedam_officer, &dispatcher, &manager] {
        let listed = management::list(conn, outsider, "GM0599", &Listing::default()).await;
        assert!(matches!(listed, Err(ManagementError::OutOfScope(_))), "{outsider:?}: {listed:?}");
        // Scope first: an outsider cannot even learn whether the participant exists.
        let record = management::record(conn, outsider, "GM0599", no_one).await;
        assert!(matches!(record, Err(ManagementError::OutOfScope(_))), "{outsider:?}: {record:?}");
        let policy = management::set_requires_approval(conn, outsider, "GM0599", true).await;
        assert!(matches!(policy, Err(ManagementError::OutOfScope(_))), "{outsider:?}: {policy:?}");
    }
    assert!(matches!(
        management::record(conn, &rotterdam_officer, "GM0599", no_one).await,
        Err(ManagementError::NotFound)
    ));
    management::set_requires_approval(conn, &rotterdam_officer, "GM0599", false).await.unwrap();

    // Reference data: a dispatcher sees their region and its municipalities, not another's.
    let rotterdam = RegionCode::parse("rotterdam").unwrap();
    let amsterdam_dispatcher = dispatcher_of("amsterdam");
    let region = reference_data::region_for(conn, &amsterdam_dispatcher, &rotterdam).await;
    assert!(matches!(region, Err(LookupError::OutOfScope(_))), "{region:?}");
    let municipalities =
        reference_data::municipalities_of_region_for(conn, &amsterdam_dispatcher, &rotterdam).await;
    assert!(matches!(municipalities, Err(LookupError::OutOfScope(_))), "{municipalities:?}");
    let gm0599 = CbsCode::parse("GM0599").unwrap();
    let municipality = reference_data::municipality_for(conn, &amsterdam_dispatcher, &gm0599).await;
    assert!(matches!(municipality, Err(LookupError::OutOfScope(_))), "{municipality:?}");
    assert_eq!(reference_data::municipality_for(conn, &dispatcher, &gm0599).await.unwrap().cbs_code, gm0599);
    assert_eq!(reference_data::region_for(conn, &dispatcher, &rotterdam).await.unwrap().code, rotterdam);
    assert_eq!(reference_data::municipality_for(conn, &manager, &gm0599).await.unwrap().cbs_code, gm0599);
    let other_manager = manager_of("amsterdam");
    let municipality = reference_data::municipality_for(conn, &other_manager, &gm0599).await;
    assert!(matches!(municipality, Err(LookupError::OutOfScope(_))), "{municipality:?}");
}
