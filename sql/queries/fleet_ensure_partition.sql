SELECT fleet.ensure_partition(%(day)s::date) AS created;
