-- Foundation: extensions, the bundled administrative layers, gazetteer, crosswalk, POIs and the
-- data_layer register recording each layer's source, attribution and checksum.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE data_layer (
    id            text PRIMARY KEY,
    title         text NOT NULL,
    source_file   text NOT NULL,
    sha256        text NOT NULL,
    feature_count integer NOT NULL,
    source        text NOT NULL,
    licence       text NOT NULL,
    attribution   text NOT NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kelurahan (
    kode       text PRIMARY KEY CHECK (kode ~ '^\d{2}\.\d{2}\.\d{2}\.\d{4}$'),
    kode_10    text NOT NULL,
    nama       text NOT NULL,
    jenis      text NOT NULL,
    kec_kode   text NOT NULL,
    kec_nama   text NOT NULL,
    kab_kode   text NOT NULL,
    kab_nama   text NOT NULL,
    prov_kode  text NOT NULL,
    prov_nama  text NOT NULL,
    kodepos    text,
    label_lat  double precision,
    label_lon  double precision,
    luas_km2   double precision,
    geom       geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX kelurahan_geom_idx ON kelurahan USING gist (geom);
CREATE INDEX kelurahan_kec_idx ON kelurahan (kec_kode);

-- Same shape as kelurahan: desa/kelurahan of the neighbouring kab/kota within 3 km of the city.
CREATE TABLE tetangga_desa_kelurahan (LIKE kelurahan INCLUDING ALL);
CREATE INDEX tetangga_geom_idx ON tetangga_desa_kelurahan USING gist (geom);

CREATE TABLE kecamatan (
    kode             text PRIMARY KEY CHECK (kode ~ '^\d{2}\.\d{2}\.\d{2}$'),
    kode_7           text NOT NULL,
    nama             text NOT NULL,
    jumlah_kelurahan integer NOT NULL,
    kab_kode         text NOT NULL,
    kab_nama         text NOT NULL,
    prov_kode        text NOT NULL,
    prov_nama        text NOT NULL,
    label_lat        double precision,
    label_lon        double precision,
    luas_km2         double precision,
    geom             geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX kecamatan_geom_idx ON kecamatan USING gist (geom);

CREATE TABLE batas_kota (
    kode             text PRIMARY KEY,
    kode_4           text NOT NULL,
    nama             text NOT NULL,
    prov_kode        text NOT NULL,
    prov_nama        text NOT NULL,
    jumlah_kecamatan integer NOT NULL,
    jumlah_kelurahan integer NOT NULL,
    luas_km2         double precision,
    geom             geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX batas_kota_geom_idx ON batas_kota USING gist (geom);

CREATE TABLE kabkota_sekitar (
    kode                  text PRIMARY KEY,
    kode_4                text NOT NULL,
    nama                  text NOT NULL,
    prov_kode             text NOT NULL,
    prov_nama             text NOT NULL,
    jumlah_desa_kelurahan integer,
    luas_km2              double precision,
    luas_km2_kepmendagri  double precision,
    penduduk_pria         integer,
    penduduk_wanita       integer,
    penduduk_total        integer,
    geom                  geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX kabkota_sekitar_geom_idx ON kabkota_sekitar USING gist (geom);

CREATE TABLE gazetteer (
    kode              text PRIMARY KEY,
    kode_tanpa_titik  text NOT NULL,
    level             text NOT NULL CHECK (level IN ('provinsi', 'kabkota', 'kecamatan', 'desa_kelurahan')),
    nama              text NOT NULL,
    jenis             text,
    kec_kode          text,
    kec_nama          text,
    kab_kode          text,
    kab_nama          text,
    prov_kode         text NOT NULL,
    prov_nama         text NOT NULL,
    kodepos           text,
    lat               double precision,
    lon               double precision,
    in_kota_tangerang boolean NOT NULL,
    geom              geometry(Point, 4326)
);
CREATE INDEX gazetteer_nama_trgm_idx ON gazetteer USING gin (lower(nama) gin_trgm_ops);
CREATE INDEX gazetteer_level_idx ON gazetteer (level);

CREATE TABLE crosswalk_bps (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level           text NOT NULL,
    kode_bps        text,  -- empty where match = 'none' (missing from the 2018 scrape)
    nama_bps        text,
    kode_kemendagri text,
    nama_kemendagri text,
    match           text NOT NULL CHECK (match IN ('exact', 'fuzzy', 'none')),
    CHECK (match = 'none' OR (kode_bps IS NOT NULL AND kode_kemendagri IS NOT NULL))
);
-- A BPS code can map to several Kemendagri codes after splits, so kode_bps is not unique.
CREATE INDEX crosswalk_bps_idx ON crosswalk_bps (kode_bps);
CREATE INDEX crosswalk_kemendagri_idx ON crosswalk_bps (kode_kemendagri);

CREATE TABLE poi (
    osm_ref           text PRIMARY KEY,
    osm_type          text NOT NULL,
    osm_id            bigint NOT NULL,
    name              text,
    category          text NOT NULL,
    perlu_verifikasi  boolean NOT NULL DEFAULT false,
    in_kota_tangerang boolean NOT NULL,
    desa_kel_kode     text,
    desa_kel_nama     text,
    kec_kode          text,
    kec_nama          text,
    kab_kode          text,
    kab_nama          text,
    geom              geometry(Point, 4326) NOT NULL
);
CREATE INDEX poi_geom_idx ON poi USING gist (geom);
CREATE INDEX poi_name_trgm_idx ON poi USING gin (lower(name) gin_trgm_ops);
