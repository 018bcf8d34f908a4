-- Participants (deelnemers) and everything they register: sessions, places, live location,
-- push devices. Personal data lives only in these tables; erasing a participant deletes it and
-- keeps a row without identity (erased_at set) so records of alerts already sent stay whole.

-- Whether new participants of a municipality wait for a relations officer's approval.
ALTER TABLE municipalities ADD COLUMN requires_approval boolean NOT NULL DEFAULT false;

CREATE TABLE participants (
    id                     uuid PRIMARY KEY,
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('pending', 'active', 'quarantined', 'removed')),
    -- E.164; NULL only once erased.
    phone_number           text UNIQUE CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    display_name           text CHECK (length(display_name) BETWEEN 1 AND 100),
    email                  text CHECK (length(email) BETWEEN 3 AND 254),
    email_verified_at      timestamptz,
    email_set_at           timestamptz,
    language               text NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
    channels               text[] NOT NULL DEFAULT '{push,sms}'
                           CHECK (channels <@ '{push,sms,email}'::text[]),
    categories             text[] NOT NULL DEFAULT '{inform,engage,alarm,search}'
                           CHECK (categories <@ '{inform,engage,alarm,search}'::text[]),
    live_location_enabled  boolean NOT NULL DEFAULT false,
    -- The municipality that manages the participant: that of their home, else of their first place.
    municipality_cbs       text REFERENCES municipalities (cbs_code),
    status_changed_at      timestamptz NOT NULL DEFAULT now(),
    erased_at              timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((erased_at IS NULL) = (phone_number IS NOT NULL)),
    CHECK (email_verified_at IS NULL OR email IS NOT NULL),
    CHECK (erased_at IS NULL OR (email IS NULL AND display_name IS NULL AND status = 'removed'))
);
CREATE INDEX participants_municipality_idx ON participants (municipality_cbs, status, created_at, id);
CREATE TRIGGER participants_updated_at BEFORE UPDATE ON participants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One outstanding sign-in code per phone number. Only a keyed hash of the code is stored.
CREATE TABLE sign_in_challenges (
    phone_number         text PRIMARY KEY,
    code_hash            bytea NOT NULL,
    sent_at              timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    failed_attempts      integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    -- Set when the attempts are used up; no code is sent or accepted until then.
    locked_until         timestamptz,
    provider_message_id  text
);

-- Fixed-window request counters shared by every API process. Keys hold hashes, not numbers.
CREATE TABLE rate_limit_counters (
    key                text PRIMARY KEY,
    window_started_at  timestamptz NOT NULL,
    hits               integer NOT NULL CHECK (hits >= 1)
);

-- A sign-in on one device: the family of refresh tokens that descend from one verified code.
CREATE TABLE participant_sessions (
    id                 uuid PRIMARY KEY,
    participant_id     uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_refreshed_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    revoked_reason     text CHECK (revoked_reason IN ('signed_out', 'refresh_token_reused', 'erased'))
);
CREATE INDEX participant_sessions_participant_idx ON participant_sessions (participant_id);

-- Refresh tokens by SHA-256; each may be used once. Using one twice revokes its session.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL REFERENCES participant_sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- E-mail verification links by SHA-256 of the token in the link.
CREATE TABLE email_verifications (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    participant_id  uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    email           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX email_verifications_participant_idx ON email_verifications (participant_id);

-- Named places (home, work, other), each in the municipality whose boundary contains it.
CREATE TABLE places (
    id                uuid PRIMARY KEY,
    participant_id    uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('home', 'work', 'other')),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    location          geometry(Point, 4326) NOT NULL,
    postcode          text CHECK (postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    house_number      text CHECK (length(house_number) BETWEEN 1 AND 12),
    municipality_cbs  text NOT NULL REFERENCES municipalities (cbs_code),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((postcode IS NULL) = (house_number IS NULL))
);
CREATE INDEX places_location_idx ON places USING gist (location);
CREATE INDEX places_participant_idx ON places (participant_id);
CREATE INDEX places_municipality_idx ON places (municipality_cbs);
CREATE INDEX places_postcode_idx ON places (postcode);
CREATE TRIGGER places_updated_at BEFORE UPDATE ON places
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Weekly windows (Europe/Amsterdam time) during which a place counts; none means always.
-- Days are ISO day numbers (Monday 1), as EXTRACT(ISODOW ...) gives them.
CREATE TABLE place_time_windows (
    place_id      uuid NOT NULL REFERENCES places (id) ON DELETE CASCADE,
    position      smallint NOT NULL CHECK (position >= 0),
    days          smallint[] NOT NULL CHECK (cardinality(days) BETWEEN 1 AND 7 AND days <@ '{1,2,3,4,5,6,7}'),
    from_minute   smallint NOT NULL CHECK (from_minute BETWEEN 0 AND 1439),
    until_minute  smallint NOT NULL CHECK (until_minute BETWEEN 1 AND 1440),
    PRIMARY KEY (place_id, position),
    CHECK (from_minute < until_minute)
);

-- "Alerts where I am": only the latest position, never a history, gone after expires_at.
CREATE TABLE live_locations (
    participant_id   uuid PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
    location         geometry(Point, 4326) NOT NULL,
    accuracy_meters  real NOT NULL CHECK (accuracy_meters >= 0),
    recorded_at      timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX live_locations_location_idx ON live_locations USING gist (location);
CREATE INDEX live_locations_expiry_idx ON live_locations (expires_at);

-- Push devices. A provider token belongs to one participant at a time: registering it again
-- moves it to whoever registered it last (a phone changed hands, or someone signed in anew).
CREATE TABLE devices (
    id                uuid PRIMARY KEY,
    participant_id    uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    platform          text NOT NULL CHECK (platform IN ('ios', 'android')),
    push_token        text NOT NULL,
    apns_environment  text CHECK (apns_environment IN ('sandbox', 'production')),
    app_version       text NOT NULL,
    locale            text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform, push_token),
    CHECK ((platform = 'ios') = (apns_environment IS NOT NULL))
);
CREATE INDEX devices_participant_idx ON devices (participant_id);
CREATE TRIGGER devices_updated_at BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every action a staff member takes on a participant: who, what, when and why.
CREATE TABLE participant_staff_actions (
    id                bigserial PRIMARY KEY,
    participant_id    uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    municipality_cbs  text REFERENCES municipalities (cbs_code),
    staff_subject     text NOT NULL,
    staff_name        text,
    staff_role        text NOT NULL,
    action            text NOT NULL,
    from_status       text,
    to_status         text,
    reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participant_staff_actions_participant_idx ON participant_staff_actions (participant_id, id);
CREATE INDEX participant_staff_actions_municipality_idx ON participant_staff_actions (municipality_cbs, id);
