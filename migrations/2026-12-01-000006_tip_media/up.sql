-- Tips with photos and videos: the control room's assessment of each tip, legal holds that keep
-- evidence past its retention, the media a participant attaches, and the answers of requests the
-- app may retry (Idempotency-Key).

ALTER TABLE tips
    -- An anonymous sender proves with this key (only its SHA-256 is kept) that a tip is theirs,
    -- so they can attach media; nothing else links the tip to them.
    ADD COLUMN sender_key_hash     bytea CHECK (length(sender_key_hash) = 32),
    ADD COLUMN assessment          text CHECK (assessment IN ('relevant', 'not_relevant', 'forwarded')),
    ADD COLUMN assessment_note     text CHECK (length(assessment_note) <= 2000),
    -- The unit the tip was forwarded to.
    ADD COLUMN forwarded_to        text CHECK (length(forwarded_to) BETWEEN 1 AND 200),
    ADD COLUMN assessed_by_subject text,
    ADD COLUMN assessed_at         timestamptz,
    ADD COLUMN legal_hold_reason   text CHECK (length(legal_hold_reason) BETWEEN 1 AND 500),
    ADD COLUMN legal_hold_by       text,
    ADD COLUMN legal_hold_at       timestamptz,
    ADD CONSTRAINT tips_forwarded_to CHECK ((assessment = 'forwarded') = (forwarded_to IS NOT NULL)),
    ADD CONSTRAINT tips_legal_hold CHECK ((legal_hold_reason IS NULL) = (legal_hold_at IS NULL));

-- A hold on the alert keeps all its tips and media.
ALTER TABLE alerts
    ADD COLUMN legal_hold_reason   text CHECK (length(legal_hold_reason) BETWEEN 1 AND 500),
    ADD COLUMN legal_hold_by       text,
    ADD COLUMN legal_hold_at       timestamptz,
    ADD CONSTRAINT alerts_legal_hold CHECK ((legal_hold_reason IS NULL) = (legal_hold_at IS NULL));

-- A photo or video attached to a tip. The original is uploaded straight to the media store under
-- `uploads/<id>`; once verified it moves unchanged to `evidence/<id>`, and derived images go
-- under `derived/<id>/`. Capture time and position read from the file are restricted to the
-- control room.
CREATE TABLE tip_media (
    id                   uuid PRIMARY KEY,
    tip_id               uuid NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    alert_id             uuid NOT NULL REFERENCES alerts (id),
    kind                 text NOT NULL CHECK (kind IN ('photo', 'video')),
    content_type         text NOT NULL,
    size_bytes           bigint NOT NULL CHECK (size_bytes > 0),
    sha256               bytea NOT NULL CHECK (length(sha256) = 32),
    state                text NOT NULL DEFAULT 'pending_upload'
                         CHECK (state IN ('pending_upload', 'uploaded', 'processing', 'ready', 'rejected', 'expired')),
    -- For uploads in parts (large video): the store's upload id and the part size.
    multipart_upload_id  text,
    part_size_bytes      bigint CHECK (part_size_bytes > 0),
    upload_expires_at    timestamptz NOT NULL,
    rejection_code       text,
    rejection_reason     text,
    has_preview          boolean,
    width                integer CHECK (width > 0),
    height               integer CHECK (height > 0),
    duration_seconds     double precision CHECK (duration_seconds >= 0),
    codec                text,
    -- Restricted: from the file's own metadata; never in derived images.
    captured_at          timestamp,
    capture_location     geometry(Point, 4326),
    created_at           timestamptz NOT NULL DEFAULT now(),
    uploaded_at          timestamptz,
    processed_at         timestamptz,
    CHECK ((state = 'rejected') = (rejection_code IS NOT NULL)),
    CHECK ((multipart_upload_id IS NULL) = (part_size_bytes IS NULL))
);
CREATE INDEX tip_media_tip_idx ON tip_media (tip_id, created_at);
CREATE INDEX tip_media_pending_idx ON tip_media (upload_expires_at) WHERE state = 'pending_upload';

-- The first answer to a request sent with an Idempotency-Key, returned again when the app retries
-- it. The key is stored only as a hash over the caller, the operation and the client's key, and
-- forgotten after a day.
CREATE TABLE idempotent_requests (
    key_hash      bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    request_hash  bytea NOT NULL CHECK (length(request_hash) = 32),
    status        smallint NOT NULL,
    response      jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotent_requests_created_idx ON idempotent_requests (created_at);
