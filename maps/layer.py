"""The Layer map: any published (or bundled) collection from the catalog, drawn as GeoJSON, with attribution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
import psycopg
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from psycopg import sql

from geo_api.errors import NotFound
from layers.ows.web import web_style
from maps.base import PALETTE, BaseData, HtmlBox, MapOptions, base_map, esc, finish, js_value, legend_html
from sql import query

MAX_FEATURES = 20_000  # beyond this a page gets slow; the note points to /ogc for the rest
MAX_POPUP_FIELDS = 12


@dataclass
class LayerData:
    """One collection's features and catalog facts (title, attribution, licence, OPD)."""

    id: str
    title: str
    description: str
    attribution: str
    licence: str
    opd: str | None
    features: list[dict[str, Any]]
    truncated: bool
    tiles_url: str | None = None  # set: draw from the OGC API vector tiles instead of the GeoJSON above
    geometry_type: str = "GEOMETRY"
    style: dict | None = None  # the layer's uploaded SLD style as Leaflet options (layers/ows/web.py), if any


async def load_layer(conn: psycopg.AsyncConnection, collection: Any, *, tiles_url: str | None = None,
                     force_tiles: bool = False) -> LayerData:
    """A catalog collection's features (at most MAX_FEATURES; identifiers from the catalog), or, when there are
    more (or force_tiles) and a tiles URL is given, none: the page then draws the collection's vector tiles."""
    if not collection.has_geometry:
        raise NotFound(f"Collection {collection.id!r} has no geometry to map", extra={"parameter": "collection_id"})
    rows: list[dict[str, Any]] = []
    if not (force_tiles and tiles_url):
        stmt = sql.SQL(query("maps_layer_features")).format(table=collection.table,
                                                            pk=sql.Identifier(collection.pk))
        async with conn.cursor() as cur:
            await cur.execute(stmt, {"limit": MAX_FEATURES + 1})
            rows = await cur.fetchall()
    use_tiles = bool(tiles_url) and (force_tiles or len(rows) > MAX_FEATURES)
    return LayerData(id=collection.id, title=collection.title, description=collection.description,
                     attribution=collection.attribution, licence=collection.licence, opd=collection.opd,
                     features=[] if use_tiles else rows[:MAX_FEATURES], truncated=len(rows) > MAX_FEATURES,
                     tiles_url=tiles_url if use_tiles else None,
                     geometry_type=(getattr(collection, "geometry_type", None) or "GEOMETRY").upper(),
                     style=await web_style(conn, collection.id))


class VectorTiles(JSCSSMixin, MacroElement):
    """The collection from /ogc vector tiles (Leaflet.VectorGrid, vendored), popups built by SP.vectorTiles."""

    _template = Template("""{% macro script(this, kwargs) %}
        SP.vectorTiles({{ this._parent.get_name() }}, {{ this.config }});
    {% endmacro %}""")
    default_js = [("vectorGrid", "local:vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js")]

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self._name = "VectorTiles"
        self.config = js_value(config)


def _geojson(layer: LayerData) -> tuple[dict, list[str]]:
    fields: list[str] = []
    feats = []
    for r in layer.features:
        props = {k: esc(v) for k, v in (r["props"] or {}).items()}
        for k in props:
            if k not in fields and len(fields) < MAX_POPUP_FIELDS:
                fields.append(k)
        feats.append({"type": "Feature", "id": r["id"], "geometry": json.loads(r["geometry"]),
                      "properties": props})
    for f in feats:  # GeoJsonPopup wants every field on every feature
        for k in fields:
            f["properties"].setdefault(k, "")
    return {"type": "FeatureCollection", "features": feats}, fields


def build_layer_map(base: BaseData, layer: LayerData, opts: MapOptions) -> str:
    """The page for one collection: its features over the city's boundaries, a legend and its attribution."""
    path = (layer.style or {}).get("path") or {}
    colour = path.get("fillColor") or path.get("color") or PALETTE[sum(map(ord, layer.id)) % len(PALETTE)]
    count = "vector tiles" if layer.tiles_url else f"{len(layer.features):,} fitur".replace(",", ".")
    m = base_map(base, opts, title=f"Lapisan: {layer.title}",
                 subtitle=count + (f" · OPD {layer.opd}" if layer.opd else ""),
                 links=[("/peta", "Daftar peta")] if opts.api_base else [])
    if layer.tiles_url:
        fill = "LINE" not in layer.geometry_type  # lines must not be filled: Leaflet would close them
        m.add_child(VectorTiles({"url": layer.tiles_url, "layer": layer.id, "colour": colour, "fill": fill,
                                 "maxNativeZoom": 22}))
    else:
        _add_geojson(m, layer, colour)
    notes = [layer.description] if layer.description else []
    if layer.style:
        notes.append(f"Gaya dari SLD OPD: {layer.style['title']} (sama dengan WMS /ows).")
    if layer.licence:
        notes.append(f"Lisensi: {layer.licence}")
    if layer.tiles_url:
        notes.append("Digambar dari vector tiles /ogc (semua fitur); klik fitur untuk atributnya.")
    elif layer.truncated:
        notes.append(f"Hanya {MAX_FEATURES:,} fitur pertama yang ditampilkan; data lengkap di /ogc.".replace(",", "."))
    m.get_root().html.add_child(HtmlBox(legend_html("Legenda", [(colour, layer.title)], notes)))
    return finish(m, base, opts, extra_attribution=[layer.attribution])


def _add_geojson(m: folium.Map, layer: LayerData, colour: str) -> None:
    fc, fields = _geojson(layer)
    popup = folium.GeoJsonPopup(fields, aliases=[esc(f) for f in fields], max_width=360) if fields else None
    path = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35}
    marker = {"radius": 5, "weight": 1, "color": "#ffffff", "fill": True, "fill_color": colour, "fill_opacity": 0.9}
    if layer.style:  # the uploaded SLD's first rule, as the WMS draws it
        own = {k: v for k, v in layer.style["path"].items() if k != "radius"}
        path = {**path, **own}
        marker = {**marker, "radius": layer.style["path"].get("radius", 5), "weight": own.get("weight", 1),
                  "color": own.get("color", "#ffffff"), "fill_color": own.get("fillColor", colour),
                  "fill_opacity": own.get("fillOpacity", 0.9)}
    folium.GeoJson(
        fc, name=esc(layer.title), popup=popup, marker=folium.CircleMarker(**marker),
        style_function=lambda _: path,
    ).add_to(m)
