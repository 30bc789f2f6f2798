"""Checking an uploaded SLD 1.0 / SE 1.1 style before MapServer ever sees it.

The parser is hardened (no DTD, no entities, no network, bounded size and depth); every element must be in an
allow-list of SLD/SE/OGC-filter names; graphics may only be well-known marks (no ExternalGraphic, no
OnlineResource, no href anywhere), so drawing a style never reads a file or fetches a URL on anyone's behalf.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lxml import etree

SLD = "http://www.opengis.net/sld"
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
GML = "http://www.opengis.net/gml"
MAX_BYTES = 256 * 1024
MAX_DEPTH = 40
MAX_ELEMENTS = 5000

_ALLOWED = {
    "StyledLayerDescriptor", "NamedLayer", "UserLayer", "Name", "Title", "Abstract", "Description", "UserStyle",
    "IsDefault", "FeatureTypeStyle", "FeatureTypeName", "SemanticTypeIdentifier", "Rule", "MinScaleDenominator",
    "MaxScaleDenominator", "ElseFilter", "LegendGraphic", "PolygonSymbolizer", "LineSymbolizer", "PointSymbolizer",
    "TextSymbolizer", "Geometry", "Fill", "Stroke", "CssParameter", "SvgParameter", "Graphic", "Mark",
    "WellKnownName", "Opacity", "Size", "Rotation", "Displacement", "DisplacementX", "DisplacementY", "AnchorPoint",
    "AnchorPointX", "AnchorPointY", "Label", "Font", "LabelPlacement", "PointPlacement", "LinePlacement",
    "PerpendicularOffset", "Halo", "Radius", "GraphicFill", "GraphicStroke", "Gap", "InitialGap", "VendorOption",
    "Priority", "Format",
    # Filter Encoding 1.1 (SLD 1.0) and the same names under SE 1.1
    "Filter", "And", "Or", "Not", "PropertyIsEqualTo", "PropertyIsNotEqualTo", "PropertyIsLessThan",
    "PropertyIsGreaterThan", "PropertyIsLessThanOrEqualTo", "PropertyIsGreaterThanOrEqualTo", "PropertyIsLike",
    "PropertyIsNull", "PropertyIsBetween", "LowerBoundary", "UpperBoundary", "PropertyName", "Literal", "FeatureId",
    "BBOX", "Envelope", "lowerCorner", "upperCorner", "Box", "coordinates",
}
_NAMESPACES = {SLD, SE, OGC, GML, None}
_MARKS = {"square", "circle", "triangle", "star", "cross", "x"}
_FORBIDDEN_ATTR = ("href", "src", "url")


class SldError(ValueError):
    """The style is refused: `problem` says why, in a sentence the uploader can act on."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class CheckedStyle:
    """A style that passed every check: its name, title and the canonical text MapServer is given."""

    name: str
    title: str
    text: str


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def _local(tag: object) -> tuple[str | None, str]:
    if not isinstance(tag, str):
        raise SldError("the style holds a node that is not an element")
    q = etree.QName(tag)
    return q.namespace, q.localname


def _check_element(el: etree._Element, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise SldError(f"the style nests deeper than {MAX_DEPTH} levels")
    ns, name = _local(el.tag)
    if ns not in _NAMESPACES:
        raise SldError(f"element {name!r} is in namespace {ns!r}, not SLD 1.0, SE 1.1 or OGC Filter")
    if name not in _ALLOWED:
        raise SldError(f"element {name!r} is not allowed in an uploaded style "
                       "(ExternalGraphic, OnlineResource and inline content are refused)")
    for attr in el.attrib:
        local = etree.QName(attr).localname.lower()
        if local in _FORBIDDEN_ATTR:
            raise SldError(f"attribute {local!r} on {name!r}: a style may not link to anything")
    if name == "WellKnownName" and (el.text or "").strip().lower() not in _MARKS:
        raise SldError(f"mark {(el.text or '').strip()!r} is not one of {', '.join(sorted(_MARKS))}")
    text = (el.text or "") + (el.tail or "")
    if "://" in text or "file:" in text.lower():
        raise SldError(f"element {name!r} holds a path or URL; a style may not refer to files or the network")
    for child in el:
        _check_element(child, depth + 1)


def _first(root: etree._Element, local: str) -> str | None:
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el.tag).localname == local and (el.text or "").strip():
            return el.text.strip()
    return None


def _name_layer(root: etree._Element, layer_id: str) -> None:
    """MapServer applies an SLD to the layer its (first) NamedLayer names: make that the layer's id."""
    layers = [e for e in root if isinstance(e.tag, str) and etree.QName(e.tag).localname in ("NamedLayer",
                                                                                              "UserLayer")]
    if len(layers) != 1:
        raise SldError("the style must describe exactly one layer (one NamedLayer)")
    name = next((e for e in layers[0] if isinstance(e.tag, str) and etree.QName(e.tag).localname == "Name"), None)
    if name is None:
        name = etree.Element(f"{{{etree.QName(layers[0].tag).namespace}}}Name")
        layers[0].insert(0, name)
    name.text = layer_id


def _check_properties(root: etree._Element, columns: set[str] | None) -> None:
    if columns is None:
        return
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el.tag).localname in ("PropertyName", "ValueReference"):
            prop = (el.text or "").strip().split(":")[-1]
            if prop not in columns:
                raise SldError(f"the style names attribute {prop[:60]!r}, which the layer does not have "
                               f"(it has {', '.join(sorted(columns))[:300]})")


def check_sld(data: bytes, *, fallback_name: str, layer_id: str = "layer",
              columns: set[str] | None = None) -> CheckedStyle:
    """The style if it is a safe SLD 1.0 / SE 1.1 document whose filters and labels name only `columns` (when
    given), else SldError naming the problem."""
    if len(data) > MAX_BYTES:
        raise SldError(f"the style is larger than {MAX_BYTES // 1024} KiB")
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise SldError("a DOCTYPE or entity declaration is not allowed in a style")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SldError(f"the style is not well-formed XML ({exc.msg})") from None
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise SldError("a DOCTYPE is not allowed in a style")
    ns, name = _local(root.tag)
    if name != "StyledLayerDescriptor" or ns != SLD:
        raise SldError("the document is not an SLD: its root must be sld:StyledLayerDescriptor")
    version = root.get("version")
    if version not in ("1.0.0", "1.1.0"):
        raise SldError(f"SLD version {version!r} is not supported; use 1.0.0 or 1.1.0 (SE 1.1)")
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise SldError(f"the style has more than {MAX_ELEMENTS} elements")
    _check_element(root, 0)
    if not any(isinstance(e.tag, str) and etree.QName(e.tag).localname.endswith("Symbolizer") for e in root.iter()):
        raise SldError("the style has no symbolizer, so it would draw nothing")
    _check_properties(root, columns)
    _name_layer(root, layer_id)
    title = _first(root, "Title") or fallback_name
    return CheckedStyle(name=fallback_name, title=title[:200],
                        text=etree.tostring(root, encoding="unicode"))


_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _params(el: etree._Element | None) -> dict[str, str]:
    """CssParameter / SvgParameter name → value under an SLD Fill or Stroke."""
    if el is None:
        return {}
    return {p.get("name", ""): (p.text or "").strip() for p in el
            if isinstance(p.tag, str) and etree.QName(p.tag).localname in ("CssParameter", "SvgParameter")}


def _child(el: etree._Element | None, local: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el.iter() if isinstance(c.tag, str) and etree.QName(c.tag).localname == local), None)


def _number(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return min(max(value, low), high) if math.isfinite(value) else None


def leaflet_style(text: str) -> dict | None:
    """A simple Leaflet path style from the first symbolizer of the first rule of a checked SLD (None when it has
    no colour we can read): the colours and widths a web map can draw, not the whole SLD."""
    root = etree.fromstring(text.encode(), _parser())
    rule = _child(root, "Rule")
    symbolizer = next((c for c in (rule if rule is not None else []) if isinstance(c.tag, str)
                       and etree.QName(c.tag).localname in ("PolygonSymbolizer", "LineSymbolizer",
                                                            "PointSymbolizer")), None)
    if symbolizer is None:
        return None
    mark = _child(symbolizer, "Mark") if etree.QName(symbolizer.tag).localname == "PointSymbolizer" else None
    holder = mark if mark is not None else symbolizer
    fill = _params(next((c for c in holder if isinstance(c.tag, str) and etree.QName(c.tag).localname == "Fill"),
                        None))
    stroke = _params(next((c for c in holder if isinstance(c.tag, str)
                           and etree.QName(c.tag).localname == "Stroke"), None))
    style: dict = {}
    if _HEX.match(fill.get("fill", "")):
        style["fillColor"] = fill["fill"].lower()
        style["fillOpacity"] = _number(fill.get("fill-opacity"), 0, 1) if "fill-opacity" in fill else (
            0.9 if mark is not None else 1.0)  # SE 1.1: fill-opacity defaults to 1
        style["fill"] = True
    elif etree.QName(symbolizer.tag).localname == "PolygonSymbolizer":
        style["fill"] = False
    if _HEX.match(stroke.get("stroke", "")):
        style["color"] = stroke["stroke"].lower()
        style["weight"] = _number(stroke.get("stroke-width"), 0, 20) or 1.0
        if "stroke-opacity" in stroke:
            style["opacity"] = _number(stroke.get("stroke-opacity"), 0, 1)
    elif "fillColor" in style:
        style["color"] = style["fillColor"] if mark is None else "#ffffff"
        style["weight"] = 1.0 if mark is not None else 0.0
    if mark is not None:
        size = _number((_child(symbolizer, "Size").text if _child(symbolizer, "Size") is not None else None), 2, 60)
        style["radius"] = (size or 8) / 2
    if "fillColor" not in style and "color" not in style:
        return None
    return {k: v for k, v in style.items() if v is not None}
