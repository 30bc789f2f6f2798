"""Scale-out: the same mixed load against `satupeta serve --workers 1` and `--workers N`, same run, same machine.

Workloads (each at --connections concurrent connections for --duration seconds, after a short warm-up):
reverse geocoding at random points of the city, OGC items pages, vector tiles, Open311 reads, all four
interleaved, and OsmAnd ingest (a new fix per request, from 64 devices). The load generator is `wrk`
(compiled, Debian package `wrk`) with ONE thread (-t1), so it takes at most one of the machine's cores
away from the server and the same share in both runs; its Lua scripts are written next to the run.
Both servers run side by side for the whole run (the idle one costs nothing) and each workload is measured
A-B-B-A (1, N, N, 1 workers, half the time each): the machine is shared, and load from elsewhere that comes
and goes then falls on both alike. Figures are the mean of the two halves.
Afterwards every read URL is fetched once from each server and the answers compared (links carry the
server's own address and are normalised): no answer may differ between 1 and N workers.

Everything runs on a scratch database on the configured server (migrated, bundled data, OPD catalogue).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from psycopg.rows import dict_row

from bench._common import console, report, scratch_database
from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect, migrate
from geo_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEVICES = 64

READ_LUA = r"""
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""

INGEST_LUA = r"""
local n = 0
local devices, base, prefix
init = function(args)
  devices = tonumber(args[1]); base = tonumber(args[2]); prefix = args[3]
end
request = function()
  n = n + 1
  local d = n % devices
  local k = math.floor(n / devices)
  return wrk.format("GET", string.format(
    "/osmand?id=%s-%04d&lat=%.6f&lon=%.6f&timestamp=%d&speed=5",
    prefix, d, -6.18 + (k % 500) * 1e-5, 106.60 + d * 1e-3, base + k))
end
"""

DONE_LUA = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
bad = ""
response = function(status, headers, body)
  if status >= 300 and #bad < 600 then
    bad = bad .. status .. " " .. (string.match(body, '"detail":"([^"]*)"') or string.sub(body, 1, 80)) .. "; "
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local seen = ""
  for _, t in ipairs(threads) do seen = seen .. (t:get("bad") or "") end
  io.write(string.format(
    '\nRESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
  io.write("BAD " .. seen .. "\n")
end
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def read_sets(rng: random.Random, report_ids: list[str], codes: list[str]) -> dict[str, list[str]]:
    """The URLs of each read workload (deterministic for a seed)."""
    reverse = [f"/geocode/reverse?lat={rng.uniform(-6.29, -6.13):.5f}&lon={rng.uniform(106.57, 106.72):.5f}"
               for _ in range(500)]
    items = [f"/ogc/collections/{c}/items?limit=10&offset={o}" for c in ("kelurahan", "poi", "gazetteer")
             for o in range(0, 100, 10)]
    items += [f"/ogc/collections/poi/items?limit=20&bbox={x:.3f},{y:.3f},{x + 0.03:.3f},{y + 0.03:.3f}"
              for x, y in ((rng.uniform(106.57, 106.70), rng.uniform(-6.28, -6.15)) for _ in range(30))]
    tiles = []
    for z in (12, 13, 14):
        x0, y0 = _tile(106.57, -6.13, z)
        x1, y1 = _tile(106.72, -6.29, z)
        tiles += [f"/ogc/collections/kelurahan/tiles/WebMercatorQuad/{z}/{x}/{y}"
                  for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    open311 = [f"/open311/v2/requests/{rid}.json" for rid in report_ids]
    open311 += [f"/open311/v2/requests.json?service_code={c}" for c in codes]
    mixed = [p for group in zip(reverse, items * 20, tiles * 20, open311 * 20, strict=False) for p in group]
    return {"reverse": reverse, "items": items, "tiles": tiles, "open311": open311, "mixed": mixed}


def prepare(s: Settings, prefixes: list[str]) -> str:
    """Schema, bundled data, OPD catalogue, a citizen_app key, and DEVICES GPS devices per run prefix."""
    from geo_api import catalogue
    from ingestion.bundled import load_bundled

    migrate(s)
    with connect(s) as conn:
        load_bundled(conn, s.data_dir)

    async def setup():
        async with await psycopg.AsyncConnection.connect(s.dsn, row_factory=dict_row, autocommit=True) as conn:
            await catalogue.setup(conn, s)

    asyncio.run(setup())
    key = new_key()
    with connect(s) as conn:
        conn.execute("INSERT INTO api_key (name, role, key_hash) VALUES ('bench-scale', 'citizen_app', %s)",
                     (key_hash(key),))
        for prefix in prefixes:
            for i in range(DEVICES):
                vid = conn.execute("INSERT INTO fleet.vehicle (plat_nomor, jenis) VALUES (%s, 'compactor') "
                                   "RETURNING id", (f"B {prefix[-1]}{i:03d} SC",)).fetchone()["id"]
                conn.execute("INSERT INTO fleet.device (unique_id, vehicle_id) VALUES (%s, %s)",
                             (f"{prefix}-{i:04d}", vid))
        conn.commit()
    return key


@contextlib.contextmanager
def served(s: Settings, workers: int):
    """`satupeta serve --workers N` on a free port (write limits off: all load comes from one address)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATUPETA_")}
    env.update(DATABASE_URL=s.dsn, SATUPETA_LOG_LEVEL="warning", SATUPETA_RATELIMIT_ENABLED="false",
               SATUPETA_FLEET_DEVICE_RATE="100000", SATUPETA_FLEET_DEVICE_BURST="100000",
               SATUPETA_POOL_MAX_SIZE="16", SATUPETA_FLEET_OSMAND_LISTEN="false",
               SATUPETA_FLEET_TRACKER_AUTH="off")  # keyless bench devices: tracker auth off, explicitly
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "serve", "--workers", str(workers),
                             "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"satupeta serve --workers {workers} did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def wrk(url: str, script: Path, args: list[str], connections: int, duration: float) -> dict:
    """One wrk run (one thread); its summary from the script's done()."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(script), url,
           "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    res = json.loads(line[len("RESULT "):])
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    res["bad"] = next((x[4:] for x in out.splitlines() if x.startswith("BAD ")), "").strip()
    return res


def _normalise(body: bytes, url: str, kind: str) -> str:
    if kind == "tiles":  # a tile's answer is its features (id, attributes, geometry), not their order in the bytes
        import mapbox_vector_tile

        layers = mapbox_vector_tile.decode(body) if body else {}
        feats = sorted(json.dumps([name, f.get("id"), f["properties"], f["geometry"]], sort_keys=True)
                       for name, layer in layers.items() for f in layer["features"])
        return f"{len(body)} bytes, {len(feats)} features " + hashlib.sha256("\n".join(feats).encode()).hexdigest()
    text = body.decode().replace(url, "")
    return re.sub(r'"timeStamp":"[^"]*"', "", text)


def answers(url: str, sets: dict[str, list[str]]) -> dict[str, str]:
    """Every read URL's answer (status and normalised body)."""
    got = {}
    with httpx.Client(base_url=url, timeout=30) as c:
        for kind in ("reverse", "items", "tiles", "open311"):
            for path in sets[kind]:
                r = c.get(path)
                got[path] = f"{r.status_code} {_normalise(r.content, url, kind)}"
    return got


def post_reports(url: str, key: str, codes: list[str], n: int, rng: random.Random) -> list[str]:
    """SYNTHETIC laporan through the real Open311 intake, so the Open311 reads have something to read."""
    ids = []
    with httpx.Client(base_url=url, timeout=30) as c:
        for i in range(n):
            r = c.post("/open311/v2/requests.json", data={
                "api_key": key, "service_code": codes[i % len(codes)], "description": f"SINTETIS bench {i}",
                "lat": f"{rng.uniform(-6.25, -6.15):.5f}", "long": f"{rng.uniform(106.60, 106.70):.5f}"})
            r.raise_for_status()
            ids.append(r.json()[0]["service_request_id"])
    return ids


def warm(url: str, scripts: dict, folder: Path, connections: int) -> None:
    """Until every worker has built its indexes and caches: the reads once over, then until p99 settles."""
    for kind in ("reverse", "items", "tiles", "open311"):
        wrk(url, scripts["read"], [str(folder / f"{kind}.txt")], connections, 3)
    for _ in range(5):
        if wrk(url, scripts["read"], [str(folder / "mixed.txt")], connections, 2)["p99_us"] < 500_000:
            break


def _mean(a: dict, b: dict) -> dict:
    out = {k: (a[k] + b[k]) / 2 for k in ("rps", "p50_us", "p99_us")}
    out.update({k: a[k] + b[k] for k in ("requests", "status_errors", "socket_errors")})
    out["bad"] = (a["bad"] + " " + b["bad"]).strip()
    return out


def load(urls: dict[int, str], scripts: dict, folder: Path, connections: int,
         duration: float) -> dict[int, dict[str, dict]]:
    """Every workload against both servers in A-B-B-A order (half the time each), so a change in the
    machine's other load during the run falls on both alike; figures are the mean of the two halves."""
    (one, url1), (n, url_n) = sorted(urls.items())
    for url in (url1, url_n):
        warm(url, scripts, folder, connections)
    results: dict[int, dict[str, dict]] = {one: {}, n: {}}
    base = int(time.time()) - 2 * 86400
    for kind in ("reverse", "items", "tiles", "open311", "mixed", "osmand"):
        halves: dict[int, list[dict]] = {one: [], n: []}
        for step, w in enumerate((one, n, n, one)):
            if kind == "osmand":  # a fresh time range per half: every fix is new, never a duplicate
                args = [str(DEVICES), str(base + step * 20_000), f"scale{w}"]
                res = wrk(urls[w], scripts["ingest"], args, connections, duration / 2)
            else:
                res = wrk(urls[w], scripts["read"], [str(folder / f"{kind}.txt")], connections, duration / 2)
            halves[w].append(res)
        for w in (one, n):
            results[w][kind] = _mean(*halves[w])
        console.print(f"  {kind}: 1 worker {results[one][kind]['rps']:,.0f} req/s, {n} workers "
                      f"{results[n][kind]['rps']:,.0f} req/s")
    return results


def run(argv: list[str]) -> int:
    """Measure 1 worker against N workers under the same load; compare their answers."""
    ap = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=0, help="N (0: one per usable core)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per workload and server")
    ap.add_argument("--reports", type=int, default=60, help="SYNTHETIC laporan posted before the runs")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        console.print("wrk is not installed: `apt-get install wrk` (or `make bench-scale`, which installs it)")
        return 2
    cores = len(os.sched_getaffinity(0))
    n = args.workers or cores
    if n < 2:
        console.print(f"N workers must be at least 2 (this machine has {cores} usable core(s)); pass --workers 2")
        return 2
    rng = random.Random(13)
    with scratch_database(Settings(), prefix="satupeta_bench_scale") as s, \
            tempfile.TemporaryDirectory(prefix="satupeta-scale-") as tmp:
        folder = Path(tmp)
        console.print("preparing the scratch database (schema, bundled data, catalogue, devices)")
        key = prepare(s, ["scale1", f"scale{n}"])
        with connect(s) as conn:
            codes = [r["kode"] for r in conn.execute(
                "SELECT kode FROM layanan WHERE aktif AND jsonb_array_length(atribut) = 0 ORDER BY kode LIMIT 8")]
        # Both servers run from the start (the idle one costs no CPU): same code, same data, answers side by side.
        with served(s, 1) as url1, served(s, n) as url_n:
            ids = post_reports(url1, key, codes, args.reports, rng)
            sets = read_sets(rng, ids, codes)
            for kind, paths in sets.items():
                (folder / f"{kind}.txt").write_text("\n".join(paths) + "\n")
            scripts = {"read": folder / "read.lua", "ingest": folder / "ingest.lua"}
            scripts["read"].write_text(READ_LUA + DONE_LUA)
            scripts["ingest"].write_text(INGEST_LUA + DONE_LUA)
            console.print(f"{cores} usable core(s); wrk -t1 -c{args.connections}, {args.duration:g} s per "
                          "workload; wrk shares the cores with the server in both runs")
            both = load({1: url1, n: url_n}, scripts, folder, args.connections, args.duration)
            one, many = both[1], both[n]
            got1, got_n = answers(url1, sets), answers(url_n, sets)
    rows = []
    for kind in ("reverse", "items", "tiles", "open311", "mixed", "osmand"):
        a, b = many[kind], one[kind]
        rows.append((f"{kind} req/s", a["rps"], b["rps"], "req/s"))
        rows.append((f"{kind} p50", a["p50_us"] / 1e6, b["p50_us"] / 1e6, "s"))
        rows.append((f"{kind} p99", a["p99_us"] / 1e6, b["p99_us"] / 1e6, "s"))
    report(f"{n} workers (satupeta) against 1 worker (peer), {args.connections} connections, wrk -t1 on the "
           f"same {cores} cores", rows, peer="1 worker")
    errors = {f"{w} worker(s) {k}": f"{r['status_errors']} non-2xx, {r['socket_errors']} socket; {r['bad']}"
              for w, res in (("1", one), (str(n), many)) for k, r in res.items()
              if r["status_errors"] + r["socket_errors"]}
    differ = [p for p in got1 if got1[p] != got_n.get(p)]
    console.print(f"answers compared: {len(got1)}; differing between 1 and {n} workers: {len(differ)}")
    for p in differ[:3]:
        console.print(f"  {p}\n    1 worker:  {got1[p][:160]}\n    {n} workers: {got_n.get(p, '')[:160]}")
    console.print(f"non-2xx or socket errors: {errors or 'none'}")
    return 1 if differ else 0
