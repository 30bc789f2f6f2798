"""A SYNTHETIC history of past weeks for the demo: laporan received over the last `hari` days, taken up and
handled in hours to days, some re-dispatched to another OPD, some left open past their due date. Every step goes
through the platform's own domain code (intake and routing: geo_api.routing.laporan.create; statuses and
re-dispatch: geo_api.laksa.siklus; the stage clock: siklus.jalankan_jam) with a clock the demo sets, so the
dashboard's times and lateness come from the same rules as real laporan. Descriptions say 'Contoh (sintetis)',
which is how every page knows to show DATA SINTETIS."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

from geo_api.audit import Actor
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import SatuPetaError
from geo_api.laksa import siklus
from geo_api.laksa.kalender import WIB, dari_katalog
from geo_api.routing import laporan as intake
from geo_api.settings import Settings

log = logging.getLogger("satupeta.maps.riwayat")

DESKRIPSI = ("Contoh (sintetis): {nama} perlu ditangani di sekitar sini.",
             "Contoh (sintetis): warga melaporkan masalah {nama} sejak kemarin.",
             "Contoh (sintetis): mohon dicek, {nama} mengganggu pengguna jalan.")
ALASAN_DISPOSISI = "Contoh (sintetis): bukan kewenangan OPD ini; dialihkan ke OPD yang menangani."


@dataclass(frozen=True)
class Nasib:
    """What happens to one laporan after intake, as offsets in hours (None: it never happens)."""

    disposisi_jam: float | None
    diproses_jam: float | None
    selesai_jam: float | None


def nasib(rng: random.Random) -> Nasib:
    """One laporan's fate: most taken up within hours to two days and finished in hours to ten days; one in ten
    re-dispatched first; one in six never taken up (they turn late); one in five taken up but not finished."""
    disposisi = rng.uniform(1, 30) if rng.random() < 0.1 else None
    r = rng.random()
    if r < 0.16:
        return Nasib(disposisi, None, None)
    diproses = rng.lognormvariate(2.3, 0.9)  # median ~10 h, a tail of several days
    if r < 0.36:
        return Nasib(disposisi, diproses, None)
    return Nasib(disposisi, diproses, diproses + rng.lognormvariate(3.4, 0.9))  # median ~30 h more


def _jam_kerja(t: datetime, rng: random.Random) -> datetime:
    """A time of day when citizens report (06:00-21:59 WIB) on the same date."""
    local = t.astimezone(WIB)
    return local.replace(hour=rng.randrange(6, 22), minute=rng.randrange(60), second=rng.randrange(60),
                         microsecond=0).astimezone(timezone.utc)


async def _titik(conn: psycopg.AsyncConnection, n: int, rng: random.Random) -> list[tuple[float, float]]:
    inside = await fetch_all(conn, "maps_kelurahan")
    pts = []
    for _ in range(n):
        k = rng.choice(inside)
        pts.append((k["label_lat"] + rng.gauss(0, 0.002), k["label_lon"] + rng.gauss(0, 0.002)))
    return pts


async def _layanan(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    out = []
    for r in await fetch_all(conn, "maps_laporan_pilihan"):
        if r["jenis"] == "layanan":
            row = await fetch_one(conn, "open311_service_get", {"kode": r["kode"]})
            if row:
                out.append(row)
    return out


async def isi_riwayat(conn: psycopg.AsyncConnection, settings: Settings, n: int, *, hari: int = 28,
                      seed: int = 21, now: datetime | None = None) -> dict[str, int]:
    """Receive n SYNTHETIC laporan spread over the last `hari` days and live their fates up to `now`, each step
    through the domain functions with the demo's clock; then run the stage clock once at `now`. Returns counts."""
    from geo_api.db import connect
    from geo_api.geocoding import load_geocoder
    from geo_api.routing.service import RoutingCache

    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    kal = dari_katalog()
    actor_warga = Actor("cli", "demo-sintetis:warga")
    actor_opd = Actor("cli", "demo-sintetis:petugas-opd")
    with connect(settings) as sync:
        reverse = load_geocoder(sync, tolerance_m=settings.geocode_gap_tolerance_m,
                                nearest_max_m=settings.geocode_nearest_max_m).reverse
    routing = await RoutingCache(settings.routing_triase_opd).get(conn)
    layanan = await _layanan(conn)
    if not layanan:
        raise SatuPetaError("no active categories: run `satupeta routing demo` first")
    kota = [r["kode"] for r in await fetch_all(conn, "maps_demo_opd_kota")]
    counts = {"diterima": 0, "didisposisi": 0, "diproses": 0, "selesai": 0, "ditolak": 0}
    for lat, lon in await _titik(conn, n, rng):
        svc = rng.choice(layanan)
        t0 = _jam_kerja(now - timedelta(days=rng.uniform(0.3, hari)), rng)
        if t0 >= now:
            t0 = now - timedelta(hours=1)
        form = {"lat": f"{lat:.6f}", "long": f"{lon:.6f}",
                "description": rng.choice(DESKRIPSI).format(nama=svc["nama"])}
        try:
            baru = intake.parse_new(form, svc, max_description=settings.open311_max_description,
                                    max_attributes=settings.open311_max_attributes, bbox=settings.open311_bbox)
            row, _ = await intake.create(conn, routing, reverse, baru, actor_warga, kal, now=t0)
        except SatuPetaError as exc:  # a point the city does not accept: skip it, as the real intake would
            counts["ditolak"] += 1
            log.info("synthetic laporan not accepted: %s", exc)
            continue
        counts["diterima"] += 1
        await _jalani(conn, kal, row["id"], nasib(rng), t0, now, kota, rng, actor_opd, counts)
    await siklus.jalankan_jam(conn, kal, Actor("cli", "demo-sintetis:jam"), now=now)
    return counts


async def _jalani(conn: psycopg.AsyncConnection, kal, laporan_id: int, f: Nasib, t0: datetime, now: datetime,
                  kota: list[str], rng: random.Random, actor: Actor, counts: dict[str, int]) -> None:
    """Apply one fate's steps that fall before `now`, in order, through laksa.siklus."""
    def at(h: float | None) -> datetime | None:
        t = t0 + timedelta(hours=h) if h is not None else None
        return t if t is not None and t < now else None

    try:
        if (t := at(f.disposisi_jam)) is not None:
            cur = await fetch_one(conn, "routing_laporan_get", {"id": laporan_id})
            lain = [k for k in kota if k != (cur or {}).get("opd_kode")]
            if lain:
                await siklus.disposisi(conn, kal, laporan_id, rng.choice(lain), ALASAN_DISPOSISI, actor, now=t)
                counts["didisposisi"] += 1
        if (t := at(f.diproses_jam)) is not None:
            await siklus.ubah_status(conn, kal, laporan_id, "in_progress", "Sedang ditangani (contoh sintetis).",
                                     actor, now=t)
            counts["diproses"] += 1
        if (t := at(f.selesai_jam)) is not None:
            await siklus.ubah_status(conn, kal, laporan_id, "closed", "Selesai ditangani (contoh sintetis).",
                                     actor, now=t)
            counts["selesai"] += 1
    except SatuPetaError as exc:  # a step the laporan's state no longer allows (e.g. handed off outside the city)
        log.info("synthetic laporan %s: step skipped: %s", laporan_id, exc)


DATAR_S = 86_400  # a demo whose laporan were all received within a day has no history of past weeks


async def riwayat_datar(conn: psycopg.AsyncConnection) -> int:
    """How many laporan an old demo database holds that has no realistic history (every laporan SYNTHETIC, all
    received within one day, e.g. topped up before the demo built past weeks); 0 when this is not one."""
    row = await fetch_one(conn, "maps_demo_datar")
    return row["n"] if row["n"] and not row["bukan_demo"] and row["rentang_s"] < DATAR_S else 0


async def ganti_riwayat_datar(conn: psycopg.AsyncConnection, settings: Settings, *, hari: int = 28,
                              now: datetime | None = None) -> dict[str, int] | None:
    """In an old demo database (riwayat_datar), replace its flat SYNTHETIC laporan with as many received over the
    last `hari` days and handled through the domain code (isi_riwayat). Never runs where any laporan is not
    SYNTHETIC. Returns isi_riwayat's counts plus `dihapus`, or None when there was nothing to do."""
    from geo_api import audit

    n = await riwayat_datar(conn)
    if not n or hari <= 0:
        return None
    async with conn.transaction():
        gone = [r["id"] for r in await fetch_all(conn, "maps_demo_hapus_datar")]
        if gone:
            await audit.record_by(conn, Actor("cli", "demo-sintetis:riwayat"), action="laporan.ganti_sintetis",
                                  target="laporan:sintetis", before={"laporan": len(gone), "dari_id": min(gone),
                                                                     "sampai_id": max(gone)})
    if not gone:
        return None
    counts = await isi_riwayat(conn, settings, len(gone), hari=hari, now=now)
    return {"dihapus": len(gone), **counts}
