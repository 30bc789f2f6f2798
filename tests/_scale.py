"""Real processes for the scale-out tests: PgBouncer in transaction mode, `satupeta serve --workers N`, and a
representative set of HTTP requests to run against each of them."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci
TILE = "/ogc/collections/kelurahan/tiles/WebMercatorQuad/12/3261/2118"


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    """Until something accepts connections on the port (or the process died)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit {proc.poll()})")
        time.sleep(0.2)


@contextlib.contextmanager
def pgbouncer(dsn: str, pool_size: int = 3) -> Iterator[str]:
    """A real PgBouncer (transaction mode, few server connections) in front of `dsn`; yields its dsn.

    As root it runs as the unprivileged `postgres` user (PgBouncer refuses root), from a folder that user reads.
    """
    url = make_url(dsn)
    folder = Path(tempfile.mkdtemp(prefix="satupeta-pgbouncer-", dir="/var/tmp"))
    port = free_port()
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{url.database} = host={url.host} port={url.port or 5432} dbname={url.database} "
        "connect_query='SET statement_timeout = 30000'\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/users.txt\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n"
        f"logfile = {folder}/pgbouncer.log\npidfile = {folder}/pgbouncer.pid\n")
    prefix: list[str] = []
    if os.geteuid() == 0:
        ent = pwd.getpwnam("postgres")
        for p in [folder, *folder.iterdir()]:
            os.chown(p, ent.pw_uid, ent.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    proc = subprocess.Popen([*prefix, exe, str(folder / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_port(port, proc, "pgbouncer", timeout=30)
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def served(env: dict[str, str], workers: int = 2) -> Iterator[tuple[str, int]]:
    """`satupeta serve --workers N` on a free port as a child process group; yields its URL and pid."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("SATUPETA_") and k != "DATABASE_URL"}
    # The scale-out workloads post fixes for keyless devices: tracker auth off explicitly (callers may override;
    # the default `required` is tested in test_fleet_ingest.py and test_trust_roles.py)
    full.update({"SATUPETA_LOG_LEVEL": "warning", "SATUPETA_FLEET_OSMAND_LISTEN": "false",
                 "SATUPETA_FLEET_TRACKER_AUTH": "off", **env})
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "serve", "--workers", str(workers),
                             "--port", str(port)], env=full, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port, proc, "satupeta serve")
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()  # uvicorn's supervisor stops its workers on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def register_device(db, prefix: str = "scale") -> str:
    """A vehicle and its GPS device, committed; returns the device's unique id (`prefix-` and 8 hex digits)."""
    from ingestion.fleet_registry import add_device, add_vehicle

    unique = f"{prefix}-{uuid.uuid4().hex[:8]}"
    vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
    add_device(db, unique, vid)
    db.commit()
    return unique


def exercise(client: httpx.Client, api_key: str, device: str, rounds: int = 7) -> dict[str, object]:
    """The representative set: health, geocoding, OGC items/filter/tiles, Open311 write and reads, OsmAnd
    ingest, fleet reads, a map page; each query `rounds` times (past psycopg's prepare threshold of 5).
    Returns the read answers that must not depend on which process or database served them."""
    answers: dict[str, object] = {}

    def get(path: str, **params) -> httpx.Response:
        r = client.get(path, params=params or None)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r

    for i in range(rounds):
        assert get("/health").json()["status"] in {"ok", "degraded"}
        answers["reverse"] = get("/geocode/reverse", lat="-6.17", lon="106.63").json()
        answers["search"] = get("/geocode/search", q="karawaci").json()
        answers["items"] = get("/ogc/collections/kelurahan/items", limit="5", offset=str(i)).json()["numberReturned"]
        answers["cql"] = get("/ogc/collections/kelurahan/items", filter="kec_nama = 'Cibodas' AND luas_km2 > 1",
                             limit="3").json()["numberMatched"]
        answers["tile"] = len(get(TILE).content)
        answers["services"] = get(f"{BASE}/services.json").json()
        r = client.post(f"{BASE}/requests.json", data={"api_key": api_key, "service_code": "sampah_menumpuk",
                                                        **POINT, "description": f"Sampah menumpuk {i}"})
        assert r.status_code == 200, r.text
        rid = r.json()[0]["service_request_id"]
        one = get(f"{BASE}/requests/{rid}.json").json()  # reading one's own write
        assert one[0]["service_request_id"] == rid and one[0]["description"].endswith(str(i))
        by_id = get(f"{BASE}/requests.json", service_request_id=rid).json()
        assert [x["service_request_id"] for x in by_id] == [rid]
        get(f"{BASE}/requests.json", service_code="sampah_menumpuk")
        fix = client.get("/osmand", params={"id": device, "lat": -6.1781 + i * 1e-4, "lon": 106.63,
                                            "timestamp": int(time.time()) - 600 + i * 30, "speed": 5})
        assert fix.status_code == 200, fix.text
        get("/fleet/live")
        get("/fleet/coverage")
    answers["map"] = "Peta" in get("/peta").text
    return answers
