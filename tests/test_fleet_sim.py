"""The simulator drives trucks through the real OsmAnd endpoint; detection must find its planned stops and visits."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from ingestion.fleet_registry import add_device, add_vehicle
from ingestion.fleet_sim import (
    TPA_RAWA_KUCING,
    drive_fleet,
    plan_fleet,
    sim_tracker_keys,
    sites_geojson,
    synthetic_sites,
)
from ingestion.fleet_sites import publish_synthetic_sites
from tests.conftest import LiveServer

WIB = ZoneInfo("Asia/Jakarta")
TRUCKS, HOURS = 3, 4


async def _publish(settings, sites) -> dict:
    async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
        with tempfile.TemporaryDirectory() as tmp:
            return await publish_synthetic_sites(conn, settings, sites_geojson(sites), tmp)


@pytest.fixture(scope="module")
def live_server(settings):
    """This module's server, with the default tracker auth (`required`) and keys re-read on every fix, so a
    key made by a test is seen at once."""
    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0})) as server:
        yield server


@pytest.fixture(scope="module")
def simulated(settings):
    """Publish the synthetic sites, register and drive a small fleet for a past morning; return the plans."""
    with psycopg.connect(settings.dsn, row_factory=dict_row) as db:
        kel = db.execute("SELECT kode, nama, kec_kode, label_lat, label_lon FROM kelurahan").fetchall()
        kec = db.execute("SELECT kode, nama, label_lat, label_lon FROM kecamatan").fetchall()
        sites = synthetic_sites(kel)
        day = (datetime.now(WIB) - timedelta(days=1)).date()
        start = datetime(day.year, day.month, day.day, 6, 0, tzinfo=WIB).timestamp()
        plans = plan_fleet(TRUCKS, HOURS, start, kec, sites, interval=5, seed=11)
        vids = {}
        for p in plans:
            p.unique_id = f"{p.unique_id}-{uuid.uuid4().hex[:4]}"
            vids[p.unique_id] = add_vehicle(db, p.plat_nomor, p.jenis, p.kecamatan_kode, "Depot SIM")
            add_device(db, p.unique_id, vids[p.unique_id])
        db.commit()
        # tracker keys are required by default: each simulated device gets its own (as `fleet simulate` does)
        keys = sim_tracker_keys(db, [p.unique_id for p in plans])
        again = sim_tracker_keys(db, [plans[0].unique_id])  # a second run rotates the same named key
        assert again[plans[0].unique_id] != keys[plans[0].unique_id]
        keys.update(again)
    published = asyncio.run(_publish(settings, sites))
    assert published["feature_count"] == len(sites)
    fast = settings.model_copy(update={"fleet_device_rate": 1e6, "fleet_device_burst": 10**6})
    assert fast.fleet_tracker_auth == "required"
    with LiveServer(fast) as server:
        counts = asyncio.run(drive_fleet(plans, server.url, 0, keys=keys))
    assert counts["failed"] == 0 and counts["retries"] == 0 and counts["sent"] == sum(len(p.fixes) for p in plans)
    return {"plans": plans, "vids": vids, "day": day, "sites": sites}


def _summary(client, vid: int, day) -> dict:
    r = client.get(f"/fleet/vehicles/{vid}/summary", params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    return r.json()


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_every_fix_acknowledged_is_stored(simulated, db):
    for p in simulated["plans"]:
        n = db.execute("SELECT count(*) AS n FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                       "WHERE d.unique_id = %s AND p.flag IS NULL", (p.unique_id,)).fetchone()["n"]
        assert n == len(p.fixes)


def test_detection_finds_planned_stops(simulated, client):
    for p in simulated["plans"]:
        s = _summary(client, simulated["vids"][p.unique_id], simulated["day"])
        detected = [(_epoch(x["start"]), _epoch(x["end"])) for x in s["stops"]]
        for planned in p.stops:
            mid = (planned.arrival + planned.departure) / 2
            assert any(a <= mid <= b for a, b in detected), (p.unique_id, planned)
        # Starts agree within a minute (the 200 m radius takes in the last metres of the approach).
        for planned in p.stops:
            assert min(abs(a - planned.arrival) for a, _ in detected) <= 60
        assert len(s["stops"]) == len(p.stops)
        assert s["distance_km"] > 5 and s["driving_s"] > 0 and s["stopped_s"] > 0


def test_detection_finds_planned_site_visits(simulated, client):
    for p in simulated["plans"]:
        s = _summary(client, simulated["vids"][p.unique_id], simulated["day"])
        planned = [x for x in p.stops if x.kind in ("TPS", "TPA")]
        visits = s["visits"]
        # Passing other TPS on the way is not a visit: exactly the planned ones are found.
        assert len(visits) == len(planned), (p.unique_id, [v["nama"] for v in visits], [x.nama for x in planned])
        for want, got in zip(planned, visits, strict=True):
            assert got["nama"] == want.nama and got["jenis"] == want.kind
            assert abs(_epoch(got["arrival"]) - want.arrival) <= 60
            assert abs(_epoch(got["departure"]) - want.departure) <= 60
        assert "TPA Rawa Kucing" in s["sites_visited"]


def test_day_endpoints(simulated, client):
    day = simulated["day"].isoformat()
    r = client.get("/fleet/visits", params={"date": day})
    assert r.status_code == 200 and r.json()["sites_layer_published"]
    planned = sum(1 for p in simulated["plans"] for x in p.stops if x.kind in ("TPS", "TPA"))
    mine = [v for v in r.json()["visits"] if v["vehicle_id"] in simulated["vids"].values()]
    assert len(mine) == planned
    r = client.get("/fleet/summary", params={"date": day})
    rows = {v["vehicle_id"]: v for v in r.json()["vehicles"]}
    for vid in simulated["vids"].values():
        assert rows[vid]["visits_count"] >= 2 and rows[vid]["distance_km"] > 5


def test_track_linestring_and_simplify(simulated, client):
    vid = next(iter(simulated["vids"].values()))
    r = client.get(f"/fleet/vehicles/{vid}/track", params={"date": simulated["day"].isoformat()})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    f = r.json()
    assert f["geometry"]["type"] == "LineString" and f["properties"]["gaps"] == 0
    full = len(f["geometry"]["coordinates"])
    r = client.get(f"/fleet/vehicles/{vid}/track", params={"date": simulated["day"].isoformat(), "simplify_m": 20})
    assert 2 <= len(r.json()["geometry"]["coordinates"]) < full / 3


def test_coverage_and_last_truck(simulated, client):
    day = simulated["day"].isoformat()
    p = simulated["plans"][0]
    vid = simulated["vids"][p.unique_id]
    r = client.get("/fleet/coverage", params={"date": day, "vehicle_id": vid})
    assert r.status_code == 200
    rows = r.json()["coverage"]
    assert rows and all(x["vehicle_id"] == vid for x in rows)
    tps = next(x for x in p.stops if x.kind == "TPS")
    r = client.get("/fleet/coverage/last", params={"date": day, "lon": tps.lon, "lat": tps.lat})
    body = r.json()
    assert r.status_code == 200 and body["last"] is not None
    assert body["keterangan"].startswith("Truk terakhir lewat pukul ")
    passed = _epoch(body["last"]["fix_time"])
    assert passed >= tps.departure - 1  # the last pass is at or after the planned stop there


def test_live_geojson_stream_and_inside_now(simulated, client, db):
    # A truck standing at the TPA now.
    unique = f"tpa-{uuid.uuid4().hex[:6]}"
    vid = add_vehicle(db, f"B TPA {unique[-4:]}", "arm_roll")
    add_device(db, unique, vid)
    db.commit()
    key = sim_tracker_keys(db, [unique])[unique]
    lat, lon = TPA_RAWA_KUCING
    assert client.get("/osmand", params={"id": unique, "lat": lat, "lon": lon, "key": key,
                                         "timestamp": int(time.time()) - 30}).status_code == 200
    r = client.get("/fleet/live")
    feats = {f["properties"]["vehicle_id"]: f for f in r.json()["features"]}
    assert set(simulated["vids"].values()) <= set(feats)
    assert feats[vid]["properties"]["age_s"] >= 29 and "detik lalu" in feats[vid]["properties"]["terakhir_terlihat"]
    r = client.get("/fleet/sites/inside")
    inside = {s["nama"]: [v["vehicle_id"] for v in s["vehicles"]] for s in r.json()["sites"]}
    assert vid in inside["TPA Rawa Kucing"]
    with client.stream("GET", "/fleet/live/stream", params={"once": "true"}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        text = "".join(resp.iter_text())
    assert text.startswith("event: snapshot\ndata: {") and str(vid) in text


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between (lat, lon) points, independent of the detection code."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_trip_summaries_follow_the_plan(simulated, client):
    """Between two planned stops there is one trip: it leaves when the truck left, arrives when it arrived, and
    its distance is the planned path's; trips add up to the day's driving time."""
    for p in simulated["plans"]:
        s = _summary(client, simulated["vids"][p.unique_id], simulated["day"])
        trips = [(_epoch(t["start"]), _epoch(t["end"]), t) for t in s["trips"]]
        assert len(trips) == len(p.stops) - 1, (p.unique_id, len(trips), len(p.stops))
        for (a, b), (start, end, t) in zip(zip(p.stops, p.stops[1:], strict=False), trips, strict=True):
            # within two minutes: the trip begins once the truck is out of the stop radius (200 m at walking pace
            # out of a TPS) and ends when it is inside the next one
            assert abs(start - a.departure) <= 120 and abs(end - b.arrival) <= 120, (a, b, t)
            # the trip's distance is the planned path over the trip's own span (its ends lie on the stops' edges)
            path = [(f[1], f[2]) for f in p.fixes if start <= f[0] <= end]
            planned = sum(_metres(x, y) for x, y in zip(path, path[1:], strict=False))
            assert planned > 0 and abs(t["distance_m"] - planned) <= 0.02 * planned + 50, (t, planned)
            # it starts and ends at the stops: within the stop radius (200 m) of where the truck parks, which is
            # within the TPA geofence (300 m) of its point
            assert _metres((t["start_lat"], t["start_lon"]), (a.lat, a.lon)) < 450
            assert _metres((t["end_lat"], t["end_lon"]), (b.lat, b.lon)) < 450
        # the day's distance also counts the GPS jitter of the fixes sent while parked, so trips are a part of it
        assert 0.5 * s["distance_km"] * 1000 <= sum(t["distance_m"] for _, _, t in trips) <= s["distance_km"] * 1000
        assert abs(sum(t["duration_s"] for _, _, t in trips) - s["driving_s"]) <= 60 * len(trips)


def test_summary_bad_parameters(simulated, client):
    vid = next(iter(simulated["vids"].values()))  # a vehicle that exists, so the parameter check is what answers
    assert client.get("/fleet/vehicles/999999/summary").status_code == 404
    for path in (f"/fleet/vehicles/{vid}/track", f"/fleet/vehicles/{vid}/summary"):
        r = client.get(path, params={"start": "2024-01-02T00:00:00", "end": "2024-01-01T00:00:00"})
        assert r.status_code == 422 and r.json()["parameter"] == "end", (path, r.text)
        r = client.get(path, params={"start": "2024-01-02T00:00:00"})
        assert r.status_code == 422 and r.json()["parameter"] == "end", (path, r.text)
    r = client.get("/fleet/coverage/last")
    assert r.status_code == 422 and r.json()["parameter"] == "kelurahan", r.text
    r = client.get("/fleet/coverage/last", params={"lon": 0, "lat": 0})
    assert r.status_code == 422 and r.json()["parameter"] == "lon", r.text


def test_simulator_cli_plan_is_plausible(settings, db, live_server, tmp_path):
    """`satupeta fleet simulate --plan-out` as a real process: the plan it writes is a plausible shift and every
    fix it planned is stored for its devices."""
    plan_path = tmp_path / "plan.json"
    start = datetime.now(WIB).replace(hour=5, minute=0, second=0, microsecond=0) - timedelta(days=3)
    exe = os.path.join(os.path.dirname(sys.executable), "satupeta")
    r = subprocess.run([exe, "fleet", "simulate", "--trucks", "2", "--hours", "3", "--speedup", "0",
                        "--interval", "10", "--url", live_server.url, "--start", start.isoformat(),
                        "--seed", "23", "--plan-out", str(plan_path)],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "DATABASE_URL": settings.dsn})
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    sent = int(re.search(r"sent (\d+) fixes", r.stdout).group(1))
    assert "0 failed" in r.stdout
    plans = json.loads(plan_path.read_text())
    assert len(plans) == 2
    t0, t1 = start.timestamp(), start.timestamp() + 3 * 3600
    stored = 0
    for p in plans:
        kinds = [s["kind"] for s in p["stops"]]
        assert kinds[0] == "depot" and kinds[-1] == "depot" and "TPA" in kinds and "TPS" in kinds, kinds
        times = [(s["arrival"], s["departure"]) for s in p["stops"]]
        assert all(a <= d for a, d in times) and [a for a, _ in times] == sorted(a for a, _ in times)
        assert t0 - 1 <= times[0][0] and times[-1][1] <= t1 + 3600, (times, t0, t1)
        for a, b in zip(p["stops"], p["stops"][1:], strict=False):  # a truck drives at most ~60 km/h
            assert _metres((a["lat"], a["lon"]), (b["lat"], b["lon"])) <= (b["arrival"] - a["departure"]) * 60 / 3.6
        stored += db.execute(
            "SELECT count(*) AS n FROM fleet.position x JOIN fleet.device d ON d.id = x.device_id WHERE "
            "d.unique_id = %s AND x.flag IS NULL AND x.fix_time BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
            (p["unique_id"], t0 - 1, t1 + 3600)).fetchone()["n"]
    db.rollback()
    assert sent > 100 and stored == sent, (sent, stored)


def test_import_csv_and_gpx(settings, db, tmp_path):
    from ingestion.fleet_import import import_csv_fast, import_fixes, read_csv, read_gpx

    unique = f"imp-{uuid.uuid4().hex[:6]}"
    vid = add_vehicle(db, f"B IMP {unique[-4:]}", "pickup")
    add_device(db, unique, vid)
    db.commit()
    t0 = int(time.time()) - 86400
    csv_path = tmp_path / "trek.csv"
    csv_path.write_text("deviceid,timestamp,lat,lon,speed\n" + "".join(
        f"{unique},{t0 + 5 * i},{-6.17 - i * 1e-4:.6f},106.63,10\n" for i in range(100)) + f"{unique},{t0},0,0,0\n")
    counts = import_fixes(db, read_csv(csv_path, None))
    assert counts["rows"] == 101 and counts["good"] == 100 and counts["zero_coords"] == 1
    # The vectorised path flags by the same specification (ingestion/fix_filters.py). These fixes are a day
    # older than the device's newest stored good fix (trek.csv): late, so not jump-tested (as live ingest).
    csv2 = tmp_path / "trek2.csv"
    csv2.write_text("id,timestamp,lat,lon,speed,bearing\n" + "".join(
        f"{unique},{(t0 - 86400 + 5 * i) * 1000},{-6.17 - i * 1e-4:.6f},106.63,10,90\n" for i in range(100))
        + f"{unique},{t0 - 86400},0,0,0,0\n{unique},{t0 - 86400},-6.17,106.63,0,0\n"
        + f"{unique},{t0 - 86400 + 501},-6.5,106.63,0,0\n{unique},{t0 + 86400 * 3},-6.17,106.63,0,0\n")
    fast = import_csv_fast(db, csv2, None)
    assert fast == {"rows": 104, "good": 101, "zero_coords": 1, "duplicate": 1, "future": 1}, fast
    gpx = tmp_path / "trek.gpx"
    pts = "".join(f'<trkpt lat="{-6.2 - i * 1e-4:.6f}" lon="106.61"><ele>10</ele>'
                  f'<time>{datetime.fromtimestamp(t0 + 1000 + 5 * i).astimezone().isoformat()}</time></trkpt>'
                  for i in range(20))
    gpx.write_text(f'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                   f"<trk><trkseg>{pts}</trkseg></trk></gpx>")
    counts = import_fixes(db, read_gpx(gpx, unique))
    assert counts["good"] == 20
    n = db.execute("SELECT count(*) AS n FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                   "WHERE d.unique_id = %s", (unique,)).fetchone()["n"]
    assert n == 225
    last = db.execute("SELECT extract(epoch FROM last_fix_time)::float8 AS t FROM fleet.device WHERE unique_id = %s",
                      (unique,)).fetchone()["t"]
    assert last == t0 + 1000 + 5 * 19  # the live view sees the newest back-filled good fix


def test_unknown_device_in_import_is_a_clear_error(db, tmp_path):
    from geo_api.errors import DataError
    from ingestion.fleet_import import import_fixes, read_csv

    p = tmp_path / "x.csv"
    p.write_text("id,timestamp,lat,lon\nnobody,1700000000,-6.2,106.6\n")
    with pytest.raises(DataError, match="unknown device"):
        import_fixes(db, read_csv(p, None))
    db.rollback()


async def _keepalive_device(port: int, unique: str, key: str, t0: int, n: int) -> int:
    """One device on ONE TCP connection to the listener port: n OsmAnd requests one after another, each answer
    read whole before the next is sent (so a server that closed the connection fails the next request)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answered = 0
    try:
        for i in range(n):
            query = httpx.QueryParams({"id": unique, "lat": f"{-6.2 + i * 1e-4:.6f}", "lon": "106.6",
                                       "timestamp": t0 + i * 5, "key": key})
            writer.write(f"GET /?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: keepalive\r\n\r\n"
                         .encode())
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            assert head.startswith("http/1.1 200"), head
            assert "connection: close" not in head, head
            length = int(re.search(r"content-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            answered += 1
    finally:
        writer.close()
    return answered


def test_listener_http_client_keepalive_many_devices(settings, db):
    """20 devices, each on one keep-alive connection to the OsmAnd listener port (not /osmand on the API port),
    25 fixes each, concurrently: every fix acknowledged and stored, and stored in fewer transactions than
    fixes (group commit: rows of one commit share their xmin)."""
    from tests.conftest import _free_port

    ids = []
    for _ in range(20):
        unique = f"kc-{uuid.uuid4().hex[:6]}"
        add_device(db, unique, add_vehicle(db, f"B KC {unique[-4:]}", "dump_truck"))
        ids.append(unique)
    db.commit()
    keys = sim_tracker_keys(db, ids)
    t0 = int(time.time()) - 7200
    port = _free_port()
    listening = settings.model_copy(update={"fleet_osmand_listen": True, "fleet_osmand_port": port,
                                            "host": "127.0.0.1", "fleet_device_rate": 1e6,
                                            "fleet_device_burst": 10**6})

    async def run() -> list[int]:
        return await asyncio.gather(*(_keepalive_device(port, u, keys[u], t0, 25) for u in ids))

    with LiveServer(listening):
        answered = asyncio.run(run())
    assert answered == [25] * 20
    row = db.execute("SELECT count(*) AS n, count(DISTINCT p.xmin::text) AS commits FROM fleet.position p "
                     "JOIN fleet.device d ON d.id = p.device_id WHERE d.unique_id = ANY(%s)", (ids,)).fetchone()
    assert row["n"] == 500
    assert row["commits"] < 500, row  # batched: at least one commit carried several devices' fixes
