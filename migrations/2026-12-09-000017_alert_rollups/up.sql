-- Rollups of sent alerts, what the reports of alert results, delivery and costs read (issue 17):
-- a national year is thousands of alerts and tens of millions of deliveries, so no report
-- scans deliveries. The workers' housekeeping recomputes an alert's rows from its recipients
-- and deliveries while it is active and for two days after it closed (late receipts and opens);
-- after that they are final. They hold counts only, no person, so they outlive the deliveries.
-- Counts are integers (an alert reaches at most a few million): PostgreSQL sums integers into a
-- bigint, much faster than it sums bigints into a numeric, and reports sum a year of rows.

-- One row per sent alert.
CREATE TABLE alert_rollups (
    alert_id               uuid PRIMARY KEY REFERENCES alerts (id),
    region_id              uuid NOT NULL REFERENCES regions (id),
    -- The day it was sent, in Dutch time: the period it counts in.
    send_day               date NOT NULL,
    category               text NOT NULL,
    urgent                 boolean NOT NULL,
    -- NULL while the alert is active.
    outcome                text,
    recipients             integer NOT NULL,
    -- Recipients whose app confirmed receipt, and who opened the alert.
    acknowledged           integer NOT NULL,
    opened                 integer NOT NULL,
    tips                   integer NOT NULL,
    -- From the send to the first and to the last push of the initial wave; NULL without a push.
    seconds_to_first_push  double precision,
    seconds_to_last_push   double precision,
    -- Closed long enough ago that nothing changes any more: not recomputed again.
    final                  boolean NOT NULL,
    rolled_up_at           timestamptz NOT NULL
);
CREATE INDEX alert_rollups_day_idx ON alert_rollups (send_day, region_id);
CREATE INDEX alert_rollups_open_idx ON alert_rollups (alert_id) WHERE NOT final;

-- Per alert, the recipients of each municipality (the participant's own; NULL for none).
CREATE TABLE alert_municipality_rollups (
    alert_id          uuid NOT NULL REFERENCES alert_rollups (alert_id) ON DELETE CASCADE,
    send_day          date NOT NULL,
    municipality_cbs  text REFERENCES municipalities (cbs_code),
    recipients        integer NOT NULL,
    acknowledged      integer NOT NULL,
    opened            integer NOT NULL
);
CREATE UNIQUE INDEX alert_municipality_rollups_key ON alert_municipality_rollups
    (alert_id, (COALESCE(municipality_cbs, '')));
CREATE INDEX alert_municipality_rollups_day_idx ON alert_municipality_rollups (send_day, municipality_cbs);

-- Per alert, recipients' municipality and channel: the messages of all the alert's messages
-- (the alert, updates, the closing message).
CREATE TABLE alert_channel_rollups (
    alert_id              uuid NOT NULL REFERENCES alert_rollups (alert_id) ON DELETE CASCADE,
    send_day              date NOT NULL,
    municipality_cbs      text REFERENCES municipalities (cbs_code),
    channel               text NOT NULL CHECK (channel IN ('push', 'sms', 'email')),
    -- Accepted by the provider.
    sent                  integer NOT NULL,
    -- Confirmed arrived (by the provider's receipt or the device).
    delivered             integer NOT NULL,
    -- Failed for good.
    failed                integer NOT NULL,
    -- Recipients reached on this channel whose app confirmed receipt, and who opened the alert.
    acknowledged          integer NOT NULL,
    opened                integer NOT NULL,
    -- SMS sent as a fallback, by the rule that applied.
    sms_no_push_device    integer NOT NULL,
    sms_push_failed       integer NOT NULL,
    sms_not_acknowledged  integer NOT NULL,
    -- The SMS segments of the SMS sent (what the gateway charges).
    sms_segments          integer NOT NULL,
    -- Push devices removed because the provider declared their token dead.
    devices_removed       integer NOT NULL
);
CREATE UNIQUE INDEX alert_channel_rollups_key ON alert_channel_rollups
    (alert_id, (COALESCE(municipality_cbs, '')), channel);
CREATE INDEX alert_channel_rollups_day_idx ON alert_channel_rollups (send_day, municipality_cbs);
