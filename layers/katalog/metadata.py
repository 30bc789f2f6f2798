"""One SNI 8843-1 metadata record per layer version: its facts, their validation, and the pygeometa MCF that ISO
19139, OGC API - Records JSON and the CSW Dublin Core record are all generated from."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

import yaml
from lxml import etree
from pygeometa.schemas.iso19139 import ISO19139OutputSchema
from pygeometa.schemas.ogcapi_records import OGCAPIRecordOutputSchema

from geo_api.errors import InvalidParameter
from layers.katalog import xmlsafe

# ISO 19115 MD_TopicCategoryCode
TOPICS = ("farming", "biota", "boundaries", "climatologyMeteorologyAtmosphere", "economy", "elevation",
          "environment", "geoscientificInformation", "health", "imageryBaseMapsEarthCover",
          "intelligenceMilitary", "inlandWaters", "location", "oceans", "planningCadastre", "society",
          "structure", "transportation", "utilitiesCommunication")
# ISO 19115 MD_MaintenanceFrequencyCode
FREQUENCIES = ("continual", "daily", "weekly", "fortnightly", "monthly", "quarterly", "biannually", "annually",
               "asNeeded", "irregular", "notPlanned", "unknown")
PLACES = ("Kota Tangerang", "Banten", "Indonesia")
GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
NS = {"gmd": GMD, "gco": GCO}
_ID = "gmd:identificationInfo/gmd:MD_DataIdentification"
# element -> ISO 19139 path: what a 422 or `katalog validate` names
PATHS = {
    "title": f"{_ID}/gmd:citation/gmd:CI_Citation/gmd:title",
    "abstract": f"{_ID}/gmd:abstract",
    "purpose": f"{_ID}/gmd:purpose",
    "topic": f"{_ID}/gmd:topicCategory",
    "kugi": f"{_ID}/gmd:descriptiveKeywords[KUGI]/gmd:MD_Keywords/gmd:keyword",
    "opd": f"{_ID}/gmd:pointOfContact/gmd:CI_ResponsibleParty/gmd:organisationName",
    "created": f"{_ID}/gmd:citation/gmd:CI_Citation/gmd:date[creation]",
    "bbox": f"{_ID}/gmd:extent/gmd:EX_Extent/gmd:geographicElement/gmd:EX_GeographicBoundingBox",
    "scale": f"{_ID}/gmd:spatialResolution/gmd:MD_Resolution/gmd:equivalentScale",
    "lineage": "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/gmd:statement",
    "licence": f"{_ID}/gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:otherConstraints",
    "attribution": f"{_ID}/gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:useLimitation",
    "frequency": f"{_ID}/gmd:resourceMaintenance/gmd:MD_MaintenanceInformation/gmd:maintenanceAndUpdateFrequency",
    "contact_email": f"{_ID}/gmd:pointOfContact/gmd:CI_ResponsibleParty/gmd:contactInfo//gmd:electronicMailAddress",
}
REQUIRED = ("title", "abstract", "purpose", "topic", "kugi", "opd", "created", "bbox", "scale", "lineage",
            "licence", "attribution", "frequency")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
_GEOMTYPE = {"MultiPolygon": "surface", "Polygon": "surface", "MultiLineString": "curve", "LineString": "curve",
             "MultiPoint": "point", "Point": "point"}


class MetadataInvalid(ValueError):
    """Metadata with missing or invalid elements: `problems` is a list of (element path, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems

    def problem(self) -> InvalidParameter:
        """The 422 problem: every element path and what is wrong with it; nothing was written."""
        return InvalidParameter("metadata", f"the metadata is not acceptable, nothing written: {self}"[:2000],
                                extra={"errors": [{"element": p, "message": m} for p, m in self.problems]})


def check_form(given: dict[str, Any]) -> dict[str, Any]:
    """Metadata elements given as form fields at publish time, checked (422 naming each) and normalised."""
    problems = check_values(given)
    if problems:
        raise MetadataInvalid(problems).problem()
    return normalise(given)


@cache
def kugi_codes() -> dict[str, str]:
    """The KUGI feature-type code list (code -> name) bundled with the node."""
    text = resources.files("layers.katalog").joinpath("kugi.yaml").read_text(encoding="utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(text).items()}


@cache
def bundled_facts() -> dict[str, dict[str, Any]]:
    """Per bundled layer: KUGI code, topic, keywords, purpose, frequency (layers/katalog/bundled.yaml)."""
    return yaml.safe_load(resources.files("layers.katalog").joinpath("bundled.yaml").read_text(encoding="utf-8"))


@dataclass
class Facts:
    """Everything a record says about one layer version; the MCF is built from this and nothing else."""

    collection_id: str
    kind: str
    version: int
    title: str = ""
    abstract: str = ""
    purpose: str = ""
    topic: str = ""
    kugi: str = ""
    keywords: list[str] = field(default_factory=list)
    opd: str = ""
    contact_email: str = ""
    created: str = ""  # ISO date
    published: str = ""  # ISO instant
    revised: str = ""  # ISO instant
    bbox: list[float] | None = None
    geometry_type: str | None = None
    feature_count: int = 0
    scale: int | None = None
    lineage: str = ""
    licence: str = ""
    licence_url: str = ""
    attribution: str = ""
    frequency: str = ""

    def missing(self) -> list[tuple[str, str]]:
        """Required SNI 8843-1 elements this record lacks, as (element path, message)."""
        out = []
        for name in REQUIRED:
            value = getattr(self, name)
            if name == "bbox" and value is None and self.geometry_type is None:
                continue  # a table without geometry has no geographic extent to give
            if value in (None, "", []):
                out.append((PATHS[name], f"{name} is required"))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Facts:
        """Facts from their stored form (unknown keys ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        return asdict(self)


# ---------------------------------------------------------------- input: form fields, ISO 19139, MCF

_TEXT_LIMITS = {"title": 300, "abstract": 4000, "purpose": 2000, "lineage": 4000, "licence": 300,
                "attribution": 1000, "opd": 300}


def check_values(given: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with the values given (unknown KUGI or topic codes, bad scale, e-mail, lengths)."""
    problems = []
    if given.get("kugi") and given["kugi"] not in kugi_codes():
        problems.append((PATHS["kugi"], f"unknown KUGI code {str(given['kugi'])[:60]!r}; see /katalog/kugi"))
    if given.get("topic") and given["topic"] not in TOPICS:
        problems.append((PATHS["topic"], f"unknown ISO topic category {str(given['topic'])[:60]!r}"))
    if given.get("frequency") and given["frequency"] not in FREQUENCIES:
        problems.append((PATHS["frequency"], f"unknown maintenance frequency {str(given['frequency'])[:40]!r}"))
    scale = given.get("scale")
    if scale not in (None, ""):
        try:
            ok = 100 <= int(scale) <= 100_000_000
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append((PATHS["scale"], "scale must be a denominator between 100 and 100000000"))
    if given.get("contact_email") and not _EMAIL.match(str(given["contact_email"])):
        problems.append((PATHS["contact_email"], "not an e-mail address"))
    if given.get("created"):
        try:
            d = date.fromisoformat(str(given["created"])[:10])
            if not 1900 <= d.year <= 2199:
                raise ValueError
        except ValueError:
            problems.append((PATHS["created"], "created must be a date YYYY-MM-DD between 1900 and 2199"))
    for name, limit in _TEXT_LIMITS.items():
        if len(str(given.get(name) or "")) > limit:
            problems.append((PATHS[name], f"{name} is longer than {limit} characters"))
    kws = given.get("keywords") or []
    if not isinstance(kws, list) or len(kws) > 50 or any(not isinstance(k, str) or len(k) > 100 for k in kws):
        problems.append((f"{_ID}/gmd:descriptiveKeywords", "keywords: at most 50, each at most 100 characters"))
    return problems


def normalise(given: dict[str, Any]) -> dict[str, Any]:
    """Given values with blanks dropped and types settled (after check_values passed)."""
    out: dict[str, Any] = {}
    for k, v in given.items():
        if v is None or v == "" or v == []:
            continue
        if k == "scale":
            v = int(v)
        elif k == "created":
            v = str(v)[:10]
        elif isinstance(v, str):
            v = v.strip()
        out[k] = v
    return out


def _text(root: etree._Element, path: str) -> str:
    found = root.xpath(f"{path}//gco:CharacterString/text() | {path}//*[local-name()='Anchor']/text()",
                       namespaces=NS)
    return " ".join(str(t).strip() for t in found if str(t).strip())


def from_iso19139(data: bytes) -> dict[str, Any]:
    """The elements an uploaded ISO 19139 document gives (parsed with the hardened parser); 422 if unsafe."""
    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXml as exc:
        raise MetadataInvalid([("/", str(exc))]) from None
    if etree.QName(root).namespace != GMD or etree.QName(root).localname != "MD_Metadata":
        raise MetadataInvalid([("/gmd:MD_Metadata", "the document's root must be gmd:MD_Metadata")])
    ident = root.find(f"{{{GMD}}}identificationInfo/{{{GMD}}}MD_DataIdentification")
    if ident is None:
        raise MetadataInvalid([(_ID, "gmd:MD_DataIdentification is required")])
    cite = "gmd:citation/gmd:CI_Citation"
    keywords = [str(k).strip() for k in ident.xpath(
        "gmd:descriptiveKeywords/gmd:MD_Keywords/gmd:keyword/gco:CharacterString/text()", namespaces=NS)]
    kugi = next((k for k in keywords if k in kugi_codes()), "")
    unknown_upper = [k for k in keywords if re.fullmatch(r"[A-Z]+_(AR|LN|PT|NT)", k) and k not in kugi_codes()]
    given: dict[str, Any] = {
        "title": _text(ident, f"{cite}/gmd:title"),
        "abstract": _text(ident, "gmd:abstract"),
        "purpose": _text(ident, "gmd:purpose"),
        "topic": " ".join(ident.xpath("gmd:topicCategory/gmd:MD_TopicCategoryCode/text()", namespaces=NS)).strip(),
        "kugi": kugi or (unknown_upper[0] if unknown_upper else ""),
        "keywords": [k for k in keywords if k != kugi and k not in PLACES][:50],
        "opd": _text(ident, "gmd:pointOfContact/gmd:CI_ResponsibleParty/gmd:organisationName"),
        "contact_email": _text(ident, "gmd:pointOfContact//gmd:electronicMailAddress"),
        "lineage": _text(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/gmd:statement"),
        "licence": _text(ident, "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:otherConstraints"),
        "attribution": _text(ident, "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:useLimitation"),
        "frequency": " ".join(ident.xpath("gmd:resourceMaintenance//gmd:MD_MaintenanceFrequencyCode/@codeListValue",
                                          namespaces=NS)).strip(),
        "scale": " ".join(ident.xpath("gmd:spatialResolution//gmd:denominator/gco:Integer/text()",
                                      namespaces=NS)).strip(),
        "created": " ".join(ident.xpath(
            f"{cite}/gmd:date/gmd:CI_Date[gmd:dateType/gmd:CI_DateTypeCode/@codeListValue='creation']"
            "/gmd:date/*/text()", namespaces=NS)).strip()[:10],
    }
    return given


_MCF_KEYS = {("identification", "title"): "title", ("identification", "abstract"): "abstract",
             ("identification", "purpose"): "purpose", ("identification", "maintenancefrequency"): "frequency",
             ("identification", "rights"): "attribution", ("dataquality", "lineage"): "lineage"}


def from_mcf(data: bytes) -> dict[str, Any]:
    """The elements an uploaded pygeometa MCF (YAML) gives; never pygeometa's reader (it expands ${ENV} and reads
    base_mcf files)."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MetadataInvalid([("/", f"the MCF is not valid UTF-8 YAML: {str(exc)[:120]}")]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("identification"), dict):
        raise MetadataInvalid([("identification", "an MCF document with an identification section is required")])
    ident = doc["identification"]

    def s(v: Any) -> str:
        if isinstance(v, dict):  # multilingual: {ind: ..., en: ...}
            v = v.get("ind") or v.get("id") or next(iter(v.values()), "")
        return str(v).strip() if v is not None else ""

    kws: list[str] = []
    kugi = ""
    for group in (ident.get("keywords") or {}).values():
        if isinstance(group, dict):
            words = group.get("keywords")
            words = words.get("ind") or words.get("en") if isinstance(words, dict) else words
            for w in words or []:
                w = s(w)
                if (group.get("vocabulary") or {}).get("name", "").upper().startswith("KUGI"):
                    kugi = kugi or w
                elif w not in PLACES:
                    kws.append(w)
    topic = ident.get("topiccategory")
    lic = ident.get("license") if isinstance(ident.get("license"), dict) else {}
    lineage = (doc.get("dataquality") or {}).get("lineage") if isinstance(doc.get("dataquality"), dict) else None
    contact = (doc.get("contact") or {}).get("pointOfContact") if isinstance(doc.get("contact"), dict) else None
    dates = ident.get("dates") if isinstance(ident.get("dates"), dict) else {}
    return {
        "title": s(ident.get("title")), "abstract": s(ident.get("abstract")), "purpose": s(ident.get("purpose")),
        "topic": s(topic[0] if isinstance(topic, list) and topic else topic or ""),
        "kugi": kugi, "keywords": kws[:50],
        "opd": s((contact or {}).get("organization")) if isinstance(contact, dict) else "",
        "contact_email": s((contact or {}).get("email")) if isinstance(contact, dict) else "",
        "lineage": s(lineage.get("statement")) if isinstance(lineage, dict) else "",
        "licence": s(lic.get("name")), "licence_url": s(lic.get("url")),
        "attribution": s(ident.get("rights")), "frequency": s(ident.get("maintenancefrequency")),
        "scale": s((doc.get("spatial") or {}).get("scale")) if isinstance(doc.get("spatial"), dict) else "",
        "created": s(dates.get("creation"))[:10],
    }


def parse_document(data: bytes, content_type: str) -> dict[str, Any]:
    """An uploaded metadata document (ISO 19139 XML or MCF YAML, told apart by type or first byte), checked."""
    head = data.lstrip()[:1]
    if "xml" in content_type or head == b"<":
        given = from_iso19139(data)
    else:
        given = from_mcf(data)
    problems = check_values(given)
    if problems:
        raise MetadataInvalid(problems)
    given = normalise(given)
    missing = [(PATHS[n], f"{n} is required") for n in REQUIRED if n not in given and n not in ("bbox", "created")]
    if missing:
        raise MetadataInvalid(missing)
    return given


# ---------------------------------------------------------------- node identity and links

@dataclass(frozen=True)
class Node:
    """Who runs this catalogue (settings): Kode Simpul, contact, public base URL."""

    kode_simpul: str
    name: str
    organisation: str
    email: str
    phone: str
    city: str = "Kota Tangerang"
    province: str = "Banten"

    @classmethod
    def from_settings(cls, settings: Any) -> Node:
        """The node as configured."""
        return cls(settings.katalog_kode_simpul, settings.katalog_node_name, settings.katalog_contact_org,
                   settings.katalog_contact_email, settings.katalog_contact_phone)

    def identifier(self, collection_id: str) -> str:
        """The record's identifier: stable across versions, unique across the national network."""
        return f"{self.kode_simpul}:{collection_id}"


DOWNLOADS = {"gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
             "zip": ("ESRI Shapefile (zip)", "application/zip"),
             "geojson": ("GeoJSON", "application/geo+json"),
             "csv": ("CSV", "text/csv"), "kml": ("KML", "application/vnd.google-earth.kml+xml")}


def links(facts: Facts, base: str, ows: bool) -> dict[str, dict[str, Any]]:
    """Every service and download of the layer, as MCF distribution entries (absolute URLs under `base`)."""
    cid = facts.collection_id
    out: dict[str, dict[str, Any]] = {
        "ogcapi": {"url": f"{base}/ogc/collections/{cid}", "type": "OGC:API-Features", "name": cid,
                   "description": "OGC API - Features", "function": "information", "rel": "collection",
                   "format": "application/json"},
        "portal": {"url": f"{base}/peta/katalog/{cid}", "type": "WWW:LINK", "name": cid,
                   "description": "Halaman geoportal", "function": "information", "rel": "describedby",
                   "format": "text/html"},
        "csw": {"url": f"{base}/csw?service=CSW&version=2.0.2&request=GetRecordById&id={{identifier}}"
                       "&outputSchema=http://www.isotc211.org/2005/gmd&elementSetName=full",
                "type": "OGC:CSW", "name": cid, "description": "Rekaman metadata ISO 19139 (CSW)",
                "function": "information", "rel": "alternate", "format": "application/xml"},
    }
    if facts.geometry_type:
        out["tiles"] = {"url": f"{base}/ogc/collections/{cid}/tiles/WebMercatorQuad/tilejson.json",
                        "type": "OGC:API-Tiles", "name": cid, "description": "Vector tiles (TileJSON)",
                        "function": "browsing", "rel": "tiles", "format": "application/json"}
        if ows:
            out["wms"] = {"url": f"{base}/ows?service=WMS&request=GetCapabilities", "type": "OGC:WMS", "name": cid,
                          "description": "WMS 1.3.0", "function": "browsing", "rel": "service",
                          "format": "application/xml"}
            out["wfs"] = {"url": f"{base}/ows?service=WFS&request=GetCapabilities", "type": "OGC:WFS", "name": cid,
                          "description": "WFS 2.0", "function": "download", "rel": "service",
                          "format": "application/xml"}
    for ext, (label, mime) in DOWNLOADS.items():
        if ext in ("zip", "kml") and not facts.geometry_type:
            continue
        out[f"unduh_{ext}"] = {"url": f"{base}/unduh/{cid}.{ext}", "type": "WWW:DOWNLOAD-1.0-http--download",
                               "name": f"{cid}.{ext}", "description": f"Unduh {label}", "function": "download",
                               "rel": "enclosure", "format": mime}
    return out


# ---------------------------------------------------------------- MCF and its renderings

def mcf(facts: Facts, node: Node, base: str, ows: bool = False) -> dict[str, Any]:
    """The pygeometa MCF of the record, with every link absolute under `base`."""
    ident = node.identifier(facts.collection_id)
    dist = links(facts, base, ows)
    for entry in dist.values():
        entry["url"] = entry["url"].replace("{identifier}", ident)
    kugi_name = kugi_codes().get(facts.kugi, "")
    keywords: dict[str, Any] = {
        "tema": {"keywords": {"ind": facts.keywords or [facts.title]}, "keywords_type": "theme"},
        "tempat": {"keywords": {"ind": list(PLACES)}, "keywords_type": "place"},
    }
    if facts.kugi:
        keywords["kugi"] = {"keywords": {"ind": [facts.kugi, kugi_name] if kugi_name else [facts.kugi]},
                            "keywords_type": "theme",
                            "vocabulary": {"name": "KUGI - Katalog Unsur Geografi Indonesia (BIG)"}}
    dates = {k: v for k, v in (("creation", facts.created), ("publication", facts.published),
                               ("revision", facts.revised)) if v}
    bbox = facts.bbox or [106.55, -6.30, 106.75, -6.10]  # inapplicable for tables; the city, as a place hint
    contact = {"organization": facts.opd or node.organisation, "email": facts.contact_email or node.email,
               "city": node.city, "administrativearea": node.province, "country": "Indonesia",
               "url": f"{base}/peta/katalog"}
    meta_contact = {"organization": node.organisation, "positionname": f"Simpul Jaringan {node.kode_simpul}",
                    "email": node.email, "phone": node.phone, "city": node.city,
                    "administrativearea": node.province, "country": "Indonesia", "url": f"{base}/csw"}
    return {
        "mcf": {"version": "1.0"},
        "metadata": {"identifier": ident, "language": "ind", "charset": "utf8", "hierarchylevel": "dataset",
                     "datestamp": facts.revised or facts.published, "dataseturi": f"{base}/ogc/collections/"
                     f"{facts.collection_id}"},
        "spatial": {"datatype": "vector" if facts.geometry_type else "textTable",
                    "geomtype": _GEOMTYPE.get(facts.geometry_type or "", "complex")},
        "identification": {
            "language": "ind", "charset": "utf8", "title": {"ind": facts.title}, "abstract": {"ind": facts.abstract},
            "purpose": facts.purpose, "topiccategory": [facts.topic] if facts.topic else [],
            "keywords": keywords, "dates": dates,
            "extents": {"spatial": [{"bbox": bbox, "crs": 4326}], "temporal": []},
            "fees": "Tidak dipungut biaya", "accessconstraints": "otherRestrictions",
            "rights": {"ind": facts.attribution},
            "license": {"name": facts.licence, **({"url": facts.licence_url} if facts.licence_url else {})},
            "url": f"{base}/peta/katalog/{facts.collection_id}",
            "status": "onGoing" if facts.kind == "published" else "completed",
            "maintenancefrequency": facts.frequency or "unknown",
            "scale": facts.scale,
        },
        "contact": {"custodian": meta_contact, "pointOfContact": contact, "distributor": meta_contact},
        "distribution": dist,
        "dataquality": {"scope": {"level": "dataset"}, "lineage": {"statement": facts.lineage}},
        "satupeta": {"kode_simpul": node.kode_simpul, "kind": facts.kind, "version": facts.version,
                     "feature_count": facts.feature_count, "kugi_name": kugi_name},
    }


def _el(tag: str, text: str | None = None, ns: str = GMD) -> etree._Element:
    e = etree.Element(f"{{{ns}}}{tag}")
    if text is not None:
        e.text = text
    return e


def _after(parent: etree._Element, names: tuple[str, ...], new: etree._Element) -> None:
    """Insert `new` after the last child named in `names` (keeping ISO 19139's element order)."""
    last = None
    for child in parent:
        if etree.QName(child).localname in names:
            last = child
    if last is None:
        parent.insert(0, new)
    else:
        last.addnext(new)


def iso19139(record: dict[str, Any]) -> bytes:
    """The ISO 19139 document of an MCF, by pygeometa, plus what its template lacks (purpose, scale)."""
    xml = ISO19139OutputSchema().write(record)
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    ident = root.find(f"{{{GMD}}}identificationInfo/{{{GMD}}}MD_DataIdentification")
    ident_mcf = record["identification"]
    if ident is not None and ident_mcf.get("purpose"):
        p = _el("purpose")
        p.append(_el("CharacterString", ident_mcf["purpose"], GCO))
        _after(ident, ("abstract",), p)
    if ident is not None and ident_mcf.get("scale"):
        res = _el("spatialResolution")
        md = etree.SubElement(res, f"{{{GMD}}}MD_Resolution")
        eq = etree.SubElement(md, f"{{{GMD}}}equivalentScale")
        rf = etree.SubElement(eq, f"{{{GMD}}}MD_RepresentativeFraction")
        den = etree.SubElement(rf, f"{{{GMD}}}denominator")
        den.append(_el("Integer", str(int(ident_mcf["scale"])), GCO))
        _after(ident, ("spatialRepresentationType",), res)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def records_json(record: dict[str, Any]) -> dict[str, Any]:
    """The OGC API - Records item (GeoJSON) of an MCF, by pygeometa."""
    return OGCAPIRecordOutputSchema().write(record, stringify=False)


def now_iso() -> str:
    """The current instant in UTC as YYYY-MM-DDTHH:MM:SS (the form pygeometa reads in both schemas)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def instant(value: datetime) -> str:
    """A stored instant in the record's form (UTC, seconds)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
