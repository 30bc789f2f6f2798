"""The one Settings object: every configurable value, read from SATUPETA_* and DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration of the platform; environment variables override every default."""

    model_config = SettingsConfigDict(env_prefix="SATUPETA_", env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SATUPETA_DATABASE_URL"),
        description="PostGIS to use; when unset the project-local embedded cluster is used.",
    )
    data_dir: Path = Field(default=PROJECT_ROOT.parent / "shared" / "data",
                           description="Folder with the bundled Kota Tangerang data.")
    pg_data_dir: Path = Field(default=PROJECT_ROOT / ".pgdata",
                              description="Data folder of the embedded PostGIS cluster.")
    pg_port: int = Field(default=55432, ge=1, le=65535, description="Port of the embedded cluster.")
    pg_user: str = Field(default="satupeta", description="Superuser of the embedded cluster.")
    pg_database: str = Field(default="satupeta", description="Database name in the embedded cluster.")
    pg_bin_dir: Path | None = Field(default=None, description="PostgreSQL binaries; found by pg_config if unset.")
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP server listens on.")
    workers: int = Field(default=1, ge=0, description="Worker processes of `satupeta serve` (0: one per CPU "
                         "core; `make run` passes 0). Each has its own pools of up to pool_max_size connections.")
    pool_min_size: int = Field(default=2, ge=1, description="Connections each pool (primary, replica) keeps "
                               "open per process, even when idle.")
    pool_max_size: int = Field(default=10, ge=1, description="Most connections one pool opens per process: "
                               "workers x instances x this must fit the server's max_connections.")
    statement_timeout_ms: int = Field(default=30_000, ge=100,
                                      description="Server-side limit for one statement from the API.")
    log_level: str = Field(default="info", description="Log level of the server and the CLI: debug, info, "
                           "warning or error.")
    log_format: str = Field(default="json", pattern="^(json|text)$", description="Log lines of the server, the "
                            "OsmAnd listener and the CLI: json (one object per line with the request id) or text.")
    metrics_open_networks: tuple[str, ...] = Field(
        default=("127.0.0.0/8", "::1/128"), description="Client networks (CIDR, after trusted_proxies) that may "
        "read GET /metrics without a key; any other client needs a gis_admin key (X-API-Key or Bearer).")
    backup_repo_dir: Path | None = Field(default=None, description="pgBackRest repository of the embedded "
                                         "cluster (`satupeta db backup`); unset: beside pg_data_dir with -backup "
                                         "appended. Put it on another disk than the data.")
    backup_retention_full: int = Field(default=2, ge=1, le=100, description="Full backups pgBackRest keeps (with "
                                       "their incrementals and the WAL to restore to any time since the oldest).")
    geocode_gap_tolerance_m: float = Field(
        default=30.0, ge=0, le=1000,
        description="Reverse geocoding: a point in a sliver between kelurahan polygons goes to the nearest one "
                    "within this many metres (decision `gap`).")
    geocode_nearest_max_m: float = Field(
        default=25_000.0, ge=0,
        description="Reverse geocoding: beyond the known kab/kota, name the nearest one only within this distance.")
    geocode_batch_max_points: int = Field(
        default=200_000, ge=1, description="Most points one POST /geocode/reverse/batch may carry (413 beyond).")
    geocode_batch_max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest batch request body in bytes (413 beyond).")
    geocode_query_max_chars: int = Field(
        default=300, ge=10, description="Longest address text /geocode/search accepts (413 beyond).")
    geocode_street_layer: str | None = Field(
        default="jalan_sintetis", pattern=r"^([a-z][a-z0-9_]{0,62})?$",
        description="Published layer (id) whose lines are the street gazetteer of /geocode/search; empty or a "
                    "missing layer: no streets. The demo's SYNTHETIC roads `jalan_sintetis` by default.")
    geocode_street_name_column: str = Field(
        default="nama", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
        description="Column of the street layer holding the street name (checked against the layer's columns).")
    geocode_street_max_features: int = Field(
        default=200_000, ge=1,
        description="A street layer with more features than this is not indexed (logged; the old index stays).")
    geocode_street_max_name_chars: int = Field(
        default=120, ge=8, description="Street names longer than this are skipped when indexing.")
    geocode_street_check_s: float = Field(
        default=5.0, ge=0, description="Seconds between checks of the street layer's version by each process: "
                                       "a publish elsewhere re-indexes the streets after at most this long.")
    layers_items_default_limit: int = Field(default=10, ge=1, description="OGC items page size when no limit.")
    layers_items_max_limit: int = Field(default=10_000, ge=1, description="Largest OGC items page; a larger `limit` is "
                                        "capped to it (with a next link), as OGC API Features asks.")
    layers_catalog_ttl_s: float = Field(default=5.0, ge=0, description="Seconds the OGC collection catalog is "
                                        "cached; a publish in another process shows after at most this long.")
    layers_tile_cache_mb: int = Field(default=64, ge=0, description="In-process vector tile cache budget (MB).")
    layers_tile_max_age_s: int = Field(default=300, ge=0, description="Cache-Control max-age of vector tiles.")
    layers_upload_max_mb: int = Field(default=50, ge=1, description="Largest layer file accepted for publishing.")
    layers_unpacked_max_mb: int = Field(default=300, ge=1, description="Largest uncompressed size of a zip upload.")
    layers_max_columns: int = Field(default=200, ge=1, description="Most attribute columns a published layer has.")
    layers_max_features: int = Field(default=500_000, ge=1, description="Most features a published layer has.")
    # WMS/WFS at /ows (ows/): MapServer 8 workers under the system python (Debian's python3-mapscript)
    ows_python: str = Field(default="/usr/bin/python3", description="The interpreter that has Debian's "
                            "python3-mapscript; it runs the MapServer workers (layers/ows/worker.py).")
    ows_workers: int = Field(default=2, ge=1, le=64, description="MapServer worker processes per app process "
                             "(each answers one WMS/WFS request at a time).")
    ows_timeout_s: float = Field(default=30.0, gt=0, le=600, description="A WMS/WFS request MapServer has not "
                                 "answered in this many seconds ends its worker (503).")
    ows_max_size: int = Field(default=4096, ge=64, le=16384, description="Largest WMS WIDTH/HEIGHT in pixels.")
    ows_max_features: int = Field(default=10_000, ge=1, le=1_000_000, description="Most features one WFS "
                                  "GetFeature returns (COUNT above it is refused; no COUNT means this many).")
    maps_tile_url: str | None = Field(
        default=None, description="Tile URL template ({z}/{x}/{y}) for the maps' base layer, e.g. an intranet "
        "tile server; when unset the maps draw only the city's own boundaries (no request leaves the machine).")
    maps_tile_attribution: str = Field(default="", description="Attribution shown for maps_tile_url's tiles.")
    maps_inline_reports: int = Field(
        default=3000, ge=0, le=50_000, description="At most this many individual reports are put in one map "
        "page; above it the map shows server-side aggregates (grid cells, kelurahan) and fetches points by view.")
    maps_fleet_refresh_s: float = Field(default=10.0, gt=0, description="Seconds between live fleet refreshes.")
    heavy_work_threads: int = Field(default=2, ge=1, le=64, description="Worker threads for CPU-heavy work per "
                                    "process (map page builds, fleet trip/visit detection), so the event loop that "
                                    "acknowledges GPS fixes never runs it; more such requests wait for a thread.")

    # Si Lacak (fleet GPS)
    fleet_osmand_port: int = Field(default=5055, ge=1, le=65535, description="Port of the separate OsmAnd "
                                   "listener (Traccar's default for the protocol is 5055).")
    fleet_osmand_listen: bool = Field(default=False, description="Also serve the OsmAnd listener on "
                                      "fleet_osmand_port. `satupeta serve` (so `make run`) turns it on unless this "
                                      "is set (false: off); elsewhere off. It is always under /osmand too.")
    fleet_unknown_device: str = Field(default="reject", pattern="^(reject|hold)$", description="Fixes from an "
                                      "unregistered device: reject (400/404, as Traccar) or hold for registration.")
    fleet_max_speed_kmh: float = Field(default=150.0, gt=0, description="Implied speed above which a fix is a jump.")
    fleet_future_tolerance_s: float = Field(default=300.0, ge=0, description="A fix this far ahead of the "
                                            "server clock is flagged future.")
    fleet_jump_reset_s: float = Field(default=900.0, gt=0, description="After this silence a far fix is "
                                      "accepted (the truck may really be elsewhere).")
    fleet_batch_max: int = Field(default=5000, ge=1, description="Most fixes committed in one group commit.")
    fleet_queue_max: int = Field(default=20000, ge=1, description="Fixes waiting for commit before requests "
                                 "wait (bounded memory).")
    fleet_device_rate: float = Field(default=20.0, gt=0, description="Sustained fixes/s accepted per device.")
    fleet_device_burst: int = Field(default=300, ge=1, description="Burst of fixes per device (offline buffers).")
    fleet_retention_days: int = Field(default=400, ge=1, description="Daily position partitions older than "
                                      "this are dropped by `satupeta fleet maintain`.")
    fleet_stop_radius_m: float = Field(default=200.0, gt=0, description="A stop: every fix within this radius...")
    fleet_stop_min_duration_s: float = Field(default=180.0, gt=0, description="...for at least this long.")
    fleet_split_gap_s: float = Field(default=3600.0, gt=0, description="A gap in fixes longer than this "
                                     "splits trips (Traccar's minimalNoDataDuration).")
    fleet_min_trip_distance_m: float = Field(default=500.0, ge=0, description="Shorter trips are dropped "
                                             "(Traccar's minimalTripDistance).")
    fleet_min_trip_duration_s: float = Field(default=300.0, ge=0, description="Shorter trips are dropped "
                                             "(Traccar's minimalTripDuration).")
    fleet_track_gap_s: float = Field(default=300.0, gt=0, description="A track breaks where no fix came "
                                     "for this long (signal lost).")
    fleet_sites_layer: str = Field(default="lokasi_tps_tpa", description="Published layer with the disposal "
                                   "sites (attributes nama, jenis = TPS/TPA).")
    fleet_site_radius_tps_m: float = Field(default=50.0, gt=0, description="Geofence radius of a TPS point.")
    fleet_site_radius_tpa_m: float = Field(default=300.0, gt=0, description="Geofence radius of a TPA point.")
    fleet_visit_dwell_s: float = Field(default=60.0, ge=0, description="Time inside a site before it counts "
                                       "as a visit (a truck passing by is not one).")
    fleet_timezone: str = Field(default="Asia/Jakarta", description="Time zone of fleet days and clock times.")
    fleet_stream_interval_s: float = Field(default=5.0, gt=0, description="Seconds between live SSE updates.")
    fleet_export_max_days: int = Field(default=31, ge=1, le=366, description="Longest range (days) of one track "
                                       "export (GPX, KML, CSV) or driving-events request; longer is a 422.")
    fleet_speed_limit_kmh: float = Field(default=60.0, gt=0, le=300, description="Driving events: a truck above "
                                         "this speed (between consecutive fixes) is speeding.")
    fleet_idle_min_s: float = Field(default=600.0, gt=0, description="Driving events: a stop away from every "
                                    "disposal site (and the depot) at least this long is idling.")
    fleet_evidence_radius_m: float = Field(default=300.0, gt=0, le=5000, description="Waste complaints: the "
                                           "nearest scheduled TPS within this distance gives its service record.")

    # LAKSA complaints (Open311 GeoReport v2) and OPD routing
    open311_jurisdiction_id: str = Field(default="tangerangkota.go.id",
                                         description="Open311 jurisdiction_id this endpoint answers for.")
    open311_max_description: int = Field(default=4000, ge=1, le=4000,
                                         description="Longest laporan description accepted (400 beyond).")
    open311_max_attributes: int = Field(default=30, ge=0, description="Most attribute[...] fields in one POST.")
    laksa_timer_seconds: float = Field(
        default=900, ge=0, le=86400,
        description="How often the server runs the LAKSA clock job (escalate overdue SP4N-LAPOR! stages, close "
                    "laporan unanswered for 10 working days; as `satupeta laksa tutup-otomatis`); 0 turns it off.")
    open311_max_window_days: int = Field(
        default=90, ge=1, le=3650,
        description="Longest GET requests date window (the spec's 90 days); only start_date means up to now, "
                    "and a start_date further back than this is a 400 asking for end_date.")
    open311_bbox: tuple[float, float, float, float] = Field(
        default=(105.9, -6.6, 107.3, -5.8),
        description="Plausible lon/lat box (min lon, min lat, max lon, max lat) for a laporan; outside it: 400.")
    routing_triase_opd: str = Field(default="diskominfo",
                                    description="OPD kode of the triage desk (unknown category, no rule applies).")
    routing_katalog_path: Path = Field(default=PROJECT_ROOT / "geo_api" / "catalogue" / "katalog_opd.yaml",
                                       description="The OPD and category catalogue the city edits.")

    # LAKSA photos (geo_api/media.py): multipart `media` on POST requests and on an OPD's status change
    media_dir: Path = Field(default=PROJECT_ROOT / "var" / "media", description="Where laporan photos and "
                            "thumbnails are stored (content-addressed, re-encoded without metadata); served at "
                            "/media/. Not in git.")
    media_max_files: int = Field(default=5, ge=1, le=20, description="Most photos in one request (413 beyond).")
    media_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024,
                                 description="Largest photo file in bytes (413 beyond).")
    media_max_pixels: int = Field(default=50_000_000, ge=10_000, le=200_000_000, description="Most pixels "
                                  "(width x height) a photo may declare; checked before decoding (decompression "
                                  "bombs), 413 beyond.")
    media_max_side: int = Field(default=2560, ge=320, le=10_000, description="Stored photos are scaled down to "
                                "at most this many pixels on their longest side (a large JPEG is decoded at 1/2, "
                                "1/4 or 1/8 by libjpeg when that keeps at least 3/4 of it: four times faster).")
    media_thumb_side: int = Field(default=320, ge=32, le=1024, description="Longest side of a thumbnail.")
    media_jpeg_quality: int = Field(default=85, ge=30, le=95, description="JPEG/WebP quality of stored photos.")
    media_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$", description="Public base "
                                       "URL (scheme://host[/prefix]) of the /media/ links written into a laporan's "
                                       "media_url; unset: the base URL of the request that uploaded it.")

    # Trust: rate limits on writes, tracker keys
    ratelimit_enabled: bool = Field(default=True, description="Limit writes (POST/PUT/PATCH/DELETE) per client "
                                    "address and per API key (token buckets, shared in PostgreSQL unless "
                                    "ratelimit_shared is off; 429 with Retry-After).")
    ratelimit_address_per_s: float = Field(default=50.0, gt=0, description="Sustained writes/s per client address.")
    ratelimit_address_burst: int = Field(default=500, ge=1, description="Burst of writes per client address.")
    ratelimit_key_per_s: float = Field(default=100.0, gt=0, description="Sustained writes/s per API key.")
    ratelimit_key_burst: int = Field(default=1000, ge=1, description="Burst of writes per API key.")
    lapor_per_jam: float = Field(default=120.0, gt=0, description="Citizen web form (/lapor, /lacak): sustained "
                                 "submissions per hour per client address (shared in PostgreSQL; 429 page beyond).")
    lapor_burst: int = Field(default=30, ge=1, description="Citizen web form: burst of submissions per address "
                             "(many phones share a carrier's address).")
    ratelimit_exempt_paths: tuple[str, ...] = Field(
        default=("/osmand",), description="Path prefixes without these limits (OsmAnd ingest has its own "
        "per-device bucket, and many trucks share one carrier address).")
    ratelimit_shared: bool = Field(
        default=True, description="Keep the write buckets in PostgreSQL (UNLOGGED ratelimit_bucket, one atomic "
        "upsert per write), so the limits hold for the whole deployment (every worker, every machine) and "
        "survive an app restart. Off: in-process buckets, so N processes allow N times the rate and a restart "
        "refills them. While the database is unreachable the in-process buckets stand in.")
    fleet_tracker_auth: str = Field(
        default="required", pattern="^(off|bound|required)$", description="OsmAnd has no credentials, so a "
        "tracker key (satupeta keys create NAME --role tracker --device ID) goes in an extra `key` parameter of "
        "the device's URL (Traccar Client server URL `http://host:5055/?key=sp_...`) or the JSON body's `key`: "
        "required (default) = every device must send a live key bound to it (401 without, 403 for another "
        "device's), so nobody can post positions for a keyless device; bound = only devices that have a live "
        "tracker key must send it, keyless devices are accepted unchanged; off = never checked (plain Traccar).")
    fleet_tracker_keys_ttl_s: float = Field(default=10.0, ge=0, description="Seconds the tracker keys are "
                                            "cached by the ingest (a new or revoked key shows after this long).")

    # The HTTP edge (geo_api/edge.py): client address, CORS, request bodies, server timeouts, log redaction
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is "
        "believed; empty: the socket peer is the client (rate limits and the audit log use it).")
    cors_public_reads: bool = Field(default=True, description="Browsers on any origin may read (GET/HEAD): "
                                    "OGC API, tiles, TileJSON, Open311 reads, geocoding, the live fleet.")
    cors_write_origins: tuple[str, ...] = Field(
        default=(), description="Origins (scheme://host[:port]) whose pages may write (POST/PUT/PATCH/DELETE) "
        "from a browser; a write carrying another Origin is refused with 403.")
    http_body_max_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body of any "
                                     "route without its own limit (413 beyond; Open311 64 KiB, uploads larger).")
    http_body_timeout_s: float = Field(default=60.0, gt=0, description="A request body must arrive completely "
                                       "within this many seconds (408 beyond); read before any handler runs.")
    http_keepalive_timeout_s: int = Field(default=5, ge=1, description="Seconds an idle keep-alive connection "
                                          "is kept open by the server.")
    geocode_batch_concurrency: int = Field(default=2, ge=1, description="Batch geocoding requests worked on "
                                           "at once per process; more get 503 with Retry-After (flat memory).")
    log_redact_params: tuple[str, ...] = Field(
        default=("key", "api_key", "apikey", "token", "access_token", "password", "email", "phone",
                 "first_name", "last_name", "name", "device_id", "account_id", "address_string"),
        description="Query parameters whose values every log line shows as *** (secrets, personal data).")

    # Scale-out: a streaming replica for reads, a transaction-mode pooler (PgBouncer), the embedded replica
    database_replica_url: str | None = Field(
        default=None, description="A streaming replica of DATABASE_URL for read-only work (OGC items and tiles, "
        "maps, fleet history, the geocoding indexes at start-up); writes and reading one's own writes (Open311 "
        "GET requests/{id}) stay on the primary. Unset: everything on the primary.")
    database_transaction_pooling: bool = Field(
        default=False, description="DATABASE_URL (and the replica URL) point at a transaction-mode pooler such "
        "as PgBouncer: no server-side prepared statements and no startup options (set statement_timeout on the "
        "pooler's connect_query or with ALTER ROLE); LISTEN goes to database_direct_url.")
    database_direct_url: str | None = Field(
        default=None, description="A direct (not pooled) connection to the primary for session work: LISTEN, "
        "migrations. Unset: DATABASE_URL.")
    pg_replica_port: int | None = Field(default=None, ge=1, le=65535, description="Port of the embedded "
                                        "streaming replica (`satupeta db start --replica`); unset: pg_port + 1.")

    # The node's metadata catalogue (katalog/): CSW 2.0.2 at /csw, OGC API - Records, downloads at /unduh
    katalog_kode_simpul: str = Field(default="36.71", pattern=r"^[A-Za-z0-9._-]{1,40}$", description="Kode "
                                     "Simpul of this node in the Jaringan Informasi Geospasial Nasional: prefix of "
                                     "every record identifier and shown in CSW GetCapabilities.")
    katalog_node_name: str = Field(default="Simpul Jaringan Informasi Geospasial Kota Tangerang",
                                   description="The node's name in CSW GetCapabilities.")
    katalog_contact_org: str = Field(default="Dinas Komunikasi dan Informatika Kota Tangerang",
                                     description="The node's (metadata) contact organisation.")
    katalog_contact_email: str = Field(default="diskominfo@tangerangkota.go.id",
                                       pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+$", description="The node's contact e-mail.")
    katalog_contact_phone: str = Field(default="", pattern=r"^[0-9 +()-]{0,30}$",
                                       description="The node's contact telephone (empty: not published).")
    katalog_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#<>\"]+$", description="Public "
                                         "base URL written into metadata links; unset: the request's base URL.")
    katalog_max_records: int = Field(default=100, ge=1, le=1000, description="Largest CSW maxRecords / Records "
                                     "limit; larger requests are capped.")
    katalog_download_dir: Path = Field(default=PROJECT_ROOT / "var" / "unduh", description="Cache of whole-layer "
                                       "download files, one per layer version and format (safe to empty).")
    pg_replica_data_dir: Path | None = Field(default=None, description="Data folder of the embedded replica; "
                                             "unset: beside pg_data_dir, with -replica appended.")

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL is given and the project-local cluster serves the data."""
        return not self.database_url

    @property
    def dsn(self) -> str:
        """The libpq connection string the platform uses."""
        if self.database_url:
            return self.database_url
        return f"postgresql://{self.pg_user}@127.0.0.1:{self.pg_port}/{self.pg_database}"

    @property
    def direct_dsn(self) -> str:
        """The primary without a pooler in between (LISTEN, migrations): database_direct_url or the dsn."""
        return self.database_direct_url or self.dsn

    @property
    def replica_dsn(self) -> str | None:
        """The replica for read-only work, when one is configured."""
        return self.database_replica_url or None

    def sqlalchemy_url(self) -> str:
        """The same database as a SQLAlchemy URL (psycopg 3 driver), for alembic (never through a pooler)."""
        dsn = self.direct_dsn
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if dsn.startswith(prefix):
                return "postgresql+psycopg://" + dsn[len(prefix):]
        raise ValueError("DATABASE_URL must start with postgresql://")


def get_settings() -> Settings:
    """Read the settings from the environment (a fresh object each call; the app keeps its own)."""
    return Settings()
