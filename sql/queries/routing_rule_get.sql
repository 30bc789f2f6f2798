-- The current version of one rule (active or not); locks the head so concurrent changes serialise.
SELECT v.*, r.kunci
FROM routing_rule r JOIN routing_rule_versi v ON v.rule_id = r.id AND v.versi = r.versi
WHERE r.id = %(rule_id)s
FOR UPDATE OF r;
