"""POST /routing/explain and the authenticated rules admin API, over real HTTP; in-flight laporan keep their rule."""

from __future__ import annotations

import uuid

import pytest

from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect


@pytest.fixture(scope="module")
def keys(settings, katalog):
    out = {}
    with connect(settings) as db:
        for role in ("gis_admin", "citizen_app"):
            out[role] = new_key()
            db.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, %s, %s)",
                       (f"api-{role}-{uuid.uuid4().hex[:6]}", role, key_hash(out[role])))
        db.commit()
    return out


def test_explain_dry_run(client, keys, db):
    before = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    r = client.post("/routing/explain", json={"category": "jalan_rusak", "lat": -6.18005, "lon": 106.62})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["opd_kode"] == "bbpjn" and d["keputusan"] == "aturan" and d["rule_versi"] >= 1
    assert "Jalan Sintetis Nasional 1" in d["alasan_teks"]
    assert d["alasan"]["aturan"]["fakta"]["atribut"]["status"] == "nasional"
    assert d["alasan"]["lokasi"]["kecamatan"]["nama"] == "Karawaci"
    out = client.post("/routing/explain", json={"category": "pkl", "lat": -6.30212, "lon": 106.70739}).json()
    assert out["keputusan"] == "serah_terima" and out["opd_kode"] == "kab-36.74"
    assert client.post("/routing/explain", json={"category": "pkl", "lat": 95, "lon": 106}).status_code == 422
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == before


def test_rules_api_needs_admin(client, keys):
    assert client.get("/routing/rules").status_code == 401
    assert client.get("/routing/rules", headers={"X-API-Key": keys["citizen_app"]}).status_code == 403
    r = client.get("/routing/rules", params={"layanan": "jalan_rusak"}, headers={"X-API-Key": keys["gis_admin"]})
    assert r.status_code == 200 and {x["kunci"] for x in r.json()} >= {"jalan-nasional", "dasar-jalan-rusak"}


def test_add_change_rule_and_in_flight_laporan_keep_their_version(client, keys, db):
    h = {"X-API-Key": keys["gis_admin"]}
    point = {"lat": "-6.2000", "long": "106.66"}
    # a kelurahan rule for pohon_tumbang where the point lies
    kel = client.post("/routing/explain", json={"category": "pohon_tumbang", "lat": -6.2, "lon": 106.66}).json()
    kel_kode = kel["alasan"]["lokasi"]["kelurahan"]["kode"]
    r = client.post("/routing/rules", headers=h, json={
        "nama": "Pohon tumbang di kelurahan uji ke BPBD", "layanan_kode": "pohon_tumbang", "wilayah": "kelurahan",
        "wilayah_kode": kel_kode, "opd_kode": "bpbd", "prioritas": 50, "alasan": "uji"})
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["versi"] == 1
    sent = client.post("/open311/v2/requests.json", data={"api_key": keys["citizen_app"],
                                                          "service_code": "pohon_tumbang", **point}).json()[0]
    rid = int(sent["service_request_id"])
    changed = client.patch(f"/routing/rules/{rule['id']}", headers=h, json={"opd_kode": "damkar"})
    assert changed.status_code == 200 and changed.json()["versi"] == 2
    # the laporan in flight keeps its OPD and the version that routed it; new ones follow version 2
    row = db.execute("SELECT opd_kode, rule_id, rule_versi FROM laporan WHERE id = %s", (rid,)).fetchone()
    assert row == {"opd_kode": "bpbd", "rule_id": rule["id"], "rule_versi": 1}
    now = client.post("/routing/explain", json={"category": "pohon_tumbang", "lat": -6.2, "lon": 106.66}).json()
    assert now["opd_kode"] == "damkar" and now["rule_versi"] == 2
    hist = client.get(f"/routing/rules/{rule['id']}", headers=h).json()["riwayat"]
    assert [v["opd_kode"] for v in hist] == ["bpbd", "damkar"]
    off = client.patch(f"/routing/rules/{rule['id']}", headers=h, json={"aktif": False}).json()
    assert off["versi"] == 3 and off["aktif"] is False
    back = client.post("/routing/explain", json={"category": "pohon_tumbang", "lat": -6.2, "lon": 106.66}).json()
    assert back["opd_kode"] == "dlh"


def test_rules_api_bad_input(client, keys):
    h = {"X-API-Key": keys["gis_admin"]}
    bad = client.post("/routing/rules", headers=h, json={"nama": "x", "wilayah": "kota", "prioritas": 1})
    assert bad.status_code == 422
    assert client.patch("/routing/rules/999999", headers=h, json={"prioritas": 1}).status_code == 404
    r = client.patch("/routing/rules/1", headers=h, json={"warna": "merah"})
    assert r.status_code == 422 and "warna" in r.json()["detail"]
    r = client.patch("/routing/rules/1", headers=h, json={"wilayah": "layer"})
    assert r.status_code == 422
    r = client.post("/routing/rules", headers=h, json={"nama": "x", "wilayah": "layer", "layer_id": "jalan_sintetis",
                                                      "atribut_filter": {"order": ["a"]}, "opd_kode": "dlh",
                                                      "prioritas": 1})
    assert r.status_code == 422 and "order" in r.json()["detail"]
