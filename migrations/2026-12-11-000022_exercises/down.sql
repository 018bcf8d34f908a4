ALTER TABLE alert_rollups DROP COLUMN purpose;

CREATE OR REPLACE FUNCTION alert_dossier_chain() RETURNS trigger AS $$
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

CREATE OR REPLACE FUNCTION participants_reach_changed() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(
        SELECT n.id FROM changed_new n JOIN changed_old o ON o.id = n.id
         WHERE (n.status, n.categories, n.channels, n.phone_number IS NULL, n.email_verified_at IS NULL)
               IS DISTINCT FROM
               (o.status, o.categories, o.channels, o.phone_number IS NULL, o.email_verified_at IS NULL)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- reach_of reads the participants row type: it goes before the column.
CREATE OR REPLACE FUNCTION reach_of(p participants, ios smallint, android smallint,
    OUT categories text[], OUT channels text[], OUT ios_devices smallint, OUT android_devices smallint)
AS $$
    SELECT CASE WHEN p.status = 'active' THEN p.categories ELSE '{}' END,
           CASE WHEN p.status = 'active' THEN ARRAY(
               SELECT channel FROM unnest(p.channels) AS channel
                WHERE (channel = 'push' AND ios + android > 0)
                   OR (channel = 'sms' AND p.phone_number IS NOT NULL)
                   OR (channel = 'email' AND p.email_verified_at IS NOT NULL))
           ELSE '{}' END,
           ios, android
$$ LANGUAGE sql IMMUTABLE;
UPDATE places SET reach_categories = array_remove(reach_categories, 'exercise')
 WHERE 'exercise' = ANY (reach_categories);
UPDATE live_locations SET reach_categories = array_remove(reach_categories, 'exercise')
 WHERE 'exercise' = ANY (reach_categories);
ALTER TABLE participants DROP COLUMN exercises;

ALTER TABLE alerts DROP COLUMN reach_key;
ALTER TABLE alerts DROP COLUMN purpose;
