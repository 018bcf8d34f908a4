DROP TABLE provider_rate_buckets;

DROP INDEX background_jobs_claim_by_type_idx;
ALTER TABLE alert_dossier ALTER COLUMN body SET COMPRESSION default;
ALTER TABLE alert_areas DROP COLUMN recipients_selected_at;

-- One job per batch again: the push lane's job carries the batch; the other lanes' go.
DELETE FROM background_jobs WHERE job_type IN ('deliver_sms', 'deliver_email');
UPDATE background_jobs SET job_type = 'deliver_batch' WHERE job_type = 'deliver_push';
DELETE FROM delivery_batches WHERE lane <> 'push';
ALTER TABLE delivery_batches DROP CONSTRAINT delivery_batches_pkey;
ALTER TABLE delivery_batches ADD PRIMARY KEY (message_id, batch_no);
ALTER TABLE delivery_batches DROP COLUMN lane;

ALTER TABLE alert_recipients DROP COLUMN push_expected;
CREATE INDEX alert_recipients_participant_idx ON alert_recipients (participant_id, created_at DESC);
ALTER TABLE alert_recipients DROP CONSTRAINT alert_recipients_pkey;
ALTER TABLE alert_recipients ADD PRIMARY KEY (alert_id, participant_id);
DROP INDEX deliveries_target_idx;
CREATE UNIQUE INDEX deliveries_target_idx ON deliveries
    (message_id, participant_id, channel, (COALESCE(device_id, '00000000-0000-0000-0000-000000000000'::uuid)));
CREATE INDEX deliveries_batch_idx ON deliveries (message_id, batch_no);
ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES alerts (id),
    ADD CONSTRAINT deliveries_message_id_fkey FOREIGN KEY (message_id) REFERENCES alert_messages (id),
    ADD CONSTRAINT deliveries_participant_id_fkey FOREIGN KEY (participant_id) REFERENCES participants (id);
ALTER TABLE alert_recipients
    ADD CONSTRAINT alert_recipients_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES alerts (id),
    ADD CONSTRAINT alert_recipients_participant_id_fkey FOREIGN KEY (participant_id) REFERENCES participants (id);

ALTER TABLE places RESET (fillfactor);

DROP FUNCTION minute_of_week(timestamptz);
DROP TRIGGER place_time_windows_changed ON place_time_windows;
DROP TRIGGER place_time_windows_removed ON place_time_windows;
DROP TRIGGER place_time_windows_added ON place_time_windows;
DROP FUNCTION time_windows_changed();
DROP FUNCTION time_windows_removed();
DROP FUNCTION time_windows_added();
DROP FUNCTION refresh_active_minutes(uuid[]);
DROP TRIGGER devices_changed_reach ON devices;
DROP TRIGGER devices_removed_reach ON devices;
DROP TRIGGER devices_added_reach ON devices;
DROP FUNCTION devices_changed_reach();
DROP FUNCTION devices_removed_reach();
DROP FUNCTION devices_added_reach();
DROP TRIGGER participants_reach ON participants;
DROP FUNCTION participants_reach_changed();
DROP FUNCTION refresh_participant_reach(uuid[]);
DROP TRIGGER live_locations_reach ON live_locations;
DROP TRIGGER places_reach ON places;
DROP FUNCTION take_participant_reach();
DROP FUNCTION participant_reach(uuid);
DROP FUNCTION reach_of(participants, smallint, smallint);

ALTER TABLE live_locations
    DROP COLUMN reach_categories,
    DROP COLUMN reach_channels,
    DROP COLUMN ios_devices,
    DROP COLUMN android_devices;
ALTER TABLE places
    DROP COLUMN reach_categories,
    DROP COLUMN reach_channels,
    DROP COLUMN ios_devices,
    DROP COLUMN android_devices,
    DROP COLUMN active_minutes;
