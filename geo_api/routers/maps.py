"""/peta: the web maps for GIS officers and OPD heads (folium pages) and the static assets they load."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import orjson
import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import AfterValidator, BeforeValidator

from geo_api.db import fetch_all
from geo_api.deps import AppSettings, Catalog, Fleet, Heavy, ReadConn
from geo_api.errors import InvalidParameter, NotFound, ServiceUnavailable
from geo_api.params import in_date_bounds, parse_bbox_wgs84
from maps.armada import build_armada_map, load_armada
from maps.assets import static_root
from maps.base import MapOptions
from maps.dasbor import Periode, build_dasbor, load_dasbor
from maps.data import data_sintetis, load_base
from maps.galat import date_range_page
from maps.index import build_index
from maps.laporan import LaporanFilter, build_laporan_map, laporan_titik, load_choices, load_laporan
from maps.layer import build_layer_map, load_layer
from maps.pengangkutan import pengangkutan_html

router = APIRouter(prefix="/peta", tags=["peta"])

_HTML_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "same-origin"}


def _options(settings: AppSettings, sintetis: bool = False) -> MapOptions:
    return MapOptions(asset_base="/peta/static/", tile_url=settings.maps_tile_url,
                      tile_attribution=settings.maps_tile_attribution, api_base="/peta", sintetis=sintetis)


@asynccontextmanager
async def _needs_schema() -> AsyncIterator[None]:
    """A database not migrated up to the fleet/laporan tables answers 503 with the fix, not a 500."""
    try:
        yield
    except psycopg.errors.UndefinedTable as exc:
        raise ServiceUnavailable(f"The database lacks a table this map reads ({exc.diag.message_primary}); "
                                 "run `satupeta db migrate`") from exc


def _page(markup: str) -> HTMLResponse:
    return HTMLResponse(markup, headers=_HTML_HEADERS)


def _typed(request: Request) -> dict[str, str | None]:
    """The period exactly as typed (already validated as dates), for the page that asks to correct it."""
    return {k: (request.query_params.get(k) or "")[:10] or None for k in ("dari", "sampai")}


def _bad_period(action: str, title: str, typed: dict[str, str | None]) -> HTMLResponse:
    """A page asked for a period ending before it starts: 422 as an HTML page in Bahasa, the form as typed."""
    return HTMLResponse(date_range_page(action, title, typed), status_code=422, headers=_HTML_HEADERS)


@router.get("", response_class=HTMLResponse, summary="Index of the maps")
async def index(conn: ReadConn, catalog: Catalog, heavy: Heavy) -> HTMLResponse:
    """The list of maps and of every collection that has a Layer map."""
    collections = await catalog.all(conn)
    return _page(await heavy.run(build_index, list(collections.values()), served=True))


@router.get("/layer/{collection_id}", response_class=HTMLResponse, summary="Map of one collection")
async def layer_map(collection_id: str, conn: ReadConn, catalog: Catalog, settings: AppSettings, heavy: Heavy,
                    sumber: Annotated[Literal["auto", "geojson", "tiles"], Query(
                        description="auto: GeoJSON up to 20,000 features, /ogc vector tiles beyond")] = "auto",
                    ) -> HTMLResponse:
    """The Layer map of a published or bundled collection (404 when the catalog has no such id)."""
    collection = await catalog.get(conn, collection_id)
    base = await load_base(conn, settings.geocode_street_layer)
    tiles = None if sumber == "geojson" else f"/ogc/collections/{collection.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
    layer = await load_layer(conn, collection, tiles_url=tiles, force_tiles=sumber == "tiles")
    return _page(await heavy.run(build_layer_map, base, layer, _options(settings)))


async def _laporan_filter(conn: ReadConn, layanan: str | None, opd: str | None, status: str | None,
                          dari: date | None, sampai: date | None, kecamatan: str | None = None) -> LaporanFilter:
    """Validate the filters: categories and OPDs must exist (422 naming the parameter otherwise)."""
    layanan_rows, opd_rows = await load_choices(conn)
    if layanan and layanan not in {r["kode"] for r in layanan_rows}:
        raise InvalidParameter("layanan", f"Unknown category {layanan!r}")
    if opd and opd not in {r["kode"] for r in opd_rows}:
        raise InvalidParameter("opd", f"Unknown OPD {opd!r}")
    if dari and sampai and sampai < dari:
        raise InvalidParameter("sampai", "sampai is before dari")
    if kecamatan and kecamatan not in {r["kode"] for r in await fetch_all(conn, "maps_kecamatan_kode")}:
        raise InvalidParameter("kecamatan", f"Unknown kecamatan {kecamatan!r}")
    return LaporanFilter(layanan=layanan or None, opd=opd or None, status=status or None, dari=dari, sampai=sampai,
                         kecamatan=kecamatan or None)


Status = Annotated[Literal["open", "in_progress", "closed", "terbuka", "selesai", ""] | None,
                   Query(description="Report status (terbuka: any open kind; selesai: any closed kind)")]
_DMY = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")


def _tanggal(v: object) -> object:
    """An empty date field (`dari=` from a form) means no limit; the pages' fields write dd-mm-yyyy, read here."""
    if not v:
        return None
    m = _DMY.fullmatch(v.strip()) if isinstance(v, str) else None
    return f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}" if m else v


Tanggal = Annotated[date | None, BeforeValidator(_tanggal), AfterValidator(in_date_bounds),
                    Query(description="YYYY-MM-DD or dd-mm-yyyy (WIB)")]
Kode = Annotated[str | None, Query(max_length=40, description="Code from the filter choices")]


@router.get("/laporan", response_class=HTMLResponse, summary="Map of citizen reports (Laporan warga)")
async def laporan_map(request: Request, conn: ReadConn, settings: AppSettings, heavy: Heavy, layanan: Kode = None,
                      opd: Kode = None, status: Status = None, dari: Tanggal = None, sampai: Tanggal = None,
                      kecamatan: Kode = None) -> HTMLResponse:
    """Reports coloured by OPD, clustered or aggregated, with choropleth, hand-offs and the filter form."""
    if dari and sampai and sampai < dari:
        return _bad_period("/peta/laporan", "Laporan warga", dict(layanan=layanan, opd=opd, status=status,
                                                                 kecamatan=kecamatan, **_typed(request)))
    async with _needs_schema():
        f = await _laporan_filter(conn, layanan, opd, status, dari, sampai, kecamatan)
        base = await load_base(conn, settings.geocode_street_layer)
        data = await load_laporan(conn, f, settings.maps_inline_reports)
        sintetis = await data_sintetis(conn)
    return _page(await heavy.run(build_laporan_map, base, data, f, _options(settings, sintetis)))


@router.get("/laporan/titik.json", summary="Reports in a bounding box")
async def laporan_points(conn: ReadConn, settings: AppSettings,
                         bbox: Annotated[str, Query(description="minx,miny,maxx,maxy (EPSG:4326)")],
                         layanan: Kode = None, opd: Kode = None, status: Status = None,
                         dari: Tanggal = None, sampai: Tanggal = None, kecamatan: Kode = None) -> Response:
    """The newest reports in view (at most maps_inline_reports); `terpotong` says whether more exist."""
    box = parse_bbox_wgs84(bbox)
    limit = settings.maps_inline_reports
    async with _needs_schema():
        f = await _laporan_filter(conn, layanan, opd, status, dari, sampai, kecamatan)
        rows = await laporan_titik(conn, f, box, limit + 1)
    body = orjson.dumps({"titik": rows[:limit], "terpotong": len(rows) > limit}, default=str)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/armada", response_class=HTMLResponse, summary="Map of the Si Lacak fleet (live)")
async def armada_map(conn: ReadConn, settings: AppSettings, heavy: Heavy, tanggal: Tanggal = None,
                     refresh: Annotated[float | None, Query(ge=1, le=300, description="Seconds between "
                                                            "position refreshes (default maps_fleet_refresh_s)")] = None
                     ) -> HTMLResponse:
    """Trucks refreshed in place, today's (or `tanggal`'s) tracks, stops, TPS/TPA visits, kelurahan served."""
    async with _needs_schema():
        base = await load_base(conn, settings.geocode_street_layer)
        data = await load_armada(conn, settings, tanggal)
        sintetis = await data_sintetis(conn)
    return _page(await heavy.run(build_armada_map, base, data, _options(settings, sintetis),
                                 refresh or settings.maps_fleet_refresh_s))


@router.get("/dasbor", response_class=HTMLResponse, summary="OPD performance dashboard")
async def dasbor(request: Request, conn: ReadConn, settings: AppSettings, heavy: Heavy, fleet: Fleet,
                 dari: Tanggal = None, sampai: Tanggal = None) -> HTMLResponse:
    """Received, open, closed, median/p90 time to close, overdue per OPD and kecamatan; plots; open-laporan map."""
    periode = Periode.default(dari, sampai)
    if periode.sampai < periode.dari:
        typed = {k: v or getattr(periode, k).strftime("%d-%m-%Y") for k, v in _typed(request).items()}
        return _bad_period("/peta/dasbor", "Dasbor OPD", typed)
    if (periode.sampai - periode.dari).days > 3660:
        raise InvalidParameter("dari", "the period is at most ten years")
    async with _needs_schema():
        base = await load_base(conn, settings.geocode_street_layer)
        data = await load_dasbor(conn, periode, min(500, max(1, settings.maps_inline_reports)))
        data.pengangkutan = await pengangkutan_html(conn, settings, fleet, heavy, periode.dari, periode.sampai)
        sintetis = await data_sintetis(conn)
    return _page(await heavy.run(build_dasbor, base, data, _options(settings, sintetis)))


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str) -> FileResponse:
    """Vendored and own assets; only files inside maps/static are ever served."""
    root = static_root().resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file() or _hidden(target, root):
        raise NotFound(f"No static file {path!r}")
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


def _hidden(target: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in target.relative_to(root).parts)
