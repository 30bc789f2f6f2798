"""The address parser: how people in Tangerang write addresses, into tagged parts.

`Jl. Kemuning No. 5 RT 003/RW 005 Kel. Cibodas Sari Kec. Cibodas Kota Tangerang 15138` becomes jalan,
nomor, rt/rw, kodepos and tagged segments (kelurahan, kecamatan, kabkota) plus free segments. Commas help but
are optional: keywords end a segment as well. Landmark words (depan, dekat, belakang, samping, seberang) open a
`patokan` segment. Matching the segments to places (and a street segment's trailing area names, as in
`Jl. Diponegoro Sukarasa`) is forward.py's job.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Keyword token → the field the words after it describe.
KEYWORDS = {
    "jl": "jalan", "jln": "jalan", "jalan": "jalan", "jl.": "jalan",
    "gg": "jalan", "gang": "jalan",
    "kel": "kelurahan", "kelurahan": "kelurahan", "kelurhan": "kelurahan", "desa": "kelurahan", "ds": "kelurahan",
    "kec": "kecamatan", "kecamatan": "kecamatan", "kecamtan": "kecamatan", "kcm": "kecamatan",
    "kota": "kabkota", "kab": "kabkota", "kabupaten": "kabkota", "kabupatan": "kabkota", "kodya": "kabkota",
    "kotamadya": "kabkota", "kotamadia": "kabkota", "adm": None, "administrasi": None,
    "prov": "provinsi", "provinsi": "provinsi", "propinsi": "provinsi",
    "perum": "perumahan", "perumahan": "perumahan", "komplek": "perumahan", "kompleks": "perumahan",
    "komp": "perumahan", "cluster": "perumahan", "klaster": "perumahan", "griya": "perumahan",
    "blok": "blok", "blk": "blok",
    # Landmark phrases: what follows is a patokan (a POI, a market, a mosque), not the address itself.
    "depan": "patokan", "dpn": "patokan", "dekat": "patokan", "dkt": "patokan", "belakang": "patokan",
    "blkg": "patokan", "samping": "patokan", "sebelah": "patokan", "seberang": "patokan", "sbrg": "patokan",
    "sekitar": "patokan", "arah": "patokan",
}
KAB_JENIS = {"kota": "kota", "kodya": "kota", "kotamadya": "kota", "kotamadia": "kota",
             "kab": "kabupaten", "kabupaten": "kabupaten", "kabupatan": "kabupaten"}
_POSTCODE = re.compile(r"(?<![\d])(1[0-9]{4})(?![\d])")
_RT_RW = re.compile(
    r"\brt\s*[./:]?\s*(?:/\s*rw\s*[./:]?\s*)?0*(\d{1,3})\s*(?:[/\\\-,.]|\s)\s*(?:rw\s*[./:]?\s*)?0*(\d{1,3})\b")
_RW_ONLY = re.compile(r"\brw\s*[./:]?\s*0*(\d{1,3})\b")
_RT_ONLY = re.compile(r"\brt\s*[./:]?\s*0*(\d{1,3})\b")
_NOMOR = re.compile(r"\b(?:no|nomor|nmr)\s*[.:]?\s*(\d+[a-z]?(?:\s*[/\-]\s*\d+[a-z]?)?)\b")
_TOKEN = re.compile(r"[a-z0-9]+|[,;]")


@dataclass
class Segment:
    """A run of words and the field it was written under (None: untagged)."""

    tag: str | None
    words: list[str]
    keyword: str | None = None

    @property
    def text(self) -> str:
        """The segment's words joined with spaces."""
        return " ".join(self.words)


@dataclass
class ParsedAddress:
    """An address split into parts; `segments` keep the order the words were written in."""

    normalised: str
    kodepos: str | None = None
    rt: str | None = None
    rw: str | None = None
    nomor: str | None = None
    segments: list[Segment] = field(default_factory=list)

    def tagged(self, tag: str) -> list[Segment]:
        """Segments written under this field (kelurahan, kecamatan, kabkota, jalan, ...)."""
        return [s for s in self.segments if s.tag == tag]

    @property
    def jalan(self) -> str | None:
        """The street (Jl./Gg.) as written, or None."""
        parts = [s.text for s in self.tagged("jalan") if s.words]
        return ", ".join(parts) or None


def normalise(text: str) -> str:
    """Lower case, ASCII, punctuation turned into spaces (dots and slashes kept for RT/RW and No.)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9.,;/\\\-:]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def squash(text: str) -> str:
    """Letters and digits only: 'Cibodas Sari', 'cibodasari' and 'Cibodas-sari' meet here (with alias help)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def parse_address(text: str) -> ParsedAddress:
    """Split an Indonesian address into kodepos, RT/RW, nomor and tagged word segments."""
    norm = normalise(text)
    out = ParsedAddress(normalised=norm)
    rest = norm
    m = _RT_RW.search(rest)
    if m:
        out.rt, out.rw = m.group(1).zfill(3), m.group(2).zfill(3)
        rest = rest[:m.start()] + " , " + rest[m.end():]
    else:
        for pattern, attr in ((_RW_ONLY, "rw"), (_RT_ONLY, "rt")):
            m = pattern.search(rest)
            if m:
                setattr(out, attr, m.group(1).zfill(3))
                rest = rest[:m.start()] + " , " + rest[m.end():]
    m = _NOMOR.search(rest)
    if m:
        out.nomor = re.sub(r"\s+", "", m.group(1))
        rest = rest[:m.start()] + " , " + rest[m.end():]
    codes = list(_POSTCODE.finditer(rest))
    if codes:
        last = codes[-1]
        out.kodepos = last.group(1)
        rest = rest[:last.start()] + " , " + rest[last.end():]
    out.segments = _segments(rest)
    return out


def _segments(text: str) -> list[Segment]:
    """Cut at commas and keywords; a keyword opens a segment tagged with its field."""
    segments: list[Segment] = []
    current = Segment(None, [])
    for tok in _TOKEN.findall(text.replace(".", " ").replace("/", " ")):
        if tok in (",", ";"):
            segments.append(current)
            current = Segment(None, [])
            continue
        if tok in KEYWORDS:
            tag = KEYWORDS[tok]
            if tag is None:  # "adm." inside "Kota Adm. Jakarta Barat": keep the open segment's tag
                continue
            if current.tag == "kabkota" and not current.words and tag == "kabkota":
                continue  # "Kota Kab." noise
            segments.append(current)
            current = Segment(tag, [], keyword=tok)
            continue
        current.words.append(tok)
    segments.append(current)
    return [s for s in segments if s.words]
