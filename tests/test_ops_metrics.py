"""GET /metrics (Prometheus text format), request ids (header, problem instance), JSON log lines."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from geo_api import apikeys
from geo_api.audit import Actor
from ingestion.fleet_registry import add_device, add_vehicle
from tests._http_raw import cli_process, wait_http
from tests.conftest import LiveServer, _free_port

ITEMS = "/ogc/collections/{cid}/items"
TESTER = Actor("cli", "test-ops-metrics")


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _scrape(client) -> dict:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return _samples(resp.text)


def test_requests_are_counted_per_route_template_not_raw_path(client):
    before = _scrape(client)
    for cid in ("kelurahan", "kecamatan"):
        assert client.get(f"/ogc/collections/{cid}/items", params={"limit": 1}).status_code == 200
    assert client.get("/no/such/path/" + uuid.uuid4().hex).status_code == 404
    text = client.get("/metrics").text
    after = _samples(text)
    key = dict(method="GET", route=ITEMS, status="200")
    assert _value(after, "satupeta_http_requests_total", **key) - _value(before, "satupeta_http_requests_total",
                                                                          **key) == 2
    assert _value(after, "satupeta_http_request_duration_seconds_count", method="GET", route=ITEMS) >= 2
    assert _value(after, "satupeta_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert "/ogc/collections/kelurahan" not in text and "/no/such/path" not in text  # bounded labels


def test_osmand_fixes_by_result_and_group_commits(client, db, settings):
    vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
    unique = f"met-{uuid.uuid4().hex[:8]}"
    add_device(db, unique, vid)
    db.commit()
    key, _ = apikeys.create(db, TESTER, f"met-{unique}", "tracker", device=unique)
    before = _scrape(client)
    now = int(time.time())
    ok = client.get("/osmand", params={"id": unique, "lat": "-6.17", "lon": "106.63", "timestamp": now, "key": key})
    assert ok.status_code == 200, ok.text
    bad = client.get("/osmand", params={"id": unique, "lat": "-6.17", "lon": "106.63", "speed": "1e39",
                                        "key": key})
    assert bad.status_code == 400
    unknown = client.get("/osmand", params={"id": f"nope-{uuid.uuid4().hex[:6]}", "lat": "-6.17", "lon": "106.63"})
    # tracker auth `required` (the default): a keyless fix is refused for its missing key before the device is
    # looked up, so an unknown device without a key is a 401, counted as unauthorized
    assert unknown.status_code == 401, unknown.text
    after = _scrape(client)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("satupeta_osmand_fixes_total", result="accepted", reason="") == 1
    assert delta("satupeta_osmand_fixes_total", result="rejected", reason="invalid") == 1
    assert delta("satupeta_osmand_fixes_total", result="rejected", reason="unauthorized") == 1
    assert delta("satupeta_osmand_fixes_total", result="rejected", reason="unknown_device") == 0
    assert delta("satupeta_fleet_commit_batch_fixes_count") >= 1 and delta("satupeta_fleet_commit_batch_fixes_sum") >= 1
    assert ("satupeta_fleet_queue_depth", ()) in after
    assert _value(after, "satupeta_http_requests_total", method="GET", route="/osmand", status="200") >= 1


def test_laporan_pool_and_cache_gauges(client, db):
    samples = _scrape(client)
    counts = {r["status"]: r["n"] for r in db.execute(
        "SELECT status, count(*) AS n FROM laporan GROUP BY status").fetchall()}
    kode = [r["kode"] for r in db.execute("SELECT kode FROM laporan_status_kode").fetchall()]
    for k in kode:
        assert _value(samples, "satupeta_laporan", status=k) == counts.get(k, 0)
    assert ("satupeta_laporan_overdue", ()) in samples
    assert _value(samples, "satupeta_db_pool_connections", pool="primary", state="max") >= 1
    # the tile cache: the same tile twice is one miss and one hit (sampled every 2 s, so poll for it)
    path = "/ogc/collections/kelurahan/tiles/WebMercatorQuad/12/3262/2119"
    deadline = time.monotonic() + 30
    base = _scrape(client)
    client.get(path)
    client.get(path)
    while True:
        now = _scrape(client)
        hits = _value(now, "satupeta_cache_requests_total", cache="tiles", result="hit") - \
            _value(base, "satupeta_cache_requests_total", cache="tiles", result="hit")
        if hits >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert hits >= 1
    assert _value(now, "satupeta_cache_requests_total", cache="catalog", result="hit") + \
        _value(now, "satupeta_cache_requests_total", cache="catalog", result="miss") >= 1


def test_metrics_need_an_admin_key_outside_the_open_networks(settings, db):
    admin, _ = apikeys.create(db, TESTER, f"met-admin-{uuid.uuid4().hex[:6]}", "gis_admin")
    citizen, _ = apikeys.create(db, TESTER, f"met-cit-{uuid.uuid4().hex[:6]}", "citizen_app")
    closed = settings.model_copy(update={"metrics_open_networks": ()})
    with LiveServer(closed) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"X-API-Key": citizen}).status_code == 403
        ok = c.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
        assert ok.status_code == 200 and "satupeta_http_requests_total" in ok.text
    # behind a trusted proxy: the client is the right-most untrusted hop; a forged leading hop does not open it
    proxied = settings.model_copy(update={"trusted_proxies": ("127.0.0.1/32",)})
    with LiveServer(proxied) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.5"}).status_code == 401
        assert c.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5", "X-API-Key": admin}).status_code == 200
        assert c.get("/metrics").status_code == 200  # the proxy's own scrape, no XFF: loopback
    # without trusted proxies a forged X-Forwarded-For changes nothing: the socket peer (loopback) is the client
    with LiveServer(settings) as server:
        assert httpx.get(server.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200


def test_request_id_in_header_and_problem_instance(client):
    resp = client.get("/no/such/thing")
    rid = resp.headers["x-request-id"]
    assert len(rid) >= 8 and resp.json()["instance"] == f"/no/such/thing#request={rid}"
    mine = "laksa-" + uuid.uuid4().hex[:12]
    resp = client.get("/ogc/collections/nope", headers={"X-Request-ID": mine})
    assert resp.status_code == 404 and resp.headers["x-request-id"] == mine
    assert resp.json()["instance"].endswith(f"#request={mine}")
    forged = client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert forged.headers["x-request-id"] != "bad id\twith spaces" and " " not in forged.headers["x-request-id"]
    # raw ASGI answers (OsmAnd fast path) carry it too
    osm = client.get("/osmand", params={"id": "x", "lat": "95", "lon": "1", "speed": "1e39"})
    assert osm.json()["instance"] == f"/osmand#request={osm.headers['x-request-id']}"


def test_serve_logs_json_lines_with_request_id_and_redacted_secrets(settings):
    port = _free_port()
    secret = uuid.uuid4().hex
    env = {"DATABASE_URL": settings.dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "false", "SATUPETA_LOG_LEVEL": "info"}
    mine = "logtest-" + uuid.uuid4().hex[:10]
    url = f"http://127.0.0.1:{port}"
    with cli_process(port, "serve", "--workers", "1", env=env) as served:
        wait_http(f"{url}/health/live", served["proc"])
        r = httpx.get(f"{url}/ogc/collections/kelurahan/items", params={"limit": 1},
                      headers={"X-Request-ID": mine})
        assert r.status_code == 200
        r = httpx.get(f"{url}/open311/v2/requests.json", params={"api_key": secret},
                      headers={"X-Request-ID": mine})
        assert r.status_code == 200
    out = served["out"]
    records = []
    for line in out.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    assert records, out[-2000:]
    mine_lines = [r for r in records if r.get("request_id") == mine]
    assert any(r.get("http", {}).get("route") == ITEMS and r["http"]["status"] == 200 for r in mine_lines), mine_lines
    assert any("api_key=***" in r["msg"] for r in mine_lines), mine_lines  # the access line, redacted
    assert secret not in out
    assert all({"ts", "level", "logger", "msg"} <= r.keys() for r in records)


@pytest.mark.slow
def test_two_workers_one_scrape_sums_both(settings):
    port = _free_port()
    env = {"DATABASE_URL": settings.dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "false", "SATUPETA_LOG_LEVEL": "warning"}
    url = f"http://127.0.0.1:{port}"
    with cli_process(port, "serve", "--workers", "2", env=env, capture=False) as served:
        wait_http(f"{url}/health/live", served["proc"], timeout=120)
        n = 40
        for _ in range(n):  # new connections: the kernel spreads them over both workers
            assert httpx.get(f"{url}/health/live", headers={"Connection": "close"}).status_code == 200
        seen = set()
        for _ in range(6):
            text = httpx.get(f"{url}/metrics", headers={"Connection": "close"}).text
            seen.add(_value(_samples(text), "satupeta_http_requests_total", method="GET", route="/health/live",
                            status="200"))
        # every scrape, whichever worker answered it, counts every request (>= n: the start-up polls too)
        assert len(seen) == 1 and seen.pop() >= n


def test_fleet_listen_logs_json_lines_too(settings):
    port = _free_port()
    env = {"DATABASE_URL": settings.dsn, "SATUPETA_LOG_LEVEL": "info", "SATUPETA_FLEET_TRACKER_AUTH": "off"}
    with cli_process(port, "fleet", "listen", env=env) as listener:
        r = wait_http(f"http://127.0.0.1:{port}/", listener["proc"], timeout=60,
                      id="nobody-" + uuid.uuid4().hex[:6], lat="-6.2", lon="106.6")
        # tracker auth off: the query form's answer for an unknown device is Traccar's 400 (404 is the JSON form's)
        assert r.status_code == 400, r.text
    out = listener["out"]
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    assert any(rec["logger"].startswith("uvicorn") for rec in lines), out[-2000:]
    assert not [ln for ln in out.splitlines() if ln.startswith("INFO:")], out[-2000:]  # no plain-text uvicorn lines
