// The tables as diesel sees them. Keep in step with `migrations/`; geometry columns are read
// and written through PostGIS functions (see `crate::geo`), never loaded as raw values.

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

diesel::joinable!(municipalities -> regions (region_id));
diesel::allow_tables_to_appear_in_same_query!(regions, municipalities, background_jobs);
