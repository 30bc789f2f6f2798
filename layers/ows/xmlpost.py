"""WFS requests as XML POST bodies (WFS 2.0 § 7.6 / WFS 1.1 § 13), turned into the key-value parameters the KVP
path checks (layers/ows/requests.py), so both encodings meet exactly the same checks before MapServer.

Parsed with the project's hardened parser (layers/katalog/xmlsafe.py: no DTD, no entities, no network); the body
size is capped by the HTTP edge (geo_api/edge.py) and again here. Anything not understood is an OWS exception.
"""

from __future__ import annotations

from lxml import etree

from layers.katalog.xmlsafe import UnsafeXml, parse
from layers.ows.exceptions import OwsError

MAX_POST = 256 * 1024
WFS_NS = {"http://www.opengis.net/wfs/2.0", "http://www.opengis.net/wfs"}
SLD_NS = {"http://www.opengis.net/sld", "http://www.opengis.net/se"}
_OPS = {"GetCapabilities", "DescribeFeatureType", "GetFeature"}
_MAX_QUERIES = 20


def _local(el: etree._Element) -> str:
    return etree.QName(el.tag).localname if isinstance(el.tag, str) else ""


def _attr(el: etree._Element, name: str) -> str | None:
    """An attribute by local name, case-insensitively (OWSLib writes `outputformat`)."""
    for key, value in el.attrib.items():
        if etree.QName(key).localname.lower() == name.lower():
            return value
    return None


def _children(el: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == local]


def _parsing_failed(message: str) -> OwsError:
    return OwsError("OperationParsingFailed", "body", message)


def _capabilities(root: etree._Element, out: dict[str, str]) -> None:
    versions = [(v.text or "").strip() for v in root.iter() if _local(v) == "Version"]
    if versions:
        out["acceptversions"] = ",".join(versions)[:200]


def _describe(root: etree._Element, out: dict[str, str]) -> None:
    names = [(t.text or "").strip() for t in _children(root, "TypeName")]
    if names:
        out["typenames"] = ",".join(names)


def _filter_text(query: etree._Element) -> str | None:
    found = [c for c in query if _local(c) == "Filter"]
    if len(found) > 1:
        raise _parsing_failed("a Query holds more than one Filter")
    return etree.tostring(found[0], encoding="unicode") if found else None


def _sortby(query: etree._Element) -> str | None:
    items = []
    for prop in (p for s in _children(query, "SortBy") for p in s if _local(p) == "SortProperty"):
        name = next(((c.text or "").strip() for c in prop if _local(c) in ("ValueReference", "PropertyName")), "")
        order = next(((c.text or "").strip().upper() for c in prop if _local(c) == "SortOrder"), "ASC")
        if not name or order not in ("ASC", "DESC"):
            raise _parsing_failed("SortBy needs a ValueReference and SortOrder ASC or DESC")
        items.append(f"{name} {order}")
    return ",".join(items) or None


def _feature(root: etree._Element, version: str, out: dict[str, str]) -> None:
    for attr, key in (("count", "count"), ("maxFeatures", "maxfeatures"), ("startIndex", "startindex"),
                      ("resultType", "resulttype"), ("outputFormat", "outputformat")):
        value = _attr(root, attr)
        if value is not None:
            out[key] = value
    queries = _children(root, "Query")
    stored = _children(root, "StoredQuery")
    if stored:
        sq = stored[0]
        out["storedquery_id"] = _attr(sq, "id") or ""
        ids = [(p.text or "").strip() for p in sq.iter() if _local(p) == "Parameter" and _attr(p, "name") == "ID"]
        out["id"] = ids[0] if ids else ""
        return
    if not queries:
        raise OwsError("MissingParameterValue", "Query", "GetFeature needs a wfs:Query (or wfs:StoredQuery)")
    if len(queries) > _MAX_QUERIES:
        raise _parsing_failed(f"more than {_MAX_QUERIES} queries in one GetFeature")
    names, filters, srs, props, sortby = [], [], set(), [], None
    for q in queries:
        tn = _attr(q, "typeNames") if version == "2.0.0" else (_attr(q, "typeName") or _attr(q, "typeNames"))
        if not tn:
            raise OwsError("MissingParameterValue", "typeNames", "each wfs:Query needs typeNames")
        names.append(tn.strip())
        filters.append(_filter_text(q))
        if _attr(q, "srsName"):
            srs.add(_attr(q, "srsName"))
        props += [(p.text or "").strip() for p in q if _local(p) in ("PropertyName", "ValueReference")]
        sortby = sortby or _sortby(q)
    if len(srs) > 1:
        raise _parsing_failed("all queries of one GetFeature must ask for the same srsName")
    if any(filters) and len(queries) > 1:
        raise OwsError("OperationNotSupported", "Filter", "a filter is accepted on a GetFeature of one Query; "
                       "send one request per feature type")
    out["typenames" if version == "2.0.0" else "typename"] = ",".join(names)
    if filters[0]:
        out["filter"] = filters[0]
    if srs:
        out["srsname"] = srs.pop()
    if props:
        out["propertyname"] = ",".join(props)
    if sortby:
        out["sortby"] = sortby


def _no_style(root: etree._Element) -> None:
    """A body that is, holds or names an SLD is refused whole (styles are uploaded, never taken from a request)."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el.tag).namespace in SLD_NS or _local(el) == "StyledLayerDescriptor":
            raise OwsError("OperationNotSupported", "SLD", "an SLD in a request body is not accepted; styles are "
                           "uploaded with the layer (POST /layers/{id}/styles) and named in STYLES")
        if any(etree.QName(k).localname.lower() in ("sld", "sld_body") for k in el.attrib):
            raise OwsError("OperationNotSupported", "SLD", "SLD and SLD_BODY are not accepted in requests")


def kvp_from_xml(body: bytes) -> dict[str, str]:
    """The lower-cased KVP parameters equivalent to a WFS XML request body; OwsError when it cannot be one."""
    if len(body) > MAX_POST:
        raise OwsError("InvalidParameterValue", "body", f"the request body is larger than {MAX_POST // 1024} KiB",
                       status=413)
    try:
        root = parse(body)
    except UnsafeXml as exc:
        raise _parsing_failed(f"the request body is refused: {exc}") from None
    _no_style(root)
    ns = etree.QName(root.tag).namespace
    op = _local(root)
    if ns not in WFS_NS or op not in _OPS:
        raise OwsError("OperationNotSupported", "body", f"XML POST accepts WFS GetCapabilities, "
                       f"DescribeFeatureType and GetFeature, not {op[:40]!r} in namespace {str(ns)[:80]!r}; WMS "
                       "requests are key-value (GET, or a form-encoded POST)")
    version = _attr(root, "version") or ("2.0.0" if ns == "http://www.opengis.net/wfs/2.0" else "1.1.0")
    if op != "GetCapabilities" and (ns == "http://www.opengis.net/wfs/2.0") != (version.startswith("2.")):
        raise _parsing_failed(f"version {version[:20]!r} does not match the namespace {ns}")
    out = {"service": _attr(root, "service") or "WFS", "request": op}
    if op != "GetCapabilities":
        out["version"] = version
    if op == "GetCapabilities":
        _capabilities(root, out)
    elif op == "DescribeFeatureType":
        _describe(root, out)
    else:
        _feature(root, out["version"], out)
    return out
