"""A SYNTHETIC street layer for the forward benchmark: 20,000 named lines inside Kota Tangerang.

Names are built from the stock Indonesian street names are made of (flowers, birds, heroes, places + a
suffix + a number); lines are random, 200 m to 2 km, inside the city. The expected kelurahan of each street
(the one it runs longest through) is computed here with shapely, independently of the platform's SQL.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import shapely
from shapely.geometry import LineString, shape
from shapely.strtree import STRtree

BASES = ("Melati Mawar Anggrek Kenanga Dahlia Flamboyan Cempaka Kamboja Teratai Seroja Bougenville Sakura Tulip "
         "Rajawali Merpati Elang Kutilang Cendrawasih Nuri Kakatua Garuda Kenari Jalak Beo Perkutut Camar "
         "Sudirman Diponegoro Imam_Bonjol Gatot_Subroto Ahmad_Yani Hasanuddin Pattimura Kartini Dewi_Sartika "
         "Cut_Nyak_Dien Teuku_Umar Juanda Thamrin Hayam_Wuruk Gajah_Mada Antasari Sisingamangaraja Wahid_Hasyim "
         "Hasyim_Ashari Agus_Salim Tjokroaminoto Sutomo Supratman Pemuda Veteran Pahlawan Merdeka Proklamasi "
         "Mangga Rambutan Durian Jambu Nangka Salak Manggis Kelapa Pinang Cemara Beringin Jati Mahoni Akasia "
         "Intan Berlian Mutiara Zamrud Safir Delima Kencana Perak Emas Pelangi Bintang Bulan Matahari Angkasa "
         "Nusantara Sumatra Jawa Kalimantan Sulawesi Bali Lombok Flores Timor Papua Ambon Ternate Bangka Madura "
         "Masjid Pesantren Sekolah Pasar Stasiun Kebun Sawah Empang Kali Sungai Bendungan Pintu_Air Lapangan").split()
SUFFIXES = ["", "Raya", "Indah", "Jaya", "Baru", "Permai", "Asri", "Utama", "Timur", "Barat", "Selatan", "Utara",
            "Dalam", "Tengah"]
TITLES = {"Sudirman": "Jend.", "Ahmad_Yani": "Jend.", "Gatot_Subroto": "Jend.", "Hasyim_Ashari": "KH",
          "Wahid_Hasyim": "KH", "Agus_Salim": "H.", "Juanda": "Ir. H."}


def build(data: Path, n: int = 20_000, seed: int = 19) -> tuple[dict, list[dict]]:
    """A GeoJSON FeatureCollection of n streets and, per street inside the city, its expected kelurahan."""
    rng = random.Random(seed)
    kel = json.load(open(data / "kota_tangerang_kelurahan.geojson", encoding="utf-8"))["features"]
    shapes = [shape(f["geometry"]) for f in kel]
    kodes = [f["properties"]["kode"] for f in kel]
    names = {f["properties"]["kode"]: f["properties"]["nama"] for f in kel}
    city = shapely.union_all(shapes)
    tree = STRtree(shapes)
    minx, miny, maxx, maxy = city.bounds
    coslat = math.cos(math.radians(6.2))
    features, truth, seen = [], [], set()
    while len(features) < n:
        base = rng.choice(BASES)
        name = " ".join(x for x in (TITLES.get(base, "") if rng.random() < 0.5 else "", base.replace("_", " "),
                                    rng.choice(SUFFIXES), str(rng.randint(1, 40)) if rng.random() < 0.8 else "") if x)
        plain = name.split(" ", 1)[-1] if name.split(" ")[0] in ("Jend.", "KH", "H.", "Ir.") else name
        if plain in seen:
            continue
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not city.contains(shapely.Point(x, y)):
            continue
        seen.add(plain)
        pts = [(x, y)]
        for _ in range(rng.randint(1, 3)):
            ang, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0.0006, 0.006)
            x, y = x + dist * math.cos(ang) / coslat, y + dist * math.sin(ang)
            pts.append((x, y))
        line = LineString(pts)
        features.append({"type": "Feature", "properties": {"nama": f"Jalan {name}"},
                         "geometry": shapely.geometry.mapping(line)})
        lengths = []
        for i in tree.query(line):
            piece = line.intersection(shapes[i])
            if not piece.is_empty:
                lengths.append((shapely.transform(piece, lambda xy: xy * [coslat, 1.0]).length, kodes[i]))
        if lengths:
            lengths.sort(reverse=True)
            truth.append({"nama": name, "longest": lengths[0][1], "parts": [k for _, k in lengths],
                          "nama_kel": {k: names[k] for _, k in lengths}, "margin": (lengths[0][0] - (
                              lengths[1][0] if len(lengths) > 1 else 0.0)) / lengths[0][0]})
    return {"type": "FeatureCollection", "features": features}, truth


def typo(text: str, rng: random.Random) -> str:
    """One letter deleted or two swapped, away from the first three and from digits."""
    chars = list(text)
    idx = [i for i in range(3, len(chars) - 1) if chars[i].isalpha() and chars[i + 1].isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    if rng.random() < 0.5:
        del chars[i]
    else:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def queries(truth: list[dict], n: int = 2000, seed: int = 20) -> list[dict]:
    """Street-only and street+area queries as people write them, with the kelurahan each must answer."""
    rng = random.Random(seed)
    rows = []
    clear = [t for t in truth if t["margin"] > 0.05]  # a near tie in length has no single right answer
    for t in rng.sample(clear, min(n, len(clear))):
        nama = t["nama"]
        form = rng.randrange(5)
        q = [f"Jl. {nama}", f"jln {nama.lower()}", f"Jalan {nama} No. {rng.randint(1, 99)}", f"JL. {nama.upper()}",
             f"Jl. {typo(nama, rng)}"][form]
        rows.append({"query": q, "expect": t["longest"], "kind": "street_only_20k" if form < 4 else
                     "street_only_20k_typo"})
        other = rng.choice(t["parts"])
        rows.append({"query": f"Jl. {nama} {t['nama_kel'][other].lower()}", "expect": other,
                     "kind": "street_area_20k"})
    return rows
