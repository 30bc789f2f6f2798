-- Create or update one category from the catalogue.
INSERT INTO layanan (kode, nama, deskripsi, grup, kata_kunci, atribut, duplikat_radius_m, duplikat_hari,
                     perkiraan_hari, sla_hari_kerja, service_notice, perlu_konfirmasi, aktif)
VALUES (%(kode)s, %(nama)s, %(deskripsi)s, %(grup)s, %(kata_kunci)s, %(atribut)s, %(duplikat_radius_m)s,
        %(duplikat_hari)s, %(perkiraan_hari)s, %(sla_hari_kerja)s, %(service_notice)s, %(perlu_konfirmasi)s, true)
ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama, deskripsi = excluded.deskripsi, grup = excluded.grup,
    kata_kunci = excluded.kata_kunci, atribut = excluded.atribut, duplikat_radius_m = excluded.duplikat_radius_m,
    duplikat_hari = excluded.duplikat_hari, perkiraan_hari = excluded.perkiraan_hari,
    sla_hari_kerja = excluded.sla_hari_kerja,
    service_notice = excluded.service_notice, perlu_konfirmasi = excluded.perlu_konfirmasi, aktif = true,
    updated_at = clock_timestamp()
WHERE (layanan.nama, layanan.deskripsi, layanan.grup, layanan.kata_kunci, layanan.atribut, layanan.duplikat_radius_m,
       layanan.duplikat_hari, layanan.perkiraan_hari, layanan.sla_hari_kerja, layanan.service_notice, layanan.perlu_konfirmasi, layanan.aktif)
      IS DISTINCT FROM
      (excluded.nama, excluded.deskripsi, excluded.grup, excluded.kata_kunci, excluded.atribut,
       excluded.duplikat_radius_m, excluded.duplikat_hari, excluded.perkiraan_hari, excluded.sla_hari_kerja, excluded.service_notice,
       excluded.perlu_konfirmasi, true)
RETURNING kode;
