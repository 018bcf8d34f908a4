// The tables as diesel sees them. Keep in step with `migrations/`; geometry columns are read
// and written only through PostGIS functions in `sql_query`, never loaded as raw values.

pub mod sql_types {
    /// PostGIS `geometry`.
    #[derive(diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "geometry"))]
    pub struct Geometry;
}

diesel::table! {
    regions (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    municipalities (cbs_code) {
        cbs_code -> Text,
        name -> Text,
        inhabitants -> Int4,
        boundary -> Geometry,
        region_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        requires_approval -> Bool,
    }
}

diesel::table! {
    background_jobs (id) {
        id -> Int8,
        job_type -> Text,
        payload -> Jsonb,
        priority -> Int2,
        state -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        locked_by -> Nullable<Uuid>,
        lease_expires_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    participants (id) {
        id -> Uuid,
        status -> Text,
        phone_number -> Nullable<Text>,
        display_name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified_at -> Nullable<Timestamptz>,
        email_set_at -> Nullable<Timestamptz>,
        language -> Text,
        channels -> Array<Text>,
        categories -> Array<Text>,
        live_location_enabled -> Bool,
        municipality_cbs -> Nullable<Text>,
        status_changed_at -> Timestamptz,
        erased_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        municipal_messages -> Array<Text>,
        email_bounced_at -> Nullable<Timestamptz>,
        exercises -> Bool,
    }
}

diesel::table! {
    sign_in_challenges (phone_number) {
        phone_number -> Text,
        code_hash -> Bytea,
        sent_at -> Timestamptz,
        expires_at -> Timestamptz,
        failed_attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        provider_message_id -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limit_counters (key) {
        key -> Text,
        window_started_at -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    participant_sessions (id) {
        id -> Uuid,
        participant_id -> Uuid,
        created_at -> Timestamptz,
        last_refreshed_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        rotated_from -> Nullable<Bytea>,
        replaced_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    email_verifications (token_hash) {
        token_hash -> Bytea,
        participant_id -> Uuid,
        email -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    places (id) {
        id -> Uuid,
        participant_id -> Uuid,
        kind -> Text,
        name -> Text,
        location -> Geometry,
        postcode -> Nullable<Text>,
        house_number -> Nullable<Text>,
        municipality_cbs -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    place_time_windows (place_id, position) {
        place_id -> Uuid,
        position -> Int2,
        days -> Array<Int2>,
        from_minute -> Int2,
        until_minute -> Int2,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    live_locations (participant_id) {
        participant_id -> Uuid,
        location -> Geometry,
        accuracy_meters -> Float4,
        recorded_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    devices (id) {
        id -> Uuid,
        participant_id -> Uuid,
        platform -> Text,
        push_token -> Text,
        apns_environment -> Nullable<Text>,
        app_version -> Text,
        locale -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    participant_staff_actions (id) {
        id -> Int8,
        participant_id -> Uuid,
        municipality_cbs -> Nullable<Text>,
        staff_subject -> Text,
        staff_name -> Nullable<Text>,
        staff_role -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    alerts (id) {
        id -> Uuid,
        region_id -> Uuid,
        status -> Text,
        category -> Text,
        urgent -> Bool,
        channels -> Array<Text>,
        description -> Jsonb,
        texts -> Jsonb,
        call_back_number -> Nullable<Text>,
        area -> Geometry,
        outcome -> Nullable<Text>,
        created_by_subject -> Text,
        created_by_name -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        recruiting_until -> Nullable<Timestamptz>,
        recruiting_channels -> Nullable<Array<Text>>,
        windows_checked_at -> Nullable<Timestamptz>,
        purpose -> Text,
        reach_key -> Text,
        reach_area -> Bool,
        incident_reference -> Nullable<Text>,
        public_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    alert_areas (alert_id, wave) {
        alert_id -> Uuid,
        wave -> Int2,
        shape -> Nullable<Jsonb>,
        area -> Nullable<Geometry>,
        created_by_subject -> Text,
        created_at -> Timestamptz,
        recipients_selected_at -> Nullable<Timestamptz>,
        matched_by -> Nullable<Text>,
    }
}

diesel::table! {
    alert_messages (id) {
        id -> Uuid,
        alert_id -> Uuid,
        kind -> Text,
        wave -> Nullable<Int2>,
        texts -> Jsonb,
        created_by_subject -> Text,
        created_at -> Timestamptz,
        to_answers -> Nullable<Array<Text>>,
    }
}

diesel::table! {
    alert_recipients (participant_id, alert_id) {
        alert_id -> Uuid,
        participant_id -> Uuid,
        wave -> Int2,
        batch_no -> Int4,
        received_at -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        push_expected -> Bool,
        answer -> Nullable<Text>,
        answered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    delivery_batches (message_id, batch_no, lane) {
        message_id -> Uuid,
        batch_no -> Int4,
        alert_id -> Uuid,
        attempts -> Int4,
        runs_recorded -> Int4,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        lane -> Text,
        abandoned_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Int8,
        alert_id -> Uuid,
        message_id -> Uuid,
        batch_no -> Int4,
        participant_id -> Uuid,
        channel -> Text,
        device_id -> Nullable<Uuid>,
        platform -> Nullable<Text>,
        reason -> Text,
        state -> Text,
        attempts -> Int2,
        resent_after_interruption -> Bool,
        provider_message_id -> Nullable<Text>,
        error_code -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        billable_minutes -> Nullable<Int4>,
        called_again -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    tips (id) {
        id -> Uuid,
        alert_id -> Uuid,
        participant_id -> Nullable<Uuid>,
        text -> Text,
        seen_at -> Nullable<Timestamptz>,
        location -> Nullable<Geometry>,
        accuracy_meters -> Nullable<Float4>,
        may_call_back -> Bool,
        created_at -> Timestamptz,
        answer -> Nullable<Text>,
    }
}

diesel::table! {
    tip_text_keys (tip_id) {
        tip_id -> Uuid,
        key -> Bytea,
    }
}

diesel::table! {
    alert_dossier (alert_id, seq) {
        alert_id -> Uuid,
        seq -> Int4,
        kind -> Text,
        actor -> Text,
        actor_name -> Nullable<Text>,
        body -> Jsonb,
        recorded_at -> Timestamptz,
        prev_hash -> Nullable<Bytea>,
        hash -> Bytea,
    }
}

diesel::table! {
    reach_previews (id) {
        id -> Int8,
        previewed_at -> Timestamptz,
        staff_subject -> Text,
        staff_name -> Nullable<Text>,
        region_id -> Uuid,
        alert_id -> Nullable<Uuid>,
        area_sha256 -> Bytea,
        category -> Text,
        channels -> Array<Text>,
        participants -> Int8,
        push_participants -> Int8,
        ios_devices -> Int8,
        android_devices -> Int8,
        sms_participants -> Int8,
        sms_fallback_participants -> Int8,
        email_participants -> Int8,
        target_group_participants -> Int8,
        voice_participants -> Int8,
        voice_fallback_participants -> Int8,
    }
}

diesel::table! {
    alert_rollups (alert_id) {
        alert_id -> Uuid,
        region_id -> Uuid,
        send_day -> Date,
        category -> Text,
        urgent -> Bool,
        outcome -> Nullable<Text>,
        recipients -> Int4,
        acknowledged -> Int4,
        opened -> Int4,
        tips -> Int4,
        seconds_to_first_push -> Nullable<Float8>,
        seconds_to_last_push -> Nullable<Float8>,
        #[sql_name = "final"]
        is_final -> Bool,
        rolled_up_at -> Timestamptz,
        purpose -> Text,
    }
}

diesel::table! {
    participation_changes (municipality_cbs, day, reason) {
        day -> Date,
        municipality_cbs -> Text,
        reason -> Text,
        participants -> Int4,
    }
}

diesel::table! {
    // No primary key: a municipality of NULL (participants in none) has its row too; diesel
    // needs one named, and these rows are only read through SQL.
    alert_municipality_rollups (alert_id, send_day) {
        alert_id -> Uuid,
        send_day -> Date,
        municipality_cbs -> Nullable<Text>,
        recipients -> Int4,
        acknowledged -> Int4,
        opened -> Int4,
    }
}

diesel::table! {
    // No primary key either (see above).
    alert_channel_rollups (alert_id, send_day, channel) {
        alert_id -> Uuid,
        send_day -> Date,
        municipality_cbs -> Nullable<Text>,
        channel -> Text,
        sent -> Int4,
        delivered -> Int4,
        failed -> Int4,
        acknowledged -> Int4,
        opened -> Int4,
        sms_no_push_device -> Int4,
        sms_push_failed -> Int4,
        sms_not_acknowledged -> Int4,
        sms_segments -> Int4,
        devices_removed -> Int4,
        voice_minutes -> Int4,
    }
}

diesel::table! {
    participation_counts (municipality_cbs, day) {
        day -> Date,
        municipality_cbs -> Text,
        active -> Int4,
        app -> Int4,
        sms_only -> Int4,
        email_only -> Int4,
        counted_at -> Timestamptz,
    }
}

diesel::table! {
    distribution_counts (municipality_cbs, cell_x, cell_y, postcode_area) {
        municipality_cbs -> Text,
        cell_x -> Int8,
        cell_y -> Int8,
        postcode_area -> Text,
        participants -> Int4,
    }
}

diesel::table! {
    target_groups (id) {
        id -> Uuid,
        region_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        owner_subject -> Text,
        owner_name -> Nullable<Text>,
        invitation_code -> Text,
        created_by_subject -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    target_group_members (group_id, participant_id) {
        group_id -> Uuid,
        participant_id -> Uuid,
        status -> Text,
        requested_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by_subject -> Nullable<Text>,
    }
}

diesel::table! {
    alert_target_groups (alert_id, group_id) {
        alert_id -> Uuid,
        group_id -> Uuid,
    }
}

diesel::joinable!(target_groups -> regions (region_id));
diesel::joinable!(target_group_members -> target_groups (group_id));
diesel::joinable!(target_group_members -> participants (participant_id));
diesel::joinable!(alert_target_groups -> alerts (alert_id));

diesel::table! {
    closing_reports (alert_id) {
        alert_id -> Uuid,
        text -> Text,
        written_by_subject -> Text,
        written_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(closing_reports -> alerts (alert_id));
diesel::joinable!(alert_target_groups -> target_groups (group_id));

diesel::table! {
    scenarios (id) {
        id -> Uuid,
        region_id -> Uuid,
        name -> Text,
        category -> Text,
        urgent -> Bool,
        channels -> Array<Text>,
        radius_meters -> Float8,
        texts -> Jsonb,
        created_by_subject -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(scenarios -> regions (region_id));

diesel::joinable!(municipalities -> regions (region_id));
diesel::joinable!(participant_sessions -> participants (participant_id));
diesel::joinable!(refresh_tokens -> participant_sessions (session_id));
diesel::joinable!(places -> participants (participant_id));
diesel::joinable!(place_time_windows -> places (place_id));
diesel::joinable!(devices -> participants (participant_id));
diesel::joinable!(participant_staff_actions -> participants (participant_id));
diesel::joinable!(alerts -> regions (region_id));
diesel::joinable!(alert_areas -> alerts (alert_id));
diesel::joinable!(alert_messages -> alerts (alert_id));
diesel::joinable!(alert_recipients -> alerts (alert_id));
diesel::joinable!(alert_recipients -> participants (participant_id));
diesel::joinable!(delivery_batches -> alert_messages (message_id));
diesel::joinable!(deliveries -> alert_messages (message_id));
diesel::joinable!(deliveries -> participants (participant_id));
diesel::joinable!(tips -> alerts (alert_id));
diesel::joinable!(tip_text_keys -> tips (tip_id));
diesel::joinable!(alert_dossier -> alerts (alert_id));
diesel::joinable!(reach_previews -> regions (region_id));
diesel::joinable!(alert_rollups -> alerts (alert_id));
diesel::joinable!(alert_rollups -> regions (region_id));
diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geometry;

    municipal_messages (id) {
        id -> Uuid,
        municipality_cbs -> Text,
        kind -> Text,
        channels -> Array<Text>,
        texts -> Jsonb,
        area -> Nullable<Geometry>,
        status -> Text,
        send_at -> Nullable<Timestamptz>,
        created_by_subject -> Text,
        created_by_name -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sending_started_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    municipal_message_recipients (message_id, participant_id, channel) {
        message_id -> Uuid,
        participant_id -> Uuid,
        channel -> Text,
        state -> Text,
        failure_code -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        unsubscribe_token_hash -> Nullable<Bytea>,
        sent_at -> Nullable<Timestamptz>,
        bounced_at -> Nullable<Timestamptz>,
        unsubscribed_at -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    partner_keys (id) {
        id -> Uuid,
        name -> Text,
        key_hash -> Bytea,
        key_prefix -> Text,
        regions -> Array<Text>,
        categories -> Array<Text>,
        include_exercises -> Bool,
        created_by_subject -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(municipal_message_recipients -> municipal_messages (message_id));
diesel::joinable!(municipal_message_recipients -> participants (participant_id));

diesel::allow_tables_to_appear_in_same_query!(
    municipal_messages,
    municipal_message_recipients,
    regions,
    municipalities,
    background_jobs,
    participants,
    sign_in_challenges,
    rate_limit_counters,
    participant_sessions,
    refresh_tokens,
    email_verifications,
    places,
    place_time_windows,
    live_locations,
    devices,
    participant_staff_actions,
    alerts,
    alert_areas,
    alert_messages,
    alert_recipients,
    delivery_batches,
    deliveries,
    tips,
    tip_text_keys,
    alert_dossier,
    reach_previews,
    alert_rollups,
    alert_municipality_rollups,
    alert_channel_rollups,
    participation_changes,
    participation_counts,
    distribution_counts,
    target_groups,
    target_group_members,
    alert_target_groups,
    scenarios,
    partner_keys,
    closing_reports,
);
