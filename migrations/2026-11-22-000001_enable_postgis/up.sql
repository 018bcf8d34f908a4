-- PostGIS holds every geometry we use: municipality boundaries, places, alert areas.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Keeps `updated_at` honest without every query having to remember it.
CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
