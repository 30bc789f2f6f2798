"""A plain HTML view of the OGC documents (no scripts, no CDN: the city intranet has no internet)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
          "nav.atas{margin-bottom:.6em}@media(max-width:600px){body{margin:.6em}table{display:block;overflow-x:auto}}")


# Link relations named in Bahasa Indonesia (the documents' own titles are for machines and in English).
REL_NAMA = {"self": "Halaman ini", "alternate": "Format lain", "next": "Berikutnya", "prev": "Sebelumnya",
            "collection": "Koleksi", "items": "Fitur", "data": "Daftar koleksi", "conformance": "Kesesuaian standar",
            "service-desc": "Deskripsi layanan (OpenAPI)", "service-doc": "Dokumentasi API",
            "license": "Lisensi", "describedby": "Skema", "root": "Halaman awal OGC", "tiles": "Ubin (tiles)",
            "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector": "Kumpulan ubin vektor",
            "http://www.opengis.net/def/rel/ogc/1.0/conformance": "Kesesuaian standar",
            "http://www.opengis.net/def/rel/ogc/1.0/data": "Daftar koleksi",
            "http://www.opengis.net/def/rel/ogc/1.0/queryables": "Atribut yang dapat disaring"}
JENIS = {"application/json": "JSON", "application/geo+json": "GeoJSON", "text/html": "HTML",
         "application/vnd.oai.openapi+json;version=3.0": "OpenAPI", "application/schema+json": "JSON Schema"}


def as_html(href: str) -> str:
    """The same address asking for the HTML view (f=html), other query parameters kept."""
    parts = urlsplit(href)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"] + [("f", "html")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(title: str, body: str, nav: str = "") -> str:
    return (f"<!doctype html><html lang='id'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<nav class='atas'><a href='/peta'>← Daftar peta</a> · <a href='/ogc?f=html'>Halaman awal OGC</a>{nav}"
            f"</nav><h1>{escape(title)}</h1>{body}</body></html>")


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(f"<li><a href='{escape(str(li['href']))}'>{escape(REL_NAMA.get(li['rel'], li['rel']))}</a>"
                    f" <small>({escape(JENIS.get(li.get('type', ''), li.get('type', '')))})</small></li>"
                    for li in links if not li.get("templated"))
    return f"<ul>{items}</ul>"


def _paging(links: list[dict[str, Any]]) -> str:
    """Sebelumnya / Berikutnya to the neighbouring HTML pages of an items list."""
    out = [f" · <a rel='{rel}' href='{escape(as_html(str(li['href'])))}'>{REL_NAMA[rel]}</a>"
           for rel in ("prev", "next") for li in links if li.get("rel") == rel][:2]
    return "".join(out)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>Tidak ada data.</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(doc: dict[str, Any], title: str) -> str:
    """An HTML page for a landing/collections/collection/items/feature/conformance document."""
    parts = []
    if "description" in doc:
        parts.append(f"<p>{escape(str(doc['description']))}</p>")
    if doc.get("attribution"):
        parts.append(f"<p><small>Atribusi: {escape(str(doc['attribution']))}</small></p>")
    if "collections" in doc:
        parts.append(_table([{"id": c["id"], "judul": c["title"], "atribusi": c.get("attribution", "")}
                             for c in doc["collections"]]))
        parts.append("".join(f"<p><a href='{escape(c['links'][0]['href'])}?f=html'>{escape(c['title'])}</a></p>"
                             for c in doc["collections"]))
    if doc.get("type") == "FeatureCollection":
        parts.append(f"<p>{doc.get('numberReturned', 0)} dari {doc.get('numberMatched', '?')} fitur"
                     f"{_paging(doc.get('links') or [])}</p>")
        parts.append(_table([{"id": f.get("id"), **(f.get("properties") or {})} for f in doc["features"]]))
    if doc.get("type") == "Feature":
        parts.append(_table([{"id": doc.get("id"), **(doc.get("properties") or {})}]))
    if "conformsTo" in doc:
        parts.append("<ul>" + "".join(f"<li>{escape(u)}</li>" for u in doc["conformsTo"]) + "</ul>")
    if "links" in doc:
        parts.append("<h2>Tautan</h2>" + _links(doc["links"]))
    return _page(title, "".join(parts), _paging(doc.get("links") or []))
