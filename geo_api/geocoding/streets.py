"""The street gazetteer: street names from a published layer → the kelurahan each runs through.

No street data ships with the platform; the city publishes one (DPUPR's road inventory, an OSM extract) like any
other layer and names it in `geocode_street_layer`. geocode_streets.sql cuts every street by the kelurahan
polygons in PostGIS; this module keeps, per normalised name, the kelurahan with the length inside each and a
point on the street there. Names are normalised the way people vary them: Jl./Jln./Jalan dropped, titles
(KH, K.H., Jend., Dr., H.) and "Raya" dropped, old spellings (oe, dj, tj) and doubled letters folded.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from psycopg import sql as psql
from rapidfuzz import fuzz, process

from geo_api.geocoding.address import normalise

log = logging.getLogger(__name__)

PREFIXES = {"jl", "jln", "jaln", "jalan", "jaan", "jlan"}
# Words people add or leave out at will: titles, "raya", the km-post word.
DROP = {"kh", "k", "h", "hj", "haji", "jend", "jendral", "jenderal", "dr", "ir", "prof", "letjen",
        "mayjen", "brigjen", "kol", "kolonel", "letnan", "raden", "r", "moh", "muh", "mohammad", "muhammad",
        "mohamad", "m", "st", "tb", "km", "drs", "kyai", "kiai", "syekh"}
# Dropped only for the loose key: "Jl. Kemuning" and "Jl. Kemuning Raya" meet there when the exact name misses.
LOOSE = {"raya"}
GANG = {"gg", "gang"}
_OLD_SPELLING = [("oe", "u"), ("dj", "j"), ("tj", "c"), ("sy", "s"), ("sh", "s"), ("ch", "k")]
FUZZY_CUTOFF = 88.0
MAX_FUZZY_POOL_LEN = 3


@dataclass(frozen=True)
class StreetPart:
    """A street inside one kelurahan: its length there and a point on it inside the kelurahan."""

    nama: str
    kode: str
    panjang_m: float
    lat: float
    lon: float


def street_key(words: Sequence[str] | str, *, gang: bool = False, loose: bool = False) -> str:
    """The match key of a street name: prefixes and titles dropped, old spellings and doubled letters folded
    (`loose`: "Raya" dropped too)."""
    if isinstance(words, str):
        words = re.findall(r"[a-z0-9]+", normalise(words))
    words = list(words)
    if words and words[0] in GANG:
        gang, words = True, words[1:]
    while words and words[0] in PREFIXES:
        words = words[1:]
    kept = [w for w in words if w not in DROP and w not in PREFIXES and not (loose and w in LOOSE)]
    if not any(w.isalpha() and len(w) >= 3 for w in kept):
        return ""
    k = "".join(kept)
    for old, new in _OLD_SPELLING:
        k = k.replace(old, new)
    k = re.sub(r"([a-z])\1+", r"\1", k)  # letters only: "Jalan Melati 33" is not "Jalan Melati 3"
    return ("gang:" if gang else "") + k


def _longest_first(parts: dict[str, StreetPart]) -> list[StreetPart]:
    return sorted(parts.values(), key=lambda p: (-p.panjang_m, p.kode))


class StreetIndex:
    """Street keys → the parts of that street per kelurahan, longest first; exact, then fuzzy lookup."""

    def __init__(self, rows: Sequence[dict], *, layer: str | None = None, stamp: str | None = None):
        """Build from geocode_streets rows (nama, kode, panjang_m, lat, lon)."""
        self.layer, self.stamp = layer, stamp
        by_key: dict[str, dict[str, StreetPart]] = defaultdict(dict)
        by_loose: dict[str, dict[str, StreetPart]] = defaultdict(dict)
        for r in rows:
            k = street_key(r["nama"])
            if not k or r.get("lat") is None:
                continue
            part = StreetPart(r["nama"], r["kode"], float(r["panjang_m"] or 0.0), float(r["lat"]), float(r["lon"]))
            for index, kk in ((by_key, k), (by_loose, street_key(r["nama"], loose=True))):
                old = index[kk].get(part.kode)
                if kk and (old is None or part.panjang_m > old.panjang_m):
                    index[kk][part.kode] = part
        self._parts = {k: _longest_first(v) for k, v in by_key.items()}
        self._loose = {k: _longest_first(v) for k, v in by_loose.items() if k not in self._parts}
        self._by_len: dict[int, list[str]] = defaultdict(list)
        for k in self._parts:
            self._by_len[len(k)].append(k)
        self._fuzzy: dict[str, tuple[str, float] | None] = {}

    def __len__(self) -> int:
        """How many distinct street names are indexed."""
        return len(self._parts)

    def exact(self, key: str, loose_key: str = "") -> list[StreetPart]:
        """The parts of the street with exactly this key, else with this loose key (empty when unknown)."""
        return self._parts.get(key) or (self._loose.get(loose_key, []) if loose_key else [])

    def lookup(self, key: str) -> tuple[list[StreetPart], float]:
        """Exact match, else the closest key (rapidfuzz ratio ≥ FUZZY_CUTOFF) with its similarity 0..1."""
        if not key:
            return [], 0.0
        found = self._parts.get(key)
        if found:
            return found, 1.0
        if len(key.removeprefix("gang:")) < 6:
            return [], 0.0
        if key not in self._fuzzy:
            pool = [c for n in range(len(key) - MAX_FUZZY_POOL_LEN, len(key) + MAX_FUZZY_POOL_LEN + 1)
                    for c in self._by_len.get(n, ())]
            best = process.extractOne(key, pool, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF) if pool else None
            if len(self._fuzzy) >= 50_000:  # bounded: gibberish must not grow it
                self._fuzzy.clear()
            self._fuzzy[key] = (best[0], best[1] / 100) if best else None
        hit = self._fuzzy[key]
        return (self._parts[hit[0]], hit[1] * 0.95) if hit else ([], 0.0)


# ---- loading from the published layer ----------------------------------------------------------------------------
def _columns_ok(columns: Collection[str], name_column: str) -> bool:
    return "geom" in columns and name_column in columns


def street_rows_query(layer: str, name_column: str) -> psql.Composed:
    """geocode_streets.sql with the layer and its name column quoted as identifiers (checked first)."""
    from sql import query

    return psql.SQL(query("geocode_streets")).format(layer=psql.Identifier("published", layer),
                                                     name=psql.Identifier(name_column))


def _refusal(settings, columns: Collection[str], count: int | None) -> str | None:
    layer, col = settings.geocode_street_layer, settings.geocode_street_name_column
    if not columns:
        return f"street layer {layer!r} is not published"
    if not _columns_ok(columns, col):
        return f"street layer {layer!r} has no column {col!r} (or no geometry)"
    if count is not None and count > settings.geocode_street_max_features:
        return (f"street layer {layer!r} has {count} features; at most {settings.geocode_street_max_features} "
                "are indexed (geocode_street_max_features)")
    return None


def _params(settings) -> dict:
    return {"max_chars": settings.geocode_street_max_name_chars}


def load_streets(conn, settings) -> StreetIndex | None:
    """Read and index the street layer over a sync connection; None (logged) when absent or refused."""
    from sql import query

    layer = settings.geocode_street_layer
    if not layer:
        return None
    from layers.catalog import published_columns_sync

    columns = published_columns_sync(conn, [layer]).get(layer, {})
    count = None
    if _columns_ok(columns, settings.geocode_street_name_column):
        count = conn.execute(psql.SQL("SELECT count(*) AS n FROM {}").format(
            psql.Identifier("published", layer))).fetchone()["n"]
    why = _refusal(settings, columns, count)
    if why:
        log.warning("streets not indexed: %s", why)
        return None
    stamp = (conn.execute(query("geocode_street_stamp"), {"id": layer}).fetchone() or {}).get("stamp")
    rows = conn.execute(street_rows_query(layer, settings.geocode_street_name_column), _params(settings)).fetchall()
    return StreetIndex(rows, layer=layer, stamp=stamp)


async def street_stamp(conn, settings) -> str | None:
    """The published version stamp of the street layer (None when absent): a change means re-index."""
    from geo_api.db import fetch_one

    if not settings.geocode_street_layer:
        return None
    row = await fetch_one(conn, "geocode_street_stamp", {"id": settings.geocode_street_layer})
    return row["stamp"] if row else None


async def fetch_street_rows(conn, settings) -> tuple[list[dict], str | None] | None:
    """The street rows and stamp over an async connection; None when no layer is named.

    A refused layer (absent, no name column, too many features) or one whose indexing query fails (statement
    timeout, bad data) gives no rows but keeps its stamp, so it is not retried until a new version is
    published; a lost connection raises (the caller keeps the index it has)."""
    import psycopg

    from layers.catalog import published_columns

    layer = settings.geocode_street_layer
    if not layer:
        return None
    stamp = await street_stamp(conn, settings)
    columns = (await published_columns(conn, [layer])).get(layer, {})
    count = None
    if _columns_ok(columns, settings.geocode_street_name_column):
        async with conn.cursor() as cur:
            await cur.execute(psql.SQL("SELECT count(*) AS n FROM {}").format(psql.Identifier("published", layer)))
            count = (await cur.fetchone())["n"]
    why = _refusal(settings, columns, count)
    if why:
        log.warning("streets not indexed: %s", why)
        return [], stamp
    try:
        async with conn.cursor() as cur:
            await cur.execute(street_rows_query(layer, settings.geocode_street_name_column), _params(settings))
            return await cur.fetchall(), stamp
    except (psycopg.errors.QueryCanceled, psycopg.DataError, psycopg.errors.InternalError) as exc:
        log.warning("streets not indexed: the street layer %r could not be cut by kelurahan (%s)", layer,
                    type(exc).__name__)
        return [], stamp
