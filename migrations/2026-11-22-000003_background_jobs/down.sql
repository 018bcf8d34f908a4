DROP TABLE background_jobs;
DROP FUNCTION notify_background_job();
