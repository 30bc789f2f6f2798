SELECT id FROM fleet.vehicle WHERE id::text = %(ref)s OR plat_nomor = %(ref)s;
