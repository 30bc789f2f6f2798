"""The Laporan warga map: reports coloured by the OPD they were routed to, clustered, filtered, aggregated."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

import folium
import psycopg
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from geo_api.db import fetch_all, fetch_one
from maps.base import (
    NO_COLOUR,
    BaseData,
    HtmlBox,
    MapOptions,
    base_map,
    esc,
    feature_collection,
    finish,
    js_value,
    legend_html,
    tanggal_field,
)
from maps.warna import Warna, lainnya, load_rank, opd_palette, short_code


def angka(n: int) -> str:
    """A count with Indonesian thousands separators."""
    return f"{n:,}".replace(",", ".")


STATUS = {"open": "Terbuka", "in_progress": "Diproses", "closed": "Selesai"}
# filter choices: the statuses plus "belum selesai" (open or in progress), which the dashboard's cells link to
STATUS_FILTER = {**STATUS, "terbuka": "Belum selesai", "selesai": "Semua yang selesai"}
KEPUTUSAN = {"aturan": "Aturan", "triase": "Triase", "serah_terima": "Diserahkan ke luar kota"}
GRID_CELL_DEG = 0.01  # ~1.1 km: the city (~0.2° x 0.16°) becomes a few hundred cells at most
DETAIL_ZOOM = 15  # from this zoom the served map fetches the individual laporan in view
CHORO = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")  # 0, then four quantile classes


def _tgl(d: date | None) -> str:
    return d.strftime("%d-%m-%Y") if d else "…"


@dataclass(frozen=True)
class LaporanFilter:
    """The map's filters; None means no filter on that field."""

    layanan: str | None = None
    opd: str | None = None
    status: str | None = None
    dari: date | None = None
    sampai: date | None = None
    kecamatan: str | None = None

    def params(self, **extra: Any) -> dict[str, Any]:
        """Bound parameters for the maps_laporan_* queries."""
        return {**asdict(self), **extra}

    def query_string(self) -> str:
        """The filters as a URL query (for the view-dependent fetch)."""
        return urlencode({k: v for k, v in asdict(self).items() if v is not None})

    def describe(self, names: dict[str, str]) -> str:
        """The filters in words (Bahasa Indonesia) for the subtitle."""
        parts = []
        if self.layanan:
            parts.append(f"kategori {names.get(self.layanan, self.layanan)}")
        if self.opd:
            parts.append(f"OPD {names.get(self.opd, self.opd)}")
        if self.status:
            parts.append(f"status {STATUS_FILTER.get(self.status, self.status)}")
        if self.kecamatan:
            parts.append(f"kecamatan {names.get(self.kecamatan, self.kecamatan)}")
        if self.dari or self.sampai:
            parts.append(f"tanggal {_tgl(self.dari)} s.d. {_tgl(self.sampai)}")
        return "; ".join(parts) if parts else "semua laporan"


@dataclass
class LaporanData:
    """What the Laporan map draws: totals, points (when few enough), aggregates, names for the legend."""

    total: int
    titik: list[dict[str, Any]] | None  # None: too many for one page; the grid stands in for them
    per_kelurahan: dict[str, int]
    grid: list[dict[str, Any]]
    per_opd: list[dict[str, Any]]
    serah_terima: list[dict[str, Any]]
    layanan: list[dict[str, Any]] = field(default_factory=list)
    opd: list[dict[str, Any]] = field(default_factory=list)
    inline_max: int = 0
    penduduk_kota: int | None = None
    colour_rank: list[dict[str, Any]] = field(default_factory=list)  # all laporan per OPD: colours stay put
    status_nama: dict[str, str] = field(default_factory=dict)  # every status's Bahasa name (laporan_status_kode)


async def load_choices(conn: psycopg.AsyncConnection) -> tuple[list[dict], list[dict]]:
    """Categories and OPDs for the filter form (and to validate filter values against)."""
    rows = await fetch_all(conn, "maps_laporan_pilihan")
    return [r for r in rows if r["jenis"] == "layanan"], [r for r in rows if r["jenis"] == "opd"]


async def load_laporan(conn: psycopg.AsyncConnection, f: LaporanFilter, inline_max: int) -> LaporanData:
    """Run the aggregate queries; the individual points only when at most `inline_max` match."""
    total = (await fetch_one(conn, "maps_laporan_total", f.params()))["n"]
    titik = await laporan_titik(conn, f, None, inline_max) if total <= inline_max else None
    layanan, opd = await load_choices(conn)
    pop = await fetch_one(conn, "maps_penduduk_kota")
    return LaporanData(
        total=total, titik=titik,
        per_kelurahan={r["kode"]: r["n"] for r in await fetch_all(conn, "maps_laporan_kelurahan", f.params())},
        grid=[] if titik is not None else await fetch_all(conn, "maps_laporan_grid", f.params(cell=GRID_CELL_DEG)),
        per_opd=(per_opd := await fetch_all(conn, "maps_laporan_opd", f.params())),
        colour_rank=per_opd if f == LaporanFilter() else await load_rank(conn),
        serah_terima=await fetch_all(conn, "maps_laporan_serah_terima", f.params()),
        layanan=layanan, opd=opd, inline_max=inline_max, penduduk_kota=pop["penduduk_total"] if pop else None,
        status_nama={r["kode"]: r["nama"] for r in await fetch_all(conn, "maps_status_nama")})


async def laporan_titik(conn: psycopg.AsyncConnection, f: LaporanFilter,
                        bbox: tuple[float, float, float, float] | None, limit: int) -> list[dict[str, Any]]:
    """Individual laporan (newest first), optionally inside a bbox; plain text, escaped by the page."""
    minx, miny, maxx, maxy = bbox or (None, None, None, None)
    return await fetch_all(conn, "maps_laporan_titik",
                           f.params(minx=minx, miny=miny, maxx=maxx, maxy=maxy, limit=limit))


def opd_colours(per_opd: list[dict[str, Any]]) -> dict[str, Warna]:
    """The shared OPD colours (maps.warna), busiest over all laporan first, so a filter never recolours an OPD."""
    return opd_palette(per_opd)


def _classes(values: list[int]) -> list[int]:
    """Upper bounds of four quantile classes of the non-zero counts."""
    nz = sorted(v for v in values if v > 0)
    if not nz:
        return []
    bounds = sorted({nz[min(len(nz) - 1, int(len(nz) * q))] for q in (0.25, 0.5, 0.75)} | {nz[-1]})
    return bounds


def _choro_colour(n: int, bounds: list[int]) -> str:
    if n <= 0 or not bounds:
        return CHORO[0]
    for i, b in enumerate(bounds):
        if n <= b:
            return CHORO[min(1 + i, len(CHORO) - 1)]
    return CHORO[-1]


class LaporanLayer(MacroElement):
    """The points (clustered), grid aggregates and hand-off lines, drawn by SP.laporan in peta.js."""

    _template = Template("""{% macro script(this, kwargs) %}
        SP.laporan({{ this._parent.get_name() }}, {{ this.cluster.get_name() }}, {{ this.config }});
    {% endmacro %}""")

    def __init__(self, cluster: MarkerCluster, config: dict[str, Any]):
        super().__init__()
        self._name = "LaporanLayer"
        self.cluster = cluster
        self.config = js_value(config)


def _point(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "lat", "lon", "status", "opd_kode", "layanan_nama", "deskripsi",
                              "alasan_teks", "keputusan", "kabkota_kode", "diterima", "kelurahan_nama")}


def client_config(data: LaporanData, f: LaporanFilter, opts: MapOptions, colours: dict[str, Warna]) -> dict:
    """The JSON the page's script receives (raw text: the script escapes it when it builds HTML)."""
    names = {r["kode"]: r["nama"] for r in data.opd}
    return {
        "points": [_point(r) for r in data.titik] if data.titik is not None else None,
        "grid": [{"n": g["n"], "lat": g["lat"], "lon": g["lon"], "opd_kode": g["opd_kode"]} for g in data.grid],
        "serah": [{k: r[k] for k in ("kode", "nama", "n", "lat", "lon")} for r in data.serah_terima],
        "total": data.total, "inlineMax": data.inline_max, "detailZoom": DETAIL_ZOOM,
        "colours": {k: w.fill for k, w in colours.items()}, "fallback": lainnya().fill,
        "textColours": {k: w.text for k, w in colours.items()}, "fallbackText": lainnya().text,
        "codes": {k: w.kode_singkat for k, w in colours.items()},
        "opdNames": names, "status": {**STATUS, **data.status_nama}, "keputusan": KEPUTUSAN,
        "api": f"{opts.api_base}/laporan/titik.json?{f.query_string()}" if opts.api_base else None,
    }


def _filter_form(data: LaporanData, f: LaporanFilter, served: bool,
                 kecamatan: list[tuple[str, str]] = ()) -> str:
    def _select(name: str, label: str, rows: list[tuple[str, str]], current: str | None) -> str:
        opts = "".join(f'<option value="{esc(k)}"{" selected" if k == current else ""}>{esc(v)}</option>'
                       for k, v in rows)
        return (f'<label for="f-{name}">{esc(label)}</label><select id="f-{name}" name="{name}">'
                f'<option value="">Semua</option>{opts}</select>')
    disabled = "" if served else " disabled"
    return (f'<form id="filter" class="sp-box sp-filter" method="get"><fieldset{disabled}>'
            + _select("layanan", "Kategori", [(r["kode"], r["nama"]) for r in data.layanan], f.layanan)
            + _select("opd", "OPD", [(r["kode"], r["nama"]) for r in data.opd], f.opd)
            + _select("status", "Status", list(STATUS_FILTER.items()), f.status)
            + _select("kecamatan", "Kecamatan", kecamatan, f.kecamatan)
            + '<label for="f-dari">Dari tanggal</label>' + tanggal_field("dari", f.dari, "f-dari")
            + '<label for="f-sampai">Sampai tanggal</label>' + tanggal_field("sampai", f.sampai, "f-sampai")
            + '<button type="submit">Terapkan</button></fieldset>'
            + ("" if served else '<p class="sp-note">Filter tersedia di /peta/laporan pada server.</p>')
            + "</form>")


def _choropleth(m: folium.Map, base: BaseData, data: LaporanData) -> list[tuple[str, str]]:
    counts = data.per_kelurahan
    bounds = _classes(list(counts.values()))
    if not base.kelurahan:
        return []
    rows = [{**r, "jumlah": counts.get(r["kode"], 0)} for r in base.kelurahan]
    fc = feature_collection(rows, ("kode", "nama", "jumlah"))
    folium.GeoJson(fc, name="Laporan per kelurahan",
                   style_function=lambda feat: {"color": "#8c6d4f", "weight": 0.6, "fillOpacity": 0.55,
                                                "fillColor": _choro_colour(feat["properties"]["jumlah"], bounds)},
                   tooltip=folium.GeoJsonTooltip(["nama", "kode", "jumlah"],
                                                 aliases=["Kelurahan", "Kode", "Jumlah laporan"]),
                   ).add_to(m)
    items, lo = [(CHORO[0], "0 laporan")], 1
    for i, b in enumerate(bounds):
        items.append((CHORO[min(1 + i, len(CHORO) - 1)], f"{lo}–{b} laporan" if lo < b else f"{b} laporan"))
        lo = b + 1
    return items


def build_laporan_map(base: BaseData, data: LaporanData, f: LaporanFilter, opts: MapOptions) -> str:
    """The whole page: choropleth, clustered points or grid aggregates, hand-offs, filter form, legend."""
    names = {r["kode"]: r["nama"] for r in data.layanan + data.opd + base.kecamatan}
    shown = "semua ditampilkan" if data.titik is not None else "diringkas per sel ±1 km"
    m = base_map(base, opts, title="Laporan warga",
                 subtitle=f"{angka(data.total)} laporan ({shown}) · {f.describe(names)}",
                 links=[("/peta", "Daftar peta")] if opts.api_base else [])
    choro_items = _choropleth(m, base, data)
    cluster = MarkerCluster(name="Laporan (titik)", options={"chunkedLoading": True, "maxClusterRadius": 50})
    cluster.add_to(m)
    colours = opd_colours(data.colour_rank or data.per_opd)
    m.add_child(LaporanLayer(cluster, client_config(data, f, opts, colours)))
    m.get_root().html.add_child(HtmlBox(_filter_form(data, f, served=bool(opts.api_base),
                                                     kecamatan=[(r["kode"], r["nama"]) for r in base.kecamatan])))
    distinct = {k for k, w in colours.items() if w.fill != lainnya().fill}
    opd_items: list[tuple[str, ...]] = [
        (colours[r["kode"]].fill, f"{short_code(r)} ({angka(r['n'])})", f"{r['nama']} ({angka(r['n'])})")
        for r in data.per_opd if r["kode"] in distinct]
    rest = [r for r in data.per_opd if r["kode"] not in distinct]
    if rest:
        opd_items.append((lainnya().fill, f"OPD lainnya ({angka(sum(r['n'] for r in rest))})",
                          "; ".join(f"{r['nama']} ({angka(r['n'])})" for r in rest)))
    notes = ["Titik dan lingkaran berwarna menurut OPD tujuan (terbanyak); angka = jumlah laporan."]
    if data.penduduk_kota:
        rate = 1000 * data.total / data.penduduk_kota
        per_seribu = (f"{rate:.2f}" if rate >= 0.1 else f"{rate:.4f}").replace(".", ",")
        notes.append(f"Seluruh kota: {per_seribu} laporan per 1.000 penduduk ({angka(data.penduduk_kota)} jiwa, "
                     "Kepmendagri); data penduduk per kelurahan belum tersedia.")
    if data.titik is None:
        notes.append(f"Lebih dari {data.inline_max:,} laporan: ditampilkan per sel ±1 km".replace(",", ".")
                     + ("; perbesar peta untuk melihat titik." if opts.api_base else "; saring untuk melihat titik."))
    if data.serah_terima:
        notes.append("Garis putus-putus: laporan yang diserahkan ke kab/kota tetangga." if data.titik is not None
                     else "Lingkaran putih: kab/kota tetangga penerima serahan laporan, dengan jumlahnya.")
    m.get_root().html.add_child(HtmlBox(legend_html(
        "Legenda", [], notes, sections=[("OPD tujuan", opd_items or [(NO_COLOUR, "Belum ada laporan")], "dot"),
                                        ("Laporan per kelurahan", choro_items, "sq")])))
    return finish(m, base, opts)
