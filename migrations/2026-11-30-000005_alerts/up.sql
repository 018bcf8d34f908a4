-- Alerts (Burgernetacties): what a dispatcher sends to an area, who it reached and how, and the
-- dossier that records every event of it. Recipients and deliveries refer to participants by id
-- only; an erased participant keeps a row without identity, so these records stay whole.

CREATE TABLE alerts (
    id                  uuid PRIMARY KEY,
    region_id           uuid NOT NULL REFERENCES regions (id),
    status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'closed')),
    category            text NOT NULL CHECK (category IN ('inform', 'engage', 'alarm', 'search')),
    urgent              boolean NOT NULL,
    channels            text[] NOT NULL
                        CHECK (cardinality(channels) >= 1 AND channels <@ '{push,sms,email}'::text[]),
    -- Structured person and vehicle fields plus free text (the signalement), language-neutral.
    description         jsonb NOT NULL,
    -- What participants read, per language: {"nl": {"title", "message", "instruction"}, "en": ...}.
    texts               jsonb NOT NULL CHECK (texts ? 'nl'),
    call_back_number    text,
    -- The union of every wave's area: what the alert covers now.
    area                geometry(MultiPolygon, 4326) NOT NULL,
    outcome             text CHECK (outcome IN ('hard_success', 'soft_success', 'no_result', 'cancelled')),
    created_by_subject  text NOT NULL,
    created_by_name     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    closed_at           timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'draft') = (sent_at IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND outcome IS NOT NULL))
);
CREATE INDEX alerts_region_idx ON alerts (region_id, created_at DESC);
CREATE INDEX alerts_area_idx ON alerts USING gist (area);
CREATE TRIGGER alerts_updated_at BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Each wave's area as the dispatcher drew it: wave 0 when the alert is created, one more for each
-- expansion.
CREATE TABLE alert_areas (
    alert_id            uuid NOT NULL REFERENCES alerts (id),
    wave                smallint NOT NULL CHECK (wave >= 0),
    -- The drawing: {"type": "circle", "center": ..., "radius_meters": ...} or GeoJSON.
    shape               jsonb NOT NULL,
    area                geometry(MultiPolygon, 4326) NOT NULL,
    created_by_subject  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, wave)
);

-- What is sent: the alert itself (once per wave, to that wave's new recipients), updates and the
-- closing message (to everyone reached).
CREATE TABLE alert_messages (
    id                  uuid PRIMARY KEY,
    alert_id            uuid NOT NULL REFERENCES alerts (id),
    kind                text NOT NULL CHECK (kind IN ('alert', 'update', 'closing')),
    -- For 'alert': the wave whose recipients it goes to. NULL: everyone reached.
    wave                smallint,
    -- Per language: {"nl": {"title", "message"}, "en": ...}.
    texts               jsonb NOT NULL CHECK (texts ? 'nl'),
    created_by_subject  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'alert') = (wave IS NOT NULL))
);
CREATE INDEX alert_messages_alert_idx ON alert_messages (alert_id, created_at);

-- The recipients, snapshotted when a wave is sent: one row per participant however many of their
-- places matched. Batches are the unit of delivery work that workers share.
CREATE TABLE alert_recipients (
    alert_id        uuid NOT NULL REFERENCES alerts (id),
    participant_id  uuid NOT NULL REFERENCES participants (id),
    wave            smallint NOT NULL,
    batch_no        integer NOT NULL CHECK (batch_no >= 0),
    matched_by      text NOT NULL CHECK (matched_by IN ('place', 'live_location')),
    -- Receipts from the app: the first 'received' and the first 'opened'.
    received_at     timestamptz,
    opened_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, participant_id)
);
CREATE INDEX alert_recipients_batch_idx ON alert_recipients (alert_id, batch_no);
CREATE INDEX alert_recipients_participant_idx ON alert_recipients (participant_id, created_at DESC);

-- One message to one batch: one delivery job's work. `attempts` counts the job's runs that began
-- sending and `runs_recorded` those that recorded every outcome before they ended; when the two
-- differ, a run was interrupted, and what the next run sends without a record may arrive twice.
CREATE TABLE delivery_batches (
    message_id     uuid NOT NULL REFERENCES alert_messages (id),
    batch_no       integer NOT NULL,
    alert_id       uuid NOT NULL REFERENCES alerts (id),
    attempts       integer NOT NULL DEFAULT 0,
    runs_recorded  integer NOT NULL DEFAULT 0,
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (message_id, batch_no)
);
CREATE INDEX delivery_batches_unfinished_idx ON delivery_batches (alert_id) WHERE finished_at IS NULL;

-- Every hand-over to a provider: one row per message, recipient, channel and device.
CREATE TABLE deliveries (
    id                         bigserial PRIMARY KEY,
    alert_id                   uuid NOT NULL REFERENCES alerts (id),
    message_id                 uuid NOT NULL REFERENCES alert_messages (id),
    batch_no                   integer NOT NULL,
    participant_id             uuid NOT NULL REFERENCES participants (id),
    channel                    text NOT NULL CHECK (channel IN ('push', 'sms', 'email')),
    -- Push only: the device, which may be gone since (a dead token removes it).
    device_id                  uuid,
    platform                   text CHECK (platform IN ('ios', 'android')),
    -- Why this channel: the primary route, or which SMS fallback rule applied.
    reason                     text NOT NULL
                               CHECK (reason IN ('primary', 'no_push_device', 'push_failed', 'not_acknowledged')),
    -- retrying: a passing failure, to be tried again; sent: accepted by the provider; delivered:
    -- the provider or the device confirmed arrival; failed: for good.
    state                      text NOT NULL CHECK (state IN ('retrying', 'sent', 'delivered', 'failed')),
    attempts                   smallint NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    -- Sent again by a run that followed an interrupted one: the first may have arrived too.
    resent_after_interruption  boolean NOT NULL DEFAULT false,
    provider_message_id        text,
    error_code                 text,
    sent_at                    timestamptz,
    delivered_at               timestamptz,
    failed_at                  timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel = 'push') = (device_id IS NOT NULL AND platform IS NOT NULL))
);
CREATE UNIQUE INDEX deliveries_target_idx ON deliveries
    (message_id, participant_id, channel, (COALESCE(device_id, '00000000-0000-0000-0000-000000000000'::uuid)));
CREATE INDEX deliveries_alert_idx ON deliveries (alert_id, channel, state);
CREATE INDEX deliveries_batch_idx ON deliveries (message_id, batch_no);
CREATE INDEX deliveries_sms_receipt_idx ON deliveries (provider_message_id) WHERE channel = 'sms';
CREATE TRIGGER deliveries_updated_at BEFORE UPDATE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Tips from participants about an alert. An anonymous tip carries no participant at all.
CREATE TABLE tips (
    id               uuid PRIMARY KEY,
    alert_id         uuid NOT NULL REFERENCES alerts (id),
    participant_id   uuid REFERENCES participants (id),
    text             text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    seen_at          timestamptz,
    location         geometry(Point, 4326),
    accuracy_meters  real CHECK (accuracy_meters >= 0),
    may_call_back    boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (may_call_back AND participant_id IS NULL))
);
CREATE INDEX tips_alert_idx ON tips (alert_id, created_at DESC);

-- The alert dossier (actiedossier): append-only and tamper-evident. Each entry carries the hash of
-- the one before; the database fills in the sequence number, the time and the hashes, and refuses
-- every update and delete. `burgernet admin verify-dossier` recomputes the chain.
CREATE TABLE alert_dossier (
    alert_id     uuid NOT NULL REFERENCES alerts (id),
    seq          integer NOT NULL CHECK (seq >= 1),
    kind         text NOT NULL,
    -- 'staff:<subject>', 'participant:<id>' or 'system'.
    actor        text NOT NULL,
    actor_name   text,
    body         jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL,
    prev_hash    bytea CHECK (length(prev_hash) = 32),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (alert_id, seq),
    CHECK ((seq = 1) = (prev_hash IS NULL))
);

-- The text an entry's hash is taken over: each field as "<bytes>:<value>;", so no field can bleed
-- into the next. The verifier in `burgernet_core::alerts::dossier` builds the same text.
CREATE FUNCTION alert_dossier_canonical_text(
    prev_hash bytea, alert_id uuid, seq integer, kind text, actor text, actor_name text,
    recorded_at timestamptz, body jsonb
) RETURNS text AS $$
    SELECT string_agg(octet_length(field)::text || ':' || field || ';', '' ORDER BY position)
      FROM unnest(ARRAY[
               coalesce(encode(prev_hash, 'hex'), ''),
               alert_id::text,
               seq::text,
               kind,
               actor,
               coalesce(actor_name, ''),
               to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               body::text
           ]) WITH ORDINALITY AS fields (field, position);
$$ LANGUAGE sql IMMUTABLE;

CREATE FUNCTION alert_dossier_chain() RETURNS trigger AS $$
DECLARE
    last_seq   integer;
    last_hash  bytea;
BEGIN
    -- One writer per alert at a time, so every entry sees its predecessor.
    PERFORM pg_advisory_xact_lock(hashtextextended('alert_dossier:' || NEW.alert_id::text, 0));
    SELECT seq, hash INTO last_seq, last_hash
      FROM alert_dossier WHERE alert_id = NEW.alert_id ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := last_hash;
    NEW.recorded_at := date_trunc('microseconds', clock_timestamp());
    NEW.hash := sha256(convert_to(alert_dossier_canonical_text(
        NEW.prev_hash, NEW.alert_id, NEW.seq, NEW.kind, NEW.actor, NEW.actor_name, NEW.recorded_at, NEW.body
    ), 'UTF8'));
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER alert_dossier_chain BEFORE INSERT ON alert_dossier
    FOR EACH ROW EXECUTE FUNCTION alert_dossier_chain();

CREATE FUNCTION alert_dossier_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the alert dossier is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER alert_dossier_append_only BEFORE UPDATE OR DELETE ON alert_dossier
    FOR EACH ROW EXECUTE FUNCTION alert_dossier_refuse_change();
CREATE TRIGGER alert_dossier_no_truncate BEFORE TRUNCATE ON alert_dossier
    FOR EACH STATEMENT EXECUTE FUNCTION alert_dossier_refuse_change();
