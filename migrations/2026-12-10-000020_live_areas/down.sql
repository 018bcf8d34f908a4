CREATE OR REPLACE FUNCTION refresh_active_minutes(place_ids uuid[]) RETURNS void AS $$
    UPDATE places pl
       SET active_minutes = (
           SELECT range_agg(int4range((day - 1) * 1440 + w.from_minute, (day - 1) * 1440 + w.until_minute))
             FROM place_time_windows w, unnest(w.days) AS day
            WHERE w.place_id = pl.id)
     WHERE pl.id = ANY (place_ids);
$$ LANGUAGE sql;
DROP INDEX places_window_starts_idx;
ALTER TABLE places DROP COLUMN window_starts;
DROP TABLE area_entrants;
DELETE FROM alert_areas WHERE matched_by IS NOT NULL;
ALTER TABLE alert_areas
    DROP COLUMN matched_by,
    ALTER COLUMN shape SET NOT NULL,
    ALTER COLUMN area SET NOT NULL;
DROP INDEX alerts_recruiting_idx;
ALTER TABLE alerts
    DROP COLUMN recruiting_until,
    DROP COLUMN recruiting_channels,
    DROP COLUMN windows_checked_at;
