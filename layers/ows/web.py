"""What web maps (/peta) take from a layer's uploaded style: a simple Leaflet style from its SLD's first rule."""

from __future__ import annotations

import logging

import psycopg
from lxml import etree

from geo_api.db import fetch_one
from layers.ows.sld import leaflet_style

log = logging.getLogger("satupeta.ows")


async def web_style(conn: psycopg.AsyncConnection, layer_id: str) -> dict | None:
    """The layer's default uploaded style as Leaflet path options plus its name and title; None without one."""
    row = await fetch_one(conn, "ows_style_default", {"layer_id": layer_id})
    if row is None:
        return None
    try:
        style = leaflet_style(row["sld"])
    except etree.XMLSyntaxError:  # stored styles were checked on upload; never fail a page for one
        log.warning("stored style %s of %s does not parse", row["name"], layer_id)
        return None
    if style is None:
        return None
    return {"name": row["name"], "title": row["title"] or row["name"], "path": style}
