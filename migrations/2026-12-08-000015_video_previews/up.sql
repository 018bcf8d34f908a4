-- A video's preview the control room's browser can play (H.264/AAC MP4, at most 720p, without
-- metadata), beside its poster frame: a transcode that fails or times out leaves the poster alone.
ALTER TABLE tip_media ADD COLUMN has_video_preview boolean NOT NULL DEFAULT false;
