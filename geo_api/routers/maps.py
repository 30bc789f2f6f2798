"""/peta: the web maps for GIS officers and OPD heads (folium pages) and the static assets they load."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from geo_api.deps import AppSettings, Conn
from geo_api.errors import NotFound
from maps.assets import static_root
from maps.base import MapOptions
from maps.data import load_base
from maps.index import build_index
from maps.layer import build_layer_map, load_layer

router = APIRouter(prefix="/peta", tags=["peta"])

_HTML_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "same-origin"}


def _options(settings: AppSettings) -> MapOptions:
    return MapOptions(asset_base="/peta/static/", tile_url=settings.maps_tile_url,
                      tile_attribution=settings.maps_tile_attribution, api_base="/peta")


def _catalog(request: Request):
    """The layers engineer's catalog when the app holds one, else one of our own kept on the app."""
    from layers.catalog import Catalog

    state = request.app.state
    found = getattr(state, "catalog", None)
    if found is None:
        found = getattr(state, "maps_catalog", None) or Catalog(ttl=30.0)
        state.maps_catalog = found
    return found


def _page(markup: str) -> HTMLResponse:
    return HTMLResponse(markup, headers=_HTML_HEADERS)


@router.get("", response_class=HTMLResponse, summary="Index of the maps")
async def index(request: Request, conn: Conn) -> HTMLResponse:
    """The list of maps and of every collection that has a Layer map."""
    collections = await _catalog(request).all(conn)
    return _page(build_index(list(collections.values()), served=True))


@router.get("/layer/{collection_id}", response_class=HTMLResponse, summary="Map of one collection")
async def layer_map(collection_id: str, request: Request, conn: Conn, settings: AppSettings) -> HTMLResponse:
    """The Layer map of a published or bundled collection (404 when the catalog has no such id)."""
    collection = await _catalog(request).get(conn, collection_id)
    base = await load_base(conn)
    layer = await load_layer(conn, collection)
    return _page(build_layer_map(base, layer, _options(settings)))


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
