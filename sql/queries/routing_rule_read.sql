-- The current version of one rule (active or not), for reading: no lock, so it runs read-only (a replica,
-- `satupeta routing aturan riwayat`) and never waits for a change in progress.
SELECT v.*, r.kunci
FROM routing_rule r JOIN routing_rule_versi v ON v.rule_id = r.id AND v.versi = r.versi
WHERE r.id = %(rule_id)s;
