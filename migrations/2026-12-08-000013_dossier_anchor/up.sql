-- Checkpoints of the alert dossier: at least every minute the workers sign the head (last entry
-- and its hash) of every dossier that grew, and write it to the object store under a key that is
-- never overwritten (see `burgernet_core::alerts::dossier::checkpoints`). The store is the
-- evidence; these tables only remember what was written, so the next checkpoint names what
-- changed since and links to the one before it.
CREATE TABLE dossier_checkpoints (
    number      bigint PRIMARY KEY CHECK (number >= 1),
    -- SHA-256 of the checkpoint's signed text: the next checkpoint carries it as `previous`.
    digest      bytea NOT NULL,
    written_at  timestamptz NOT NULL
);

-- The latest head of each alert's dossier that a checkpoint anchors.
CREATE TABLE dossier_anchors (
    alert_id    uuid PRIMARY KEY REFERENCES alerts (id),
    seq         integer NOT NULL,
    checkpoint  bigint NOT NULL REFERENCES dossier_checkpoints (number)
);
