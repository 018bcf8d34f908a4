-- The time from an alert's send to the first and last push of its initial wave is observed once
-- per alert, however many workers see the wave finish: the one whose UPDATE sets this column
-- observes it.
ALTER TABLE alerts ADD COLUMN push_timing_recorded_at timestamptz;
-- Alerts sent before this release are history, not news: they are not observed.
UPDATE alerts SET push_timing_recorded_at = now() WHERE sent_at IS NOT NULL;
-- The sent alerts whose initial wave the workers still wait for.
CREATE INDEX alerts_push_timing_pending_idx ON alerts (sent_at)
    WHERE push_timing_recorded_at IS NULL AND sent_at IS NOT NULL;

-- The queue metrics read, per job type, the due jobs (count and oldest) and the dead ones at
-- every scrape, without scanning the table.
CREATE INDEX background_jobs_due_by_type_idx ON background_jobs (job_type, run_at) WHERE state = 'queued';
CREATE INDEX background_jobs_failed_by_type_idx ON background_jobs (job_type) WHERE state = 'failed';
