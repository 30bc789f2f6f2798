"""The MapServer mapfile, generated from the catalog: one LAYER per collection with a geometry, named by its id.

Pure text generation: the platform stays the one place that knows what is published. The text holds the
database password and is handed to the workers through a pipe, never written to disk.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict

from layers.catalog import Collection
from layers.ows.styles import SYMBOLS, Style

# The CRSs every layer is offered in (the data is stored in EPSG:4326)
CRS_LIST = ("EPSG:4326", "EPSG:3857", "EPSG:32748", "CRS:84")
CITY_EXTENT = (106.55, -6.30, 106.75, -6.10)  # lon/lat, only for the map's initial extent
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE_COL = re.compile(r"^[^'\"\\\n\r]{1,63}$")


@dataclass(frozen=True)
class LayerEntry:
    """One collection as a map layer: its record, its styles (default first) and descriptive text."""

    collection: Collection
    styles: tuple[Style, ...]
    uploaded: tuple[Style, ...]  # uploaded SLD styles translated into CLASS blocks, newest first
    title: str
    abstract: str
    keywords: tuple[str, ...]

    @property
    def style_names(self) -> list[str]:
        """Every style a request may name for this layer ('default' is the layer's default)."""
        return [s.name for s in self.uploaded] + [s.name for s in self.styles]

    @property
    def default_style(self) -> str:
        """The newest uploaded style, else the cartographic one, else the standard one."""
        return self.uploaded[0].name if self.uploaded else self.styles[0].name


def _q(text: str) -> str:
    """A mapfile double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ") + '"'


def connection_string(dsn: str) -> str:
    """The libpq key=value form of the DSN (MapServer hands it to PQconnectdb)."""
    parts = []
    for k, v in conninfo_to_dict(dsn).items():
        if v is None or v == "":
            continue
        value = str(v).replace("\\", "\\\\").replace("'", "\\'")
        parts.append(f"{k}='{value}'")
    if not any(p.startswith("application_name=") for p in parts):
        parts.append("application_name='satupeta-ows'")
    if not any(p.startswith("options=") for p in parts):
        # no JIT: a WFS page deep into a large layer (OFFSET 50,000 on the primary-key index, ST_Intersects per
        # row) is costed past jit_above_cost and spent ~300 ms compiling for a 90 ms query (EXPLAIN ANALYZE)
        parts.append("options='-c jit=off'")
    return " ".join(parts)


def usable(c: Collection) -> bool:
    """Whether a collection can be a map layer (a geometry, and names MapServer can carry)."""
    return c.has_geometry and bool(_SAFE_NAME.match(c.id)) and all(_SAFE_COL.match(col.name) for col in c.columns)


def layer_type(geometry_type: str) -> str:
    """The MapServer layer TYPE of a geometry type."""
    g = geometry_type.upper()
    if "POLYGON" in g:
        return "POLYGON"
    if "LINE" in g:
        return "LINE"
    return "POINT"


def _data_all(c: Collection) -> str:
    """The PostGIS DATA of a WFS GetFeature with no BBOX, FILTER or id (every feature, in primary-key order): the
    !BOX! token stands in a constant condition, so MapServer adds no ST_Intersects of its own and LIMIT/OFFSET walk
    the primary-key index (30 ms instead of 90 ms for OFFSET 50,000 of 100,000 points in EXPLAIN ANALYZE). The
    worker pairs it with NATIVE_FILTER=true, else MapServer 8 writes an empty `WHERE  LIMIT` (worker.py)."""
    pk = c.pk if _SAFE_NAME.match(c.pk) else f'"{c.pk}"'
    table = f'"{c.schema}"."{c.relation}"'
    return (f'geom FROM (SELECT * FROM {table} WHERE !BOX! IS NOT NULL ORDER BY "{c.pk}") AS t USING UNIQUE {pk} '
            "USING SRID=4326")


def _data(c: Collection, *, wfs: bool) -> str:
    """The PostGIS DATA. For maps: `&&` on MapServer's !BOX! (its default spatial filter is ST_Intersects, ~10x
    slower on 40,000 multipoints and nothing gained for drawing: MapServer clips and hit-tests itself). For WFS
    GetFeature: MapServer's own ST_Intersects (a bbox query is an intersection; MapServer 8 also writes a broken
    `WHERE LIMIT` with !BOX! and a count) and a stable order, so paging (startIndex) visits each feature once."""
    pk = c.pk if _SAFE_NAME.match(c.pk) else f'"{c.pk}"'
    table = f'"{c.schema}"."{c.relation}"'
    inner = f'SELECT * FROM {table} ORDER BY "{c.pk}"' if wfs else f"SELECT * FROM {table} WHERE geom && !BOX!"
    return f"geom FROM ({inner}) AS t USING UNIQUE {pk} USING SRID=4326"


def _extent(c: Collection) -> str:
    e = c.extent or CITY_EXTENT
    if e[0] >= e[2] or e[1] >= e[3]:  # a single point: pad it so the extent is a box
        e = (e[0] - 0.001, e[1] - 0.001, e[2] + 0.001, e[3] + 0.001)
    return " ".join(f"{v:.7f}" for v in e)


def layer_block(entry: LayerEntry, conn: str) -> str:
    """One LAYER: PostGIS source, metadata for WMS/WFS, and every built-in style as a CLASS group."""
    c = entry.collection
    keywords = ",".join(k.replace(",", " ") for k in entry.keywords)
    meta = {
        "ows_title": entry.title, "ows_abstract": entry.abstract, "ows_keywordlist": keywords,
        "ows_extent": _extent(c), "ows_srs": " ".join(CRS_LIST), "ows_enable_request": "*",
        "gml_include_items": "all", "gml_featureid": c.pk, "gml_types": "auto", "gml_geometries": "geom",
        "gml_geom_type": layer_type(c.geometry_type or "").lower(),
        "wms_include_items": "all", "wfs_getfeature_formatlist": "geojson", "wms_attribution_title": c.attribution,
        "wfs_use_default_extent_for_getfeature": "false",
        "ows_metadataurl_href": "", "wms_abstract": entry.abstract,
        "satupeta_wfs_data": _data(c, wfs=True),  # the worker swaps it in for WFS GetFeature (worker.py)
        "satupeta_wfs_all_data": _data_all(c),  # ... and this one when the request selects no features
    }
    for s in (*entry.uploaded, *entry.styles):
        meta[f"wms_style_{s.name}_title"] = s.title
    metadata = " ".join(f"{_q(k)} {_q(v)}" for k, v in meta.items() if v != "")
    # every style of this layer is a class group of its own LAYER: STYLES= picks one, CLASSGROUP is the default
    classes = "\n".join(s.classes for s in (*entry.uploaded, *entry.styles))
    return f"""
  LAYER
    NAME {_q(c.id)}
    TYPE {layer_type(c.geometry_type or "")}
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION {_q(conn)}
    DATA '{_data(c, wfs=False)}'
    PROCESSING "CLOSE_CONNECTION=DEFER"
    EXTENT {_extent(c)}
    PROJECTION "init=epsg:4326" END
    METADATA {metadata} END
    TEMPLATE "tpl/{c.id}.html"
    TOLERANCE {6 if layer_type(c.geometry_type or "") != "POLYGON" else 0}
    TOLERANCEUNITS PIXELS
    CLASSGROUP {_q(entry.default_style)}
    LABELCACHE ON
{classes}
  END"""


def mapfile(entries: list[LayerEntry], dsn: str, *, max_size: int, fontset: str, title: str,
            symbols: tuple[str, ...] = ()) -> str:
    """The whole mapfile text for these layers (`symbols`: the mark symbols uploaded styles name)."""
    conn = connection_string(dsn)
    extra_symbols = "\n".join(f"  {s}" for s in dict.fromkeys(symbols))
    layers = "\n".join(layer_block(e, conn) for e in entries)
    return f"""MAP
  NAME "satupeta"
  EXTENT {" ".join(str(v) for v in CITY_EXTENT)}
  SIZE 512 512
  MAXSIZE {max_size}
  UNITS DD
  IMAGETYPE png
  IMAGECOLOR 255 255 255
  FONTSET {_q(fontset)}
  PROJECTION "init=epsg:4326" END
  CONFIG "ON_MISSING_DATA" "FAIL"
  CONFIG "CPL_VSIL_CURL_ALLOWED_EXTENSIONS" ".none"
  CONFIG "GDAL_HTTP_TIMEOUT" "1"
  CONFIG "PROJ_NETWORK" "OFF"
  # zlib level 4: the size of the default level 6 for these maps, encoded ~5x faster (1024x768 of dots: 60 ms)
  OUTPUTFORMAT NAME "png" DRIVER "AGG/PNG" MIMETYPE "image/png" IMAGEMODE RGBA EXTENSION "png"
    FORMATOPTION "GAMMA=0.75" FORMATOPTION "COMPRESSION=4" END
  OUTPUTFORMAT NAME "png8" DRIVER "AGG/PNG8" MIMETYPE "image/png; mode=8bit" IMAGEMODE RGB EXTENSION "png"
    FORMATOPTION "QUANTIZE_FORCE=on" FORMATOPTION "QUANTIZE_COLORS=256" END
  OUTPUTFORMAT NAME "jpeg" DRIVER "AGG/JPEG" MIMETYPE "image/jpeg" IMAGEMODE RGB EXTENSION "jpg" END
  OUTPUTFORMAT NAME "geojson" DRIVER "OGR/GEOJSON" MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream" FORMATOPTION "FORM=SIMPLE" FORMATOPTION "LCO:RFC7946=YES" END
  # GetFeatureInfo's JSON: no RFC7946 option, which MapServer 8 breaks for lon/lat requests (1.1.1 EPSG:4326,
  # CRS:84: it declares EPSG:4326 in lat/lon order and OGR swaps the coordinates out of range)
  OUTPUTFORMAT NAME "json" DRIVER "OGR/GEOJSON" MIMETYPE "application/json"
    FORMATOPTION "STORAGE=stream" FORMATOPTION "FORM=SIMPLE" END
{SYMBOLS}
{extra_symbols}
  LEGEND
    KEYSIZE 18 12
    LABEL TYPE TRUETYPE FONT "sans" SIZE 8 COLOR 30 30 30 END
    STATUS OFF
  END
  WEB
    METADATA
      "ows_title" {_q(title)}
      "ows_abstract" "Layanan peta WMS/WFS Satu Peta Kota Tangerang (data dari katalog platform)."
      "ows_srs" {_q(" ".join(CRS_LIST))}
      "wms_bbox_extended" "true"
      "wfs_srs" "EPSG:4326 EPSG:3857 EPSG:32748"
      "ows_enable_request" "*"
      "ows_encoding" "UTF-8"
      "ows_contactorganization" "Pemerintah Kota Tangerang"
      "wms_getfeatureinfo_formatlist" "text/html,application/json,application/vnd.ogc.gml,text/plain"
      "wms_feature_info_mime_type" "text/html"
      "wfs_getfeature_formatlist" "geojson"
      "wms_getmap_formatlist" "image/png,image/png; mode=8bit,image/jpeg"
      "wfs_maxfeatures" "10000"
      "ows_languages" "ind"
    END
  END
{layers}
END
"""


def map_key(entries: list[LayerEntry], styles_stamp: str) -> str:
    """A version key of the map: changes whenever a collection, its data or its styles change."""
    h = hashlib.sha256()
    for e in entries:
        h.update(f"{e.collection.id}|{e.collection.stamp}|{e.title}|{e.abstract}|{e.style_names}\n".encode())
    h.update(styles_stamp.encode())
    return h.hexdigest()[:24]

