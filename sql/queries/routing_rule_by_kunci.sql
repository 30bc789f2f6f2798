-- The current version of the rule with this catalogue key.
SELECT v.*, r.kunci
FROM routing_rule r JOIN routing_rule_versi v ON v.rule_id = r.id AND v.versi = r.versi
WHERE r.kunci = %(kunci)s;
