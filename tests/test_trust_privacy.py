"""Personal data never public, and hostile input: a report with unique markers in every personal field is
looked for in every public response; injection strings, traversal, oversized bodies and slow clients get a
clear 4xx and write nothing."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from urllib.parse import quote

import pytest

from tests.test_trust_roles import BASE, _citizen, post_laporan

INJECTIONS = ["'; DROP TABLE laporan; --", "1 OR 1=1", "\" OR \"\"=\"", "kelurahan\"; DELETE FROM api_key; --",
              "x') UNION SELECT key_hash FROM api_key --", "$$; DROP TABLE audit_log; $$", "\x00", "../../etc/passwd"]


@pytest.fixture()
def marked(client, db, katalog):
    """A laporan whose name, phone, email, free-text address and device/account ids carry unique markers."""
    tag = uuid.uuid4().hex[:10]
    markers = {"first_name": f"Nama{tag}", "last_name": f"Keluarga{tag}", "phone": f"0812{int(tag, 16) % 10**8:08d}",
               "email": f"pelapor{tag}@contoh.id", "address_string": f"Jalan Rahasia{tag} No. 7",
               "device_id": f"hp{tag}", "account_id": f"akun{tag}"}
    r = post_laporan(client, _citizen(db), **markers)
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"], markers


def _public_pages(client, lid: str) -> list[str]:
    paths = [f"{BASE}/requests.json", f"{BASE}/requests.xml", f"{BASE}/requests/{lid}.json",
             f"{BASE}/requests/{lid}.xml", f"{BASE}/requests.json?service_request_id={lid}",
             "/peta/laporan", "/peta/laporan/titik.json?bbox=106.5,-6.3,106.8,-6.0", "/peta/dasbor", "/peta",
             "/ogc/collections", "/fleet/live"]
    for c in client.get("/ogc/collections").json()["collections"]:
        # a collection without geometry (crosswalk_bps) has no extent and refuses a bbox: read its first page
        spatial = "extent" in c and "spatial" in c["extent"]
        paths.append(f"/ogc/collections/{c['id']}/items?limit=50"
                     + ("&bbox=106.62,-6.20,106.63,-6.18" if spatial else ""))
    return paths


def test_personal_data_never_in_public_responses(client, db, marked):
    lid, markers = marked
    checked = 0
    for path in _public_pages(client, lid):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)  # a page that failed would hide nothing
        for field, value in markers.items():
            assert value not in r.text, f"{field} of the reporter appears in {path}"
        checked += 1
    assert checked >= 10
    # the public record still says where, coarsely: the kelurahan
    [public] = client.get(f"{BASE}/requests/{lid}.json").json()
    assert public["address"] and public["address"].startswith("Kelurahan")
    # ... while the database keeps the contact for the OPD, and the audit log does not copy it
    row = db.execute("SELECT pelapor_email, address_string FROM laporan WHERE id = %s", (int(lid),)).fetchone()
    assert row["pelapor_email"] == markers["email"] and row["address_string"] == markers["address_string"]
    audit = str(db.execute("SELECT * FROM audit_log WHERE objek = %s", (f"laporan:{lid}",)).fetchall())
    assert not any(v in audit for v in markers.values())


def _counts(db) -> tuple[int, int, int]:
    row = db.execute("SELECT (SELECT count(*) FROM laporan) AS l, (SELECT count(*) FROM api_key) AS k, "
                     "(SELECT count(*) FROM audit_log) AS a").fetchone()
    return row["l"], row["k"], row["a"]


def _problem_parameter(r) -> str | None:
    """The parameter a problem+json names, or (Open311's error array) the word its description starts with."""
    body = r.json()
    if isinstance(body, list):
        return body[0]["description"].split(":")[0].split(" ")[0]
    return body.get("parameter")


def _injection_cases(s: str) -> list[tuple[str, dict, int, str | None]]:
    """(path, query, status, parameter at fault) expected for one hostile string in each place it can go."""
    seg = quote(s, safe="")  # in a path, as a client would send it
    nul = "\x00" in s
    routed = "/" not in s  # an encoded / is decoded into the path: no route matches, a plain 404

    def q(name: str, status: int, param: str | None = "same") -> tuple[int, str | None]:
        return (400, name) if nul else (status, name if param == "same" else param)

    items = "/ogc/collections/kelurahan/items"
    cases = [(f"/ogc/collections/{seg}/items", {}, 404, "collectionId" if routed else None),
             (f"/ogc/collections/kelurahan/items/{seg}", {}, 404, "featureId" if routed else None),
             (f"/ogc/collections/{seg}/tiles/WebMercatorQuad/12/3261/2118", {}, 404,
              "collectionId" if routed else None),
             (f"/peta/layer/{seg}", {}, 404, "collectionId" if routed else None),
             (f"{BASE}/requests/{seg}.json", {}, 404, "service_request_id" if routed else "Not")]
    # a NUL in a path segment reaches the lookup as text PostgreSQL refuses: a 400 (no parameter in Open311's array)
    cases.append((f"{BASE}/services/{seg}.json", {}, 400 if nul else 404,
                  "A" if nul else ("service_code" if routed else "Not")))
    for name in ("filter", "sortby", "properties", "bbox", "datetime"):
        cases.append((items, {name: s}, *q(name, 400)))
    for name in ("service_code", "status", "start_date"):
        cases.append((f"{BASE}/requests.json", {name: s}, *q(name, 400)))
    cases += [("/geocode/search", {"q": s}, *q("q", 200, None)),
              ("/geocode/autocomplete", {"q": s}, *q("q", 200, None)),
              ("/fleet/coverage", {"kelurahan": s}, *q("kelurahan", 200, None)),
              ("/peta/laporan", {"opd": s}, *q("opd", 422)),
              # tracker keys are required by default: a hostile id without a key is refused before any lookup
              ("/osmand", {"id": s, "lat": "-6.1", "lon": "106.6"}, *((400, "id") if nul else (401, "key")))]
    return cases


def test_injection_in_every_identifier_and_filter(client, db, katalog):
    citizen = _citizen(db)
    before = _counts(db)
    wrong = []
    for s in INJECTIONS:
        for path, params, status, parameter in _injection_cases(s):
            r = client.get(path, params=params)
            got = (r.status_code, _problem_parameter(r) if r.status_code >= 400 else None)
            if got != (status, parameter):
                wrong.append((s, path, list(params), got, (status, parameter), r.text[:120]))
        # an unknown service_code on POST is a 404 (README, the spec); a NUL in the form body a 400
        r = post_laporan(client, citizen, service_code=s)
        if (r.status_code, _problem_parameter(r)) != ((400, "A") if "\x00" in s else (404, "service_code")):
            wrong.append((s, "POST requests.json", r.status_code, r.text[:120]))
        r = post_laporan(client, s)
        if (r.status_code, _problem_parameter(r)) != (403, "api_key"):
            wrong.append((s, "POST requests.json api_key", r.status_code, r.text[:120]))
        # category: an unknown one takes the fallback route (200); longer than 40 characters is a 422 naming it
        r = client.post("/routing/explain", json={"category": s, "lat": -6.19, "lon": 106.62})
        expected = (422, "category") if len(s) > 40 else (200, None)
        if (r.status_code, _problem_parameter(r) if r.status_code >= 400 else None) != expected:
            wrong.append((s, "/routing/explain", r.status_code, r.text[:120]))
    assert not wrong, "\n".join(map(repr, wrong))
    assert _counts(db) == before
    assert db.execute("SELECT to_regclass('public.laporan') AS t").fetchone()["t"] == "laporan"


def test_traversal_in_upload_names_writes_nothing(client, db, live_server):
    """A valid layer id with a hostile file name: the name only tells the format, it never names a path."""
    import hashlib
    import tempfile
    from pathlib import Path

    from tests.test_trust_roles import make_key

    _, key = make_key(db, "gis_admin")
    fc = (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1},'
          b'"geometry":{"type":"Point","coordinates":[106.63,-6.17]}}]}')
    tag = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.gettempdir())
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    # where a server that joined the name to its upload directory (tmp/satupeta-layer-*/) would write it
    hostile = {f"../../../../tmp/pwned_{tag}.geojson": [tmp / f"pwned_{tag}.geojson"],
               f"../pwned_{tag}.geojson": [tmp / f"pwned_{tag}.geojson"],
               f"..\\..\\pwned_{tag}.geojson": [tmp / f"pwned_{tag}.geojson", Path.cwd() / f"pwned_{tag}.geojson"],
               f"/tmp/abs_{tag}.geojson": [tmp / f"abs_{tag}.geojson"]}
    for i, (name, landing) in enumerate(hostile.items()):
        layer_id = f"trav_{tag}_{i}"
        r = client.post("/layers", params={"id": layer_id, "title": "x", "opd": "x", "filename": name},
                        content=fc, headers={"X-API-Key": key})
        assert r.status_code == 201, (name, r.status_code, r.text[:300])  # published: the name told the format
        for path in landing:
            assert not path.exists(), (name, path)
        stored = db.execute("SELECT source_file FROM layer_version WHERE layer_id = %s", (layer_id,)).fetchone()
        assert stored["source_file"] and not set("/\\") & set(stored["source_file"]), stored  # a bare name
        assert stored["source_file"].endswith(f"_{tag}.geojson")
    assert not list(tmp.glob(f"*{tag}*")) and not list(tmp.glob(f"satupeta-layer-*/*{tag}*"))
    assert not list(Path.cwd().glob(f"*{tag}*")) and not list(Path.cwd().parent.glob(f"*{tag}*"))
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd
    # /etc/passwd as a name: no format, a 400 naming the parameter, nothing written
    before = _counts(db)
    r = client.post("/layers", params={"id": f"trav_{tag}_x", "title": "x", "opd": "x", "filename": "/etc/passwd"},
                    content=fc, headers={"X-API-Key": key})
    assert r.status_code == 400 and "format" in r.json()["detail"], r.text
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd
    assert _counts(db)[:2] == before[:2]
    assert not db.execute("SELECT 1 FROM layer_version WHERE layer_id = %s", (f"trav_{tag}_x",)).fetchone()


def test_oversized_bodies_are_refused(client, db):
    citizen = _citizen(db)
    before = _counts(db)
    r = post_laporan(client, citizen, description="x" * 200_000)
    assert r.status_code == 413 and "larger" in r.text  # capped at the edge (geo_api/edge.py)
    r = client.post("/routing/explain", content=b"{" + b'"a":1,' * 2_000_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    r = client.post("/geocode/reverse/batch", content=b"lat,lon\n" + b"-6.1,106.6\n" * 5_000_000,
                    headers={"content-type": "text/csv"})
    assert r.status_code == 413, r.text
    assert _counts(db) == before


class _Noticed(logging.Handler):
    """Sets an event when the edge logs that a client left mid-body (the server's own signal, not a sleep)."""

    def __init__(self) -> None:
        super().__init__()
        self.left = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "disconnected before sending the whole body" in record.getMessage():
            self.left.set()


def test_slow_client_holds_nothing_and_writes_nothing(client, db, live_server):
    citizen = _citizen(db)
    before = _counts(db)
    body = (f"api_key={citizen}&service_code=sampah_menumpuk&lat=-6.18994&long=106.62483&description=lambat"
            ).encode()
    edge_log = logging.getLogger("satupeta.edge")
    noticed, level = _Noticed(), edge_log.level
    edge_log.addHandler(noticed)
    edge_log.setLevel(logging.INFO)
    slow = socket.create_connection(("127.0.0.1", live_server.port))
    try:
        slow.sendall(b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:20])
        # the server keeps serving others while one client dribbles
        assert client.get(f"{BASE}/services.json").status_code == 200
        slow.sendall(body[20:40])
        slow.shutdown(socket.SHUT_WR)  # gives up mid-body
        # wait for the server's own word that it dropped the request (the bound is a failure, not a sync)
        assert noticed.left.wait(30), "the edge never noticed the client leaving mid-body"
    finally:
        slow.close()
        edge_log.removeHandler(noticed)
        edge_log.setLevel(level)
    assert _counts(db) == before
