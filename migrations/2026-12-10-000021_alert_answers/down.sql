ALTER TABLE alert_messages DROP COLUMN to_answers;
ALTER TABLE tips DROP COLUMN answer;
ALTER TABLE alert_recipients DROP COLUMN answer, DROP COLUMN answered_at;
