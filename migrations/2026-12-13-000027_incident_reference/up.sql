-- The control room's own reference for the incident an alert is about (the incident number in its
-- incident system, GMS), as the dispatcher typed it or the incident system's CAP message named it
-- (`incidents`). It goes out in the alert's CAP messages and is in the dossier.
ALTER TABLE alerts ADD COLUMN incident_reference text
    CHECK (length(incident_reference) BETWEEN 1 AND 100);
