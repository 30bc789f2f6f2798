-- One layer of the registry, locked for a publish/restore/unpublish in this transaction.
SELECT id, title, description, opd, licence, attribution, geometry_type, current_version
FROM layer WHERE id = %(id)s FOR UPDATE;
