DROP TABLE reach_previews;
DROP FUNCTION reach_previews_refuse_change();
