DROP TABLE participation_counts;
DROP TABLE participation_changes;
