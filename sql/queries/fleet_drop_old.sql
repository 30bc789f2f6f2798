SELECT fleet.drop_old_partitions(%(keep_days)s) AS n;
