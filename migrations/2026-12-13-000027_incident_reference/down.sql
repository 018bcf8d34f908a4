ALTER TABLE alerts DROP COLUMN incident_reference;
