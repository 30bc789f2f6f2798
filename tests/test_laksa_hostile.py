"""Hostile bodies on the LAKSA writes, over real HTTP through the running app: JSON nested 300 and 100,000 deep, a
huge string, numbers at 1e39, NaN and Infinity, a body that is not what the route takes, and a chunked body past
the size limit, on POST /routing/laporan/{id}/status and /disposisi, Open311 POST requests.json and rating.json,
and /lacak/{id}/komentar. Each is a 4xx naming what is wrong, never a 500, and nothing is written: the laporan,
history, disposisi, rating and audit counts stay as they were."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests._http_raw import chunked_until_answer
from tests.conftest import LiveServer
from tests.test_laksa import _key

BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci
DEEP_300 = b'{"status": ' + b"[" * 300 + b"]" * 300 + b"}"
DEEP_100K = b'{"status": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HUGE = "x" * 900_000  # under the edge's 1 MiB JSON cap: the field's own limit must refuse it


@pytest.fixture(scope="module")
def live_server(settings, katalog) -> Iterator[LiveServer]:
    """This module's own server: the web form's rate limit roomy (its bucket is named by its limits, so the many
    refused comments here leave the session's /lapor and /lacak bucket alone)."""
    roomy = settings.model_copy(update={"lapor_burst": 100_000, "lapor_per_jam": 1_000_000.0})
    with LiveServer(roomy) as server:
        yield server


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of this module's server."""
    with httpx.Client(base_url=live_server.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def keys(settings, katalog):
    """A citizen app key and the LAKSA desk (an officer for every OPD)."""
    from geo_api.db import connect

    with connect(settings) as db:
        return {"citizen": _key(db, "citizen_app"), "desk": _key(db, "opd_officer", semua=True)}


@pytest.fixture()
def laporan(client, keys):
    """A fresh laporan (id, kode_lacak) of the bundled catalogue."""
    r = client.post(f"{BASE}/requests.json", data={"api_key": keys["citizen"], "service_code": "sampah_menumpuk",
                                                   **POINT, "description": "Sampah menumpuk SINTETIS"})
    assert r.status_code == 200, r.text
    return int(r.json()[0]["service_request_id"]), r.json()[0]["kode_lacak"]


def _counts(db, lid: int) -> dict[str, int]:
    one = lambda q, *a: db.execute(q, a).fetchone()["n"]  # noqa: E731
    return {"laporan": one("SELECT count(*) AS n FROM laporan"),
            "riwayat": one("SELECT count(*) AS n FROM laporan_status WHERE laporan_id = %s", lid),
            "disposisi": one("SELECT count(*) AS n FROM laporan_disposisi WHERE laporan_id = %s", lid),
            "penilaian": one("SELECT count(*) AS n FROM laporan_penilaian WHERE laporan_id = %s", lid),
            "audit": one("SELECT count(*) AS n FROM audit_log WHERE objek = %s", f"laporan:{lid}"),
            "status": one("SELECT count(*) AS n FROM laporan WHERE id = %s AND status = 'open'", lid)}


def _problem(r, status: int, *words: str) -> None:
    """A problem+json of this status whose detail (or parameter) names every word."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    doc = r.json()
    text = f"{doc.get('parameter', '')} {doc['detail']}".lower()
    for w in words:
        assert w.lower() in text, (w, doc)


def _open311_error(r, status: int, *words: str) -> None:
    """The spec's error array with this status, its description naming every word."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    [err] = r.json()
    assert err["code"] == status
    for w in words:
        assert w.lower() in err["description"].lower(), (w, err)


def _chunked(port: int, head: bytes, total: int) -> bytes:
    """Send a chunked body of up to `total` bytes until the server answers; the response's status line."""
    return chunked_until_answer(port, head, total)[0].split(b"\r\n", 1)[0]


JSON_ROUTES = {"status": "/routing/laporan/{lid}/status", "disposisi": "/routing/laporan/{lid}/disposisi"}
JSON_CASES = [
    # (name, body, words the answer names on /status, on /disposisi); every one is a 422
    ("nested 300", DEEP_300, ("status", "valid string"), ("opd", "required")),
    ("nested 100000", DEEP_100K, ("body", "nested deeper than 1024"), ("body", "nested deeper than 1024")),
    ("nan", b'{"status": NaN, "opd": NaN, "alasan": NaN}', ("body", "not json", "nan"), ("body", "not json", "nan")),
    ("infinity", b'{"status": Infinity, "opd": -Infinity, "alasan": "x"}', ("body", "not json"), ("body", "not json")),
    ("1e39", b'{"status": 1e39, "opd": 1e39, "alasan": 1e39}', ("status", "valid string"), ("opd", "valid string")),
    ("huge string", None, ("catatan", "2000"), ("alasan", "2000")),
    ("not an object", b"[1, 2, 3]", ("body", "dictionary"), ("body", "dictionary")),
    ("truncated", b'{"status": "fix', ("body", "not json"), ("body", "not json")),
    ("nul", b'{"status": "fixed", "catatan": "a\\u0000b", "opd": "dpupr\\u0000", "alasan": "sah"}',
     ("catatan", "nul"), ("opd", "no active opd")),
]


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
@pytest.mark.parametrize("name,body,on_status,on_disposisi", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_hostile_json_on_officer_writes(client, keys, db, laporan, route, name, body, on_status, on_disposisi):
    lid, _ = laporan
    if body is None:  # one huge field (under the edge's cap, so the field's own limit must refuse it)
        body = (b'{"status": "fixed", "catatan": "%s"}' if route == "status" else
                b'{"opd": "dpupr", "alasan": "%s"}') % HUGE.encode()
    before = _counts(db, lid)
    r = client.post(JSON_ROUTES[route].format(lid=lid), content=body,
                    headers={"X-API-Key": keys["desk"], "Content-Type": "application/json"})
    _problem(r, 422, *(on_status if route == "status" else on_disposisi))
    assert _counts(db, lid) == before


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
def test_chunked_body_past_the_limit_on_officer_writes(live_server, keys, db, laporan, route):
    lid, _ = laporan
    before = _counts(db, lid)
    head = (f"POST {JSON_ROUTES[route].format(lid=lid)} HTTP/1.1\r\nHost: x\r\nX-API-Key: {keys['desk']}\r\n"
            "Content-Type: application/json\r\n").encode()
    assert _chunked(live_server.port, head, 8 * 1024 * 1024).startswith(b"HTTP/1.1 413")
    assert _counts(db, lid) == before


FORM_CASES = [
    # (name, fields, what the answer names)
    ("lat 1e39", {**POINT, "lat": "1e39"}, "lat"),
    ("long infinity", {**POINT, "long": "Infinity"}, "long"),
    ("lat nan", {**POINT, "lat": "NaN"}, "lat"),
    ("huge description", {**POINT, "description": "x" * 60_000}, "description"),
]


@pytest.mark.parametrize("name,fields,word", FORM_CASES, ids=[c[0] for c in FORM_CASES])
def test_hostile_fields_on_open311_requests(client, keys, db, laporan, name, fields, word):
    lid, _ = laporan
    before = _counts(db, lid)
    r = client.post(f"{BASE}/requests.json", data={"api_key": keys["citizen"], "service_code": "sampah_menumpuk",
                                                   "description": "SINTETIS", **fields})
    _open311_error(r, 400, word)
    assert _counts(db, lid) == before


@pytest.mark.parametrize("body,status,word", [(DEEP_300, 400, "x-www-form-urlencoded"),
                                              (DEEP_100K, 413, "larger than 65536 bytes"),
                                              (b'{"lat": NaN, "long": 1e39}', 400, "x-www-form-urlencoded")],
                         ids=["300", "100000", "nan"])
def test_json_bodies_on_open311_form_routes(client, keys, db, laporan, body, status, word):
    lid, _ = laporan
    before = _counts(db, lid)
    for path in (f"{BASE}/requests.json", f"{BASE}/requests/{lid}/rating.json"):
        r = client.post(path, content=body, headers={"Content-Type": "application/json"})
        _open311_error(r, status, word)
    assert _counts(db, lid) == before


def test_hostile_ratings(client, keys, db, settings, laporan):
    lid, kode = laporan
    with __import__("geo_api.db", fromlist=["connect"]).connect(settings) as conn:  # a rateable laporan
        conn.execute("UPDATE laporan SET status = 'closed' WHERE id = %s", (lid,))
        conn.commit()
    before = _counts(db, lid)
    rate = f"{BASE}/requests/{lid}/rating.json"
    for fields, word in (({"nilai": "1e39"}, "nilai"), ({"nilai": "NaN"}, "nilai"), ({"nilai": "Infinity"}, "nilai"),
                         ({"nilai": "3", "komentar": "k" * 15_000}, "komentar")):
        r = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, **fields})
        _open311_error(r, 400, word)
    big = client.post(rate, content=b"nilai=3&komentar=" + b"x" * 20_000,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    _open311_error(big, 400, "larger than")
    assert _counts(db, lid) == before


def test_chunked_bodies_past_the_limit_on_open311_and_lacak(live_server, client, db, settings, laporan):
    from geo_api.edge import photo_body_max

    lid, _ = laporan
    before = _counts(db, lid)
    total = photo_body_max(settings) + 1024 * 1024  # past even the photo routes' multipart limit
    for path, ctype in ((f"{BASE}/requests.json", "application/x-www-form-urlencoded"),
                        (f"{BASE}/requests/{lid}/rating.json", "application/x-www-form-urlencoded"),
                        (f"/lacak/{lid}/komentar", "application/x-www-form-urlencoded"),
                        (f"/lacak/{lid}/komentar", "multipart/form-data; boundary=zzz")):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n".encode()
        assert _chunked(live_server.port, head, total).startswith(b"HTTP/1.1 413"), path
    assert _counts(db, lid) == before


def _csrf(client) -> str:
    r = client.get("/lapor")
    return re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)


def test_hostile_comments(client, db, laporan):
    lid, kode = laporan
    token = _csrf(client)
    before = _counts(db, lid)
    url = f"/lacak/{lid}/komentar"
    form = client.post(url, data={"csrf": token, "kode_lacak": kode, "tanggapan": "x" * 500_000})
    assert form.status_code == 413 and "Isian terlalu panjang" in form.text, form.text[-2000:]
    multipart = client.post(url, data={"csrf": token, "kode_lacak": kode, "tanggapan": "x" * 500_000},
                            files=[("media", ("", b"", "application/octet-stream"))])
    assert multipart.status_code == 422 and "Tanggapan terlalu panjang" in multipart.text, multipart.text[-2000:]
    for body in (DEEP_300, DEEP_100K, b'{"tanggapan": NaN, "kode_lacak": 1e39}'):
        r = client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "melalui formulir" in r.text, r.text[-2000:]
    # a NUL is not text the database can hold: refused by name, not a database error
    nul = client.post(url, data={"csrf": token, "kode_lacak": kode, "tanggapan": "a\x00b"})
    assert nul.status_code == 422 and "tidak dapat disimpan" in nul.text, nul.text[-2000:]
    assert _counts(db, lid) == before


@pytest.mark.parametrize("ident", ["²", "1²", "١٢", "1 OR 1=1", "9" * 19])
def test_odd_laporan_ids_are_refused_not_500(client, keys, ident):
    """'²' passes str.isdigit but not int(); other scripts' digits are not ids either; 19 digits pass bigint."""
    token = _csrf(client)
    assert client.get(f"/lacak/{ident}").status_code == 404
    for path, data in ((f"/lacak/{ident}/nilai", {"csrf": token, "kode_lacak": "x", "nilai": "3"}),
                       (f"/lacak/{ident}/komentar", {"csrf": token, "kode_lacak": "x", "tanggapan": "t"})):
        assert client.post(path, data=data).status_code == 404, path
    assert client.get(f"{BASE}/requests/{ident}.json").status_code == 404
    r = client.post(f"{BASE}/requests/{ident}/rating.json", data={"api_key": keys["citizen"], "kode_lacak": "x",
                                                                   "nilai": "3"})
    assert r.status_code == 404, r.text
    for method, path in (("GET", ""), ("POST", "/status"), ("POST", "/disposisi")):
        r = client.request(method, f"/routing/laporan/{ident}{path}", headers={"X-API-Key": keys["desk"]},
                           json={"status": "fixed", "opd": "dpupr", "alasan": "x"})
        _problem(r, 422, "laporan_id")
