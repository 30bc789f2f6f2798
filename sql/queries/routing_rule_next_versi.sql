-- The next version number of a rule.
SELECT coalesce(max(versi), 0) + 1 AS versi FROM routing_rule_versi WHERE rule_id = %(rule_id)s;
