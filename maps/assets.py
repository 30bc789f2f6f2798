"""Offline assets: every CDN URL folium and its plugins load, mapped to a file vendored under maps/static/."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from branca.element import Element

# The API docs page (/docs): swagger-ui-dist from npm, new enough (5.x) to read OpenAPI 3.1.
SWAGGER_UI = "swagger-ui-dist-5.35.0"

# The asset URLs folium 0.20 (Map) and the plugins we use declare, keyed by their path (the host does not
# matter: nothing is ever fetched from it), each served from a copy of the same release taken from its npm
# package (licence files sit next to each copy, see static/vendor/README.md).
VENDORED: dict[str, str] = {
    "/npm/leaflet@1.9.3/dist/leaflet.js": "vendor/leaflet-1.9.3/leaflet.js",
    "/npm/leaflet@1.9.3/dist/leaflet.css": "vendor/leaflet-1.9.3/leaflet.css",
    "/jquery-3.7.1.min.js": "vendor/jquery-3.7.1/jquery.min.js",
    "/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "vendor/bootstrap-5.2.2/bootstrap.bundle.min.js",
    "/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "vendor/bootstrap-5.2.2/bootstrap.min.css",
    "/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "vendor/leaflet.awesome-markers-2.0.4/leaflet.awesome-markers.min.js",
    "/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "vendor/leaflet.awesome-markers-2.0.4/leaflet.awesome-markers.css",
    "/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "vendor/fontawesome-free-6.2.0/css/all.min.css",
    "/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "vendor/leaflet.markercluster-1.1.0/leaflet.markercluster.js",
    "/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "vendor/leaflet.markercluster-1.1.0/MarkerCluster.css",
    "/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "vendor/leaflet.markercluster-1.1.0/MarkerCluster.Default.css",
    # folium's VectorGridProtobuf names `@latest`; we pin the release we vendor (1.3.0, the newest on npm)
    "/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js":
        "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js",
}

# Loaded by folium.Map but unused by our maps: Bootstrap 3 glyphicons (we use Font Awesome icons) and
# folium's rotate rule for awesome markers (we never rotate icons). Dropping them beats a broken request.
DROPPED: frozenset[str] = frozenset({
    "/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
})

# Our own scripts and styles (not from a CDN), also under static/.
OWN_JS = ("satupeta/peta.js",)
OWN_CSS = ("satupeta/peta.css",)


def static_root() -> Path:
    """The folder holding vendor/ and satupeta/ (served at /peta/static/)."""
    return Path(__file__).resolve().parent / "static"


class UnvendoredAsset(RuntimeError):
    """A folium element asks for a CDN URL we have no local copy of (a new plugin or folium release)."""


LOCAL = "local:"  # our own elements name a vendored file as local:vendor/...; localise() puts `base` in front


def _local(links: list[tuple[str, str]], base: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        if url.startswith(LOCAL):
            out.append((name, base + url[len(LOCAL):]))
            continue
        if url.startswith(base):
            out.append((name, url))
            continue
        path = urlsplit(url).path
        if path in DROPPED:
            continue
        if path not in VENDORED:
            raise UnvendoredAsset(f"{url} (asset {name!r}) is not vendored under maps/static/vendor")
        out.append((name, base + VENDORED[path]))
    return out


def localise(element: Element, base: str) -> None:
    """Point every JS/CSS link of this element tree at the vendored copies under `base` (e.g. /peta/static/)."""
    for el in _walk(element):
        if hasattr(el, "default_js"):
            # Instance attributes shadow the class lists, so folium itself stays untouched.
            el.default_js = _local(list(el.default_js), base)
            el.default_css = _local(list(el.default_css), base)


def _walk(element: Element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def copy_static(out_dir: Path) -> Path:
    """Copy the static folder (vendor + own assets) next to exported HTML; returns the copy's path."""
    target = out_dir / "static"
    shutil.copytree(static_root(), target, dirs_exist_ok=True)
    return target
