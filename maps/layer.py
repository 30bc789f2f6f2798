"""The Layer map: any published (or bundled) collection from the catalog, drawn as GeoJSON, with attribution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
import psycopg
from psycopg import sql

from maps.base import PALETTE, BaseData, HtmlBox, MapOptions, base_map, esc, finish, legend_html
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


async def load_layer(conn: psycopg.AsyncConnection, collection: Any) -> LayerData:
    """Read a catalog collection's features (at most MAX_FEATURES) with identifiers from the catalog."""
    stmt = sql.SQL(query("maps_layer_features")).format(table=collection.table, pk=sql.Identifier(collection.pk))
    async with conn.cursor() as cur:
        await cur.execute(stmt, {"limit": MAX_FEATURES + 1})
        rows = await cur.fetchall()
    return LayerData(id=collection.id, title=collection.title, description=collection.description,
                     attribution=collection.attribution, licence=collection.licence, opd=collection.opd,
                     features=rows[:MAX_FEATURES], truncated=len(rows) > MAX_FEATURES)


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
    colour = PALETTE[sum(map(ord, layer.id)) % len(PALETTE)]
    m = base_map(base, opts, title=f"Lapisan: {layer.title}",
                 subtitle=f"{len(layer.features):,} fitur".replace(",", ".") + (f" · OPD {layer.opd}" if layer.opd
                                                                                   else ""),
                 links=[("/peta", "Daftar peta")] if opts.api_base else [])
    fc, fields = _geojson(layer)
    popup = folium.GeoJsonPopup(fields, aliases=[esc(f) for f in fields], max_width=360) if fields else None
    folium.GeoJson(
        fc, name=esc(layer.title), popup=popup,
        marker=folium.CircleMarker(radius=5, weight=1, color="#ffffff", fill=True, fill_color=colour,
                                   fill_opacity=0.9),
        style_function=lambda _: {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35},
    ).add_to(m)
    notes = [layer.description] if layer.description else []
    if layer.licence:
        notes.append(f"Lisensi: {layer.licence}")
    if layer.truncated:
        notes.append(f"Hanya {MAX_FEATURES:,} fitur pertama yang ditampilkan; data lengkap di /ogc.".replace(",", "."))
    m.get_root().html.add_child(HtmlBox(legend_html("Legenda", [(colour, layer.title)], notes)))
    return finish(m, base, opts, extra_attribution=[layer.attribution])
