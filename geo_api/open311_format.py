"""Open311 GeoReport v2 rendering: JSON as is, XML with the spec's elements, and the spec's error array.

Not a router: geo_api.errors renders every error under /open311/ with `render_errors`, and the edge reads the
body limit from here, so neither imports geo_api.routers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import orjson
from fastapi.responses import Response

WIB = ZoneInfo("Asia/Jakarta")
MAX_BODY = 64 * 1024
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def w3c(dt: datetime) -> str:
    """A W3C datetime with the city's offset, as the spec's examples write them."""
    return dt.astimezone(WIB).isoformat(timespec="seconds")


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, list):
        child = {"keywords": None, "values": "value", "attributes": "attribute", "formats": "format",
                 "endpoints": "endpoint", "riwayat": "update"}.get(tag)
        if child is None:  # a list of words (keywords): the spec writes it comma-separated
            el.text = ",".join(str(v) for v in value)
        else:
            for v in value:
                _xml_value(el, child, v)
    elif value is not None:
        el.text = str(value)


def render(fmt: str, body: Any, root: str, item: str | None = None, status: int = 200) -> Response:
    """JSON as is; XML with the spec's root and item elements (ElementTree escapes every text)."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if fmt == "json":
        return Response(orjson.dumps(body), status_code=status, media_type=FORMATS["json"], headers=headers)
    top = ET.Element(root)
    for entry in body if item else [body]:
        target = ET.SubElement(top, item) if item else top
        for k, v in entry.items():
            _xml_value(target, k, v)
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)
    return Response(xml, status_code=status, media_type=FORMATS["xml"], headers=headers)


def render_errors(path: str, status: int, detail: str) -> Response:
    """The spec's error array; any other 4xx becomes 400 (the spec knows 400, 403 and 404)."""
    if 400 <= status < 500 and status not in (403, 404):
        status = 400
    fmt = "xml" if path.rstrip("/").endswith(".xml") else "json"
    return render(fmt, [{"code": status, "description": detail}], "errors", "error", status=status)
