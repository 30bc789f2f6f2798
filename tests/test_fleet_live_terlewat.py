"""Issue 18's two gaps: the live Armada map turns a TPS red when its window ends without a visit, without a
reload (the stream's terlewat events, in Chromium); and `satupeta serve --workers 2` as real processes gives the
same missed pickups whichever worker answers, from exactly one stored fleet_terlewat computation per window end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from ingestion import jadwal as jd
from ingestion.fleet_registry import add_device, add_vehicle
from ingestion.fleet_sim import PlannedStop, SiteSpec, TruckPlan, drive_fleet, sim_tracker_keys, sites_geojson
from ingestion.fleet_sites import publish_synthetic_sites
from tests._scale import ROOT, free_port, wait_port
from tests.conftest import LiveServer

WIB = ZoneInfo("Asia/Jakarta")


async def _publish(settings, sites) -> dict:
    async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
        with tempfile.TemporaryDirectory() as tmp:
            return await publish_synthetic_sites(conn, settings, sites_geojson(sites), tmp)


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _site(nama: str, k: int, jadwal: str) -> SiteSpec:
    # a strip of Cipondoh that the other modules' simulated TPS do not use, 400 m apart north-south, at a longitude
    # of this run's own (an earlier run's trucks, still in the day's fixes, served other points)
    lon = 106.6705 + (int(nama.rsplit(" ", 1)[1], 16) % 300) * 1e-4  # the name ends with the run's hex tag
    return SiteSpec(nama, "TPS", -6.1905 - 0.004 * k, lon, None, "36.71.02", jadwal, None)


# ---------------------------------------------------------------- two real worker processes

def _serve_logged(env: dict[str, str], log_path) -> subprocess.Popen:
    """`satupeta serve --workers 2` on a free port with its log (INFO) in a file: the terlewat lines name the pid."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SATUPETA_") and k != "DATABASE_URL"}
    full.update({"SATUPETA_LOG_LEVEL": "info", "SATUPETA_FLEET_OSMAND_LISTEN": "false",
                 "SATUPETA_FLEET_TRACKER_AUTH": "off", "SATUPETA_RATELIMIT_ENABLED": "false", **env})
    with open(log_path, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "geo_api.cli", "serve", "--workers", "2",
                                 "--port", env["PORT"]], env=full, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def _terlewat_events(text: str) -> tuple[str | None, set[str]]:
    days, names = set(), set()
    for chunk in text.split("\n\n"):
        if chunk.startswith("event: terlewat\n"):
            body = json.loads(chunk.split("data: ", 1)[1])
            days.add(body["date"])
            names |= {f["properties"]["nama"] for f in body["features"]}
    assert len(days) <= 1
    return (days.pop() if days else None), names


def test_two_worker_processes_agree_on_missed_pickups(settings, test_dsn, tmp_path):
    now = datetime.now(WIB)
    if not (datetime.combine(now.date(), datetime.min.time(), WIB) + timedelta(hours=3) < now
            < datetime.combine(now.date(), datetime.min.time(), WIB) + timedelta(hours=21)):
        pytest.skip("needs a window that ended today and one still to come (03:00-21:00 WIB)")
    tag = uuid.uuid4().hex[:5].upper()
    layer = f"tps_pekerja_{tag.lower()}"
    ended = now - timedelta(minutes=20)
    w1 = f"setiap hari {_hm(ended - timedelta(hours=2))}-{_hm(ended - timedelta(minutes=40))}"
    w2 = f"setiap hari {_hm(ended - timedelta(hours=1))}-{_hm(ended)}"
    later = f"setiap hari {_hm(now + timedelta(hours=1))}-{_hm(now + timedelta(hours=2))}"
    other_day = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"][(now.weekday() + 3) % 7]
    sites = [_site(f"TPS Uji Pekerja Terlewat A {tag}", 0, w1), _site(f"TPS Uji Pekerja Terlewat B {tag}", 1, w2),
             _site(f"TPS Uji Pekerja Dilayani {tag}", 2, w2), _site(f"TPS Uji Pekerja Nanti {tag}", 3, later),
             _site(f"TPS Uji Pekerja Lain Hari {tag}", 4, f"{other_day} 06:00-08:00")]
    served_site = sites[2]
    mine = settings.model_copy(update={"fleet_sites_layer": layer})
    assert asyncio.run(_publish(mine, sites))["feature_count"] == len(sites)
    # a truck serves the third TPS inside its window: 10 minutes parked there, approach and leave 900 m north
    t_in = (ended - timedelta(minutes=35)).timestamp()
    lat, lon = served_site.lat, served_site.lon
    fixes = [(t_in - 300 + 10 * i, lat, lon + 0.0081 * (1 - i / 30), 5.4, 270.0) for i in range(31)]
    fixes += [(t_in + 10 * i, lat + 0.00001 * (i % 3), lon, 0.0, 270.0) for i in range(1, 61)]
    fixes += [(t_in + 600 + 10 * i, lat, lon + 0.0081 * i / 30, 5.4, 90.0) for i in range(1, 31)]
    plan = TruckPlan(f"PKJ-{tag}", f"B 91 {tag}", "pickup", "36.71.02", (lat, lon + 0.0081),
                     [PlannedStop("TPS", served_site.nama, lat, lon, t_in, t_in + 600)], fixes)
    with psycopg.connect(test_dsn, row_factory=dict_row) as db:
        add_device(db, plan.unique_id, add_vehicle(db, plan.plat_nomor, "pickup", "36.71.02", "Depot uji"))
        db.commit()

    port = str(free_port())
    log_path = tmp_path / "serve.log"
    proc = _serve_logged({"DATABASE_URL": test_dsn, "SATUPETA_FLEET_SITES_LAYER": layer, "PORT": port}, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_port(int(port), proc, "satupeta serve")
        assert asyncio.run(drive_fleet([plan], url, 0))["failed"] == 0
        pids: set[int] = set()
        answers, streams = [], []
        for i in range(60):  # a new connection each time: the kernel hands it to one worker or the other
            with httpx.Client(base_url=url, timeout=120) as fresh:
                r = fresh.get("/fleet/pickups", params={"date": now.date().isoformat()})
                assert r.status_code == 200, r.text
                answers.append(r.json())
            with httpx.Client(base_url=url, timeout=120) as fresh:
                streams.append(fresh.get("/fleet/live/stream", params={"once": "true"}).text)
            log = log_path.read_text(errors="replace")
            pids = {int(p) for p in re.findall(rf"terlewat {layer}@\S+ .*? pid=(\d+)", log)}
            if i >= 7 and len(pids) == 2:
                break
        assert len(pids) == 2, f"one worker answered every stream: {log[-2000:]}"
    finally:
        _stop(proc)
    log = log_path.read_text(errors="replace")

    # the same answer from whichever worker
    def norm(fc):
        return {f["properties"]["nama"]: (f["properties"]["status"], [v.get("arrival") for v in
                                                                        f["properties"].get("visits", [])])
                for f in fc["features"]}
    assert all(norm(a) == norm(answers[0]) for a in answers)
    status = {k: v[0] for k, v in norm(answers[0]).items()}
    assert status == {sites[0].nama: jd.TERLEWAT, sites[1].nama: jd.TERLEWAT, sites[2].nama: jd.TEPAT_WAKTU,
                      sites[3].nama: jd.BELUM}, status  # the other weekday's TPS is absent
    events = [_terlewat_events(t) for t in streams]
    assert all(t.startswith("event: snapshot\n") for t in streams)
    assert all(e == (now.date().isoformat(), {sites[0].nama, sites[1].nama}) for e in events), events

    # exactly one computation per window end across both processes; the other process read the stored row
    lines = re.findall(rf"terlewat ({layer}@\S+) (\S+) (\S+): (computed|read) \((\d+) TPS\) pid=(\d+)", log)
    ends = {e for _, _, e, *_ in lines}
    assert ends, log[-2000:]
    for end in ends:
        computed = [ln for ln in lines if ln[2] == end and ln[3] == "computed"]
        assert len(computed) == 1, (end, lines)
    assert {int(ln[5]) for ln in lines} == pids
    assert any(ln[3] == "read" for ln in lines)  # the second worker did not recompute
    with psycopg.connect(test_dsn, row_factory=dict_row) as db:
        rows = db.execute("SELECT window_end, features FROM fleet_terlewat WHERE sites_layer LIKE %s AND tanggal = %s",
                          (layer + "@%", now.date())).fetchall()
    assert {r["window_end"].astimezone(WIB).isoformat() for r in rows} == ends
    for r in rows:
        assert {f["properties"]["nama"] for f in r["features"]} == {sites[0].nama, sites[1].nama}


# ---------------------------------------------------------------- the live Armada page in Chromium (last: the
# playwright fixture holds an event loop in this thread)

@pytest.fixture(scope="module")
def window_soon(settings):
    """A sites layer whose TPS 'Segera' window ends 75-135 s from now (WIB) with no visit, and a TPS 'Nanti'
    whose window is later today; a server on it whose stream checks every second."""
    now = datetime.now(WIB)
    end = (now + timedelta(seconds=135)).replace(second=0, microsecond=0)
    start = end - timedelta(hours=1)
    if start.date() != now.date() or end.hour >= 21:
        pytest.skip("needs a window ending soon and one later, both today (01:00-21:00 WIB)")
    tag = uuid.uuid4().hex[:5].upper()
    gone = now - timedelta(minutes=20)
    sites = [_site(f"TPS Uji Segera {tag}", 0, f"setiap hari {_hm(start)}-{_hm(end)}"),
             _site(f"TPS Uji Nanti {tag}", 1, f"setiap hari {_hm(end + timedelta(hours=1))}-"
                                              f"{_hm(end + timedelta(hours=2))}"),
             _site(f"TPS Uji Telat {tag}", 2, f"setiap hari {_hm(gone - timedelta(hours=1))}-{_hm(gone)}")]
    mine = settings.model_copy(update={"fleet_sites_layer": f"tps_segera_{tag.lower()}",
                                       "fleet_stream_interval_s": 1.0})
    assert asyncio.run(_publish(mine, sites))["feature_count"] == 3
    late = sites[2]
    t_in = (now - timedelta(minutes=16)).timestamp()  # served 16-6 minutes ago: after its window, terlambat
    fixes = [(t_in - 300 + 10 * i, late.lat, late.lon + 0.0081 * (1 - i / 30), 5.4, 270.0) for i in range(31)]
    fixes += [(t_in + 10 * i, late.lat + 0.00001 * (i % 3), late.lon, 0.0, 270.0) for i in range(1, 61)]
    plan = TruckPlan(f"TLT-{tag}", f"B 92 {tag}", "pickup", "36.71.02", (late.lat, late.lon + 0.0081),
                     [PlannedStop("TPS", late.nama, late.lat, late.lon, t_in, t_in + 600)], fixes)
    with psycopg.connect(mine.dsn, row_factory=dict_row) as db:
        add_device(db, plan.unique_id, add_vehicle(db, plan.plat_nomor, "pickup", "36.71.02", "Depot uji"))
        db.commit()
        keys = sim_tracker_keys(db, [plan.unique_id])
    with LiveServer(mine) as s, httpx.Client(base_url=s.url, timeout=120) as c:
        # the stored row of the window end 20 minutes ago, judged before the late visit arrives: Telat terlewat
        first = _terlewat_events(c.get("/fleet/live/stream", params={"once": "true"}).text)
        assert first == (now.date().isoformat(), {late.nama}), first
        assert asyncio.run(drive_fleet([plan], s.url, 0, keys=keys))["failed"] == 0
        yield {"url": s.url, "sites": sites, "end": end}


_FILL = """nama => { let out = null; SP.map.eachLayer(l => { if (l.options && l.options.spTps === nama && l._icon)
  out = getComputedStyle(l._icon.querySelector('span')).backgroundColor; }); return out; }"""
_TOOLTIP = """nama => { let out = null; SP.map.eachLayer(l => { if (l.options && l.options.spTps === nama)
  out = l.getTooltip().getContent(); }); return out; }"""


def test_armada_tps_turns_red_when_its_window_ends(window_soon, browser_context, tmp_path_factory):
    soon, later, telat = (s.nama for s in window_soon["sites"])
    shots = tmp_path_factory.mktemp("armada_terlewat", numbered=False)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{window_soon['url']}/peta/armada", wait_until="load")
    page.wait_for_selector(".sp-site")
    page.evaluate("window.__samaHalaman = true")  # a reload or navigation would drop it
    grey, red, orange = "rgb(150, 150, 150)", "rgb(227, 26, 28)", "rgb(253, 141, 60)"  # PICKUP_COLOUR
    assert datetime.now(WIB) < window_soon["end"], "the page loaded after the window ended: nothing to watch"
    assert page.evaluate(_FILL, soon) == grey and page.evaluate(_FILL, later) == grey
    assert page.evaluate(_FILL, telat) == orange  # served late since the stored row said terlewat
    assert "belum waktunya" in page.evaluate(_TOOLTIP, soon)
    legend = "() => [...document.querySelectorAll('#legenda li')].map(li => li.textContent)"
    assert {"TPS terlewat (0)", "TPS belum waktunya (2)", "TPS diangkut terlambat (1)"} <= set(page.evaluate(legend))
    # the window ends; the stream's terlewat event recolours the marker (a condition, generous timeout)
    page.wait_for_function(f"() => ({_FILL})({json.dumps(soon)}) === {json.dumps(red)}", timeout=300_000,
                           polling=500)
    assert datetime.now(WIB) >= window_soon["end"]
    assert page.evaluate("window.__samaHalaman === true")
    assert page.evaluate(_FILL, later) == grey  # only the TPS whose window ended
    assert page.evaluate(_FILL, telat) == orange  # the stream's older terlewat does not repaint a newer reading
    assert {"TPS terlewat (1)", "TPS belum waktunya (1)", "TPS diangkut terlambat (1)"} <= set(page.evaluate(legend))
    # the TPS layer switched off and on again keeps the red (the marker's icon itself was replaced)
    page.evaluate("""nama => { const ls = [];
      SP.map.eachLayer(l => { if (l.options && l.options.spTps === nama) ls.push(l); });
      ls.forEach(l => { SP.map.removeLayer(l); SP.map.addLayer(l); }); }""", soon)
    assert page.evaluate(_FILL, soon) == red
    tip = page.evaluate(_TOOLTIP, soon)
    assert "TERLEWAT (belum diangkut)" in tip and "belum waktunya" not in tip and "0 kunjungan hari ini" in tip
    page.evaluate("""nama => SP.map.eachLayer(l => { if (l.options && l.options.spTps === nama) l.openPopup(); })""",
                  soon)
    popup = page.inner_text(".leaflet-popup-content")
    assert soon in popup and "Pengangkutan: TERLEWAT (belum diangkut)" in popup
    page.screenshot(path=str(shots / "armada_terlewat_1400.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "armada_terlewat_390.png"))
    page.close()
    with httpx.Client(base_url=window_soon["url"], timeout=120) as c:
        props = {f["properties"]["nama"]: f["properties"]["status"] for f in c.get("/fleet/pickups").json()["features"]}
    assert props == {soon: jd.TERLEWAT, later: jd.BELUM, telat: jd.TERLAMBAT}
