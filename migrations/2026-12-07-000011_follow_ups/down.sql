DROP TRIGGER delivery_jobs_failed_or_requeued ON background_jobs;
DROP FUNCTION delivery_job_failed_or_requeued();
ALTER TABLE delivery_batches DROP COLUMN abandoned_at;
