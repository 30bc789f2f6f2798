"""The one intake of a new laporan, for every channel (Open311 POST requests, the citizen form at /lapor):
fields checked, photos cleaned, routed with reasons, duplicate-linked and stored with its photos."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from geo_api import media, media_upload
from geo_api.audit import Actor
from geo_api.db import pooled
from geo_api.routing import laporan
from geo_api.routing.model import Keputusan


@dataclass
class Diterima:
    """A stored laporan: its row (with the once-only kode_lacak), the routing decision and the cleaned photos."""

    row: dict[str, Any]
    keputusan: Keputusan
    photos: list[media.Photo] = field(default_factory=list)


async def terima(pool: AsyncConnectionPool, posted: media_upload.Form, layanan: dict[str, Any], *,
                 settings: Any, geo: Any, rules: Any, heavy: Any, store: media.MediaStore, actor: Actor,
                 base: str) -> Diterima:
    """Check, clean, route and store one laporan; nothing is stored unless all of it is acceptable.

    The fields are checked and the photos decoded and re-encoded (CPU, in the heavy threads) before a connection
    is borrowed from `pool`, for the routing and the one short transaction of the rows and files: the caller
    holds no connection of its own while it waits here."""
    baru = laporan.parse_new(posted.fields, layanan, max_description=settings.open311_max_description,
                             max_attributes=settings.open311_max_attributes, bbox=settings.open311_bbox,
                             forward=geo.forward)
    photos = await media_upload.clean_all(posted, settings, heavy)
    if photos:
        baru.media_url = base + photos[0].name
    async with pooled(pool) as conn:
        routing = await rules.get(conn)
        async with media_upload.stored(conn, store, photos, heavy):
            row, keputusan = await laporan.create(conn, routing, geo.reverse, baru, actor)
            if photos:
                await media_upload.attach_intake(conn, row["id"], photos)
    return Diterima(row, keputusan, photos)
