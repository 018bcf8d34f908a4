-- Personal text in the append-only dossier that retention must be able to destroy: a tip's words
-- and the control room's notes on it are written to the dossier sealed with a key of the tip's
-- own, kept here, outside the chain (which hashes the sealed text). Deleting the tip deletes its
-- key, and with it the only way to read those words; the chain still verifies.
CREATE TABLE tip_text_keys (
    tip_id  uuid PRIMARY KEY REFERENCES tips (id) ON DELETE CASCADE,
    key     bytea NOT NULL CHECK (length(key) = 32)
);

-- How each recipient was matched (a place of theirs or their live location in the alert's area
-- at the time) is a location record; nothing reads it, and the dossier keeps each wave's count.
-- This release no longer writes it and forgets what was kept. The column itself stays one release
-- longer, optional, because the previous release still writes it while a rolling upgrade runs
-- (docs/operations.md, "Upgrade"); the next release's migration drops it, and with it whatever
-- the old pods wrote in that window.
ALTER TABLE alert_recipients ALTER COLUMN matched_by DROP NOT NULL;
UPDATE alert_recipients SET matched_by = NULL WHERE matched_by IS NOT NULL;
