"""The street gazetteer: names normalised, streets from a published layer, re-indexing, hostile layers, HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo_api.db import connect
from geo_api.geocoding import load_geocoder
from geo_api.geocoding.forward import top_kode
from geo_api.geocoding.streets import load_streets, street_key
from tests.conftest import LiveServer, run_async


@pytest.mark.parametrize("a, b", [
    ("Jl. KH. Hasyim Ashari", "Jalan K.H. Hasyim Asyari"),
    ("Jl. Jend. Sudirman", "Jalan Jenderal Sudirman"),
    ("Jl. Soedirman", "Jl. Sudirman"),
    ("Jl. Djuanda", "Jalan Juanda"),
    ("Jalan Daan Mogot KM 20", "Jl. Daan Mogot 20"),
    ("Jl. Moh. Toha", "Jalan Mohammad Toha"),
])
def test_street_key_variants_meet(a, b):
    assert street_key(a) and street_key(a) == street_key(b)


@pytest.mark.parametrize("a, b", [("Jln. Sudirman Raya", "jl sudirman"), ("Jl. Raya Serang", "Jalan Serang")])
def test_raya_meets_only_in_the_loose_key(a, b):
    assert street_key(a) != street_key(b) and street_key(a, loose=True) == street_key(b, loose=True)


def test_numbers_are_not_folded_like_doubled_letters():
    assert street_key("Jalan Melati 33") != street_key("Jalan Melati 3")
    assert street_key("Jalan Mellati") == street_key("Jalan Melati")


@pytest.mark.parametrize("name", ["Jalan", "Gg.", "", "K.H."])
def test_street_key_of_no_name_is_empty(name):
    assert street_key(name) == ""


def test_gang_is_not_the_jalan_of_the_same_name():
    assert street_key("Gg. Masjid") != street_key("Jl. Masjid")


@pytest.fixture(scope="module")
def fwd(settings, katalog):
    with connect(settings) as conn:
        return load_geocoder(conn, tolerance_m=30.0, nearest_max_m=25_000.0, settings=settings).forward


def test_demo_street_layer_is_indexed(fwd):
    assert fwd.streets is not None and fwd.streets.layer == "jalan_sintetis" and len(fwd.streets) == 4


def test_street_alone_answers_the_longest_kelurahan_with_a_point_on_it(fwd):
    parts = fwd.streets.exact(street_key("Jalan Sintetis Kota 1"))
    assert len(parts) >= 2 and parts[0].panjang_m >= parts[1].panjang_m
    res = fwd.search("Jl. Sintetis Kota 1")
    kodes = [c["kelurahan"]["kode"] for c in res["candidates"]]
    assert kodes[0] == parts[0].kode and set(kodes) >= {p.kode for p in parts[:2]}
    c = res["candidates"][0]
    assert c["point"]["source"] == "jalan" and c["jalan"]["nama"] == "Jalan Sintetis Kota 1"
    assert {m["as"] for m in c["matched"]} == {"jalan"}


def test_street_and_area_answer_the_point_on_the_street_in_that_area(fwd, client):
    parts = fwd.streets.exact(street_key("Jalan Sintetis Kota 1"))
    other = parts[-1]
    nama = fwd.places[fwd._by_kode[other.kode]].nama
    c = fwd.search(f"Jl. Sintetis Kota 1 {nama}")["candidates"][0]  # no comma, no marker
    assert c["kelurahan"]["kode"] == other.kode
    assert c["point"] == {"lat": other.lat, "lon": other.lon, "source": "jalan"}
    r = client.get("/geocode/reverse", params={"lat": other.lat, "lon": other.lon})  # the point is inside
    assert r.json()["kelurahan"]["kode"] == other.kode


@pytest.mark.parametrize("text, kode", [
    ("Jl. KH Hasyim Ashari Cipondoh", "36.71.05.1001"),
    ("Jl. Perintis Kemerdekaan Babakan", "36.71.01.1008"),
    ("Jl. Diponegoro Sukarasa", "36.71.01.1001"),
    ("RT 03 RW 05 sukarasa tangerang", "36.71.01.1001"),
    ("jl. melati poris plawad ut.", "36.71.05.1009"),
    ("Jl. Raya Serang Gembor", "36.71.08.1002"),  # "Serang" names the street, not Kabupaten Serang
    ("Pasar Anyar", "36.71.01.1002"),  # the market in the city, not Desa Anyar in Kab. Tangerang
    ("depan Pasar Anyar", "36.71.01.1002"),
    ("Babakan", "36.71.01.1008"),
    ("Babakan, Kab. Tangerang", "36.03.20.1011"),
])
def test_citizen_forms(fwd, text, kode):
    assert top_kode(fwd.search(text)) == kode


def test_neighbour_stays_second(fwd):
    res = fwd.search("Pasir Jaya")
    assert res["candidates"][0]["in_kota_tangerang"]
    assert any(not c["in_kota_tangerang"] for c in res["candidates"][1:])


def test_parsed_fields(fwd):
    p = fwd.search("Perum Griya Asri Blok C3 No. 8 RT 02/RW 04 dekat Masjid Al-Ikhlas Sukarasa 15111")["parsed"]
    assert p["nomor"] == "8" and (p["rt"], p["rw"]) == ("002", "004") and p["kodepos"] == "15111"
    assert p["blok"] == "c3" and p["patokan"].startswith("masjid") and p["perumahan"]
    p = fwd.search("Jl. Diponegoro Sukarasa")["parsed"]
    assert p["jalan"] == "diponegoro" and p["kelurahan"] == "sukarasa"


def test_http_matched_spans_and_confidence(client, katalog):
    q = "Jl. Sintetis Kota 1 No. 7, Kel. Sukarasa, Kec. Tangerang"
    body = client.get("/geocode/search", params={"q": q}).json()
    c = body["candidates"][0]
    for m in c["matched"]:
        assert m["start"] is not None and q[m["start"]:m["end"]].lower().replace(".", "") == m["text"].replace(
            ".", ""), m
    assert 0 < body["confidence"] <= 1 and body["confidence"] == c["confidence"]
    assert c["confidence_level"] in ("tinggi", "sedang", "rendah")
    clear = client.get("/geocode/search", params={"q": "Kel. Sukarasa, Kec. Tangerang"}).json()
    vague = client.get("/geocode/search", params={"q": "sukasari"}).json()  # city and Kab. Tangerang
    assert clear["pin_recommended"] is False and clear["confidence"] > vague["confidence"]
    none = client.get("/geocode/search", params={"q": "qwertyuiop"}).json()
    assert none["candidates"] == [] and none["pin_recommended"] is True and none["confidence"] == 0


# ---- publishing and re-indexing -----------------------------------------------------------------------------------
def _fc(features: list[tuple[str, list]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nama": n}, "geometry": {"type": "LineString", "coordinates": c}}
        for n, c in features]}).encode()


LINE = [[106.625, -6.175], [106.64, -6.175]]


def _publish(settings, tmp_path: Path, layer_id: str, body: bytes) -> dict:
    from layers.publish import LayerMeta, Limits, prepare, publish

    src = tmp_path / f"{layer_id}.geojson"
    src.write_bytes(body)
    work = tmp_path / f"work-{layer_id}-{time.monotonic_ns()}"
    work.mkdir()
    prep = prepare(src, src.name, work, Limits.from_settings(settings))
    meta = LayerMeta(id=layer_id, title="Jalan uji", opd="dpupr", published_by="test")
    return run_async(settings, lambda conn: publish(conn, prep, meta))


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    r = subprocess.run([sys.executable, "-m", "geo_api.cli", "keys", "create", "dpupr-jalan-test", "--role",
                        "gis_admin"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def _street_found(client, q: str) -> bool:
    cands = client.get("/geocode/search", params={"q": q}).json()["candidates"]
    return bool(cands) and cands[0]["point"]["source"] == "jalan"


def _eventually(check, tries: int = 200) -> bool:
    """Poll a background re-index (no time is asserted: only that it happens)."""
    for _ in range(tries):
        if check():
            return True
        time.sleep(0.05)
    return False


def test_publishing_a_new_version_reindexes_at_once(settings, admin_key):
    import httpx

    own = settings.model_copy(update={"geocode_street_layer": "jalan_uji_terbit", "geocode_street_check_s": 3600})
    with LiveServer(own) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert not _street_found(client, "Jalan Kenari Uji")  # not published yet: no streets, still answers

        def post(body: bytes):
            r = client.post("/layers", content=body, headers={"X-API-Key": admin_key}, params={
                "id": "jalan_uji_terbit", "title": "Jalan uji", "opd": "dpupr", "filename": "jalan.geojson"})
            assert r.status_code == 201, r.text
        post(_fc([("Jalan Kenari Uji", LINE)]))
        assert _eventually(lambda: _street_found(client, "Jalan Kenari Uji"))
        post(_fc([("Jalan Cendana Uji", LINE)]))
        assert _eventually(lambda: _street_found(client, "Jl. Cendana Uji"))
        assert not _street_found(client, "Jalan Kenari Uji")


def test_a_publish_elsewhere_is_seen_by_every_worker(settings, tmp_path):
    import httpx

    own = settings.model_copy(update={"geocode_street_layer": "jalan_uji_lain", "geocode_street_check_s": 0})
    with LiveServer(own) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert not _street_found(client, "Jalan Flamboyan Uji")
        _publish(settings, tmp_path, "jalan_uji_lain", _fc([("Jalan Flamboyan Uji", LINE)]))  # not through it
        assert _eventually(lambda: _street_found(client, "Jalan Flamboyan Uji"))


def test_hostile_street_layer_is_indexed_within_bounds(settings, db, tmp_path):
    long_name = "Jalan " + "x" * 10_000
    _publish(settings, tmp_path, "jalan_uji_jahat", _fc([
        (long_name, LINE), ("Jalan Baik Uji", LINE), ("Jalan Rusak Uji", [[106.63, -6.17], [106.632, -6.171]]),
        ("   ", LINE), ("Jalan Luar Kota Uji", [[100.0, 0.0], [100.1, 0.0]])]))
    # A geometry the publish path would have repaired, written behind its back: invalid, and empty.
    cur = db.execute("UPDATE published.jalan_uji_jahat SET geom = ST_Multi(ST_GeomFromText("
                     "'LINESTRING(106.63 -6.17, 106.63 -6.17)', 4326)) WHERE nama = 'Jalan Rusak Uji'")
    assert cur.rowcount == 1
    db.commit()
    row = db.execute("SELECT max(length(nama)) AS n, bool_and(ST_IsValid(geom)) AS ok "
                     "FROM published.jalan_uji_jahat").fetchone()
    assert row["n"] > 10_000 and row["ok"] is False  # the hostile content really is in the layer
    own = settings.model_copy(update={"geocode_street_layer": "jalan_uji_jahat"})
    with connect(own) as conn:
        idx = load_streets(conn, own)
    assert idx is not None
    assert idx.exact(street_key("Jalan Baik Uji")) and not idx.exact(street_key(long_name))
    assert not idx.exact(street_key("Jalan Luar Kota Uji"))  # outside every kelurahan: nothing to answer
    assert all(len(p.nama) <= own.geocode_street_max_name_chars for parts in idx._parts.values() for p in parts)


def test_huge_street_layer_is_refused_and_search_still_answers(settings, tmp_path, caplog):
    import httpx

    n = 100_000
    feats = [(f"Jalan Uji {i}", [[106.60 + (i % 300) * 0.0003, -6.20 + (i // 300) * 0.0002],
                                 [106.6002 + (i % 300) * 0.0003, -6.20 + (i // 300) * 0.0002]]) for i in range(n)]
    _publish(settings, tmp_path, "jalan_uji_besar", _fc(feats))
    own = settings.model_copy(update={"geocode_street_layer": "jalan_uji_besar", "geocode_street_max_features": 50_000})
    with connect(own) as conn:
        assert load_streets(conn, own) is None
    assert "at most 50000" in caplog.text
    with LiveServer(own) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.get("/geocode/search", params={"q": "Jalan Uji 5, Kel. Sukarasa"})
        assert r.status_code == 200 and r.json()["candidates"][0]["kelurahan"]["kode"] == "36.71.01.1001"
    # Allowed in size, but cutting it by kelurahan outlasts the statement timeout: no streets, still answers.
    slow = own.model_copy(update={"geocode_street_max_features": 200_000, "statement_timeout_ms": 100})
    caplog.clear()
    with LiveServer(slow) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.get("/geocode/search", params={"q": "Jalan Uji 5, Kel. Sukarasa"})
        assert r.status_code == 200 and r.json()["candidates"][0]["kelurahan"]["kode"] == "36.71.01.1001"
        assert r.json()["candidates"][0]["point"]["source"] != "jalan"
    assert "could not be cut by kelurahan (QueryCanceled)" in caplog.text


def test_street_layer_without_the_name_column_is_refused(settings, katalog, caplog):
    own = settings.model_copy(update={"geocode_street_name_column": "tidak_ada"})
    with connect(own) as conn:
        assert load_streets(conn, own) is None
    assert "no column 'tidak_ada'" in caplog.text


@given(st.text(max_size=120),
       st.sampled_from(["", "Jl. ", "jln ", "Gg. ", "depan ", "RT 1/2 ", "Jalan Sintetis Kota "]))
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_search_never_crashes_and_spans_point_into_the_text(fwd, text, prefix):
    q = prefix + text
    res = fwd.search(q)
    assert 0 <= res["confidence"] <= 1
    for c in res["candidates"]:
        for m in c["matched"]:
            assert m["start"] is None or 0 <= m["start"] < m["end"] <= len(q)
