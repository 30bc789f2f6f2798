INSERT INTO fleet.vehicle (plat_nomor, jenis, kecamatan_kode, depot, depot_geom)
VALUES (%(plat_nomor)s, %(jenis)s, %(kecamatan_kode)s, %(depot)s,
        CASE WHEN %(depot_lon)s::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(%(depot_lon)s::float8, %(depot_lat)s::float8), 4326) END)
ON CONFLICT (plat_nomor) DO UPDATE
SET jenis = EXCLUDED.jenis, kecamatan_kode = EXCLUDED.kecamatan_kode, depot = EXCLUDED.depot,
    depot_geom = EXCLUDED.depot_geom
RETURNING id;
