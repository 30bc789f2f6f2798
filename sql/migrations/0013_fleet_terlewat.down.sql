DROP TABLE IF EXISTS fleet_terlewat;
