DROP TABLE IF EXISTS poi, crosswalk_bps, gazetteer, kabkota_sekitar, batas_kota, kecamatan,
    tetangga_desa_kelurahan, kelurahan, data_layer;
DROP SCHEMA IF EXISTS staging CASCADE;
