-- Every version of one rule, oldest first.
SELECT v.*, r.kunci FROM routing_rule_versi v JOIN routing_rule r ON r.id = v.rule_id
WHERE v.rule_id = %(rule_id)s ORDER BY v.versi;
