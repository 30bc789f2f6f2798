-- The mySociety servicerequestupdates feed: public history events in a window, oldest first, one page.
-- Only the public note; never catatan_internal, the actor, or anything about the reporter.
SELECT st.id AS update_id, st.laporan_id AS service_request_id, st.status, k.open311, st.jenis, st.pada,
       st.catatan AS description, st.media->0->>'url' AS media_url
FROM laporan_status st
JOIN laporan_status_kode k ON k.kode = st.status
WHERE st.pada >= %(start)s AND st.pada <= %(end)s
ORDER BY st.pada, st.id
LIMIT %(limit)s OFFSET %(offset)s;
