-- One-tap answers: a recipient answers an alert from its notification, and may change the answer
-- (`alerts::answers`). Only the latest answer is kept, on the recipient's row; a `seen_now`
-- answer is also a tip, of high priority, with the position when the phone gave one.
ALTER TABLE alert_recipients
    ADD COLUMN answer      text CHECK (answer IN ('seen_now', 'searching', 'not_in_area', 'cannot_help')),
    ADD COLUMN answered_at timestamptz,
    ADD CHECK ((answer IS NULL) = (answered_at IS NULL));

-- A tip made by a `seen_now` answer.
ALTER TABLE tips ADD COLUMN answer text CHECK (answer = 'seen_now');

-- An update may go to some of the recipients only, by their answer (none: to everyone reached).
ALTER TABLE alert_messages
    ADD COLUMN to_answers text[] CHECK (to_answers IS NULL OR cardinality(to_answers) > 0);
