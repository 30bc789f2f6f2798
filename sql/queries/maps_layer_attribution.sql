-- Attribution of a published layer (e.g. the TPS/TPA sites drawn on the fleet map), if it is published.
SELECT attribution, licence FROM layer WHERE id = %(id)s AND current_version IS NOT NULL;
