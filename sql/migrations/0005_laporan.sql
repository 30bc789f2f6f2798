-- Complaints (laporan) from LAKSA over Open311 GeoReport v2, the OPD and category catalogue, and the
-- routing rules that send each laporan to one OPD with its reasons.
-- Wilayah codes (kelurahan/kecamatan/kab-kota) are kept as text, not foreign keys: the bundled loader
-- swaps those tables by DROP + rename, which a foreign key would block.

-- Bodies that handle laporan (FixMyStreet's "bodies"): city agencies, kecamatan and kelurahan offices,
-- the water utility, and outside bodies a laporan is handed off to (neighbouring kab/kota, national roads).
CREATE TABLE opd (
    kode             text PRIMARY KEY CHECK (kode ~ '^[a-z0-9][a-z0-9._-]{0,39}$'),
    nama             text NOT NULL CHECK (length(nama) BETWEEN 1 AND 200),
    singkatan        text NOT NULL DEFAULT '',
    jenis            text NOT NULL CHECK (jenis IN ('dinas', 'badan', 'satuan', 'kecamatan', 'kelurahan', 'bumd',
                                                    'triase', 'instansi_luar', 'kabkota_tetangga')),
    -- the kecamatan/kelurahan/kab-kota a territorial office covers (Kemendagri kode)
    wilayah_kode     text,
    -- outside bodies do not work the laporan here: it is handed off to them
    luar_kota        boolean NOT NULL DEFAULT false,
    kontak           text NOT NULL DEFAULT '',
    perlu_konfirmasi boolean NOT NULL DEFAULT false,
    catatan          text NOT NULL DEFAULT '',
    aktif            boolean NOT NULL DEFAULT true,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX opd_wilayah_idx ON opd (jenis, wilayah_kode) WHERE wilayah_kode IS NOT NULL;

-- The complaint categories citizens pick (Open311 "services").
CREATE TABLE layanan (
    kode              text PRIMARY KEY CHECK (kode ~ '^[a-z][a-z0-9_]{0,39}$'),
    nama              text NOT NULL,
    deskripsi         text NOT NULL DEFAULT '',
    grup              text NOT NULL DEFAULT '',
    kata_kunci        text[] NOT NULL DEFAULT '{}',
    -- Open311 attribute definitions (service definition), as the spec writes them
    atribut           jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(atribut) = 'array'),
    duplikat_radius_m integer NOT NULL DEFAULT 250 CHECK (duplikat_radius_m BETWEEN 0 AND 5000),
    duplikat_hari     integer NOT NULL DEFAULT 30 CHECK (duplikat_hari BETWEEN 0 AND 365),
    perkiraan_hari    integer CHECK (perkiraan_hari BETWEEN 1 AND 365),
    service_notice    text NOT NULL DEFAULT '',
    perlu_konfirmasi  boolean NOT NULL DEFAULT false,
    aktif             boolean NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- A routing rule is a head row plus immutable versions: a change writes a new version, and every laporan
-- points at the version that routed it, so changes never rewrite the routing of laporan in flight.
CREATE TABLE routing_rule (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- stable name from the catalogue file (NULL for rules added through the API/CLI)
    kunci       text UNIQUE,
    versi       integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routing_rule_versi (
    rule_id          integer NOT NULL REFERENCES routing_rule (id) ON DELETE RESTRICT,
    versi            integer NOT NULL CHECK (versi > 0),
    nama             text NOT NULL CHECK (length(nama) BETWEEN 1 AND 200),
    -- NULL: the rule applies to every category
    layanan_kode     text REFERENCES layanan (kode),
    wilayah          text NOT NULL CHECK (wilayah IN ('kota', 'kecamatan', 'kelurahan', 'layer')),
    wilayah_kode     text,
    layer_id         text CHECK (layer_id ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- attribute predicate on the layer's features: {"column": ["value", ...]} (all columns must match)
    atribut_filter   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(atribut_filter) = 'object'),
    jarak_m          double precision NOT NULL DEFAULT 0 CHECK (jarak_m BETWEEN 0 AND 5000),
    -- target: a named OPD, or the kecamatan/kelurahan office of the place the point lies in
    opd_kode         text REFERENCES opd (kode),
    ke_kantor        text CHECK (ke_kantor IN ('kecamatan', 'kelurahan')),
    prioritas        integer NOT NULL CHECK (prioritas BETWEEN -1000 AND 100000),
    aktif            boolean NOT NULL DEFAULT true,
    alasan           text NOT NULL DEFAULT '',
    diubah_oleh      text NOT NULL DEFAULT '',
    diubah_pada      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, versi),
    CHECK ((opd_kode IS NULL) <> (ke_kantor IS NULL)),
    CHECK ((wilayah IN ('kecamatan', 'kelurahan')) = (wilayah_kode IS NOT NULL)),
    CHECK ((wilayah = 'layer') = (layer_id IS NOT NULL))
);

ALTER TABLE routing_rule ADD CONSTRAINT routing_rule_versi_fk
    FOREIGN KEY (id, versi) REFERENCES routing_rule_versi (rule_id, versi) DEFERRABLE INITIALLY DEFERRED;

-- The rules in force: the current version of each rule.
CREATE VIEW routing_rule_aktif AS
SELECT v.*, r.kunci
FROM routing_rule r JOIN routing_rule_versi v ON v.rule_id = r.id AND v.versi = r.versi
WHERE v.aktif;

CREATE TABLE laporan (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layanan_kode       text NOT NULL REFERENCES layanan (kode),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed')),
    status_notes       text NOT NULL DEFAULT '',
    deskripsi          text NOT NULL DEFAULT '' CHECK (length(deskripsi) <= 4000),
    lat                double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon                double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    geom               geometry(Point, 4326) NOT NULL,
    address_string     text NOT NULL DEFAULT '' CHECK (length(address_string) <= 500),
    address_id         text NOT NULL DEFAULT '' CHECK (length(address_id) <= 100),
    zipcode            text NOT NULL DEFAULT '' CHECK (length(zipcode) <= 20),
    media_url          text CHECK (media_url ~ '^https?://' AND length(media_url) <= 2000),
    atribut            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(atribut) = 'object'),
    -- the reporter: private, never in a public read
    pelapor_email      text NOT NULL DEFAULT '',
    pelapor_telepon    text NOT NULL DEFAULT '',
    pelapor_nama_depan text NOT NULL DEFAULT '',
    pelapor_nama_belakang text NOT NULL DEFAULT '',
    pelapor_device_id  text NOT NULL DEFAULT '',
    pelapor_account_id text NOT NULL DEFAULT '',
    api_key_id         integer REFERENCES api_key (id),
    -- routing: who, by which rule version, why
    opd_kode           text NOT NULL REFERENCES opd (kode),
    rule_id            integer,
    rule_versi         integer,
    keputusan          text NOT NULL CHECK (keputusan IN ('aturan', 'triase', 'serah_terima')),
    alasan             jsonb NOT NULL,
    alasan_teks        text NOT NULL,
    kelurahan_kode     text,
    kecamatan_kode     text,
    kabkota_kode       text,
    kemungkinan_duplikat_dari bigint REFERENCES laporan (id),
    jarak_duplikat_m   double precision,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    expected_at        timestamptz,
    FOREIGN KEY (rule_id, rule_versi) REFERENCES routing_rule_versi (rule_id, versi),
    CHECK ((rule_id IS NULL) = (rule_versi IS NULL))
);
CREATE INDEX laporan_geom_idx ON laporan USING gist (geom);
CREATE INDEX laporan_requested_idx ON laporan (requested_at);
CREATE INDEX laporan_layanan_idx ON laporan (layanan_kode, status, requested_at);
CREATE INDEX laporan_opd_idx ON laporan (opd_kode, status);
CREATE INDEX laporan_duplikat_idx ON laporan (kemungkinan_duplikat_dari) WHERE kemungkinan_duplikat_dari IS NOT NULL;

-- An API key (api_key from 0002) bound to an OPD may read and move only that OPD's laporan;
-- NULL: not bound (the LAKSA desk's officer keys, gis_admin).
ALTER TABLE api_key ADD COLUMN opd_kode text REFERENCES opd (kode);

-- Every status change, with its note, who and when (the first row is the intake).
CREATE TABLE laporan_status (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    laporan_id  bigint NOT NULL REFERENCES laporan (id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('open', 'in_progress', 'closed')),
    catatan     text NOT NULL DEFAULT '' CHECK (length(catatan) <= 2000),
    oleh        text NOT NULL DEFAULT '',
    pada        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX laporan_status_laporan_idx ON laporan_status (laporan_id, pada);
