"""OGC API – Features (Parts 1–3) and Tiles under /ogc: thin handlers over the `layers` package."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from geo_api.deps import AppSettings, Layers, ReadConn
from geo_api.errors import NotFound
from layers import documents as docs
from layers.catalog import Collection
from layers.cql import filter_sql, parse_filter
from layers.crs import parse_crs
from layers.errors import QueryParameterError, StaleCatalog
from layers.features import ItemsQuery, query_item, query_items
from layers.html import render
from layers.params import parse_bbox, parse_datetime, parse_int, parse_properties, parse_sortby
from layers.tiles import MAX_ZOOM, TMS_ID, check_tile, render_tile, tile_etag

router = APIRouter(prefix="/ogc", tags=["OGC API"])

ITEM_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "properties", "sortby", "filter",
               "filter-lang", "filter-crs"}
MVT = "application/vnd.mapbox-vector-tile"
Cid = Annotated[str, Path(description="Collection id (see /ogc/collections)", max_length=100)]
Fmt = Annotated[str | None, Query(description="json, geojson or html (default: from Accept)")]
# The media types each route really answers with, declared so /openapi.json tells clients (and the fuzzer).
HTML_OR_JSON = {200: {"content": {"application/json": {}, "text/html": {}}}}
HTML_OR_GEOJSON = {200: {"content": {"application/geo+json": {}, "text/html": {}}}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "geojson", "html"):
            raise QueryParameterError("f", "f must be json, geojson or html")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _json(doc: Any, media_type: str = "application/json", headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type, headers=headers)


def _answer(request: Request, f: str | None, doc: dict[str, Any], title: str,
            media_type: str = "application/json", headers: dict[str, str] | None = None) -> Response:
    if _wants_html(request, f):
        return HTMLResponse(render(doc, title), headers=headers)
    return _json(doc, media_type, headers)


async def _collection(layers: Layers, conn: ReadConn, cid: str) -> Collection:
    return await layers.catalog.get(conn, cid)


def _tiled(c: Collection) -> Collection:
    """The collection, if it has vector tiles (a table without a geometry has none: 404)."""
    if not c.has_geometry:
        raise NotFound(f"Collection {c.id!r} has no geometry, so no tiles", extra={"parameter": "collectionId"})
    return c


async def _fresh(layers: Layers, conn: ReadConn, cid: str, job):
    """Run job(collection); if the layer changed in another process meanwhile, reload the catalog once."""
    try:
        return await job(await _collection(layers, conn, cid))
    except StaleCatalog:
        layers.catalog.invalidate()
        return await job(await _collection(layers, conn, cid))


@router.get("", summary="Landing page", responses=HTML_OR_JSON)
async def landing(request: Request, f: Fmt = None) -> Response:
    """The landing page with links to the API definition, conformance and collections."""
    return _answer(request, f, docs.landing(_base(request)), "Satu Peta — OGC API")


@router.get("/conformance", summary="Conformance classes", responses=HTML_OR_JSON)
async def conformance(request: Request, f: Fmt = None) -> Response:
    """The conformance classes this API implements."""
    doc = {"conformsTo": docs.CONFORMANCE, "links": [docs.link(f"{_base(request)}/conformance", "self",
                                                               "application/json")]}
    return _answer(request, f, doc, "Conformance")


@router.get("/api", summary="OpenAPI definition of the OGC API",
            responses={200: {"content": {"application/vnd.oai.openapi+json;version=3.0": {}}}})
async def api(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers) -> Response:
    """The OpenAPI definition of the /ogc paths, with each collection's items path and queryables."""
    colls = await layers.catalog.all(conn)
    doc = docs.ogc_openapi(request.app.openapi(), _base(request), list(colls.values()),
                           settings.layers_items_default_limit, settings.layers_items_max_limit)
    return _json(doc, "application/vnd.oai.openapi+json;version=3.0")


@router.get("/collections", summary="Collections", responses=HTML_OR_JSON)
async def collections(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers,
                      f: Fmt = None) -> Response:
    """Every bundled and published layer, with its attribution."""
    colls = await layers.catalog.all(conn)
    return _answer(request, f, docs.collections_doc(_base(request), list(colls.values())), "Koleksi")


@router.get("/collections/{cid}", summary="One collection", responses=HTML_OR_JSON)
async def collection(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid,
                     f: Fmt = None) -> Response:
    """A collection's description."""
    c = await _collection(layers, conn, cid)
    return _answer(request, f, docs.collection_doc(_base(request), c), c.title)


@router.get("/collections/{cid}/queryables", summary="Queryables of a collection",
            responses={200: {"content": {"application/schema+json": {}, "text/html": {}}}})
async def queryables(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid,
                     f: Fmt = None) -> Response:
    """The properties a filter may use, as JSON Schema."""
    c = await _collection(layers, conn, cid)
    return _answer(request, f, docs.queryables_doc(_base(request), c), f"Queryables {c.title}",
                   "application/schema+json")


def _items_query(request: Request, c: Collection, settings: AppSettings) -> ItemsQuery:
    """Parse and validate the items parameters against the catalog (400 naming the parameter)."""
    qp = request.query_params
    for name in qp:
        if name not in ITEM_PARAMS and c.column(name) is None:
            raise QueryParameterError(name, f"unknown query parameter {name[:60]!r}")
    crs = parse_crs("crs", qp.get("crs"))
    bbox_crs = parse_crs("bbox-crs", qp.get("bbox-crs"))
    q = ItemsQuery(
        crs=crs,
        limit=parse_int("limit", qp.get("limit"), settings.layers_items_default_limit, 1,
                        settings.layers_items_max_limit, cap=True),
        offset=parse_int("offset", qp.get("offset"), 0, 0, 100_000_000),
        properties=parse_properties(qp.get("properties"), c),
        bbox=parse_bbox(qp.get("bbox"), bbox_crs), bbox_crs=bbox_crs,
        interval=parse_datetime(qp.get("datetime")),
        sortby=parse_sortby(qp.get("sortby"), c),
        equals={n: v for n, v in qp.items() if n not in ITEM_PARAMS},
    )
    if qp.get("filter"):
        node = parse_filter(qp["filter"], qp.get("filter-lang"))
        q.cql = filter_sql(node, c, parse_crs("filter-crs", qp.get("filter-crs")))
    elif qp.get("filter-lang") not in (None, "cql2-text", "cql2-json"):
        raise QueryParameterError("filter-lang", "filter-lang must be cql2-text or cql2-json")
    return q


def _page_links(request: Request, q: ItemsQuery, returned: int, matched: int) -> list[dict[str, Any]]:
    base = _base(request) + request.url.path.split("/ogc", 1)[1]
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "f")]

    def href(offset: int, fmt: str) -> str:
        return f"{base}?{urlencode([*params, ('offset', str(offset)), ('f', fmt)])}"

    links = [docs.link(href(q.offset, "json"), "self", "application/geo+json"),
             docs.link(href(q.offset, "html"), "alternate", "text/html"),
             docs.link(base.rsplit("/items", 1)[0], "collection", "application/json")]
    if q.offset + returned < matched:
        links.append(docs.link(href(q.offset + q.limit, "json"), "next", "application/geo+json", "Berikutnya"))
    if q.offset > 0:
        links.append(docs.link(href(max(0, q.offset - q.limit), "json"), "prev", "application/geo+json",
                               "Sebelumnya"))
    return links


@router.get("/collections/{cid}/items", summary="Features of a collection", responses=HTML_OR_GEOJSON)
async def items(
    request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid, f: Fmt = None,
    limit: Annotated[str | None, Query(description="Page size (1..maximum, see settings)")] = None,
    offset: Annotated[str | None, Query(description="Features to skip (from next/prev links)")] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS URI of bbox")] = None,
    crs: Annotated[str | None, Query(description="CRS URI of the response geometries")] = None,
    datetime: Annotated[str | None, Query(description="Instant or interval (RFC 3339, `..` open)")] = None,
    properties: Annotated[str | None, Query(description="Comma-separated properties to return")] = None,
    sortby: Annotated[str | None, Query(description="+name,-name")] = None,
    filter: Annotated[str | None, Query(description="CQL2 filter")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang", description="cql2-text or cql2-json")] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", description="CRS URI of filter geometries")] = None,
) -> Response:
    """A page of features as GeoJSON (or HTML), filtered by bbox, datetime, CQL2 and queryables."""
    async def job(coll: Collection):
        q = _items_query(request, coll, settings)
        return coll, q, *(await query_items(conn, coll, q))

    c, q, features, returned, matched = await _fresh(layers, conn, cid, job)
    head = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned,
            "links": _page_links(request, q, returned, matched)}
    body = orjson.dumps(head)[:-1] + b',"features":[' + features + b"]}"
    headers = {"Content-Crs": f"<{q.crs.uri}>"}
    if _wants_html(request, f):
        return HTMLResponse(render({"title": c.title, **orjson.loads(body)}, c.title), headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


@router.get("/collections/{cid}/items/{fid}", summary="One feature", responses=HTML_OR_GEOJSON)
async def item(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid,
               fid: Annotated[str, Path(max_length=200)], f: Fmt = None,
               crs: Annotated[str | None, Query(description="CRS URI of the response geometry")] = None,
               properties: Annotated[str | None, Query()] = None) -> Response:
    """One feature by id."""
    for name in request.query_params:
        if name not in ("f", "crs", "properties"):
            raise QueryParameterError(name, f"unknown query parameter {name[:60]!r}")
    out_crs = parse_crs("crs", crs)

    async def job(coll: Collection):
        return coll, await query_item(conn, coll, fid, out_crs, parse_properties(properties, coll))

    c, feature = await _fresh(layers, conn, cid, job)
    if feature is None:
        raise NotFound(f"No feature {fid!r} in collection {cid!r}", extra={"parameter": "featureId"})
    href = f"{_base(request)}/collections/{cid}/items/{fid}"
    links = [docs.link(href, "self", "application/geo+json"), docs.link(f"{href}?f=html", "alternate", "text/html"),
             docs.link(f"{_base(request)}/collections/{cid}", "collection", "application/json")]
    body = feature[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    if _wants_html(request, f):
        return HTMLResponse(render(orjson.loads(body), f"{c.title} — {fid}"), headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


@router.get("/tileMatrixSets", summary="Tile matrix sets")
async def tile_matrix_sets(request: Request) -> Response:
    """The tile matrix sets offered."""
    return _json(docs.tms_list_doc(_base(request)))


@router.get("/tileMatrixSets/{tms_id}", summary="A tile matrix set")
async def tile_matrix_set(tms_id: str) -> Response:
    """The definition of WebMercatorQuad (from morecantile)."""
    if tms_id != TMS_ID:
        raise NotFound(f"No tile matrix set {tms_id[:40]!r}; offered: {TMS_ID}")
    return _json(docs.tms_doc())


@router.get("/collections/{cid}/tiles", summary="Vector tilesets of a collection")
async def tilesets(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid) -> Response:
    """The tilesets of a collection."""
    c = _tiled(await _collection(layers, conn, cid))
    return _json(docs.tilesets_doc(_base(request), c))


@router.get("/collections/{cid}/tiles/{tms_id}", summary="Tileset metadata")
async def tileset(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid,
                  tms_id: str) -> Response:
    """OGC API – Tiles tileset metadata."""
    c = _tiled(await _collection(layers, conn, cid))
    check_tile(tms_id, 0, 0, 0)
    return _json(docs.tileset_doc(_base(request), c))


@router.get("/collections/{cid}/tiles/{tms_id}/tilejson.json", summary="TileJSON")
async def tilejson(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid,
                   tms_id: str) -> Response:
    """TileJSON 3.0.0 for map clients (MapLibre, Leaflet plugins, QGIS)."""
    c = _tiled(await _collection(layers, conn, cid))
    check_tile(tms_id, 0, 0, 0)
    return _json(docs.tilejson_doc(_base(request), c, 0, MAX_ZOOM))


@router.get("/collections/{cid}/tiles/{tms_id}/{z}/{x}/{y}", summary="A vector tile (MVT)",
            response_class=Response, responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}})
async def tile(request: Request, conn: ReadConn, settings: AppSettings, layers: Layers, cid: Cid, tms_id: str,
               z: Annotated[int, Path(description="tileMatrix")], x: Annotated[int, Path(description="tileCol")],
               y: Annotated[int, Path(description="tileRow")]) -> Response:
    """One Mapbox Vector Tile; cached in the server and by clients (ETag) until the layer changes."""
    check_tile(tms_id, z, x, y)

    async def job(coll: Collection):
        _tiled(coll)
        key = (coll.id, coll.stamp, z, x, y)
        if tile_etag(coll, z, x, y) in request.headers.get("if-none-match", ""):
            return coll, None
        tile = layers.tiles.get(key)
        if tile is None:
            tile = await render_tile(conn, coll, z, x, y)
            layers.tiles.put(key, tile)
        return coll, tile

    c, data = await _fresh(layers, conn, cid, job)
    headers = {"ETag": tile_etag(c, z, x, y), "Cache-Control": f"public, max-age={settings.layers_tile_max_age_s}"}
    if data is None:
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
