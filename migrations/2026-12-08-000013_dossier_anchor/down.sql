DROP TABLE dossier_anchors;
DROP TABLE dossier_checkpoints;
