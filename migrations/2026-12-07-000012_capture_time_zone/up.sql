-- A photo's capture time becomes a moment: the camera's clock read in the offset from UTC the file
-- states, or as Dutch time when it states none. What is stored so far was read without offsets.
ALTER TABLE tip_media
    ALTER COLUMN captured_at TYPE timestamptz USING captured_at AT TIME ZONE 'Europe/Amsterdam';
