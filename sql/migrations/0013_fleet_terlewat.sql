-- Missed pickups computed once per window end for the whole deployment (issue 18): the first API process whose
-- live stream reaches a window end computes the day's pickups under an advisory lock and stores the TPS found
-- terlewat; every other stream and worker reads this row instead of recomputing. UNLOGGED: it is a cache of a
-- computation from the fixes (a crash of PostgreSQL empties it and the next stream recomputes).
CREATE UNLOGGED TABLE fleet_terlewat (
    sites_layer text NOT NULL,          -- the sites layer (fleet_sites_layer) the schedules came from
    tanggal     date NOT NULL,          -- the service day (fleet time zone)
    window_end  timestamptz NOT NULL,   -- the latest window end at or before the computation
    computed_at timestamptz NOT NULL DEFAULT now(),
    features    jsonb NOT NULL,         -- the day's terlewat TPS as GeoJSON features (/fleet/pickups)
    PRIMARY KEY (sites_layer, tanggal, window_end)
);
COMMENT ON TABLE fleet_terlewat IS 'Missed pickups per window end, shared by every API process (geo_api/fleet/terlewat.py).';
