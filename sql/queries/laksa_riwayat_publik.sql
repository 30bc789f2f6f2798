-- The public history of laporan (by id): status, event kind, public note, photos, time; no actor, no internal note.
SELECT st.laporan_id, st.id AS update_id, st.status, k.open311, st.jenis, st.catatan, st.media, st.pada
FROM laporan_status st JOIN laporan_status_kode k ON k.kode = st.status
WHERE st.laporan_id = ANY(%(ids)s::bigint[])
ORDER BY st.laporan_id, st.pada, st.id;
