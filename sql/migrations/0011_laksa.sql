-- LAKSA lifecycle (issue 16): statuses as data with their allowed transitions, the SP4N-LAPOR! stage clock on
-- each laporan (working days are computed in Python: holidays package + cuti bersama from the catalogue),
-- a richer history (public vs internal note, actor, event kind, photos), re-dispatch (disposisi), the
-- reporter's tracking code (hashed) and the satisfaction rating.

-- Statuses (FixMyStreet's Open311 extension names) and what Open311 shows for each.
CREATE TABLE laporan_status_kode (
    kode     text PRIMARY KEY CHECK (kode ~ '^[a-z_]{1,40}$'),
    open311  text NOT NULL CHECK (open311 IN ('open', 'closed')),
    nama     text NOT NULL,
    urutan   integer NOT NULL
);
INSERT INTO laporan_status_kode (kode, open311, nama, urutan) VALUES
    ('open', 'open', 'Diterima', 1),
    ('investigating', 'open', 'Diverifikasi', 2),
    ('action_scheduled', 'open', 'Tindakan dijadwalkan', 3),
    ('in_progress', 'open', 'Sedang dikerjakan', 4),
    ('reopened', 'open', 'Dibuka kembali', 5),
    ('fixed', 'closed', 'Selesai diperbaiki', 6),
    ('duplicate', 'closed', 'Duplikat', 7),
    ('not_responsible', 'closed', 'Bukan kewenangan', 8),
    ('no_further_action', 'closed', 'Tidak ada tindak lanjut', 9),
    ('closed', 'closed', 'Ditutup', 10);

-- The allowed transitions (dari -> ke). Anything else is answered 409 with the allowed next states.
CREATE TABLE laporan_transisi (
    dari text NOT NULL REFERENCES laporan_status_kode (kode),
    ke   text NOT NULL REFERENCES laporan_status_kode (kode),
    PRIMARY KEY (dari, ke),
    CHECK (dari <> ke)
);
INSERT INTO laporan_transisi (dari, ke)
SELECT d, k FROM (VALUES
    ('open', ARRAY['investigating', 'action_scheduled', 'in_progress', 'fixed', 'duplicate', 'not_responsible',
                   'no_further_action', 'closed']),
    ('reopened', ARRAY['investigating', 'action_scheduled', 'in_progress', 'fixed', 'duplicate', 'not_responsible',
                       'no_further_action', 'closed']),
    ('investigating', ARRAY['action_scheduled', 'in_progress', 'fixed', 'duplicate', 'not_responsible',
                            'no_further_action', 'closed']),
    ('action_scheduled', ARRAY['investigating', 'in_progress', 'fixed', 'no_further_action', 'closed']),
    ('in_progress', ARRAY['action_scheduled', 'fixed', 'no_further_action', 'closed']),
    ('fixed', ARRAY['closed', 'reopened']),
    ('duplicate', ARRAY['closed', 'reopened']),
    ('not_responsible', ARRAY['closed', 'reopened']),
    ('no_further_action', ARRAY['closed', 'reopened']),
    ('closed', ARRAY['reopened'])
) AS t(d, ks), unnest(ks) AS k;

ALTER TABLE laporan DROP CONSTRAINT laporan_status_check;
ALTER TABLE laporan ADD CONSTRAINT laporan_status_fk FOREIGN KEY (status) REFERENCES laporan_status_kode (kode);
ALTER TABLE laporan_status DROP CONSTRAINT laporan_status_status_check;
ALTER TABLE laporan_status ADD CONSTRAINT laporan_status_status_fk
    FOREIGN KEY (status) REFERENCES laporan_status_kode (kode);

-- Target per category in working days (replaces perkiraan_hari, which stays for older readers).
ALTER TABLE layanan ADD COLUMN sla_hari_kerja integer CHECK (sla_hari_kerja BETWEEN 1 AND 365);
UPDATE layanan SET sla_hari_kerja = perkiraan_hari;

-- The SP4N-LAPOR! stages: the clock starts at receipt and restarts at a re-dispatch or a reopening
-- (tahap_mulai). Each *_due is computed on the working-day calendar; *_at is when the stage was met;
-- *_eskalasi_at when an overdue stage was escalated (once per stage and clock).
ALTER TABLE laporan
    ADD COLUMN tahap_mulai              timestamptz,
    ADD COLUMN disposisi_due            timestamptz,
    ADD COLUMN disposisi_at             timestamptz,
    ADD COLUMN disposisi_eskalasi_at    timestamptz,
    ADD COLUMN tindak_lanjut_due        timestamptz,
    ADD COLUMN tindak_lanjut_at         timestamptz,
    ADD COLUMN tindak_lanjut_eskalasi_at timestamptz,
    ADD COLUMN tutup_due                timestamptz,
    ADD COLUMN tutup_at                 timestamptz,
    ADD COLUMN jumlah_disposisi         integer NOT NULL DEFAULT 0,
    -- sha256 of the reporter's tracking code (the code itself is answered once, never stored)
    ADD COLUMN kode_lacak_hash          text CHECK (kode_lacak_hash ~ '^[0-9a-f]{64}$');
UPDATE laporan SET tahap_mulai = requested_at;
CREATE INDEX laporan_disposisi_due_idx ON laporan (disposisi_due) WHERE disposisi_at IS NULL;
CREATE INDEX laporan_tindak_lanjut_due_idx ON laporan (tindak_lanjut_due) WHERE tindak_lanjut_at IS NULL;
CREATE INDEX laporan_tutup_due_idx ON laporan (tutup_due) WHERE tutup_at IS NULL;

-- The history (laporan_status, one row per event; its id is the Open311 update_id):
--   jenis: diterima (intake), status, disposisi, eskalasi, tutup_otomatis, penilaian
--   catatan: the public note; catatan_internal: for the OPD only, never in a public read
--   media: photos attached to this entry, a JSON array of {"url": "/media/...", "thumb_url": ...} written by the
--          media module (issue 16b); the updates feed's media_url is the first entry's url.
ALTER TABLE laporan_status
    ADD COLUMN jenis            text NOT NULL DEFAULT 'status'
        CHECK (jenis IN ('diterima', 'status', 'disposisi', 'eskalasi', 'tutup_otomatis', 'penilaian')),
    ADD COLUMN catatan_internal text NOT NULL DEFAULT '' CHECK (length(catatan_internal) <= 2000),
    ADD COLUMN api_key_id       integer REFERENCES api_key (id),
    ADD COLUMN opd_kode         text REFERENCES opd (kode),
    ADD COLUMN media            jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(media) = 'array');
UPDATE laporan_status st SET jenis = 'diterima', opd_kode = l.opd_kode
FROM laporan l WHERE l.id = st.laporan_id AND st.catatan = 'Laporan diterima' AND st.status = 'open';
CREATE INDEX laporan_status_pada_idx ON laporan_status (pada, id);

-- Re-dispatches: from which OPD to which, why, and the routing decision it overrode.
CREATE TABLE laporan_disposisi (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    laporan_id    bigint NOT NULL REFERENCES laporan (id) ON DELETE CASCADE,
    riwayat_id    bigint NOT NULL REFERENCES laporan_status (id) ON DELETE CASCADE,
    dari_opd      text NOT NULL REFERENCES opd (kode),
    ke_opd        text NOT NULL REFERENCES opd (kode),
    alasan        text NOT NULL CHECK (length(alasan) BETWEEN 1 AND 2000),
    -- the decision overridden: keputusan, rule_id/rule_versi, alasan_teks as they were
    keputusan_lama jsonb NOT NULL,
    rule_id       integer,
    rule_versi    integer,
    oleh          text NOT NULL,
    pada          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (rule_id, rule_versi) REFERENCES routing_rule_versi (rule_id, versi),
    CHECK (dari_opd <> ke_opd)
);
CREATE INDEX laporan_disposisi_laporan_idx ON laporan_disposisi (laporan_id);
CREATE INDEX laporan_disposisi_rule_idx ON laporan_disposisi (rule_id);

-- The reporter's satisfaction (PermenPANRB 14/2017 scale 1-4), once per laporan.
CREATE TABLE laporan_penilaian (
    laporan_id   bigint PRIMARY KEY REFERENCES laporan (id) ON DELETE CASCADE,
    nilai        integer NOT NULL CHECK (nilai BETWEEN 1 AND 4),
    komentar     text NOT NULL DEFAULT '' CHECK (length(komentar) <= 2000),
    opd_kode     text NOT NULL REFERENCES opd (kode),
    buka_kembali boolean NOT NULL DEFAULT false,
    pada         timestamptz NOT NULL DEFAULT now()
);
