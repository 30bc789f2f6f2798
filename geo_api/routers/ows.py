"""WMS 1.3.0/1.1.1 and WFS 2.0/1.1.0 at /ows (MapServer, ows/), and SLD style upload for published layers."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from geo_api.audit import audited
from geo_api.db import fetch_one, pooled, read_pool
from geo_api.deps import AdminKey, Conn, ServicesDep
from geo_api.errors import InvalidParameter, NotFound, PayloadTooLarge, ServiceUnavailable
from layers.ows.engine import EngineError
from layers.ows.exceptions import OwsError, ows_report, wms_report
from layers.ows.mapfile import layer_type
from layers.ows.requests import Checked, check, lower_params, service_and_version
from layers.ows.sld import MAX_BYTES, SldError, check_sld
from layers.ows.xmlpost import MAX_POST, kvp_from_xml

router = APIRouter(tags=["WMS / WFS"])
_ENGINE_EXC = re.compile(rb"<(?:\w+:)?(?:ServiceException|ExceptionText)[^>]*>(.*?)</", re.S)
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_REPORTS = {"text/xml": {}, "application/xml": {}, "application/vnd.ogc.se_xml": {}, **_PROBLEM}
_OWS_DOC = {
    200: {"content": {t: {} for t in ("text/xml", "application/xml", "application/vnd.ogc.wms_xml",
                                      "application/vnd.ogc.gml", "application/gml+xml", "image/png",
                                      "image/jpeg", "application/json", "text/html", "text/plain")}},
    "4XX": {"description": "OGC ServiceExceptionReport (WMS) or OWS ExceptionReport (WFS)", "content": _REPORTS},
    503: {"description": "The map server or the catalog cannot answer now", "content": _REPORTS},
}


def _report(err: OwsError, service: str, version: str) -> Response:
    body, media = wms_report(err, version) if service == "WMS" else ows_report(err, version)
    return Response(body, status_code=err.status, media_type=media)


def _online(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ows?"


def _engine_exception(content_type: str, body: bytes) -> OwsError | None:
    """MapServer answered with its own exception document: re-issue it as ours, with a 4xx, without details
    that could name the database connection."""
    if "xml" not in content_type or b"Exception" not in body[:2000]:
        return None
    found = _ENGINE_EXC.search(body)
    text = found.group(1).decode("utf-8", "replace").strip() if found else "the map server refused the request"
    if any(w in text.lower() for w in ("password", "host=", "connect", "dbname")):
        text = "the map server could not reach the data"
    code = re.search(rb'(?:exceptionCode|code)="([A-Za-z]+)"', body)
    return OwsError(code.group(1).decode() if code else "NoApplicableCode", None, text[:400])


async def _current(request: Request, services):
    """The map as the catalog is now; the connection is given back before MapServer runs (a queue of requests
    waiting for a MapServer worker must not hold the pool)."""
    try:
        async with pooled(read_pool(request.app.state)) as conn:
            return await services.ows.current(conn, services.layers.catalog)
    except ServiceUnavailable:
        raise OwsError("NoApplicableCode", None, "the layer catalog is not reachable now; try again",
                       status=503) from None


async def _answer(request: Request, services, params: dict[str, str]) -> Response:
    service, version = service_and_version(params)
    try:
        ows = services.ows
        current = await _current(request, services)
        checked: Checked = check(params, current.layers, max_size=services.settings.ows_max_size,
                                 max_features=services.settings.ows_max_features)
        service, version = checked.service, checked.version
        content_type, body = await ows.run(current, checked.query_string, _online(request),
                                           ordered=checked.service == "WFS" and checked.request == "GetFeature")
        refused = _engine_exception(content_type, body)
        if refused is not None:
            raise refused
    except OwsError as err:
        return _report(err, service, version)
    headers = {"Cache-Control": "no-cache"} if checked.request == "GetCapabilities" else {}
    return Response(body, media_type=content_type, headers=headers)


@router.get("/ows", summary="WMS 1.3.0/1.1.1 and WFS 2.0/1.1.0 (key-value requests)", responses=_OWS_DOC)
async def ows_get(request: Request, services: ServicesDep) -> Response:
    """Every published collection as a WMS layer and a WFS feature type, named by its collection id."""
    return await _answer(request, services, lower_params(list(request.query_params.multi_items())))


@router.post("/ows", summary="WFS XML requests (GetCapabilities, DescribeFeatureType, GetFeature) or KVP as a "
             "form body", responses=_OWS_DOC,
             openapi_extra={"requestBody": {"content": {
                 "application/xml": {"schema": {"type": "string"}}, "text/xml": {"schema": {"type": "string"}},
                 "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}})
async def ows_post(request: Request, services: ServicesDep) -> Response:
    """A WFS 2.0 / 1.1 XML request body (wfs:GetFeature with wfs:Query, fes:Filter, count, startIndex,
    resultType), or the key-value parameters as a form-encoded body. The edge caps the body (chunked or not)."""
    body = await request.body()
    query = list(request.query_params.multi_items())
    params = lower_params(query)
    service, version = service_and_version(params)
    ctype = request.headers.get("content-type", "").lower()
    try:
        if len(body) > MAX_POST:
            raise OwsError("InvalidParameterValue", "body", f"the request body is larger than {MAX_POST // 1024} "
                           "KiB", status=413)
        if "application/x-www-form-urlencoded" in ctype:
            params = lower_params(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) + query)
        elif "xml" in ctype or body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            service, version = "WFS", "2.0.0"
            params = kvp_from_xml(body)
            service, version = service_and_version(params)
        else:
            raise OwsError("OperationNotSupported", "body", "send a WFS XML request (Content-Type application/xml) "
                           "or key-value parameters (GET, or a form-encoded POST body)")
    except OwsError as err:
        return _report(err, service, version)
    return await _answer(request, services, params)


@router.post("/layers/{layer_id}/styles", status_code=201, tags=["Layer publishing"],
             summary="Upload an SLD 1.0 / SE 1.1 style for a published layer",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/vnd.ogc.sld+xml": {"schema": {"type": "string"}},
                 "application/xml": {"schema": {"type": "string"}}}}})
async def upload_style(
    request: Request, conn: Conn, key: AdminKey, services: ServicesDep,
    layer_id: Annotated[str, Path(max_length=48)],
    name: Annotated[str, Query(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", description="Style name (WMS STYLES)")]
    = "gaya_opd",
) -> dict:
    """Check the SLD (no DTD, entities, links or external graphics) and make it the layer's default style."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise PayloadTooLarge(f"the style is larger than {MAX_BYTES // 1024} KiB", extra={"parameter": "body"})
    if name in ("standar", "kartografi", "default"):
        raise InvalidParameter("name", f"style name {name!r} is reserved for the built-in styles")
    collection = (await services.layers.catalog.all(conn)).get(layer_id)
    columns = {c.name for c in collection.columns} | {"geom"} if collection is not None else None
    try:
        style = check_sld(body, fallback_name=name, layer_id=layer_id, columns=columns)
        if collection is not None and collection.has_geometry:  # MapServer itself must be able to read it
            await services.ows.pool.sld_classes(layer_id, layer_type(collection.geometry_type or ""), name,
                                                style.title, style.text)
    except SldError as exc:
        raise InvalidParameter("body", f"the SLD is refused: {exc.problem}") from None
    except EngineError as exc:
        if exc.crashed:
            raise ServiceUnavailable("the map server could not check the style now; try again") from None
        raise InvalidParameter("body", f"the SLD is refused: MapServer cannot draw it ({str(exc)[:200]})") from None
    async with audited(conn, action="layer.style", target=f"layer:{layer_id}", key=key, request=request) as entry:
        row = await fetch_one(conn, "ows_style_insert", {"layer_id": layer_id, "name": style.name,
                                                          "title": style.title, "sld": style.text,
                                                          "created_by": key["name"]})
        if row is None:
            raise NotFound(f"no published layer {layer_id!r}", extra={"parameter": "layer_id"})
        entry.after = {"style": style.name, "version": row["version"]}
    services.invalidate("layer", layer_id)
    return {"layer": layer_id, "version": row["version"], "style": style.name, "title": style.title,
            "wms": f"/ows?SERVICE=WMS&REQUEST=GetMap&LAYERS={layer_id}&STYLES={style.name}"}
