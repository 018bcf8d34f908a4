DROP INDEX deliveries_email_message_id_idx;
DROP TABLE municipal_message_recipients;
DROP TABLE municipal_messages;
ALTER TABLE participants DROP COLUMN email_bounced_at, DROP COLUMN municipal_messages;
