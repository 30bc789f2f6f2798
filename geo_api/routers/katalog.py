"""The node's catalogue over HTTP: CSW 2.0.2 at /csw, whole-layer downloads at /unduh, the KUGI code list, and a
layer's metadata document (ISO 19139 or MCF) put by a GIS admin."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from lxml import etree
from pygeofilter import ast
from starlette.background import BackgroundTask

from geo_api.audit import Actor
from geo_api.db import fetch_all, fetch_one
from geo_api.deps import AdminKey, AppSettings, Catalog, Conn, Heavy, Layers
from geo_api.errors import InvalidParameter, NotFound, PayloadTooLarge, ServiceUnavailable
from geo_api.params import parse_int
from layers.errors import QueryParameterError
from layers.katalog import csw, download, records, store, xmlsafe
from layers.katalog import metadata as md
from layers.katalog import pages as kpages

router = APIRouter(tags=["Katalog (CSW, unduh)"])
XML = "application/xml"
_NAME = re.compile(r"^([a-z][a-z0-9_]{0,62})\.(gpkg|zip|csv|kml|geojson)$")


def base_url(request: Request, settings: Any) -> str:
    """The public base URL written into links (setting, else the request's)."""
    return (settings.katalog_base_url or str(request.base_url)).rstrip("/")


def has_ows(request: Request) -> bool:
    """Whether this app serves WMS/WFS at /ows (issue 15), so metadata may link to it."""
    return any(p.startswith("/ows") for p in request.app.openapi().get("paths", {}))  # cached by FastAPI


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XML)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- CSW

async def _answer(request: Request, conn: Any, settings: Any, req: csw.Request) -> Response:
    node = md.Node.from_settings(settings)
    base = base_url(request, settings)
    if req.operation == "GetCapabilities":
        return _xml(csw.capabilities(node, f"{base}/csw"))
    if req.operation == "DescribeRecord":
        return _xml(csw.describe_record())
    await store.sync_bundled(conn, settings)
    ows = has_ows(request)
    if req.operation == "GetRecordById":
        rows = [r for i in req.ids if (r := await store.record(conn, i)) is not None]
        return _xml(csw.record_by_id_response([_render(r, req, node, base, ows) for r in rows]))
    cond, values = csw.where(req)
    if req.result_type == "validate":
        return _xml(csw.acknowledgement(_now()))
    limit = 0 if req.result_type == "hits" else min(req.max_records, settings.katalog_max_records)
    matched, rows = await store.search(conn, cond, values, csw.order_by(req), limit, req.start - 1)
    return _xml(csw.records_response(req, matched, [_render(r, req, node, base, ows) for r in rows], _now()))


def _render(row: dict[str, Any], req: csw.Request, node: md.Node, base: str, ows: bool) -> etree._Element:
    if req.output_schema == md.GMD:
        return etree.fromstring(store.RENDERINGS.iso(row, node, base, ows))  # our own document
    facts = store.facts_of(row)
    return csw.dc_record(facts, row["identifier"], req.element_set, md.mcf(facts, node, base, ows)["distribution"])


def _exception(err: csw.CswError) -> Response:
    return _xml(csw.exception_report(err), err.status)


@router.get("/csw", summary="CSW 2.0.2 (KVP)", response_class=Response,
            responses={200: {"content": {XML: {}}}, 400: {"content": {XML: {}}}})
async def csw_get(request: Request, conn: Conn, settings: AppSettings) -> Response:
    """GetCapabilities, DescribeRecord, GetRecords, GetRecordById; errors as OWS ExceptionReports."""
    try:
        return await _answer(request, conn, settings, csw.from_kvp(request.query_params))
    except csw.CswError as err:
        return _exception(err)


@router.post("/csw", summary="CSW 2.0.2 (XML POST)", response_class=Response,
             openapi_extra={"requestBody": {"required": True, "content": {XML: {"schema": {"type": "string"}}}}},
             responses={200: {"content": {XML: {}}}, 400: {"content": {XML: {}}}})
async def csw_post(request: Request, conn: Conn, settings: AppSettings) -> Response:
    """The same operations as XML documents (what OWSLib and QGIS MetaSearch send)."""
    body = await _read_body(request, xmlsafe.MAX_XML_BYTES)
    try:
        try:
            root = xmlsafe.parse(body)
        except xmlsafe.UnsafeXml as exc:
            raise csw.CswError("NoApplicableCode", "request", str(exc)) from None
        return await _answer(request, conn, settings, csw.from_xml(root))
    except csw.CswError as err:
        return _exception(err)


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit >> 20} MB", extra={"parameter": "body"})
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- downloads

@router.get("/unduh/{name}", summary="Download a whole layer (GeoPackage, Shapefile zip, GeoJSON, CSV, KML)",
            response_class=FileResponse,
            responses={200: {"content": {mime: {} for _, mime in download.FORMATS.values()}}})
async def unduh(request: Request, conn: Conn, settings: AppSettings, catalog: Catalog, heavy: Heavy, name: str,
                crs: Annotated[str | None, Query(max_length=12, description="EPSG code of the output "
                                                 "(GeoPackage and Shapefile only); default 4326")] = None,
                ) -> FileResponse:
    """The layer's live version as one file, built once per version and cached; 404 for unknown layers."""
    m = _NAME.match(name)
    if m is None:
        raise NotFound("No such download; use /unduh/{collection}.{gpkg|zip|csv|kml|geojson}",
                       extra={"parameter": "name"})
    cid, fmt = m.groups()
    srid = _srid(crs, fmt)
    coll, link = await _download(conn, catalog, heavy, settings, cid, fmt, srid)
    headers = {"Link": f'<{base_url(request, settings)}/csw?service=CSW&version=2.0.2&request=GetRecordById'
                       f'&id={settings.katalog_kode_simpul}:{cid}&outputSchema=http://www.isotc211.org/2005/gmd>; '
                       'rel="describedby"',
               "X-Atribusi": _header_safe(coll.attribution), "X-Lisensi": _header_safe(coll.licence)}
    suffix = "" if srid == 4326 else f"_epsg{srid}"
    return FileResponse(link, media_type=download.FORMATS[fmt][1], filename=f"{cid}{suffix}.{fmt}",
                        headers=headers, background=BackgroundTask(download.release, link))


async def _download(conn: Any, catalog: Any, heavy: Any, settings: Any, cid: str, fmt: str, srid: int) -> tuple:
    """(collection, serving link) of the version in force: the stamp is read fresh, so a process whose catalog is
    behind a re-publish made elsewhere reloads it instead of serving (or building) the old version's file."""
    for _ in range(3):
        coll = await catalog.get(conn, cid)
        fresh = await fetch_one(conn, "katalog_unduh_stamp", {"id": cid})
        if fresh is None:
            raise NotFound(f"Layer {cid!r} is not published", extra={"parameter": "name"})
        if fresh["stamp"] != coll.stamp:
            catalog.invalidate()
            continue
        if fmt in ("zip", "kml") and not coll.has_geometry:
            raise NotFound(f"{cid!r} has no geometry: download it as .csv, .geojson or .gpkg",
                           extra={"parameter": "name"})
        try:
            return coll, await heavy.run(download.serve_copy, settings, coll, fmt, srid)
        except download.Stale:
            catalog.invalidate()  # re-published between our check and the build's snapshot
    raise ServiceUnavailable(f"Layer {cid!r} is being re-published; retry", extra={"parameter": "name"})


def _header_safe(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii").replace("?", "-")[:500]


def _srid(crs: str | None, fmt: str) -> int:
    if crs is None:
        return 4326
    text = crs.upper().removeprefix("EPSG:")
    srid = parse_int("crs", text, 4326, 1024, 32767, error=InvalidParameter)
    if srid != 4326 and fmt not in download.REPROJECTABLE:
        raise InvalidParameter("crs", f"{fmt} is always EPSG:4326; crs= applies to gpkg and zip only")
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_epsg(srid)
    except CRSError:
        raise InvalidParameter("crs", f"EPSG:{srid} is not a known coordinate reference system") from None
    return srid


# ---------------------------------------------------------------- codes and metadata documents

@router.get("/katalog/kugi", summary="KUGI feature-type codes this node accepts")
async def kugi() -> dict[str, str]:
    """The KUGI code list (code -> name)."""
    return md.kugi_codes()


@router.put("/layers/{layer_id}/metadata", summary="Revise a published layer's metadata (ISO 19139 or MCF)",
            openapi_extra={"requestBody": {"required": True, "content": {
                XML: {"schema": {"type": "string"}}, "application/yaml": {"schema": {"type": "string"}}}}})
async def put_metadata(request: Request, conn: Conn, settings: AppSettings, key: AdminKey, layers: Layers,
                       layer_id: str) -> dict[str, Any]:
    """Replace the given elements of the live version's record; 422 names each missing or invalid element."""
    body = await _read_body(request, xmlsafe.MAX_XML_BYTES)
    try:
        given = md.parse_document(body, request.headers.get("content-type", ""))
    except md.MetadataInvalid as exc:
        raise exc.problem() from None
    version, facts = await store.revise(conn, settings, layer_id, given, Actor.from_key(key, request))
    layers.changed(layer_id)
    return {"id": layer_id, "version": version, "missing": [p for p, _ in facts.missing()]}


# ---------------------------------------------------------------- OGC API - Records

async def _records_page(request: Request, conn: Any, settings: Any) -> tuple[dict[str, Any], csw.Request]:
    query = dict(request.query_params)
    req = records.request(query, settings.katalog_max_records)
    try:
        cond, values = csw.where(req)
    except csw.CswError as err:
        raise QueryParameterError(err.locator or "q", err.text) from None
    await store.sync_bundled(conn, settings)
    matched, rows = await store.search(conn, cond, values, csw.order_by(req), req.max_records, req.start - 1)
    node, base, ows = md.Node.from_settings(settings), base_url(request, settings), has_ows(request)
    features = [store.RENDERINGS.record(r, node, base, ows) for r in rows]
    return records.items_doc(base, query, req, matched, features), req


@router.get("/ogc/collections/katalog", summary="The metadata catalogue (OGC API - Records collection)")
async def records_collection(request: Request, conn: Conn, settings: AppSettings) -> dict[str, Any]:
    """The catalogue collection: itemType record, its extent and links."""
    await store.sync_bundled(conn, settings)
    bbox = await store.extent(conn)
    return records.collection_doc(base_url(request, settings), bbox)


GEOJSON = {200: {"content": {"application/geo+json": {}}}}


@router.get("/ogc/collections/katalog/items", summary="Search metadata records (q, bbox, datetime, type, keywords)",
            response_class=Response, responses=GEOJSON)
async def records_items(request: Request, conn: Conn, settings: AppSettings) -> Response:
    """Records in force as GeoJSON features (pygeometa's OGC API - Records schema), paged."""
    doc, _ = await _records_page(request, conn, settings)
    return Response(orjson.dumps(doc), media_type="application/geo+json")


@router.get("/ogc/collections/katalog/items/{record_id}", summary="One metadata record", response_class=Response,
            responses=GEOJSON)
async def records_item(request: Request, conn: Conn, settings: AppSettings, record_id: str) -> Response:
    """One record by collection id or record identifier; 404 when unknown or unpublished."""
    await store.sync_bundled(conn, settings)
    row = await store.record(conn, record_id)
    if row is None:
        raise NotFound(f"No record {record_id[:80]!r}", extra={"parameter": "recordId"})
    doc = store.RENDERINGS.record(row, md.Node.from_settings(settings), base_url(request, settings),
                                  has_ows(request))
    return Response(orjson.dumps(doc), media_type="application/geo+json")


# ---------------------------------------------------------------- geoportal pages

Short = Annotated[str, Query(max_length=100)]


@router.get("/peta/katalog", response_class=HTMLResponse, summary="Geoportal: search the catalogue")
async def portal_index(request: Request, conn: Conn, settings: AppSettings, q: Short = "", opd: Short = "",
                       topik: Short = "", tempat: Short = "") -> HTMLResponse:
    """Search by text, OPD, topic and place (a kecamatan's extent), in Bahasa Indonesia."""
    await store.sync_bundled(conn, settings)
    everything = await store.all_records(conn)
    places = {p["nama"]: p for p in await fetch_all(conn, "katalog_places")}
    if tempat and tempat not in places:
        raise InvalidParameter("tempat", f"unknown kecamatan {tempat[:60]!r}")
    parts = []
    if q.strip():
        parts.append(records.any_like("anytext", [t for t in q.replace(",", " ").split() if t][:20]))
    if opd:
        parts.append(ast.Equal(ast.Attribute("opd"), opd))
    if topik:
        parts.append(ast.Equal(ast.Attribute("topic"), topik))
    if tempat:
        p = places[tempat]
        parts.append(ast.BBox(ast.Attribute("geom"), p["minx"], p["miny"], p["maxx"], p["maxy"], None))
    req = csw.Request("GetRecords", result_type="results", max_records=settings.katalog_max_records,
                      constraint=records.all_of(parts))
    try:
        cond, values = csw.where(req)
    except csw.CswError as err:
        raise InvalidParameter("q", err.text) from None
    matched, rows = await store.search(conn, cond, values, csw.order_by(req), req.max_records, 0)
    html = kpages.index_page(md.Node.from_settings(settings), {"q": q, "opd": opd, "topik": topik, "tempat": tempat},
                             matched, rows, sorted({r["opd"] for r in everything}),
                             sorted({r["topic"] for r in everything if r["topic"]}), list(places))
    return HTMLResponse(html, headers=_PAGE_HEADERS)


@router.get("/peta/katalog/{collection_id}", response_class=HTMLResponse, summary="Geoportal: one layer")
async def portal_layer(request: Request, conn: Conn, settings: AppSettings, collection_id: str) -> HTMLResponse:
    """A layer's metadata, preview map, service URLs and downloads; 404 when unknown or unpublished."""
    await store.sync_bundled(conn, settings)
    row = await store.record(conn, collection_id)
    if row is None:
        raise NotFound(f"No layer {collection_id[:80]!r} in the catalogue", extra={"parameter": "collection_id"})
    node, facts = md.Node.from_settings(settings), store.facts_of(row)
    links = md.links(facts, base_url(request, settings), has_ows(request))
    for entry in links.values():
        entry["url"] = entry["url"].replace("{identifier}", row["identifier"])
    return HTMLResponse(kpages.detail_page(node, facts, row["identifier"], links), headers=_PAGE_HEADERS)


_PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
