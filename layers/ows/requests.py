"""Validating a WMS/WFS request before MapServer sees it, and rebuilding it from the checked values only.

Whatever is not understood here never reaches the engine (SLD/SLD_BODY URLs, MapServer's `map=` and runtime
substitution parameters), and every refusal is an OGC exception naming the parameter (layers/ows/exceptions.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from lxml import etree

from layers.ows.exceptions import OwsError
from layers.ows.mapfile import CRS_LIST, LayerEntry

WMS_VERSIONS = ("1.3.0", "1.1.1")
WFS_VERSIONS = ("2.0.0", "1.1.0")
WMS_REQUESTS = {"getcapabilities": "GetCapabilities", "getmap": "GetMap", "getfeatureinfo": "GetFeatureInfo",
                "getlegendgraphic": "GetLegendGraphic"}
WFS_REQUESTS = {"getcapabilities": "GetCapabilities", "describefeaturetype": "DescribeFeatureType",
                "getfeature": "GetFeature", "liststoredqueries": "ListStoredQueries",
                "describestoredqueries": "DescribeStoredQueries"}
MAP_FORMATS = {"image/png": "image/png", "image/png8": "image/png; mode=8bit", "image/png; mode=8bit":
               "image/png; mode=8bit", "png": "image/png", "png8": "image/png; mode=8bit", "image/jpeg": "image/jpeg",
               "jpeg": "image/jpeg", "image/jpg": "image/jpeg"}
INFO_FORMATS = {"text/html", "application/json", "application/vnd.ogc.gml", "text/xml", "text/plain",
                "application/geojson", "gml", "application/vnd.ogc.gml/3.1.1"}
WFS_OUTPUTS = {"application/gml+xml; version=3.2", "text/xml; subtype=gml/3.2.1", "text/xml; subtype=gml/3.2",
               "gml32", "text/xml; subtype=gml/3.1.1", "gml3", "application/json", "geojson",
               "application/geo+json", "application/json; subtype=geojson", "text/xml"}
GEOJSON = {"application/json", "geojson", "application/geo+json", "application/json; subtype=geojson"}
# WFS output CRSs (MapServer's WFS has no CRS84 srsName; CRS:84 is offered by the WMS)
WFS_CRS = {"EPSG:4326": "EPSG:4326", "urn:ogc:def:crs:EPSG::4326": "urn:ogc:def:crs:EPSG::4326",
           "http://www.opengis.net/def/crs/EPSG/0/4326": "urn:ogc:def:crs:EPSG::4326",
           "EPSG:3857": "EPSG:3857", "urn:ogc:def:crs:EPSG::3857": "urn:ogc:def:crs:EPSG::3857",
           "EPSG:32748": "EPSG:32748", "urn:ogc:def:crs:EPSG::32748": "urn:ogc:def:crs:EPSG::32748"}
# (x range, y range) of each CRS in its own units, in x/y (east, north) order
_BOUNDS = {"4326": ((-180, 180), (-90, 90)), "CRS:84": ((-180, 180), (-90, 90)),
           "3857": ((-20037508.35, 20037508.35), (-20048966.11, 20048966.11)),
           "32748": ((0, 1_000_000), (0, 10_000_000))}
MAX_FILTER_BYTES = 64 * 1024


@dataclass
class Checked:
    """A checked request: which service and operation, and the only parameters MapServer will get."""

    service: str
    version: str
    request: str
    params: dict[str, str] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)

    @property
    def query_string(self) -> str:
        """The request MapServer answers, rebuilt from checked values."""
        return urlencode({"SERVICE": self.service, "VERSION": self.version, "REQUEST": self.request,
                          **self.params})


def lower_params(items: list[tuple[str, str]]) -> dict[str, str]:
    """Parameter names are case-insensitive in OGC services: the first value of each name, by lower-case name."""
    out: dict[str, str] = {}
    for k, v in items:
        out.setdefault(k.lower(), v)
    return out


def _invalid(locator: str, message: str, code: str = "InvalidParameterValue") -> OwsError:
    return OwsError(code, locator, message)


def _missing(locator: str) -> OwsError:
    return OwsError("MissingParameterValue", locator, f"parameter {locator} is required")


def _int(p: dict[str, str], name: str, low: int, high: int, *, default: int | None = None) -> int:
    raw = p.get(name)
    if raw is None or raw == "":
        if default is None:
            raise _missing(name.upper())
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name.upper(), f"{name.upper()} must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise _invalid(name.upper(), f"{name.upper()} must be between {low} and {high}, got {value}")
    return value


def _numbers(raw: str, locator: str, n: int) -> list[float]:
    parts = raw.split(",")
    if len(parts) != n:
        raise _invalid(locator, f"{locator} must be {n} comma-separated numbers")
    try:
        values = [float(x) for x in parts]
    except ValueError:
        raise _invalid(locator, f"{locator} must be numbers, got {raw[:80]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise _invalid(locator, f"{locator} must be finite numbers")
    return values


def _crs_key(crs: str) -> str:
    return "CRS:84" if crs.upper() == "CRS:84" else crs.split(":")[-1]


def check_bbox(values: list[float], crs: str, lat_first: bool, locator: str = "BBOX") -> None:
    """min < max on both axes and within the CRS's valid range (in the axis order the request uses)."""
    x0, y0, x1, y1 = (values[1], values[0], values[3], values[2]) if lat_first else values
    if x0 >= x1 or y0 >= y1:
        raise _invalid(locator, f"{locator} minimum must be below its maximum on both axes")
    (xmin, xmax), (ymin, ymax) = _BOUNDS[_crs_key(crs)]
    if x0 < xmin or x1 > xmax or y0 < ymin or y1 > ymax:
        order = "lat,lon" if lat_first else "x,y"
        raise _invalid(locator, f"{locator} lies outside the valid area of {crs} (axis order {order})")


def _service(p: dict[str, str]) -> str:
    service = (p.get("service") or "").upper()
    if not service:
        if (p.get("request") or "").lower() == "getlegendgraphic" or "layers" in p:
            return "WMS"
        if "typename" in p or "typenames" in p:
            return "WFS"
        raise _missing("SERVICE")
    if service not in ("WMS", "WFS"):
        raise _invalid("SERVICE", f"SERVICE must be WMS or WFS, got {service[:20]!r}")
    return service


def _version(p: dict[str, str], service: str, request: str) -> str:
    raw = (p.get("version") or p.get("acceptversions", "").split(",")[0] or p.get("wmtver") or "").strip()
    versions = WMS_VERSIONS if service == "WMS" else WFS_VERSIONS
    if raw in ("", None):
        if request in ("GetCapabilities", "GetLegendGraphic"):
            return versions[0]
        raise _missing("VERSION")
    if service == "WFS" and raw == "2.0":
        raw = "2.0.0"
    if raw not in versions:
        if request == "GetCapabilities":  # version negotiation: the highest we have
            return versions[0]
        raise _invalid("VERSION", f"{service} version {raw[:20]!r} is not offered; use {' or '.join(versions)}")
    return raw


def _layer_names(raw: str | None, locator: str, index: dict[str, LayerEntry], code: str) -> list[str]:
    if not raw:
        raise _missing(locator)
    names = [n.strip() for n in raw.split(",")]
    if len(names) > 20:
        raise _invalid(locator, f"{locator} names more than 20 layers")
    for n in names:
        bare = n.split(":", 1)[1] if n.startswith("ms:") else n
        if bare not in index:
            raise OwsError(code, locator, f"no layer {n[:100]!r} is published here; see GetCapabilities")
    return [n.split(":", 1)[1] if n.startswith("ms:") else n for n in names]


def _styles(raw: str | None, layers: list[str], index: dict[str, LayerEntry]) -> str:
    if not raw:
        return ""
    names = raw.split(",")
    if len(names) != len(layers):
        raise _invalid("STYLES", "STYLES must name one style per layer in LAYERS (or be empty)", "StyleNotDefined")
    out = []
    for layer, style in zip(layers, names, strict=True):
        style = style.strip()
        if style in ("", "default"):
            out.append(index[layer].default_style)
        elif style in index[layer].style_names:
            out.append(style)
        else:
            raise OwsError("StyleNotDefined", "STYLES", f"layer {layer!r} has no style {style[:60]!r}; it has "
                           f"{', '.join(index[layer].style_names)}")
    return ",".join(out)


def _map_common(p: dict[str, str], version: str, index: dict[str, LayerEntry], max_size: int,
                out: dict[str, str]) -> list[str]:
    layers = _layer_names(p.get("layers"), "LAYERS", index, "LayerNotDefined")
    out["LAYERS"] = ",".join(layers)
    out["STYLES"] = _styles(p.get("styles"), layers, index)
    crs_name = "CRS" if version == "1.3.0" else "SRS"
    crs = (p.get(crs_name.lower()) or "").strip()
    if not crs:
        raise _missing(crs_name)
    crs = crs.upper()
    if crs not in CRS_LIST:
        raise OwsError("InvalidCRS" if version == "1.3.0" else "InvalidSRS", crs_name,
                       f"{crs_name} {crs[:40]!r} is not offered; use one of {', '.join(CRS_LIST)}")
    out[crs_name] = crs
    if not p.get("bbox"):
        raise _missing("BBOX")
    bbox = _numbers(p["bbox"], "BBOX", 4)
    check_bbox(bbox, crs, lat_first=version == "1.3.0" and crs == "EPSG:4326")
    out["BBOX"] = ",".join(repr(v) for v in bbox)
    out["WIDTH"] = str(_int(p, "width", 1, max_size))
    out["HEIGHT"] = str(_int(p, "height", 1, max_size))
    transparent = (p.get("transparent") or "FALSE").upper()
    if transparent not in ("TRUE", "FALSE"):
        raise _invalid("TRANSPARENT", "TRANSPARENT must be TRUE or FALSE")
    out["TRANSPARENT"] = transparent
    if p.get("bgcolor"):
        if not re.fullmatch(r"0[xX][0-9A-Fa-f]{6}", p["bgcolor"]):
            raise _invalid("BGCOLOR", "BGCOLOR must be 0xRRGGBB")
        out["BGCOLOR"] = p["bgcolor"]
    return layers


def _exceptions(p: dict[str, str], out: dict[str, str]) -> None:
    # Errors always come back as an XML report, never as an image that hides them
    if p.get("exceptions"):
        out["EXCEPTIONS"] = "application/vnd.ogc.se_xml" if "se_xml" in p["exceptions"].lower() else "XML"


def check_wms(p: dict[str, str], request: str, version: str, index: dict[str, LayerEntry],
              max_size: int) -> Checked:
    """A checked WMS request."""
    out: dict[str, str] = {}
    layers: list[str] = []
    if request in ("GetMap", "GetFeatureInfo"):
        layers = _map_common(p, version, index, max_size, out)
        if request == "GetMap":
            fmt = (p.get("format") or "").strip().lower()
            if not fmt:
                raise _missing("FORMAT")
            if fmt not in MAP_FORMATS:
                raise OwsError("InvalidFormat", "FORMAT", f"FORMAT {fmt[:40]!r} is not offered; use image/png, "
                               "image/png; mode=8bit or image/jpeg")
            out["FORMAT"] = MAP_FORMATS[fmt]
        else:
            queried = _layer_names(p.get("query_layers"), "QUERY_LAYERS", index, "LayerNotDefined")
            if not set(queried) <= set(layers):
                raise OwsError("LayerNotQueryable", "QUERY_LAYERS", "QUERY_LAYERS must be among LAYERS")
            out["QUERY_LAYERS"] = ",".join(queried)
            i_name, j_name = ("i", "j") if version == "1.3.0" else ("x", "y")
            out[i_name.upper()] = str(_int(p, i_name, 0, int(out["WIDTH"]) - 1) if p.get(i_name) is not None
                                      else _invalid_point(i_name))
            out[j_name.upper()] = str(_int(p, j_name, 0, int(out["HEIGHT"]) - 1) if p.get(j_name) is not None
                                      else _invalid_point(j_name))
            info = (p.get("info_format") or "text/html").strip().lower()
            if info not in INFO_FORMATS:
                raise OwsError("InvalidFormat", "INFO_FORMAT", f"INFO_FORMAT {info[:40]!r} is not offered; use "
                               "text/html, application/json, application/vnd.ogc.gml or text/plain")
            out["INFO_FORMAT"] = "application/json" if info == "application/geojson" else info
            out["FEATURE_COUNT"] = str(_int(p, "feature_count", 1, 50, default=1))
            if p.get("format") and p["format"].lower() in MAP_FORMATS:
                out["FORMAT"] = MAP_FORMATS[p["format"].lower()]
    elif request == "GetLegendGraphic":
        layers = _layer_names(p.get("layer"), "LAYER", index, "LayerNotDefined")
        if len(layers) != 1:
            raise _invalid("LAYER", "LAYER names exactly one layer")
        out["LAYER"] = layers[0]
        if p.get("style"):
            out["STYLE"] = _styles(p["style"], layers, index)
        fmt = (p.get("format") or "image/png").strip().lower()
        if fmt not in MAP_FORMATS:
            raise OwsError("InvalidFormat", "FORMAT", f"FORMAT {fmt[:40]!r} is not offered for legends")
        out["FORMAT"] = MAP_FORMATS[fmt]
        out["SLD_VERSION"] = "1.1.0"
        for dim in ("width", "height"):
            if p.get(dim):
                out[dim.upper()] = str(_int(p, dim, 1, 512))
    _exceptions(p, out)
    return Checked("WMS", version, request, out, layers)


def _invalid_point(name: str) -> str:
    raise OwsError("InvalidPoint", name.upper(), f"{name.upper()} is required: the pixel that was clicked")


def check_filter(raw: str, layers: list[str], index: dict[str, LayerEntry]) -> str:
    """A Filter Encoding document parsed with no DTD, entities or network; property names must be columns."""
    data = raw.encode()
    if len(data) > MAX_FILTER_BYTES:
        raise _invalid("FILTER", f"FILTER is larger than {MAX_FILTER_BYTES // 1024} KiB")
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        raise _invalid("FILTER", "FILTER may not hold a DOCTYPE or entity declaration")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    # a request may carry one filter per type name, in parentheses
    docs = re.findall(r"\(([^()]*)\)", raw) if raw.lstrip().startswith("(") else [raw]
    columns = set()
    for name in layers:
        columns |= {c.name for c in index[name].collection.columns} | {"geom"}
    for doc in docs:
        try:
            root = etree.fromstring(doc.encode(), parser)
        except etree.XMLSyntaxError as exc:
            raise _invalid("FILTER", f"FILTER is not well-formed XML ({exc.msg})") from None
        if etree.QName(root.tag).localname != "Filter":
            raise _invalid("FILTER", "FILTER's root element must be Filter")
        depth = max((len(list(e.iterancestors())) for e in root.iter()), default=0)
        if depth > 30 or sum(1 for _ in root.iter()) > 2000:
            raise _invalid("FILTER", "FILTER is nested too deeply or too large")
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            if any(etree.QName(a).localname.lower() == "href" for a in el.attrib):
                raise _invalid("FILTER", "FILTER may not link to anything")
            if etree.QName(el.tag).localname in ("PropertyName", "ValueReference"):
                prop = (el.text or "").strip().split(":")[-1].split("/")[-1]
                if prop not in columns:
                    raise _invalid("FILTER", f"FILTER names {prop[:60]!r}, which is not an attribute of "
                                   f"{', '.join(layers)}")
    return raw


def check_wfs(p: dict[str, str], request: str, version: str, index: dict[str, LayerEntry],
              max_features: int) -> Checked:
    """A checked WFS request."""
    out: dict[str, str] = {}
    layers: list[str] = []
    names_key = "typenames" if version == "2.0.0" else "typename"
    raw_names = p.get("typenames") or p.get("typename")
    if request == "DescribeFeatureType" and raw_names:
        layers = _layer_names(raw_names, names_key.upper(), index, "InvalidParameterValue")
        out[names_key.upper()] = ",".join(layers)
    elif request == "GetFeature":
        if p.get("storedquery_id"):
            if p["storedquery_id"] != "urn:ogc:def:query:OGC-WFS::GetFeatureById":
                raise _invalid("STOREDQUERY_ID", "the only stored query is urn:ogc:def:query:OGC-WFS::GetFeatureById")
            out["STOREDQUERY_ID"] = p["storedquery_id"]
            out["ID"] = (p.get("id") or "")[:200]
        elif p.get("resourceid") or p.get("featureid"):
            key = "RESOURCEID" if p.get("resourceid") else "FEATUREID"
            out[key] = (p.get("resourceid") or p.get("featureid") or "")[:2000]
        else:
            layers = _layer_names(raw_names, names_key.upper(), index, "InvalidParameterValue")
            out[names_key.upper()] = ",".join(layers)
        count_key = "count" if version == "2.0.0" else "maxfeatures"
        if p.get(count_key) or p.get("maxfeatures") or p.get("count"):
            p.setdefault(count_key, p.get("count") or p.get("maxfeatures") or "")
            out[count_key.upper()] = str(_int(p, count_key, 1, max_features))
        else:
            out[count_key.upper()] = str(max_features)
        if p.get("startindex"):
            out["STARTINDEX"] = str(_int(p, "startindex", 0, 10_000_000))
        rt = (p.get("resulttype") or "results").lower()
        if rt not in ("results", "hits"):
            raise _invalid("RESULTTYPE", "RESULTTYPE must be results or hits")
        out["RESULTTYPE"] = rt
        fmt = (p.get("outputformat") or "").strip()
        if fmt:
            if fmt.lower() not in WFS_OUTPUTS:
                raise _invalid("OUTPUTFORMAT", f"OUTPUTFORMAT {fmt[:40]!r} is not offered; use "
                               "application/gml+xml; version=3.2 or application/json")
            out["OUTPUTFORMAT"] = "geojson" if fmt.lower() in GEOJSON else fmt
        if p.get("srsname"):
            if p["srsname"] not in WFS_CRS:
                raise _invalid("SRSNAME", f"SRSNAME {p['srsname'][:60]!r} is not offered")
            out["SRSNAME"] = WFS_CRS[p["srsname"]]
        if not p.get("filter") and (p.get("query") or "").lstrip().startswith("<"):
            p["filter"] = p["query"]  # OWSLib's KVP GetFeature sends its filter as QUERY
        if p.get("bbox") and p.get("filter"):
            raise _invalid("BBOX", "BBOX and FILTER cannot be used together; put the box in the filter")
        if p.get("bbox"):
            parts = p["bbox"].split(",")
            crs = parts[4] if len(parts) == 5 else "urn:ogc:def:crs:EPSG::4326"
            if crs not in WFS_CRS:
                raise _invalid("BBOX", f"BBOX CRS {crs[:60]!r} is not offered")
            values = _numbers(",".join(parts[:4]), "BBOX", 4)
            lat_first = WFS_CRS[crs] == "urn:ogc:def:crs:EPSG::4326" and version != "1.0.0"
            check_bbox(values, WFS_CRS[crs], lat_first)
            out["BBOX"] = ",".join([*(repr(v) for v in values), WFS_CRS[crs]])
        if p.get("filter"):
            out["FILTER"] = check_filter(p["filter"], layers, index)
        for key in ("propertyname", "sortby"):
            if p.get(key):
                cols = {c.name for n in layers for c in index[n].collection.columns} | {"geom"}
                for item in p[key].strip("()").split(","):
                    col = item.strip().split(" ")[0].split(":")[-1]
                    if col not in cols:
                        raise _invalid(key.upper(), f"{key.upper()} names {col[:60]!r}, not an attribute")
                out[key.upper()] = p[key]
    elif request == "DescribeStoredQueries" and p.get("storedquery_id"):
        out["STOREDQUERY_ID"] = p["storedquery_id"][:200]
    _exceptions(p, out)
    return Checked("WFS", version, request, out, layers)


def check(p: dict[str, str], index: dict[str, LayerEntry], *, max_size: int, max_features: int) -> Checked:
    """Check any /ows request; OwsError names what is wrong."""
    if p.get("sld") or p.get("sld_body"):
        raise _invalid("SLD", "SLD and SLD_BODY are not accepted in requests; styles are uploaded with the layer "
                       "(POST /layers/{id}/styles) and named in STYLES", "OperationNotSupported")
    service = _service(p)
    raw_request = (p.get("request") or "").strip()
    if not raw_request:
        raise _missing("REQUEST")
    ops = WMS_REQUESTS if service == "WMS" else WFS_REQUESTS
    request = ops.get(raw_request.lower())
    if request is None:
        raise OwsError("OperationNotSupported", "REQUEST",
                       f"{service} has no operation {raw_request[:40]!r}; use {', '.join(ops.values())}")
    version = _version(p, service, request)
    if service == "WMS":
        return check_wms(p, request, version, index, max_size)
    return check_wfs(p, request, version, index, max_features)


def service_and_version(p: dict[str, str]) -> tuple[str, str]:
    """The service and version an exception report should speak (best effort, for errors found early)."""
    service = (p.get("service") or "WMS").upper()
    service = service if service in ("WMS", "WFS") else "WMS"
    raw = (p.get("version") or "").strip()
    versions = WMS_VERSIONS if service == "WMS" else WFS_VERSIONS
    return service, raw if raw in versions else versions[0]

