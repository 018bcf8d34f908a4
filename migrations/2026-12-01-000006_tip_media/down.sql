DROP TABLE idempotent_requests;
DROP TABLE tip_media;
ALTER TABLE alerts
    DROP CONSTRAINT alerts_legal_hold,
    DROP COLUMN legal_hold_reason, DROP COLUMN legal_hold_by, DROP COLUMN legal_hold_at;
ALTER TABLE tips
    DROP CONSTRAINT tips_forwarded_to, DROP CONSTRAINT tips_legal_hold,
    DROP COLUMN sender_key_hash, DROP COLUMN assessment, DROP COLUMN assessment_note,
    DROP COLUMN forwarded_to, DROP COLUMN assessed_by_subject, DROP COLUMN assessed_at,
    DROP COLUMN legal_hold_reason, DROP COLUMN legal_hold_by, DROP COLUMN legal_hold_at;
