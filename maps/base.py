"""The common base of every map: the city's boundaries with names and codes, legend, scale bar, attribution."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.assets import OWN_CSS, OWN_JS, localise

# Colours that stay apart for colour-blind readers too (Okabe-Ito, then Tol's muted), one per OPD.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#332288",
           "#882255", "#44AA99", "#999933", "#AA4499", "#117733", "#88CCEE", "#DDCC77", "#661100")
NO_COLOUR = "#7f7f7f"
LABEL_PANE = "sp-label"


def esc(value: Any) -> str:
    """HTML-escape anything (None becomes an empty string): every text from data goes through here."""
    return "" if value is None else html.escape(str(value), quote=True)


def js_value(value: Any) -> str:
    """A JSON literal safe inside a <script> element: <, > and & as \\u escapes, as Django's json_script does."""
    return (json.dumps(value, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@dataclass(frozen=True)
class MapOptions:
    """How pages are built: where the static assets live and which base tiles (if any) to use."""

    asset_base: str = "/peta/static/"
    tile_url: str | None = None
    tile_attribution: str = ""
    api_base: str | None = "/peta"  # None in a standalone export: no server to fetch from
    sintetis: bool = False  # the page shows the demo's synthetic data: it says DATA SINTETIS


SINTETIS_TEKS = "DATA SINTETIS — contoh untuk demo, bukan data kota sebenarnya"


def sintetis_html() -> str:
    """The DATA SINTETIS banner every page showing the demo's synthetic data carries."""
    return f'<div class="sp-sintetis" role="note" id="data-sintetis">{esc(SINTETIS_TEKS)}</div>'


@dataclass
class BaseData:
    """The boundaries and data sources every map draws (rows as the maps_* queries return them)."""

    kelurahan: list[dict[str, Any]]
    kecamatan: list[dict[str, Any]]
    sekitar: list[dict[str, Any]]
    bounds: tuple[float, float, float, float]
    attributions: list[dict[str, Any]] = field(default_factory=list)
    poi: list[dict[str, Any]] = field(default_factory=list)  # the optional "Titik penting" overlay
    jalan: dict[str, Any] | None = None  # the published street layer (id, title, attribution), if any


def feature_collection(rows: Iterable[dict[str, Any]], props: Sequence[str], *, escape: bool = True) -> dict:
    """GeoJSON from rows with a `geometry` JSON text column; text properties HTML-escaped for tooltips."""
    feats = []
    for r in rows:
        p = {k: (esc(r[k]) if escape and isinstance(r[k], str) else r[k]) for k in props}
        geom = r["geometry"]
        feats.append({"type": "Feature", "geometry": json.loads(geom) if isinstance(geom, str) else geom,
                      "properties": p})
    return {"type": "FeatureCollection", "features": feats}


class OwnAssets(JSCSSMixin, MacroElement):
    """Loads the platform's own peta.js / peta.css (escaping, live refresh, legend styles)."""

    _template = Template("")

    def __init__(self, base: str):
        super().__init__()
        self._name = "SatuPetaAssets"
        self.default_js = [(p, base + p) for p in OWN_JS]
        self.default_css = [(p, base + p) for p in OWN_CSS]


class Attribution(MacroElement):
    """Adds the data sources' attribution (already escaped text) to the map's attribution control."""

    _template = Template("""{% macro script(this, kwargs) %}
        {%- for text in this.texts %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.js(text) }});
        {%- endfor %}
    {% endmacro %}""")

    def __init__(self, texts: Sequence[str]):
        super().__init__()
        self._name = "Attribution"
        self.texts = list(texts)
        self.js = js_value


class Script(MacroElement):
    """A line of the page's script with {map} (and named folium elements) replaced by their JS names."""

    _template = Template("""{% macro script(this, kwargs) %}
        {{ this.code() }}
    {% endmacro %}""")

    def __init__(self, code: str, **elements: Any):
        super().__init__()
        self._name = "SatuPetaScript"
        self._code, self._elements = code, elements

    def code(self) -> str:
        """The script with the map's and the elements' JavaScript names filled in."""
        names = {k: e.get_name() for k, e in self._elements.items()}
        return self._code.replace("{map}", self._parent.get_name()).format(**names) if names else \
            self._code.replace("{map}", self._parent.get_name())


class HtmlBox(Element):
    """A fixed block of HTML in the page body (title, legend, filter form); callers escape the content."""

    def __init__(self, markup: str):
        super().__init__(markup)


def legend_html(title: str, items: Sequence[tuple[str, ...]], notes: Sequence[str] = (),
                kind: str = "dot", sections: Sequence[tuple[str, Sequence[tuple[str, ...]], str]] = ()) -> str:
    """The legend box: colour swatches with labels (colour, label[, full name on hover]), further titled
    sections, and notes (all escaped here)."""
    def _ul(rows: Sequence[tuple[str, ...]], k: str) -> str:
        return "<ul>" + "".join(f'<li title="{esc(r[-1])}"><span class="sp-swatch sp-{k}" '
                                f'style="background:{esc(r[0])}"></span>{esc(r[1])}</li>' for r in rows) + "</ul>"
    body = _ul(items, kind) + "".join(f"<h3>{esc(t)}</h3>{_ul(rows, k)}" for t, rows, k in sections)
    extra = "".join(f'<p class="sp-note">{esc(n)}</p>' for n in notes)
    return f'<div id="legenda" class="sp-box sp-legend"><h2>{esc(title)}</h2>{body}{extra}</div>'


def tanggal_field(name: str, value: date | str | None, id_: str = "") -> str:
    """A date field written and read as dd-mm-yyyy (a type=date picker would show the browser's locale instead)."""
    shown = value.strftime("%d-%m-%Y") if isinstance(value, date) else (value or "")
    ident = f' id="{esc(id_)}"' if id_ else ""
    return (f'<input type="text"{ident} name="{esc(name)}" value="{esc(shown)}" inputmode="numeric" '
            'pattern="[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}" placeholder="hh-bb-tttt" size="10" maxlength="10" '
            'autocomplete="off" title="Tanggal sebagai hh-bb-tttt, misalnya 17-08-2026">')


def tanggal_input(name: str, label: str, value: date | str | None) -> str:
    """The dd-mm-yyyy date field inside its label."""
    return f"<label>{esc(label)} {tanggal_field(name, value)}</label>"


def title_html(title: str, subtitle: str = "", links: Sequence[tuple[str, str]] = ()) -> str:
    """The title box at the top left, with optional links back to the index (escaped here)."""
    nav = " · ".join(f'<a href="{esc(href)}">{esc(text)}</a>' for href, text in links)
    return (f'<div class="sp-box sp-title"><h1>{esc(title)}</h1>'
            + (f'<p>{esc(subtitle)}</p>' if subtitle else "") + (f'<nav>{nav}</nav>' if nav else "") + "</div>")


def attribution_texts(data: BaseData, extra: Iterable[str] = ()) -> list[str]:
    """Distinct attribution lines of the data sources shown, escaped."""
    seen: list[str] = []
    for a in [*(r["attribution"] for r in data.attributions), *extra]:
        if a and a not in seen:
            seen.append(a)
    return [esc(a) for a in seen]


def base_map(data: BaseData, opts: MapOptions, *, title: str, subtitle: str = "",
             links: Sequence[tuple[str, str]] = ()) -> folium.Map:
    """A map of Kota Tangerang: boundaries (kecamatan, kelurahan, neighbours), scale bar, title, attribution."""
    minx, miny, maxx, maxy = data.bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=12, tiles=None,
                   control_scale=True, prefer_canvas=False, minZoom=10, maxZoom=19,
                   zoomSnap=0.25)  # fit the city snugly on a phone too (whole zoom steps leave it small)
    if opts.tile_url:
        folium.TileLayer(opts.tile_url, attr=esc(opts.tile_attribution) or "Peta dasar", name="Peta dasar",
                         max_zoom=19).add_to(m)
    m.add_child(OwnAssets(opts.asset_base))
    _add_boundaries(m, data)
    # SP.fit, not folium's fit_bounds: no animation (it swallowed the first zoom) and room for the legend
    m.add_child(Script(f"SP.fit({{map}}, [[{miny}, {minx}], [{maxy}, {maxx}]]);"))
    m.get_root().header.add_child(Element('<link rel="icon" href="data:,">'))  # no /favicon.ico request
    m.get_root().html.add_child(HtmlBox(title_html(title, subtitle, links)))
    if opts.sintetis:
        m.get_root().html.add_child(HtmlBox(sintetis_html()))
    m.get_root().title = title
    return m


class StreetOverlay(JSCSSMixin, MacroElement):
    """The published street layer as an optional overlay in the layer control (SP.jalan, Leaflet.VectorGrid)."""

    _template = Template("""{% macro script(this, kwargs) %}
        SP.jalan({{ this._parent.get_name() }}, {{ this.control.get_name() }}, {{ this.config }});
    {% endmacro %}""")
    default_js = [("vectorGrid", "local:vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js")]

    def __init__(self, control: folium.LayerControl, config: dict[str, Any]):
        super().__init__()
        self._name = "StreetOverlay"
        self.control = control
        self.config = js_value(config)


def finish(m: folium.Map, data: BaseData, opts: MapOptions, *, extra_attribution: Iterable[str] = ()) -> str:
    """Add the attribution and layer control, point assets at local copies, and render the page."""
    if opts.api_base:  # a served page: the platform's geocoder answers the place search box
        m.add_child(Script("SP.cari({map}, '/geocode/search');"))
    m.add_child(Script("SP.lembar({map}); SP.keluarTab({map});"))  # phone popups as a sheet; shapes untabbable
    control = folium.LayerControl(collapsed=True)
    control.add_to(m)
    if data.jalan and opts.api_base:  # streets from the published layer's vector tiles, off until chosen
        m.add_child(StreetOverlay(control, {
            "url": f"/ogc/collections/{data.jalan['id']}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
            "layer": data.jalan["id"], "name": esc(f"Jalan: {data.jalan['title']}")}))
        extra_attribution = [*extra_attribution, data.jalan.get("attribution") or ""]
    m.add_child(Attribution(attribution_texts(data, extra_attribution)))
    localise(m.get_root(), opts.asset_base)
    return page_markup(m.get_root().render())


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


def page_markup(markup: str) -> str:
    """folium's page made ours: lang="id", and a viewport that lets phones pinch-zoom (no user-scalable=no)."""
    markup = markup.replace("<html>", '<html lang="id">', 1)
    return _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1.0">', markup, count=1)


def _add_boundaries(m: folium.Map, data: BaseData) -> None:
    # folium refuses tooltip fields on an empty collection (a database without the bundled data loaded)
    if data.sekitar:
        _add_sekitar(m, data)
    if data.kelurahan and data.kecamatan:
        _add_kelurahan_kecamatan(m, data)
    if data.poi:
        _add_poi(m, data)


def _add_poi(m: folium.Map, data: BaseData) -> None:
    """Landmarks (OSM POI) as an overlay that starts hidden: orientation on demand, never clutter."""
    group = folium.FeatureGroup(name="Titik penting (OSM)", show=False)
    for r in data.poi:
        kel = f" · Kel. {r['desa_kel_nama']}" if r.get("desa_kel_nama") else ""
        folium.CircleMarker([r["lat"], r["lon"]], radius=3, color="#5b3a8c", weight=1, fill=True,
                            fill_color="#b39ddb", fill_opacity=0.9, class_name="sp-poi",
                            tooltip=esc(f"{r['name']} ({r['category']}){kel}")).add_to(group)
    group.add_to(m)


def _add_sekitar(m: folium.Map, data: BaseData) -> None:
    sekitar = feature_collection(data.sekitar, ("kode", "nama"))
    folium.GeoJson(sekitar, name="Kab/kota sekitar", control=True,
                   style_function=lambda _: {"color": "#9a9a9a", "weight": 1, "fillColor": "#dcdcdc",
                                             "fillOpacity": 0.5},
                   tooltip=folium.GeoJsonTooltip(["nama", "kode"], aliases=["Kab/kota", "Kode"]),
                   ).add_to(m)


def _add_kelurahan_kecamatan(m: folium.Map, data: BaseData) -> None:
    kel = feature_collection(data.kelurahan, ("kode", "nama", "kec_nama"))
    folium.GeoJson(kel, name="Batas kelurahan", control=True,
                   style_function=lambda _: {"color": "#6b6b6b", "weight": 0.8, "fillColor": "#fbfaf5",
                                             "fillOpacity": 0.6},
                   highlight_function=lambda _: {"weight": 2.5, "color": "#222"},
                   tooltip=folium.GeoJsonTooltip(["nama", "kode", "kec_nama"],
                                                 aliases=["Kelurahan", "Kode", "Kecamatan"]),
                   ).add_to(m)
    kec = feature_collection(data.kecamatan, ("kode", "nama"))
    folium.GeoJson(kec, name="Batas kecamatan", control=True, interactive=False,
                   style_function=lambda _: {"color": "#333333", "weight": 2.2, "fill": False},
                   ).add_to(m)
    # names in their own pane above the markers (z 650 > 600), never catching clicks or focus
    folium.map.CustomPane(LABEL_PANE, z_index=650, pointer_events=False).add_to(m)
    labels = folium.FeatureGroup(name="Nama kecamatan", control=True)
    for r in data.kecamatan:
        if r.get("label_lat") is None:
            continue
        folium.Marker([r["label_lat"], r["label_lon"]], interactive=False, pane=LABEL_PANE, keyboard=False,
                      icon=folium.DivIcon(class_name="sp-label-kec", icon_size=(140, 30), icon_anchor=(70, 15),
                                          html=f'<span>{esc(r["nama"])}</span><small>{esc(r["kode"])}</small>'),
                      ).add_to(labels)
    labels.add_to(m)
    kel_labels = folium.FeatureGroup(name="Nama kelurahan (dari zoom 14)", control=False)
    for r in data.kelurahan:
        if r.get("label_lat") is None:
            continue
        folium.Marker([r["label_lat"], r["label_lon"]], interactive=False, pane=LABEL_PANE, keyboard=False,
                      icon=folium.DivIcon(class_name="sp-label-kel", icon_size=(120, 16), icon_anchor=(60, 8),
                                          html=f'<span>{esc(r["nama"])}</span>')).add_to(kel_labels)
    kel_labels.add_to(m)
    m.add_child(Script("SP.labelKelurahan({map}, " + "{group});", group=kel_labels))
