"""CSW 2.0.2 (OGC 07-006r1) over the catalogue: requests parsed from KVP or XML, filters (CQL text, OGC Filter
1.1 via pygeofilter) composed into SQL by layers.cql, answers in Dublin Core or ISO 19139.

pycsw, the reference server, is not used: 2.6.2 (the newest in the registry) pins OWSLib < 0.29 and its
repository fails on SQLAlchemy 2.x, both of which this project needs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from psycopg import sql
from pygeofilter import ast
from pygeofilter.parsers.ecql import parse as parse_ecql

from layers.catalog import Collection, Column
from layers.cql import _ToSql, bound_values
from layers.crs import OfferedCrs
from layers.errors import QueryParameterError
from layers.katalog import metadata as md

CSW = "http://www.opengis.net/cat/csw/2.0.2"
OWS = "http://www.opengis.net/ows"
OGC = "http://www.opengis.net/ogc"
DC = "http://purl.org/dc/elements/1.1/"
DCT = "http://purl.org/dc/terms/"
GML = "http://www.opengis.net/gml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {"csw": CSW, "ows": OWS, "ogc": OGC, "dc": DC, "dct": DCT, "gml": GML, "xsi": XSI, "xlink": XLINK,
         "gmd": md.GMD}
OPERATIONS = ("GetCapabilities", "DescribeRecord", "GetRecords", "GetRecordById")
SCHEMAS = {CSW: "csw", md.GMD: "gmd"}
ELEMENT_SETS = ("brief", "summary", "full")
# CSW / ISO queryables (prefix dropped, case folded) -> the catalogue view's column
QUERYABLES = {"anytext": "anytext", "title": "title", "abstract": "abstract", "subject": "subject",
              "keywords": "subject", "topiccategory": "topic", "topic": "topic", "organisationname": "opd",
              "opd": "opd",
              "creator": "opd", "publisher": "opd", "modified": "modified", "revisiondate": "modified",
              "date": "modified", "creationdate": "date_creation", "type": "type", "identifier": "identifier",
              "boundingbox": "geom", "envelope": "geom", "geometry": "geom", "geom": "geom", "kugi": "kugi_code"}
_VIEW_COLUMNS = (Column("anytext", "text"), Column("title", "text"), Column("abstract", "text"),
                 Column("subject", "text"), Column("topic", "text"), Column("opd", "text"),
                 Column("modified", "timestamp with time zone"), Column("date_creation", "date"),
                 Column("type", "text"), Column("identifier", "text"), Column("kugi_code", "text"))
_SORTABLE = {"title", "modified", "identifier", "opd", "date_creation", "type"}
_KVP = {"service", "version", "request", "acceptversions", "sections", "updatesequence", "acceptformats",
        "namespace", "typename", "typenames", "outputformat", "outputschema", "schemalanguage", "startposition",
        "maxrecords", "resulttype", "elementsetname", "elementname", "constraintlanguage",
        "constraint_language_version", "constraint", "sortby", "distributedsearch", "hopcount",
        "responsehandler", "id", "requestid", "language"}
CRS84_LONLAT = OfferedCrs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, (-180.0, -90.0, 180.0, 90.0))
_LATLON_4326 = re.compile(r"(urn:(x-)?ogc:def:crs:EPSG:[0-9.]*:4326|opengis\.net/def/crs/EPSG/0/4326)$")


class CswError(Exception):
    """An OWS exception: its exceptionCode, the parameter it is about, and the text for the client."""

    def __init__(self, code: str, locator: str | None, text: str, status: int = 400):
        super().__init__(text)
        self.code, self.locator, self.text, self.status = code, locator, text, status


@dataclass
class Request:
    """One CSW request, however it arrived."""

    operation: str
    output_schema: str = CSW
    element_set: str = "summary"
    result_type: str = "hits"
    start: int = 1
    max_records: int = 10
    constraint: ast.Node | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    ids: list[str] = field(default_factory=list)
    type_names: list[str] = field(default_factory=list)
    max_capped: bool = False


# ---------------------------------------------------------------- parsing

def _int(value: str, name: str, lo: int, hi: int | None = None) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise CswError("InvalidParameterValue", name, f"{name} must be an integer") from None
    if n < lo:
        raise CswError("InvalidParameterValue", name, f"{name} must be at least {lo}")
    return n if hi is None else min(n, hi)


def _check_common(service: str | None, version: str | None, op: str) -> None:
    if service is None:
        raise CswError("MissingParameterValue", "service", "service is required (CSW)")
    if service.upper() != "CSW":
        raise CswError("InvalidParameterValue", "service", "service must be CSW")
    if op != "GetCapabilities":
        if version is None:
            raise CswError("MissingParameterValue", "version", "version is required (2.0.2)")
        if version != "2.0.2":
            raise CswError("VersionNegotiationFailed", "version", "only CSW version 2.0.2 is offered")


def _schema(value: str | None) -> str:
    if value is None:
        return CSW
    if value not in SCHEMAS:
        raise CswError("InvalidParameterValue", "outputSchema",
                       f"outputSchema must be {CSW} or {md.GMD}")
    return value


def _element_set(value: str | None) -> str:
    value = (value or "summary").lower()
    if value not in ELEMENT_SETS:
        raise CswError("InvalidParameterValue", "elementSetName", "elementSetName must be brief, summary or full")
    return value


def _sort(value: str | None) -> list[tuple[str, bool]]:
    out = []
    for part in (value or "").split(","):
        if not part.strip():
            continue
        name, _, order = part.strip().rpartition(":") if part.count(":") >= 1 else (part, "", "A")
        if order.upper() not in ("A", "D", "ASC", "DESC"):
            name, order = part.strip(), "A"
        col = QUERYABLES.get(name.split(":")[-1].lower())
        if col not in _SORTABLE:
            raise CswError("InvalidParameterValue", "sortBy", f"cannot sort by {name[:40]!r}")
        out.append((col, order.upper().startswith("D")))
    return out


_CQL_WORDS = re.compile(r"'(?:[^']|'')*'|\b(like|ilike|and|or|not|between|in|is|null|before|after|during)\b",
                        re.IGNORECASE)


def parse_cql(text: str) -> ast.Node:
    """CSW CQL text (pygeofilter's ECQL; keywords in any case), or InvalidParameterValue on constraint."""
    if len(text) > 20_000:
        raise CswError("InvalidParameterValue", "constraint", "the constraint is too long")
    upper = _CQL_WORDS.sub(lambda m: m.group(0) if m.group(0).startswith("'") else m.group(0).upper(), text)
    try:
        return parse_ecql(upper)
    except Exception as exc:  # lark raises many kinds; all mean a malformed constraint
        raise CswError("InvalidParameterValue", "constraint",
                       f"the CQL constraint cannot be parsed: {str(exc).splitlines()[0][:160]}") from None


def _swap_latlon_envelopes(filter_el: etree._Element) -> None:
    """gml:Envelope in a lat/lon URN of EPSG:4326 (as QGIS MetaSearch sends): corners to lon/lat in place."""
    for env in filter_el.iter(f"{{{GML}}}Envelope"):
        if _LATLON_4326.search(env.get("srsName") or ""):
            for corner in env:
                parts = (corner.text or "").split()
                if len(parts) == 2:
                    corner.text = f"{parts[1]} {parts[0]}"


def parse_filter(filter_el: etree._Element) -> ast.Node:
    """An ogc:Filter element (Filter Encoding 1.1) as a pygeofilter tree, or InvalidParameterValue."""
    from pygeofilter.parsers.fes import parse as parse_fes

    children = [c for c in filter_el if isinstance(c.tag, str)]
    if len(children) != 1:
        raise CswError("InvalidParameterValue", "constraint", "ogc:Filter must hold exactly one predicate")
    _swap_latlon_envelopes(filter_el)
    try:
        return parse_fes(children[0])
    except Exception as exc:
        raise CswError("InvalidParameterValue", "constraint",
                       f"the OGC Filter cannot be read: {str(exc)[:160]}") from None


def from_kvp(params: Mapping[str, str]) -> Request:
    """A request from GET parameters (names case-insensitive; unknown names refused)."""
    p: dict[str, str] = {}
    for k, v in params.items():
        key = k.lower()
        if key not in _KVP:
            raise CswError("InvalidParameterValue", k[:40], f"unknown parameter {k[:40]!r}")
        p[key] = v
    op = p.get("request")
    if op is None:
        raise CswError("MissingParameterValue", "request", "request is required")
    if op not in OPERATIONS:
        raise CswError("OperationNotSupported", "request", f"request must be one of {', '.join(OPERATIONS)}")
    _check_common(p.get("service"), p.get("version"), op)
    if op == "GetCapabilities" and "acceptversions" in p and "2.0.2" not in p["acceptversions"].split(","):
        raise CswError("VersionNegotiationFailed", "acceptversions", "only CSW version 2.0.2 is offered")
    if p.get("outputformat") not in (None, "application/xml", "text/xml"):
        raise CswError("InvalidParameterValue", "outputFormat", "outputFormat must be application/xml")
    req = Request(op, output_schema=_schema(p.get("outputschema")), element_set=_element_set(p.get("elementsetname")))
    if op == "GetRecordById":
        ids = [i.strip() for i in (p.get("id") or "").split(",") if i.strip()]
        if not ids:
            raise CswError("MissingParameterValue", "id", "id is required")
        req.ids = ids[:100]
    elif op == "GetRecords":
        _records_common(req, p.get("resulttype"), p.get("startposition"), p.get("maxrecords"), p.get("typenames"))
        req.sort = _sort(p.get("sortby"))
        if "constraint" in p:
            lang = (p.get("constraintlanguage") or "").upper()
            if lang not in ("CQL_TEXT", "FILTER"):
                raise CswError("InvalidParameterValue", "constraintLanguage",
                               "constraintLanguage must be CQL_TEXT or FILTER")
            if lang == "CQL_TEXT":
                req.constraint = parse_cql(p["constraint"])
            else:
                from layers.katalog import xmlsafe

                try:
                    req.constraint = parse_filter(xmlsafe.parse(p["constraint"].encode("utf-8")))
                except xmlsafe.UnsafeXml as exc:
                    raise CswError("InvalidParameterValue", "constraint", str(exc)) from None
    elif op == "DescribeRecord":
        req.type_names = (p.get("typename") or "csw:Record").split(",")
    return req


def _records_common(req: Request, result_type: str | None, start: str | None, max_records: str | None,
                    type_names: str | None) -> None:
    req.result_type = (result_type or "hits").lower()
    if req.result_type not in ("hits", "results", "validate"):
        raise CswError("InvalidParameterValue", "resultType", "resultType must be hits, results or validate")
    req.start = _int(start, "startPosition", 1) if start is not None else 1
    if max_records is not None:
        n = _int(max_records, "maxRecords", 0)
        req.max_records = n
    req.type_names = [t.strip() for t in (type_names or "csw:Record").split(",") if t.strip()]
    bad = [t for t in req.type_names if t.split(":")[-1] not in ("Record", "MD_Metadata")]
    if bad:
        raise CswError("InvalidParameterValue", "typeNames", f"unknown typeName {bad[0][:40]!r}")


def from_xml(root: etree._Element) -> Request:
    """A request from an XML POST body (already parsed with the hardened parser)."""
    op = etree.QName(root).localname
    if etree.QName(root).namespace != CSW or op not in OPERATIONS:
        raise CswError("OperationNotSupported", "request", f"unknown request element {op[:40]!r}")
    _check_common(root.get("service"), root.get("version") if op != "GetCapabilities" else "2.0.2", op)
    req = Request(op, output_schema=_schema(root.get("outputSchema")))
    if op == "GetRecordById":
        req.element_set = _element_set(root.findtext(f"{{{CSW}}}ElementSetName"))
        req.ids = [(e.text or "").strip() for e in root.findall(f"{{{CSW}}}Id") if (e.text or "").strip()][:100]
        if not req.ids:
            raise CswError("MissingParameterValue", "id", "csw:Id is required")
    elif op == "GetRecords":
        query = root.find(f"{{{CSW}}}Query")
        if query is None:
            raise CswError("MissingParameterValue", "Query", "csw:Query is required")
        _records_common(req, root.get("resultType"), root.get("startPosition"), root.get("maxRecords"),
                        " ".join((query.get("typeNames") or "csw:Record").split()).replace(" ", ","))
        req.element_set = _element_set(query.findtext(f"{{{CSW}}}ElementSetName"))
        constraint = query.find(f"{{{CSW}}}Constraint")
        if constraint is not None:
            flt = constraint.find(f"{{{OGC}}}Filter")
            cql = constraint.findtext(f"{{{CSW}}}CqlText")
            if flt is not None:
                req.constraint = parse_filter(flt)
            elif cql is not None:
                req.constraint = parse_cql(cql)
            else:
                raise CswError("InvalidParameterValue", "constraint", "csw:Constraint needs ogc:Filter or csw:CqlText")
        sort = query.find(f"{{{OGC}}}SortBy")
        if sort is not None:
            parts = []
            for prop in sort.findall(f"{{{OGC}}}SortProperty"):
                name = (prop.findtext(f"{{{OGC}}}PropertyName") or "").strip()
                order = (prop.findtext(f"{{{OGC}}}SortOrder") or "ASC").strip().upper()
                parts.append(f"{name}:{'D' if order.startswith('D') else 'A'}")
            req.sort = _sort(",".join(parts))
    elif op == "DescribeRecord":
        req.type_names = [(e.text or "").strip() for e in root.findall(f"{{{CSW}}}TypeName")] or ["csw:Record"]
    return req


# ---------------------------------------------------------------- filter -> SQL

_VIEW = Collection(id="katalog", title="katalog", description="", attribution="", licence="", kind="katalog",
                   schema="public", relation="katalog_current", opd=None, updated_at=None, stamp="",  # type: ignore
                   geometry_type="Polygon", pk="identifier", columns=_VIEW_COLUMNS)


class _CswSql(_ToSql):
    """layers.cql's walker with CSW / ISO queryable names mapped onto the catalogue view."""

    @staticmethod
    def _column(name: Any) -> str:
        if not isinstance(name, str):
            raise QueryParameterError("constraint", "a property name must be a string")
        col = QUERYABLES.get(name.split(":")[-1].lower())
        if col is None:
            raise QueryParameterError("constraint", f"unknown queryable {name[:60]!r}")
        return col

    def attribute(self, name: str) -> sql.Composable:
        return super().attribute(self._column(name))

    def geom(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            node = ast.Attribute(self._column(node.name))
        return super().geom(node)

    def _like(self, node: ast.Like) -> sql.Composable:
        # CSW clients expect text matching to ignore case (pycsw, GeoNetwork do)
        node = ast.Like(node.lhs, node.pattern, True, node.wildcard, node.singlechar, node.escapechar, node.not_)
        return super()._like(node)


def where(req: Request) -> tuple[sql.Composable, list[Any]]:
    """The SQL condition of the request's constraint and its bound values."""
    if req.constraint is None:
        return sql.SQL("TRUE"), []
    try:
        cond = _CswSql(_VIEW, CRS84_LONLAT).cond(req.constraint)
    except QueryParameterError as exc:
        raise CswError("InvalidParameterValue", "constraint", str(exc)) from None
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise CswError("InvalidParameterValue", "constraint", f"invalid constraint: {type(exc).__name__}") from None
    return cond, bound_values(cond)


def order_by(req: Request) -> sql.Composable:
    """ORDER BY of the request (title, then identifier, by default)."""
    parts = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL("DESC" if d else "ASC")) for c, d in req.sort]
    parts.append(sql.SQL("identifier ASC"))
    return sql.SQL(", ").join(parts if req.sort else [sql.SQL("title ASC"), sql.SQL("identifier ASC")])


# ---------------------------------------------------------------- rendering

def _e(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    names = {"xlink__href": f"{{{XLINK}}}href"}
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", {names.get(k, k): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def exception_report(err: CswError) -> bytes:
    """An OWS 1.0 ExceptionReport (CSW 2.0.2 uses OWS Common 1.0.0)."""
    root = etree.Element(f"{{{OWS}}}ExceptionReport", nsmap={"ows": OWS, "xsi": XSI}, version="1.2.0")
    root.set("language", "en")
    exc = _e(root, OWS, "Exception", exceptionCode=err.code)
    if err.locator:
        exc.set("locator", err.locator)
    _e(exc, OWS, "ExceptionText", err.text)
    return _xml(root)


def capabilities(node: md.Node, url: str) -> bytes:
    """GetCapabilities: the node's identity (Kode Simpul, Diskominfo), the four operations, the filters."""
    root = etree.Element(f"{{{CSW}}}Capabilities", nsmap={k: NSMAP[k] for k in ("csw", "ows", "ogc", "xlink",
                                                                                  "xsi", "gml")}, version="2.0.2")
    si = _e(root, OWS, "ServiceIdentification")
    _e(si, OWS, "Title", f"Katalog Metadata {node.name}")
    _e(si, OWS, "Abstract", f"Katalog metadata geospasial (SNI 8843-1:2019) simpul jaringan JIGN "
       f"Kode Simpul {node.kode_simpul}: {node.organisation}, {node.city}, {node.province}.")
    kw = _e(si, OWS, "Keywords")
    for word in ("JIGN", "Satu Peta", "Kode Simpul " + node.kode_simpul, node.city, "SNI 8843-1"):
        _e(kw, OWS, "Keyword", word)
    _e(si, OWS, "ServiceType", "CSW")
    _e(si, OWS, "ServiceTypeVersion", "2.0.2")
    _e(si, OWS, "Fees", "Tidak dipungut biaya")
    _e(si, OWS, "AccessConstraints", "Tidak ada")
    sp = _e(root, OWS, "ServiceProvider")
    _e(sp, OWS, "ProviderName", node.organisation)
    _e(sp, OWS, "ProviderSite", xlink__href=url.rsplit("/csw", 1)[0] + "/peta/katalog")
    sc = _e(sp, OWS, "ServiceContact")
    _e(sc, OWS, "IndividualName", f"Simpul Jaringan {node.kode_simpul}")
    _e(sc, OWS, "PositionName", f"Kode Simpul {node.kode_simpul}")
    ci = _e(sc, OWS, "ContactInfo")
    if node.phone:
        _e(_e(ci, OWS, "Phone"), OWS, "Voice", node.phone)
    addr = _e(ci, OWS, "Address")
    _e(addr, OWS, "City", node.city)
    _e(addr, OWS, "AdministrativeArea", node.province)
    _e(addr, OWS, "Country", "Indonesia")
    _e(addr, OWS, "ElectronicMailAddress", node.email)
    _e(sc, OWS, "Role", "pointOfContact")
    om = _e(root, OWS, "OperationsMetadata")
    for op in OPERATIONS:
        o = _e(om, OWS, "Operation", name=op)
        http = _e(_e(o, OWS, "DCP"), OWS, "HTTP")
        _e(http, OWS, "Get", xlink__href=url + "?")
        post = _e(http, OWS, "Post", xlink__href=url)
        c = _e(post, OWS, "Constraint", name="PostEncoding")
        _e(c, OWS, "Value", "XML")
        if op in ("GetRecords", "GetRecordById"):
            p = _e(o, OWS, "Parameter", name="outputSchema")
            for s in SCHEMAS:
                _e(p, OWS, "Value", s)
            p = _e(o, OWS, "Parameter", name="ElementSetName")
            for s in ELEMENT_SETS:
                _e(p, OWS, "Value", s)
        if op == "GetRecords":
            p = _e(o, OWS, "Parameter", name="typeNames")
            for s in ("csw:Record", "gmd:MD_Metadata"):
                _e(p, OWS, "Value", s)
            p = _e(o, OWS, "Parameter", name="resultType")
            for s in ("hits", "results", "validate"):
                _e(p, OWS, "Value", s)
            p = _e(o, OWS, "Parameter", name="CONSTRAINTLANGUAGE")
            for s in ("FILTER", "CQL_TEXT"):
                _e(p, OWS, "Value", s)
            c = _e(o, OWS, "Constraint", name="SupportedISOQueryables")
            for q in ("apiso:AnyText", "apiso:Title", "apiso:Abstract", "apiso:Subject", "apiso:TopicCategory",
                      "apiso:OrganisationName", "apiso:Modified", "apiso:RevisionDate", "apiso:CreationDate",
                      "apiso:Type", "apiso:Identifier", "apiso:BoundingBox"):
                _e(c, OWS, "Value", q)
        if op == "DescribeRecord":
            p = _e(o, OWS, "Parameter", name="typeName")
            _e(p, OWS, "Value", "csw:Record")
    for name, value in (("service", "CSW"), ("version", "2.0.2")):
        p = _e(om, OWS, "Parameter", name=name)
        _e(p, OWS, "Value", value)
    c = _e(om, OWS, "Constraint", name="MaxRecordDefault")
    _e(c, OWS, "Value", "10")
    c = _e(om, OWS, "Constraint", name="KodeSimpul")
    _e(c, OWS, "Value", node.kode_simpul)
    fc = _e(root, OGC, "Filter_Capabilities")
    spc = _e(fc, OGC, "Spatial_Capabilities")
    _e(_e(spc, OGC, "GeometryOperands"), OGC, "GeometryOperand", "gml:Envelope")
    sops = _e(spc, OGC, "SpatialOperators")
    for n in ("BBOX", "Intersects", "Within", "Contains", "Disjoint"):
        _e(sops, OGC, "SpatialOperator", name=n)
    sc2 = _e(fc, OGC, "Scalar_Capabilities")
    _e(sc2, OGC, "LogicalOperators")
    cops = _e(sc2, OGC, "ComparisonOperators")
    for n in ("EqualTo", "NotEqualTo", "LessThan", "GreaterThan", "LessThanEqualTo", "GreaterThanEqualTo",
              "Like", "Between", "NullCheck"):
        _e(cops, OGC, "ComparisonOperator", n)
    _e(_e(fc, OGC, "Id_Capabilities"), OGC, "EID")
    return _xml(root)


def describe_record() -> bytes:
    """DescribeRecord: where the csw:Record schema lives (the OGC's own XSD)."""
    root = etree.Element(f"{{{CSW}}}DescribeRecordResponse", nsmap={"csw": CSW, "xsi": XSI})
    sc = _e(root, CSW, "SchemaComponent", targetNamespace=CSW, schemaLanguage="http://www.w3.org/XML/Schema")
    xs = etree.SubElement(sc, "{http://www.w3.org/2001/XMLSchema}schema", nsmap={"xs": "http://www.w3.org/2001/XMLSchema"})
    etree.SubElement(xs, "{http://www.w3.org/2001/XMLSchema}import", namespace=CSW,
                     schemaLocation="http://schemas.opengis.net/csw/2.0.2/record.xsd")
    return _xml(root)


def dc_record(facts: md.Facts, ident: str, element_set: str, links: dict[str, dict[str, Any]]) -> etree._Element:
    """The csw:Record (Dublin Core) / BriefRecord / SummaryRecord of a record."""
    tag = {"brief": "BriefRecord", "summary": "SummaryRecord", "full": "Record"}[element_set]
    rec = etree.Element(f"{{{CSW}}}{tag}", nsmap={"csw": CSW, "dc": DC, "dct": DCT, "ows": OWS})
    _e(rec, DC, "identifier", ident)
    _e(rec, DC, "title", facts.title)
    _e(rec, DC, "type", "dataset")
    if element_set != "brief":
        for word in [facts.kugi, *facts.keywords, *md.PLACES]:
            if word:
                _e(rec, DC, "subject", word)
        if facts.topic:
            _e(rec, DC, "subject", facts.topic)
        for fmt in ("GeoPackage", "ESRI Shapefile", "GeoJSON", "CSV", "KML"):
            _e(rec, DC, "format", fmt)
        _e(rec, DCT, "modified", facts.revised[:10])
        _e(rec, DCT, "abstract", facts.abstract)
    if element_set == "full":
        _e(rec, DC, "creator", facts.opd)
        _e(rec, DC, "publisher", facts.opd)
        _e(rec, DC, "language", "ind")
        _e(rec, DC, "rights", f"{facts.licence}. {facts.attribution}".strip(". "))
        if facts.created:
            _e(rec, DCT, "created", facts.created)
        _e(rec, DC, "source", facts.lineage)
        for link in links.values():
            _e(rec, DCT, "references", link["url"], scheme=link["type"])
    if facts.bbox:
        x0, y0, x1, y1 = facts.bbox
        bb = _e(rec, OWS, "BoundingBox", crs="urn:x-ogc:def:crs:EPSG:6.11:4326", dimensions="2")
        _e(bb, OWS, "LowerCorner", f"{y0} {x0}")
        _e(bb, OWS, "UpperCorner", f"{y1} {x1}")
    return rec


def records_response(req: Request, matched: int, records: list[etree._Element], timestamp: str) -> bytes:
    """GetRecordsResponse with SearchStatus and SearchResults (paging by nextRecord)."""
    root = etree.Element(f"{{{CSW}}}GetRecordsResponse", nsmap={k: NSMAP[k] for k in ("csw", "dc", "dct", "ows",
                                                                                        "xsi", "gmd")},
                         version="2.0.2")
    root.set(f"{{{XSI}}}schemaLocation", f"{CSW} http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd")
    _e(root, CSW, "SearchStatus", timestamp=timestamp)
    returned = len(records)
    nxt = req.start + returned if req.start + returned <= matched and returned else 0
    res = _e(root, CSW, "SearchResults", numberOfRecordsMatched=str(matched), numberOfRecordsReturned=str(returned),
             nextRecord=str(nxt), recordSchema=req.output_schema, elementSet=req.element_set)
    for r in records:
        res.append(r)
    return _xml(root)


def record_by_id_response(records: list[etree._Element]) -> bytes:
    """GetRecordByIdResponse."""
    root = etree.Element(f"{{{CSW}}}GetRecordByIdResponse", nsmap={"csw": CSW})
    for r in records:
        root.append(r)
    return _xml(root)


def acknowledgement(timestamp: str) -> bytes:
    """resultType=validate: the request is valid (CSW 2.0.2 Acknowledgement)."""
    root = etree.Element(f"{{{CSW}}}Acknowledgement", nsmap={"csw": CSW}, timeStamp=timestamp)
    _e(root, CSW, "EchoedRequest")
    return _xml(root)
