-- Whether the pages show SYNTHETIC data (the demo's laporan, the fleet simulator's trucks, plates 'B 9001 SIM'): they then say DATA SINTETIS.
SELECT EXISTS (SELECT 1 FROM laporan WHERE left(deskripsi, 17) = 'Contoh (sintetis)') AS laporan,
       EXISTS (SELECT 1 FROM fleet.vehicle WHERE right(plat_nomor, 4) = ' SIM') AS armada;
