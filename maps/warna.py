"""One OPD, one colour, on every page and chart: the busiest OPDs (over all laporan) get a colour each,
the rest share "lainnya"; every fill carries the text colour that reads on it (WCAG AA, 4.5:1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from geo_api.db import fetch_all

# Paul Tol's "bright" scheme (apart for colour-blind readers too) plus Okabe-Ito orange: seven colours a reader
# can tell apart on a map; more than that and two blues or two greens sit side by side.
DISTINCT = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#E69F00")
LAINNYA = "#BBBBBB"  # every OPD past the seventh: "OPD lainnya" in each legend
AA = 4.5


@dataclass(frozen=True)
class Warna:
    """An OPD's fill, the text colour on it and the short code shown on markers (DLH)."""

    fill: str
    text: str
    kode_singkat: str


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #RRGGBB."""
    def ch(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(fill: str) -> str:
    """Dark or white text, whichever reads better on the fill."""
    return "#111111" if contrast(fill, "#111111") >= contrast(fill, "#ffffff") else "#ffffff"


_WILAYAH_AWALAN = {"kecamatan": "Kec. ", "kelurahan": "Kel. "}


def short_code(row: dict[str, Any]) -> str:
    """The OPD's abbreviation (DLH, Satpol PP); for a wilayah's office its gazetteer name (Kabupaten Tangerang,
    Kec. Tangerang); else its full name, never a hand-off code such as kab-36.03."""
    if (row.get("singkatan") or "").strip():
        return row["singkatan"].strip()
    if row.get("wilayah_nama"):
        return _WILAYAH_AWALAN.get(row.get("jenis") or "", "") + row["wilayah_nama"]
    return (row.get("nama") or row["kode"]).strip()


def opd_palette(rank: list[dict[str, Any]]) -> dict[str, Warna]:
    """Colours for the OPDs in `rank` (busiest first, as maps_laporan_opd unfiltered returns them)."""
    out = {}
    for i, r in enumerate(rank):
        fill = DISTINCT[i] if i < len(DISTINCT) else LAINNYA
        out[r["kode"]] = Warna(fill, text_on(fill), short_code(r))
    return out


def lainnya() -> Warna:
    """The shared colour of the OPDs past the distinct ones."""
    return Warna(LAINNYA, text_on(LAINNYA), "lain")


async def load_rank(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """OPDs by all their laporan, busiest first: the one order every page colours by (filters never recolour)."""
    return await fetch_all(conn, "maps_laporan_opd", {"layanan": None, "opd": None, "status": None, "kecamatan": None,
                                                      "dari": None, "sampai": None})
