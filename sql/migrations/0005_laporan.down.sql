DROP TABLE IF EXISTS laporan_status;
DROP TABLE IF EXISTS laporan;
DROP VIEW IF EXISTS routing_rule_aktif;
ALTER TABLE IF EXISTS routing_rule DROP CONSTRAINT IF EXISTS routing_rule_versi_fk;
DROP TABLE IF EXISTS routing_rule_versi;
DROP TABLE IF EXISTS routing_rule;
DROP TABLE IF EXISTS layanan;
DROP TABLE IF EXISTS opd;
