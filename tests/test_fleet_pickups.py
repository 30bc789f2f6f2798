"""Collection schedules and pickups: the jadwal format, publish validation, and /fleet/pickups against the
simulator's plan (trucks that follow the schedules, SINTETIS late and skipped pickups) through the real app."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.rows import dict_row

from ingestion import jadwal as jd
from ingestion.fleet_registry import add_device, add_vehicle
from ingestion.fleet_sim import drive_fleet, plan_scheduled_fleet, sim_tracker_keys, sites_geojson, synthetic_sites
from ingestion.fleet_sites import publish_synthetic_sites
from tests.conftest import LiveServer

WIB = ZoneInfo("Asia/Jakarta")
TRUCKS = 3


# ---------------------------------------------------------------- the jadwal format (pure)

def test_parse_the_documented_forms():
    every = jd.parse("setiap hari 05:00-09:00")
    assert every.windows[0].days == frozenset(range(7))
    assert (every.windows[0].start_min, every.windows[0].end_min) == (300, 540)
    mwf = jd.parse("Sen,Rab,Jum 06:00-08:00")
    assert mwf.windows[0].days == {0, 2, 4}
    two = jd.parse("Sab 07:00-10:00; Sel 13:00-15:00")
    assert [w.days for w in two.windows] == [{5}, {1}]
    assert jd.parse("sen-jum 22:00-02:00").windows[0].end_min == 26 * 60  # ends the next day
    assert jd.parse("") is None and jd.parse(None) is None


@pytest.mark.parametrize("text,bad", [
    ("setiap hari 05:00", "setiap hari 05:00"),
    ("Senin 06:00-08:00", "Senin 06:00-08:00"),
    ("Sen 06:00-08:00; Rab 25:00-26:00", "Rab 25:00-26:00"),
    ("Sen 06:61-08:00", "Sen 06:61-08:00"),
    ("Sen 06:00-06:00", "Sen 06:00-06:00"),
])
def test_parse_errors_name_the_window(text, bad):
    with pytest.raises(jd.JadwalError) as exc:
        jd.parse(text)
    assert exc.value.window == bad


def _at(d: date, hh: int, mm: int = 0) -> float:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=WIB).timestamp()


def test_status_in_window_late_missed_and_not_yet():
    j = jd.parse("setiap hari 05:00-09:00")
    d = date(2026, 3, 2)
    end_of_day = datetime(2026, 3, 3, 0, 0, tzinfo=WIB)
    on_time = jd.Pickup(1, "B 1", _at(d, 7, 12), _at(d, 7, 20))
    late = jd.Pickup(1, "B 1", _at(d, 11), _at(d, 11, 10))
    early = jd.Pickup(1, "B 1", _at(d, 4), _at(d, 4, 10))
    assert jd.day_status(j, d, WIB, [on_time], end_of_day).status == jd.TEPAT_WAKTU
    assert jd.day_status(j, d, WIB, [late], end_of_day).status == jd.TERLAMBAT
    assert jd.day_status(j, d, WIB, [early], end_of_day).status == jd.TERLEWAT  # before the window: not it
    assert jd.day_status(j, d, WIB, [], end_of_day).status == jd.TERLEWAT
    assert jd.day_status(j, d, WIB, [], datetime(2026, 3, 2, 8, 0, tzinfo=WIB)).status == jd.BELUM
    assert jd.day_status(jd.parse("Sel 06:00-08:00"), d, WIB, [on_time], end_of_day) is None  # not a Tuesday


def test_window_spanning_the_day_boundary():
    j = jd.parse("Sen 22:00-02:00")
    mon = date(2026, 3, 2)
    later = datetime(2026, 3, 4, tzinfo=WIB)
    after_midnight = jd.Pickup(1, "B 1", _at(mon + timedelta(days=1), 1, 15), None)
    st = jd.day_status(j, mon, WIB, [after_midnight], later)
    assert st.status == jd.TEPAT_WAKTU and st.windows[0].end == datetime(2026, 3, 3, 2, 0, tzinfo=WIB)
    morning = jd.Pickup(1, "B 1", _at(mon + timedelta(days=1), 6), None)
    assert jd.day_status(j, mon, WIB, [morning], later).status == jd.TERLAMBAT
    assert jd.day_status(j, mon + timedelta(days=1), WIB, [after_midnight], later) is None  # Tuesday: none starts
    lo, hi = jd.visit_span(j, mon, WIB)
    assert hi == datetime(2026, 3, 4, tzinfo=WIB) and lo == datetime(2026, 3, 2, tzinfo=WIB)


# ---------------------------------------------------------------- through the real app

def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def layer_settings(settings):
    """This module's own sites layer (other modules publish theirs under the default name)."""
    return settings.model_copy(update={"fleet_sites_layer": f"tps_jadwal_{uuid.uuid4().hex[:6]}",
                                       "fleet_tracker_keys_ttl_s": 0.0, "fleet_device_rate": 1e6,
                                       "fleet_device_burst": 10**6})


@pytest.fixture(scope="module")
def server(layer_settings):
    """The real app on a real socket, reading this module's sites layer."""
    with LiveServer(layer_settings) as s:
        yield s


@pytest.fixture(scope="module")
def http(server):
    """An HTTP client of the module's server."""
    import httpx
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


async def _publish(settings, sites) -> dict:
    async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
        with tempfile.TemporaryDirectory() as tmp:
            return await publish_synthetic_sites(conn, settings, sites_geojson(sites), tmp)


@pytest.fixture(scope="module")
def simulated(layer_settings, server):
    """Schedules on the synthetic TPS, a fleet that follows them three days ago, driven through /osmand."""
    tag = uuid.uuid4().hex[:4].upper()
    with psycopg.connect(layer_settings.dsn, row_factory=dict_row) as db:
        kel = db.execute("SELECT kode, nama, kec_kode, label_lat, label_lon FROM kelurahan").fetchall()
        kec = db.execute("SELECT kode, nama, label_lat, label_lon FROM kecamatan").fetchall()
        sites = synthetic_sites(kel)
        for s in sites:  # 180 m away from where other modules' simulated trucks stop
            s.lat -= 0.0016
        day = (datetime.now(WIB) - timedelta(days=3)).date()
        plans, planned = plan_scheduled_fleet(TRUCKS, day, WIB, kec, sites, interval=10, seed=5, tag=tag)
        vids = {}
        for p in plans:
            vids[p.plat_nomor] = add_vehicle(db, p.plat_nomor, p.jenis, p.kecamatan_kode, "Depot SIM")
            add_device(db, p.unique_id, vids[p.plat_nomor])
        db.commit()
        keys = sim_tracker_keys(db, [p.unique_id for p in plans])
    published = asyncio.run(_publish(layer_settings, sites))
    assert published["feature_count"] == len(sites)
    counts = asyncio.run(drive_fleet(plans, server.url, 0, keys=keys))
    assert counts["failed"] == 0 and counts["sent"] == sum(len(p.fixes) for p in plans)
    return {"plans": plans, "planned": planned, "day": day, "sites": sites, "vids": vids}


def _by_nama(fc: dict) -> dict[str, dict]:
    return {f["properties"]["nama"]: f["properties"] for f in fc["features"]}


def test_every_planned_pickup_has_its_status(http, simulated):
    r = http.get("/fleet/pickups", params={"date": simulated["day"].isoformat()})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    got = _by_nama(r.json())
    planned = simulated["planned"]
    assert {p.outcome for p in planned} == {jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT}
    assert any(p.drive_by for p in planned)
    for p in planned:
        props = got[p.nama]
        assert props["status"] == p.outcome, (p, props)
        if p.outcome == jd.TERLEWAT:
            assert props["visits"] == []
        else:
            (v,) = props["visits"]
            assert v["plat_nomor"] == p.plat_nomor
            arrival = datetime.fromisoformat(v["arrival"]).timestamp()
            assert abs(arrival - p.arrival) < 30  # the first fix inside the geofence
            assert (p.window_start <= arrival < p.window_end) == (p.outcome == jd.TEPAT_WAKTU)


def test_a_drive_by_is_terlewat(http, simulated, layer_settings):
    """The planned drive-by passes through the TPS's geofence without stopping: no visit, terlewat."""
    from ingestion.fix_filters import haversine_m

    by = [p for p in simulated["planned"] if p.drive_by]
    assert by
    got = _by_nama(http.get("/fleet/pickups", params={"date": simulated["day"].isoformat()}).json())
    for p in by:
        site = next(s for s in simulated["sites"] if s.nama == p.nama)
        plan = next(t for t in simulated["plans"] if t.plat_nomor == p.plat_nomor)
        inside = [f for f in plan.fixes if haversine_m(f[1], f[2], site.lat, site.lon)
                  <= layer_settings.fleet_site_radius_tps_m]
        assert inside, "the truck went through the geofence"
        assert got[p.nama]["status"] == jd.TERLEWAT and got[p.nama]["visits"] == []


def test_a_window_across_midnight_through_the_app(layer_settings):
    """A TPS scheduled 'setiap hari 23:30-00:30', served at 00:05 the next morning: that is the pickup of the day
    the window starts on (fixes past midnight are read); the next day's window is missed, as is the day before's."""
    import httpx

    from ingestion.fleet_sim import PlannedStop, SiteSpec, TruckPlan

    mid = layer_settings.model_copy(update={"fleet_sites_layer": f"tps_malam_{uuid.uuid4().hex[:6]}"})
    tag = uuid.uuid4().hex[:5].upper()
    lat, lon = -6.2310, 106.6520
    site = SiteSpec(f"TPS Uji Malam {tag}", "TPS", lat, lon, None, "36.71.01", "setiap hari 23:30-00:30",
                    f"B 77 {tag}")
    d = (datetime.now(WIB) - timedelta(days=4)).date()
    after = datetime(d.year, d.month, d.day, tzinfo=WIB).timestamp() + 86400  # 00:00 the next day
    fixes = []
    for i in range(31):  # 00:00-00:05 from 900 m north, 00:05-00:15 at the TPS, then 900 m south
        fixes.append((after + 10 * i, lat + 0.0081 * (1 - i / 30), lon, 5.4, 180.0))
    fixes += [(after + 300 + 10 * i, lat + 0.00001 * (i % 3), lon, 0.0, 180.0) for i in range(1, 61)]
    fixes += [(after + 900 + 10 * i, lat - 0.0081 * i / 30, lon, 5.4, 180.0) for i in range(1, 31)]
    plan = TruckPlan(f"MLM-{tag}", site.kendaraan, "pickup", "36.71.01", (lat + 0.0081, lon),
                     [PlannedStop("TPS", site.nama, lat, lon, after + 300, after + 900)], fixes)
    with psycopg.connect(mid.dsn, row_factory=dict_row) as db:
        vid = add_vehicle(db, plan.plat_nomor, "pickup", "36.71.01", "Depot uji")
        add_device(db, plan.unique_id, vid)
        db.commit()
        keys = sim_tracker_keys(db, [plan.unique_id])
    asyncio.run(_publish(mid, [site]))
    with LiveServer(mid) as s, httpx.Client(base_url=s.url, timeout=120) as c:
        assert asyncio.run(drive_fleet([plan], s.url, 0, keys=keys))["failed"] == 0
        day = {k: _by_nama(c.get("/fleet/pickups", params={"date": (d + timedelta(days=k)).isoformat()}).json())
               for k in (-1, 0, 1)}
    served = day[0][site.nama]
    assert served["status"] == jd.TEPAT_WAKTU, served
    (w,) = served["windows"]
    assert w["start"] == f"{d.isoformat()}T23:30:00+07:00" and w["end"] == f"{d + timedelta(days=1)}T00:30:00+07:00"
    arrival = datetime.fromisoformat(w["visit"]["arrival"])
    assert arrival.date() == d + timedelta(days=1) and abs(arrival.timestamp() - (after + 300)) < 60
    assert day[1][site.nama]["status"] == jd.TERLEWAT and day[1][site.nama]["visits"] == []
    assert day[-1][site.nama]["status"] == jd.TERLEWAT


def test_sites_scheduled_another_weekday_are_absent(http, simulated):
    d = simulated["day"]
    got = _by_nama(http.get("/fleet/pickups", params={"date": d.isoformat()}).json())
    other = [s for s in simulated["sites"] if s.jadwal and not jd.parse(s.jadwal).scheduled_on(d)]
    assert other, "the simulator schedules some TPS on other weekdays"
    assert not {s.nama for s in other} & set(got)
    tps = [s for s in simulated["sites"] if s.jenis == "TPS"]
    assert len(got) == len(tps) - len(other)  # every TPS scheduled today is listed, the TPA (no jadwal) is not
    nxt = d + timedelta(days=1)
    listed_next = _by_nama(http.get("/fleet/pickups", params={"date": nxt.isoformat()}).json())
    assert {s.nama for s in other if jd.parse(s.jadwal).scheduled_on(nxt)} <= set(listed_next)


def _unassigned(simulated, plan) -> set[str]:
    """TPS of the truck's kecamatan with no truck assigned (too near a depot): its record counts them."""
    return {s.nama for s in simulated["sites"] if s.jenis == "TPS" and s.kendaraan is None
            and s.kecamatan_kode == plan.kecamatan_kode and jd.parse(s.jadwal).scheduled_on(simulated["day"])}


def test_filters_and_csv(http, simulated):
    d = simulated["day"].isoformat()
    plan = simulated["plans"][0]
    r = http.get("/fleet/pickups", params={"date": d, "kendaraan": plan.plat_nomor})
    assert r.status_code == 200, r.text
    mine = _by_nama(r.json())
    unassigned = _unassigned(simulated, plan)
    assert set(mine) == {p.nama for p in simulated["planned"] if p.plat_nomor == plan.plat_nomor} | unassigned
    kec = http.get("/fleet/pickups", params={"date": d, "kecamatan": plan.kecamatan_kode}).json()
    assert kec["features"] and all(f["properties"]["kecamatan_kode"] == plan.kecamatan_kode for f in kec["features"])
    by_name = http.get("/fleet/pickups", params={"date": d, "kecamatan": "tangerang"}).json()  # the nama works too
    assert by_name["kecamatan"] == "36.71.01"
    c = http.get("/fleet/pickups.csv", params={"date": d, "kendaraan": plan.plat_nomor})
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert {r["nama"]: r["status"] for r in rows} == {n: p["status"] for n, p in mine.items()}
    assert all(r["plat_nomor"] for r in rows if r["status"] != jd.TERLEWAT)


def test_month_report_counts_the_plan(http, simulated):
    d = simulated["day"]
    plan = simulated["plans"][0]
    r = http.get("/fleet/pickups/report", params={"month": f"{d:%Y-%m}", "kendaraan": plan.plat_nomor})
    assert r.status_code == 200, r.text
    day = r.json()["per_day"][d.isoformat()]
    mine = [p for p in simulated["planned"] if p.plat_nomor == plan.plat_nomor]
    for status in (jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT):
        extra = len(_unassigned(simulated, plan)) if status == jd.TERLEWAT else 0
        assert day[status] == sum(p.outcome == status for p in mine) + extra, status


@pytest.mark.parametrize("params,name", [
    ({"date": "9999-01-01"}, "date"), ({"date": "1969-12-31"}, "date"), ({"date": "2026-02-30"}, "date"),
    ({"kecamatan": "Atlantis"}, "kecamatan"), ({"kendaraan": "Z 0000 ZZ"}, "kendaraan"),
])
def test_bad_input_names_the_parameter(http, params, name):
    for path in ("/fleet/pickups", "/fleet/pickups.csv"):
        r = http.get(path, params=params)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert name in json.dumps(r.json())


@pytest.mark.parametrize("month", ["2026-13", "99999", "0001-01", "9999-12", "2200-01", "1969-12", "2026-00",
                                   "2026-1", "-2026-01", "2026-01-01"])
def test_bad_month_is_a_4xx(http, month):
    r = http.get("/fleet/pickups/report", params={"month": month})
    assert r.status_code == 422 and r.json()["parameter"] == "month", r.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31", "2200-01-01"])
def test_dates_out_of_range_name_date(http, simulated, day):
    vid = simulated["vids"][simulated["plans"][0].plat_nomor]
    for path in ("/fleet/pickups", "/fleet/pickups.csv", "/fleet/pickups/laporan", "/fleet/events",
                 f"/fleet/vehicles/{vid}/events", f"/fleet/vehicles/{vid}/track.gpx",
                 f"/fleet/vehicles/{vid}/track.kml", f"/fleet/vehicles/{vid}/track.csv"):
        r = http.get(path, params={"date": day})
        assert r.status_code == 422 and r.json()["parameter"] == "date", (path, r.status_code, r.text)


@pytest.mark.parametrize("params,name", [
    ({"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"}, "start"),
    ({"start": "1970-01-01T00:00:00Z", "end": "2199-12-31T00:00:00Z"}, "end"),
    ({"start": "2026-01-01T00:00:00+07:00", "end": "9999-12-31T23:59:59-23:59"}, "end"),
    ({"start": "0001-01-01T00:00:00+14:00", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"start": "2026-01-01T00:00:00+07:00"}, "end"),
    ({"start": "2026-01-02T00:00:00+07:00", "end": "2026-01-01T00:00:00+07:00"}, "end"),
])
def test_huge_or_broken_export_ranges_name_the_parameter(http, simulated, params, name):
    vid = simulated["vids"][simulated["plans"][0].plat_nomor]
    for ext in ("track.gpx", "track.kml", "track.csv", "events"):
        r = http.get(f"/fleet/vehicles/{vid}/{ext}", params=params)
        assert r.status_code == 422 and r.json()["parameter"] == name, (ext, r.status_code, r.text)


# ---------------------------------------------------------------- publishing and a layer without jadwal

@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", f"dlh-jadwal-{uuid.uuid4().hex[:6]}", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def _sites_body(jadwal: list[str | None]) -> bytes:
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.63 + i * 0.001, -6.18]},
              "properties": {"nama": f"TPS Uji {i}", "jenis": "TPS", "jadwal": j}} for i, j in enumerate(jadwal)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_publish_refuses_a_bad_jadwal_naming_feature_and_window(http, admin_key):
    layer = f"tps_bad_{uuid.uuid4().hex[:6]}"
    params = {"id": layer, "title": "TPS uji", "opd": "dlh", "filename": "tps.geojson"}
    body = _sites_body(["setiap hari 05:00-09:00", None, "Sen,Rab 06:00-08:00; Kamis 07:00-09:00"])
    r = http.post("/layers", params=params, content=body, headers={"X-API-Key": admin_key})
    assert r.status_code == 422, r.text
    p = r.json()
    assert p["parameter"] == "jadwal" and p["feature"] == 3 and p["nama"] == "TPS Uji 2"
    assert p["window"] == "Kamis 07:00-09:00" and "TPS Uji 2" in p["detail"]
    assert http.get(f"/ogc/collections/{layer}").status_code == 404  # nothing half-published
    ok = http.post("/layers", params=params, content=_sites_body(["setiap hari 05:00-09:00", None]),
                   headers={"X-API-Key": admin_key})
    assert ok.status_code == 201, ok.text


def test_a_sites_layer_without_jadwal_is_an_empty_list_with_a_note(settings):
    plain = settings.model_copy(update={"fleet_sites_layer": "lapisan_tidak_ada"})
    import httpx
    with LiveServer(plain) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        r = c.get("/fleet/pickups", params={"date": "2026-01-05"})
        assert r.status_code == 200, r.text
        assert r.json()["features"] == [] and "jadwal" in r.json()["keterangan"]
        assert c.get("/fleet/pickups.csv", params={"date": "2026-01-05"}).text.count("\n") == 1  # the header


# ---------------------------------------------------------------- exports reopened in GDAL

def test_exports_reopen_in_gdal_with_the_same_points(http, simulated, tmp_path):
    import pyogrio

    plan = simulated["plans"][0]
    vid = simulated["vids"][plan.plat_nomor]
    d = simulated["day"].isoformat()
    fixes = http.get(f"/fleet/vehicles/{vid}/track", params={"date": d}).json()["properties"]["fixes"]
    assert fixes == len(plan.fixes)
    summary = http.get(f"/fleet/vehicles/{vid}/summary", params={"date": d}).json()
    gpx = http.get(f"/fleet/vehicles/{vid}/track.gpx", params={"date": d})
    assert gpx.status_code == 200 and gpx.headers["content-type"].startswith("application/gpx+xml")
    (tmp_path / "t.gpx").write_bytes(gpx.content)
    pts = pyogrio.read_dataframe(tmp_path / "t.gpx", layer="track_points", driver="GPX")
    assert len(pts) == fixes and pts["time"].notna().all()
    wpt = pyogrio.read_dataframe(tmp_path / "t.gpx", layer="waypoints", driver="GPX")
    assert len(wpt) == len(summary["stops"]) + len(summary["visits"])
    assert {p.nama for p in simulated["planned"] if p.plat_nomor == plan.plat_nomor and p.arrival} <= set(wpt["name"])
    kml = http.get(f"/fleet/vehicles/{vid}/track.kml", params={"date": d})
    assert kml.status_code == 200
    (tmp_path / "t.kml").write_bytes(kml.content)
    k = pyogrio.read_dataframe(tmp_path / "t.kml", driver="KML")
    lines = k[k["Name"].str.startswith("Jejak")]
    assert sum(len(g.coords) for g in lines.geometry) == fixes
    assert (k["Name"].str.startswith("Berhenti")).sum() == len(summary["stops"])
    c = http.get(f"/fleet/vehicles/{vid}/track.csv", params={"date": d})
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert sum(r["jenis"] == "titik" for r in rows) == fixes
    assert sum(r["jenis"] == "kunjungan" for r in rows) == len(summary["visits"])


def test_export_of_a_range_reopens_with_the_fixes_of_that_range(http, simulated, tmp_path):
    """start/end instead of date: the morning of the simulated day, GPX, KML and CSV with exactly its fixes."""
    import pyogrio

    plan = simulated["plans"][0]
    vid = simulated["vids"][plan.plat_nomor]
    d = simulated["day"]
    lo, hi = datetime(d.year, d.month, d.day, 0, 0, tzinfo=WIB), datetime(d.year, d.month, d.day, 9, 0, tzinfo=WIB)
    want = sum(1 for f in plan.fixes if lo.timestamp() <= f[0] < hi.timestamp())
    assert 0 < want < len(plan.fixes)
    rng = {"start": lo.isoformat(), "end": hi.isoformat()}
    gpx = http.get(f"/fleet/vehicles/{vid}/track.gpx", params=rng)
    assert gpx.status_code == 200, gpx.text
    (tmp_path / "r.gpx").write_bytes(gpx.content)
    pts = pyogrio.read_dataframe(tmp_path / "r.gpx", layer="track_points", driver="GPX")
    assert len(pts) == want
    kml = http.get(f"/fleet/vehicles/{vid}/track.kml", params=rng)
    (tmp_path / "r.kml").write_bytes(kml.content)
    k = pyogrio.read_dataframe(tmp_path / "r.kml", driver="KML")
    assert sum(len(g.coords) for g in k[k["Name"].str.startswith("Jejak")].geometry) == want
    rows = list(csv.DictReader(io.StringIO(http.get(f"/fleet/vehicles/{vid}/track.csv", params=rng).text)))
    assert sum(r["jenis"] == "titik" for r in rows) == want


def test_export_bad_input(http, simulated, settings):
    vid = simulated["vids"][simulated["plans"][0].plat_nomor]
    too_long = {"start": "2026-01-01T00:00:00+07:00", "end": "2026-03-01T00:00:00+07:00"}
    for ext in ("gpx", "kml", "csv"):
        r = http.get(f"/fleet/vehicles/{vid}/track.{ext}", params=too_long)
        assert r.status_code == 422 and r.json()["parameter"] == "end", r.text
        assert http.get(f"/fleet/vehicles/{vid}/track.{ext}", params={"date": "9999-01-01"}).status_code == 422
        assert http.get(f"/fleet/vehicles/999999/track.{ext}").status_code == 404
        assert http.get(f"/fleet/vehicles/0/track.{ext}").status_code == 422


# ---------------------------------------------------------------- evidence for waste complaints

def _site_point(simulated, nama: str) -> tuple[float, float]:
    s = next(x for x in simulated["sites"] if x.nama == nama)
    return s.lat + 0.0004, s.lon  # a complaint about 45 m from the TPS


def test_service_record_on_the_simulated_day(layer_settings, simulated):
    from geo_api.fleet.evidence import EvidenceSource
    from geo_api.fleet.runtime import FleetRuntime

    d = simulated["day"]
    late_evening = datetime(d.year, d.month, d.day, 23, 0, tzinfo=WIB)
    skipped = next(p for p in simulated["planned"] if p.outcome == jd.TERLEWAT)
    served = next(p for p in simulated["planned"] if p.outcome == jd.TEPAT_WAKTU)

    async def run():
        async with await psycopg.AsyncConnection.connect(layer_settings.dsn, row_factory=dict_row,
                                                         autocommit=True) as conn:
            src = EvidenceSource(layer_settings, FleetRuntime(layer_settings, None))
            return (await src.record(conn, *_site_point(simulated, skipped.nama), now=late_evening),
                    await src.record(conn, *_site_point(simulated, served.nama), now=late_evening),
                    await src.record(conn, -6.30, 106.70, now=late_evening))

    missed, ok, far = asyncio.run(run())
    assert missed["nama"] == skipped.nama and missed["status_hari_ini"] == jd.TERLEWAT and missed["terlewat"]
    assert missed["pengangkutan_terakhir"] is None
    assert missed["teks"].startswith(f"{skipped.nama} dijadwalkan setiap hari ")
    assert "hari ini terlewat" in missed["teks"]
    assert ok["status_hari_ini"] == jd.TEPAT_WAKTU and ok["pengangkutan_terakhir"]["plat_nomor"] == served.plat_nomor
    at = datetime.fromtimestamp(served.arrival, WIB)
    assert f"pengangkutan terakhir hari ini {at:%H:%M}" in ok["teks"] or \
        f"pengangkutan terakhir hari ini {(at - timedelta(minutes=1)):%H:%M}" in ok["teks"]
    assert far is None


@pytest.fixture(scope="module")
def citizen_key(layer_settings, katalog):
    from geo_api.apikeys import key_hash, new_key
    from geo_api.db import connect
    key = new_key()
    with connect(layer_settings) as db:
        db.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, %s, %s)",
                   (f"warga-{uuid.uuid4().hex[:6]}", "citizen_app", key_hash(key)))
        db.commit()
    return key


def _today_status_unserved(jadwal: str) -> str | None:
    """Today's status of a TPS nobody serves today: missed once its window ended, else not yet."""
    now = datetime.now(WIB)
    (occ, *_) = jd.occurrences(jd.parse(jadwal), now.date(), WIB) or [None]
    if occ is None:
        return None
    return jd.TERLEWAT if occ[2] <= now else jd.BELUM


def test_waste_complaint_next_to_a_tps_carries_its_record(http, simulated, citizen_key, layer_settings):
    """A sampah complaint 45 m from the TPS skipped in the plan: the routing explanation, the stored laporan and
    the OPD's detail carry the TPS's service record sentence; while today's window is missed it is listed with
    that sentence among the complaints that coincide with a missed pickup."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from geo_api.db import connect

    skipped = next(p for p in simulated["planned"] if p.outcome == jd.TERLEWAT)
    site = next(x for x in simulated["sites"] if x.nama == skipped.nama)
    lat, lon = _site_point(simulated, skipped.nama)
    before = _today_status_unserved(site.jadwal)
    r = http.post("/routing/explain", json={"category": "sampah_menumpuk", "lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    ev = r.json()["alasan"]["pengangkutan"]
    sent = http.post("/open311/v2/requests.json", data={"api_key": citizen_key, "service_code": "sampah_menumpuk",
                                                         "lat": str(lat), "long": str(lon)})
    after = _today_status_unserved(site.jadwal)
    assert ev["nama"] == skipped.nama and ev["jadwal"] == site.jadwal and 40 <= ev["jarak_m"] <= 50
    if before == after:  # (a window ending between the two calls would make either right)
        assert ev["status_hari_ini"] == before and ev["terlewat"] == (before == jd.TERLEWAT)
        text = {jd.TERLEWAT: "terlewat", jd.BELUM: "belum waktunya"}[before]
        assert ev["teks"] == (f"{skipped.nama} dijadwalkan {site.jadwal}; tidak ada pengangkutan tercatat 7 hari "
                              f"terakhir; hari ini {text}")
    assert ev["pengangkutan_terakhir"] is None and ev["status_kemarin"] == jd.TERLEWAT
    other = http.post("/routing/explain", json={"category": "jalan_rusak", "lat": lat, "lon": lon}).json()
    assert "pengangkutan" not in other["alasan"]  # not a waste category
    assert sent.status_code == 200, sent.text  # Open311 GeoReport v2 answers a created request with 200
    rid = int(sent.json()[0]["service_request_id"])
    with connect(layer_settings) as db:
        row = db.execute("SELECT alasan FROM laporan WHERE id = %s", (rid,)).fetchone()
        officer, _ = apikeys.create(db, Actor.cli(), f"dlh-bukti-{uuid.uuid4().hex[:6]}", "opd_officer",
                                    semua_opd=True)
        db.commit()
    stored = row["alasan"]["pengangkutan"]
    assert stored["nama"] == skipped.nama and stored["teks"].startswith(f"{skipped.nama} dijadwalkan {site.jadwal}; ")
    detail = http.get(f"/routing/laporan/{rid}", headers={"X-API-Key": officer})
    assert detail.status_code == 200, detail.text
    assert detail.json()["alasan"]["pengangkutan"]["teks"] == stored["teks"]
    listed = {x["id"]: x for x in http.get("/fleet/pickups/laporan").json()["laporan"]}
    assert (rid in listed) == (stored["status_hari_ini"] == jd.TERLEWAT)
    if rid in listed:
        assert listed[rid]["tps"] == skipped.nama and listed[rid]["bukti"] == stored["teks"]
        assert stored["teks"].endswith("; hari ini terlewat")
    assert all(x["tps"] and x["bukti"].endswith("hari ini terlewat") for x in listed.values())


# ---------------------------------------------------------------- the OPD dashboard's pickup section

def _dash_table(page: str, tid: str) -> dict[str, dict[str, int]]:
    """A pickup table of /peta/dasbor as {row key: {status: count}}."""
    import html
    import re

    m = re.search(rf"<table id='{tid}'>(.*?)</table>", page, re.S)
    assert m, tid
    out = {}
    for key, cells in re.findall(r"<tr data-kunci='([^']*)'>(.*?)</tr>", m[1], re.S):
        out[html.unescape(key)] = {st: int(n) for st, n in re.findall(r"<td data-status='(\w+)'[^>]*>(\d+)</td>",
                                                                         cells)}
    return out


def _count(features, key) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for f in features:
        for w in f["properties"]["windows"]:
            row = out.setdefault(key(f, w), dict.fromkeys((jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT, jd.BELUM), 0))
            row[w["status"]] += 1
    return out


def _statuses(report_rows: dict) -> dict[str, dict[str, int]]:
    return {k: {s: v[s] for s in (jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT, jd.BELUM)} for k, v in report_rows.items()}


def test_dashboard_pickup_counts_are_the_fleet_api_s(http, simulated):
    """/peta/dasbor's pickup tables for the simulated day and its month: per kecamatan and per truck, the counts
    /fleet/pickups gives for the day and /fleet/pickups/report for the month (the plan's statuses among them)."""
    d = simulated["day"]
    page = http.get("/peta/dasbor", params={"dari": d.isoformat(), "sampai": d.isoformat()})
    assert page.status_code == 200, page.text
    assert "Pengangkutan sampah (Si Lacak)" in page.text
    fc = http.get("/fleet/pickups", params={"date": d.isoformat()}).json()
    per_kec = _count(fc["features"], lambda f, w: f["properties"]["kecamatan_kode"] or "-")
    per_truck = _count(fc["features"], lambda f, w: (w["visit"] or {}).get("plat_nomor")
                       or f["properties"]["kendaraan"] or "(tidak ditetapkan)")
    assert per_kec and per_truck
    assert _dash_table(page.text, "pengangkutan-kecamatan-hari") == per_kec
    assert _dash_table(page.text, "pengangkutan-truk-hari") == per_truck
    month = http.get("/fleet/pickups/report", params={"month": f"{d:%Y-%m}"}).json()
    assert _dash_table(page.text, "pengangkutan-kecamatan-bulan") == _statuses(month["per_kecamatan"])
    assert _dash_table(page.text, "pengangkutan-truk-bulan") == _statuses(month["per_kendaraan"])
    for plan in simulated["plans"]:  # the plan's truth in the truck rows of the day
        mine = [p for p in simulated["planned"] if p.plat_nomor == plan.plat_nomor]
        row = _dash_table(page.text, "pengangkutan-truk-hari")[plan.plat_nomor]
        assert row[jd.TEPAT_WAKTU] == sum(p.outcome == jd.TEPAT_WAKTU for p in mine)
        assert row[jd.TERLAMBAT] == sum(p.outcome == jd.TERLAMBAT for p in mine)
    assert "Tangerang</th>" in page.text  # kecamatan by their gazetteer names


def test_dashboard_lists_complaints_at_a_missed_pickup(http, simulated, citizen_key):
    """A sampah complaint 45 m from the TPS whose window ends first today: on the dashboard's list (with its TPS
    and evidence sentence) exactly when its evidence says today's pickup was missed, as /fleet/pickups/laporan."""
    today = datetime.now(WIB).date()
    daily = [s for s in simulated["sites"] if s.jadwal and s.jadwal.startswith("setiap hari")]
    first = min(daily, key=lambda s: jd.parse(s.jadwal).windows[0].end_min)
    lat, lon = first.lat + 0.0004, first.lon
    sent = http.post("/open311/v2/requests.json", data={"api_key": citizen_key, "service_code": "sampah_menumpuk",
                                                         "lat": str(lat), "long": str(lon)})
    assert sent.status_code == 200, sent.text
    rid = int(sent.json()[0]["service_request_id"])
    dari = today - timedelta(days=2)
    page = http.get("/peta/dasbor", params={"dari": dari.isoformat(), "sampai": today.isoformat()}).text
    import re
    listed = {int(i): t for i, t in re.findall(r"<tr data-id='(\d+)'>(.*?)</tr>", page, re.S)}
    api = {}
    for k in range(3):
        for x in http.get("/fleet/pickups/laporan", params={"date": (dari + timedelta(days=k)).isoformat()}
                          ).json()["laporan"]:
            api[x["id"]] = x
    assert set(listed) == set(api)
    for i, x in api.items():
        assert f"<td>{x['tps']}</td>" in listed[i] and x["bukti"] in listed[i]
    missed_now = _today_status_unserved(first.jadwal) == jd.TERLEWAT
    if missed_now:
        assert rid in listed and first.nama in listed[rid] and "hari ini terlewat" in listed[rid]
    elif _today_status_unserved(first.jadwal) == jd.BELUM:
        assert rid not in listed


# ---------------------------------------------------------------- driving events

def _overlaps(e: dict, a: float, b: float) -> bool:
    return datetime.fromisoformat(e["start"]).timestamp() <= b and datetime.fromisoformat(e["end"]).timestamp() >= a


def test_driving_events_follow_the_plan(http, simulated, layer_settings):
    from ingestion.fix_filters import haversine_m

    plan = simulated["plans"][0]
    vid = simulated["vids"][plan.plat_nomor]
    d = simulated["day"].isoformat()
    r = http.get(f"/fleet/vehicles/{vid}/events", params={"date": d})
    assert r.status_code == 200, r.text
    found = r.json()["events"]
    steps = [haversine_m(a[1], a[2], b[1], b[2]) / (b[0] - a[0]) * 3.6
             for a, b in zip(plan.fixes, plan.fixes[1:], strict=False)]
    assert max(steps) < layer_settings.fleet_speed_limit_kmh
    assert not [e for e in found if e["jenis"] == "ngebut"]
    # the TPA lies in another kecamatan: the truck was out of its area while there
    tpa = next(s for s in plan.stops if s.kind == "TPA")
    out = [e for e in found if e["jenis"] == "keluar_wilayah" and _overlaps(e, tpa.arrival, tpa.departure)]
    assert out and "Neglasari" in out[0]["kecamatan_dilalui"] and out[0]["berada_di"] in out[0]["kecamatan_dilalui"]
    # SINTETIS waits away from any site (after a drive-by) long enough are idling; each idle is away from sites
    idle = [e for e in found if e["jenis"] == "diam"]
    prev = {id(s): p for p, s in zip(plan.stops, plan.stops[1:], strict=False)}
    away = [s for s in plan.stops if s.kind == "wait" and s.departure - s.arrival > layer_settings.fleet_idle_min_s + 60
            and haversine_m(s.lat, s.lon, prev[id(s)].lat, prev[id(s)].lon) > 150]
    for w in away:
        assert any(_overlaps(e, w.arrival, w.departure) for e in idle), w
    for e in idle:
        assert all(haversine_m(e["lat"], e["lon"], s.lat, s.lon) > 50 for s in simulated["sites"])
    assert http.get(f"/fleet/vehicles/{vid}/events", params={"date": "9999-01-01"}).status_code == 422


def test_speeding_above_a_lower_limit(layer_settings, simulated):
    import httpx

    plan = simulated["plans"][0]
    strict = layer_settings.model_copy(update={"fleet_speed_limit_kmh": 33.0})
    with LiveServer(strict) as s, httpx.Client(base_url=s.url, timeout=120) as c:
        r = c.get("/fleet/events", params={"date": simulated["day"].isoformat(), "kendaraan": plan.plat_nomor})
        assert r.status_code == 200, r.text
        (v,) = r.json()["vehicles"]
        fast = [e for e in v["events"] if e["jenis"] == "ngebut"]
        assert fast and all(e["kecepatan_maks_kmh"] >= 33.0 for e in fast)  # rounded to 0.1
        tpa = next(st for st in plan.stops if st.kind == "TPA")
        assert not [e for e in fast if _overlaps(e, tpa.arrival + 60, tpa.departure - 60)]  # standing still


# ---------------------------------------------------------------- missed pickups live, on the map

def _terlewat_rows(settings, day) -> list[dict]:
    with psycopg.connect(settings.dsn, row_factory=dict_row) as db:
        return db.execute("SELECT sites_layer, window_end, features FROM fleet_terlewat WHERE sites_layer LIKE %s "
                          "AND tanggal = %s", (settings.fleet_sites_layer + "@%", day)).fetchall()


def test_missed_pickups_computed_once_for_every_worker(layer_settings, simulated):
    """Two workers (their own runtimes and pools) asking at once about the same window end: one computes and stores,
    the other reads the row; both give /fleet/pickups' terlewat TPS of that day."""
    from geo_api.db import open_pool
    from geo_api.fleet.runtime import FleetRuntime
    from geo_api.services import HeavyWork

    d = simulated["day"]
    evening = datetime(d.year, d.month, d.day, 23, 0, tzinfo=WIB)

    async def run():
        pools = [open_pool(layer_settings) for _ in range(2)]
        for p in pools:
            await p.open()
        try:
            workers = [FleetRuntime(layer_settings, p) for p in pools]
            heavy = HeavyWork(2)
            answers = await asyncio.gather(*(w.missed.missed(p, w, heavy, now=evening)
                                             for w, p in zip(workers, pools, strict=True)))
            again = await workers[1].missed.missed(pools[1], workers[1], heavy, now=evening)
            return answers, again, [w.missed.computed for w in workers]
        finally:
            for p in pools:
                await p.close()

    (a, b), again, computed = asyncio.run(run())
    assert a == b == again and a[0] == d.isoformat()
    assert sorted(computed) == [0, 1]  # one computation between the two workers, then each answer is kept
    rows = _terlewat_rows(layer_settings, d)
    assert len(rows) == 1
    planned_missed = {p.nama for p in simulated["planned"] if p.outcome == jd.TERLEWAT}
    got = {f["properties"]["nama"] for f in a[1]}
    assert planned_missed <= got and {f["properties"]["nama"] for f in rows[0]["features"]} == got
    assert all(f["properties"]["status"] == jd.TERLEWAT for f in a[1])
    ends = [w["end"] for f in a[1] for w in f["properties"]["windows"]]
    assert rows[0]["window_end"] >= max(datetime.fromisoformat(e) for e in ends)  # judged once they had all ended


def test_missed_pickups_on_the_live_stream_of_two_workers(http, server, layer_settings):
    """Today's terlewat TPS on the streams of two servers (two app instances, as two workers): the same TPS, the
    /fleet/pickups ones, from one stored computation."""
    second = LiveServer(layer_settings)
    import httpx
    with second, httpx.Client(base_url=second.url, timeout=120) as other:
        texts = [c.get("/fleet/live/stream", params={"once": "true"}).text for c in (http, other)]
        today = http.get("/fleet/pickups").json()
        apps = [s.server.config.app for s in (server, second)]
    missed = {f["id"] for f in today["features"] if f["properties"]["status"] == jd.TERLEWAT}
    got = []
    for text in texts:
        assert text.startswith("event: snapshot\n")
        events = [c for c in text.split("\n\n") if c.startswith("event: terlewat\n")]
        got.append(set().union(*({f["id"] for f in json.loads(e.split("data: ", 1)[1])["features"]}
                                 for e in events)))
    assert got[0] == got[1]
    computed = sum(a.state.services.fleet.missed.computed for a in apps)
    rows = _terlewat_rows(layer_settings, date.fromisoformat(today["date"]))
    if not missed:  # before the first window of the day ends nothing is missed yet
        assert got == [set(), set()] and computed == 0
        return
    assert got[0] == missed
    assert computed == len(rows) >= 1  # one per window end reached (a window may end between the two requests)


def test_armada_map_draws_missed_tps_red(http, simulated):
    from maps.armada import PICKUP_COLOUR, PICKUP_TEXT

    r = http.get("/peta/armada", params={"tanggal": simulated["day"].isoformat()})
    assert r.status_code == 200, r.text
    html = r.text
    skipped = next(p for p in simulated["planned"] if p.outcome == jd.TERLEWAT)
    served = next(p for p in simulated["planned"] if p.outcome == jd.TEPAT_WAKTU)
    assert f"{skipped.nama} · 0 kunjungan hari ini · {PICKUP_TEXT[jd.TERLEWAT]}" in html
    assert f"{served.nama} · 1 kunjungan hari ini · {PICKUP_TEXT[jd.TEPAT_WAKTU]}" in html
    assert PICKUP_COLOUR[jd.TERLEWAT] in html and "TPS terlewat (" in html


# ---------------------------------------------------------------- replay in a real browser (last: playwright's
# sync API holds an event loop in this thread while it runs)

def test_replay_of_a_past_day_in_chromium(server, simulated, tmp_path_factory):
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make system installs it)")
    pw_api = pytest.importorskip("playwright.sync_api")
    from maps.armada import PICKUP_COLOUR

    shots = tmp_path_factory.mktemp("armada_replay", numbered=False)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    d = simulated["day"]
    late = int(datetime(d.year, d.month, d.day, 23, 0, tzinfo=WIB).timestamp())
    with pw_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("profile")), executable_path=chromium,
                                                    headless=True, args=flags)
        try:
            for w, h in ((1400, 900), (390, 844)):
                page = ctx.new_page()
                page.set_viewport_size({"width": w, "height": h})
                page.goto(f"{server.url}/peta/armada?tanggal={d.isoformat()}", wait_until="load")
                page.wait_for_selector("#sp-replay-slider")
                page.screenshot(path=str(shots / f"replay_start_{w}.png"))
                # nothing covers the slider, the play button or the clock (a phone's attribution once did)
                hidden = page.evaluate("""() => ['#sp-replay-slider', '#sp-replay-play', '#sp-replay-clock']
                  .flatMap(sel => { const e = document.querySelector(sel), r = e.getBoundingClientRect();
                    return [0.1, 0.5, 0.9].map(k => [sel, r.left + r.width * k, r.top + r.height / 2]); })
                  .filter(([sel, x, y]) => x < 0 || y < 0 || x > innerWidth || y > innerHeight ||
                    !document.querySelector(sel).contains(document.elementFromPoint(x, y)))""")
                assert hidden == [], (w, hidden)
                page.eval_on_selector("#sp-replay-slider",
                                      f"e => {{ e.value = {late}; e.dispatchEvent(new Event('input')); }}")
                fills = page.eval_on_selector_all("path.sp-replay-site", "els => els.map(e => e.getAttribute('fill'))")
                assert PICKUP_COLOUR[jd.TERLEWAT] in fills and PICKUP_COLOUR[jd.TEPAT_WAKTU] in fills
                assert page.inner_text("#sp-replay-clock") == "23:00 WIB"
                page.click("#sp-replay-play")
                page.screenshot(path=str(shots / f"replay_late_{w}.png"))
                page.goto(f"{server.url}/peta/armada", wait_until="load")  # today, live: no replay control
                page.wait_for_selector(".sp-site")
                assert page.query_selector("#sp-replay-slider") is None
                page.screenshot(path=str(shots / f"armada_live_{w}.png"))
                page.goto(f"{server.url}/peta/dasbor?dari={d.isoformat()}&sampai={d.isoformat()}", wait_until="load")
                page.locator("#pengangkutan-kecamatan-bulan").scroll_into_view_if_needed()
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1"), w  # no sideways
                page.screenshot(path=str(shots / f"dasbor_pengangkutan_{w}.png"))
                page.close()
        finally:
            ctx.close()


# ---------------------------------------------------------------- the simulator CLI (and the demo) on today

def _expected_now(p: dict, cut_lo: float, cut_hi: float, at: float) -> set[str]:
    """The statuses a planned pickup may show at `at` when the trucks drove only until some moment in
    [cut_lo, cut_hi] (a visit begun shortly before may not have its dwell yet; a window may end meanwhile)."""
    arr = p["arrival"]
    arrived = {False} if arr is None or arr > cut_hi else {True} if arr <= cut_lo - 900 else {True, False}
    out = set()
    for a in arrived:
        for t in (cut_lo, at):
            if p["outcome"] == jd.TEPAT_WAKTU and a:
                out.add(jd.TEPAT_WAKTU)
            elif p["window_end"] > t:
                out.add(jd.BELUM)
            elif p["outcome"] == jd.TERLAMBAT and a:
                out.add(jd.TERLAMBAT)
            else:
                out.add(jd.TERLEWAT)
    return out


def test_simulate_cli_follows_todays_schedules(layer_settings, tmp_path):
    """`satupeta fleet simulate` (as `maps demo` runs it) plans today from SINTETIS schedules, publishes them and
    drives its trucks; with --no-live it stops at the present moment. /fleet/pickups per truck gives each planned
    pickup its status at that moment, and /peta/armada colours the TPS by status."""
    import re

    import httpx

    from maps.armada import PICKUP_TEXT

    mine = layer_settings.model_copy(update={"fleet_sites_layer": f"tps_cli_{uuid.uuid4().hex[:6]}"})
    tag = "C" + uuid.uuid4().hex[:5].upper()
    plan_path = tmp_path / "plan.json"
    with LiveServer(mine) as s:
        env = {**os.environ, "DATABASE_URL": mine.dsn, "SATUPETA_FLEET_SITES_LAYER": mine.fleet_sites_layer}
        cut_lo = datetime.now(WIB).timestamp()
        r = subprocess.run([sys.executable, "-m", "geo_api.cli", "fleet", "simulate", "--trucks", "3", "--no-live",
                            "--interval", "15", "--tag", tag, "--url", s.url, "--plan-out", str(plan_path)],
                           capture_output=True, text=True, env=env, timeout=600)
        cut_hi = datetime.now(WIB).timestamp()
        assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
        said = r.stdout + r.stderr
        assert "SINTETIS schedules on" in said and "with a SINTETIS jadwal" in said and ", 0 failed" in r.stdout
        plan = json.loads(plan_path.read_text())
        with httpx.Client(base_url=s.url, timeout=120) as c:
            got = {}
            for truck in plan["trucks"]:
                fc = c.get("/fleet/pickups", params={"kendaraan": truck["plat_nomor"]})
                assert fc.status_code == 200, fc.text
                got.update(_by_nama(fc.json()))
            at = datetime.now(WIB).timestamp()
            page = c.get("/peta/armada")
            every = _by_nama(c.get("/fleet/pickups").json())  # all vehicles, as the map counts them
    assert page.status_code == 200
    picks = plan["pengangkutan"]
    assert {p["outcome"] for p in picks} == {jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT}
    assert any(p["drive_by"] for p in picks)
    statuses = set()
    for p in picks:
        props = got[p["nama"]]
        assert props["status"] in _expected_now(p, cut_lo, cut_hi, at), (p, props)
        assert props["jadwal"].startswith("setiap hari ") and props["kendaraan"] == p["plat_nomor"]
        statuses.add(props["status"])
        shown = re.search(re.escape(p["nama"]) + r" · \d+ kunjungan hari ini · ([^<\"\n]+)", page.text)
        assert shown and shown[1].strip() == PICKUP_TEXT[every[p["nama"]]["status"]], (p["nama"], shown)
    hour = datetime.fromtimestamp(cut_lo, WIB).hour
    if 5 <= hour <= 22:  # windows from 4 h before the hour to 6 h after: some ended (and late ones came), some not
        assert statuses == {jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT, jd.BELUM}, statuses
    # no fix after the moment the command ran (--no-live), none refused
    with psycopg.connect(mine.dsn, row_factory=dict_row) as db:
        row = db.execute("SELECT max(x.fix_time) AS last, count(*) FILTER (WHERE x.flag IS NOT NULL) AS flagged "
                         "FROM fleet.position x JOIN fleet.device d ON d.id = x.device_id WHERE d.unique_id LIKE %s",
                         (f"{tag}-%",)).fetchone()
    assert row["last"].timestamp() <= cut_hi and row["flagged"] == 0


def test_simulate_cli_refuses_a_bad_day(layer_settings):
    for bad in ("2026-02-30", "9999-12-31", (datetime.now(WIB) + timedelta(days=2)).date().isoformat()):
        r = _cli(layer_settings, "fleet", "simulate", "--day", bad, "--trucks", "1", "--url", "http://127.0.0.1:9")
        assert r.returncode != 0 and "day" in (r.stdout + r.stderr) and "Traceback" not in r.stderr, (bad, r.stderr)
