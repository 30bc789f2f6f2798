-- Changes whenever a rule, an OPD, a category or a published layer changes: the in-process rule set
-- (rules, names, layer columns) is reloaded when the stamp moves.
SELECT concat_ws('/', (SELECT max(diubah_pada) FROM routing_rule_versi), (SELECT count(*) FROM routing_rule_versi),
                 (SELECT max(updated_at) FROM opd), (SELECT max(updated_at) FROM layanan),
                 (SELECT max(updated_at) FROM layer), (SELECT count(*) FROM layer)) AS stamp;
