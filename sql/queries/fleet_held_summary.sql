SELECT unique_id, count(*) AS fixes, min(received_at) AS first_received, max(received_at) AS last_received
FROM fleet.held_position GROUP BY unique_id ORDER BY max(received_at) DESC;
