"""OsmAnd ingest over real HTTP: query form, POST form, JSON body; bad fixes; unknown devices; the listener."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import httpx
import orjson
import psycopg
import pytest

from ingestion import osmand
from ingestion.fix_filters import FilterConfig, FixFilter
from ingestion.fleet_registry import add_device, add_vehicle


@pytest.fixture(scope="module")
def settings(settings):
    """This module tests the OsmAnd plumbing (decoding, filters, batching, the listener) with keyless devices,
    so its servers run with tracker auth explicitly OFF; the default (`required`) is tested below
    (test_default_refuses_a_keyless_fix_and_keeps_it_out_of_the_live_view) and in tests/test_trust_roles.py."""
    return settings.model_copy(update={"fleet_tracker_auth": "off"})


@pytest.fixture(scope="module")
def live_server(settings):
    from tests.conftest import LiveServer

    with LiveServer(settings) as server:
        yield server


def _register(db, prefix: str = "dev") -> str:
    unique = f"{prefix}-{uuid.uuid4().hex[:8]}"
    vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
    add_device(db, unique, vid)
    db.commit()
    return unique


def _positions(db, unique: str) -> list[dict]:
    return db.execute(
        "SELECT p.*, extract(epoch FROM p.fix_time)::float8 AS t FROM fleet.position p "
        "JOIN fleet.device d ON d.id = p.device_id WHERE d.unique_id = %s ORDER BY p.fix_time, p.received_at",
        (unique,)).fetchall()


# ---------------------------------------------------------------- decoder (pure)

def test_decoder_timestamp_forms():
    assert osmand.parse_timestamp("1700000000") == 1700000000.0
    assert osmand.parse_timestamp("1700000000123") == pytest.approx(1700000000.123)
    assert osmand.parse_timestamp("2023-11-14T22:13:20Z") == 1700000000.0
    assert osmand.parse_timestamp("2023-11-14T22:13:20.000+00:00") == 1700000000.0
    assert osmand.parse_timestamp("2023-11-14 22:13:20") == 1700000000.0
    with pytest.raises(osmand.DecodeError) as e:
        osmand.parse_timestamp("yesterday")
    assert e.value.parameter == "timestamp"


def test_decoder_query_form_keys():
    fix = osmand.decode_request(
        "id=abc&timestamp=1700000000&lat=-6.17&lon=106.63&speed=10&bearing=90&altitude=12&accuracy=5&hdop=0.9"
        "&batt=77&valid=false&driverUniqueId=D1&ignition=true&fuel=12.5&note=ok", b"", None)
    assert fix.unique_id == "abc" and fix.lat == -6.17 and fix.lon == 106.63
    assert fix.speed_kn == 10 and fix.course == 90 and fix.altitude == 12 and fix.accuracy == 5
    assert fix.hdop == 0.9 and fix.batt == 77 and fix.valid is False
    assert fix.attributes == {"driverUniqueId": "D1", "ignition": True, "fuel": 12.5, "note": "ok"}
    loc = osmand.decode_request("deviceid=x&location=-6.1,106.6&heading=45", b"", None)
    assert (loc.lat, loc.lon, loc.course) == (-6.1, 106.6, 45)


def test_decoder_json_body():
    body = (b'{"device_id":"t1","location":{"timestamp":"2023-11-14T22:13:20.000Z","coords":{"latitude":-6.2,'
            b'"longitude":106.6,"accuracy":4,"speed":10,"heading":180,"altitude":20},"is_moving":true,'
            b'"odometer":1234,"event":"motionchange","battery":{"level":0.55,"is_charging":false},'
            b'"activity":{"type":"in_vehicle"}}}')
    fix = osmand.decode_request("", body, "application/json; charset=utf-8")
    assert fix.json_form and fix.unique_id == "t1" and fix.fix_time == 1700000000.0
    assert fix.speed_kn == pytest.approx(19.438, abs=1e-3)  # 10 m/s in knots
    assert fix.batt == pytest.approx(55) and fix.attributes["motion"] is True
    assert fix.attributes["activity"] == "in_vehicle" and fix.attributes["charge"] is False


def test_filters_flags():
    f = FixFilter(FilterConfig(max_speed_kmh=150, future_tolerance_s=300))
    b = f.batch()
    now = 1_700_000_000.0
    mk = lambda t, lat, lon, valid=True: osmand.Fix("d", t, lat, lon, valid=valid)  # noqa: E731
    assert b.check(1, mk(now - 100, -6.2, 106.6), now) is None
    assert b.check(1, mk(now - 100, -6.2, 106.6), now) == "duplicate"
    assert b.check(1, mk(now - 90, -6.5, 106.6), now) == "jump"          # 33 km in 10 s
    assert b.check(1, mk(now - 80, -6.2005, 106.6), now) is None
    assert b.check(1, mk(now - 300, -6.1, 106.5), now) is None            # late fix: placed, not a jump
    assert b.check(1, mk(now + 3600, -6.2, 106.6), now) == "future"
    assert b.check(1, mk(now, 0.0, 0.0), now) == "zero_coords"
    assert b.check(1, mk(now, 95.0, 106.6), now) == "invalid_coords"
    assert b.check(1, mk(now, -6.2, 106.6, valid=False), now) == "not_valid"
    b.commit()
    assert f.states[1].last_time == now - 80
    # A batch whose commit failed is forgotten: the client's retry is not a duplicate.
    b2 = f.batch()
    assert b2.check(1, mk(now - 70, -6.2006, 106.6), now) is None
    assert b2.check(2, mk(now - 70, -6.3, 106.7), now) is None
    b2.rollback()
    assert 2 not in f.states and f.states[1].last_time == now - 80
    assert f.batch().check(1, mk(now - 70, -6.2006, 106.6), now) is None


# ---------------------------------------------------------------- over HTTP

def test_query_form_get_is_stored_after_ack(client, db):
    unique = _register(db)
    t = int(time.time()) - 60
    r = client.get("/osmand", params={"id": unique, "lat": -6.1781, "lon": 106.6300, "timestamp": t,
                                      "speed": 12.5, "bearing": 270, "altitude": 15, "accuracy": 6, "hdop": 1.1,
                                      "batt": 80, "driverUniqueId": "sopir-7", "ignition": "true"})
    assert r.status_code == 200, r.text
    rows = _positions(db, unique)  # acknowledged means committed: visible at once from another connection
    assert len(rows) == 1
    p = rows[0]
    assert p["t"] == t and p["lat"] == -6.1781 and p["lon"] == 106.63 and p["flag"] is None
    assert p["speed_kn"] == 12.5 and p["course"] == 270 and p["hdop"] == pytest.approx(1.1)
    assert p["attributes"] == {"driverUniqueId": "sopir-7", "ignition": True}


def test_post_form_body_and_root_query_post(client, db):
    unique = _register(db)
    t = int(time.time()) - 30
    r = client.post("/osmand", content=f"id={unique}&lat=-6.18&lon=106.64&timestamp={t}000",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    r = client.post(f"/osmand?deviceid={unique}&location=-6.181,106.641&timestamp={t + 5}")
    assert r.status_code == 200, r.text
    rows = _positions(db, unique)
    assert [(x["t"], x["lat"]) for x in rows] == [(t, -6.18), (t + 5, -6.181)]


def test_json_body_as_traccar_client_sends(client, db):
    unique = _register(db)
    ts = datetime.fromtimestamp(int(time.time()) - 20, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    body = {"device_id": unique, "location": {"timestamp": ts, "coords": {
        "latitude": -6.19, "longitude": 106.62, "accuracy": 3.5, "speed": 5.0, "heading": 10, "altitude": 9},
        "is_moving": True, "odometer": 100, "battery": {"level": 0.9, "is_charging": True}}}
    r = client.post("/osmand", json=body)
    assert r.status_code == 200, r.text
    (p,) = _positions(db, unique)
    assert p["speed_kn"] == pytest.approx(5.0 * 1.943844, rel=1e-4) and p["batt"] == pytest.approx(90)
    assert p["attributes"]["motion"] is True


def test_unknown_device_400_query_404_json(client):
    r = client.get("/osmand", params={"id": "nobody-" + uuid.uuid4().hex, "lat": -6.2, "lon": 106.6})
    assert r.status_code == 400 and r.json()["parameter"] == "id"
    r = client.post("/osmand", json={"device_id": "nobody-" + uuid.uuid4().hex,
                                     "location": {"timestamp": "2024-01-01T00:00:00Z",
                                                  "coords": {"latitude": -6.2, "longitude": 106.6}}})
    assert r.status_code == 404


@pytest.mark.parametrize("params, parameter", [
    ({"lat": "-6.2", "lon": "106.6"}, "id"),
    ({"id": "x", "lat": "abc", "lon": "106.6"}, "lat"),
    ({"id": "x", "lat": "-6.2"}, "lon"),
    ({"id": "x", "lat": "-6.2", "lon": "106.6", "timestamp": "kemarin"}, "timestamp"),
    ({"id": "x", "location": "-6.2"}, "location"),
])
def test_malformed_parameters_are_named(client, params, parameter):
    r = client.get("/osmand", params=params)
    assert r.status_code == 400
    assert r.json()["parameter"] == parameter


def test_bad_json_body_is_400(client):
    r = client.post("/osmand", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["parameter"] == "body"
    r = client.post("/osmand", json={"device_id": "x", "location": {"timestamp": "2024-01-01T00:00:00Z"}})
    assert r.status_code == 400 and r.json()["parameter"] == "location.coords"


def test_bad_fixes_are_stored_flagged(client, db):
    unique = _register(db)
    now = int(time.time())
    sends = [
        (now - 600, -6.1700, 106.6300),   # good
        (now - 600, -6.1700, 106.6300),   # exact duplicate
        (now - 590, -6.4700, 106.6300),   # 33 km in 10 s: jump
        (now - 580, -6.1702, 106.6301),   # good again
        (now + 7200, -6.1703, 106.6302),  # future
        (now - 570, 0.0, 0.0),            # zero
        (now - 560, -91.0, 106.6),        # invalid
        (now - 1200, -6.1650, 106.6250),  # late, out of order: good, placed by fix time
    ]
    for t, lat, lon in sends:
        r = client.get("/osmand", params={"id": unique, "lat": lat, "lon": lon, "timestamp": t})
        assert r.status_code == 200, r.text
    rows = _positions(db, unique)
    flags = {(int(r["t"]), r["flag"]) for r in rows}
    assert (now - 600, None) in flags and (now - 600, "duplicate") in flags
    assert (now - 590, "jump") in flags and (now - 580, None) in flags
    assert (now + 7200, "future") in flags and (now - 570, "zero_coords") in flags
    assert (now - 560, "invalid_coords") in flags and (now - 1200, None) in flags
    assert rows[0]["t"] == now - 1200  # the late fix sorts first by fix time
    live = db.execute("SELECT extract(epoch FROM last_fix_time)::float8 AS t FROM fleet.device WHERE unique_id = %s",
                      (unique,)).fetchone()
    assert live["t"] == now - 580  # the newest good fix, not the late, future or flagged ones


def test_flood_from_one_device_is_throttled_not_others(db, settings):
    from tests.conftest import LiveServer

    flooder, other = _register(db, "flood"), _register(db, "calm")
    t0 = int(time.time()) - 3000
    strict = settings.model_copy(update={"fleet_device_rate": 1.0, "fleet_device_burst": 20})
    with LiveServer(strict) as server, httpx.Client(base_url=server.url) as c:
        codes = [c.get("/osmand", params={"id": flooder, "lat": -6.2, "lon": 106.6 + i * 1e-5,
                                          "timestamp": t0 + i}).status_code for i in range(60)]
        r = c.get("/osmand", params={"id": other, "lat": -6.2, "lon": 106.6, "timestamp": t0})
        assert r.status_code == 200
        r429 = c.get("/osmand", params={"id": flooder, "lat": -6.2, "lon": 106.7, "timestamp": t0 + 99})
    assert 429 in codes and 20 <= codes.count(200) < 60
    assert r429.status_code == 429 and int(r429.headers["retry-after"]) >= 1


def test_hold_unknown_device_then_register(settings, db):
    from tests.conftest import LiveServer

    held = settings.model_copy(update={"fleet_unknown_device": "hold"})
    unique = "held-" + uuid.uuid4().hex[:8]
    t = int(time.time()) - 100
    with LiveServer(held) as server:
        r = httpx.get(f"{server.url}/osmand", params={"id": unique, "lat": -6.2, "lon": 106.61, "timestamp": t})
        assert r.status_code == 200
    assert db.execute("SELECT count(*) AS n FROM fleet.held_position WHERE unique_id = %s",
                      (unique,)).fetchone()["n"] == 1
    vid = add_vehicle(db, "B HELD " + unique[-4:], "dump_truck")
    _, claimed = add_device(db, unique, vid)
    db.commit()
    assert claimed == 1
    assert len(_positions(db, unique)) == 1


def test_separate_listener_port_any_path(settings, db):
    """The OsmAnd listener on its own port (as Traccar's 5055), started alongside the main app."""
    from tests.conftest import LiveServer, _free_port

    port = _free_port()
    conf = settings.model_copy(update={"fleet_osmand_listen": True, "fleet_osmand_port": port})
    unique = _register(db)
    with LiveServer(conf):
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", params={"id": unique, "lat": -6.2, "lon": 106.62,
                                                                   "timestamp": int(time.time()) - 5})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 200
        r = httpx.post(f"http://127.0.0.1:{port}/any/path?id={unique}&lat=-6.2001&lon=106.6201")
        assert r.status_code == 200
    assert len(_positions(db, unique)) == 2


def test_database_connection_loss_during_ingest_loses_no_acknowledged_fix(settings, db):
    """Backends killed between and during ingest rounds: clients get 503 and retry; no acknowledged fix is lost."""
    import asyncio
    import threading

    from tests.conftest import LiveServer

    ids = [_register(db, "fault") for _ in range(10)]
    t0 = int(time.time()) - 5000
    acked: set[tuple[str, int]] = set()
    codes: list[int] = []

    async def device(c: httpx.AsyncClient, unique: str, first: int) -> None:
        for i in range(first, first + 20):
            params = {"id": unique, "lat": -6.2 + i * 1e-4, "lon": 106.6, "timestamp": t0 + 5 * i}
            for _ in range(100):  # like Traccar Client: resend until acknowledged
                try:
                    r = await c.get("/osmand", params=params)
                    codes.append(r.status_code)
                    if r.status_code == 200:
                        acked.add((unique, t0 + 5 * i))
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)

    def kill(since) -> None:
        with psycopg.connect(settings.dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND application_name = 'satupeta-api' "
                          "AND backend_start >= %s", (since,))

    since = datetime.now(timezone.utc)
    with LiveServer(settings) as server:

        async def rounds() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                for k in range(3):
                    await asyncio.gather(*(device(c, u, 20 * k) for u in ids))
                    # Kill the pool's connections (as a database restart would) while a killer also
                    # strikes during the next round.
                    kill(since)
                    threading.Timer(0.05, kill, args=(since,)).start()

        asyncio.run(rounds())
    assert len(acked) == 600
    assert any(code == 503 for code in codes), "the fault never hit a commit"
    stored = {(r["unique_id"], int(r["t"])) for r in db.execute(
        "SELECT d.unique_id, extract(epoch FROM p.fix_time)::float8 AS t FROM fleet.position p "
        "JOIN fleet.device d ON d.id = p.device_id WHERE d.unique_id = ANY(%s) AND p.flag IS NULL", (ids,)).fetchall()}
    assert acked <= stored


@pytest.mark.parametrize("query, parameter", [
    ("id=t1&lat=-6.2&lon=106.6&timestamp=1700000000&speed=1e39", "speed"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=1700000000&altitude=-1e39", "altitude"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=1700000000&bearing=nan", "bearing"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=1700000000&accuracy=inf", "accuracy"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=1700000000&batt=1e39", "batt"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=9999-12-31T00:00:00Z", "timestamp"),
    ("id=t1&lat=-6.2&lon=106.6&timestamp=0001-01-01T00:00:00Z", "timestamp"),
    ("id=t1&lat=1e39&lon=106.6&timestamp=1700000000", "lat"),
])
def test_decoder_refuses_out_of_range_numbers(query, parameter):
    with pytest.raises(osmand.DecodeError) as err:
        osmand.decode_request(query, b"", None)
    assert err.value.parameter == parameter


def test_decoder_json_out_of_range_and_heading_minus_one():
    base = {"device_id": "t1", "location": {"timestamp": "2026-01-01T00:00:00Z",
                                            "coords": {"latitude": -6.2, "longitude": 106.6, "heading": -1}}}
    fix = osmand.decode_request("", orjson.dumps(base), "application/json")
    assert fix.course is None
    base["location"]["coords"]["speed"] = 1e39
    with pytest.raises(osmand.DecodeError) as err:
        osmand.decode_request("", orjson.dumps(base), "application/json")
    assert err.value.parameter == "location.coords.speed"


def test_decoder_refuses_deep_json_before_parsing():
    deep = b"[" * 300 + b"]" * 300
    body = b'{"device_id":"t1","location":{"coords":{"latitude":1,"longitude":1},"extras":' + deep + b"}}"
    with pytest.raises(osmand.DecodeError) as err:
        osmand.decode_request("", body, "application/json")
    assert err.value.parameter == "body"


def test_one_fix_the_database_refuses_fails_alone_not_its_batch(settings, db):
    """60 good fixes from other trucks sent with one the database refuses: the 60 are stored and acknowledged,
    only the bad one gets its error (a 400, not a 503 to retry forever)."""
    import asyncio

    from tests.conftest import LiveServer

    good = [_register(db, "neigh") for _ in range(60)]
    bad = _register(db, "poison")
    bad_id = db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (bad,)).fetchone()["id"]
    # Every value of a real fix passes decode now; a trigger stands in for the value PostgreSQL refuses.
    db.execute(f"""CREATE OR REPLACE FUNCTION fleet.test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.device_id = {int(bad_id)} THEN
          RAISE EXCEPTION 'value out of range: real' USING ERRCODE = '22003'; END IF; RETURN NEW; END $$""")
    db.execute("CREATE TRIGGER test_poison BEFORE INSERT ON fleet.position FOR EACH ROW "
               "EXECUTE FUNCTION fleet.test_poison()")
    db.commit()
    t0 = int(time.time()) - 700
    try:
        with LiveServer(settings) as server:

            async def send() -> list[httpx.Response]:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                    return await asyncio.gather(*(
                        c.get("/osmand", params={"id": u, "lat": -6.2, "lon": 106.6 + k * 1e-4, "timestamp": t0})
                        for k, u in enumerate([*good[:30], bad, *good[30:]])))

            answers = asyncio.run(send())
    finally:
        db.execute("DROP TRIGGER test_poison ON fleet.position")
        db.execute("DROP FUNCTION fleet.test_poison()")
        db.commit()
    codes = [r.status_code for r in answers]
    assert codes[30] == 400 and "refused" in answers[30].json()["detail"]
    assert codes[:30] + codes[31:] == [200] * 60
    assert all(len(_positions(db, u)) == 1 for u in good)
    assert _positions(db, bad) == []


def test_two_writers_creating_the_same_new_day_both_commit(settings, db):
    """Two writers (two pools, as two processes) creating one new day's partition at once: both fixes commit
    (it was a 503 "already exists" for one of them)."""
    import asyncio
    from datetime import date, timedelta

    from geo_api.db import open_pool
    from ingestion.fleet_writer import GroupCommitWriter

    uniques = [_register(db, "partday") for _ in range(2)]
    ids = [db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (u,)).fetchone()["id"] for u in uniques]
    today = datetime.now(timezone.utc).date()
    day = next(d for d in (today - timedelta(days=k) for k in range(390, 30, -1))
               if db.execute("SELECT to_regclass(%s) AS r", (f"fleet.position_{d:%Y%m%d}",)).fetchone()["r"] is None)
    t = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc).timestamp()
    assert isinstance(day, date)

    async def main() -> list:
        pools = [open_pool(settings, application_name=f"test-partday-{k}") for k in range(2)]
        writers = []
        holder = await psycopg.AsyncConnection.connect(settings.dsn)
        try:
            for p in pools:
                await p.open()
                writers.append(GroupCommitWriter(p, writers=1))
            # A third session creates the day and holds the creation lock: both writers queue behind it.
            await holder.execute("SELECT fleet.ensure_partition(%s::date)", (day,))
            tasks = [asyncio.create_task(w.submit(i, osmand.Fix(u, t + k, -6.2, 106.6)))
                     for k, (w, i, u) in enumerate(zip(writers, ids, uniques, strict=True))]
            async with await psycopg.AsyncConnection.connect(settings.dsn, autocommit=True) as watch:
                for _ in range(600):
                    cur = await watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                              "AND NOT granted")
                    if (await cur.fetchone())[0] >= 2:
                        break
                    await asyncio.sleep(0.05)
            await holder.commit()
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await holder.close()
            for w in writers:
                await w.stop()
            for p in pools:
                await p.close()

    results = asyncio.run(main())
    assert [r if isinstance(r, Exception) else "ok" for r in results] == ["ok", "ok"]
    assert all(len(_positions(db, u)) == 1 for u in uniques)


def test_json_body_keeps_extras_and_the_sos_alarm(client, db):
    """Traccar Client 9's SOS (`location.alarm`) and every scalar of `location.extras` are kept as attributes,
    as Traccar's OsmAndProtocolDecoder keeps them (an `extras.alarm` yields to `location.alarm`)."""
    unique = _register(db, "sos")
    ts = datetime.fromtimestamp(int(time.time()) - 30, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    body = {"device_id": unique, "location": {
        "timestamp": ts, "coords": {"latitude": -6.19, "longitude": 106.62, "heading": -1},
        "alarm": "sos", "extras": {"alarm": "other", "sopir": "Budi", "bbm": 42, "suhu": 31.5, "pintu": True,
                                   "nested": {"x": 1}, "list": [1, 2]}}}
    r = client.post("/osmand", json=body)
    assert r.status_code == 200, r.text
    (p,) = _positions(db, unique)
    assert p["course"] is None
    attrs = p["attributes"]
    assert attrs["alarm"] == "sos"
    assert (attrs["sopir"], attrs["bbm"], attrs["suhu"], attrs["pintu"]) == ("Budi", 42, 31.5, True)
    assert "nested" not in attrs and "list" not in attrs  # Traccar keeps scalars only
    only_extras = {"device_id": "t1", "location": {"timestamp": ts, "coords": {"latitude": -6.19, "longitude": 106.6},
                                                   "extras": {"alarm": "sos"}}}
    fix = osmand.decode_request("", orjson.dumps(only_extras), "application/json")
    assert fix.attributes["alarm"] == "sos"


@pytest.mark.parametrize("listen", [None, "false"])
def test_serve_listens_on_the_traccar_port_unless_turned_off(test_dsn, db, listen):
    """`satupeta serve` (what `make run` starts) also listens on fleet_osmand_port (5055 by default, a free
    port here) unless SATUPETA_FLEET_OSMAND_LISTEN turns it off."""
    import os
    import socket
    import subprocess
    import sys

    from tests._scale import ROOT, free_port, wait_port

    port, osmand_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATUPETA_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": test_dsn, "SATUPETA_LOG_LEVEL": "warning",
                "SATUPETA_FLEET_OSMAND_PORT": str(osmand_port), "SATUPETA_FLEET_TRACKER_AUTH": "off"})
    if listen is not None:
        env["SATUPETA_FLEET_OSMAND_LISTEN"] = listen
    unique = _register(db, "port")
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "serve", "--workers", "1", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port, proc, "satupeta serve")
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        if listen is None:
            wait_port(osmand_port, proc, "the OsmAnd listener")
            r = httpx.get(f"http://127.0.0.1:{osmand_port}/", timeout=30, params={
                "id": unique, "lat": -6.2, "lon": 106.63, "timestamp": int(time.time()) - 60})
            assert r.status_code == 200, r.text
            assert len(_positions(db, unique)) == 1
        else:
            with pytest.raises(OSError), socket.create_connection(("127.0.0.1", osmand_port), timeout=2):
                pass
    finally:
        proc.terminate()  # uvicorn stops on SIGTERM
        proc.wait(timeout=30)


def test_json_body_carries_the_tracker_key(settings, db):
    """Traccar Client's JSON form can send its tracker key: `?key=` on the POST URL, top-level `key`, or
    `location.extras.key`; without it a bound device is refused (401), and the key is never stored."""
    from tests.conftest import LiveServer
    from tests.test_trust_roles import make_key

    unique = _register(db, "jsonkey")
    _, key = make_key(db, "tracker", device=unique)
    t = int(time.time()) - 600

    def body(k: int, **extra) -> dict:
        ts = datetime.fromtimestamp(t + 10 * k, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        loc = {"timestamp": ts, "coords": {"latitude": -6.19, "longitude": 106.62 + k * 1e-4}}
        if "extras" in extra:
            loc["extras"] = extra.pop("extras")
        return {"device_id": unique, "location": loc, **extra}

    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0,
                                                "fleet_tracker_auth": "required"})) as server, \
            httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/osmand", json=body(0)).status_code == 401
        assert c.post("/osmand", json=body(1, key="sp_wrong")).status_code == 403
        assert c.post("/osmand", params={"key": key}, json=body(2)).status_code == 200
        assert c.post("/osmand", json=body(3, key=key)).status_code == 200
        assert c.post("/osmand", json=body(4, extras={"key": key, "sopir": "Budi"})).status_code == 200
    stored = _positions(db, unique)
    assert len(stored) == 3 and key not in str(stored)
    assert stored[-1]["attributes"]["sopir"] == "Budi"


def test_cli_vehicle_and_device_writes_are_audited(settings, db):
    """`satupeta fleet vehicle add` / `fleet device add` write their audit row (cli:<os user>) with the write."""
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "satupeta")
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    plate, unique = f"B {uuid.uuid4().hex[:5].upper()} AUD", f"aud-{uuid.uuid4().hex[:8]}"
    for args in (["fleet", "vehicle", "add", plate, "--jenis", "pickup"],
                 ["fleet", "device", "add", unique, "--vehicle", plate]):
        done = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    vid = db.execute("SELECT id FROM fleet.vehicle WHERE plat_nomor = %s", (plate,)).fetchone()["id"]
    did = db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (unique,)).fetchone()["id"]
    rows = db.execute("SELECT oleh, aksi, objek, sesudah FROM audit_log WHERE objek = ANY(%s) ORDER BY id",
                      ([f"vehicle:{vid}", f"device:{did}"],)).fetchall()
    assert [(r["aksi"], r["objek"]) for r in rows] == [("vehicle.add", f"vehicle:{vid}"),
                                                       ("device.add", f"device:{did}")]
    assert all(r["oleh"].startswith("cli:") for r in rows)
    assert rows[0]["sesudah"]["plat_nomor"] == plate and rows[1]["sesudah"]["vehicle_id"] == vid


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_dates_at_the_ends_of_time_name_the_parameter_on_every_fleet_read(client, db, day):
    unique = _register(db, "dates")
    vid = db.execute("SELECT vehicle_id FROM fleet.device WHERE unique_id = %s", (unique,)).fetchone()["vehicle_id"]
    for path, params, parameter in [
        ("/fleet/summary", {"date": day}, "date"),
        ("/fleet/visits", {"date": day}, "date"),
        ("/fleet/coverage", {"date": day}, "date"),
        ("/fleet/coverage/last", {"lon": "106.63", "lat": "-6.18", "date": day}, "date"),
        (f"/fleet/vehicles/{vid}/summary", {"date": day}, "date"),
        (f"/fleet/vehicles/{vid}/track", {"date": day}, "date"),
        ("/peta/armada", {"tanggal": day}, "tanggal"),
    ]:
        r = client.get(path, params=params)
        assert 400 <= r.status_code < 500, (path, day, r.status_code, r.text[:200])
        if r.headers["content-type"].startswith("application/problem+json"):
            assert r.json()["parameter"] == parameter, (path, day)
        else:  # the map page answers in Bahasa, naming the field
            assert "tanggal" in r.text.lower(), (path, day)


def test_sos_shows_in_the_live_view_and_its_stream(client, db):
    """An SOS from Traccar Client (JSON `location.alarm`) is in /fleet/live and its SSE snapshot."""
    unique = _register(db, "sos-live")
    vid = db.execute("SELECT vehicle_id FROM fleet.device WHERE unique_id = %s", (unique,)).fetchone()["vehicle_id"]
    ts = datetime.fromtimestamp(int(time.time()) - 20, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    body = {"device_id": unique, "location": {"timestamp": ts, "alarm": "sos",
                                              "coords": {"latitude": -6.19, "longitude": 106.62}}}
    assert client.post("/osmand", json=body).status_code == 200
    live = {f["id"]: f["properties"] for f in client.get("/fleet/live").json()["features"]}
    assert live[vid]["alarm"] == "sos" and live[vid]["alarm_time"]
    stream = client.get("/fleet/live/stream", params={"once": "true"}).text
    snap = orjson.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])
    props = {f["id"]: f["properties"] for f in snap["features"]}
    assert props[vid]["alarm"] == "sos"
    quiet = _register(db, "quiet")
    qid = db.execute("SELECT vehicle_id FROM fleet.device WHERE unique_id = %s", (quiet,)).fetchone()["vehicle_id"]
    assert client.get("/osmand", params={"id": quiet, "lat": -6.2, "lon": 106.6,
                                         "timestamp": int(time.time()) - 20}).status_code == 200
    live = {f["id"]: f["properties"] for f in client.get("/fleet/live").json()["features"]}
    assert live[qid]["alarm"] is None


def test_default_refuses_a_keyless_fix_and_keeps_it_out_of_the_live_view(base_settings, test_dsn, db):
    """With the default settings (fleet_tracker_auth = required) a registered device without a tracker key is
    refused (401 without a key, 403 with a key of another device), nothing is stored, and the device never shows
    in /fleet/live; its own bound key is accepted (the JSON body's `key` too)."""
    from geo_api.settings import Settings
    from tests.conftest import LiveServer
    from tests.test_trust_roles import make_key

    assert Settings.model_fields["fleet_tracker_auth"].default == "required"
    default = base_settings.model_copy(update={"database_url": test_dsn, "fleet_tracker_keys_ttl_s": 0.0})
    assert default.fleet_tracker_auth == "required"
    keyless, keyed = _register(db, "keyless"), _register(db, "keyed")
    _, key = make_key(db, "tracker", device=keyed)
    vids = {u: db.execute("SELECT vehicle_id FROM fleet.device WHERE unique_id = %s", (u,)).fetchone()["vehicle_id"]
            for u in (keyless, keyed)}
    t = int(time.time()) - 30
    fix = {"lat": "-6.19", "lon": "106.62", "timestamp": str(t)}
    with LiveServer(default) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/osmand", params={"id": keyless, **fix}).status_code == 401
        r = c.post("/osmand", json={"device_id": keyless, "location": {
            "timestamp": datetime.fromtimestamp(t + 5, tz=timezone.utc).isoformat(),
            "coords": {"latitude": -6.19, "longitude": 106.62}}})
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
        assert c.get("/osmand", params={"id": keyless, "key": key, **fix}).status_code == 403
        assert c.get("/osmand", params={"id": keyed, "key": key, **fix}).status_code == 200
        live = {f["id"] for f in c.get("/fleet/live").json()["features"]}
    assert vids[keyless] not in live and vids[keyed] in live
    assert _positions(db, keyless) == [] and len(_positions(db, keyed)) == 1
