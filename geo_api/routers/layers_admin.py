"""Publishing OPD layers: POST /layers (the file as the request body), list, restore, unpublish."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from geo_api.audit import Actor
from geo_api.db import fetch_all
from geo_api.deps import AdminKey, AppSettings, Conn, Layers
from geo_api.errors import NotFound, PayloadTooLarge
from layers import publish as pub
from layers.katalog.metadata import check_form

router = APIRouter(prefix="/layers", tags=["Layer publishing"])
Text = Annotated[str, Query(max_length=2000)]


async def _save_body(request: Request, target: Path, limit: int) -> None:
    """Stream the body to disk, stopping with 413 as soon as it passes the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit >> 20} MB", extra={"parameter": "file"})
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the file is larger than {limit >> 20} MB", extra={"parameter": "file"})
            out.write(chunk)
    if size == 0:
        raise pub.BadRequest("the request body (the layer file) is empty", extra={"parameter": "file"})


@router.post("", status_code=201, summary="Publish a layer file (new version)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def publish_layer(
    request: Request, conn: Conn, settings: AppSettings, key: AdminKey, layers: Layers,
    id: Annotated[str, Query(max_length=48, description="Layer id: a-z, 0-9, _")],
    title: Annotated[str, Query(max_length=300)],
    opd: Annotated[str, Query(max_length=300, description="Owning OPD")],
    filename: Annotated[str, Query(max_length=255, description="Original file name (its extension tells "
                                   "the format: .geojson, .gpkg, .zip with a Shapefile, .csv)")],
    format: Annotated[str | None, Query(description="geojson, gpkg, shapefile or csv")] = None,
    description: Text = "", licence: Text = "", attribution: Text = "",
    source_layer: Annotated[str | None, Query(max_length=200, description="Layer inside a GeoPackage")] = None,
    csv_crs: Annotated[str, Query(max_length=50, description="CRS of CSV coordinates")] = "EPSG:4326",
    kugi: Annotated[str | None, Query(max_length=60, description="KUGI feature-type code (/katalog/kugi)")] = None,
    topic: Annotated[str | None, Query(max_length=60, description="ISO 19115 topic category")] = None,
    keywords: Annotated[str | None, Query(max_length=2000, description="Theme keywords, comma-separated")] = None,
    purpose: Text = "", lineage: Text = "",
    scale: Annotated[str | None, Query(max_length=12, description="Scale denominator, e.g. 5000")] = None,
    frequency: Annotated[str | None, Query(max_length=20, description="ISO maintenance frequency")] = None,
    contact_email: Annotated[str | None, Query(max_length=254, description="OPD contact e-mail")] = None,
    created: Annotated[str | None, Query(max_length=10, description="Creation date of the data, YYYY-MM-DD")] = None,
) -> dict:
    """Publish the body (a layer file) as the new live version of layer `id`; the report lists repairs, the
    metadata elements still missing (SNI 8843-1) are listed, invalid ones are a 422 naming each element."""
    meta = pub.LayerMeta(id=id, title=title, opd=opd, description=description, licence=licence,
                         attribution=attribution, published_by=key["name"])
    meta.validate()
    given = check_form({"kugi": kugi, "topic": topic, "purpose": purpose, "lineage": lineage, "scale": scale,
                        "frequency": frequency, "contact_email": contact_email, "created": created,
                        "keywords": [k.strip() for k in (keywords or "").split(",") if k.strip()]})
    limits = pub.Limits.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="satupeta-layer-") as tmp:
        upload = Path(tmp) / "upload"
        await _save_body(request, upload, limits.upload_bytes)
        work = Path(tmp) / "work"
        work.mkdir()
        # reading and repairing is CPU-bound GDAL/shapely work: off the event loop
        prep = await run_in_threadpool(pub.prepare, upload, filename, work, limits, fmt=format,
                                       source_layer=source_layer, csv_crs=csv_crs)
    result = await pub.publish(conn, prep, meta, Actor.from_key(key, request),  # audited in its transaction
                               metadata=given, settings=settings)
    layers.changed(id)
    return {**result, "links": [{"href": f"/ogc/collections/{id}", "rel": "collection"},
                                {"href": f"/ogc/collections/{id}/tiles/WebMercatorQuad/tilejson.json",
                                 "rel": "tilejson"},
                                {"href": f"/csw?service=CSW&version=2.0.2&request=GetRecordById&id="
                                         f"{settings.katalog_kode_simpul}:{id}", "rel": "describedby"}]}


@router.get("", summary="Published layers and their versions")
async def list_layers(conn: Conn, key: AdminKey) -> list[dict]:
    """Every registered layer with its versions."""
    return await fetch_all(conn, "layers_list", {"id": None})


@router.get("/{layer_id}", summary="One layer and its versions")
async def get_layer(conn: Conn, key: AdminKey, layer_id: str) -> dict:
    """One registered layer with its versions."""
    rows = await fetch_all(conn, "layers_list", {"id": layer_id})
    if not rows:
        raise NotFound(f"No published layer {layer_id!r}")
    return rows[0]


@router.post("/{layer_id}/restore", summary="Make a kept version live again")
async def restore_layer(request: Request, conn: Conn, key: AdminKey, layers: Layers, layer_id: str,
                        version: Annotated[int, Query(ge=1, le=1_000_000)]) -> dict:
    """Re-point the layer's view at an earlier version, atomically."""
    result = await pub.restore(conn, layer_id, version, Actor.from_key(key, request))
    layers.changed(layer_id)
    return result


@router.delete("/{layer_id}", summary="Unpublish a layer")
async def unpublish_layer(request: Request, conn: Conn, key: AdminKey, layers: Layers,
                          layer_id: str) -> dict:
    """Remove the layer from the collections and tiles; its versions stay restorable."""
    result = await pub.unpublish(conn, layer_id, Actor.from_key(key, request))
    layers.changed(layer_id)
    return result
