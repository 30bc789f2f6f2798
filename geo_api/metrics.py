"""What GET /metrics exposes (Prometheus text format, prometheus_client), and how it is gathered.

Process metrics (requests per route template, OsmAnd fixes by result and reason, group-commit batch sizes and
queue depth, pool usage, catalog and tile cache hits) live in prometheus_client objects. With several worker
processes (`satupeta serve --workers N`) the command starts them in prometheus_client's multiprocess mode (a
fresh PROMETHEUS_MULTIPROC_DIR), so whichever worker answers a scrape reports the sum over all live workers;
one process alone uses the default registry. Database facts (laporan by status, overdue laporan, replication
lag per standby) are read by the answering process at scrape time, one short query each.

Labels are bounded: the route is the matched template (`/ogc/collections/{collectionId}/items`), never the raw
path; an unmatched path is `unmatched`; a method outside the HTTP set is `OTHER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("satupeta.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SAMPLE_INTERVAL_S = 2.0

HTTP_REQUESTS = Counter("satupeta_http_requests_total", "HTTP requests answered, per route template",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("satupeta_http_request_duration_seconds", "Time to answer, per route template",
                         ["method", "route"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OSMAND_FIXES = Counter("satupeta_osmand_fixes_total", "OsmAnd fixes: accepted (committed) or rejected, by reason",
                       ["result", "reason"])
FIXES_FLAGGED = Counter("satupeta_fleet_fixes_flagged_total", "Committed fixes the filters flagged, by flag",
                        ["flag"])
BATCH_SIZE = Histogram("satupeta_fleet_commit_batch_fixes", "Fixes per group commit",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000))
QUEUE_DEPTH = Gauge("satupeta_fleet_queue_depth", "Fixes waiting for their group commit (sum over workers)",
                    multiprocess_mode="livesum")
POOL = Gauge("satupeta_db_pool_connections", "Connections of the database pools (sum over workers)",
             ["pool", "state"], multiprocess_mode="livesum")
CACHE = Counter("satupeta_cache_requests_total", "Catalog and tile cache lookups, by result", ["cache", "result"])

# OsmAnd answers by status: the reason label is one of these few words, never text from the request.
_OSMAND_REASONS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "unknown_device", 405: "method",
                   413: "too_large", 429: "throttled", 503: "unavailable", 500: "error"}


def multiprocess() -> bool:
    """Whether prometheus_client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before it loaded)."""
    return values.ValueClass.__name__ != "MutexValue"


def method_label(method: str) -> str:
    """The method as a label: one of the HTTP methods, else OTHER (a client may send any token)."""
    return method if method in METHODS else "OTHER"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its time under its route template."""
    m = method_label(method)
    HTTP_REQUESTS.labels(m, route, str(status)).inc()
    HTTP_LATENCY.labels(m, route).observe(seconds)


def osmand_answer(status: int, detail: str) -> None:
    """Count one OsmAnd exchange by its answer (200: accepted, i.e. committed)."""
    if status == 200:
        OSMAND_FIXES.labels("accepted", "").inc()
        return
    reason = _OSMAND_REASONS.get(status, "other")
    if status == 400 and detail.startswith("Unknown device"):
        reason = "unknown_device"
    elif status == 400 and "refused by the database" in detail:
        reason = "refused_by_database"
    OSMAND_FIXES.labels("rejected", reason).inc()


def group_commit(size: int, flags) -> None:
    """The writer's hook after each committed batch: its size and the flags the filters gave."""
    BATCH_SIZE.observe(size)
    for flag in flags:
        if flag:
            FIXES_FLAGGED.labels(flag).inc()


# ---------------------------------------------------------------------------------------------- sampling
class _Deltas:
    """Turns the caches' plain hit/miss counts into Counter increments (the caches stay free of prometheus)."""

    def __init__(self):
        self.seen: dict[tuple[str, str], int] = {}

    def push(self, cache: str, result: str, total: int) -> None:
        key = (cache, result)
        delta = total - self.seen.get(key, 0)
        if delta > 0:
            CACHE.labels(cache, result).inc(delta)
        self.seen[key] = total


def sample(state: Any, deltas: _Deltas) -> None:
    """Read this process's gauges: pool usage, writer queue depth, cache counts."""
    pools = {"primary": getattr(state, "pool", None)}
    replica = getattr(state, "read_pool", None)
    if replica is not None and replica is not pools["primary"]:
        pools["replica"] = replica
    for name, pool in pools.items():
        if pool is None:
            continue
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        POOL.labels(name, "open").set(size)
        POOL.labels(name, "in_use").set(max(0, size - idle))
        POOL.labels(name, "idle").set(idle)
        POOL.labels(name, "waiting").set(stats.get("requests_waiting", 0))
        POOL.labels(name, "max").set(pool.max_size)
    services = getattr(state, "services", None)
    if services is None:
        return
    QUEUE_DEPTH.set(services.fleet.writer.queue.qsize())
    tiles = services.layers.tiles
    deltas.push("tiles", "hit", getattr(tiles, "hits", 0))
    deltas.push("tiles", "miss", getattr(tiles, "misses", 0))
    catalog = services.layers.catalog
    deltas.push("catalog", "hit", getattr(catalog, "hits", 0))
    deltas.push("catalog", "miss", getattr(catalog, "reloads", 0))


async def sampler(state: Any) -> None:
    """Sample this process's gauges every SAMPLE_INTERVAL_S until cancelled (the app's shutdown)."""
    deltas = _Deltas()
    while True:
        try:
            sample(state, deltas)
        except Exception as exc:  # a metric must never take the process down
            log.warning("metrics sampling failed: %s", exc)
        await asyncio.sleep(SAMPLE_INTERVAL_S)


@contextlib.asynccontextmanager
async def sampling(state: Any):
    """Run the sampler for the app's lifetime (sampled once at start, so a first scrape has values)."""
    with contextlib.suppress(Exception):
        sample(state, _Deltas())
    task = asyncio.get_running_loop().create_task(sampler(state), name="metrics-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------------------------------------- rendering
class _Static:
    """A collector of families read just before the scrape (database facts)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        """The families as read."""
        return self.families


def database_families(laporan: list[dict], overdue: int | None, standbys: list[dict]) -> list:
    """The database facts as metric families."""
    status = GaugeMetricFamily("satupeta_laporan", "Laporan per status", labels=["status"])
    for row in laporan:
        status.add_metric([row["status"]], row["n"])
    families = [status]
    if overdue is not None:
        families.append(GaugeMetricFamily("satupeta_laporan_overdue", "Open laporan past their stage's due time",
                                          value=overdue))
    lag_b = GaugeMetricFamily("satupeta_replication_lag_bytes", "WAL not yet replayed, per standby",
                              labels=["standby"])
    lag_s = GaugeMetricFamily("satupeta_replication_lag_seconds", "Replay lag, per standby", labels=["standby"])
    for row in standbys:
        lag_b.add_metric([row["standby"]], row["lag_bytes"] or 0)
        lag_s.add_metric([row["standby"]], row["lag_s"] or 0.0)
    return [*families, lag_b, lag_s]


def render(extra_families: list) -> bytes:
    """The exposition text: this process (or all workers in multiprocess mode) plus the database facts."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(_Static(extra_families))
    return text + generate_latest(extra)
