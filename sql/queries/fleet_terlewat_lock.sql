-- One computation of a (sites layer, day, window end) for the whole deployment: held to the end of the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('fleet_terlewat:' || %(layer)s || ':' || %(tanggal)s::text || ':'
                                              || %(window_end)s::text, 0))
