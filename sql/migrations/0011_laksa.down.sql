DROP TABLE IF EXISTS laporan_penilaian;
DROP TABLE IF EXISTS laporan_disposisi;
DROP INDEX IF EXISTS laporan_status_pada_idx;
ALTER TABLE laporan_status DROP COLUMN IF EXISTS jenis, DROP COLUMN IF EXISTS catatan_internal,
    DROP COLUMN IF EXISTS api_key_id, DROP COLUMN IF EXISTS opd_kode, DROP COLUMN IF EXISTS media;
ALTER TABLE laporan DROP COLUMN IF EXISTS tahap_mulai, DROP COLUMN IF EXISTS disposisi_due,
    DROP COLUMN IF EXISTS disposisi_at, DROP COLUMN IF EXISTS disposisi_eskalasi_at,
    DROP COLUMN IF EXISTS tindak_lanjut_due, DROP COLUMN IF EXISTS tindak_lanjut_at,
    DROP COLUMN IF EXISTS tindak_lanjut_eskalasi_at, DROP COLUMN IF EXISTS tutup_due, DROP COLUMN IF EXISTS tutup_at,
    DROP COLUMN IF EXISTS jumlah_disposisi, DROP COLUMN IF EXISTS kode_lacak_hash;
ALTER TABLE layanan DROP COLUMN IF EXISTS sla_hari_kerja;
ALTER TABLE laporan_status DROP CONSTRAINT IF EXISTS laporan_status_status_fk;
ALTER TABLE laporan DROP CONSTRAINT IF EXISTS laporan_status_fk;
UPDATE laporan SET status = CASE WHEN status IN ('open', 'reopened', 'investigating', 'action_scheduled') THEN 'open'
                                 WHEN status = 'in_progress' THEN 'in_progress' ELSE 'closed' END;
UPDATE laporan_status SET status = CASE WHEN status IN ('open', 'reopened', 'investigating', 'action_scheduled')
                                        THEN 'open' WHEN status = 'in_progress' THEN 'in_progress' ELSE 'closed' END;
ALTER TABLE laporan ADD CONSTRAINT laporan_status_check CHECK (status IN ('open', 'in_progress', 'closed'));
ALTER TABLE laporan_status ADD CONSTRAINT laporan_status_status_check
    CHECK (status IN ('open', 'in_progress', 'closed'));
DROP TABLE IF EXISTS laporan_transisi;
DROP TABLE IF EXISTS laporan_status_kode;
