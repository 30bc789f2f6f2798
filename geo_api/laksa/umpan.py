"""Public reads of a laporan's history: the mySociety servicerequestupdates feed (as FixMyStreet's
perllib/Open311.pm reads it: update_id, service_request_id, status, updated_datetime, description, media_url) and
the history shown with GET requests/{id}. Only the public note: never the internal note, the actor or the
reporter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from pydantic import BaseModel

from geo_api.db import fetch_all
from geo_api.errors import InvalidParameter
from geo_api.open311_format import w3c
from geo_api.params import parse_int
from geo_api.routing.laporan import parse_w3c

MAX_PAGE_SIZE = 1000


class PublicUpdate(BaseModel):
    """One public history event (the feed's request_update)."""

    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str
    description: str | None
    media_url: str | None
    # Satu Peta extensions: the Open311 open/closed the status maps to, and the kind of event
    status_open311: str
    jenis: str

    @classmethod
    def from_row(cls, r: Mapping[str, Any]) -> PublicUpdate:
        """Build from a laksa_umpan / laksa_riwayat_publik row (public columns only)."""
        media = r.get("media_url")
        if media is None and r.get("media"):
            media = r["media"][0].get("url")
        return cls(update_id=str(r["update_id"]), service_request_id=str(r.get("service_request_id") or
                                                                            r.get("laporan_id")),
                   status=r["status"], updated_datetime=w3c(r["pada"]),
                   description=r.get("description", r.get("catatan")) or None, media_url=media,
                   status_open311=r["open311"], jenis=r["jenis"])


def feed_params(q: Mapping[str, str], window: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """start_date/end_date (W3C; both optional, the window at most `window`, default the last day), page and
    page_size (at most 1000)."""
    now = now or datetime.now(timezone.utc)
    start, end = parse_w3c("start_date", q.get("start_date")), parse_w3c("end_date", q.get("end_date"))
    end = end or (max(now, start) if start else now)
    start = start or end - min(window, timedelta(days=1))
    if end < start:
        raise InvalidParameter("end_date", "end_date: end_date is before start_date")
    if end - start > window:
        raise InvalidParameter("start_date", f"start_date: the range start_date to end_date may not span more than "
                                             f"{window.days} days; page through shorter windows")
    page = parse_int("page", q.get("page"), 1, 1, 100000)
    size = parse_int("page_size", q.get("page_size"), 500, 1, MAX_PAGE_SIZE)
    return {"start": start, "end": end, "limit": size, "offset": (page - 1) * size}


async def feed(conn: psycopg.AsyncConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
    """One page of public updates in the window, oldest first."""
    return [PublicUpdate.from_row(r).model_dump() for r in await fetch_all(conn, "laksa_umpan", params)]


async def history(conn: psycopg.AsyncConnection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The full public history of each laporan, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in await fetch_all(conn, "laksa_riwayat_publik", {"ids": ids}):
        out[r["laporan_id"]].append(PublicUpdate.from_row(r).model_dump())
    return out
