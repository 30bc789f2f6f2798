"""Open311 GeoReport v2 over real HTTP against the real PostGIS: the spec's paths, fields, formats and errors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest

from geo_api.apikeys import key_hash, new_key

BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci



def _key(db, role: str, opd: str | None = None, *, semua_opd: bool = False) -> str:
    key = new_key()
    db.execute("INSERT INTO api_key (name, role, key_hash, opd_kode, semua_opd) VALUES (%s, %s, %s, %s, %s)",
               (f"test-{role}-{uuid.uuid4().hex[:6]}", role, key_hash(key), opd, semua_opd))
    db.commit()
    return key


@pytest.fixture(scope="module")
def api_key(settings, katalog):
    from geo_api.db import connect
    with connect(settings) as db:
        return _key(db, "citizen_app")


def post(client, api_key, **fields):
    data = {"api_key": api_key, "service_code": "sampah_menumpuk", **POINT, "description": "Sampah menumpuk",
            **fields}
    return client.post(f"{BASE}/requests.json", data={k: v for k, v in data.items() if v is not None})


def test_discovery_and_services(client, katalog):
    d = client.get(f"{BASE}/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "text/xml" in d["endpoints"][0]["formats"]
    services = client.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert {"jalan_rusak", "sampah_menumpuk", "lampu_jalan_mati", "pohon_tumbang", "pkl", "banjir"} <= set(by_code)
    s = by_code["jalan_rusak"]
    # the spec's fields plus one extension (the target in working days), which spec clients ignore
    assert set(s) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group",
                      "sla_hari_kerja"}
    assert s["sla_hari_kerja"] == 14
    assert s["metadata"] is True and s["type"] == "realtime" and "aspal" in s["keywords"]
    assert by_code["pkl"]["metadata"] is False
    root = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert root.tag == "services" and root.find("service/service_code") is not None
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "tangerangkota.go.id"}).status_code == 200


def test_service_definition(client, katalog):
    d = client.get(f"{BASE}/services/jalan_rusak.json").json()
    assert d["service_code"] == "jalan_rusak"
    a = d["attributes"][0]
    assert a["code"] == "tingkat_kerusakan" and a["datatype"] == "singlevaluelist" and a["variable"] is True
    assert {v["key"] for v in a["values"]} == {"ringan", "sedang", "berat"}
    x = ET.fromstring(client.get(f"{BASE}/services/jalan_rusak.xml").content)
    assert x.tag == "service_definition"
    assert [v.findtext("key") for v in x.findall("attributes/attribute/values/value")] == ["ringan", "sedang", "berat"]


def test_post_then_read_back_json_and_xml(client, api_key):
    r = post(client, api_key, service_code="jalan_rusak", lat="-6.21005", long="106.68",
             description="Lubang besar <script>alert(1)</script> & <b>bahaya</b>", email="warga@example.id",
             first_name="Siti", last_name="Aminah", phone="081234567890", account_id="acc-9",
             media_url="https://example.id/foto.jpg", **{"attribute[tingkat_kerusakan]": "berat"})
    assert r.status_code == 200, r.text
    [created] = r.json()
    # kode_lacak: the extension that proves the reporter when rating (issue 16), answered once
    assert set(created) == {"service_request_id", "service_notice", "account_id", "kode_lacak"}
    assert created["account_id"] == "acc-9" and len(created["kode_lacak"]) >= 20
    rid = created["service_request_id"]
    [req] = client.get(f"{BASE}/requests/{rid}.json").json()
    assert req["service_code"] == "jalan_rusak" and req["status"] == "open"
    assert req["agency_responsible"].startswith("Dinas Pekerjaan Umum dan Penataan Ruang Kota Tangerang")
    assert req["description"] == "Lubang besar <script>alert(1)</script> & <b>bahaya</b>"  # stored as text
    assert req["lat"] == pytest.approx(-6.21005) and req["long"] == pytest.approx(106.68)
    assert req["media_url"] == "https://example.id/foto.jpg" and "Jalan Sintetis Kota 1" in req["routing_reason"]
    for f in ("service_request_id", "status_notes", "service_name", "service_notice", "requested_datetime",
              "updated_datetime", "expected_datetime", "address", "address_id", "zipcode"):
        assert f in req
    assert datetime.fromisoformat(req["requested_datetime"]).utcoffset() == timedelta(hours=7)
    body = client.get(f"{BASE}/requests/{rid}.json").text + client.get(f"{BASE}/requests.json").text
    for private in ("warga@example.id", "Siti", "Aminah", "081234567890"):
        assert private not in body
    xml = client.get(f"{BASE}/requests/{rid}.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    assert b"<script>" not in xml.content and b"&lt;script&gt;" in xml.content
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests" and root.findtext("request/description").startswith("Lubang besar <script>")
    assert client.get(f"{BASE}/requests/{rid}.json").headers["x-content-type-options"] == "nosniff"


def test_post_xml_answer(client, api_key):
    r = client.post(f"{BASE}/requests.xml", data={"api_key": api_key, "service_code": "pkl", **POINT})
    root = ET.fromstring(r.content)
    assert r.status_code == 200 and root.tag == "service_requests" and root.findtext("request/service_request_id")


def test_duplicates_linked_and_nearby_lookup(client, api_key):
    first = post(client, api_key, service_code="pohon_tumbang", lat="-6.2250", long="106.7000").json()[0]
    second = post(client, api_key, service_code="pohon_tumbang", lat="-6.2260", long="106.7005").json()[0]
    far = post(client, api_key, service_code="pohon_tumbang", lat="-6.2400", long="106.7100").json()[0]
    other = post(client, api_key, service_code="parkir_liar", lat="-6.2260", long="106.7005").json()[0]
    assert first["service_notice"] is None or "Kemungkinan" not in first["service_notice"]
    assert f"laporan {first['service_request_id']}" in second["service_notice"]
    get = lambda rid: client.get(f"{BASE}/requests/{rid}.json").json()[0]  # noqa: E731
    assert get(second["service_request_id"])["duplicate_of"] == first["service_request_id"]
    assert get(far["service_request_id"])["duplicate_of"] is None
    assert get(other["service_request_id"])["duplicate_of"] is None
    near = client.get(f"{BASE}/requests.json", params={"lat": "-6.2255", "long": "106.7002", "radius": "300",
                                                      "service_code": "pohon_tumbang", "status": "open"}).json()
    assert {r["service_request_id"] for r in near} == {first["service_request_id"], second["service_request_id"]}


def test_filters_and_window(client, api_key):
    a = post(client, api_key, service_code="banjir", lat="-6.14490", long="106.66323").json()[0]["service_request_id"]
    b = post(client, api_key, service_code="pkl").json()[0]["service_request_id"]
    both = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{a},{b}"}).json()
    assert {r["service_request_id"] for r in both} == {a, b}
    only = client.get(f"{BASE}/requests.json", params={"service_code": "banjir"}).json()
    assert a in {r["service_request_id"] for r in only} and {r["service_code"] for r in only} == {"banjir"}
    now = datetime.now(timezone.utc)
    old = client.get(f"{BASE}/requests.json", params={"start_date": (now - timedelta(days=200)).isoformat(),
                                                     "end_date": (now - timedelta(days=150)).isoformat()}).json()
    assert old == []
    assert client.get(f"{BASE}/requests.json", params={"status": "closed", "service_code": "banjir"}).json() == []


def test_status_follows_the_report(client, api_key, settings):
    from geo_api.db import connect
    rid = post(client, api_key, service_code="rambu_rusak").json()[0]["service_request_id"]
    with connect(settings) as db:
        officer = _key(db, "opd_officer", "dishub")
        other = _key(db, "opd_officer", "dlh")
    h = {"X-API-Key": officer}
    r = client.post(f"/routing/laporan/{rid}/status", json={"status": "closed"}, headers={"X-API-Key": other})
    assert r.status_code == 403 and "dishub" in r.json()["detail"]
    r = client.post(f"/routing/laporan/{rid}/status", json={"status": "in_progress", "catatan": "Tim meluncur"},
                    headers=h)
    assert r.status_code == 200, r.text
    req = client.get(f"{BASE}/requests/{rid}.json").json()[0]
    assert req["status"] == "open" and req["status_notes"] == "Tim meluncur"
    client.post(f"/routing/laporan/{rid}/status", json={"status": "closed", "catatan": "Rambu diganti"}, headers=h)
    req = client.get(f"{BASE}/requests/{rid}.json").json()[0]
    assert req["status"] == "closed" and req["status_notes"] == "Rambu diganti"
    closed = client.get(f"{BASE}/requests.json", params={"status": "closed", "service_code": "rambu_rusak"}).json()
    assert rid in {r["service_request_id"] for r in closed}
    detail = client.get(f"/routing/laporan/{rid}", headers=h).json()
    assert [s["status"] for s in detail["riwayat_status"]] == ["open", "in_progress", "closed"]
    assert client.post(f"/routing/laporan/{rid}/status", json={"status": "closed"}).status_code == 401
    with connect(settings) as db:
        desk = _key(db, "opd_officer", semua_opd=True)  # every OPD, chosen explicitly: the LAKSA desk
        unbound = _key(db, "opd_officer")  # an officer key bound to nothing acts on no OPD
    assert client.get(f"/routing/laporan/{rid}", headers={"X-API-Key": desk}).status_code == 200
    r = client.get(f"/routing/laporan/{rid}", headers={"X-API-Key": unbound})
    assert r.status_code == 403 and "keys bind" in r.json()["detail"]


BAD = [
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "tidak_ada"}, 404, "not a known service"),  # the spec: an unknown service_code is 404
    ({"lat": None, "long": None}, 400, "a location is required"),
    ({"lat": None}, 400, "give both lat and long"),
    ({"lat": None, "long": None, "address_string": "Planet Mars blok Z"}, 400, "could not be located"),
    ({"lat": "abc"}, 400, "lat must be a number"),
    ({"lat": "95"}, 400, "lat must be between"),
    ({"lat": "nan"}, 400, "lat must be between"),
    ({"lat": "40.7", "long": "-74.0"}, 400, "far outside"),
    ({"description": "x" * 4001}, 400, "description is longer"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"media_url": "ftp://example.id/a.jpg"}, 400, "media_url"),
    ({"email": "bukan-email"}, 400, "email"),
    ({"service_code": "jalan_rusak", "attribute[tingkat_kerusakan]": "parah"}, 400, "must be one of"),
    ({"attribute[warna]": "merah"}, 400, "unknown attribute"),
    ({"first_name": "x" * 300}, 400, "first_name"),
    ({"jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction_id"),
]


@pytest.mark.parametrize("fields,status,words", BAD, ids=[b[2] for b in BAD])
def test_bad_posts_are_refused_and_nothing_is_written(client, api_key, db, fields, status, words):
    before = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    r = post(client, api_key, **fields)
    assert r.status_code == status, r.text
    [err] = r.json()
    assert err["code"] == status and words in err["description"]
    assert r.headers["content-type"].startswith("application/json")
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == before


def test_api_key_errors_are_403(client, api_key, settings):
    assert post(client, None).status_code == 403
    r = post(client, "sp_salah")
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    from geo_api.db import connect
    with connect(settings) as db:
        officer = _key(db, "opd_officer")
    assert "may not post" in post(client, officer).json()[0]["description"]
    x = client.post(f"{BASE}/requests.xml", data={"service_code": "pkl", **POINT})
    root = ET.fromstring(x.content)
    assert x.status_code == 403 and root.tag == "errors" and root.findtext("error/code") == "403"


def test_not_found_and_bad_get_params(client, katalog):
    for path in ("requests/999999999.json", "requests/abc.json", "services/tidak_ada.json", "tidak_ada.json"):
        r = client.get(f"{BASE}/{path}")
        assert r.status_code == 404 and r.json()[0]["code"] == 404, path
    r = client.get(f"{BASE}/requests.json", params={"start_date": "kemarin"})
    assert r.status_code == 400 and "start_date" in r.json()[0]["description"]
    r = client.get(f"{BASE}/requests.json", params={"start_date": "2026-01-01T00:00:00Z",
                                                   "end_date": "2026-06-01T00:00:00Z"})
    assert r.status_code == 400 and "90 days" in r.json()[0]["description"]
    assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400
    x = client.get(f"{BASE}/requests/999999999.xml")
    assert x.status_code == 404 and ET.fromstring(x.content).tag == "errors"


def test_georeport_client_from_pypi(live_server, api_key):
    """The maintained PyPI client `georeport` reads services, definitions and requests unchanged (JSON and XML)."""
    georeport = pytest.importorskip("georeport")
    rid = None
    import httpx
    with httpx.Client(base_url=live_server.url) as c:
        rid = post(c, api_key, service_code="pkl").json()[0]["service_request_id"]
    for fmt in ("json", "xml"):
        cl = georeport.GeoReport(f"{live_server.url}{BASE}", jurisdiction="tangerangkota.go.id", output_format=fmt)
        services = cl.get_service_list()
        assert "jalan_rusak" in {s["service_code"] for s in services}
        d = cl.get_service_definition("jalan_rusak")
        assert d["service_code"] == "jalan_rusak"
        reqs = cl.get_service_requests(service_code="pkl", status="open")
        assert rid in {r["service_request_id"] for r in (reqs if isinstance(reqs, list) else [reqs])}
        one = cl.get_service_request(rid)
        assert one["service_request_id"] == rid and one["status"] == "open"


def test_address_string_alone_is_located_to_a_kelurahan(client, api_key, db):
    r = post(client, api_key, lat=None, long=None, service_code="jalan_rusak",
             address_string="Kelurahan Sukarasa, Kecamatan Tangerang")
    assert r.status_code == 200, r.text
    rid = int(r.json()[0]["service_request_id"])
    row = db.execute("SELECT kelurahan_kode, opd_kode, alasan FROM laporan WHERE id = %s", (rid,)).fetchone()
    assert row["kelurahan_kode"] == "36.71.01.1001"
    assert row["alasan"]["lokasi"]["dari_alamat"]["kandidat"]["kode"] == "36.71.01.1001"
    # a label point says nothing about metres from a road: the road rules are passed over, with that reason
    assert row["opd_kode"] == "disperkimtan"
    assert all("dari alamat" in t["alasan"] for t in row["alasan"]["tidak_berlaku"])


# ---------------------------------------------------------------- dates, windows, zipcode (issue 12)

HOSTILE_DATES = [("start_date", "9999-12-31T00:00:00Z"), ("end_date", "0001-01-01T00:00:00Z"),
                 ("start_date", "0001-01-01T00:00:00+14:00"), ("end_date", "9999-12-31T23:59:59-14:00"),
                 ("start_date", "10000-01-01T00:00:00Z"), ("end_date", "2026-13-01T00:00:00Z")]


@pytest.mark.parametrize("name,value", HOSTILE_DATES)
def test_dates_out_of_range_are_400_naming_the_parameter(client, katalog, name, value):
    for fmt in ("json", "xml"):
        r = client.get(f"{BASE}/requests.{fmt}", params={name: value})
        assert r.status_code == 400, (fmt, r.text)
        text = r.json()[0]["description"] if fmt == "json" else ET.fromstring(r.content).findtext("error/description")
        assert name in text


def test_only_start_date_answers_up_to_now_and_refuses_a_longer_gap(client, api_key):
    rid = post(client, api_key, service_code="banjir", lat="-6.14490", long="106.66323").json()[0][
        "service_request_id"]
    now = datetime.now(timezone.utc)
    since = client.get(f"{BASE}/requests.json", params={"start_date": (now - timedelta(days=1)).isoformat()})
    assert since.status_code == 200 and rid in {r["service_request_id"] for r in since.json()}
    # 89 days back is still one window: everything since then, up to now
    assert rid in {r["service_request_id"] for r in client.get(
        f"{BASE}/requests.json", params={"start_date": (now - timedelta(days=89)).isoformat()}).json()}
    # a poll after a long gap is told how to page, never answered with a silent part (or nothing)
    gap = client.get(f"{BASE}/requests.json", params={"start_date": (now - timedelta(days=200)).isoformat()})
    assert gap.status_code == 400
    assert "start_date" in gap.json()[0]["description"] and "end_date" in gap.json()[0]["description"]
    # only end_date: the window before it
    before = client.get(f"{BASE}/requests.json", params={"end_date": (now + timedelta(minutes=5)).isoformat()})
    assert before.status_code == 200 and rid in {r["service_request_id"] for r in before.json()}
    assert rid not in {r["service_request_id"] for r in client.get(
        f"{BASE}/requests.json", params={"end_date": (now - timedelta(days=1)).isoformat()}).json()}
    # a start in the future (a client's clock ahead): nothing yet, not an error
    ahead = client.get(f"{BASE}/requests.json", params={"start_date": (now + timedelta(days=1)).isoformat()})
    assert ahead.status_code == 200 and ahead.json() == []


def test_window_follows_its_cap():
    from geo_api.routing import laporan

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    q = {"start_date": "2026-11-01T00:00:00Z"}
    assert laporan.list_params(q, now=now)["end"] == now
    with pytest.raises(Exception) as exc:
        laporan.list_params(q, now=now, window=timedelta(days=7))
    assert exc.value.extra["parameter"] == "start_date" and "7 days" in exc.value.detail


def test_zipcode_is_the_kodepos_of_the_point(client, api_key, db):
    kel = db.execute("SELECT kodepos FROM kelurahan WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                     (float(POINT["long"]), float(POINT["lat"]))).fetchone()
    assert kel and kel["kodepos"]
    rid = post(client, api_key, service_code="pkl").json()[0]["service_request_id"]
    typed = post(client, api_key, service_code="pkl", zipcode="99999").json()[0]["service_request_id"]
    for r in (rid, typed):
        [req] = client.get(f"{BASE}/requests/{r}.json").json()
        assert req["zipcode"] == kel["kodepos"]
        assert ET.fromstring(client.get(f"{BASE}/requests/{r}.xml").content).findtext("request/zipcode") == \
            kel["kodepos"]
    listed = {x["service_request_id"]: x for x in client.get(f"{BASE}/requests.json",
                                                            params={"service_code": "pkl"}).json()}
    assert listed[rid]["zipcode"] == kel["kodepos"]


def test_zipcode_of_a_point_in_a_neighbouring_desa(client, api_key, db):
    t = db.execute("SELECT kodepos, ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon "
                   "FROM tetangga_desa_kelurahan t WHERE kodepos <> '' AND NOT EXISTS "
                   "(SELECT 1 FROM kelurahan k WHERE ST_Intersects(k.geom, ST_PointOnSurface(t.geom))) "
                   "ORDER BY kode LIMIT 1").fetchone()
    r = post(client, api_key, service_code="pkl", lat=str(t["lat"]), long=str(t["lon"]))
    assert r.status_code == 200, r.text
    [req] = client.get(f"{BASE}/requests/{r.json()[0]['service_request_id']}.json").json()
    assert req["zipcode"] == t["kodepos"] and req["address"]
