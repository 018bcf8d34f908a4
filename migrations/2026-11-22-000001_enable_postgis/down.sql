DROP FUNCTION set_updated_at();
DROP EXTENSION IF EXISTS postgis;
