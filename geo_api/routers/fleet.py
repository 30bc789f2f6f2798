"""Si Lacak: OsmAnd GPS ingest (under /osmand and on its own port) and the fleet's positions, tracks,
trips, stops, site visits and kelurahan coverage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson
import psycopg
import shapely
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response, StreamingResponse

from geo_api.db import fetch_all, fetch_one, open_pool, pooled
from geo_api.deps import AppSettings, Conn, ReadConn
from geo_api.errors import PROBLEM_TYPE_BASE, InvalidParameter, NotFound, ServiceUnavailable
from geo_api.fleet.runtime import FleetRuntime
from geo_api.settings import Settings
from ingestion import trips as det
from ingestion.fleet_writer import is_transient
from ingestion.osmand import DecodeError, Fix, decode_request

log = logging.getLogger("satupeta.fleet")

router = APIRouter(tags=["Si Lacak (fleet)"])
MAX_BODY = 64 * 1024


def runtime(app: Any) -> FleetRuntime:
    """The app's fleet runtime (geo_api.services builds it in the lifespan)."""
    return app.state.services.fleet


# ---------------------------------------------------------------- OsmAnd ingest

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class Answer(NamedTuple):
    """What the ingest answers: status, and for errors the problem detail, parameter and extra headers."""

    status: int
    detail: str = ""
    parameter: str | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()


OK = Answer(200)


async def ingest(rt: FleetRuntime, query_string: str, body: bytes, content_type: str | None) -> Answer:
    """Decode, check the device and its rate, and wait for the group commit: the whole OsmAnd exchange."""
    try:
        fix = decode_request(query_string, body, content_type)
    except DecodeError as exc:
        return Answer(400, exc.detail, exc.parameter)
    try:
        return await _accept(rt, fix)
    except Exception as exc:
        if is_transient(exc):
            return Answer(503, "The fix was not stored; retry.", None, ((b"retry-after", b"1"),))
        raise


async def _accept(rt: FleetRuntime, fix: Fix) -> Answer:
    try:
        denied = await rt.trackers.check(fix)
        device_id = await rt.device_id(fix.unique_id)
    except ServiceUnavailable as exc:
        raise psycopg.OperationalError(exc.detail) from exc
    if denied is not None:
        return Answer(denied[0], denied[1], "key")
    if device_id is None:
        if rt.settings.fleet_unknown_device == "hold":
            await rt.hold(fix)
            return OK
        # Traccar answers 400 to the query/form and 404 to the JSON form for an unknown device.
        return Answer(404 if fix.json_form else 400, f"Unknown device {fix.unique_id!r}: register it first",
                      "device_id" if fix.json_form else "id")
    wait = rt.throttle(fix.unique_id)
    if wait is not None:
        return Answer(429, "Too many fixes from this device; slow down.", "id",
                      ((b"retry-after", str(max(1, round(wait))).encode()),))
    await rt.writer.submit(device_id, fix)
    return OK


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return b""
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not msg.get("more_body"):
            return b"".join(chunks)


async def _respond(send, answer: Answer, path: str) -> None:
    if answer.status == 200:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    doc = {"type": PROBLEM_TYPE_BASE + _TITLES.get(answer.status, "error").lower().replace(" ", "-"),
           "title": _TITLES.get(answer.status, "Error"), "status": answer.status, "detail": answer.detail,
           "instance": path}
    if answer.parameter:
        doc["parameter"] = answer.parameter
    body = orjson.dumps(doc)
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
               *answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def handle_osmand(rt: FleetRuntime, scope, receive, send) -> None:
    """Raw ASGI handling of one OsmAnd request (no framework on the hot path: it must reach ≥10k fixes/s)."""
    method = scope["method"]
    path = scope.get("path", "/")
    if method not in ("GET", "POST", "HEAD"):
        await _respond(send, Answer(405, f"{method} is not accepted; use GET or POST", None,
                                    ((b"allow", b"GET, POST"),)), path)
        return
    body = b""
    if method == "POST":
        body = await _read_body(receive)
        if body is None:
            await _respond(send, Answer(413, f"body: larger than {MAX_BODY} bytes", "body"), path)
            return
    ctype = None
    for k, v in scope.get("headers", ()):
        if k == b"content-type":
            ctype = v.decode("latin-1")
            break
    try:
        answer = await ingest(rt, scope.get("query_string", b"").decode("latin-1"), body, ctype)
    except Exception:
        log.exception("OsmAnd ingest failed")
        answer = Answer(500, "An unexpected error occurred; it has been logged.")
    await _respond(send, answer, path)


class OsmAndFastPath:
    """ASGI middleware of the main app: `/osmand` is answered here, before routing (the hot path)."""

    def __init__(self, app, path: str = "/osmand"):
        self.app = app
        self.path = path

    async def __call__(self, scope, receive, send) -> None:
        """Serve OsmAnd requests; pass everything else on."""
        if scope["type"] == "http" and scope["path"] == self.path:
            await handle_osmand(runtime(scope["app"]), scope, receive, send)
        else:
            await self.app(scope, receive, send)


class ListenerApp:
    """The OsmAnd listener for its own port: any path, GET or POST, like Traccar's port 5055 (raw ASGI)."""

    def __init__(self, settings: Settings, shared: FleetRuntime | None = None):
        self.settings = settings
        self.shared = shared
        self.state = SimpleNamespace(settings=settings, fleet=shared)

    async def __call__(self, scope, receive, send) -> None:
        """ASGI entry: lifespan opens its own pool (unless sharing the main app's runtime); http is ingest."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await handle_osmand(self.state.fleet, scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        pool = None
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                if self.shared is None:
                    pool = open_pool(self.settings)
                    await pool.open(wait=False)
                    self.state.pool = pool
                    self.state.fleet = FleetRuntime(self.settings, pool)
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if pool is not None:
                    await self.state.fleet.writer.stop()
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_listener_app(settings: Settings, shared: FleetRuntime | None = None) -> ListenerApp:
    """The listener app (its own pool and writer, or the main app's when `shared` is given)."""
    return ListenerApp(settings, shared)


def create_listener_from_env() -> ListenerApp:
    """Factory for `uvicorn --factory geo_api.routers.fleet:create_listener_from_env`."""
    from geo_api.settings import get_settings

    return ListenerApp(get_settings())


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Fleet start-up for the main app: the runtime, and the OsmAnd listener port when configured."""
    rt = runtime(app)
    server_task = None
    server = None
    if app.state.settings.fleet_osmand_listen:
        server, server_task = await _start_listener(app.state.settings, rt)
    try:
        yield
    finally:
        if server is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server_task, 10)
        await rt.writer.stop()


async def _start_listener(settings: Settings, rt: FleetRuntime):
    import uvicorn

    class _Embedded(uvicorn.Server):
        """A second server in the main app's loop: the main server owns the signals."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    config = uvicorn.Config(create_listener_app(settings, rt), host=settings.host, port=settings.fleet_osmand_port,
                            log_level=settings.log_level.lower(), access_log=False)
    server = _Embedded(config)
    # SO_REUSEPORT: with `serve --workers N` every worker listens on the same port and the kernel spreads the
    # devices' connections over them (without it the second worker cannot bind and stops).
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.fleet_osmand_port))
    sock.set_inheritable(True)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="osmand-listener")
    log.info("OsmAnd listener on %s:%d", settings.host, settings.fleet_osmand_port)
    return server, task


# ---------------------------------------------------------------- fleet out

def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.fleet_timezone)


def _day_bounds(settings: Settings, day: date | None) -> tuple[date, datetime, datetime]:
    tz = _tz(settings)
    d = day or datetime.now(tz).date()
    lo = datetime(d.year, d.month, d.day, tzinfo=tz)
    return d, lo, lo + timedelta(days=1)


def _clock(settings: Settings, epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=_tz(settings)).isoformat(timespec="seconds")


def _json(content: Any, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(content, default=str), media_type=media_type)


def _config(settings: Settings, dwell_s: float | None = None) -> det.DetectionConfig:
    return det.DetectionConfig(
        stop_radius_m=settings.fleet_stop_radius_m, stop_min_duration_s=settings.fleet_stop_min_duration_s,
        split_gap_s=settings.fleet_split_gap_s, min_trip_distance_m=settings.fleet_min_trip_distance_m,
        min_trip_duration_s=settings.fleet_min_trip_duration_s,
        dwell_s=settings.fleet_visit_dwell_s if dwell_s is None else dwell_s)


async def _vehicle(conn: psycopg.AsyncConnection, vehicle_id: int) -> dict[str, Any]:
    row = await fetch_one(conn, "fleet_vehicle_get", {"id": vehicle_id})
    if row is None:
        raise NotFound(f"No vehicle {vehicle_id}")
    return row


async def _track(conn: psycopg.AsyncConnection, vehicle: dict[str, Any], lo: datetime, hi: datetime) -> det.Track:
    rows = await fetch_all(conn, "fleet_fixes", {"device_ids": vehicle["device_ids"], "lo": lo, "hi": hi})
    return det.Track.from_rows([(r["t"], r["lat"], r["lon"]) for r in rows])


def _live_feature(settings: Settings, r: dict[str, Any]) -> dict[str, Any]:
    age = r["age_s"]
    props = {k: r[k] for k in ("vehicle_id", "plat_nomor", "jenis", "kecamatan_kode", "device", "course")}
    props.update(fix_time=r["last_fix_time"], received=r["last_received"],
                 speed_kmh=round(r["speed_kmh"], 1) if r["speed_kmh"] is not None else None,
                 age_s=round(age, 1), terakhir_terlihat=_age_text(age))
    geometry = {"type": "Point", "coordinates": [r["lon"], r["lat"]]}
    return {"type": "Feature", "id": r["vehicle_id"], "geometry": geometry, "properties": props}


def _age_text(age_s: float) -> str:
    if age_s < 60:
        return f"{max(0, int(age_s))} detik lalu"
    if age_s < 3600:
        return f"{int(age_s // 60)} menit lalu"
    if age_s < 86400:
        return f"{int(age_s // 3600)} jam lalu"
    return f"{int(age_s // 86400)} hari lalu"


@router.get("/fleet/live", summary="Live positions of the fleet (GeoJSON) with last-seen age",
            responses={200: {"content": {"application/geo+json": {}}}})
async def live(conn: Conn, settings: AppSettings) -> Response:
    """Each active vehicle's newest good fix as a GeoJSON Feature."""
    rows = await fetch_all(conn, "fleet_live", {"since": None})
    return _json({"type": "FeatureCollection", "features": [_live_feature(settings, r) for r in rows]},
                 "application/geo+json")


@router.get("/fleet/live/stream", summary="Live positions as server-sent events")
async def live_stream(request: Request, settings: AppSettings,
                      once: Annotated[bool, Query(description="Send one snapshot and close (tests)")] = False
                      ) -> StreamingResponse:
    """SSE: a `snapshot` event with the whole fleet, then `positions` events with the vehicles that reported."""
    pool = request.app.state.pool

    async def events() -> AsyncIterator[bytes]:
        since = None
        kind = "snapshot"
        while True:
            started = datetime.now(timezone.utc)
            try:
                async with pooled(pool) as conn:
                    rows = await fetch_all(conn, "fleet_live", {"since": since})
            except ServiceUnavailable:
                yield b"event: error\ndata: {\"detail\": \"database unavailable\"}\n\n"
                rows = None
            if rows is not None:
                fc = {"type": "FeatureCollection", "features": [_live_feature(settings, r) for r in rows]}
                yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(fc, default=str) + b"\n\n"
                since, kind = started, "positions"
            if once or await request.is_disconnected():
                return
            await asyncio.sleep(settings.fleet_stream_interval_s)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _range(settings: Settings, start: datetime | None, end: datetime | None, day: date | None
           ) -> tuple[datetime, datetime]:
    if start is None and end is None:
        _, lo, hi = _day_bounds(settings, day)
        return lo, hi
    if start is None or end is None:
        raise InvalidParameter("start" if start is None else "end", "give both start and end, or a date")
    tz = _tz(settings)
    start = start if start.tzinfo else start.replace(tzinfo=tz)
    end = end if end.tzinfo else end.replace(tzinfo=tz)
    if end <= start:
        raise InvalidParameter("end", "end must be after start")
    if end - start > timedelta(days=31):
        raise InvalidParameter("end", "at most 31 days per request")
    return start, end


@router.get("/fleet/vehicles", summary="The vehicle registry")
async def vehicles(conn: Conn) -> Response:
    """Vehicles with their devices."""
    rows = await fetch_all(conn, "fleet_vehicles_list")
    for r in rows:
        r.pop("device_ids", None)
    return _json({"vehicles": rows})


@router.get("/fleet/vehicles/{vehicle_id}/track", summary="A truck's track (LineString, gaps split it)",
            responses={200: {"content": {"application/geo+json": {}}}})
async def track(conn: ReadConn, settings: AppSettings, vehicle_id: int,
                start: datetime | None = None, end: datetime | None = None, date: date | None = None,
                simplify_m: Annotated[float, Query(ge=0, le=500, description="Simplify tolerance, metres")] = 0
                ) -> Response:
    """GeoJSON Feature: LineString, or MultiLineString where the signal dropped for fleet_track_gap_s."""
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _range(settings, start, end, date)
    tr = await _track(conn, v, lo, hi)
    parts = [p for p in det.track_parts(tr, settings.fleet_track_gap_s) if len(p) >= 2]
    if simplify_m > 0:
        tol = simplify_m / det.M_PER_DEG_LAT
        parts = [list(shapely.LineString(p).simplify(tol, preserve_topology=False).coords) for p in parts]
    if len(parts) == 1:
        geom = {"type": "LineString", "coordinates": parts[0]}
    else:
        geom = {"type": "MultiLineString", "coordinates": parts}
    props = {"vehicle_id": vehicle_id, "plat_nomor": v["plat_nomor"], "start": lo, "end": hi, "fixes": len(tr),
             "parts": len(parts), "gaps": max(0, len(parts) - 1)}
    return _json({"type": "Feature", "geometry": geom, "properties": props}, "application/geo+json")


def _stop_json(settings: Settings, s: det.Stop) -> dict[str, Any]:
    return {"start": _clock(settings, s.start), "end": _clock(settings, s.end), "duration_s": round(s.duration),
            "lat": round(s.lat, 6), "lon": round(s.lon, 6), "fixes": s.j - s.i + 1}


def _trip_json(settings: Settings, t: det.Trip) -> dict[str, Any]:
    return {"start": _clock(settings, t.start), "end": _clock(settings, t.end), "duration_s": round(t.duration),
            "distance_m": round(t.distance_m), "start_lat": t.start_lat, "start_lon": t.start_lon,
            "end_lat": t.end_lat, "end_lon": t.end_lon}


def _visit_json(settings: Settings, v: det.Visit) -> dict[str, Any]:
    return {"site_fid": v.site.fid, "nama": v.site.nama, "jenis": v.site.jenis,
            "arrival": _clock(settings, v.arrival), "departure": _clock(settings, v.departure),
            "dwell_s": round(v.dwell), "inside": v.departure is None}


async def _summary(request: Request, conn: psycopg.AsyncConnection, settings: Settings, v: dict[str, Any],
                   lo: datetime, hi: datetime, dwell_s: float | None) -> dict[str, Any]:
    tr = await _track(conn, v, lo, hi)
    sites = await runtime(request.app).sites(conn)
    s = det.summarise(tr, sites or [], _config(settings, dwell_s))
    return {
        "vehicle_id": v["id"], "plat_nomor": v["plat_nomor"], "jenis": v["jenis"], "start": lo, "end": hi,
        "fixes": len(tr), "distance_km": round(s.distance_m / 1000, 3), "driving_s": round(s.driving_s),
        "stopped_s": round(s.stopped_s), "sites_layer_published": sites is not None,
        "sites_visited": sorted({x.site.nama for x in s.visits}),
        "trips": [_trip_json(settings, t) for t in s.trips],
        "stops": [_stop_json(settings, x) for x in s.stops],
        "visits": [_visit_json(settings, x) for x in s.visits],
    }


@router.get("/fleet/vehicles/{vehicle_id}/summary",
            summary="A truck's trips, stops, site visits and totals for a day or a time range")
async def vehicle_summary(request: Request, conn: ReadConn, settings: AppSettings, vehicle_id: int,
                          start: datetime | None = None, end: datetime | None = None, date: date | None = None,
                          dwell_s: Annotated[float | None, Query(ge=0, le=86400)] = None) -> Response:
    """Distance, driving and stopped time, trips, stops and visits (Traccar's stop/trip parameters)."""
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _range(settings, start, end, date)
    return _json(await _summary(request, conn, settings, v, lo, hi, dwell_s))


@router.get("/fleet/summary", summary="Per-day summary of every truck")
async def fleet_summary(request: Request, conn: ReadConn, settings: AppSettings, date: date | None = None) -> Response:
    """One row per vehicle for the day: distance, driving and stopped time, sites visited."""
    d, lo, hi = _day_bounds(settings, date)
    out = []
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        s = await _summary(request, conn, settings, v, lo, hi, None)
        for k in ("trips", "stops", "visits"):
            s[f"{k}_count"] = len(s.pop(k))
        out.append(s)
    return _json({"date": d, "vehicles": out})


@router.get("/fleet/visits", summary="Visits to disposal sites (TPS/TPA) for a day")
async def visits(request: Request, conn: ReadConn, settings: AppSettings, date: date | None = None,
                 dwell_s: Annotated[float | None, Query(ge=0, le=86400)] = None) -> Response:
    """Geofence enter/exit paired into visits with arrival, departure and dwell time, for every truck."""
    d, lo, hi = _day_bounds(settings, date)
    sites = await runtime(request.app).sites(conn)
    cfg = _config(settings, dwell_s)
    out = []
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        tr = await _track(conn, v, lo, hi)
        for x in det.site_visits(tr, sites or [], cfg):
            out.append({"vehicle_id": v["id"], "plat_nomor": v["plat_nomor"], **_visit_json(settings, x)})
    out.sort(key=lambda x: x["arrival"])
    return _json({"date": d, "sites_layer": settings.fleet_sites_layer, "sites_layer_published": sites is not None,
                  "visits": out})


@router.get("/fleet/sites/inside", summary="Which trucks are inside a disposal site now")
async def inside_now(request: Request, conn: Conn, settings: AppSettings) -> Response:
    """Per site, the trucks whose newest fix lies inside its geofence."""
    sites = await runtime(request.app).sites(conn) or []
    rows = await fetch_all(conn, "fleet_live", {"since": None})
    out = []
    for site in sites:
        here = []
        for r in rows:
            tr = det.Track.from_rows([(0.0, r["lat"], r["lon"])])
            if det.inside_mask(tr, site)[0]:
                here.append({"vehicle_id": r["vehicle_id"], "plat_nomor": r["plat_nomor"],
                             "fix_time": r["last_fix_time"], "age_s": round(r["age_s"], 1)})
        if here:
            out.append({"site_fid": site.fid, "nama": site.nama, "jenis": site.jenis, "vehicles": here})
    return _json({"sites": out})


@router.get("/fleet/coverage", summary="Kelurahan each truck passed through on a day")
async def coverage(conn: ReadConn, settings: AppSettings, date: date | None = None,
                   vehicle_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                   kelurahan: str | None = None) -> Response:
    """Per vehicle and kelurahan: first and last time seen (fixes thinned to one per minute)."""
    d, lo, hi = _day_bounds(settings, date)
    rows = await fetch_all(conn, "fleet_coverage", {"lo": lo, "hi": hi, "vehicle_id": vehicle_id, "kode": kelurahan})
    tz = _tz(settings)
    for r in rows:
        r["first_seen"] = r["first_seen"].astimezone(tz).isoformat(timespec="seconds")
        r["last_seen"] = r["last_seen"].astimezone(tz).isoformat(timespec="seconds")
    return _json({"date": d, "coverage": rows})


@router.get("/fleet/coverage/last", summary="When the last truck passed a kelurahan (by point or code)")
async def last_pass(conn: ReadConn, settings: AppSettings, lon: float | None = None, lat: float | None = None,
                    kelurahan: str | None = None, date: date | None = None) -> Response:
    """"Truk terakhir lewat pukul 07:42": the newest good fix of the day inside the kelurahan."""
    if kelurahan:
        kel = await fetch_one(conn, "fleet_kelurahan_get", {"kode": kelurahan})
        if kel is None:
            raise NotFound(f"No kelurahan with kode {kelurahan}")
    elif lon is not None and lat is not None:
        kel = await fetch_one(conn, "fleet_kelurahan_at", {"lon": lon, "lat": lat})
        if kel is None:
            raise InvalidParameter("lon", "the point is not inside a kelurahan of Kota Tangerang")
    else:
        raise InvalidParameter("kelurahan", "give kelurahan (kode) or lon and lat")
    d, lo, hi = _day_bounds(settings, date)
    row = await fetch_one(conn, "fleet_last_in_kelurahan", {"kode": kel["kode"], "lo": lo, "hi": hi})
    if row is None:
        text = f"Belum ada truk yang lewat Kelurahan {kel['nama']} pada {d.isoformat()}."
        return _json({"date": d, "kelurahan": kel, "last": None, "keterangan": text})
    at = row["fix_time"].astimezone(_tz(settings))
    text = f"Truk terakhir lewat pukul {at:%H:%M} ({row['plat_nomor']}) di Kelurahan {kel['nama']}."
    return _json({"date": d, "kelurahan": kel, "last": {**row, "fix_time": at.isoformat(timespec="seconds")},
                  "keterangan": text})
