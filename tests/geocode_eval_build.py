"""Build tests/geocode_eval.csv: many spellings per place, from the gazetteer, crosswalk and POIs.

Run `python tests/geocode_eval_build.py [DATA_DIR]`; deterministic (fixed seed). Columns: query, expect
(the Kemendagri kode the top candidate must have; empty = no candidate at all), kind (which spelling rule).

The kinds after `outside_city` are addresses as citizens write them (issue 19): the area after the street
without a comma or marker, RT/RW first, landmarks, lower case, abbreviations, names shared with a neighbouring
desa, and streets alone from the demo street layer (`street_only`: needs that layer published and indexed; the
expected kelurahan is the one the street runs longest through).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

import shapely
from shapely.geometry import shape

ROADS = Path(__file__).resolve().parents[1] / "geo_api" / "catalogue" / "jalan_sintetis.geojson"
LANDMARK = ["depan", "dekat", "belakang", "samping", "seberang", "Depan", "dkt"]
ABBREV = [(" Utara", " Ut."), (" Selatan", " Sel."), (" Barat", " Bar."), (" Timur", " Tim."), ("Kebon ", "Kebun "),
          ("Cipondoh ", "Cip. "), ("Karang ", "Krg. "), ("Pondok ", "Pdk. ")]

STREETS = ["Merdeka", "Kemuning", "Melati", "Mawar Raya", "Anggrek", "Sudirman", "KH Hasyim Ashari", "Imam Bonjol",
           "Moh. Toha", "Perintis Kemerdekaan", "Veteran", "Gatot Subroto", "Raya Serang", "Pembangunan"]
NONSENSE = ["asdfgh qwerty", "pizza delivery please", "hello world", "zzzz xxxx yyyy", "lorem ipsum dolor",
            "qwertyuiop", "Jl. Xyzabc No. 9", "the quick brown fox", "12345 abcde", "mnbvcxz lkjhg",
            "aaaaaaa bbbbbbb", "Jalan Blablabla RT 01/02", "foo bar baz", "kucing hitam melompat", "nasi goreng enak",
            "pqrstuv wxyz", "Gg. Qwzx No 3", "sdfkjh sdfkjh", "xylophone", "test test test"]


# Written by hand, not generated: shared names, context that decides, messy real-world forms.
HAND = [
    ("karawaci", "36.71.07.1001", "shared_name"),  # kelurahan ranks above the kecamatan of the same name
    ("Kec. Karawaci, Kota Tangerang", "36.71.07", "shared_name"),
    ("Kecamatan Karawaci", "36.71.07", "shared_name"),
    ("sukasari, kec tangerang", "36.71.01.1007", "shared_name"),
    ("Desa Sukasari Kec. Rajeg Kab. Tangerang", "36.03.11.2011", "shared_name"),
    ("Sukasari, Kabupaten Tangerang", "36.03.11.2011", "shared_name"),
    ("Babakan, Kota Tangerang 15118", "36.71.01.1008", "shared_name"),
    ("Babakan Kab Tangerang", "36.03.20.1011", "shared_name"),
    ("Kelapa Dua, Kebon Jeruk, Jakarta Barat", "31.73.05.1004", "shared_name"),
    ("Pasar Baru Karawaci", "36.71.07.1015", "shared_name"),
    ("Pasar Baru, Jakarta Pusat", "31.71.02.1001", "shared_name"),
    ("Bojong Nangka, Kelapa Dua, Kab. Tangerang", "36.03.28.1005", "outside_city"),
    ("Perum Taman Cibodas Blok A2 No.5 RT.04/RW.07 Cibodas Baru", "36.71.09.1003", "messy"),
    ("Gg. Masjid RT02/RW03 Kel Sudimara Timur Ciledug", "36.71.06.1003", "messy"),
    ("jln. kh hasyim ashari gg. h. saan no.12 rt 1 rw 4 kel.cipete kec.pinang", "36.71.11.1007", "messy"),
    ("dekat RSUD Kota Tangerang", "36.71.01.1006", "messy"),
    ("kreo selatan larangan", "36.71.13.1008", "messy"),
    ("Kel. Kereo Kec. Larangan", "36.71.13.1004", "messy"),
    ("Perumnas 2 Cibodasari Cibodas", "36.71.09.1002", "messy"),
    # From issue 19: the area after the street with no comma or marker, and a name shared with Kab. Tangerang.
    ("Jl. KH Hasyim Ashari Cipondoh", "36.71.05.1001", "street_area_unmarked"),
    ("Jl. Perintis Kemerdekaan Babakan", "36.71.01.1008", "street_area_unmarked"),
    ("Jl. Diponegoro Sukarasa", "36.71.01.1001", "street_area_unmarked"),
    ("Jl. Rajawali No. 24 Sukarasa Tangerang", "36.71.01.1001", "street_area_unmarked"),
    ("Pasar Anyar", "36.71.01.1002", "neighbour_collision"),
    ("depan Pasar Anyar", "36.71.01.1002", "landmark"),
]


def rt_rw(rng: random.Random) -> str:
    """One of the RT/RW forms people write."""
    rt, rw = rng.randint(1, 15), rng.randint(1, 12)
    return rng.choice([f"RT {rt:03d}/RW {rw:03d}", f"RT.{rt} RW.{rw}", f"RT{rt:02d}/{rw:02d}", f"rt {rt} rw {rw}",
                       f"RT/RW {rt:03d}/{rw:03d}"])


def typo(name: str, rng: random.Random) -> str:
    """Delete, double or swap one letter away from the first two."""
    chars = list(name)
    idx = [i for i in range(2, len(chars) - 1) if chars[i].isalpha()]
    i = rng.choice(idx)
    op = rng.choice(["del", "swap", "dup"])
    if op == "del":
        del chars[i]
    elif op == "swap":
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars.insert(i, chars[i])
    return "".join(chars)


def joined_or_split(name: str) -> str | None:
    """'Cibodas Sari' → 'Cibodassari'; 'Cipondoh' → 'Ci Pondoh'."""
    if " " in name:
        return name.replace(" ", "")
    for prefix in ("Ci", "Suka", "Karang", "Kebon", "Pondok", "Batu", "Poris", "Kunciran", "Pinang"):
        if name.startswith(prefix) and len(name) > len(prefix) + 3:
            return f"{prefix} {name[len(prefix):].capitalize()}"
    return None


def build(data: Path) -> list[tuple[str, str, str]]:
    """All (query, expect, kind) rows."""
    rng = random.Random(4)
    gaz = list(csv.DictReader(open(data / "gazetteer_wilayah_banten_dki.csv", encoding="utf-8")))
    rows: list[tuple[str, str, str]] = []
    kel = [g for g in gaz if g["level"] == "desa_kelurahan" and g["kab_kode"] == "36.71"]
    for g in kel:
        nama, kec, kode = g["nama"], g["kec_nama"], g["kode"]
        street = rng.choice(STREETS)
        rows += [
            (f"Kel. {nama}, Kec. {kec}", kode, "formal"),
            (f"Jl. {street} No. {rng.randint(1, 200)} {rt_rw(rng)} Kelurahan {nama} Kecamatan {kec} "
             f"Kota Tangerang {g['kodepos']}", kode, "full_address"),
            (f"jl {street.lower()} no {rng.randint(1, 99)} {rt_rw(rng).lower()} {nama.lower()} {kec.lower()}", kode,
             "lowercase_no_commas"),
            (f"{nama} {g['kodepos']}", kode, "name_postcode"),
            (f"Kel {typo(nama, rng)}, Tangerang", kode, "typo"),
            (f"KELURAHAN {nama.upper()} KEC {kec.upper()} TANGERANG", kode, "uppercase"),
        ]
        js = joined_or_split(nama)
        if js:
            rows.append((f"{js}, {kec}", kode, "joined_split"))
    for r in csv.DictReader(open(data / "crosswalk_bps2018_kemendagri2025.csv", encoding="utf-8")):
        if r["level"] == "desa_kelurahan" and r["match"] == "fuzzy" and r["kode_kemendagri"].startswith("36.71"):
            rows.append((f"Desa {r['nama_bps'].title()}, Kota Tangerang", r["kode_kemendagri"], "bps_spelling"))
            rows.append((f"{r['nama_bps'].lower()}", r["kode_kemendagri"], "bps_spelling_bare"))
    for g in gaz:
        if g["level"] == "kecamatan" and g["kab_kode"] == "36.71":
            rows.append((f"Kecamatan {g['nama']}, Kota Tangerang", g["kode"], "kecamatan"))
    poi = json.load(open(data / "osm_poi_kota_tangerang_ring3km.geojson", encoding="utf-8"))["features"]
    names = Counter(f["properties"]["name"] for f in poi)
    for f in poi:
        p = f["properties"]
        if p["in_kota_tangerang"] and p["name"] and names[p["name"]] == 1 and p["desa_kel_kode"]:
            rows.append((p["name"], p["desa_kel_kode"], f"poi_{p['category']}"))
    tet = json.load(open(data / "tetangga_desa_kelurahan_ring3km.geojson", encoding="utf-8"))["features"]
    short = {"36.03": "Kab. Tangerang", "36.74": "Kota Tangerang Selatan", "31.73": "Jakarta Barat",
             "31.74": "Jakarta Selatan", "31.72": "Jakarta Utara"}
    for f in tet:
        p = f["properties"]
        word = "Desa" if p["jenis"] == "Desa" else "Kel."
        rows.append((f"{word} {p['nama']}, Kec. {p['kec_nama']}, {short[p['kab_kode']]}", p["kode"], "outside_city"))
    rows += citizen_forms(data, gaz, kel, poi, rng)
    rows += [(q, "", "nonsense") for q in NONSENSE]
    rows += HAND
    return rows


def citizen_forms(data: Path, gaz, kel, poi, rng: random.Random) -> list[tuple[str, str, str]]:
    """Addresses as citizens write them: unmarked areas, RT/RW first, landmarks, abbreviations, collisions."""
    rows: list[tuple[str, str, str]] = []
    for g in kel:
        nama, kec, kode = g["nama"], g["kec_nama"], g["kode"]
        street = rng.choice(STREETS)
        rows += [
            (f"Jl. {street} {nama}", kode, "street_area_unmarked"),
            (f"Jl. {street} {nama} Tangerang", kode, "street_area_unmarked"),
            (f"{rt_rw(rng)} {nama} {kec}", kode, "rt_rw_first"),
            (f"jl. {street.lower()} {nama.lower()} {kec.lower()} tangerang", kode, "lowercase_unmarked"),
        ]
        for old, new in ABBREV:
            if old in f" {nama} ":
                rows.append((f"Jl. {street}, {f' {nama} '.replace(old, new).strip()}", kode, "abbreviation"))
                break
    names = Counter(f["properties"]["name"] for f in poi)
    city_poi = [f["properties"] for f in poi if f["properties"]["in_kota_tangerang"] and f["properties"]["name"]
                and names[f["properties"]["name"]] == 1 and f["properties"]["desa_kel_kode"]]
    for p in rng.sample(city_poi, min(60, len(city_poi))):
        rows.append((f"{rng.choice(LANDMARK)} {p['name']}", p["desa_kel_kode"], "landmark"))
    rows += collisions(gaz, kel)
    rows += street_only(data)
    return rows


def collisions(gaz, kel) -> list[tuple[str, str, str]]:
    """A name shared by a city kelurahan and a desa elsewhere: unmarked → the city's; with its kab → theirs."""
    rows = []
    city = {g["nama"].lower(): g for g in kel}
    per_kab = Counter((g["nama"].lower(), g["kab_kode"]) for g in gaz if g["level"] == "desa_kelurahan")
    seen = set()
    for g in gaz:
        name = g["nama"].lower()
        if g["level"] != "desa_kelurahan" or g["kab_kode"] == "36.71" or name not in city:
            continue
        if per_kab[(name, g["kab_kode"])] != 1:
            continue
        if name not in seen:
            seen.add(name)
            rows.append((g["nama"], city[name]["kode"], "neighbour_collision"))
            rows.append((f"jl. melati {name}", city[name]["kode"], "neighbour_collision"))
        rows.append((f"{g['nama']}, {g['kab_nama']}", g["kode"], "neighbour_collision"))
    return rows


def street_only(data: Path) -> list[tuple[str, str, str]]:
    """Each demo street alone, in three spellings → the kelurahan it runs longest through."""
    import math

    coslat = math.cos(math.radians(6.2))  # lengths in a local equirectangular frame: the ranking is what counts
    rows = []
    kel = json.load(open(data / "kota_tangerang_kelurahan.geojson", encoding="utf-8"))["features"]
    shapes = [(f["properties"]["kode"], shape(f["geometry"])) for f in kel]

    def metric(geom):
        return shapely.transform(geom, lambda xy: xy * [coslat, 1.0])

    for f in json.load(open(ROADS, encoding="utf-8"))["features"]:
        line = shape(f["geometry"])
        inside = [(metric(line.intersection(g)).length, kode) for kode, g in shapes if line.intersects(g)]
        if not inside:
            continue
        kode = max(inside)[1]
        nama = f["properties"]["nama"]
        bare = nama.removeprefix("Jalan ")
        rows += [(nama, kode, "street_only"), (f"Jl. {bare} No. 7", kode, "street_only"),
                 (f"jln {bare.lower()}", kode, "street_only")]
    return rows


def main() -> None:
    """Write the evaluation CSV next to this file."""
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    rows = build(data)
    out = Path(__file__).with_name("geocode_eval.csv")
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "expect", "kind"])
        w.writerows(rows)
    print(f"{len(rows)} rows → {out}")


if __name__ == "__main__":
    main()
