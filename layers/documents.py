"""The JSON documents of OGC API – Features/Tiles: landing, conformance, collections, queryables, tilesets."""

from __future__ import annotations

from typing import Any

from layers.catalog import Collection
from layers.crs import CRS84, offered_uris
from layers.tiles import MAX_ZOOM, TMS_ID, tms

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/property-selection",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    # the metadata catalogue, collection `katalog` (layers/katalog/records.py)
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
]
# whole-layer downloads (layers/katalog/download.py): format -> media type
DOWNLOADS = {"gpkg": "application/geopackage+sqlite3", "zip": "application/zip", "geojson": "application/geo+json",
             "csv": "text/csv", "kml": "application/vnd.google-earth.kml+xml"}
_J, _GJ, _HTML, _MVT = "application/json", "application/geo+json", "text/html", "application/vnd.mapbox-vector-tile"


# TileJSON 3.0 vector_layers fields name MVT value types, not PostgreSQL ones
_TILEJSON_TYPE = {"integer": "Number", "number": "Number", "boolean": "Boolean"}

def link(href: str, rel: str, type_: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    """One OGC link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    out.update(extra)
    return out


def landing(base: str) -> dict[str, Any]:
    """The landing page (/ogc)."""
    return {
        "title": "Satu Peta Kota Tangerang — OGC API",
        "description": "Lapisan peta Kota Tangerang melalui OGC API – Features dan Tiles.",
        "attribution": "Pemerintah Kota Tangerang; lihat atribusi tiap koleksi.",
        "links": [
            link(f"{base}?f=json", "self", _J, "Landing page"),
            link(f"{base}?f=html", "alternate", _HTML, "Landing page (HTML)"),
            link(f"{base}/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"),
            link("/docs", "service-doc", _HTML, "API documentation"),
            link(f"{base}/conformance", "conformance", _J, "Conformance"),
            link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", _J, "Conformance"),
            link(f"{base}/collections", "data", _J, "Collections"),
            link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", _J, "Collections"),
            link(f"{base}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", _J,
                 "Tile matrix sets"),
            link(f"{base}/collections/katalog", "http://www.opengis.net/def/rel/ogc/1.0/catalog", _J,
                 "Katalog metadata (OGC API - Records)"),
        ],
    }


def collection_doc(base: str, c: Collection) -> dict[str, Any]:
    """One collection's description, with attribution, extent, CRSs and its items, queryables and tiles.

    A table without a geometry is a collection too (features with a null geometry): no extent, no tiles.
    """
    href = f"{base}/collections/{c.id}"
    extent: dict[str, Any] = {}
    if c.extent:
        extent["spatial"] = {"bbox": [list(c.extent)], "crs": CRS84}
    links = [
        link(href, "self", _J, c.title),
        link(f"{href}?f=html", "alternate", _HTML, c.title),
        link(f"{href}/items", "items", _GJ, "Items"),
        link(f"{href}/items?f=html", "items", _HTML, "Items (HTML)"),
        link(f"{href}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "application/schema+json", "Queryables"),
    ]
    if c.has_geometry:
        links += [link(f"{href}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", _J,
                       "Vector tilesets"),
                  link(f"{href}/tiles/{TMS_ID}/tilejson.json", "tilejson", _J, "TileJSON")]
    root = base.rsplit("/ogc", 1)[0]
    links += [link(f"{root}/unduh/{c.id}.{ext}", "enclosure", mime, f"Unduh {ext}")
              for ext, mime in DOWNLOADS.items() if c.has_geometry or ext not in ("zip", "kml")]
    links.append(link(f"{base}/collections/katalog/items/{c.id}", "describedby", _GJ, "Metadata (SNI 8843-1)"))
    return {
        "id": c.id, "title": c.title, "description": c.description or c.title, "attribution": c.attribution,
        "license": c.licence, "itemType": "feature", "opd": c.opd, "updated": c.updated_at.isoformat(),
        "geometryType": c.geometry_type, "extent": extent, "crs": offered_uris(), "storageCrs": CRS84,
        "links": links,
    }


def collections_doc(base: str, colls: list[Collection]) -> dict[str, Any]:
    """The list of collections."""
    return {
        "links": [link(f"{base}/collections", "self", _J), link(f"{base}/collections?f=html", "alternate", _HTML)],
        "collections": [collection_doc(base, c) for c in colls],
        "crs": offered_uris(),
    }


def queryables_doc(base: str, c: Collection) -> dict[str, Any]:
    """JSON Schema of the properties a filter may name (Part 3)."""
    props: dict[str, Any] = {}
    if c.has_geometry:
        props["geom"] = {"$ref": "https://geojson.org/schema/Geometry.json", "title": "geom"}
    for col in c.columns:
        schema: dict[str, Any] = {"title": col.name, "type": col.json_type}
        if col.temporal:
            schema["format"] = "date" if col.type == "date" else "date-time"
        props[col.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{c.id}/queryables", "type": "object", "title": c.title,
        "properties": props, "additionalProperties": False,
    }


def tileset_doc(base: str, c: Collection) -> dict[str, Any]:
    """OGC API – Tiles tileset metadata of a collection in WebMercatorQuad."""
    href = f"{base}/collections/{c.id}/tiles/{TMS_ID}"
    doc: dict[str, Any] = {
        "title": c.title, "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "attribution": c.attribution, "license": c.licence,
        "layers": [{"id": c.id, "dataType": "vector", "geometryType": c.geometry_type.lower(),
                    "propertiesSchema": {"type": "object", "properties": {
                        col.name: {"type": col.json_type} for col in c.columns}}}],
        "links": [
            link(href, "self", _J, "Tileset"),
            link(f"{base}/tileMatrixSets/{TMS_ID}", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", _J),
            link(f"{href}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", _MVT, "Tiles", templated=True),
            link(f"{href}/tilejson.json", "describedby", _J, "TileJSON"),
        ],
    }
    if c.extent:
        doc["boundingBox"] = {"lowerLeft": list(c.extent[:2]), "upperRight": list(c.extent[2:]), "crs": CRS84}
    return doc


def tilesets_doc(base: str, c: Collection) -> dict[str, Any]:
    """The tilesets list of a collection (one: WebMercatorQuad)."""
    href = f"{base}/collections/{c.id}/tiles/{TMS_ID}"
    return {"tilesets": [{
        "title": c.title, "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [link(href, "self", _J), link(f"{href}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", _MVT,
                                               templated=True)]}],
        "links": [link(f"{base}/collections/{c.id}/tiles", "self", _J)]}


def tilejson_doc(base: str, c: Collection, minzoom: int, maxzoom: int) -> dict[str, Any]:
    """TileJSON 3.0.0 of the collection's vector tiles."""
    doc: dict[str, Any] = {
        "tilejson": "3.0.0", "name": c.id, "description": c.title, "attribution": c.attribution,
        "scheme": "xyz", "minzoom": minzoom, "maxzoom": maxzoom,
        "tiles": [f"{base}/collections/{c.id}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}"],
        "vector_layers": [{"id": c.id,
                           "fields": {col.name: _TILEJSON_TYPE.get(col.json_type, "String") for col in c.columns},
                           "minzoom": minzoom, "maxzoom": maxzoom}],
    }
    if c.extent:
        doc["bounds"] = list(c.extent)
        doc["center"] = [(c.extent[0] + c.extent[2]) / 2, (c.extent[1] + c.extent[3]) / 2, 12]
    return doc


def tms_list_doc(base: str) -> dict[str, Any]:
    """The tile matrix sets offered (one)."""
    return {"tileMatrixSets": [{"id": TMS_ID, "title": tms().title,
                                "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                                "links": [link(f"{base}/tileMatrixSets/{TMS_ID}", "self", _J)]}]}


def tms_doc() -> dict[str, Any]:
    """The WebMercatorQuad definition, as morecantile serialises it (OGC 2DTMS JSON)."""
    return tms().model_dump(mode="json", exclude_none=True)


ITEMS_PATH = "/collections/{cid}/items"


def _items_parameter(p: dict[str, Any], default_limit: int, max_limit: int) -> dict[str, Any]:
    """An items query parameter with the schema clients read: limit's range, filter-lang's languages."""
    if p.get("name") == "limit":
        return {**p, "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit}}
    if p.get("name") == "filter-lang":
        return {**p, "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}}
    return p


def _collection_items(op: dict[str, Any], c: Collection) -> dict[str, Any]:
    """The items operation of one collection: no collection id, its queryables as query parameters."""
    params = [p for p in op.get("parameters", []) if p.get("in") != "path"]
    taken = {p["name"] for p in params}
    for col in c.columns:
        if col.name not in taken:
            schema: dict[str, Any] = {"type": col.json_type}
            if col.temporal:
                schema["format"] = "date" if col.type == "date" else "date-time"
            params.append({"name": col.name, "in": "query", "required": False, "schema": schema,
                           "description": f"Features whose {col.name} equals this value"})
    return {**op, "operationId": f"items_{c.id}", "summary": f"Features of {c.title}", "parameters": params}


def ogc_openapi(full: dict[str, Any], base: str, colls: list[Collection], default_limit: int,
                max_limit: int) -> dict[str, Any]:
    """The OpenAPI 3.0 document of /ogc: paths relative to the /ogc server, each collection's items path
    spelt out with its queryables (GDAL and QGIS look for `/collections/<id>/items` to filter server-side)."""
    paths: dict[str, Any] = {}
    for path, item in full.get("paths", {}).items():
        if path.startswith("/ogc"):
            paths[path[len("/ogc"):] or "/"] = item
    items = paths.get(ITEMS_PATH, {}).get("get")
    if items is not None:
        items = {**items, "parameters": [_items_parameter(p, default_limit, max_limit)
                                         for p in items.get("parameters", [])]}
        paths[ITEMS_PATH] = {**paths[ITEMS_PATH], "get": items}
        for c in colls:
            paths[f"/collections/{c.id}/items"] = {"get": _collection_items(items, c)}
    doc = {**full, "openapi": "3.0.3", "servers": [{"url": base}], "paths": paths}
    return openapi30(doc)


def openapi30(node: Any) -> Any:
    """Downgrade FastAPI's OpenAPI 3.1 schemas to 3.0 (`anyOf [T, null]` → `nullable`), as we declare oas30."""
    if isinstance(node, list):
        return [openapi30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi30(v) for k, v in node.items() if k not in ("const", "examples")}
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and any(a == {"type": "null"} for a in any_of):
        rest = [a for a in any_of if a != {"type": "null"}]
        out.pop("anyOf")
        out.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        out["nullable"] = True
    if "const" in node:
        out["enum"] = [node["const"]]
    return out


__all__ = ["MAX_ZOOM"]
