"""The dashboard's pickup section (issue 18): Si Lacak's service record per kecamatan and per truck for a day and
its month (on-time %, late, missed, not yet), and the waste complaints that coincide with a missed pickup of the
nearest TPS. The figures are /fleet/pickups/report's (geo_api.fleet.pickups.report over the same visits); only
the rendering lives here. Loaded by the /peta/dasbor route, drawn by maps/dasbor.py as one block of HTML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from geo_api.db import fetch_all
from geo_api.fleet import pickups as pk
from geo_api.fleet import service as svc
from geo_api.settings import Settings
from ingestion import jadwal as jd
from maps.base import esc

STATUSES = (jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT, jd.BELUM)
BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")


@dataclass
class Pengangkutan:
    """The day's and the month's report (pk.report's shape), kecamatan names, and the coinciding complaints."""

    day: date
    hari: dict[str, Any] = field(default_factory=dict)
    bulan: dict[str, Any] = field(default_factory=dict)
    kecamatan: dict[str, str] = field(default_factory=dict)
    laporan: list[dict[str, Any]] = field(default_factory=list)
    sites: int = 0
    dari: date | None = None


async def load_pengangkutan(conn: psycopg.AsyncConnection, settings: Settings, fleet: Any, heavy: Any, day: date,
                            dari: date) -> Pengangkutan:
    """The report of `day` and of its month from one detection over the month's visits, and the waste laporan
    received from `dari` to `day` whose evidence found the nearest TPS's pickup missed."""
    tz = ZoneInfo(settings.fleet_timezone)
    days = svc.month_days(f"{day:%Y-%m}", tz)
    sched = pk.select(pk.scheduled(await fleet.sites(conn)), days, None, None)
    out = Pengangkutan(day=day, sites=len(sched), dari=dari)
    out.kecamatan = {r["kode"]: r["nama"] for r in await fetch_all(conn, "fleet_kecamatan_names")}
    lo = datetime(dari.year, dari.month, dari.day, tzinfo=tz)
    hi = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)
    out.laporan = await fetch_all(conn, "fleet_laporan_terlewat", {"lo": lo, "hi": hi})
    if not sched:
        return out
    visits = await svc.site_pickups(fleet, heavy, conn, settings, sched, days, None)
    now = datetime.now(tz)
    out.hari = await heavy.run(pk.report, tz, sched, [day], visits, now)
    out.bulan = await heavy.run(pk.report, tz, sched, days, visits, now)
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}".replace(".", ",") + " %"


def _table(tid: str, first: str, rows: dict[str, dict[str, Any]], label: Any) -> str:
    head = (f"<th scope='col'>{esc(first)}</th><th scope='col'>Tepat waktu</th><th scope='col'>Terlambat</th>"
            "<th scope='col'>Terlewat</th><th scope='col'>Belum waktunya</th><th scope='col'>Tepat waktu (%)</th>")
    body = "".join(
        f"<tr data-kunci='{esc(k)}'><th scope='row'>{esc(label(k))}</th>"
        + "".join(f"<td data-status='{s}'{' class=telat' if s == jd.TERLEWAT and r[s] else ''}>{r[s]}</td>"
                  for s in STATUSES)
        + f"<td data-status='persen'>{esc(_pct(r['tepat_waktu_persen']))}</td></tr>" for k, r in rows.items())
    if not rows:
        body = "<tr><td colspan='6'>Tidak ada jadwal angkut pada periode ini.</td></tr>"
    return f"<div class='tabel'><table id='{tid}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _laporan_table(rows: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    body = "".join(
        f"<tr data-id='{r['id']}'><td><a href='/lacak/{r['id']}'>{r['id']}</a></td>"
        f"<td>{esc(r['requested_at'].astimezone(tz).strftime('%d-%m-%Y %H:%M'))}</td>"
        f"<td>{esc(r['layanan_kode'])}</td><td>{esc(r['tps'])}</td><td>{esc(r['bukti'])}</td></tr>" for r in rows)
    if not rows:
        body = "<tr><td colspan='5'>Tidak ada laporan sampah yang bertepatan dengan pengangkutan terlewat.</td></tr>"
    return ("<div class='tabel'><table id='laporan-terlewat'><thead><tr><th scope='col'>Laporan</th>"
            "<th scope='col'>Diterima (WIB)</th><th scope='col'>Kategori</th><th scope='col'>TPS terdekat</th>"
            f"<th scope='col'>Catatan pengangkutan</th></tr></thead><tbody>{body}</tbody></table></div>")


def section_html(p: Pengangkutan, tz: ZoneInfo, served: bool) -> str:
    """The block the dashboard shows under 'Pengangkutan sampah'."""
    def kec(k: str) -> str:
        return p.kecamatan.get(k, k)

    def truk(k: str) -> str:
        return k

    bulan = f"{BULAN[p.day.month - 1]} {p.day.year}"
    if not p.sites:
        intro = f"<p class='kosong' id='pengangkutan-kosong'>{esc(svc.NO_JADWAL)}</p>"
    else:
        t = p.bulan.get("total", {})
        intro = (f"<p id='pengangkutan-ringkas'>{p.sites} TPS terjadwal. {esc(bulan)}: "
                 f"{t.get(jd.TEPAT_WAKTU, 0)} tepat waktu, {t.get(jd.TERLAMBAT, 0)} terlambat, "
                 f"{t.get(jd.TERLEWAT, 0)} terlewat ({esc(_pct(t.get('tepat_waktu_persen')))} tepat waktu). "
                 "Angka per jendela jadwal; jadwal dan armada dari Si Lacak.</p>")
    links = ""
    if served:
        links = (f"<p><a href='/fleet/pickups.csv?date={p.day.isoformat()}' download>Unduh pengangkutan "
                 f"{p.day:%d-%m-%Y} (CSV)</a> · <a href='/fleet/pickups/report?month={p.day:%Y-%m}'>Laporan bulanan "
                 "(JSON)</a> · <a href='/peta/armada'>Peta armada</a></p>")
    return (intro + links
            + f"<h3>Per kecamatan, {p.day:%d-%m-%Y}</h3>"
            + _table("pengangkutan-kecamatan-hari", "Kecamatan", p.hari.get("per_kecamatan", {}), kec)
            + f"<h3>Per kecamatan, {esc(bulan)}</h3>"
            + _table("pengangkutan-kecamatan-bulan", "Kecamatan", p.bulan.get("per_kecamatan", {}), kec)
            + f"<h3>Per truk, {p.day:%d-%m-%Y}</h3>"
            + _table("pengangkutan-truk-hari", "Truk", p.hari.get("per_kendaraan", {}), truk)
            + f"<h3>Per truk, {esc(bulan)}</h3>"
            + _table("pengangkutan-truk-bulan", "Truk", p.bulan.get("per_kendaraan", {}), truk)
            + f"<h3>Laporan sampah saat pengangkutan terlewat ({p.dari:%d-%m-%Y} s.d. {p.day:%d-%m-%Y})</h3>"
            + _laporan_table(p.laporan, tz))


async def pengangkutan_html(conn: psycopg.AsyncConnection, settings: Settings, fleet: Any, heavy: Any, dari: date,
                            sampai: date) -> str:
    """The section for a dashboard period: the figures of its last day (today at the latest) and that month."""
    tz = ZoneInfo(settings.fleet_timezone)
    day = min(sampai, datetime.now(tz).date())
    return section_html(await load_pengangkutan(conn, settings, fleet, heavy, day, min(dari, day)), tz, True)
