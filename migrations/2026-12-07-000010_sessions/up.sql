-- Sessions end when the municipality removes the participant, and a refresh retried a moment
-- later (its answer lost on a bad connection) is answered again instead of counting as reuse.

ALTER TABLE participant_sessions DROP CONSTRAINT participant_sessions_revoked_reason_check;
ALTER TABLE participant_sessions ADD CONSTRAINT participant_sessions_revoked_reason_check
    CHECK (revoked_reason IN ('signed_out', 'refresh_token_reused', 'erased', 'participant_removed'));

-- The token each refresh token was issued in exchange for (its hash; none for the first token of
-- a session), and when a retry of that exchange replaced it before it was ever used. A replaced
-- token that turns up later is a copy: it counts as reuse.
ALTER TABLE refresh_tokens
    ADD COLUMN rotated_from bytea REFERENCES refresh_tokens (token_hash) ON DELETE SET NULL,
    ADD COLUMN replaced_at  timestamptz,
    ADD CONSTRAINT refresh_tokens_replaced_unused_check CHECK (replaced_at IS NULL OR used_at IS NULL);
CREATE INDEX refresh_tokens_rotated_from_idx ON refresh_tokens (rotated_from);
