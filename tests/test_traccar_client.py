"""A real Traccar Client request, byte for byte, and the `satupeta fleet listen` command that receives it.

The request is the one traccar-client-android builds (app/src/main/java/org/traccar/client/ProtocolFormatter.kt:
`id, timestamp (s), lat, lon, speed (knots), bearing, altitude, accuracy, batt` appended in that order with
Kotlin's Double.toString, then `mock=true` for a mock location) and sends with HttpURLConnection
(RequestManager.kt: POST, no body) to the server URL, which is Traccar's port 5055 at "/"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import _free_port
from tests.test_fleet_ingest import _positions, _register
from tests.test_trust_roles import make_key


@pytest.fixture(scope="module")
def live_server(settings):
    """This module's server, with the default tracker auth (`required`) and tracker keys re-read on every fix
    (the session server caches them for 10 s), so a key made by a test is seen at once."""
    from tests.conftest import LiveServer

    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0})) as server:
        yield server


def _traccar_request(unique: str, t: int, path: str = "/", key: str = "") -> bytes:
    """The request line and headers Android's HttpURLConnection sends for RequestManager.sendRequest; the
    tracker key rides in the server URL (`http://host:5055/?key=sp_...`), so it comes first."""
    query = (f"key={key}&" if key else "") + (
        f"id={unique}&timestamp={t}&lat=-6.1786134&lon=106.6300482&speed=10.691142&bearing=87.0"
        f"&altitude=21.5&accuracy=12.0&batt=64.0&mock=true")
    return (f"POST {path}?{query} HTTP/1.1\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 13; SM-A146P "
            f"Build/TP1A.220624.014)\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def _send(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
                       if line.startswith(b"content-length:")), 0)
        while len(body) < length:  # the body may arrive in a later segment than the headers
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
            answer += chunk
    return answer


def _check_stored(db, unique: str, t: int) -> None:
    [row] = _positions(db, unique)
    assert row["t"] == t and row["lat"] == -6.1786134 and row["lon"] == 106.6300482
    assert abs(row["speed_kn"] - 10.691142) < 1e-4  # knots, as the client sends them (Traccar's OsmAnd unit)
    assert row["course"] == 87 and row["altitude"] == 21.5 and row["accuracy"] == 12 and row["batt"] == 64
    assert row["attributes"].get("mock") in (True, "true"), row["attributes"]


def test_traccar_client_request_on_the_main_port(db, live_server):
    unique = _register(db, "traccar")
    _, key = make_key(db, "tracker", device=unique)
    t = int(time.time()) - 120
    answer = _send(live_server.port, _traccar_request(unique, t, "/osmand", key))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    _check_stored(db, unique, t)


def test_fleet_listen_command_receives_traccar_client(db, settings):
    """`satupeta fleet listen --port P` serves the OsmAnd protocol at any path, as Traccar's port 5055."""
    unique = _register(db, "listen")
    _, key = make_key(db, "tracker", device=unique)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "fleet", "listen", "--port", str(port),
                             "--host", "127.0.0.1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # readiness only: the command must come up listening
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "fleet listen never listened"
                time.sleep(0.2)
        t = int(time.time()) - 60
        answer = _send(port, _traccar_request(unique, t, key=key))
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        _check_stored(db, unique, t)
        # a value out of range is a 400 naming the parameter, as on /osmand, and stores nothing
        bad = _send(port, _traccar_request(unique, t + 30, key=key).replace(b"speed=10.691142", b"speed=1e39"))
        assert bad.startswith(b"HTTP/1.1 400") and b'"parameter":"speed"' in bad, bad[:400]
        assert len(_positions(db, unique)) == 1
        # impossible coordinates are stored but flagged out of analysis, as Traccar keeps them (fix_filters)
        odd = _send(port, _traccar_request(unique, t + 40, key=key).replace(b"lat=-6.1786134", b"lat=95"))
        assert odd.startswith(b"HTTP/1.1 200"), odd[:300]
        assert [p["flag"] for p in _positions(db, unique)] == [None, "invalid_coords"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
