ALTER TABLE reach_previews DROP COLUMN target_group_participants;
ALTER TABLE alerts DROP COLUMN reach_area;
DROP TABLE alert_target_groups;
DROP TABLE target_group_members;
DROP TABLE target_groups;
