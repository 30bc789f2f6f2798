-- Make a version the current one of its rule.
UPDATE routing_rule SET versi = %(versi)s WHERE id = %(rule_id)s RETURNING id;
