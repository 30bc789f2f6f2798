"""Forward geocoding: address text → ranked candidates (desa/kelurahan, kecamatan, kab/kota, POI).

Names come from the gazetteer (Banten and DKI), their BPS spellings from the crosswalk, short kab/kota forms
and OSM POI names. Matching runs over word n-grams of each parsed segment: exact on a squashed key (letters
and digits only, doubled letters collapsed, so Cibodas Sari = Cibodasari), else fuzzy (rapidfuzz ratio).
Candidates are ranked by the field each match was written under and by agreement of the rest of the text
(kecamatan, kab/kota, kodepos). A text with no match above the cut-off gets no candidates, not a weak guess.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from geo_api.geocoding.address import KAB_JENIS, ParsedAddress, Segment, normalise, parse_address
from geo_api.geocoding.streets import StreetIndex, StreetPart, street_key

SYNONYMS = {"kp": "kampung", "kmp": "kampung", "tim": "timur", "bar": "barat", "sel": "selatan", "ut": "utara",
            "utr": "utara", "pd": "pondok", "pdk": "pondok", "jkt": "jakarta", "tng": "tangerang",
            "tgr": "tangerang", "tangsel": "tangerang selatan", "jakbar": "jakarta barat",
            "jaksel": "jakarta selatan", "jakut": "jakarta utara", "jakpus": "jakarta pusat",
            "jaktim": "jakarta timur", "kab": "kabupaten", "kebun": "kebon", "kbn": "kebon", "kb": "kebon",
            "krg": "karang", "cip": "cipondoh", "prs": "poris", "pnggl": "paninggilan", "sdmr": "sudimara"}
# Words that never identify a place on their own.
STOPWORDS = {"raya", "jalan", "gang", "no", "rt", "rw", "blok", "kav", "kavling", "lantai", "lt", "gedung", "dekat",
             "depan", "belakang", "samping", "sebelah", "di", "dan", "the", "kantor", "kota", "kabupaten", "kel",
             "kec", "desa", "indonesia", "banten", "dki", "provinsi", "perumahan", "komplek", "ruko", "gg", "jl"}
WEIGHTS = {  # segment tag → weight of a match of this place level written under it
    "desa": {"kelurahan": 1.0, None: 0.85, "kecamatan": 0.35, "kabkota": 0.2, "jalan": 0.45, "perumahan": 0.5,
             "provinsi": 0.1, "patokan": 0.7, "blok": 0.3},
    "kecamatan": {"kecamatan": 1.0, None: 0.8, "kelurahan": 0.4, "kabkota": 0.1, "jalan": 0.4, "perumahan": 0.45,
                  "provinsi": 0.1, "patokan": 0.6, "blok": 0.3},
    "kabkota": {"kabkota": 1.0, None: 0.7, "kelurahan": 0.3, "kecamatan": 0.3, "jalan": 0.3, "perumahan": 0.3,
                "provinsi": 0.4, "patokan": 0.5, "blok": 0.2},
}
FUZZY_CUTOFF = 84.0
FUZZY_CUTOFF_TAGGED = 78.0
MIN_RAW = 0.5
# A street candidate (street written, no area that it runs through) and the bonus when street and area agree.
STREET_ONLY = 0.72
STREET_AGREES = 0.35
STREET_BESIDE_AREA = 0.3
# An unmarked name outside the city, with nothing in the text for its kab/kota or kecamatan, ranks below the city's.
NEIGHBOUR_PENALTY = 0.2
# POI name words an address may leave out ("Pasar Anyar" for "Pasar Anyar Tangerang").
POI_OPTIONAL = {"tangerang", "kota"}
_LEVEL = {"desa_kelurahan": "desa", "kecamatan": "kecamatan", "kabkota": "kabkota"}
_KAB_PREFIX = re.compile(r"^(kota administrasi|kabupaten administrasi|kabupaten|kota)\s+")
_POI_FIX = [(re.compile(r"\b(sma|smk|smp|sd)\s*(?:negeri|n)\b"), r"\1n"),
            (re.compile(r"\brumah sakit( umum)?( daerah)?\b"), "rs"), (re.compile(r"\brsu(d)?\b"), "rs")]


@dataclass
class Place:
    """A named wilayah: desa/kelurahan, kecamatan or kab/kota."""

    kode: str
    level: str
    nama: str
    jenis: str | None
    kec_kode: str | None
    kec_nama: str | None
    kab_kode: str | None
    kab_nama: str | None
    kodepos: str | None
    lat: float | None
    lon: float | None
    in_kota_tangerang: bool


@dataclass
class Poi:
    """A named OSM point of interest with the desa/kelurahan it lies in."""

    osm_ref: str
    name: str
    category: str
    desa_kode: str | None
    lat: float
    lon: float
    tokens: list[str]


@dataclass
class Hit:
    """One span of the text matched to one place."""

    seg: int
    start: int
    end: int
    text: str
    place: int
    kind: str  # exact | alias | fuzzy
    quality: float
    tag: str | None
    keyword: str | None
    name: str


@dataclass
class Candidate:
    """A place being scored, with the matches that support it."""

    place: int
    raw: float = 0.0
    matched: list[dict[str, Any]] = field(default_factory=list)
    poi: Poi | None = None
    street: StreetPart | None = None
    supported: bool = False  # the text names its kecamatan, kab/kota or kodepos


@dataclass
class StreetMatch:
    """A street segment of the text found in the street gazetteer."""

    text: str
    parts: list[StreetPart]
    quality: float
    segment: Segment | None = None


def key(text: str) -> str:
    """The match key: synonyms expanded, letters and digits only, doubled letters collapsed."""
    words = [SYNONYMS.get(w, w) for w in re.findall(r"[a-z0-9]+", normalise(text))]
    return re.sub(r"(.)\1+", r"\1", "".join(words))


class ForwardIndex:
    """Names, aliases and POIs in memory; `search` and `autocomplete` read it, never the database."""

    def __init__(self, gazetteer: Sequence[dict], crosswalk: Sequence[dict], poi: Sequence[dict],
                 streets: StreetIndex | None = None):
        """Build from the rows of geocode_gazetteer, geocode_crosswalk and geocode_poi (+ the street index)."""
        self.streets = streets
        self.places: list[Place] = []
        self._by_kode: dict[str, int] = {}
        for r in gazetteer:
            level = _LEVEL.get(r["level"])
            if level is None:
                continue
            self._by_kode[r["kode"]] = len(self.places)
            self.places.append(Place(r["kode"], level, r["nama"], r.get("jenis"), r.get("kec_kode"),
                                     r.get("kec_nama"), r.get("kab_kode") or r["kode"],
                                     r.get("kab_nama") or r["nama"], r.get("kodepos"), r.get("lat"), r.get("lon"),
                                     bool(r.get("in_kota_tangerang"))))
        self._fill_kecamatan_points()
        self._names: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for i, p in enumerate(self.places):
            self._add_name(p.nama, i, "exact")
            if p.level == "kabkota":
                short = _KAB_PREFIX.sub("", normalise(p.nama))
                self._add_name(short, i, "alias")
        for r in crosswalk:
            i = self._by_kode.get(r["kode_kemendagri"])
            if i is not None and r.get("nama_bps"):
                self._add_name(r["nama_bps"], i, "alias")
        self._by_len: dict[int, list[str]] = defaultdict(list)
        for k in self._names:
            self._by_len[len(k)].append(k)
        self._desa_by_postcode: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.places):
            if p.level == "desa" and p.kodepos:
                self._desa_by_postcode[p.kodepos].append(i)
        self._build_pois(poi)
        self._build_autocomplete()
        self._cache: dict[tuple[str, bool, bool], list[tuple[int, str, float, str]]] = {}

    # ---- building ----------------------------------------------------------------------------------------------
    def _add_name(self, name: str, place: int, kind: str) -> None:
        k = key(name)
        if len(k) >= 3 and all(p != place for p, _, _ in self._names[k]):
            self._names[k].append((place, kind, name))

    def _fill_kecamatan_points(self) -> None:
        """Kecamatan outside the city have no label point: use the mean of their desa points."""
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for p in self.places:
            if p.level == "desa" and p.lat is not None and p.kec_kode:
                s = sums[p.kec_kode]
                s[0] += p.lat
                s[1] += p.lon
                s[2] += 1
        for p in self.places:
            if p.level == "kecamatan" and p.lat is None and p.kode in sums:
                s = sums[p.kode]
                p.lat, p.lon = s[0] / s[2], s[1] / s[2]

    def _build_pois(self, rows: Sequence[dict]) -> None:
        self.pois = [Poi(r["osm_ref"], r["name"], r["category"], r.get("desa_kel_kode"), r["lat"], r["lon"],
                         _poi_tokens(r["name"])) for r in rows]
        df: dict[str, int] = defaultdict(int)
        for p in self.pois:
            for t in set(p.tokens):
                df[t] += 1
        n = len(self.pois) or 1
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._poi_by_token: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.pois):
            for t in set(p.tokens):
                self._poi_by_token[t].append(i)
        self._poi_total = [sum(self._idf[t] for t in set(p.tokens)) for p in self.pois]
        self._poi_optional = [[(t, self._idf[t]) for t in set(p.tokens) if t in POI_OPTIONAL] for p in self.pois]

    def _build_autocomplete(self) -> None:
        entries: list[tuple[str, int, str, int]] = []  # (prefix text, order, kind, ref)
        order = {"desa": 0, "kecamatan": 1, "kabkota": 2}
        for i, p in enumerate(self.places):
            rank = order[p.level] + (0 if p.in_kota_tangerang else 10)
            for suffix in _word_suffixes(normalise(p.nama)):
                entries.append((suffix, rank, "place", i))
        for i, p in enumerate(self.pois):
            for suffix in _word_suffixes(normalise(p.name)):
                entries.append((suffix, 5, "poi", i))
        entries.sort()
        self._ac = entries
        self._ac_keys = [e[0] for e in entries]

    # ---- search ------------------------------------------------------------------------------------------------
    def search(self, text: str, *, limit: int = 5) -> dict[str, Any]:
        """Ranked candidates for an address; an empty list when nothing matches well enough."""
        parsed = parse_address(text)
        streets = self._split_streets(parsed)
        hits = self._hits(parsed)
        if streets:  # words of a known street name no place ("Jl. Jalak Tengah": not Kelurahan Tengah)
            known = {id(sm.segment) for sm in streets}
            hits = [h for h in hits if id(parsed.segments[h.seg]) not in known]
        cands = self._score(parsed, hits)
        self._add_streets(parsed, cands, hits, streets)
        self._add_pois(parsed, cands, hits)
        self._prefer_city(cands)
        ranked = sorted(cands.values(), key=lambda c: (-c.raw, not self.places[c.place].in_kota_tangerang,
                                                       self.places[c.place].kode))
        best = ranked[0].raw if ranked else 0.0
        keep = [c for c in ranked if c.raw >= max(MIN_RAW, 0.4 * best)][:limit]
        letters = _Letters(text) if keep else None
        rendered = [self._render(c, letters) for c in keep]
        _confidence(rendered, [c.raw for c in keep], ranked[1].raw if len(ranked) > 1 else 0.0)
        top = rendered[0] if rendered else None
        return {"parsed": _parsed_dict(parsed, top), "candidates": rendered,
                "confidence": top["confidence"] if top else 0.0,
                "pin_recommended": top is None or top["confidence"] < PIN_BELOW}

    # ---- streets -------------------------------------------------------------------------------------------------
    def _split_streets(self, parsed: ParsedAddress) -> list[StreetMatch]:
        """Cut each street segment into the street and the area names written after it without a comma."""
        found: list[StreetMatch] = []
        segments: list[Segment] = []
        pending = list(parsed.segments)
        while pending:
            seg = pending.pop(0)
            if seg.tag != "jalan":
                segments.append(seg)
                continue
            if pending and pending[0].keyword:
                self._absorb_keyword(seg, pending)
            street, rest, match = self._street_prefix(seg.words, seg.keyword in ("gg", "gang"))
            segments.append(Segment("jalan", street, seg.keyword))
            if match:
                match.segment = segments[-1]
            if rest:
                segments.append(Segment(None, rest))
            if match:
                found.append(match)
        parsed.segments = segments
        return found

    def _absorb_keyword(self, seg: Segment, pending: list[Segment]) -> None:
        """"Jalan Sintetis Kota 1": a known street whose name holds a keyword (kota, desa, prov) stays whole."""
        if self.streets is None:
            return
        nxt = pending[0]
        for m in range(len(nxt.words), 0, -1):
            words = seg.words + [nxt.keyword] + nxt.words[:m]
            gang = seg.keyword in ("gg", "gang")
            if self.streets.exact(street_key(words, gang=gang), street_key(words, gang=gang, loose=True)):
                seg.words = words
                if m < len(nxt.words):
                    pending[0] = Segment(None, nxt.words[m:])
                else:
                    pending.pop(0)
                return

    def _street_prefix(self, words: list[str], gang: bool) -> tuple[list[str], list[str], StreetMatch | None]:
        """The street part of a street segment and the words after it; the longest known street first.

        A shorter known street followed by words that name no place ("Jl. Bali Brat 28" when "Jl. Bali" exists)
        gives way to a close match of the whole segment ("Jl. Bali Barat 28")."""
        fallback = None
        if self.streets is not None:
            for n in range(len(words), 0, -1):
                parts = self.streets.exact(street_key(words[:n], gang=gang),
                                           street_key(words[:n], gang=gang, loose=True))
                if parts:
                    found = (words[:n], words[n:], StreetMatch(" ".join(words[:n]), parts, 1.0))
                    if n == len(words) or self._names_a_place(words[n:]):
                        return found
                    fallback = found
                    break
        street, rest = list(words), []
        peeled = True
        while peeled:
            peeled = False
            for n in (3, 2, 1):
                tail = street[-n:]
                if len(street) > n and key(" ".join(tail)) in self._names and street_key(street[:-n], loose=True):
                    street, rest, peeled = street[:-n], tail + rest, True
                    break
        if self.streets is not None:
            parts, quality = self._street_lookup(street, gang)
            if parts and (fallback is None or quality >= 0.85):
                return street, rest, StreetMatch(" ".join(street), parts, quality)
        return fallback or (street, rest, None)

    def _street_lookup(self, words: list[str], gang: bool) -> tuple[list[StreetPart], float]:
        """Close match of the street, else the street with one short word dropped (a typed "Raay" for Raya)."""
        parts, quality = self.streets.lookup(street_key(words, gang=gang))
        if parts or len(words) < 2:
            return parts, quality
        for i, w in enumerate(words):
            if len(w) <= 5 and not w.isdigit():
                rest = words[:i] + words[i + 1:]
                parts = self.streets.exact(street_key(rest, gang=gang), street_key(rest, gang=gang, loose=True))
                if parts:
                    return parts, 0.9
        return [], 0.0

    def _names_a_place(self, words: list[str]) -> bool:
        """The words start with a place name, or are only numbers and filler."""
        if all(w.isdigit() or w in STOPWORDS for w in words):
            return True
        return any(key(" ".join(words[:n])) in self._names for n in range(1, min(3, len(words)) + 1))

    def _add_streets(self, parsed: ParsedAddress, cands: dict[int, Candidate], hits: list[Hit],
                     streets: list[StreetMatch]) -> None:
        """A street agrees with an area it runs through; alone, it proposes its kelurahan, longest first.

        When the text names a kelurahan, the street's other kelurahan stay in the list but below it."""
        named_area = any(self.places[c.place].level == "desa" for c in cands.values())
        weight = STREET_BESIDE_AREA if named_area else STREET_ONLY
        for sm in streets:
            longest = max(sm.parts[0].panjang_m, 1.0)
            for part in sm.parts:
                place = self._by_kode.get(part.kode)
                if place is None:
                    continue
                match = {"text": sm.text, "as": "jalan", "nama": part.nama,
                         "kind": "exact" if sm.quality >= 1.0 else "fuzzy", "similarity": round(sm.quality, 3)}
                c = cands.get(place)
                if c is not None:
                    c.raw += STREET_AGREES * sm.quality
                else:
                    c = cands[place] = Candidate(place, weight * sm.quality *
                                                 (0.8 + 0.2 * part.panjang_m / longest), [])
                    self._context(c, parsed, hits, own={"_seg": -1, "_start": 0, "_end": 0})
                if c.street is None:
                    c.street = part
                    c.matched.append(match)

    def _prefer_city(self, cands: dict[int, Candidate]) -> None:
        """Rank a neighbour's place below the city's unless the text names the neighbour's kecamatan/kab-kota."""
        if not any(self.places[c.place].in_kota_tangerang for c in cands.values()):
            return
        for c in cands.values():
            if not self.places[c.place].in_kota_tangerang and not c.supported:
                c.raw -= NEIGHBOUR_PENALTY

    def _hits(self, parsed: ParsedAddress) -> list[Hit]:
        hits: list[Hit] = []
        for si, seg in enumerate(parsed.segments):
            words = seg.words
            covered: list[tuple[int, int]] = []
            for n in range(min(4, len(words)), 0, -1):
                for start in range(len(words) - n + 1):
                    end = start + n
                    if any(a <= start and end <= b for a, b in covered):
                        continue  # inside a longer exact match: "cibodas" within "cibodas sari"
                    span = words[start:end]
                    if all(w in STOPWORDS or w.isdigit() for w in span):
                        continue
                    found = self._lookup(" ".join(span), seg.tag)
                    for place, kind, quality, name in found:
                        hits.append(Hit(si, start, end, " ".join(span), place, kind, quality, seg.tag,
                                        seg.keyword, name))
                    if found and (found[0][1] != "fuzzy" or (n >= 2 and found[0][2] >= 0.8)):
                        covered.append((start, end))
        return hits

    def _lookup(self, text: str, tag: str | None) -> list[tuple[int, str, float, str]]:
        k = key(text)
        tagged = tag in ("kelurahan", "kecamatan", "kabkota")
        cache_key = (k, tagged, tag in ("jalan", "perumahan"))
        found = self._cache.get(cache_key)
        if found is None:
            found = self._match_key(k, tag)
            if len(self._cache) >= 100_000:  # bounded: words repeat across addresses, gibberish must not grow it
                self._cache.clear()
            self._cache[cache_key] = found
        return found

    def _match_key(self, k: str, tag: str | None) -> list[tuple[int, str, float, str]]:
        if len(k) < 3:
            return []
        exact = self._names.get(k)
        if exact:
            return [(p, kind, 1.0 if kind == "exact" else 0.97, name) for p, kind, name in exact]
        tagged = tag in ("kelurahan", "kecamatan", "kabkota")
        if len(k) < (4 if tagged else 5) or tag in ("jalan", "perumahan"):
            return []
        # A word written after Kel./Kec. is surely a place name, so a looser cut-off is safe there.
        cutoff = FUZZY_CUTOFF_TAGGED if tagged else FUZZY_CUTOFF
        pool = [c for n in range(len(k) - 2, len(k) + 3) for c in self._by_len.get(n, ())]
        out = []
        for cand, score, _ in process.extract(k, pool, scorer=fuzz.ratio, score_cutoff=cutoff, limit=3):
            for p, _, name in self._names[cand]:
                out.append((p, "fuzzy", score / 100 * 0.92, name))
        return out

    def _score(self, parsed: ParsedAddress, hits: list[Hit]) -> dict[int, Candidate]:
        by_level: dict[str, list[Hit]] = defaultdict(list)
        for h in hits:
            by_level[self.places[h.place].level].append(h)
        cands: dict[int, Candidate] = {}
        for h in by_level["desa"]:
            w = WEIGHTS["desa"][h.tag] * h.quality
            c = cands.setdefault(h.place, Candidate(h.place))
            if w > c.raw:
                c.raw, c.matched = w, [_match(h, "kelurahan")]
        for c in cands.values():
            self._context(c, parsed, hits, own=c.matched[0])
        for h in by_level["kecamatan"]:
            w = WEIGHTS["kecamatan"][h.tag] * h.quality * 0.9
            c = cands.get(h.place)
            if c is None or w > c.raw:
                c = Candidate(h.place, w, [_match(h, "kecamatan")])
                self._context(c, parsed, hits, own=c.matched[0])
                cands[h.place] = c
        if not cands:
            for h in by_level["kabkota"]:
                w = WEIGHTS["kabkota"][h.tag] * h.quality * 0.6 * self._jenis_factor(h)
                if h.place not in cands or w > cands[h.place].raw:
                    cands[h.place] = Candidate(h.place, w, [_match(h, "kabkota")])
        if not cands and parsed.kodepos:
            for i in self._desa_by_postcode.get(parsed.kodepos, ()):
                cands[i] = Candidate(i, 0.55, [{"text": parsed.kodepos, "as": "kodepos", "nama": parsed.kodepos,
                                                "kind": "exact", "similarity": 1.0}])
        return cands

    def _jenis_factor(self, h: Hit) -> float:
        """"Kota Tangerang" vs "Kab. Tangerang": the keyword written decides between the two."""
        want = KAB_JENIS.get(h.keyword or "")
        jenis = (self.places[h.place].jenis or "").lower()
        if not want or h.tag != "kabkota":
            return 1.0
        return 1.0 if (want == "kota") == jenis.startswith("kota") else 0.4

    def _context(self, c: Candidate, parsed: ParsedAddress, hits: list[Hit], own: dict[str, Any]) -> None:
        """Add what the rest of the text says about this candidate: kecamatan, kab/kota, kodepos."""
        p = self.places[c.place]
        own_span = (own["_seg"], own["_start"], own["_end"])
        best_kec, best_kab = None, None
        for h in hits:
            if (h.seg == own_span[0] and h.start < own_span[2] and own_span[1] < h.end) or h.place == c.place:
                continue
            if h.tag == "jalan":
                continue  # "Jl. Raya Serang" names a street, not Kabupaten Serang
            q = self.places[h.place]
            if p.level == "desa" and q.level == "kecamatan" and q.kode == p.kec_kode:
                w = WEIGHTS["kecamatan"][h.tag] * h.quality
                if best_kec is None or w > best_kec[0]:
                    best_kec = (w, h)
            elif q.level == "kabkota" and q.kode == p.kab_kode:
                w = WEIGHTS["kabkota"][h.tag] * h.quality * self._jenis_factor(h)
                if best_kab is None or w > best_kab[0]:
                    best_kab = (w, h)
            elif h.tag in ("kecamatan", "kabkota") and h.kind == "exact" and q.level == {
                    "kecamatan": "kecamatan", "kabkota": "kabkota"}[h.tag] and not self._shares_name(h, p):
                # the text names another kecamatan / kab-kota explicitly. A kelurahan written as one ("Kel.
                # Pondok Pucung, Kec. Ciledug") stays the answer, just below an unspoilt one: citizens often give
                # the neighbouring kecamatan they think of as theirs, and the kelurahan is the more exact place
                # (the kecamatan they named stays the next candidate; the thin lead asks for a pin)
                c.raw -= 0.05 if own.get("_tag") == "kelurahan" and p.level == "desa" else 0.25
        if best_kec and best_kab and (best_kec[1].seg, best_kec[1].start) == (best_kab[1].seg, best_kab[1].start):
            if best_kec[0] >= best_kab[0]:  # "Tangerang" is a kecamatan and the kota: one span counts once
                best_kab = None
            else:
                best_kec = None
        c.supported = bool(best_kec or best_kab) or bool(parsed.kodepos and p.kodepos == parsed.kodepos)
        if best_kec:
            c.raw += 0.5 * best_kec[0]
            c.matched.append(_match(best_kec[1], "kecamatan"))
        if best_kab:
            c.raw += 0.3 * best_kab[0]
            c.matched.append(_match(best_kab[1], "kabkota"))
        if parsed.kodepos and p.level == "desa":
            if p.kodepos == parsed.kodepos:
                c.raw += 0.4
                c.matched.append({"text": parsed.kodepos, "as": "kodepos", "nama": p.kodepos, "kind": "exact",
                                  "similarity": 1.0})
            else:
                c.raw -= 0.1
        c.raw += 0.03 if p.in_kota_tangerang else 0.0

    def _shares_name(self, h: Hit, p: Place) -> bool:
        """The same span also names this candidate's own kecamatan/kab-kota (e.g. "Tangerang")."""
        return any(q.kode in (p.kec_kode, p.kab_kode) for q in
                   (self.places[i] for i, _, _ in self._names.get(key(h.text), ())))

    def _add_pois(self, parsed: ParsedAddress, cands: dict[int, Candidate], hits: list[Hit]) -> None:
        tokens = set(_poi_tokens(parsed.normalised))
        scores: dict[int, float] = defaultdict(float)
        for t in tokens:
            for i in self._poi_by_token.get(t, ()):
                scores[i] += self._idf[t]
        best: tuple[float, int] | None = None
        for i, got in scores.items():
            poi = self.pois[i]
            total = self._poi_total[i] - sum(w for t, w in self._poi_optional[i] if t not in tokens)
            cover = got / total if total else 0.0
            # Equal cover: more of the text matched wins ("RS Tiara Tangerang" over "RSUD Kota Tangerang"), then
            # the lowest POI index; rounded, so float sums in set order cannot decide.
            rank = (round(cover, 6), round(got, 6), -i)
            if cover >= 0.9 and got >= 2.5 and (best is None or rank > best):
                best = rank
        if best is None:
            return
        cover, i = best[0], -best[2]
        poi = self.pois[i]
        place = self._by_kode.get(poi.desa_kode or "")
        if place is None:
            return
        c = cands.get(place)
        if c is None:
            c = cands[place] = Candidate(place, 0.0, [])
            self._context(c, parsed, hits, own={"_seg": -1, "_start": 0, "_end": 0})
        c.raw += 0.9 * cover
        c.poi = poi
        c.matched.insert(0, {"text": poi.name, "as": "poi", "nama": poi.name, "kind": "exact" if cover >= 0.99
                             else "partial", "similarity": round(cover, 3)})

    def _render(self, c: Candidate, letters: _Letters) -> dict[str, Any]:
        p = self.places[c.place]
        out: dict[str, Any] = {"level": "kelurahan" if p.level == "desa" else p.level,
                               "in_kota_tangerang": p.in_kota_tangerang, "score": round(min(c.raw / 1.6, 1.0), 3)}
        if p.level == "desa":
            out["kelurahan"] = {"kode": p.kode, "nama": p.nama, "jenis": p.jenis}
            out["kecamatan"] = {"kode": p.kec_kode, "nama": p.kec_nama}
            out["kodepos"] = p.kodepos
        elif p.level == "kecamatan":
            out["kelurahan"] = None
            out["kecamatan"] = {"kode": p.kode, "nama": p.nama}
        else:
            out["kelurahan"] = out["kecamatan"] = None
        kab = self.places[self._by_kode[p.kab_kode]] if p.kab_kode in self._by_kode else None
        out["kabkota"] = {"kode": p.kab_kode, "nama": kab.nama if kab else p.kab_nama}
        if c.poi:
            out["point"] = {"lat": c.poi.lat, "lon": c.poi.lon, "source": "poi"}
            out["poi"] = {"osm_ref": c.poi.osm_ref, "name": c.poi.name, "category": c.poi.category}
        elif c.street is not None:
            out["point"] = {"lat": c.street.lat, "lon": c.street.lon, "source": "jalan"}
        elif p.lat is not None:
            out["point"] = {"lat": p.lat, "lon": p.lon, "source": "label"}
        else:
            out["point"] = None
        if c.street is not None:
            out["jalan"] = {"nama": c.street.nama, "panjang_m": round(c.street.panjang_m, 1)}
        out["matched"] = [letters.span({k: v for k, v in m.items() if not k.startswith("_")}) for m in c.matched]
        if not p.in_kota_tangerang:
            out["message"] = f"Di luar Kota Tangerang: {out['kabkota']['nama']}."
        return out

    # ---- autocomplete --------------------------------------------------------------------------------------------
    def autocomplete(self, text: str, *, limit: int = 10) -> list[dict[str, Any]]:
        """Prefix suggestions (any word of a name may start the match), city places first."""
        q = re.sub(r"^(kel|kelurahan|desa|kec|kecamatan|kota|kab|kabupaten)\.?\s+", "", normalise(text))
        q = q.replace(".", " ").replace(",", " ").strip()
        if not q:
            return []
        lo = bisect.bisect_left(self._ac_keys, q)
        hi = bisect.bisect_left(self._ac_keys, q + "\x7f", lo)
        seen, found = set(), []
        for _, _rank, kind, ref in sorted(self._ac[lo:min(hi, lo + 400)], key=lambda e: (e[1], len(e[0]))):
            if (kind, ref) in seen:
                continue
            seen.add((kind, ref))
            found.append(self._suggestion(kind, ref))
            if len(found) >= limit:
                break
        return found

    def _suggestion(self, kind: str, ref: int) -> dict[str, Any]:
        if kind == "poi":
            poi = self.pois[ref]
            p = self.places[self._by_kode[poi.desa_kode]] if poi.desa_kode in self._by_kode else None
            label = poi.name + (f", {p.nama}, {p.kab_nama}" if p else "")
            return {"label": label, "level": "poi", "kode": p.kode if p else None, "osm_ref": poi.osm_ref,
                    "point": {"lat": poi.lat, "lon": poi.lon}}
        p = self.places[ref]
        label = {"desa": f"{p.jenis or 'Kelurahan'} {p.nama}, Kec. {p.kec_nama}, {p.kab_nama}",
                 "kecamatan": f"Kecamatan {p.nama}, {p.kab_nama}", "kabkota": p.nama}[p.level]
        point = {"lat": p.lat, "lon": p.lon} if p.lat is not None else None
        return {"label": label, "level": "kelurahan" if p.level == "desa" else p.level, "kode": p.kode,
                "in_kota_tangerang": p.in_kota_tangerang, "point": point}


def _match(h: Hit, as_: str) -> dict[str, Any]:
    return {"text": h.text, "as": as_, "nama": h.name, "kind": h.kind, "similarity": round(h.quality, 3),
            "_seg": h.seg, "_start": h.start, "_end": h.end, "_tag": h.tag}


def _poi_tokens(text: str) -> list[str]:
    t = normalise(text).replace(".", " ")
    for pattern, repl in _POI_FIX:
        t = pattern.sub(repl, t)
    return [SYNONYMS.get(w, w) for w in re.findall(r"[a-z0-9]+", t)]


def _word_suffixes(name: str) -> list[str]:
    words = name.replace(".", " ").split()
    return [" ".join(words[i:]) for i in range(len(words))]


def _parsed_dict(p: ParsedAddress, top: dict[str, Any] | None) -> dict[str, Any]:
    """The structured fields; an area read without a marker is filled from what the best candidate matched."""
    def tagged(tag: str) -> str | None:
        return ", ".join(s.text for s in p.tagged(tag)) or None

    out = {"jalan": p.jalan, "nomor": p.nomor, "rt": p.rt, "rw": p.rw, "blok": tagged("blok"),
           "perumahan": tagged("perumahan"), "kelurahan": tagged("kelurahan"), "kecamatan": tagged("kecamatan"),
           "kabkota": tagged("kabkota"), "kodepos": p.kodepos, "patokan": tagged("patokan")}
    for m in (top or {}).get("matched", ()):
        if m["as"] in ("kelurahan", "kecamatan", "kabkota") and not out[m["as"]]:
            out[m["as"]] = m["text"]
    return out


class _Letters:
    """The query's letters and digits (lower case, ASCII) with where each stands in the text, to find spans."""

    def __init__(self, text: str):
        """Index the text once per search."""
        chars, where = [], []
        for i, ch in enumerate(text):
            folded = ch.lower() if ch.isascii() else unicodedata.normalize("NFKD", ch).encode(
                "ascii", "ignore").decode("ascii").lower()
            for f in folded:
                if f.isalnum():
                    chars.append(f)
                    where.append(i)
        self.text, self.squashed, self.where = text, "".join(chars), where

    def span(self, m: dict[str, Any]) -> dict[str, Any]:
        """Add start/end: where the matched words stand in the query (a word start preferred; None: not found)."""
        needle = re.sub(r"[^a-z0-9]", "", normalise(m["text"]))
        m["start"] = m["end"] = None
        first, at = None, self.squashed.find(needle) if needle else -1
        while at >= 0:
            start = self.where[at]
            if first is None:
                first = at
            if start == 0 or not self.text[start - 1].isalnum():
                first = at
                break
            at = self.squashed.find(needle, at + 1)
        if first is not None:
            m["start"], m["end"] = self.where[first], self.where[first + len(needle) - 1] + 1
        return m


PIN_BELOW = 0.6


def _confidence(rendered: list[dict[str, Any]], raws: list[float], runner_up: float) -> None:
    """Confidence 0..1 per candidate: how well the text matched, times the lead over the next candidate."""
    if not rendered:
        return
    best = raws[0]
    for i, (r, raw) in enumerate(zip(rendered, raws, strict=True)):
        base = min(raw / 1.2, 1.0)
        if i == 0:
            lead = (best - runner_up) / best if best > 0 else 0.0
            conf = base * (0.5 + 0.5 * min(lead / 0.25, 1.0))
        else:
            conf = base * 0.5 * raw / best
        r["confidence"] = round(conf, 3)
        r["confidence_level"] = "tinggi" if conf >= 0.8 else "sedang" if conf >= PIN_BELOW else "rendah"


def top_kode(result: dict[str, Any]) -> str:
    """The kode of the best candidate ('' when none): kelurahan, else kecamatan, else kab/kota."""
    if not result["candidates"]:
        return ""
    c = result["candidates"][0]
    return (c["kelurahan"] or c["kecamatan"] or c["kabkota"])["kode"]


def evaluate(search, rows: Sequence[dict[str, str]]) -> tuple[float, dict[str, tuple[int, int]], list[tuple]]:
    """Top-1 accuracy of `search(text) -> result` over eval rows (query, expect, kind); per kind and misses."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for r in rows:
        got = top_kode(search(r["query"]))
        ok = got == r["expect"]
        kind = r["kind"].split("_")[0] if r["kind"].startswith("poi_") else r["kind"]
        per[kind][0] += ok
        per[kind][1] += 1
        if not ok:
            misses.append((r["query"], r["expect"], got))
    total = sum(v[1] for v in per.values())
    return sum(v[0] for v in per.values()) / max(total, 1), {k: tuple(v) for k, v in per.items()}, misses
