"""The thematic maps (laporan, armada, dasbor) as page builders for the standalone export."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from geo_api.settings import Settings
from maps.armada import build_armada_map, load_armada
from maps.base import BaseData, MapOptions
from maps.dasbor import Periode, build_dasbor, load_dasbor
from maps.data import data_sintetis
from maps.laporan import LaporanFilter, build_laporan_map, load_laporan


async def laporan_page(conn: psycopg.AsyncConnection, base: BaseData, opts: MapOptions,
                       settings: Settings) -> tuple[str, str]:
    """Every laporan, unfiltered (points up to maps_inline_reports, grid cells beyond)."""
    data = await load_laporan(conn, LaporanFilter(), settings.maps_inline_reports)
    opts = replace(opts, sintetis=await data_sintetis(conn))
    return build_laporan_map(base, data, LaporanFilter(), opts), f"{data.total} laporan"


async def armada_page(conn: psycopg.AsyncConnection, base: BaseData, opts: MapOptions,
                      settings: Settings) -> tuple[str, str]:
    """The fleet as of now (a snapshot: no server to refresh from)."""
    data = await load_armada(conn, settings)
    opts = replace(opts, sintetis=await data_sintetis(conn))
    return build_armada_map(base, data, opts, settings.maps_fleet_refresh_s), f"{len(data.live)} truk"


async def dasbor_page(conn: psycopg.AsyncConnection, base: BaseData, opts: MapOptions,
                      settings: Settings) -> tuple[str, str]:
    """The OPD dashboard for the default period (the last 30 days)."""
    periode = Periode.default()
    data = await load_dasbor(conn, periode, min(500, max(1, settings.maps_inline_reports)))
    opts = replace(opts, sintetis=await data_sintetis(conn))
    return build_dasbor(base, data, opts), f"{periode.dari} s.d. {periode.sampai}"


BUILDERS = {"laporan": laporan_page, "armada": armada_page, "dasbor": dasbor_page}
# The table each page reads first: a database not yet migrated that far gets no such page (and says so).
REQUIRES = {"laporan": "public.laporan", "armada": "fleet.vehicle", "dasbor": "public.laporan"}
