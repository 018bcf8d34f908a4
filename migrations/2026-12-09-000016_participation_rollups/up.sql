-- Rollups of the participation report (issue 17, report 1): the report reads these and the
-- reference data, never the participants themselves, so it answers at once for the country.

-- Every time a participant starts or stops being an active participant of a municipality, counted
-- per day (in Dutch time), municipality and reason, in the same transaction as the change itself.
-- The reason says which way: signed_up, approved, reinstated and moved_in join; signed_off,
-- removed, quarantined, moved_out and no_place_left leave. Only counts: never who.
CREATE TABLE participation_changes (
    day               date NOT NULL,
    municipality_cbs  text NOT NULL REFERENCES municipalities (cbs_code) ON DELETE CASCADE,
    reason            text NOT NULL CHECK (reason IN ('signed_up', 'approved', 'reinstated', 'moved_in',
                                                      'signed_off', 'removed', 'quarantined', 'moved_out',
                                                      'no_place_left')),
    participants      integer NOT NULL CHECK (participants > 0),
    PRIMARY KEY (municipality_cbs, day, reason)
);

-- The active participants of each municipality as counted by the workers' housekeeping (at most
-- every few minutes; the last count of a day stands for that day), split by how they can be
-- reached (the selection's `reach_of`): `app` push chosen and a device registered; `sms_only` SMS
-- chosen and a phone number, no app; `email_only` e-mail chosen and verified, neither app nor SMS.
-- Active participants reachable on none of these make up the rest of `active`.
CREATE TABLE participation_counts (
    day               date NOT NULL,
    municipality_cbs  text NOT NULL REFERENCES municipalities (cbs_code) ON DELETE CASCADE,
    active            integer NOT NULL CHECK (active >= 0),
    app               integer NOT NULL CHECK (app >= 0),
    sms_only          integer NOT NULL CHECK (sms_only >= 0),
    email_only        integer NOT NULL CHECK (email_only >= 0),
    counted_at        timestamptz NOT NULL,
    PRIMARY KEY (municipality_cbs, day),
    CHECK (app + sms_only + email_only <= active)
);
-- The monthly trend finds each month's last counted day.
CREATE INDEX participation_counts_day_idx ON participation_counts (day);
