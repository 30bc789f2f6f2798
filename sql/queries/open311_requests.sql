-- Laporan as Open311 service requests: public columns only (the reporter's name, phone and email are never
-- selected, and `address` is the kelurahan, not the reporter's free-text address: that stays with the OPD).
-- `zipcode` is the kodepos of the kelurahan (or neighbouring desa/kelurahan) the point lies in, which the
-- platform knows from its boundaries; what the reporter typed is kept only where the point has no kodepos.
-- Either by ids, or by category/status/date window and (extension) a radius around lat/long.
SELECT l.id, k.open311 AS status, l.status AS status_laksa, l.status_notes, l.layanan_kode AS service_code, s.nama AS service_name,
       l.deskripsi AS description, o.nama AS agency_responsible, s.service_notice,
       l.requested_at, l.updated_at, l.expected_at,
       w.jenis || ' ' || w.nama || ', Kecamatan ' || w.kec_nama AS address, l.address_id,
       COALESCE(NULLIF(w.kodepos, ''), NULLIF(l.zipcode, '')) AS zipcode,
       l.lat, l.lon, l.media_url, l.kelurahan_kode, l.kecamatan_kode, l.keputusan, l.alasan_teks,
       l.kemungkinan_duplikat_dari
FROM laporan l
JOIN layanan s ON s.kode = l.layanan_kode
JOIN opd o ON o.kode = l.opd_kode
JOIN laporan_status_kode k ON k.kode = l.status
LEFT JOIN LATERAL (SELECT jenis, nama, kec_nama, kodepos FROM kelurahan WHERE kode = l.kelurahan_kode
                   UNION ALL
                   SELECT jenis, nama, kec_nama, kodepos FROM tetangga_desa_kelurahan WHERE kode = l.kelurahan_kode
                   LIMIT 1) w ON true
WHERE CASE WHEN %(ids)s::bigint[] IS NOT NULL THEN l.id = ANY(%(ids)s::bigint[])
      ELSE (%(codes)s::text[] IS NULL OR l.layanan_kode = ANY(%(codes)s::text[]))
       AND l.requested_at >= %(start)s AND l.requested_at <= %(end)s
       AND (%(statuses)s::text[] IS NULL OR k.open311 = ANY(%(statuses)s::text[]))
       AND (%(lat)s::float8 IS NULL OR (
            ST_DWithin(l.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(radius)s / 100000.0)
        AND ST_DWithin(l.geom::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, %(radius)s)))
      END
ORDER BY l.requested_at DESC, l.id DESC
LIMIT %(limit)s;
