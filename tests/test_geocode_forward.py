"""Forward geocoding: the address parser (examples + hypothesis), ranking, the evaluation set, HTTP."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo_api.db import connect
from geo_api.geocoding import load_geocoder
from geo_api.geocoding.address import parse_address
from geo_api.geocoding.forward import evaluate, top_kode

EVAL = Path(__file__).with_name("geocode_eval.csv")


@pytest.fixture(scope="module")
def fwd(settings, katalog):
    """The forward index with the demo street layer (jalan_sintetis, published by `katalog`) indexed."""
    with connect(settings) as conn:
        return load_geocoder(conn, tolerance_m=30.0, nearest_max_m=25_000.0, settings=settings).forward


@pytest.mark.parametrize("text, rt, rw", [
    ("Jl. Kemuning RT 003/RW 005 Cibodas", "003", "005"),
    ("jl kemuning rt.3 rw.5 cibodas", "003", "005"),
    ("Jl Kemuning RT03/05 Cibodas", "003", "005"),
    ("RT/RW 003/005 Kel. Cibodas", "003", "005"),
    ("rt 12 rw 4", "012", "004"),
    ("Gg. Melati RW 07", None, "007"),
])
def test_rt_rw_forms(text, rt, rw):
    p = parse_address(text)
    assert (p.rt, p.rw) == (rt, rw)


def test_full_address_parts():
    p = parse_address("Jl. Kemuning No. 5A RT 003/RW 005 Kel. Cibodas Sari Kec. Cibodas Kota Tangerang 15138")
    assert p.jalan == "kemuning" and p.nomor == "5a" and p.kodepos == "15138"
    assert [s.text for s in p.tagged("kelurahan")] == ["cibodas sari"]
    assert [s.text for s in p.tagged("kecamatan")] == ["cibodas"]
    assert [s.text for s in p.tagged("kabkota")] == ["tangerang"]


@given(st.text(max_size=200))
@hsettings(max_examples=300, deadline=None)
def test_parser_never_crashes(text):
    p = parse_address(text)
    assert p.kodepos is None or (len(p.kodepos) == 5 and p.kodepos.isdigit())
    assert all(s.words for s in p.segments)


@given(kel=st.sampled_from(["Cibodas Sari", "Sukarasa", "Karang Tengah", "Poris Plawad"]),
       rt=st.integers(1, 30), rw=st.integers(1, 30), sep=st.sampled_from([", ", " ", ",", " , "]),
       form=st.sampled_from(["RT {rt:03d}/RW {rw:03d}", "RT.{rt} RW.{rw}", "RT{rt:02d}/{rw:02d}", "rt {rt} rw {rw}"]))
@hsettings(max_examples=200, deadline=None)
def test_parser_rt_rw_and_kelurahan_survive_any_separator(kel, rt, rw, sep, form):
    text = f"Jl. Melati No. 4{sep}{form.format(rt=rt, rw=rw)}{sep}Kel. {kel}{sep}Kota Tangerang"
    p = parse_address(text)
    assert (int(p.rt), int(p.rw)) == (rt, rw)
    assert [s.text for s in p.tagged("kelurahan")] == [kel.lower()]


@pytest.mark.parametrize("text, kode", [
    ("Jl. Kemuning No. 5 RT 003/RW 005 Kel. Cibodasari Kec. Cibodas Kota Tangerang", "36.71.09.1002"),
    ("kel kereo kec larangan", "36.71.13.1004"),  # BPS spelling from the crosswalk
    ("pedurenan karang tengah", "36.71.12.1006"),
    ("Cibodassari", "36.71.09.1002"),  # joined words
    ("Kel. Sukarsa, Tangerang", "36.71.01.1001"),  # typo
    ("karawaci", "36.71.07.1001"),  # the kelurahan before the kecamatan of the same name
    ("Kec. Karawaci", "36.71.07"),
    ("Sukasari, Kabupaten Tangerang", "36.03.11.2011"),
    ("Kantor Kelurahan Poris Plawad", "36.71.05.1008"),
])
def test_ranking(fwd, text, kode):
    assert top_kode(fwd.search(text)) == kode


def test_outside_address_says_so(fwd):
    c = fwd.search("Desa Bojong Nangka, Kec. Kelapa Dua, Kab. Tangerang")["candidates"][0]
    assert c["in_kota_tangerang"] is False and c["kabkota"]["kode"] == "36.03"
    assert "Kabupaten Tangerang" in c["message"]


@pytest.mark.parametrize("text", ["asdfgh qwerty", "pizza delivery please", "zzzz", "Jl. Xyzabc No. 9"])
def test_nothing_matching_returns_no_candidates(fwd, text):
    assert fwd.search(text)["candidates"] == []


def test_poi_point_is_used(fwd):
    c = fwd.search("Balai Kota Tangerang")["candidates"][0]
    assert c["point"]["source"] == "poi" and c["poi"]["name"] == "Balai Kota Tangerang"


def test_evaluation_set_top1(fwd):
    rows = list(csv.DictReader(open(EVAL, encoding="utf-8")))
    assert len(rows) > 1000
    acc, per_kind, misses = evaluate(fwd.search, rows)
    assert acc >= 0.97, misses[:20]
    # Issue 19: every kind that names an area ≥ 95 %, and the demo streets alone.
    for kind in ("street_area_unmarked", "rt_rw_first", "lowercase_unmarked", "abbreviation", "landmark",
                 "neighbour_collision", "street_only"):
        ok, n = per_kind[kind]
        assert n >= 10 and ok / n >= 0.95, (kind, ok, n, [m for m in misses if m[0] in {r["query"] for r in rows
                                                                                      if r["kind"] == kind}])
    assert per_kind["nonsense"][0] == per_kind["nonsense"][1]


HELD_OUT = Path(__file__).with_name("geocode_eval_held_out.csv")
GENERATED_BAR = 0.97  # the generated set (tests/geocode_eval_build.py, spellings of the gazetteer's own names)
HELD_OUT_BAR = 0.90  # the hand-written set: citizen forms the geocoder was not built from


def held_out_rows(db) -> list[dict[str, str]]:
    """tests/geocode_eval_held_out.csv with the expected kelurahan kode found by the boundaries, not by the
    geocoder: a named kelurahan by its name within its kecamatan in the loaded tables (exactly one), a POI by
    the kelurahan polygon its OSM point lies in (every POI of that name in the same one)."""
    rows = []
    for r in csv.DictReader(open(HELD_OUT, encoding="utf-8")):
        if r["poi"]:
            found = db.execute(
                "SELECT DISTINCT k.kode FROM poi p JOIN kelurahan k ON ST_Covers(k.geom, p.geom) WHERE p.name = %s",
                (r["poi"],)).fetchall()
        else:
            found = db.execute("SELECT k.kode FROM kelurahan k JOIN kecamatan c ON c.kode = k.kec_kode "
                               "WHERE k.nama = %s AND c.nama = %s", (r["kelurahan"], r["kecamatan"])).fetchall()
        assert len(found) == 1, (r, found)  # a case whose truth the boundaries cannot settle is a bad case
        rows.append({"query": r["query"], "expect": found[0]["kode"], "kind": r["kind"]})
    db.rollback()
    return rows


def test_evaluation_sets_top1_generated_and_held_out(fwd, db, capsys):
    """Both sets' top-1, reported apart (README 'How we test'): the generated one at its bar, and the held-out,
    hand-written one (abbreviations, RT/RW, typos, a kelurahan with a neighbouring kecamatan, POI phrases)."""
    generated = list(csv.DictReader(open(EVAL, encoding="utf-8")))
    held = held_out_rows(db)
    assert len(held) >= 100 and not {r["query"] for r in held} & {r["query"] for r in generated}
    gen_acc, _, _ = evaluate(fwd.search, generated)
    acc, per_kind, misses = evaluate(fwd.search, held)
    with capsys.disabled():
        print(f"\ngeocoder top-1: generated set {gen_acc:.1%} of {len(generated)}; "
              f"held-out hand-written set {acc:.1%} of {len(held)}")
        for kind, (ok, n) in sorted(per_kind.items()):
            print(f"  held-out {kind}: {ok}/{n}")
        for m in misses:
            print(f"  held-out miss: {m}")
    assert gen_acc >= GENERATED_BAR
    assert acc >= HELD_OUT_BAR, misses
    for kind, (ok, n) in per_kind.items():  # and no kind of writing far below the rest
        assert n < 5 or ok / n >= HELD_OUT_BAR, (kind, ok, n, misses)
    # a kelurahan written with a neighbouring kecamatan: the kelurahan first, the kecamatan named still a
    # candidate, and the app asked to have the citizen pin the place (the text contradicts itself)
    # ("Kec. Tangerang" is skipped: it also names the kota the kelurahan is in, so that text agrees with itself)
    for r in (r for r in held if r["kind"] == "neighbour_kecamatan" and "Kec. Tangerang" not in r["query"]):
        res = fwd.search(r["query"])
        assert res["pin_recommended"] is True, r
        assert any(c["kelurahan"] is None and c["kecamatan"] for c in res["candidates"][1:]), r


def test_http_search(client):
    r = client.get("/geocode/search", params={"q": "Jl. Melati No.4 RT.3 RW.5 Kel. Cibodas Sari, Cibodas 15138"})
    assert r.status_code == 200, r.text
    body = r.json()
    c = body["candidates"][0]
    assert c["kelurahan"]["kode"] == "36.71.09.1002" and c["kecamatan"]["kode"] == "36.71.09"
    assert c["point"]["lat"] < 0 and 0 < c["score"] <= 1
    assert {m["as"] for m in c["matched"]} >= {"kelurahan", "kecamatan", "kodepos"}
    assert body["parsed"]["rt"] == "003" and body["parsed"]["rw"] == "005"


def test_http_structured(client):
    r = client.get("/geocode/search", params={"kelurahan": "sukasari", "kecamatan": "tangerang"})
    assert r.status_code == 200 and r.json()["candidates"][0]["kelurahan"]["kode"] == "36.71.01.1007"
    r = client.get("/geocode/search", params={"kodepos": "15138"})
    assert r.status_code == 200 and r.json()["candidates"]


@pytest.mark.parametrize("params, status, parameter", [
    ({"q": ""}, 422, "q"),
    ({}, 422, "q"),
    ({"q": "x" * 5000}, 413, "q"),
    ({"q": "cibodas", "kodepos": "12ab"}, 422, "kodepos"),
    ({"q": "cibodas", "limit": "0"}, 422, "limit"),  # framework validation errors name it too (geo_api/edge.py)
])
def test_http_search_bad_input(client, params, status, parameter):
    r = client.get("/geocode/search", params=params)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["parameter"] == parameter


def test_http_autocomplete(client):
    r = client.get("/geocode/autocomplete", params={"q": "cibo"})
    assert r.status_code == 200
    labels = [s["label"] for s in r.json()["suggestions"]]
    assert labels and all("Cibodas" in x for x in labels[:3])
    r = client.get("/geocode/autocomplete", params={"q": "sari"})  # any word of the name may start the match
    assert any("Cibodas Sari" in s["label"] for s in r.json()["suggestions"])
    assert client.get("/geocode/autocomplete", params={"q": ""}).status_code == 422
    assert client.get("/geocode/autocomplete", params={"q": "zzzzqq"}).json()["suggestions"] == []
