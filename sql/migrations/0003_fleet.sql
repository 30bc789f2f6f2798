-- Si Lacak: the waste fleet's vehicles, their GPS devices and the positions they send.
-- Positions are partitioned by fix time (one partition per day) so a year of a few hundred
-- trucks at one fix every few seconds stays fast to write, to read per truck-day, and cheap to
-- expire: retention drops whole partitions (fleet.drop_old_partitions) instead of deleting rows.
CREATE SCHEMA IF NOT EXISTS fleet;

CREATE TABLE fleet.vehicle (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plat_nomor     text NOT NULL UNIQUE CHECK (length(plat_nomor) BETWEEN 1 AND 20),
    jenis          text NOT NULL CHECK (jenis IN ('compactor', 'dump_truck', 'arm_roll', 'pickup', 'lainnya')),
    kecamatan_kode text REFERENCES kecamatan (kode),
    depot          text NOT NULL DEFAULT '',
    depot_geom     geometry(Point, 4326),
    aktif          boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- unique_id is what the tracker sends as OsmAnd `id`/`deviceid` (Traccar's "identifier").
-- last_* is the latest good fix by fix time, kept by the ingest writer so the live view is one scan.
CREATE TABLE fleet.device (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unique_id     text NOT NULL UNIQUE CHECK (length(unique_id) BETWEEN 1 AND 128),
    vehicle_id    integer REFERENCES fleet.vehicle (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_fix_time timestamptz,
    last_received timestamptz,
    last_lat      double precision,
    last_lon      double precision,
    last_speed_kn real,
    last_course   real
);
CREATE INDEX device_vehicle_idx ON fleet.device (vehicle_id);

-- flag: NULL for a good fix; otherwise why it is kept out of analysis
-- (invalid_coords, zero_coords, not_valid, future, jump, duplicate).
CREATE TABLE fleet.position (
    device_id   integer NOT NULL,
    fix_time    timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    speed_kn    real,
    course      real,
    altitude    real,
    accuracy    real,
    hdop        real,
    batt        real,
    flag        text,
    attributes  jsonb
) PARTITION BY RANGE (fix_time);

-- Catches fixes outside the created daily partitions (clock errors, very old back-fill) so none is lost.
CREATE TABLE fleet.position_default PARTITION OF fleet.position DEFAULT;
CREATE INDEX position_device_time_idx ON fleet.position (device_id, fix_time);

-- Fixes from devices not yet registered, when the ingest holds them for registration.
CREATE TABLE fleet.held_position (
    unique_id   text NOT NULL,
    fix_time    timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    speed_kn    real,
    course      real,
    altitude    real,
    accuracy    real,
    hdop        real,
    batt        real,
    attributes  jsonb
);
CREATE INDEX held_position_unique_idx ON fleet.held_position (unique_id, fix_time);

CREATE FUNCTION fleet.partition_name(day date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'position_' || to_char(day, 'YYYYMMDD') $$;

-- Create the partition for one UTC day if missing; rows of that day already in the default
-- partition are moved into it (PostgreSQL refuses to create it over them otherwise).
CREATE FUNCTION fleet.ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := fleet.partition_name(day);
    lo timestamptz := (day::timestamp AT TIME ZONE 'UTC');
    hi timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
    IF to_regclass(format('fleet.%I', part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('fleet.ensure_partition'));
    IF to_regclass(format('fleet.%I', part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS _fleet_moved (LIKE fleet.position) ON COMMIT DROP;
    WITH moved AS (
        DELETE FROM fleet.position_default WHERE fix_time >= lo AND fix_time < hi RETURNING *
    ) INSERT INTO _fleet_moved SELECT * FROM moved;
    EXECUTE format('CREATE TABLE fleet.%I PARTITION OF fleet.position FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    INSERT INTO fleet.position SELECT * FROM _fleet_moved;
    DELETE FROM _fleet_moved;
    RETURN true;
END $$;

-- Retention: drop daily partitions wholly older than keep_days; old rows in the default go too.
CREATE FUNCTION fleet.drop_old_partitions(keep_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - keep_days;
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'fleet.position'::regclass AND c.relname ~ '^position_\d{8}$'
          AND to_date(substr(c.relname, 10), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE fleet.%I', r.relname);
        n := n + 1;
    END LOOP;
    DELETE FROM fleet.position_default WHERE fix_time < (cutoff::timestamp AT TIME ZONE 'UTC');
    RETURN n;
END $$;

SELECT fleet.ensure_partition(((now() AT TIME ZONE 'UTC')::date + d)) FROM generate_series(-1, 2) AS d;
