-- The audit log of reach previews. A preview counts the people an area reaches, so every one is
-- recorded: who asked, when, for which region (and alert, for the reach of a saved one), what
-- (category and channels), a SHA-256 of the area and what it counted. The area itself is not kept:
-- there is no location history (design.md section 6); its hash is of the WKB the preview counted
-- in (the validated MultiPolygon, SRID 4326), so an area from an alert or a complaint can be
-- matched by hashing it the same way. The counts are kept exactly; staff read them as the preview
-- showed them (under 5: "fewer than 5"). The rows are written by the statement that counts, so no
-- preview goes unrecorded, and like the dossier they are never changed afterwards.
CREATE TABLE reach_previews (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    previewed_at               timestamptz NOT NULL DEFAULT now(),
    staff_subject              text NOT NULL,
    staff_name                 text,
    region_id                  uuid NOT NULL REFERENCES regions (id),
    alert_id                   uuid REFERENCES alerts (id),
    area_sha256                bytea NOT NULL CHECK (length(area_sha256) = 32),
    category                   text NOT NULL,
    channels                   text[] NOT NULL,
    participants               bigint NOT NULL,
    push_participants          bigint NOT NULL,
    ios_devices                bigint NOT NULL,
    android_devices            bigint NOT NULL,
    sms_participants           bigint NOT NULL,
    sms_fallback_participants  bigint NOT NULL,
    email_participants         bigint NOT NULL
);
CREATE INDEX reach_previews_region_idx ON reach_previews (region_id, id DESC);

CREATE FUNCTION reach_previews_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the reach preview log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reach_previews_append_only BEFORE UPDATE OR DELETE ON reach_previews
    FOR EACH ROW EXECUTE FUNCTION reach_previews_refuse_change();
CREATE TRIGGER reach_previews_no_truncate BEFORE TRUNCATE ON reach_previews
    FOR EACH STATEMENT EXECUTE FUNCTION reach_previews_refuse_change();
