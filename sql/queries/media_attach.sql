-- Add photos (entries written by geo_api/media.py: relative /media/ URLs, type, size) to one history entry.
UPDATE laporan_status SET media = media || %(media)s WHERE id = %(id)s RETURNING id;
