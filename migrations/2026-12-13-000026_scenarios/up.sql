-- Scenarios (inzetscenario's): per region, the alerts a control room sends again and again (a
-- robbery of a jeweller, a missing child), kept by the region's managers: category, urgency,
-- channels, the circle's default radius, and the texts as templates per language whose
-- placeholders (`{person.clothing}`, `{vehicle.licence_plate}`, ...) the dispatcher fills in with
-- the description when creating an alert from one.
CREATE TABLE scenarios (
    id                  uuid PRIMARY KEY,
    region_id           uuid NOT NULL REFERENCES regions (id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category            text NOT NULL CHECK (category IN ('inform', 'engage', 'alarm', 'search')),
    urgent              boolean NOT NULL,
    channels            text[] NOT NULL
                        CHECK (cardinality(channels) >= 1 AND channels <@ '{push,sms,email,voice}'::text[]),
    radius_meters       double precision NOT NULL CHECK (radius_meters BETWEEN 100 AND 50000),
    -- As an alert's texts (`nl` required, `en` optional; each title, message and instruction),
    -- with placeholders.
    texts               jsonb NOT NULL CHECK (texts ? 'nl'),
    created_by_subject  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- An archived scenario is listed no more and makes no alerts; the alerts made from it keep
    -- naming it in their dossier.
    archived_at         timestamptz
);
CREATE UNIQUE INDEX scenarios_name_idx ON scenarios (region_id, lower(name)) WHERE archived_at IS NULL;
