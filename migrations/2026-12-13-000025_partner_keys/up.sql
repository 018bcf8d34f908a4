-- Partners (road-side displays, AMBER Alert, a regional broadcaster) read the CAP 1.2 messages of
-- the alerts in their regions and categories with a key of their own. Only the key's SHA-256 is
-- kept: the key is 32 random bytes, shown once when an administrator creates it, so a plain hash
-- is as strong as the key and lets a request find its row by the hash alone.
CREATE TABLE partner_keys (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_hash            bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    -- The key's first characters (`bnp_ab12cd`), to tell keys apart in lists and logs.
    key_prefix          text NOT NULL CHECK (key_prefix ~ '^bnp_[A-Za-z0-9_-]{6}$'),
    -- Region codes; each existed when the key was made (checked by the application: arrays take
    -- no foreign keys).
    regions             text[] NOT NULL CHECK (cardinality(regions) >= 1),
    categories          text[] NOT NULL
                        CHECK (cardinality(categories) >= 1
                               AND categories <@ '{inform,engage,alarm,search}'::text[]),
    -- Exercises and tests stay out of the feed unless set: a road sign must not show an exercise.
    include_exercises   boolean NOT NULL DEFAULT false,
    created_by_subject  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz,
    last_used_at        timestamptz
);
