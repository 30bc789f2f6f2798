"""Hypothesis properties of the routing rules (the address parser's live in test_geocode_forward): for any
location, category and layer facts the evaluation answers, deterministically, whatever order rules come in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo_api.geocoding.address import normalise, parse_address
from geo_api.routing import LayerFakta, Lokasi, RuleSet, evaluate
from tests.test_routing_evaluate import NAMES, RULES

KNOWN = {"jalan_rusak": "Jalan rusak", "sampah_liar": "Sampah liar"}
KODE_KEC = ["36.71.07", "36.71.04", "36.71.01"]

lokasi_kota = st.builds(
    lambda kec, n, lat, lon: Lokasi(lat, lon, True, f"{kec}.{1000 + n}", "Kel", kec, "Kec", "36.71", "Kota Tangerang",
                                    "inside"),
    st.sampled_from(KODE_KEC), st.integers(1, 20), st.floats(-6.3, -6.1), st.floats(106.55, 106.75))
lokasi_luar = st.builds(
    lambda lat, lon: Lokasi(lat, lon, False, "36.03.01.2001", "Desa X", "36.03.01", "Kec X", "36.03",
                            "Kabupaten Tangerang", "tetangga"),
    st.floats(-6.4, -6.0), st.floats(106.4, 106.9))
fakta = st.dictionaries(st.just(1), st.builds(
    lambda ada, jarak, status: LayerFakta("jalan", fid="1", jarak_m=jarak, atribut={"status": status},
                                          tersedia=ada),
    st.booleans(), st.floats(0, 5000), st.sampled_from(["nasional", "kota", "", "tidak diketahui"])))
kategori = st.one_of(st.sampled_from(sorted(KNOWN)), st.text(max_size=40))


@given(kategori, st.one_of(lokasi_kota, lokasi_luar), fakta, st.permutations(RULES))
@hsettings(max_examples=300, deadline=None)
def test_routing_always_decides_and_rule_order_does_not_matter(kat, lokasi, facts, order):
    rs = RuleSet(RULES, NAMES, KNOWN, "diskominfo")
    k = evaluate(kat, lokasi, rs, facts)
    assert k.keputusan in ("aturan", "triase", "serah_terima") and k.opd_kode and k.teks
    again = evaluate(kat, lokasi, RuleSet(tuple(order), NAMES, KNOWN, "diskominfo"), facts)
    assert (again.opd_kode, again.rule_id, again.keputusan) == (k.opd_kode, k.rule_id, k.keputusan)
    if kat not in KNOWN:
        assert (k.keputusan, k.opd_kode) == ("triase", "diskominfo")
    if kat == "jalan_rusak" and lokasi.di_kota:
        # the city-wide rule (priority 0) catches whatever the specific ones pass over
        assert k.keputusan == "aturan" and k.rule_id is not None
    if k.rule_id is not None:
        chosen = next(r for r in RULES if r.rule_id == k.rule_id)
        skipped = {s["id"] for s in k.alasan.get("tidak_berlaku", [])}
        assert all(r.rule_id in skipped for r in rs.rules if r.prioritas > chosen.prioritas
                   and (r.layanan_kode in (None, kat)) and r.rule_id != chosen.rule_id
                   and (r.wilayah_kode is None or r.wilayah_kode in (lokasi.kecamatan_kode or "")))


@given(st.text(max_size=300))
@hsettings(max_examples=300, deadline=None)
def test_address_normalisation_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once
    parse_address(once)
