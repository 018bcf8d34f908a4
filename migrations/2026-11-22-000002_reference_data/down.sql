DROP TABLE municipalities;
DROP TABLE regions;
