ALTER TABLE tip_media DROP COLUMN has_video_preview;
