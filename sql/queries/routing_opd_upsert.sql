-- Create or update one OPD from the catalogue.
INSERT INTO opd (kode, nama, singkatan, jenis, wilayah_kode, luar_kota, kontak, perlu_konfirmasi, catatan, aktif)
VALUES (%(kode)s, %(nama)s, %(singkatan)s, %(jenis)s, %(wilayah_kode)s, %(luar_kota)s, %(kontak)s,
        %(perlu_konfirmasi)s, %(catatan)s, true)
ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama, singkatan = excluded.singkatan, jenis = excluded.jenis,
    wilayah_kode = excluded.wilayah_kode, luar_kota = excluded.luar_kota, kontak = excluded.kontak,
    perlu_konfirmasi = excluded.perlu_konfirmasi, catatan = excluded.catatan, aktif = true,
    updated_at = clock_timestamp()
WHERE (opd.nama, opd.singkatan, opd.jenis, opd.wilayah_kode, opd.luar_kota, opd.kontak, opd.perlu_konfirmasi,
       opd.catatan, opd.aktif) IS DISTINCT FROM
      (excluded.nama, excluded.singkatan, excluded.jenis, excluded.wilayah_kode, excluded.luar_kota, excluded.kontak,
       excluded.perlu_konfirmasi, excluded.catatan, true)
RETURNING kode;
