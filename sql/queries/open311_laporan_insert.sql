-- Store one laporan with its routing, linked to the nearest open laporan of the same category within the
-- category's radius and days (the root of that one's duplicate chain), and its first status row: one statement,
-- so nothing is ever half-written.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
s AS (SELECT duplikat_radius_m, duplikat_hari FROM layanan WHERE kode = %(layanan_kode)s),
dup AS (
    SELECT coalesce(l.kemungkinan_duplikat_dari, l.id) AS id, ST_Distance(l.geom::geography, p.g::geography) AS jarak
    FROM laporan l, p, s
    WHERE l.layanan_kode = %(layanan_kode)s
      AND (SELECT k.open311 FROM laporan_status_kode k WHERE k.kode = l.status) = 'open'
      AND l.requested_at >= now() - make_interval(days => s.duplikat_hari)
      -- degrees bound first (uses the gist index; 1e-5 degree is under 1.11 m here), then exact metres
      AND ST_DWithin(l.geom, p.g, s.duplikat_radius_m / 100000.0)
      AND ST_DWithin(l.geom::geography, p.g::geography, s.duplikat_radius_m)
    ORDER BY jarak LIMIT 1
),
ins AS (
    INSERT INTO laporan (layanan_kode, deskripsi, lat, lon, geom, address_string, address_id, zipcode, media_url,
                         atribut, pelapor_email, pelapor_telepon, pelapor_nama_depan, pelapor_nama_belakang,
                         pelapor_device_id, pelapor_account_id, api_key_id, opd_kode, rule_id, rule_versi, keputusan,
                         alasan, alasan_teks, kelurahan_kode, kecamatan_kode, kabkota_kode,
                         kemungkinan_duplikat_dari, jarak_duplikat_m, expected_at, tahap_mulai, disposisi_due,
                         kode_lacak_hash, requested_at, updated_at)
    SELECT %(layanan_kode)s, %(deskripsi)s, %(lat)s, %(lon)s, p.g, %(address_string)s, %(address_id)s, %(zipcode)s,
           %(media_url)s, %(atribut)s, %(email)s, %(phone)s, %(first_name)s, %(last_name)s, %(device_id)s,
           %(account_id)s, %(api_key_id)s, %(opd_kode)s, %(rule_id)s, %(rule_versi)s, %(keputusan)s, %(alasan)s,
           %(alasan_teks)s, %(kelurahan_kode)s, %(kecamatan_kode)s, %(kabkota_kode)s,
           (SELECT id FROM dup), (SELECT jarak FROM dup),
           %(expected_at)s, %(tahap_mulai)s, %(disposisi_due)s, %(kode_lacak_hash)s, %(tahap_mulai)s,
           %(tahap_mulai)s
    FROM p, s
    RETURNING id, kemungkinan_duplikat_dari, jarak_duplikat_m
),
st AS (
    INSERT INTO laporan_status (laporan_id, status, jenis, catatan, oleh, api_key_id, opd_kode, media, pada)
    SELECT id, 'open', 'diterima', 'Laporan diterima', %(oleh)s, %(api_key_id)s, %(opd_kode)s, %(media)s,
           %(tahap_mulai)s
    FROM ins
)
SELECT id, kemungkinan_duplikat_dari, jarak_duplikat_m FROM ins;
