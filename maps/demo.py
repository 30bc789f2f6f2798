"""Demo content for `make run`: SYNTHETIC laporan posted through the real Open311 endpoint (so the real routing
sends each to its OPD, with its reason) and some moved along by an OPD officer through /routing; the fleet
itself comes from the fleet engineer's simulator (`satupeta fleet simulate`)."""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger("satupeta.maps.demo")

OFFICER_KEY_FILE = Path(".demo_officer_key")
DESCRIPTIONS = ("Contoh (sintetis): {nama} perlu ditangani di sekitar sini.",
                "Contoh (sintetis): warga melaporkan masalah {nama} sejak kemarin.",
                "Contoh (sintetis): mohon dicek, {nama} mengganggu pengguna jalan.")


class DemoError(RuntimeError):
    """The demo could not be set up (server down, no demo key, ...); the message says what to do."""


def _request(url: str, *, data: dict[str, Any] | None = None, json_body: Any = None,
             headers: dict[str, str] | None = None, timeout: float = 30) -> Any:
    body, hdrs = None, dict(headers or {})
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=hdrs, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (our own server, http only)
        return json.loads(resp.read() or b"null")


def wait_for_server(url: str, timeout_s: float = 120) -> None:
    """Poll /health until the server answers (make run starts it in the same breath)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _request(f"{url}/health", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise DemoError(f"no server answered at {url}/health within {timeout_s:.0f} s") from None
            time.sleep(1)


def officer_key(conn: psycopg.Connection, key_file: Path = OFFICER_KEY_FILE) -> str:
    """A local opd_officer API key for every OPD (the demo moves any laporan), kept in a 0600 file and reused;
    created by the CLI user, audited."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from sql import query

    old = key_file.read_text().strip() if key_file.is_file() else ""
    row = old and conn.execute(query("layers_api_key_lookup"), {"key_hash": apikeys.key_hash(old)}).fetchone()
    conn.commit()
    if row and row["semua_opd"]:
        return old
    key, _ = apikeys.create(conn, Actor.cli(), f"peta-demo-{random.randrange(16**6):06x}", "opd_officer",
                            semua_opd=True)
    conn.commit()
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def _points(conn: psycopg.Connection, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Points around kelurahan centres, one in twenty just over the border (hand-offs to neighbours)."""
    inside = conn.execute("SELECT ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon "
                          "FROM kelurahan").fetchall()
    outside = conn.execute("SELECT ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon "
                           "FROM tetangga_desa_kelurahan").fetchall() or inside
    out = []
    for i in range(n):
        k = rng.choice(outside if i % 20 == 19 else inside)
        out.append((k["lat"] + rng.gauss(0, 0.002), k["lon"] + rng.gauss(0, 0.002)))
    return out


def post_laporan(conn: psycopg.Connection, url: str, citizen_key: str, officer: str, n: int,
                 seed: int = 8) -> dict[str, int]:
    """Post n SYNTHETIC laporan via Open311; an officer then moves some to in_progress and closed."""
    rng = random.Random(seed)
    services = _request(f"{url}/open311/v2/services.json")
    if not services:
        raise DemoError("the Open311 service list is empty: run `satupeta routing demo` (make db does)")
    ids, failed = [], 0
    for lat, lon in _points(conn, n, rng):
        svc = rng.choice(services)
        form = {"api_key": citizen_key, "service_code": svc["service_code"], "lat": f"{lat:.6f}",
                "long": f"{lon:.6f}", "description": rng.choice(DESCRIPTIONS).format(nama=svc["service_name"])}
        try:
            ids.append(int(_request(f"{url}/open311/v2/requests.json", data=form)[0]["service_request_id"]))
        except urllib.error.HTTPError as exc:  # a point the city does not accept: skip it, keep going
            failed += 1
            log.info("laporan not accepted (%s): %s", exc.code, exc.read()[:200])
    moved = {"in_progress": 0, "closed": 0}
    headers = {"X-API-Key": officer}
    for lid in ids:
        roll = rng.random()
        if roll < 0.55:
            continue
        _request(f"{url}/routing/laporan/{lid}/status", json_body={"status": "in_progress",
                 "catatan": "Sedang ditangani (contoh)."}, headers=headers)
        moved["in_progress"] += 1
        if roll > 0.7:
            _request(f"{url}/routing/laporan/{lid}/status", json_body={"status": "closed",
                     "catatan": "Selesai ditangani (contoh)."}, headers=headers)
            moved["closed"] += 1
            moved["in_progress"] -= 1
    return {"posted": len(ids), "rejected": failed, **moved}
