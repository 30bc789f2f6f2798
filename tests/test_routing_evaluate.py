"""The routing evaluation on plain data (no database): priorities, reasons, unavailable layers, hand-offs."""

from __future__ import annotations

from geo_api.routing import LayerFakta, Lokasi, Rule, RuleSet, evaluate

KEL = Lokasi(-6.19, 106.62, True, "36.71.07.1001", "Karawaci", "36.71.07", "Karawaci", "36.71", "Kota Tangerang",
             "inside")
RULES = (
    Rule(1, 3, "Jalan nasional", "jalan_rusak", "layer", 300, opd_kode="bbpjn", layer_id="jalan",
         atribut_filter={"status": ["nasional"]}, jarak_m=20),
    Rule(2, 1, "Karawaci ke kelurahan", "jalan_rusak", "kecamatan", 100, ke_kantor="kelurahan",
         wilayah_kode="36.71.07"),
    Rule(3, 1, "Dasar", "jalan_rusak", "kota", 0, opd_kode="disperkimtan"),
    Rule(4, 2, "Semua kategori di Benda", None, "kecamatan", 50, opd_kode="dishub", wilayah_kode="36.71.04"),
)
NAMES = {"bbpjn": "BBPJN", "disperkimtan": "Disperkimtan", "dishub": "Dishub", "diskominfo": "Diskominfo",
         "kel-36.71.07.1001": "Kantor Kelurahan Karawaci", "kab-36.03": "Pemerintah Kabupaten Tangerang"}
RS = RuleSet(RULES, NAMES, {"jalan_rusak": "Jalan rusak"}, "diskominfo")


def test_layer_rule_wins_when_near():
    k = evaluate("jalan_rusak", KEL, RS, {1: LayerFakta("jalan", fid="7", jarak_m=12.3, atribut={"nama": "Jl. A"})})
    assert (k.opd_kode, k.rule_id, k.rule_versi) == ("bbpjn", 1, 3)
    assert "12 m dari Jl. A (batas 20 m)" in k.teks and k.alasan["tidak_berlaku"] == []


def test_far_layer_falls_through_to_local_office_with_reason():
    k = evaluate("jalan_rusak", KEL, RS, {1: LayerFakta("jalan", fid="7", jarak_m=480.0, atribut={})})
    assert k.opd_kode == "kel-36.71.07.1001" and k.opd_nama == "Kantor Kelurahan Karawaci"
    [skipped] = k.alasan["tidak_berlaku"]
    assert skipped["id"] == 1 and "480 m, lebih dari batas 20 m" in skipped["alasan"]


def test_unpublished_layer_is_reported_not_fatal():
    k = evaluate("jalan_rusak", KEL, RS, {1: LayerFakta("jalan", tersedia=False)})
    assert k.opd_kode == "kel-36.71.07.1001"
    assert "belum terbit" in k.alasan["tidak_berlaku"][0]["alasan"]


def test_rule_for_every_category_and_unknown_kelurahan():
    benda = Lokasi(-6.14, 106.66, True, None, None, "36.71.04", "Benda", "36.71", "Kota Tangerang", "unassigned")
    k = evaluate("jalan_rusak", benda, RS, {1: LayerFakta("jalan")})
    assert k.opd_kode == "dishub" and k.rule_id == 4
    assert [t["id"] for t in k.alasan["tidak_berlaku"]] == [1, 2]


def test_hand_off_and_triage():
    luar = Lokasi(-6.17, 106.52, False, "36.03.01.2001", "Desa X", "36.03.01", "Kec X", "36.03", "Kabupaten Tangerang",
                  "tetangga")
    k = evaluate("jalan_rusak", luar, RS)
    assert (k.opd_kode, k.keputusan, k.rule_id) == ("kab-36.03", "serah_terima", None)
    assert "Kabupaten Tangerang" in k.teks
    k = evaluate("apa_ini", KEL, RS)
    assert (k.opd_kode, k.keputusan) == ("diskominfo", "triase") and "tidak dikenal" in k.teks
    laut = Lokasi(-5.9, 106.6, False, geocode="nearest_kabkota", pesan="kab/kota terdekat Kabupaten Tangerang")
    k = evaluate("jalan_rusak", laut, RS)
    assert k.keputusan == "triase" and "terdekat Kabupaten Tangerang" in k.teks


def test_no_rule_applies_goes_to_triage():
    rs = RuleSet(RULES[:2], NAMES, {"jalan_rusak": "Jalan rusak"}, "diskominfo")
    benda = Lokasi(-6.14, 106.66, True, "36.71.04.1001", "Belendung", "36.71.04", "Benda", "36.71", "Kota Tangerang")
    k = evaluate("jalan_rusak", benda, rs, {1: LayerFakta("jalan")})
    assert k.keputusan == "triase" and len(k.alasan["tidak_berlaku"]) == 2
