-- Exercises and tests (CAP 1.2 `status`: Actual, Exercise, Test). An alert's `purpose` says which;
-- one that is not `actual` reaches only participants who opted in to exercises (or the members
-- of a target group the dispatcher names), says so in every message and every dossier entry, and
-- is kept out of the alert results.
ALTER TABLE alerts ADD COLUMN purpose text NOT NULL DEFAULT 'actual'
    CHECK (purpose IN ('actual', 'exercise', 'test'));

-- What a place or live position must carry in `reach_categories` for the alert to reach it: the
-- alert's category, or for an exercise or test the opt-in to exercises. The selection, the live
-- area and the time-window look all compare this one value, so an exercise can never reach
-- someone through a copy that forgot the opt-in.
ALTER TABLE alerts ADD COLUMN reach_key text NOT NULL
    GENERATED ALWAYS AS (CASE WHEN purpose = 'actual' THEN category ELSE 'exercise' END) STORED;

ALTER TABLE participants ADD COLUMN exercises boolean NOT NULL DEFAULT false;

-- A participant's reach now includes `exercise` when they opted in to exercises.
CREATE OR REPLACE FUNCTION reach_of(p participants, ios smallint, android smallint,
    OUT categories text[], OUT channels text[], OUT ios_devices smallint, OUT android_devices smallint)
AS $$
    SELECT CASE WHEN p.status = 'active'
                THEN p.categories || CASE WHEN p.exercises THEN '{exercise}'::text[] ELSE '{}'::text[] END
                ELSE '{}' END,
           CASE WHEN p.status = 'active' THEN ARRAY(
               SELECT channel FROM unnest(p.channels) AS channel
                WHERE (channel = 'push' AND ios + android > 0)
                   OR (channel = 'sms' AND p.phone_number IS NOT NULL)
                   OR (channel = 'email' AND p.email_verified_at IS NOT NULL))
           ELSE '{}' END,
           ios, android
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION participants_reach_changed() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(
        SELECT n.id FROM changed_new n JOIN changed_old o ON o.id = n.id
         WHERE (n.status, n.categories, n.exercises, n.channels, n.phone_number IS NULL,
                n.email_verified_at IS NULL)
               IS DISTINCT FROM
               (o.status, o.categories, o.exercises, o.channels, o.phone_number IS NULL,
                o.email_verified_at IS NULL)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Every dossier entry of an exercise or test says so: the chain stamps `"purpose"` into the body
-- before it hashes it, whoever wrote the entry.
CREATE OR REPLACE FUNCTION alert_dossier_chain() RETURNS trigger AS $$
DECLARE
    last_seq      integer;
    last_hash     bytea;
    alert_purpose text;
BEGIN
    -- One writer per alert at a time, so every entry sees its predecessor.
    PERFORM pg_advisory_xact_lock(hashtextextended('alert_dossier:' || NEW.alert_id::text, 0));
    SELECT seq, hash INTO last_seq, last_hash
      FROM alert_dossier WHERE alert_id = NEW.alert_id ORDER BY seq DESC LIMIT 1;
    SELECT purpose INTO alert_purpose FROM alerts WHERE id = NEW.alert_id;
    IF alert_purpose <> 'actual' THEN
        IF jsonb_typeof(NEW.body) = 'object' THEN
            NEW.body := NEW.body || jsonb_build_object('purpose', alert_purpose);
        ELSE
            NEW.body := jsonb_build_object('purpose', alert_purpose, 'value', NEW.body);
        END IF;
    END IF;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := last_hash;
    NEW.recorded_at := date_trunc('microseconds', clock_timestamp());
    NEW.hash := sha256(convert_to(alert_dossier_canonical_text(
        NEW.prev_hash, NEW.alert_id, NEW.seq, NEW.kind, NEW.actor, NEW.actor_name, NEW.recorded_at, NEW.body
    ), 'UTF8'));
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- The results reports leave exercises and tests out and show them apart.
ALTER TABLE alert_rollups ADD COLUMN purpose text NOT NULL DEFAULT 'actual'
    CHECK (purpose IN ('actual', 'exercise', 'test'));
