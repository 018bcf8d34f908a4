ALTER TABLE tip_media
    ALTER COLUMN captured_at TYPE timestamp USING captured_at AT TIME ZONE 'Europe/Amsterdam';
