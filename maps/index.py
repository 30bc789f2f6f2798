"""The /peta index page: the maps on offer and a Layer map per collection, in Bahasa Indonesia."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maps.base import esc

MAPS = (
    ("laporan", "Laporan warga", "Semua laporan warga, diwarnai menurut OPD tujuan, dengan filter dan choropleth "
                                 "per kelurahan."),
    ("armada", "Armada Si Lacak", "Posisi truk sampah terkini (diperbarui otomatis), lintasan dan kunjungan TPS/TPA "
                                  "hari ini."),
    ("dasbor", "Dasbor OPD", "Kinerja layanan tiap OPD: laporan masuk, terbuka, selesai, waktu penyelesaian, "
                             "terlambat, per kecamatan."),
)

# the platform's other pages, linked from the served index (a standalone export has no server behind them)
PAGES = (
    ("/peta/katalog", "Katalog data", "Cari lapisan data dan metadatanya (SNI 8843-1), unduh, WMS/WFS."),
    ("/lapor", "Lapor masalah (halaman warga)", "Formulir warga: pilih titik di peta, kategori dan foto."),
    ("/docs", "Dokumentasi API", "Semua layanan (Open311, OGC API, geocoding, armada) untuk integrator."),
    ("/ogc/collections", "OGC API – Features", "Koleksi data untuk klien GIS (QGIS, ArcGIS)."),
)

_STYLE = """body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;max-width:60rem;
padding:0 1rem;color:#222}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}li{margin:.4rem 0}
.small{color:#555;font-size:.9rem}a{color:#0b5cab}"""


def href(kind: str, ident: str | None, served: bool) -> str:
    """Where a map lives: /peta/... on the server, NAME.html in a standalone export."""
    if served:
        return f"/peta/{kind}" + (f"/{ident}" if ident else "")
    return f"{kind}-{ident}.html" if ident else f"{kind}.html"


def build_index(collections: Sequence[Any], *, served: bool) -> str:
    """The index HTML (everything escaped; no script, no external asset)."""
    maps = "".join(f'<li><a href="{esc(href(k, None, served))}">{esc(t)}</a><br><span class="small">{esc(d)}'
                   f'</span></li>' for k, t, d in MAPS)
    pages = "".join(f'<li><a href="{esc(h)}">{esc(t)}</a><br><span class="small">{esc(d)}</span></li>'
                    for h, t, d in PAGES)
    layers = "".join(
        f'<li><a href="{esc(href("layer", c.id, served))}">{esc(c.title)}</a> '
        f'<span class="small">({esc(c.id)}{" · OPD " + esc(c.opd) if c.opd else ""}'
        f'{" · " + esc(c.attribution) if c.attribution else ""})</span></li>'
        for c in collections if c.has_geometry)
    return ("<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\">"
            f"<title>Satu Peta Kota Tangerang — Peta</title><style>{_STYLE}</style></head><body>"
            "<h1>Satu Peta Kota Tangerang</h1><p>Peta untuk petugas GIS dan pimpinan OPD. Semua aset dimuat dari "
            "server ini; tidak ada permintaan ke internet.</p>"
            f"<h2>Peta</h2><ul id=\"daftar-peta\">{maps}</ul>"
            f"<h2>Lapisan data</h2><ul id=\"daftar-lapisan\">{layers or '<li>Belum ada lapisan.</li>'}</ul>"
            + (f"<h2>Halaman lain</h2><ul id=\"daftar-halaman\">{pages}</ul>" if served else "")
            + "</body></html>")
