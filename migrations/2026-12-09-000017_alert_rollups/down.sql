DROP TABLE alert_channel_rollups;
DROP TABLE alert_municipality_rollups;
DROP TABLE alert_rollups;
