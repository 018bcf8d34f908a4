-- How recipients were matched is gone for good: they come back as matched by a place.
UPDATE alert_recipients SET matched_by = 'place' WHERE matched_by IS NULL;
ALTER TABLE alert_recipients ALTER COLUMN matched_by SET NOT NULL;

DROP TABLE tip_text_keys;
