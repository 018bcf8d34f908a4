//! One file per resource. `configure` registers every route of the contract; the OpenAPI
//! document is generated from the same call, so the two cannot drift apart.

pub mod alert_reports;
pub mod alerts;
pub mod closing_reports;
#[cfg(feature = "local")]
pub mod dev;
#[cfg(feature = "local")]
pub mod dev_identity;
pub mod devices;
pub mod email_bounces;
pub mod me;
pub mod media_store;
pub mod municipal_messages;
pub mod municipalities;
pub mod my_alerts;
pub mod my_messages;
pub mod operations;
pub mod participant_management;
pub mod participation_reports;
pub mod partners;
pub mod places;
pub mod public_alerts;
pub mod reach_previews;
pub mod regions;
pub mod reports;
pub mod scenarios;
pub mod session;
pub mod sign_in;
pub mod sms_receipts;
pub mod staff;
pub mod target_groups;
pub mod tip_review;
pub mod unsubscribe;
pub mod voice_statuses;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(operations::healthz)
        .service(operations::readyz)
        .service(operations::metrics)
        .service(operations::openapi_json)
        .service(operations::reference)
        .service(staff::current_staff_member)
        .service(regions::list_regions)
        .service(regions::create_region)
        // Before `/v1/regions/{code}`, which would take `overview` for a region's code.
        .service(regions::regions_overview)
        .service(regions::get_region)
        .service(regions::list_region_municipalities)
        .service(regions::get_region_map)
        .service(municipalities::get_municipality)
        .service(municipalities::municipality_participation)
        .service(participation_reports::participation_report)
        .service(participation_reports::distribution_report)
        .service(alert_reports::alert_results_report)
        .service(alert_reports::delivery_report)
        .service(alert_reports::costs_report)
        .service(reports::management)
        .service(session::current_session)
        .service(sign_in::request_code)
        .service(sign_in::verify_code)
        .service(sign_in::refresh_session)
        .service(sign_in::sign_out)
        .service(me::get_profile)
        .service(me::update_profile)
        .service(me::export)
        .service(me::erase)
        .service(me::confirm_email)
        .service(places::list_places)
        .service(places::add_place)
        .service(places::replace_place)
        .service(places::remove_place)
        .service(places::get_location)
        .service(places::update_location)
        .service(places::forget_location)
        .service(devices::list_devices)
        .service(devices::register_device)
        .service(devices::update_device)
        .service(devices::remove_device)
        .service(participant_management::list_participants)
        .service(participant_management::list_queue)
        .service(participant_management::get_participant)
        .service(participant_management::decide)
        .service(participant_management::set_approval_policy)
        .service(municipal_messages::create_message)
        .service(municipal_messages::list_messages)
        .service(municipal_messages::get_message)
        .service(municipal_messages::preview_message)
        .service(municipal_messages::schedule_message)
        .service(municipal_messages::cancel_message)
        .service(target_groups::create_target_group)
        .service(target_groups::list_target_groups)
        .service(target_groups::get_target_group)
        .service(target_groups::update_target_group)
        .service(target_groups::archive_target_group)
        .service(target_groups::renew_invitation_code)
        .service(target_groups::list_members)
        .service(target_groups::approve_member)
        .service(target_groups::remove_member)
        .service(target_groups::join_target_group)
        .service(target_groups::list_my_target_groups)
        .service(target_groups::leave_target_group)
        .service(scenarios::list_scenarios)
        .service(scenarios::create_scenario)
        .service(scenarios::replace_scenario)
        .service(scenarios::archive_scenario)
        .service(scenarios::create_alert_from_scenario)
        .service(unsubscribe::unsubscribe_page)
        .service(unsubscribe::unsubscribe)
        .service(public_alerts::public_alert_page)
        .service(public_alerts::share_text)
        .service(public_alerts::closed_alerts_feed)
        .service(public_alerts::public_icon)
        .service(alerts::list_alerts)
        .service(alerts::preview_reach)
        .service(alerts::create_alert_from_cap)
        .service(alerts::create_alert)
        .service(alerts::get_alert)
        .service(alerts::latest_cap)
        .service(alerts::message_cap)
        .service(partners::create_partner_key)
        .service(partners::list_partner_keys)
        .service(partners::revoke_partner_key)
        .service(partners::cap_feed)
        .service(partners::partner_cap_message)
        .service(alerts::alert_reach)
        .service(alerts::send_alert)
        .service(alerts::expand_area)
        .service(alerts::preview_expansion)
        .service(alerts::post_update)
        .service(alerts::close_alert)
        .service(closing_reports::write_closing_report)
        .service(reach_previews::list_reach_previews)
        .service(tip_review::list_tips)
        .service(tip_review::assess_tip)
        .service(tip_review::place_tip_hold)
        .service(tip_review::lift_tip_hold)
        .service(tip_review::place_alert_hold)
        .service(tip_review::lift_alert_hold)
        .service(tip_review::view_media)
        .service(tip_review::download_original)
        .service(alerts::export_dossier)
        .service(alerts::verify_dossier)
        .service(alerts::alert_event_stream)
        .service(my_alerts::list_my_alerts)
        .service(my_alerts::get_my_alert)
        .service(my_alerts::report_receipt)
        .service(my_alerts::send_tip)
        .service(my_alerts::answer_alert)
        .service(my_alerts::get_my_tip)
        .service(my_alerts::declare_media)
        .service(my_alerts::complete_media)
        .service(my_messages::list_my_messages)
        .service(my_messages::get_my_message)
        .service(my_messages::report_opened)
        .service(sms_receipts::receive_sms_receipt)
        .service(voice_statuses::receive_call_status)
        .service(email_bounces::receive_bounce)
        .service(media_store::upload_object)
        .service(media_store::download_object);
}
