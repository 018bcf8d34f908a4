//! Many participants at once, straight into the database with one SQL statement (the API would
//! take minutes for tens of thousands): active, every category, push and SMS chosen, a phone
//! number each, a home in Rotterdam, and for a chosen share a push device. Load the reference
//! data first (`app.load_reference_data()`): homes belong to GM0599.

use diesel::QueryableByName;
use diesel::sql_types::{Double, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::TestApp;

/// Homes lie in a square of about 2 by 2 km around this point (Rotterdam centre, GM0599), so a
/// 2 km circle around it covers them all.
pub const POPULATION_CENTRE: (f64, f64) = (51.92, 4.48);

/// What was seeded, to compare with what the fakes received.
#[derive(Debug, Clone, Default)]
pub struct Population {
    pub android_tokens: Vec<String>,
    pub ios_tokens: Vec<String>,
    /// Participants without a device: only an SMS reaches them.
    pub sms_only_phones: Vec<String>,
    pub participants: usize,
}

impl Population {
    /// Every device token and SMS-only phone number: each should receive the alert.
    pub fn targets(&self) -> impl Iterator<Item = &String> {
        self.android_tokens.iter().chain(&self.ios_tokens).chain(&self.sms_only_phones)
    }
}

#[derive(QueryableByName)]
struct SeededRow {
    #[diesel(sql_type = Text)]
    phone_number: String,
    #[diesel(sql_type = Nullable<Text>)]
    platform: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    push_token: Option<String>,
}

/// Participant `n` gets phone number `+3161` and `n` in seven digits, a home spread over the
/// square by two multiplicative hashes of `n`, and, when `n % 100` is below the share, a device:
/// Android for even `n`, iOS for odd `n`.
const SEED: &str = "
    WITH seeded AS (
        INSERT INTO participants (id, phone_number, municipality_cbs, channels)
        SELECT gen_random_uuid(), '+3161' || lpad(n::text, 7, '0'), 'GM0599', '{push,sms}'
          FROM generate_series(1, $1) AS n
        RETURNING id, phone_number),
    numbered AS (
        SELECT id, phone_number, right(phone_number, 7)::int AS n FROM seeded),
    homes AS (
        INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
        SELECT gen_random_uuid(), id, 'home', 'Thuis',
               ST_SetSRID(ST_MakePoint($4 + ((n::bigint * 7919) % 1000 / 1000.0 - 0.5) * 0.029,
                                       $3 + ((n::bigint * 104729) % 1000 / 1000.0 - 0.5) * 0.018), 4326),
               'GM0599'
          FROM numbered),
    added_devices AS (
        INSERT INTO devices (id, participant_id, platform, push_token, apns_environment, app_version, locale)
        SELECT gen_random_uuid(), id,
               CASE WHEN n % 2 = 0 THEN 'android' ELSE 'ios' END,
               CASE WHEN n % 2 = 0 THEN 'seed-' || n || ':APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq'
                    ELSE lpad(to_hex(n), 64, '0') END,
               CASE WHEN n % 2 = 0 THEN NULL ELSE 'production' END,
               '2.4.1', 'nl-NL'
          FROM numbered
         WHERE n % 100 < $2
        RETURNING participant_id, platform, push_token)
    SELECT s.phone_number, d.platform, d.push_token
      FROM numbered s LEFT JOIN added_devices d ON d.participant_id = s.id";

impl TestApp {
    /// Seeds `count` participants (at most once per database: the phone numbers are fixed), of
    /// whom `percent_with_device` in every hundred have a push device.
    pub async fn seed_population(&self, count: u32, percent_with_device: u32) -> Population {
        assert!(count < 10_000_000 && percent_with_device <= 100);
        let mut conn = self.database.connect().await;
        let rows: Vec<SeededRow> = diesel::sql_query(SEED)
            .bind::<Integer, _>(i32::try_from(count).unwrap())
            .bind::<Integer, _>(i32::try_from(percent_with_device).unwrap())
            .bind::<Double, _>(POPULATION_CENTRE.0)
            .bind::<Double, _>(POPULATION_CENTRE.1)
            .load(&mut conn)
            .await
            .expect("seed the population");
        let mut population = Population { participants: rows.len(), ..Population::default() };
        for row in rows {
            match (row.platform.as_deref(), row.push_token) {
                (Some("android"), Some(token)) => population.android_tokens.push(token),
                (Some("ios"), Some(token)) => population.ios_tokens.push(token),
                _ => population.sms_only_phones.push(row.phone_number),
            }
        }
        population
    }
}
