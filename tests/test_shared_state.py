"""State shared through PostgreSQL: N processes answer as one (issue 13).

Fix filters whose state comes from the database per group commit: two writers (two pools, as two processes
have) receiving one device's fixes alternately flag them exactly as one writer does."""

from __future__ import annotations

import asyncio
import time
import uuid

from geo_api.db import open_pool
from ingestion import osmand
from ingestion.fix_filters import FixFilter
from ingestion.fleet_writer import GroupCommitWriter, filter_config
from tests._scale import register_device


def fix_sequence(t0: float) -> list[tuple[float, float, float]]:
    """A drive with a duplicate (the fix sent twice), a jump (33 km in 10 s) and a late fix."""
    return [
        (t0, -6.2000, 106.6000),
        (t0 + 10, -6.2005, 106.6003),
        (t0 + 10, -6.2005, 106.6003),      # duplicate of the previous one
        (t0 + 20, -6.5000, 106.6000),      # jump
        (t0 + 30, -6.2010, 106.6006),      # back on the road: good
        (t0 + 5, -6.2002, 106.6001),       # late (out of order): good, no jump test
        (t0 + 40, -6.2015, 106.6009),
        (t0 + 40, -6.2015, 106.6009),      # duplicate again
        (t0 + 50, -6.9000, 107.2000),      # jump
        (t0 + 60, -6.2020, 106.6012),
    ]


def expected_flags() -> list[str | None]:
    return [None, None, "duplicate", "jump", None, None, None, "duplicate", "jump", None]


async def _run(settings, device_id: int, unique: str, n_writers: int) -> list[str | None]:
    pools = [open_pool(settings, application_name=f"test-writer-{k}") for k in range(n_writers)]
    writers = []
    try:
        for p in pools:
            await p.open()
            writers.append(GroupCommitWriter(p, fix_filter=FixFilter(filter_config(settings)), writers=1))
        t0 = time.time() - 3600
        flags = []
        for k, (t, lat, lon) in enumerate(fix_sequence(t0)):
            # Each fix on its own batch, alternating writers (as a load balancer alternates processes).
            flags.append(await writers[k % n_writers].submit(device_id, osmand.Fix(unique, t, lat, lon)))
        return flags
    finally:
        for w in writers:
            await w.stop()
        for p in pools:
            await p.close()


def test_two_writers_flag_one_device_as_one_writer_does(settings, db):
    results = {}
    for n in (1, 2):
        unique = register_device(db, "shared")
        device_id = db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (unique,)).fetchone()["id"]
        results[n] = asyncio.run(_run(settings, device_id, unique, n))
        stored = db.execute("SELECT flag FROM fleet.position WHERE device_id = %s ORDER BY received_at, fix_time",
                            (device_id,)).fetchall()
        assert len(stored) == len(fix_sequence(0))
    assert results[1] == expected_flags()
    assert results[2] == results[1]


def test_concurrent_writers_on_one_device_never_accept_a_duplicate_twice(settings, db):
    """The same fix handed to two writers at once: the device lock makes one of them see the other's commit."""
    unique = register_device(db, "shared")
    device_id = db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (unique,)).fetchone()["id"]

    async def go():
        pools = [open_pool(settings, application_name=f"test-race-{k}") for k in range(2)]
        for p in pools:
            await p.open()
        writers = [GroupCommitWriter(p, fix_filter=FixFilter(filter_config(settings)), writers=1) for p in pools]
        try:
            t = time.time() - 100
            fixes = [osmand.Fix(unique, t + k, -6.2 + k * 1e-5, 106.6) for k in range(20)]
            return await asyncio.gather(*(w.submit(device_id, f) for f in fixes for w in writers))
        finally:
            for w in writers:
                await w.stop()
            for p in pools:
                await p.close()

    flags = asyncio.run(go())
    assert sorted(flags, key=str) == sorted([None] * 20 + ["duplicate"] * 20, key=str)


def test_change_listener_hears_notices_and_drops_everything_when_its_connection_is_lost(settings):
    """A notice reaches on_notice; a terminated LISTEN connection drops every cache and reconnects."""
    import psycopg

    from geo_api import notify

    heard: list[tuple[str, str | None]] = []
    resets: list[int] = []

    async def go():
        listener = notify.ChangeListener(settings, lambda t, k: heard.append((t, k)), lambda: resets.append(1),
                                         retry_s=0.05)
        listener.start()
        try:
            await asyncio.wait_for(listener.connected.wait(), 30)
            async with await psycopg.AsyncConnection.connect(settings.dsn, autocommit=True) as conn:
                await notify.notify(conn, "layer", "jalan_kota")
                try:
                    async with conn.transaction():  # a rolled-back write notifies nobody
                        await notify.notify(conn, "routing")
                        raise RuntimeError("write failed")
                except RuntimeError:
                    pass
                await notify.notify(conn, "streets")
                while len(heard) < 2:
                    await asyncio.sleep(0.01)
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = 'satupeta-listen' AND datname = current_database()")
            while len(resets) < 2:  # dropped on the loss, and again once listening anew
                await asyncio.sleep(0.01)
            await asyncio.wait_for(listener.connected.wait(), 30)
        finally:
            await listener.stop()

    asyncio.run(go())
    assert heard == [("layer", "jalan_kota"), ("streets", None)]
    assert resets == [1, 1]


def test_audited_actions_name_their_topic():
    from geo_api import notify

    assert notify.topic_for("key.revoke", "key:x") == "keys"
    assert notify.topic_for("layer.publish", "layer:jalan_kota") == "layer:jalan_kota"
    assert notify.topic_for("rule.change", "rule:3") == "routing"
    assert notify.topic_for("laporan.status", "laporan:9") is None
    assert notify.parse("layer:jalan_kota") == ("layer", "jalan_kota")


def test_live_and_both_backfill_paths_flag_the_same_input_alike(settings, db, tmp_path):
    """One specification: the live writer, import_fixes and import_csv_fast give each fix the same flag."""
    from ingestion.fleet_import import import_csv_fast, import_fixes, read_csv

    t0 = float(int(time.time()) - 7200)
    seq = fix_sequence(t0) + [(t0 + 70, 0.0, 0.0), (t0 + 99999, -6.2, 106.6), (t0 + 80, -6.2025, 106.6015)]
    cfg = filter_config(settings)

    def stored(unique):
        rows = db.execute("SELECT extract(epoch FROM p.fix_time)::float8 AS t, p.lat, p.lon, p.flag "
                          "FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id WHERE d.unique_id = %s",
                          (unique,)).fetchall()
        return sorted(((r["t"] - t0, r["lat"], r["lon"], r["flag"] or "") for r in rows))

    got = {}
    live = register_device(db, "shared")
    live_id = db.execute("SELECT id FROM fleet.device WHERE unique_id = %s", (live,)).fetchone()["id"]

    async def feed():
        pool = open_pool(settings, application_name="test-spec")
        await pool.open()
        w = GroupCommitWriter(pool, fix_filter=FixFilter(cfg), writers=1)
        try:
            return [await w.submit(live_id, osmand.Fix(live, t, la, lo)) for t, la, lo in seq]
        finally:
            await w.stop()
            await pool.close()

    now = time.time()
    live_flags = asyncio.run(feed())
    got["live"] = stored(live)
    for name in ("import_fixes", "import_csv_fast"):
        unique = register_device(db, "shared")
        path = tmp_path / f"{name}.csv"
        path.write_text("id,timestamp,lat,lon\n" + "".join(f"{unique},{t:.0f},{la!r},{lo!r}\n" for t, la, lo in seq))
        if name == "import_fixes":
            import_fixes(db, read_csv(path, None), config=cfg, now=now)
        else:
            import_csv_fast(db, path, None, config=cfg, now=now)
        got[name] = stored(unique)
    assert sorted(fl or "" for fl in live_flags) == sorted(f for *_, f in got["live"])
    assert {f for *_, f in got["live"]} == {"", "duplicate", "jump", "zero_coords", "future"}
    assert got["import_fixes"] == got["live"]
    assert got["import_csv_fast"] == got["live"]


def test_a_shared_bucket_made_per_request_still_prunes_its_refilled_rows(settings, db):
    """/lapor makes its SharedBuckets per request: its takes prune the prefix's refilled buckets (at most once a
    minute per process and prefix) and leave the ones still counting."""
    from geo_api.ratelimit import SharedBuckets
    from tests.conftest import run_async

    kind = f"uji-{uuid.uuid4().hex[:6]}"
    prefix = SharedBuckets(kind, 0.001, 2).prefix
    db.execute("INSERT INTO ratelimit_bucket (name, tokens, at, ok) VALUES (%s, 0, now() - interval '1 day', true)",
               (f"{prefix}:198.51.100.1",))  # refilled long ago: nothing to remember
    db.commit()

    async def takes(conn):
        return [await SharedBuckets(kind, 0.001, 2).take(conn, "198.51.100.2") for _ in range(3)]

    waits = run_async(settings, takes)
    assert waits[:2] == [None, None] and waits[2] is not None and waits[2] > 0
    names = [r["name"] for r in db.execute("SELECT name FROM ratelimit_bucket WHERE name LIKE %s ORDER BY name",
                                           (f"{prefix}:%",)).fetchall()]
    assert names == [f"{prefix}:198.51.100.2"]
