-- Waste laporan of [lo, hi) whose routing evidence says the nearest TPS's pickup was missed that day
-- (alasan.pengangkutan from geo_api/fleet/evidence.py); public columns only, as Open311 GET requests shows them.
SELECT l.id, l.layanan_kode, l.status, l.opd_kode, l.kelurahan_kode, l.kecamatan_kode, l.requested_at,
       l.alasan -> 'pengangkutan' ->> 'nama' AS tps, l.alasan -> 'pengangkutan' ->> 'teks' AS bukti
FROM laporan l
WHERE l.requested_at >= %(lo)s AND l.requested_at < %(hi)s
  AND l.alasan -> 'pengangkutan' ->> 'status_hari_ini' = 'terlewat'
ORDER BY l.requested_at, l.id;
