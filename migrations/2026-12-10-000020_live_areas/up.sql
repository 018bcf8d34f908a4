-- Live areas: while an alert is active (at most its recruiting window after the send), it keeps
-- recruiting. A participant whose live position enters its area, or whose place's time window
-- opens inside it, becomes a recipient of a new wave (see `alerts::delivery::recruitment`).

-- `recruiting_until`: set at the send (the send plus the window), cleared at the close; only
-- active alerts have it, so the index below holds a handful of rows however many alerts there
-- were, and the check a location update makes does not grow with anything but active alerts.
-- `recruiting_channels`: the alert's channels as its deliveries use them (no e-mail for urgent
-- alerts), so the check reads them off the row. `windows_checked_at`: up to when the workers
-- recruited the places whose time windows opened.
ALTER TABLE alerts
    ADD COLUMN recruiting_until    timestamptz,
    ADD COLUMN recruiting_channels text[],
    ADD COLUMN windows_checked_at  timestamptz,
    ADD CHECK ((recruiting_until IS NULL) = (recruiting_channels IS NULL));
CREATE INDEX alerts_recruiting_idx ON alerts USING gist (area) WHERE recruiting_until IS NOT NULL;

-- A wave is either drawn (an area and its shape) or recruited (how its recipients matched).
ALTER TABLE alert_areas
    ADD COLUMN matched_by text CHECK (matched_by IN ('entered_area', 'time_window')),
    ALTER COLUMN shape DROP NOT NULL,
    ALTER COLUMN area DROP NOT NULL,
    ADD CHECK ((matched_by IS NULL) = (shape IS NOT NULL AND area IS NOT NULL));

-- Participants whose position entered a recruiting alert's area, until the workers make them
-- recipients (seconds). No time and no position: the row says only what the recipient row that
-- replaces it will say. It hangs on the live position: an opt-out, an erasure or an expiry
-- takes it along.
CREATE TABLE area_entrants (
    alert_id       uuid NOT NULL,
    participant_id uuid NOT NULL REFERENCES live_locations (participant_id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, participant_id)
);
CREATE INDEX area_entrants_participant_idx ON area_entrants (participant_id);

-- The minutes of the week at which a place's time windows open: the workers find the places
-- whose window opened in the last minute through this index, not by reading every place in an
-- alert's area each minute.
ALTER TABLE places ADD COLUMN window_starts int4[];
CREATE INDEX places_window_starts_idx ON places USING gin (window_starts) WHERE window_starts IS NOT NULL;

CREATE OR REPLACE FUNCTION refresh_active_minutes(place_ids uuid[]) RETURNS void AS $$
    UPDATE places pl
       SET active_minutes = minutes.active,
           window_starts = (SELECT array_agg(lower(r) ORDER BY lower(r)) FROM unnest(minutes.active) AS r)
      FROM (SELECT p.id,
                   (SELECT range_agg(int4range((day - 1) * 1440 + w.from_minute, (day - 1) * 1440 + w.until_minute))
                      FROM place_time_windows w, unnest(w.days) AS day
                     WHERE w.place_id = p.id) AS active
              FROM places p WHERE p.id = ANY (place_ids)) AS minutes
     WHERE pl.id = minutes.id;
$$ LANGUAGE sql;

UPDATE places
   SET window_starts = (SELECT array_agg(lower(r) ORDER BY lower(r)) FROM unnest(active_minutes) AS r)
 WHERE active_minutes IS NOT NULL;
