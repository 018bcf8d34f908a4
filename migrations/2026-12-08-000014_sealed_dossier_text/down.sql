-- How recipients were matched is gone for good: they come back as matched by a place.
ALTER TABLE alert_recipients
    ADD COLUMN matched_by text NOT NULL DEFAULT 'place' CHECK (matched_by IN ('place', 'live_location'));
ALTER TABLE alert_recipients ALTER COLUMN matched_by DROP DEFAULT;

DROP TABLE tip_text_keys;
