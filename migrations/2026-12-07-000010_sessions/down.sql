DROP INDEX refresh_tokens_rotated_from_idx;
ALTER TABLE refresh_tokens
    DROP CONSTRAINT refresh_tokens_replaced_unused_check,
    DROP COLUMN replaced_at,
    DROP COLUMN rotated_from;

-- Sessions ended by a removal stay ended; only the reason is no longer recorded.
UPDATE participant_sessions SET revoked_reason = NULL WHERE revoked_reason = 'participant_removed';
ALTER TABLE participant_sessions DROP CONSTRAINT participant_sessions_revoked_reason_check;
ALTER TABLE participant_sessions ADD CONSTRAINT participant_sessions_revoked_reason_check
    CHECK (revoked_reason IN ('signed_out', 'refresh_token_reused', 'erased'));
