-- Target groups (doelgroepen, seed 001): per region, named lists of participants beyond those an
-- area reaches, such as a municipality's enforcement officers, a shopping centre's security
-- staff or taxi drivers. A participant joins with the group's invitation code; the group's owner
-- (a staff member, named by the subject of their token) approves each member. A dispatcher adds
-- groups to an alert: their approved members are reached wherever they are, once each.
CREATE TABLE target_groups (
    id                  uuid PRIMARY KEY,
    region_id           uuid NOT NULL REFERENCES regions (id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description         text CHECK (length(description) BETWEEN 1 AND 500),
    -- The staff member who approves members: the `sub` of their token, and their name.
    owner_subject       text NOT NULL CHECK (length(owner_subject) BETWEEN 1 AND 200),
    owner_name          text CHECK (length(owner_name) BETWEEN 1 AND 200),
    -- Ten characters of an alphabet without look-alikes, stored without the hyphens the
    -- owner hands it out with. A new code replaces the old one at once.
    invitation_code     text NOT NULL UNIQUE CHECK (invitation_code ~ '^[A-HJ-NP-Z2-9]{10}$'),
    created_by_subject  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- An archived group takes no members and can be added to no alert; alerts keep naming it.
    archived_at         timestamptz
);
CREATE UNIQUE INDEX target_groups_name_idx ON target_groups (region_id, lower(name)) WHERE archived_at IS NULL;

CREATE TABLE target_group_members (
    group_id            uuid NOT NULL REFERENCES target_groups (id),
    participant_id      uuid NOT NULL REFERENCES participants (id),
    status              text NOT NULL CHECK (status IN ('pending', 'approved')),
    requested_at        timestamptz NOT NULL DEFAULT now(),
    decided_at          timestamptz,
    decided_by_subject  text,
    PRIMARY KEY (group_id, participant_id),
    CHECK ((status = 'approved') = (decided_at IS NOT NULL))
);
CREATE INDEX target_group_members_participant_idx ON target_group_members (participant_id);

-- The groups an alert reaches, named when it is created.
CREATE TABLE alert_target_groups (
    alert_id  uuid NOT NULL REFERENCES alerts (id),
    group_id  uuid NOT NULL REFERENCES target_groups (id),
    PRIMARY KEY (alert_id, group_id)
);
CREATE INDEX alert_target_groups_group_idx ON alert_target_groups (group_id);

-- Whether the alert reaches those its area reaches (places, live positions, those who come into
-- it). False: only its target groups; the area then only shows where to look.
ALTER TABLE alerts ADD COLUMN reach_area boolean NOT NULL DEFAULT true;


-- A reach preview also counts the members of the target groups it names.
ALTER TABLE reach_previews ADD COLUMN target_group_participants bigint NOT NULL DEFAULT 0;
