-- Municipal messages (Burgernetmail, newsletters and preventive messages): what a municipality
-- writes to its own participants, to whom each went, and what became of it.

-- Which kinds of municipal message the participant wants; none until they opt in. And when a
-- newsletter to their address bounced: the address is then unverified and the participant waits
-- in the municipality's verification queue until they confirm it again or set another.
ALTER TABLE participants
    ADD COLUMN municipal_messages text[] NOT NULL DEFAULT '{}'
        CHECK (municipal_messages <@ ARRAY['newsletter', 'prevention']::text[]),
    ADD COLUMN email_bounced_at timestamptz;

CREATE TABLE municipal_messages (
    id                 uuid PRIMARY KEY,
    municipality_cbs   text NOT NULL REFERENCES municipalities (cbs_code),
    kind               text NOT NULL CHECK (kind IN ('newsletter', 'prevention')),
    channels           text[] NOT NULL
        CHECK (cardinality(channels) > 0 AND channels <@ ARRAY['push', 'sms', 'email']::text[]),
    -- {"nl": {"subject": ..., "body": ...}, "en": {...}}: Dutch always, English optional.
    texts              jsonb NOT NULL,
    -- Only participants with a place in it (a preventive message after burglaries in one area).
    area               geometry(MultiPolygon, 4326),
    status             text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    -- A message that was scheduled has its time; a draft (and a draft cancelled) has none.
    send_at            timestamptz CHECK (status IN ('draft', 'cancelled') OR send_at IS NOT NULL),
    created_by_subject text NOT NULL,
    created_by_name    text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    sending_started_at timestamptz,
    sent_at            timestamptz,
    cancelled_at       timestamptz
);

CREATE INDEX municipal_messages_by_municipality ON municipal_messages (municipality_cbs, created_at DESC);

-- Who a message went to, taken when sending starts: one row per participant and channel. Never a
-- position: the area is the message's. `provider_message_id` is our e-mail Message-ID (bounces
-- name it); the unsubscribe link's token is kept only as its hash.
CREATE TABLE municipal_message_recipients (
    message_id             uuid NOT NULL REFERENCES municipal_messages (id) ON DELETE CASCADE,
    participant_id         uuid NOT NULL REFERENCES participants (id),
    channel                text NOT NULL CHECK (channel IN ('push', 'sms', 'email')),
    state                  text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed')),
    failure_code           text,
    provider_message_id    text,
    unsubscribe_token_hash bytea,
    sent_at                timestamptz,
    bounced_at             timestamptz,
    unsubscribed_at        timestamptz,
    opened_at              timestamptz,
    PRIMARY KEY (message_id, participant_id, channel)
);

CREATE INDEX municipal_message_recipients_pending
    ON municipal_message_recipients (message_id, channel) WHERE state = 'pending';
CREATE UNIQUE INDEX municipal_message_recipients_by_provider_id
    ON municipal_message_recipients (provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE UNIQUE INDEX municipal_message_recipients_by_unsubscribe_token
    ON municipal_message_recipients (unsubscribe_token_hash) WHERE unsubscribe_token_hash IS NOT NULL;
CREATE INDEX municipal_message_recipients_by_participant
    ON municipal_message_recipients (participant_id);

-- Bounce reports name an alert's e-mail by our Message-ID too.
CREATE INDEX deliveries_email_message_id_idx ON deliveries (provider_message_id) WHERE channel = 'email';
