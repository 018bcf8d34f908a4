-- Work that failed for good no longer holds the work after it. A follow-up (update, closing)
-- waits for the messages before it to reach its batch, and a later wave for the earlier waves'
-- recipients; a lane job or fan-out that failed for good (its attempts spent, a permanent error,
-- its worker gone on the final attempt) would make them wait forever. So the moment such a job
-- is kept as failed, its lane batch counts as finished (`abandoned_at` says it did not end well)
-- and its wave as selected; a failed job queued again by an operator takes that back.
ALTER TABLE delivery_batches ADD COLUMN abandoned_at timestamptz;

CREATE FUNCTION delivery_job_failed_or_requeued() RETURNS trigger AS $$
BEGIN
    IF NEW.job_type = 'fan_out_wave' THEN
        IF NEW.state = 'failed' THEN
            UPDATE alert_areas SET recipients_selected_at = now()
             WHERE alert_id = (NEW.payload->>'alert_id')::uuid
               AND wave = (NEW.payload->>'wave')::smallint
               AND recipients_selected_at IS NULL;
        END IF;
        RETURN NULL;
    END IF;
    -- Lane jobs: `deliver_<lane>` carries `{message_id, batch_no}`.
    IF NEW.state = 'failed' THEN
        UPDATE delivery_batches SET finished_at = now(), abandoned_at = now()
         WHERE message_id = (NEW.payload->>'message_id')::uuid
           AND batch_no = (NEW.payload->>'batch_no')::integer
           AND lane = substr(NEW.job_type, length('deliver_') + 1)
           AND finished_at IS NULL;
    ELSE
        UPDATE delivery_batches SET finished_at = NULL, abandoned_at = NULL
         WHERE message_id = (NEW.payload->>'message_id')::uuid
           AND batch_no = (NEW.payload->>'batch_no')::integer
           AND lane = substr(NEW.job_type, length('deliver_') + 1)
           AND abandoned_at IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER delivery_jobs_failed_or_requeued AFTER UPDATE OF state ON background_jobs
    FOR EACH ROW
    WHEN ((NEW.state = 'failed') <> (OLD.state = 'failed')
          AND (NEW.job_type LIKE 'deliver\_%' OR NEW.job_type = 'fan_out_wave'))
    EXECUTE FUNCTION delivery_job_failed_or_requeued();
