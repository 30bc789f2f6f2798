"""OGC API - Records (Part 1) over the catalogue: the collection `katalog` (itemType record) and its items.

Query parameters become one pygeofilter tree, composed to SQL by the same walker as CSW (layers.cql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pygeofilter import ast

from geo_api import params
from layers.errors import QueryParameterError
from layers.katalog import csw
from layers.params import parse_datetime

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
]
_KNOWN = {"q", "bbox", "datetime", "type", "keywords", "ids", "limit", "offset", "f"}


def _like(column: str, term: str) -> ast.Node:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ast.Like(ast.Attribute(column), f"%{escaped}%", True, "%", "_", "\\", False)


def _any(nodes: list[ast.Node]) -> ast.Node:
    out = nodes[0]
    for n in nodes[1:]:
        out = ast.Or(out, n)
    return out


def _all(nodes: list[ast.Node]) -> ast.Node | None:
    if not nodes:
        return None
    out = nodes[0]
    for n in nodes[1:]:
        out = ast.And(out, n)
    return out


def any_like(column: str, terms: list[str]) -> ast.Node | None:
    """Any of the terms as a literal, case-insensitive substring of the column (None: no terms)."""
    return _any([_like(column, t) for t in terms]) if terms else None


def all_of(nodes: list[ast.Node | None]) -> ast.Node | None:
    """Every given condition (None: no condition)."""
    return _all([n for n in nodes if n is not None])


def _terms(raw: str | None, name: str) -> list[str]:
    terms = [t.strip() for t in (raw or "").split(",") if t.strip()]
    if len(terms) > 20 or any(len(t) > 100 for t in terms):
        raise QueryParameterError(name, f"{name}: at most 20 terms of at most 100 characters")
    return terms


def request(query: dict[str, str], max_limit: int) -> csw.Request:
    """The search of an items request as a CSW request (constraint, paging); 400 naming the parameter."""
    unknown = sorted(set(query) - _KNOWN)
    if unknown:
        raise QueryParameterError(unknown[0][:40], f"unknown parameter {unknown[0][:40]!r}")
    parts: list[ast.Node] = []
    if q := _terms(query.get("q"), "q"):
        parts.append(_any([_like("anytext", t) for t in q]))
    if kw := _terms(query.get("keywords"), "keywords"):
        parts.append(_any([_like("subject", t) for t in kw]))
    if ids := _terms(query.get("ids"), "ids"):
        parts.append(_any([ast.Equal(ast.Attribute("identifier"), i) for i in ids]))
    if "type" in query:
        parts.append(_any([ast.Equal(ast.Attribute("type"), t) for t in _terms(query["type"], "type")] or
                          [ast.Include(False)]))
    if "bbox" in query:
        x0, y0, x1, y1 = params.parse_bbox_wgs84(query["bbox"], error=QueryParameterError)
        parts.append(ast.BBox(ast.Attribute("geom"), x0, y0, x1, y1, None))
    window = parse_datetime(query.get("datetime"))
    if window:
        start, end = window
        if start is not None:
            parts.append(ast.GreaterEqual(ast.Attribute("modified"), start))
        if end is not None:
            parts.append(ast.LessEqual(ast.Attribute("modified"), end))
    limit = params.parse_int("limit", query.get("limit"), 10, 1, max_limit, cap=True, error=QueryParameterError)
    offset = params.parse_int("offset", query.get("offset"), 0, 0, 1_000_000, error=QueryParameterError)
    return csw.Request("GetRecords", result_type="results", start=offset + 1, max_records=limit,
                       constraint=_all(parts))


def collection_doc(base: str, bbox: list[float] | None) -> dict[str, Any]:
    """The catalogue as an OGC API - Records collection."""
    href = f"{base}/ogc/collections/katalog"
    doc: dict[str, Any] = {
        "id": "katalog", "type": "Collection", "itemType": "record",
        "title": "Katalog metadata Satu Peta Kota Tangerang",
        "description": "Metadata (SNI 8843-1:2019) setiap lapisan simpul jaringan Kota Tangerang.",
        "conformsTo": CONFORMANCE,
        "links": [
            {"href": href, "rel": "self", "type": "application/json"},
            {"href": f"{href}/items", "rel": "items", "type": "application/geo+json"},
            {"href": f"{base}/csw?service=CSW&version=2.0.2&request=GetCapabilities", "rel": "alternate",
             "type": "application/xml", "title": "CSW 2.0.2"},
            {"href": f"{base}/peta/katalog", "rel": "alternate", "type": "text/html", "title": "Geoportal"},
        ],
    }
    if bbox:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    return doc


def items_doc(base: str, query: dict[str, str], req: csw.Request, matched: int,
              features: list[dict[str, Any]]) -> dict[str, Any]:
    """The items answer: a FeatureCollection of records with paging links."""
    href = f"{base}/ogc/collections/katalog/items"
    keep = {k: v for k, v in query.items() if k not in ("offset", "limit")}

    def page(offset: int) -> str:
        from urllib.parse import urlencode

        return f"{href}?{urlencode({**keep, 'limit': req.max_records, 'offset': offset})}"

    offset = req.start - 1
    links = [{"href": page(offset), "rel": "self", "type": "application/geo+json"},
             {"href": f"{base}/ogc/collections/katalog", "rel": "collection", "type": "application/json"}]
    if offset + len(features) < matched:
        links.append({"href": page(offset + req.max_records), "rel": "next", "type": "application/geo+json"})
    if offset > 0:
        links.append({"href": page(max(0, offset - req.max_records)), "rel": "prev", "type": "application/geo+json"})
    return {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(features),
            "timeStamp": datetime.now().astimezone().isoformat(timespec="seconds"), "features": features,
            "links": links}
