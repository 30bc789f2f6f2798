"""The HTTP edge (geo_api/edge.py) over real sockets: slow clients hold no pooled connection, every body is
capped before it is parsed, X-Forwarded-For only from configured proxies, CORS, redacted access logs, quiet
client disconnects, validation problems naming the parameter."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import httpx
import pytest

from tests._http_raw import chunked_until_answer, cli_process, response, wait_http
from tests.conftest import LiveServer, _free_port
from tests.test_trust_roles import BASE, POINT, _citizen

MULTIPART_HEAD = (b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=zzz\r\nContent-Length: 1000\r\n\r\n")


@pytest.fixture(scope="module")
def edge_server(settings, katalog):
    """A server with a two-connection pool, a short body deadline, one trusted proxy network (10.9.0.0/16,
    never the test's own loopback), write origins configured and a tight per-address write limit."""
    s = settings.model_copy(update={
        "pool_min_size": 1, "pool_max_size": 2, "http_body_timeout_s": 3.0,
        "cors_write_origins": ("https://satudata.tangerangkota.go.id",), "trusted_proxies": ("10.9.0.0/16",),
        "ratelimit_address_burst": 5, "ratelimit_address_per_s": 0.01, "geocode_batch_concurrency": 1})
    with LiveServer(s) as server:
        yield server


@pytest.fixture()
def edge(edge_server):
    with httpx.Client(base_url=edge_server.url, timeout=30) as c:
        yield c


def _wait_connections(server: LiveServer, n: int) -> None:
    """Synchronise on the server's own state: n connections open."""
    deadline = time.monotonic() + 20
    while len(server.server.server_state.connections) < n:
        assert time.monotonic() < deadline, "the server did not see the connections"
        time.sleep(0.02)


def test_slow_bodies_take_no_pooled_connection(edge_server, edge, db):
    before = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    slow = [socket.create_connection(("127.0.0.1", edge_server.port)) for _ in range(10)]
    try:
        for s in slow:
            s.sendall(MULTIPART_HEAD + b"--zzz\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n")
        _wait_connections(edge_server, 10)
        for s in slow:  # still trickling
            s.sendall(b"a")
        # ten clients mid-body on a pool of two: the pool is untouched, /health answers
        for _ in range(5):
            assert edge.get("/health").status_code == 200
        assert edge.get(f"{BASE}/services.json").status_code == 200
        # the body deadline ends each of them with 408 (the server's answer, not the test's clock)
        for s in slow:
            assert response(s).startswith(b"HTTP/1.1 408")
    finally:
        for s in slow:
            s.close()
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == before


def test_chunked_bodies_are_capped_before_parsing(edge_server, edge, db):
    before = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    head = (b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n")
    answer, sent = chunked_until_answer(edge_server.port, head, 40 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 40 * 1024 * 1024
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == before
    # JSON for /routing/explain: the default cap, chunked or declared, problem+json naming the limit
    answer, _ = chunked_until_answer(edge_server.port, b"POST /routing/explain HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Type: application/json\r\n", 30 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413")
    r = edge.post("/routing/explain", content=b"[" + b"1," * 1_000_000 + b"1]",
                  headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["limit"] == 1024 * 1024 and r.json()["parameter"] == "body"
    # an upload route has its own, larger limit
    ok = edge.post("/geocode/reverse/batch", content=b"lat,lon\n" + b"-6.18994,106.62483\n" * 80_000,
                   headers={"content-type": "text/csv"})
    assert ok.status_code == 200, ok.text[:300]


CSW_POST = b"POST /csw HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
GET_CAPABILITIES = b'<csw:GetCapabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW"/>'


def test_csw_post_bodies_past_the_limit_or_never_ending_are_refused(edge_server, edge):
    """POST /csw: a chunked body past the default cap is a 413 before any XML is parsed, one that starts and
    never ends is the server's 408 at the body deadline; meanwhile and after, the catalogue answers."""
    answer, sent = chunked_until_answer(edge_server.port, CSW_POST, 64 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer and sent < 64 * 1024 * 1024
    slow = socket.create_connection(("127.0.0.1", edge_server.port))
    try:
        part = GET_CAPABILITIES[:30]
        slow.sendall(CSW_POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(part) + part + b"\r\n")
        _wait_connections(edge_server, 1)
        # while it hangs: the catalogue answers, through KVP and through a whole XML POST
        r = edge.get("/csw", params={"service": "CSW", "request": "GetCapabilities"})
        assert r.status_code == 200 and b"Capabilities" in r.content
        r = edge.post("/csw", content=GET_CAPABILITIES, headers={"Content-Type": "application/xml"})
        assert r.status_code == 200 and b"Capabilities" in r.content, r.text[:300]
        answer = response(slow)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"application/problem+json" in answer
    finally:
        slow.close()
    assert edge.get("/health").status_code == 200


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
                     for i in range(1, 10))
          + b']><csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">'
          b'&lol9;</csw:GetRecords>')


def test_csw_post_refuses_entities_in_any_encoding_and_fetches_nothing(client):
    """XXE (a local file; in UTF-16, past a byte search for DOCTYPE), a nine-level billion laughs and an external
    DTD on this machine: each is the OWS exception NoApplicableCode, nothing expanded, and the DTD's listener
    is never connected to. (The plain UTF-8 XXE is in test_katalog_csw.py.)"""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(4)
    trap.setblocking(False)
    port = trap.getsockname()[1]
    xxe = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">&x;'
           '</csw:GetRecords>').encode("utf-16")
    external = (f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/jahat.dtd">'
                '<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">'
                '&x;</csw:GetRecords>').encode()
    try:
        for body in (xxe, LAUGHS, external):
            r = client.post("/csw", content=body, headers={"Content-Type": "application/xml"})
            assert r.status_code == 400, r.text[:300]
            assert b"NoApplicableCode" in r.content and b"root:" not in r.content and b"lollol" not in r.content
            assert len(r.content) < 4096
        with pytest.raises(BlockingIOError):
            trap.accept()  # nobody came for the DTD
    finally:
        trap.close()
    assert client.get("/csw", params={"service": "CSW", "request": "GetCapabilities"}).status_code == 200


def test_batch_geocoding_is_gated(edge_server, edge):
    app = edge_server.server.config.app
    held = asyncio.Semaphore(1)
    held._value = 0  # noqa: SLF001 — the gate as another batch holds it
    gate = app.state.services.geocoder.batch_gate
    app.state.services.geocoder.batch_gate = held
    try:
        r = edge.post("/geocode/reverse/batch", content=b"lat,lon\n-6.18994,106.62483\n",
                      headers={"content-type": "text/csv"})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.headers["content-type"] == "application/problem+json"
    finally:
        app.state.services.geocoder.batch_gate = gate
    r = edge.post("/geocode/reverse/batch", content=b"lat,lon\n-6.18994,106.62483\n",
                  headers={"content-type": "text/csv"})
    assert r.status_code == 200


def test_forwarded_for_is_ignored_from_an_untrusted_peer(edge_server, db):
    citizen = _citizen(db)
    with httpx.Client(base_url=edge_server.url, timeout=30) as c:
        r = c.post(f"{BASE}/requests.json", headers={"X-Forwarded-For": "203.0.113.7"},
                   data={"api_key": citizen, "service_code": "sampah_menumpuk", **POINT, "description": "xff"})
        assert r.status_code == 200, r.text
        lid = r.json()[0]["service_request_id"]
        [row] = db.execute("SELECT alamat FROM audit_log WHERE objek = %s", (f"laporan:{lid}",)).fetchall()
        assert row["alamat"] == "127.0.0.1"
        # rotating the header does not give a fresh bucket: the per-address limit (burst 5) holds
        codes = [c.post("/routing/explain", headers={"X-Forwarded-For": f"198.51.100.{i}"},
                        json={"category": "banjir", "lat": -6.18, "lon": 106.63}).status_code for i in range(12)]
        assert 429 in codes and codes[-1] == 429


def test_forwarded_for_from_a_trusted_proxy(settings, katalog, db):
    citizen = _citizen(db)
    s = settings.model_copy(update={"trusted_proxies": ("127.0.0.1",)})
    with LiveServer(s) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post(f"{BASE}/requests.json", headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.1"},
                   data={"api_key": citizen, "service_code": "sampah_menumpuk", **POINT, "description": "xff"})
        assert r.status_code == 200, r.text
        lid = r.json()[0]["service_request_id"]
    [row] = db.execute("SELECT alamat FROM audit_log WHERE objek = %s", (f"laporan:{lid}",)).fetchall()
    assert row["alamat"] == "203.0.113.9"


def test_cors_reads_from_anywhere_writes_from_configured(edge):
    other = {"Origin": "https://aplikasi-lain.example"}
    for path in ("/ogc/collections", "/ogc/collections/kelurahan/items?limit=1", f"{BASE}/services.json",
                 "/geocode/reverse?lat=-6.18994&lon=106.62483", "/fleet/live"):
        r = edge.get(path, headers=other)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["access-control-allow-origin"] == "*", path
    pre = edge.options("/ogc/collections", headers={**other, "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "x-api-key"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == other["Origin"]
    assert "X-API-Key" in pre.headers["access-control-allow-headers"]
    # writes: preflight and request refused from an unconfigured origin, allowed from the configured one
    pre = edge.options(f"{BASE}/requests.json", headers={**other, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    r = edge.post("/routing/explain", headers=other, json={"category": "banjir", "lat": -6.18, "lon": 106.63})
    assert r.status_code == 403 and r.json()["parameter"] == "Origin"
    portal = {"Origin": "https://satudata.tangerangkota.go.id"}
    pre = edge.options(f"{BASE}/requests.json", headers={**portal, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == portal["Origin"]
    assert "POST" in pre.headers["access-control-allow-methods"]


def test_validation_problems_name_the_parameter(client):
    r = client.get("/geocode/search", params={"q": "karawaci", "limit": 0})
    assert r.status_code == 422 and r.json()["parameter"] == "limit"
    r = client.post("/routing/explain", json={"category": "banjir", "lat": 95, "lon": 106.63})
    assert r.status_code == 422 and r.json()["parameter"] == "lat"


def test_access_log_redacted_and_disconnect_quiet(settings, katalog, db):
    """A real `satupeta serve` process: its access log has no key or personal value, and a client that
    leaves mid-body is one quiet line, no traceback."""
    secret, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": settings.dsn, "SATUPETA_LOG_LEVEL": "info", "SATUPETA_FLEET_OSMAND_LISTEN": "false"}
    with cli_process(port, "serve", env=env) as served:
        assert wait_http(f"{url}/health", served["proc"], timeout=60).status_code == 200
        httpx.get(f"{url}{BASE}/requests.json", params={"api_key": secret, "email": f"a{tag}@contoh.id",
                                                          "phone": f"0812{tag}", "first_name": f"N{tag}"})
        httpx.get(f"{url}/osmand", params={"id": f"dev{tag}", "lat": "-6.2", "lon": "106.6", "key": secret})
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(MULTIPART_HEAD + b"--zzz\r\n")
        s.close()
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    out = served["out"]
    assert "api_key=***" in out and "key=***" in out, out[-2000:]
    assert secret not in out and tag not in out.replace(f"dev{tag}", "")
    assert "Traceback" not in out and "unhandled" not in out.lower()
