"""Dasbor OPD: service performance per OPD over a period, with server-rendered SVG plots (matplotlib, no
JavaScript charting library to vendor) and a map of each OPD's open laporan."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import folium
import psycopg
from branca.element import MacroElement
from jinja2 import Template

from geo_api.db import fetch_all
from geo_api.laksa.dasbor import per_opd as laksa_per_opd
from maps.base import (
    SINTETIS_TEKS,
    BaseData,
    HtmlBox,
    MapOptions,
    base_map,
    esc,
    finish,
    js_value,
    legend_html,
    tanggal_input,
)
from maps.warna import Warna, lainnya, load_rank, opd_palette, short_code

CITY_TZ = ZoneInfo("Asia/Jakarta")
MAX_OPD_PLOTTED = 20  # past this many OPDs the chart folds the rest into one bar "OPD lainnya (n)": none dropped
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Periode:
    """The dashboard's period: laporan received from `dari` to `sampai` inclusive (WIB dates)."""

    dari: date
    sampai: date

    @classmethod
    def default(cls, dari: date | None = None, sampai: date | None = None) -> Periode:
        """The given dates, else the last DEFAULT_DAYS days up to today."""
        end = sampai or datetime.now(CITY_TZ).date()
        return cls(dari or end - timedelta(days=DEFAULT_DAYS - 1), end)


@dataclass
class DasborData:
    """Rows behind the dashboard."""

    periode: Periode
    total: dict[str, Any]
    per_opd: list[dict[str, Any]]
    per_kecamatan: list[dict[str, Any]]
    terbuka: list[dict[str, Any]]
    per_opd_cap: int
    colour_rank: list[dict[str, Any]] = field(default_factory=list)  # the laporan map's order (maps.warna)
    opd_kecamatan: list[dict[str, Any]] = field(default_factory=list)  # open and late per (OPD, kecamatan)
    per_layanan: list[dict[str, Any]] = field(default_factory=list)  # each category's due time and counts
    laksa: list[dict[str, Any]] = field(default_factory=list)  # SP4N-LAPOR! stages and IKM (geo_api.laksa.dasbor)
    pengangkutan: str = ""  # Si Lacak's pickup section, HTML from maps/pengangkutan.py (issue 18)

    def colours(self) -> dict[str, Warna]:
        """The same OPD colours as the laporan map (ranked over all laporan, not this period)."""
        return opd_palette(self.colour_rank)


async def load_dasbor(conn: psycopg.AsyncConnection, periode: Periode, per_opd_cap: int) -> DasborData:
    """Per-OPD and per-kecamatan figures and the open laporan for the map (capped per OPD)."""
    p = {"dari": periode.dari, "sampai": periode.sampai}
    rows = await fetch_all(conn, "maps_dasbor_opd", p)
    total = next((r for r in rows if r["kode"] is None), None) or {
        "diterima": 0, "terbuka": 0, "selesai": 0, "median_jam": None, "p90_jam": None, "terlambat": 0}
    return DasborData(periode=periode, total=total, per_opd=[r for r in rows if r["kode"] is not None],
                      per_kecamatan=await fetch_all(conn, "maps_dasbor_kecamatan", p),
                      terbuka=await fetch_all(conn, "maps_dasbor_terbuka", {**p, "per_opd": per_opd_cap}),
                      per_opd_cap=per_opd_cap, colour_rank=await load_rank(conn),
                      opd_kecamatan=await fetch_all(conn, "maps_dasbor_opd_kecamatan", p),
                      per_layanan=await fetch_all(conn, "maps_dasbor_layanan", p),
                      laksa=await laksa_per_opd(conn))


def durasi(jam: float | None) -> str:
    """Hours in the words an OPD head uses: '< 1 jam', '5,2 jam' or '3,1 hari'; '–' when nothing was closed."""
    if jam is None:
        return "–"
    if jam < 1:
        return "< 1 jam"
    return desimal(jam) + " jam" if jam < 48 else desimal(jam / 24) + " hari"


def desimal(x: float, digits: int = 1) -> str:
    """A number with a decimal comma and thousands points (id-ID): 1.234,5."""
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _unit(max_jam: float) -> tuple[float, str]:
    """The scale for a time axis: hours, or days past three days (never minutes: an OPD counts in jam and hari)."""
    if max_jam < 72:
        return 1.0, "Jam sampai selesai"
    return 1 / 24, "Hari sampai selesai"


def tenggat(r: dict[str, Any]) -> str:
    """A category's due time: its working-day SLA where the catalogue sets one, else its estimate in days."""
    if r.get("sla_hari_kerja"):
        return f"{r['sla_hari_kerja']} hari kerja"
    if r.get("perkiraan_hari"):
        return f"{r['perkiraan_hari']} hari (perkiraan)"
    return "–"


def angka(n: int | None) -> str:
    """A count with Indonesian thousands separators."""
    return f"{n or 0:,}".replace(",", ".")


# ---------------------------------------------------------------- plots (SVG, text kept as text)

def _svg(fig, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: it is inlined in HTML
    # an image with a name for screen readers; the same figures follow it as a table (_data_table)
    return text.replace("<svg", f'<svg role="img" aria-label="{esc(label)}"', 1)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # 3.6 in wide (plus labels) at 10 pt: on a 390 px phone the chart shrinks to ~0.8, text stays ~10 px
    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "satupeta"})
    return plt


FIG_W = 3.6


def _id_ticks(ax, digits: int = 0) -> None:
    """Axis numbers as id-ID writes them (1.000; 2,5)."""
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: desimal(v, digits) if digits else angka(round(v))))


def _legend_below(fig, ax) -> None:
    """The legend under the x axis label, so it never covers a bar."""
    fig.tight_layout()
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.62 / fig.get_figheight()), ncol=1, fontsize=9, frameon=False,
              borderaxespad=0)


def _label(r: dict[str, Any]) -> str:
    """The row's short name (DLH, Kabupaten Tangerang), wrapped, never cut: two names never become one label."""
    return "\n".join(textwrap.wrap(r.get("label") or short_code(r), 20)) or "?"


def fold_rows(rows: Sequence[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """The first `keep` rows, and the rest summed into one row 'OPD lainnya (n)', so no laporan leaves the chart."""
    rows = list(rows)
    if len(rows) <= keep:
        return rows
    rest = rows[keep - 1:]
    sums = {k: sum(r[k] or 0 for r in rest) for k in ("diterima", "terbuka", "selesai", "terlambat")}
    return [*rows[:keep - 1], {"kode": None, "nama": f"{len(rest)} OPD lainnya", "label": f"{len(rest)} OPD lainnya",
                               "median_jam": None, "p90_jam": None, **sums}]


def plot_status(rows: Sequence[dict[str, Any]], title: str) -> str:
    """Stacked horizontal bars: closed, open on time and overdue laporan per row (OPD or kecamatan)."""
    plt = _plt()
    rows = list(rows)[::-1]
    labels = [_label(r) for r in rows]
    lines = sum(max(1, lb.count("\n") + 1) for lb in labels)
    fig, ax = plt.subplots(figsize=(FIG_W, 0.2 * lines + 0.12 * len(rows) + 1.0))
    y = list(range(len(rows)))  # positions, not label strings: equal labels would share one bar
    selesai = [r["selesai"] for r in rows]
    tepat = [r["terbuka"] - r["terlambat"] for r in rows]
    telat = [r["terlambat"] for r in rows]
    ax.barh(y, selesai, color="#009E73", label="Selesai")
    ax.barh(y, tepat, left=selesai, color="#56B4E9", label="Terbuka (dalam tenggat)")
    ax.barh(y, telat, left=[a + b for a, b in zip(selesai, tepat, strict=True)], color="#D55E00",
            label="Terbuka, terlambat")
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("Jumlah laporan")
    _id_ticks(ax)
    ax.set_title(title, loc="left", fontsize=11)
    _legend_below(fig, ax)
    return _svg(fig, f"Grafik batang: {title}; angkanya ada di tabel di bawah grafik")


def plot_waktu(rows: Sequence[dict[str, Any]]) -> str:
    """Median and 90th-percentile time to close per OPD (hours or days), side by side."""
    plt = _plt()
    rows = [r for r in rows if r["median_jam"] is not None][::-1]
    labels = [_label(r) for r in rows]
    lines = sum(max(1, lb.count("\n") + 1) for lb in labels)
    fig, ax = plt.subplots(figsize=(FIG_W, 0.24 * lines + 0.16 * len(rows) + 1.0))
    y = list(range(len(rows)))
    factor, axis_label = _unit(max((r["p90_jam"] for r in rows), default=0))
    ax.barh([v + 0.2 for v in y], [r["median_jam"] * factor for r in rows], height=0.4, color="#0072B2",
            label="Median")
    ax.barh([v - 0.2 for v in y], [r["p90_jam"] * factor for r in rows], height=0.4, color="#E69F00",
            label="Persentil ke-90")
    ax.set_yticks(y, labels)
    ax.set_xlabel(axis_label)
    top = max((r["p90_jam"] * factor for r in rows), default=0)
    _id_ticks(ax, 2 if top < 0.5 else 1 if top < 5 else 0)
    ax.set_title("Waktu penyelesaian per OPD", loc="left", fontsize=11)
    _legend_below(fig, ax)
    return _svg(fig, "Grafik batang: waktu penyelesaian per OPD (median dan persentil ke-90); "
                     "angkanya ada di tabel di bawah grafik")


def _data_table(rows: Sequence[dict[str, Any]], first: str, waktu: bool) -> str:
    """The chart's figures as a table (its text alternative), folded under the chart."""
    if waktu:
        head = ("Median", "Persentil ke-90")
        body = "".join(f"<tr><th scope='row'>{esc(r.get('label') or r['nama'])}</th><td>{esc(durasi(r['median_jam']))}"
                       f"</td><td>{esc(durasi(r['p90_jam']))}</td></tr>" for r in rows if r["median_jam"] is not None)
    else:
        head = ("Selesai", "Terbuka (dalam tenggat)", "Terbuka, terlambat")
        body = "".join(f"<tr><th scope='row'>{esc(r.get('label') or r['nama'])}</th><td>{angka(r['selesai'])}</td>"
                       f"<td>{angka(r['terbuka'] - r['terlambat'])}</td><td>{angka(r['terlambat'])}</td></tr>"
                       for r in rows)
    return ("<details class='data-grafik'><summary>Tabel data grafik</summary><div class='tabel'><table>"
            f"<thead><tr><th scope='col'>{esc(first)}</th>" + "".join(f"<th scope='col'>{h}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table></div></details>")


# ---------------------------------------------------------------- map of open laporan per OPD

class OpenPerOpd(MacroElement):
    """Fills one folium FeatureGroup per OPD with its open laporan (SP.titikOpd in peta.js)."""

    _template = Template("""{% macro script(this, kwargs) %}
        {%- for group, cfg in this.groups %}
        SP.titikOpd({{ group.get_name() }}, {{ cfg }});
        {%- endfor %}
    {% endmacro %}""")

    def __init__(self, groups: list[tuple[folium.FeatureGroup, str]]):
        super().__init__()
        self._name = "OpenPerOpd"
        self.groups = groups


def build_open_map(base: BaseData, data: DasborData, opts: MapOptions) -> str:
    """A map with one toggleable layer per OPD holding its open laporan (overdue ones ringed in red)."""
    m = base_map(base, opts, title="Laporan terbuka per OPD",
                 subtitle=f"Diterima {data.periode.dari:%d-%m-%Y} s.d. {data.periode.sampai:%d-%m-%Y}")
    names = {r["kode"]: r for r in data.per_opd}
    by_opd: dict[str, list[dict[str, Any]]] = {}
    for r in data.terbuka:
        by_opd.setdefault(r["opd_kode"], []).append(r)
    order = sorted(by_opd, key=lambda k: -by_opd[k][0]["n_opd"])
    colours = data.colours()
    groups, items = [], []
    for kode in order:
        w = colours.get(kode, lainnya())
        rows = by_opd[kode]
        row = names.get(kode, {"kode": kode, "nama": kode})
        nama = row.get("nama", kode)
        shown = f"{angka(len(rows))} dari {angka(rows[0]['n_opd'])}" if len(rows) < rows[0]["n_opd"] \
            else angka(len(rows))
        group = folium.FeatureGroup(name=esc(f"{short_code(row)} ({shown})"), show=True)  # every OPD listed is drawn
        group.add_to(m)
        cfg = {"colour": w.fill, "opd": nama,
               "points": [[r["lat"], r["lon"], r["id"], r["layanan_nama"], bool(r["terlambat"])] for r in rows]}
        groups.append((group, js_value(cfg)))
        items.append((w.fill, f"{short_code(row)} ({shown})", f"{nama} ({shown})"))
    m.add_child(OpenPerOpd(groups))
    notes = [f"Paling banyak {angka(data.per_opd_cap)} laporan terbaru per OPD; lingkar merah = terlambat.",
             "Pilih OPD lewat tombol lapisan (kanan atas)."]
    m.get_root().html.add_child(HtmlBox(legend_html("Laporan terbuka", items or [("#7f7f7f", "Tidak ada")], notes)))
    return finish(m, base, opts)


# ---------------------------------------------------------------- the page

_STYLE = """body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f4e79;color:#fff;padding:.8rem 1.4rem}header h1{margin:0;font-size:1.4rem}
header a{color:#cfe3ff}main{padding:1rem 1.4rem;max-width:80rem}
.kartu{display:flex;flex-wrap:wrap;gap:.8rem;margin:.6rem 0 1rem}.kartu div{background:#fff;border-radius:6px;
padding:.6rem 1rem;box-shadow:0 1px 3px rgba(0,0,0,.15);min-width:9rem}.kartu b{display:block;font-size:1.5rem}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}th,td{padding:.3rem .6rem;
border-bottom:1px solid #e3e3e3;text-align:right}th:first-child,td:first-child{text-align:left}
.plot{background:#fff;border-radius:6px;padding:.6rem;margin:1rem 0;box-shadow:0 1px 3px rgba(0,0,0,.15)}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,30rem),1fr));gap:1rem}
.plot svg{max-width:100%;height:auto;display:block;margin:0 auto}.plot{margin:0}
details.data-grafik{font-size:.85rem;margin-top:.4rem}
.kosong{background:#fff8e1;border-left:4px solid #b26a00;padding:.5rem .8rem}
form{margin:.4rem 0}iframe{width:100%;height:620px;border:0;
border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15);background:#fff}.telat{color:#b2182b;font-weight:600}
.sintetis{margin:0;background:#7a1f00;color:#fff;font-weight:600;padding:.35rem 1.4rem}
caption{text-align:left;font-size:.85rem;color:#444;padding:.3rem 0}
#opd-kecamatan td,#opd-kecamatan th{white-space:nowrap}
#opd-kecamatan th[scope=row],#opd-kecamatan thead th:first-child{position:sticky;left:0;background:#fff;z-index:1}
@media (max-width:600px){#opd-kecamatan th[scope=row]{white-space:normal;min-width:7rem;max-width:9rem}
.tabel caption{position:sticky;left:0;width:calc(100vw - 1.4rem);box-sizing:border-box}}
.nol{color:#999}th[scope=row]{text-align:left}
.tabel{overflow-x:auto;max-width:100%}.sw{display:inline-block;width:12px;height:12px;border-radius:50%;
margin-right:6px;vertical-align:-1px;border:1px solid #555}
@media (max-width:600px){main{padding:.6rem}header{padding:.6rem}iframe{height:480px}table{font-size:.85rem}}"""


def _kartu(t: dict[str, Any]) -> str:
    cards = [("Diterima", angka(t["diterima"])), ("Terbuka", angka(t["terbuka"])), ("Selesai", angka(t["selesai"])),
             ("Terlambat", angka(t["terlambat"])), ("Median waktu selesai", durasi(t["median_jam"])),
             ("Persentil ke-90", durasi(t["p90_jam"]))]
    return '<section class="kartu" id="ringkasan">' + "".join(
        f"<div><b>{esc(v)}</b>{esc(k)}</div>" for k, v in cards) + "</section>"


def _table(rows: Sequence[dict[str, Any]], first: str, with_time: bool,
           colours: dict[str, Warna] | None = None) -> str:
    head = f"<th>{esc(first)}</th><th>Diterima</th><th>Terbuka</th><th>Selesai</th>" + (
        "<th>Median waktu selesai</th><th>Persentil ke-90</th>" if with_time else "") + "<th>Terlambat</th>"
    body = "".join(
        f"<tr><td>{_swatch(r, colours)}{esc(r['nama'])}</td><td>{angka(r['diterima'])}</td>"
        f"<td>{angka(r['terbuka'])}</td>"
        f"<td>{angka(r['selesai'])}</td>"
        + (f"<td>{esc(durasi(r['median_jam']))}</td><td>{esc(durasi(r['p90_jam']))}</td>" if with_time else "")
        + f"<td{' class=telat' if r['terlambat'] else ''}>{angka(r['terlambat'])}</td></tr>" for r in rows)
    if not rows:
        body = f"<tr><td colspan='{7 if with_time else 5}'>Tidak ada laporan diterima pada periode ini.</td></tr>"
    return f"<div class='tabel'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _silang(data: DasborData, served: bool) -> str:
    """OPD x kecamatan: open laporan (late ones in red) per cell, each linking to the laporan map filtered to it."""
    if not data.opd_kecamatan:
        return "<p class='kosong'>Tidak ada laporan terbuka pada periode ini.</p>"
    cells = {(r["opd_kode"], r["kecamatan_kode"]): r for r in data.opd_kecamatan}
    opds = [r for r in data.per_opd if any(k[0] == r["kode"] for k in cells)]
    keca = [r for r in data.per_kecamatan if any(k[1] == r["kode"] for k in cells)]
    colours = data.colours()
    p = data.periode

    def cell(o: dict[str, Any], k: dict[str, Any]) -> str:
        c = cells.get((o["kode"], k["kode"]))
        if not c:
            return "<td class='nol'>–</td>"
        text = angka(c["terbuka"]) + (f" <b class='telat'>({angka(c['terlambat'])} terlambat)</b>"
                                      if c["terlambat"] else "")
        label = f"{o['nama']} di {k['nama']}: {c['terbuka']} terbuka, {c['terlambat']} terlambat"
        if not served:
            return f"<td title='{esc(label)}'>{text}</td>"
        href = "/peta/laporan?" + urlencode({"opd": o["kode"], "kecamatan": k["kode"], "status": "terbuka",
                                             "dari": p.dari.isoformat(), "sampai": p.sampai.isoformat()})
        return f"<td><a href='{esc(href)}' title='{esc(label)}' aria-label='{esc(label)}'>{text}</a></td>"

    head = "<th scope='col'>OPD</th>" + "".join(f"<th scope='col'>{esc(k['nama'])}</th>" for k in keca)
    body = "".join(f"<tr><th scope='row' title='{esc(o['nama'])}'>{_swatch(o, colours)}{esc(short_code(o))}</th>"
                   + "".join(cell(o, k) for k in keca) + "</tr>" for o in opds)
    return (f"<div class='tabel'><table id='opd-kecamatan'><caption>Laporan terbuka (dan yang terlambat) per OPD "
            f"dan kecamatan; klik angka untuk melihatnya di peta.</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _persen(x: float | None) -> str:
    return "–" if x is None else desimal(x) + " %"


def _laksa_table(rows: Sequence[dict[str, Any]], served: bool) -> str:
    """SLA compliance per SP4N-LAPOR! stage, overdue now, re-dispatches and IKM per OPD (all laporan, any date)."""
    head = ("<th>OPD</th><th>Laporan</th><th>Disposisi tepat waktu (3 hari kerja)</th>"
            "<th>Tindak lanjut tepat waktu (5 hari kerja)</th><th>Terlambat sekarang</th>"
            "<th>Didisposisi keluar / masuk</th><th>IKM (n penilaian)</th>")
    body = "".join(
        f"<tr><td>{esc(r['opd_nama'])}</td><td>{angka(r['laporan'])}</td>"
        f"<td>{esc(_persen(r['disposisi_tepat_persen']))}</td><td>{esc(_persen(r['tindak_lanjut_tepat_persen']))}</td>"
        f"<td{' class=telat' if r['terlambat'] else ''}>{angka(r['terlambat'])}</td>"
        f"<td>{angka(r['disposisi_keluar'])} / {angka(r['disposisi_masuk'])}</td>"
        f"<td>{esc('–' if r['ikm'] is None else desimal(r['ikm']))} ({angka(r['penilaian'])})</td></tr>" for r in rows)
    if not rows:
        body = "<tr><td colspan='7'>Belum ada laporan.</td></tr>"
    unduh = "<p><a href='/routing/dasbor.csv' download>Unduh tabel (CSV)</a></p>" if served else ""
    return ("<div class='tabel'><table id='laksa-sla'><caption>Semua laporan, tidak dibatasi periode di atas. IKM = "
            "rata-rata penilaian pelapor (1–4) × 25.</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{unduh}")


def _layanan_table(rows: Sequence[dict[str, Any]]) -> str:
    """Each category with its due time, and its laporan in the period (received, open, overdue)."""
    body = "".join(f"<tr><td>{esc(r['nama'])}</td><td class='tenggat'>{esc(tenggat(r))}</td>"
                   f"<td>{angka(r['diterima'])}</td><td>{angka(r['terbuka'])}</td>"
                   f"<td{' class=telat' if r['terlambat'] else ''}>{angka(r['terlambat'])}</td></tr>" for r in rows)
    if not rows:
        body = "<tr><td colspan='5'>Belum ada kategori layanan.</td></tr>"
    return ("<div class='tabel'><table id='per-layanan'><thead><tr><th>Kategori</th><th>Tenggat</th><th>Diterima</th>"
            f"<th>Terbuka</th><th>Terlambat</th></tr></thead><tbody>{body}</tbody></table></div>")


def _swatch(r: dict[str, Any], colours: dict[str, Warna] | None) -> str:
    if colours is None:
        return ""
    w = colours.get(r.get("kode"), lainnya())
    return f'<span class="sw sp-opd-warna" data-opd="{esc(r.get("kode"))}" style="background:{w.fill}"></span>'


def build_dasbor(base: BaseData, data: DasborData, opts: MapOptions) -> str:
    """The dashboard page: period form, summary cards, tables, SVG plots and the open-laporan map."""
    p = data.periode
    served = bool(opts.api_base)
    opd_rows = fold_rows([{**r, "label": short_code(r)} for r in data.per_opd], MAX_OPD_PLOTTED)
    plots = []
    if opd_rows:
        plots.append(plot_status(opd_rows, "Laporan per OPD") + _data_table(opd_rows, "OPD", False))
        if any(r["median_jam"] is not None for r in opd_rows):
            plots.append(plot_waktu(opd_rows) + _data_table(opd_rows, "OPD", True))
    if any(r["diterima"] for r in data.per_kecamatan):
        plots.append(plot_status(data.per_kecamatan, "Laporan per kecamatan")
                     + _data_table(data.per_kecamatan, "Kecamatan", False))
    form = ("<form method='get' id='periode'>" + tanggal_input("dari", "Dari", p.dari) + " "
            + tanggal_input("sampai", "Sampai", p.sampai) + " <button type='submit'>Tampilkan</button></form>")
    kosong = "" if data.total["diterima"] else (
        "<p class='kosong' role='status' id='periode-kosong'>Tidak ada laporan diterima pada periode ini. "
        "Pilih periode lain.</p>")
    nav = '<a href="/peta">Daftar peta</a> · <a href="/peta/laporan">Laporan warga</a>' if served else ""
    open_map = build_open_map(base, data, replace(opts, sintetis=False))  # the page above says it once
    return ("<!DOCTYPE html><html lang='id'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'><link rel='icon' href='data:,'>"
            f"<title>Dasbor OPD — Satu Peta Kota Tangerang</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>Dasbor OPD</h1><div>Laporan diterima {p.dari:%d-%m-%Y} s.d. {p.sampai:%d-%m-%Y} (WIB)"
            f"{' · ' + nav if nav else ''}</div></header>"
            + (f"<p class='sintetis' role='note' id='data-sintetis'>{esc(SINTETIS_TEKS)}</p>" if opts.sintetis else "")
            + "<main>"
            + (form if served else "") + kosong + _kartu(data.total)
            + "<h2>Siapa terlambat, di mana</h2>" + _silang(data, served)
            + "<h2>Per OPD</h2>" + _table(data.per_opd, "OPD", True, data.colours())
            + "<h2>Per kategori dan tenggatnya</h2>" + _layanan_table(data.per_layanan)
            + "<h2>Tenggat SP4N-LAPOR! dan kepuasan warga</h2>" + _laksa_table(data.laksa, served)
            + ("<h2 id='pengangkutan'>Pengangkutan sampah (Si Lacak)</h2>" + data.pengangkutan
               if data.pengangkutan else "")
            + ("<h2>Grafik</h2><div class='plots'>" + "".join(f"<figure class='plot'>{svg}</figure>" for svg in plots)
               + "</div>" if plots else "")
            + "<h2>Per kecamatan</h2>" + _table(data.per_kecamatan, "Kecamatan", False)
            + "<h2>Peta laporan terbuka per OPD</h2>"
            + f"<iframe id='peta-terbuka' title='Peta laporan terbuka per OPD' srcdoc=\"{esc(open_map)}\"></iframe>"
            + "</main></body></html>")
