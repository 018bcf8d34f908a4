DROP TABLE closing_reports;
ALTER TABLE alerts DROP COLUMN public_id;
