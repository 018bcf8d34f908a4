-- The voice channel: a phone call that reads the alert aloud (the classic Burgernet's first
-- channel, for participants without a smartphone). A participant may choose `voice`; like SMS it
-- needs a phone number. An alert may use it where its category's channel order allows
-- (`BURGERNET_CHANNEL_ORDER_<CATEGORY>`); the order of the alert's `channels` then says whether a
-- call comes before or after an SMS.
ALTER TABLE participants DROP CONSTRAINT participants_channels_check,
    ADD CONSTRAINT participants_channels_check CHECK (channels <@ '{push,sms,email,voice}'::text[]);
ALTER TABLE alerts DROP CONSTRAINT alerts_channels_check,
    ADD CONSTRAINT alerts_channels_check
        CHECK (cardinality(channels) >= 1 AND channels <@ '{push,sms,email,voice}'::text[]);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check,
    ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('push', 'sms', 'email', 'voice'));
-- `voice` calls those with no push to wait for; `fallback_voice` calls the push lane's recipients
-- whom push did not reach, once that lane has ended (as `fallback_sms` texts them).
ALTER TABLE delivery_batches DROP CONSTRAINT delivery_batches_lane_check,
    ADD CONSTRAINT delivery_batches_lane_check
        CHECK (lane IN ('push', 'sms', 'email', 'fallback_sms', 'voice', 'fallback_voice'));
ALTER TABLE alert_channel_rollups DROP CONSTRAINT alert_channel_rollups_channel_check,
    ADD CONSTRAINT alert_channel_rollups_channel_check CHECK (channel IN ('push', 'sms', 'email', 'voice'));

-- What the gateway bills for a call: every started minute it was connected, from its statuses
-- (summed over the calls of a delivery: a call nobody answered is tried once more).
ALTER TABLE deliveries ADD COLUMN billable_minutes integer CHECK (billable_minutes >= 0);
ALTER TABLE deliveries ADD CHECK (billable_minutes IS NULL OR channel = 'voice');
-- A call nobody answered (or to a busy line) is placed once more; this says it was.
ALTER TABLE deliveries ADD COLUMN called_again boolean NOT NULL DEFAULT false;
ALTER TABLE deliveries ADD CHECK (NOT called_again OR channel = 'voice');
-- Call statuses find their delivery by the gateway's call id.
CREATE INDEX deliveries_voice_status_idx ON deliveries (provider_message_id) WHERE channel = 'voice';

-- The costs reports read the minutes from the rollups.
ALTER TABLE alert_channel_rollups ADD COLUMN voice_minutes integer NOT NULL DEFAULT 0;

-- The reach preview counts who would get a call.
ALTER TABLE reach_previews ADD COLUMN voice_participants bigint NOT NULL DEFAULT 0,
    ADD COLUMN voice_fallback_participants bigint NOT NULL DEFAULT 0;

-- A participant who chose `voice` and has a phone number can be reached by it.
CREATE OR REPLACE FUNCTION reach_of(p participants, ios smallint, android smallint,
    OUT categories text[], OUT channels text[], OUT ios_devices smallint, OUT android_devices smallint)
AS $$
    SELECT CASE WHEN p.status = 'active'
                THEN p.categories || CASE WHEN p.exercises THEN '{exercise}'::text[] ELSE '{}'::text[] END
                ELSE '{}' END,
           CASE WHEN p.status = 'active' THEN ARRAY(
               SELECT channel FROM unnest(p.channels) AS channel
                WHERE (channel = 'push' AND ios + android > 0)
                   OR (channel IN ('sms', 'voice') AND p.phone_number IS NOT NULL)
                   OR (channel = 'email' AND p.email_verified_at IS NOT NULL))
           ELSE '{}' END,
           ios, android
$$ LANGUAGE sql IMMUTABLE;
