"""Routing to the responsible OPD, as a table of (category, point, expected OPD, reason), on the real PostGIS."""

from __future__ import annotations

import pytest

from geo_api import catalogue
from geo_api.audit import Actor
from geo_api.routing import store
from geo_api.routing.lokasi import load_reverse_index
from geo_api.routing.service import load, route
from tests.conftest import run_async as run

TESTER = Actor("cli", "test")


@pytest.fixture(scope="module")
def reverse(settings):
    """The geocoding module's reverse index (built once for the module)."""
    return run(settings, lambda conn: load_reverse_index(conn, settings))


def explain(settings, kategori, lat, lon, reverse):
    async def go(conn):
        return await route(conn, await load(conn, settings.routing_triase_opd), reverse, kategori, lat, lon)
    return run(settings, go)


# (category, lat, lon, expected OPD, expected decision, words the reason must contain)
CASES = [
    ("jalan_rusak", -6.18005, 106.6200, "bbpjn", "aturan", ["Jalan Sintetis Nasional 1", "batas 20 m"]),
    ("jalan_rusak", -6.16, 106.6501, "dpupr-banten", "aturan",
     ["Jalan Sintetis Provinsi 1", "Jalan berstatus nasional ke BBPJN", "lebih dari batas 20 m"]),
    # at the crossing of the national and provincial road: the higher priority (nasional) wins
    ("jalan_rusak", -6.18003, 106.65003, "bbpjn", "aturan", ["Jalan Sintetis Nasional 1"]),
    ("jalan_rusak", -6.21005, 106.6800, "dpupr", "aturan", ["Jalan Sintetis Kota 1"]),
    # a street of status lingkungan: no road rule applies, the category's city-wide OPD takes it
    ("jalan_rusak", -6.2000, 106.70005, "disperkimtan", "aturan",
     ["seluruh kota", "Jalan berstatus kota ke DPUPR"]),
    ("lampu_jalan_mati", -6.18010, 106.6300, "dishub", "aturan", ["PJU di jalan nasional"]),
    ("lampu_jalan_mati", -6.1950, 106.6800, "disperkimtan", "aturan", ["PJU di jalan nasional ke Dishub"]),
    ("pkl", -6.17288, 106.63185, "kec-36.71.01", "aturan", ["Kecamatan Tangerang"]),
    ("pkl", -6.18994, 106.62483, "satpolpp", "aturan", ["Kecamatan Karawaci", "aturan hanya untuk kecamatan"]),
    ("saluran_tersumbat", -6.17288, 106.63185, "kel-36.71.01.1001", "aturan", ["Kelurahan Sukarasa"]),
    ("saluran_tersumbat", -6.19200, 106.67689, "dpupr", "aturan", ["Kelurahan Cipondoh"]),
    ("sampah_menumpuk", -6.23282, 106.72568, "dlh", "aturan", ["Larangan Utara"]),
    ("banjir", -6.14490, 106.66323, "bpbd", "aturan", ["Belendung"]),
    ("air_bersih", -6.18994, 106.62483, "tirta-benteng", "aturan", ["Perumda"]),
    ("lainnya", -6.18994, 106.62483, "diskominfo", "aturan", ["Lainnya"]),
    ("kategori_aneh", -6.18994, 106.62483, "diskominfo", "triase", ["tidak dikenal", "meja triase"]),
    ("sampah_liar", -6.17001, 106.71924, "kab-31.73", "serah_terima", ["Jakarta Barat", "diserahterimakan"]),
    ("jalan_rusak", -6.17446, 106.5189, "kab-36.03", "serah_terima", ["Kabupaten Tangerang"]),
    ("banjir", -6.30212, 106.70739, "kab-36.74", "serah_terima", ["Tangerang Selatan"]),
    # in the sea north of the city: no kab/kota knows it, the triage desk does
    ("banjir", -5.95, 106.65, "diskominfo", "triase", ["di luar Kota Tangerang"]),
]


@pytest.mark.parametrize("kategori,lat,lon,opd,keputusan,words", CASES,
                         ids=[f"{c[0]}@{c[1]},{c[2]}" for c in CASES])
def test_routing_table(settings, katalog, reverse, kategori, lat, lon, opd, keputusan, words):
    k = explain(settings, kategori, lat, lon, reverse)
    assert (k.opd_kode, k.keputusan) == (opd, keputusan), k.teks
    for w in words:
        assert w in k.teks, (w, k.teks)
    assert k.alasan["opd"]["kode"] == opd and k.alasan["keputusan"] == keputusan


def test_evidence_is_structured(settings, katalog, reverse):
    k = explain(settings, "jalan_rusak", -6.16, 106.6501, reverse)
    a = k.alasan
    assert a["lokasi"]["kelurahan"]["nama"] and a["lokasi"]["di_kota"] is True
    assert a["aturan"]["layer"] == "jalan_sintetis" and a["aturan"]["fakta"]["atribut"]["status"] == "provinsi"
    assert 0 < a["aturan"]["fakta"]["jarak_m"] <= 20
    skipped = a["tidak_berlaku"]
    assert [s["nama"] for s in skipped] == ["Jalan berstatus nasional ke BBPJN"]
    assert skipped[0]["fakta"]["jarak_m"] > 2000
    assert k.rule_id == a["aturan"]["id"] and k.rule_versi == a["aturan"]["versi"]


def test_rule_change_makes_new_version_and_routes_new_reports(settings, katalog, reverse):
    async def go(conn):
        rules = await store.list_rules(conn, "banjir")
        base = next(r for r in rules if r["kunci"] == "dasar-banjir")
        before = await route(conn, await load(conn, "diskominfo"), reverse, "banjir", -6.14490, 106.66323)
        changed = await store.change(conn, base["id"], {"opd_kode": "dpupr"}, TESTER)
        after = await route(conn, await load(conn, "diskominfo"), reverse, "banjir", -6.14490, 106.66323)
        restored = await store.change(conn, base["id"], {"opd_kode": "bpbd"}, TESTER)
        return base, before, changed, after, restored
    base, before, changed, after, restored = run(settings, go)
    assert before.opd_kode == "bpbd" and after.opd_kode == "dpupr"
    assert changed["versi"] == base["versi"] + 1 and restored["versi"] == base["versi"] + 2
    assert [h["opd_kode"] for h in restored["riwayat"]][-3:] == ["bpbd", "dpupr", "bpbd"]
    assert after.rule_versi == changed["versi"]


def test_rule_validation(settings, katalog):
    async def go(conn, spec):
        return await store.add(conn, store.RuleSpec.model_validate(spec), TESTER)
    base = {"nama": "x", "layanan_kode": "banjir", "prioritas": 5, "opd_kode": "bpbd"}
    from geo_api.errors import InvalidParameter
    with pytest.raises(InvalidParameter, match="No published layer"):
        run(settings, lambda c: go(c, {**base, "wilayah": "layer", "layer_id": "tidak_ada"}))
    with pytest.raises(InvalidParameter, match="has no column"):
        run(settings, lambda c: go(c, {**base, "wilayah": "layer", "layer_id": "jalan_sintetis",
                                       "atribut_filter": {"end": ["x"]}}))
    with pytest.raises(InvalidParameter, match="No kelurahan"):
        run(settings, lambda c: go(c, {**base, "wilayah": "kelurahan", "wilayah_kode": "36.71.99.9999"}))
    with pytest.raises(InvalidParameter, match="Unknown or inactive OPD"):
        run(settings, lambda c: go(c, {**base, "wilayah": "kota", "opd_kode": "tidak-ada"}))
    with pytest.raises(ValueError):
        store.RuleSpec.model_validate({**base, "wilayah": "kota", "ke_kantor": "kelurahan"})


def test_catalogue_marks_entries_to_confirm(settings, katalog, db):
    rows = db.execute("SELECT kode, perlu_konfirmasi FROM opd").fetchall()
    kodes = {r["kode"] for r in rows}
    assert {"dpupr", "dlh", "dishub", "satpolpp", "bpbd", "damkar", "dinkes", "dindik", "dinsos", "diskominfo",
            "tirta-benteng"} <= kodes
    assert sum(k.startswith("kec-") for k in kodes) == 13 and sum(k.startswith("kel-") for k in kodes) == 104
    assert any(r["perlu_konfirmasi"] for r in rows)
    again = run(settings, lambda conn: catalogue.setup(conn, settings))
    assert again["aturan_baru"] == 0 and again["opd"] == 0 and "jalan_sintetis" not in again
