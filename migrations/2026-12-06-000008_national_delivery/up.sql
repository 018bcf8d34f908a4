-- Delivery at national scale: the recipient selection runs at the speed of the spatial index,
-- every channel is delivered in a lane of its own, results are written in large set-based
-- statements, and provider quotas are shared by every worker process.

-- 1. What the selection needs of a participant, on the rows the spatial index returns.
--
-- Selecting 60,000 of 3 M participants used to look up each candidate's participant row and
-- devices (one random read each). Now places and live positions carry it themselves:
-- `reach_categories`: the categories the participant wants, empty when they are not active;
-- `reach_channels`: the channels they can be reached on now (push: chosen and a device
-- registered; SMS: chosen and a number known; e-mail: chosen and verified), empty when not
-- active; `ios_devices`, `android_devices`: their devices, for the reach preview. Triggers keep
-- these in step in the same transaction as every change that affects them.

-- A place's weekly time windows as minutes of the week (Monday 00:00 Europe/Amsterdam is 0);
-- NULL: the place always counts.
ALTER TABLE places
    ADD COLUMN reach_categories  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN reach_channels    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN ios_devices       smallint NOT NULL DEFAULT 0,
    ADD COLUMN android_devices   smallint NOT NULL DEFAULT 0,
    ADD COLUMN active_minutes    int4multirange;
ALTER TABLE live_locations
    ADD COLUMN reach_categories  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN reach_channels    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN ios_devices       smallint NOT NULL DEFAULT 0,
    ADD COLUMN android_devices   smallint NOT NULL DEFAULT 0;

-- The one definition of what the selection needs of a participant, from their row and the number
-- of devices they have per platform.
CREATE FUNCTION reach_of(p participants, ios smallint, android smallint,
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

-- The reach of one participant as stored now.
CREATE FUNCTION participant_reach(participant uuid,
    OUT categories text[], OUT channels text[], OUT ios_devices smallint, OUT android_devices smallint)
AS $$
    SELECT r.*
      FROM participants p,
           LATERAL (SELECT (count(*) FILTER (WHERE platform = 'ios'))::smallint AS ios,
                           (count(*) FILTER (WHERE platform = 'android'))::smallint AS android
                      FROM devices WHERE participant_id = p.id) AS d,
           LATERAL reach_of(p, d.ios, d.android) AS r
     WHERE p.id = participant
$$ LANGUAGE sql STABLE;

-- A new place or live position takes its participant's reach.
CREATE FUNCTION take_participant_reach() RETURNS trigger AS $$
BEGIN
    SELECT r.categories, r.channels, r.ios_devices, r.android_devices
      INTO NEW.reach_categories, NEW.reach_channels, NEW.ios_devices, NEW.android_devices
      FROM participant_reach(NEW.participant_id) AS r;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER places_reach BEFORE INSERT OR UPDATE OF participant_id ON places
    FOR EACH ROW EXECUTE FUNCTION take_participant_reach();
CREATE TRIGGER live_locations_reach BEFORE INSERT OR UPDATE OF participant_id ON live_locations
    FOR EACH ROW EXECUTE FUNCTION take_participant_reach();

-- Brings the places and live position of these participants up to date; rows already current
-- are left alone (no write, no dead tuple). Only participants with such rows are looked at.
CREATE FUNCTION refresh_participant_reach(participant_ids uuid[]) RETURNS void AS $$
    UPDATE places pl
       SET reach_categories = r.categories, reach_channels = r.channels,
           ios_devices = r.ios_devices, android_devices = r.android_devices
      FROM (SELECT DISTINCT participant_id FROM places WHERE participant_id = ANY (participant_ids)) AS changed,
           LATERAL participant_reach(changed.participant_id) AS r
     WHERE pl.participant_id = changed.participant_id
       AND (pl.reach_categories, pl.reach_channels, pl.ios_devices, pl.android_devices)
           IS DISTINCT FROM (r.categories, r.channels, r.ios_devices, r.android_devices);
    UPDATE live_locations ll
       SET reach_categories = r.categories, reach_channels = r.channels,
           ios_devices = r.ios_devices, android_devices = r.android_devices
      FROM (SELECT participant_id FROM live_locations WHERE participant_id = ANY (participant_ids)) AS changed,
           LATERAL participant_reach(changed.participant_id) AS r
     WHERE ll.participant_id = changed.participant_id
       AND (ll.reach_categories, ll.reach_channels, ll.ios_devices, ll.android_devices)
           IS DISTINCT FROM (r.categories, r.channels, r.ios_devices, r.android_devices);
$$ LANGUAGE sql;

-- Profile, status decisions and erasure.
CREATE FUNCTION participants_reach_changed() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(
        SELECT n.id FROM changed_new n JOIN changed_old o ON o.id = n.id
         WHERE (n.status, n.categories, n.channels, n.phone_number IS NULL, n.email_verified_at IS NULL)
               IS DISTINCT FROM
               (o.status, o.categories, o.channels, o.phone_number IS NULL, o.email_verified_at IS NULL)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER participants_reach AFTER UPDATE ON participants
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION participants_reach_changed();

-- Devices registered, moved to another participant, or removed (also a dead token's removal).
CREATE FUNCTION devices_added_reach() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(SELECT DISTINCT participant_id FROM added));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION devices_removed_reach() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(SELECT DISTINCT participant_id FROM removed));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION devices_changed_reach() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_participant_reach(ARRAY(
        SELECT participant_id FROM changed_old UNION SELECT participant_id FROM changed_new));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER devices_added_reach AFTER INSERT ON devices
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION devices_added_reach();
CREATE TRIGGER devices_removed_reach AFTER DELETE ON devices
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION devices_removed_reach();
CREATE TRIGGER devices_changed_reach AFTER UPDATE ON devices
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION devices_changed_reach();

-- Time windows, on the place they belong to.
CREATE FUNCTION refresh_active_minutes(place_ids uuid[]) RETURNS void AS $$
    UPDATE places pl
       SET active_minutes = (
           SELECT range_agg(int4range((day - 1) * 1440 + w.from_minute, (day - 1) * 1440 + w.until_minute))
             FROM place_time_windows w, unnest(w.days) AS day
            WHERE w.place_id = pl.id)
     WHERE pl.id = ANY (place_ids);
$$ LANGUAGE sql;
CREATE FUNCTION time_windows_added() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_active_minutes(ARRAY(SELECT DISTINCT place_id FROM added));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION time_windows_removed() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_active_minutes(ARRAY(SELECT DISTINCT place_id FROM removed));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION time_windows_changed() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_active_minutes(ARRAY(
        SELECT place_id FROM changed_old UNION SELECT place_id FROM changed_new));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER place_time_windows_added AFTER INSERT ON place_time_windows
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION time_windows_added();
CREATE TRIGGER place_time_windows_removed AFTER DELETE ON place_time_windows
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION time_windows_removed();
CREATE TRIGGER place_time_windows_changed AFTER UPDATE ON place_time_windows
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION time_windows_changed();

-- The moment as a minute of the week, as `active_minutes` counts them.
CREATE FUNCTION minute_of_week(at timestamptz) RETURNS integer AS $$
    SELECT ((EXTRACT(ISODOW FROM at AT TIME ZONE 'Europe/Amsterdam') - 1) * 1440
            + EXTRACT(HOUR FROM at AT TIME ZONE 'Europe/Amsterdam') * 60
            + EXTRACT(MINUTE FROM at AT TIME ZONE 'Europe/Amsterdam'))::integer
$$ LANGUAGE sql STABLE;

-- The rows there are now, computed for all participants at once.
CREATE TEMPORARY TABLE initial_reach ON COMMIT DROP AS
SELECT p.id AS participant_id, r.*
  FROM participants p
  LEFT JOIN (SELECT participant_id,
                    (count(*) FILTER (WHERE platform = 'ios'))::smallint AS ios,
                    (count(*) FILTER (WHERE platform = 'android'))::smallint AS android
               FROM devices GROUP BY participant_id) AS d ON d.participant_id = p.id,
       LATERAL reach_of(p, coalesce(d.ios, 0::smallint), coalesce(d.android, 0::smallint)) AS r;
CREATE UNIQUE INDEX ON initial_reach (participant_id);
UPDATE places pl
   SET reach_categories = r.categories, reach_channels = r.channels,
       ios_devices = r.ios_devices, android_devices = r.android_devices
  FROM initial_reach r
 WHERE pl.participant_id = r.participant_id;
UPDATE live_locations ll
   SET reach_categories = r.categories, reach_channels = r.channels,
       ios_devices = r.ios_devices, android_devices = r.android_devices
  FROM initial_reach r
 WHERE ll.participant_id = r.participant_id;
SELECT refresh_active_minutes(ARRAY(SELECT DISTINCT place_id FROM place_time_windows));

-- Places in spatial order: the candidates of one area then lie on a few pages instead of one
-- page each. Room is left on every page so that the reach updates above stay on their page
-- (heap-only updates) and the order holds; new places go at the end until the next CLUSTER
-- (docs/operations.md).
ALTER TABLE places SET (fillfactor = 90);
CLUSTER places USING places_location_idx;
ANALYZE places;

-- 2. Recipients and deliveries are the highest-volume rows: a national alert writes millions.
-- Their foreign keys made each insert lock the referenced alert, message and participant rows
-- (about 60 µs a recipient, most of a fan-out's database time). They are written only by the
-- delivery pipeline, from alerts, messages and participants that exist and are never deleted
-- (erasure keeps a participant's row), so the keys go.
ALTER TABLE alert_recipients
    DROP CONSTRAINT alert_recipients_alert_id_fkey,
    DROP CONSTRAINT alert_recipients_participant_id_fkey;
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_alert_id_fkey,
    DROP CONSTRAINT deliveries_message_id_fkey,
    DROP CONSTRAINT deliveries_participant_id_fkey;
-- The key leads with the participant: it serves "is this participant a recipient" and a
-- participant's alerts (which needed an index of their own), and it leaves the batch index as the
-- only way to a batch's recipients. With the alert first, a new alert (unknown to the planner's
-- statistics, estimated at one row) was read through the key, every recipient so far for each
-- batch: a fan-out slowing down as it grew.
ALTER TABLE alert_recipients DROP CONSTRAINT alert_recipients_pkey;
ALTER TABLE alert_recipients ADD PRIMARY KEY (participant_id, alert_id);
DROP INDEX alert_recipients_participant_idx;
-- Whether the selection found the recipient reachable by push: the push lane is then theirs, and
-- an SMS for the alert goes by the fallback lane once the push lane has ended (see lanes below),
-- so that no two lanes can send the same SMS.
ALTER TABLE alert_recipients ADD COLUMN push_expected boolean NOT NULL DEFAULT false;
-- One index finds a batch's deliveries and keeps each target unique.
DROP INDEX deliveries_target_idx;
DROP INDEX deliveries_batch_idx;
CREATE UNIQUE INDEX deliveries_target_idx ON deliveries
    (message_id, batch_no, participant_id, channel,
     (COALESCE(device_id, '00000000-0000-0000-0000-000000000000'::uuid)));

-- A national alert's dossier holds thousands of delivery entries of a few hundred results each:
-- compressed with lz4, which costs a fraction of the default's time.
ALTER TABLE alert_dossier ALTER COLUMN body SET COMPRESSION lz4;

-- 3. Lanes: one message to one batch is delivered per lane, each by a job of its own, so a slow
-- or rate-limited channel never holds another. `push`, `sms` and `email` are the channels;
-- `fallback_sms` is the SMS to recipients whose every push failed for good, which the push lane
-- queues when it ends.
ALTER TABLE delivery_batches ADD COLUMN lane text NOT NULL DEFAULT 'push'
    CHECK (lane IN ('push', 'sms', 'email', 'fallback_sms'));
ALTER TABLE delivery_batches DROP CONSTRAINT delivery_batches_pkey;
ALTER TABLE delivery_batches ADD PRIMARY KEY (message_id, batch_no, lane);
ALTER TABLE delivery_batches ALTER COLUMN lane DROP DEFAULT;

-- Batches still being delivered when this release arrives keep going: their one job becomes one
-- per lane of the alert's channels (e-mail only for alerts that are not urgent), each starting
-- from the batch's run counts, so a run that was interrupted is still known as such.
CREATE TEMPORARY TABLE upgraded_lanes ON COMMIT DROP AS
SELECT b.message_id, b.batch_no, b.alert_id, b.attempts, b.runs_recorded, b.started_at, b.finished_at,
       channel AS lane
  FROM delivery_batches b
  JOIN alerts a ON a.id = b.alert_id,
       unnest(a.channels) AS channel
 WHERE channel <> 'push' AND NOT (a.urgent AND channel = 'email');
INSERT INTO delivery_batches (message_id, batch_no, alert_id, attempts, runs_recorded, started_at, finished_at, lane)
SELECT message_id, batch_no, alert_id, attempts, runs_recorded, started_at, finished_at, lane FROM upgraded_lanes;
INSERT INTO background_jobs (job_type, payload, priority, max_attempts, state, last_error)
SELECT 'deliver_' || u.lane, j.payload, j.priority, j.max_attempts,
       CASE WHEN j.state = 'failed' THEN 'failed' ELSE 'queued' END, j.last_error
  FROM background_jobs j
  JOIN upgraded_lanes u ON u.message_id = (j.payload ->> 'message_id')::uuid
                       AND u.batch_no = (j.payload ->> 'batch_no')::integer
 WHERE j.job_type = 'deliver_batch';
UPDATE background_jobs SET job_type = 'deliver_push' WHERE job_type = 'deliver_batch';

-- The waves of an alert are cut one after another: an expansion's fan-out starts once the wave
-- before it has its recipients.
ALTER TABLE alert_areas ADD COLUMN recipients_selected_at timestamptz;
UPDATE alert_areas SET recipients_selected_at = now()
  FROM alerts WHERE alerts.id = alert_areas.alert_id AND alerts.status <> 'draft';

-- Lane slots claim only their own job types.
CREATE INDEX background_jobs_claim_by_type_idx ON background_jobs (job_type, priority DESC, run_at, id)
    WHERE state = 'queued';

-- 4. Provider quotas, shared by every worker process: a token bucket per provider. A process
-- takes a share of the tokens at a time, so the database is asked a few times a second, not
-- once a message.
CREATE TABLE provider_rate_buckets (
    provider     text PRIMARY KEY,
    tokens       double precision NOT NULL CHECK (tokens >= 0),
    refilled_at  timestamptz NOT NULL
);
