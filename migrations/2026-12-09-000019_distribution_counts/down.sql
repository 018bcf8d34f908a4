DROP TABLE distribution_counts;
