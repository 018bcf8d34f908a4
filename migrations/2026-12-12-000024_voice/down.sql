CREATE OR REPLACE FUNCTION reach_of(p participants, ios smallint, android smallint,
    OUT categories text[], OUT channels text[], OUT ios_devices smallint, OUT android_devices smallint)
AS $$
    SELECT CASE WHEN p.status = 'active'
                THEN p.categories || CASE WHEN p.exercises THEN '{exercise}'::text[] ELSE '{}'::text[] END
                ELSE '{}' END,
           CASE WHEN p.status = 'active' THEN ARRAY(
               SELECT channel FROM unnest(p.channels) AS channel
                WHERE (channel = 'push' AND ios + android > 0)
                   OR (channel = 'sms' AND p.phone_number IS NOT NULL)
                   OR (channel = 'email' AND p.email_verified_at IS NOT NULL))
           ELSE '{}' END,
           ios, android
$$ LANGUAGE sql IMMUTABLE;

ALTER TABLE reach_previews DROP COLUMN voice_participants, DROP COLUMN voice_fallback_participants;
ALTER TABLE alert_channel_rollups DROP COLUMN voice_minutes;
DROP INDEX deliveries_voice_status_idx;
ALTER TABLE deliveries DROP COLUMN called_again;
ALTER TABLE deliveries DROP COLUMN billable_minutes;

-- What the voice channel sent goes with it.
DELETE FROM alert_channel_rollups WHERE channel = 'voice';
DELETE FROM delivery_batches WHERE lane IN ('voice', 'fallback_voice');
DELETE FROM deliveries WHERE channel = 'voice';
UPDATE alerts SET channels = array_remove(channels, 'voice'),
                  recruiting_channels = array_remove(recruiting_channels, 'voice');
UPDATE participants SET channels = array_remove(channels, 'voice');

ALTER TABLE alert_channel_rollups DROP CONSTRAINT alert_channel_rollups_channel_check,
    ADD CONSTRAINT alert_channel_rollups_channel_check CHECK (channel IN ('push', 'sms', 'email'));
ALTER TABLE delivery_batches DROP CONSTRAINT delivery_batches_lane_check,
    ADD CONSTRAINT delivery_batches_lane_check CHECK (lane IN ('push', 'sms', 'email', 'fallback_sms'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check,
    ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('push', 'sms', 'email'));
ALTER TABLE alerts DROP CONSTRAINT alerts_channels_check,
    ADD CONSTRAINT alerts_channels_check
        CHECK (cardinality(channels) >= 1 AND channels <@ '{push,sms,email}'::text[]);
ALTER TABLE participants DROP CONSTRAINT participants_channels_check,
    ADD CONSTRAINT participants_channels_check CHECK (channels <@ '{push,sms,email}'::text[]);
