-- The public page of a sent alert is found by an unguessable id (22 characters of base64url, 16
-- random bytes), never by the alert's own id: a page cannot be reached by counting or guessing.
-- Only real alerts (`actual`) get one when they are sent; drafts, exercises and tests have none.
ALTER TABLE alerts ADD COLUMN public_id text UNIQUE CHECK (public_id ~ '^[A-Za-z0-9_-]{22}$');

-- Real alerts sent before this migration get one now. gen_random_uuid() (built in, PostgreSQL 13+)
-- draws from the same strong random source as pgcrypto, which is not installed: 122 random bits.
UPDATE alerts
   SET public_id = translate(rtrim(encode(uuid_send(gen_random_uuid()), 'base64'), '='), '+/', '-_')
 WHERE status <> 'draft' AND purpose = 'actual';

-- The public report of a closed alert, written by the control room's communication staff for the
-- website. A table of its own, not columns on alerts: it is written after the alert's life is
-- over, by other people, and changes (with its own times) while the alert no longer does.
CREATE TABLE closing_reports (
    alert_id            uuid PRIMARY KEY REFERENCES alerts (id),
    text                text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    written_by_subject  text NOT NULL,
    written_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
