-- Police regions (eenheden). Each control room belongs to one; dispatchers are scoped to one.
CREATE TABLE regions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER regions_updated_at BEFORE UPDATE ON regions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Municipalities (gemeenten) by their CBS code. A municipality belongs to at most one region.
CREATE TABLE municipalities (
    cbs_code     text PRIMARY KEY CHECK (cbs_code ~ '^GM[0-9]{4}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    inhabitants  integer NOT NULL CHECK (inhabitants >= 0),
    boundary     geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(boundary)),
    region_id    uuid REFERENCES regions (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX municipalities_boundary_idx ON municipalities USING gist (boundary);
CREATE INDEX municipalities_region_idx ON municipalities (region_id);
CREATE TRIGGER municipalities_updated_at BEFORE UPDATE ON municipalities
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
