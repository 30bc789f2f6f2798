"""A plain HTML view of the OGC documents (no scripts, no CDN: the city intranet has no internet)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='id'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(f"<li><a href='{escape(str(li['href']))}'>{escape(li.get('title') or li['rel'])}</a>"
                    f" <small>({escape(li['rel'])}, {escape(li.get('type', ''))})</small></li>"
                    for li in links if not li.get("templated"))
    return f"<ul>{items}</ul>"


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
        parts.append(f"<p>{doc.get('numberReturned', 0)} dari {doc.get('numberMatched', '?')} fitur</p>")
        parts.append(_table([{"id": f.get("id"), **(f.get("properties") or {})} for f in doc["features"]]))
    if doc.get("type") == "Feature":
        parts.append(_table([{"id": doc.get("id"), **(doc.get("properties") or {})}]))
    if "conformsTo" in doc:
        parts.append("<ul>" + "".join(f"<li>{escape(u)}</li>" for u in doc["conformsTo"]) + "</ul>")
    if "links" in doc:
        parts.append("<h2>Tautan</h2>" + _links(doc["links"]))
    return _page(title, "".join(parts))
