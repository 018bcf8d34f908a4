-- The job queue. A job is enqueued in the same transaction as the write that causes it,
-- so a committed write always has its jobs and a rolled-back one never does.
CREATE TABLE background_jobs (
    id                bigserial PRIMARY KEY,
    job_type          text NOT NULL,
    payload           jsonb NOT NULL,
    priority          smallint NOT NULL DEFAULT 0,
    -- queued: waiting for run_at; running: leased by a worker until lease_expires_at;
    -- failed: out of attempts or failed permanently, kept for inspection.
    -- A job that succeeds is deleted.
    state             text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'failed')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
    run_at            timestamptz NOT NULL DEFAULT now(),
    locked_by         uuid,
    lease_expires_at  timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'running') = (locked_by IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- What workers scan when they look for work.
CREATE INDEX background_jobs_runnable_idx ON background_jobs (priority DESC, run_at, id)
    WHERE state = 'queued';
CREATE INDEX background_jobs_leases_idx ON background_jobs (lease_expires_at)
    WHERE state = 'running';
CREATE TRIGGER background_jobs_updated_at BEFORE UPDATE ON background_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Wake listening workers. NOTIFY is delivered at commit, so workers never see uncommitted jobs.
CREATE FUNCTION notify_background_job() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('background_jobs', NEW.job_type);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER background_jobs_notify AFTER INSERT ON background_jobs
    FOR EACH ROW EXECUTE FUNCTION notify_background_job();
