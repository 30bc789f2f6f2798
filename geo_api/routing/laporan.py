"""Laporan intake and follow-up: validate a new laporan, route it, store it with its reasons; status changes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from geo_api.audit import Actor, record_by
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import BadRequest, InvalidParameter, NotFound, PayloadTooLarge
from geo_api.laksa import siklus, tahap
from geo_api.laksa.kalender import Kalender, dari_katalog
from geo_api.laksa.siklus import kode_lacak_baru
from geo_api.params import MAX_DATE, MIN_DATE, parse_instant, parse_number
from geo_api.routing.model import Keputusan
from geo_api.routing.service import Routing, route

if TYPE_CHECKING:
    from geo_api.geocoding.reverse import ReverseIndex

_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_ATTR = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,64})\]$")
_CONTACT = ("email", "phone", "first_name", "last_name", "device_id", "account_id")
_SHORT_MAX = 200
WINDOW = timedelta(days=90)
MIN_ADDRESS_SCORE = 0.6


@dataclass
class LaporanBaru:
    """A checked new laporan, ready to route and store."""

    layanan_kode: str
    lat: float
    lon: float
    deskripsi: str = ""
    address_string: str = ""
    address_id: str = ""
    zipcode: str = ""
    media_url: str | None = None
    atribut: dict[str, Any] = field(default_factory=dict)
    kontak: dict[str, str] = field(default_factory=dict)
    dari_alamat: dict[str, Any] | None = None  # the geocoded candidate when only address_string was given
    # photos for the intake history entry: [{"url": "/media/...", "thumb_url": ...}] (the media module writes them)
    media: list[dict[str, Any]] = field(default_factory=list)


def parse_float(name: str, value: str | None, lo: float, hi: float) -> float | None:
    """A finite float within [lo, hi], or None when absent; 400 otherwise (geo_api.params, the one parser)."""
    return parse_number(name, value, lo, hi)


def _short(form: Mapping[str, str], name: str, limit: int = _SHORT_MAX) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise InvalidParameter(name, f"{name} is longer than {limit} characters")
    return value


def parse_attributes(form: Mapping[str, str], definitions: list[dict[str, Any]], max_count: int) -> dict[str, Any]:
    """attribute[code]=value fields, checked against the service definition (required, datatype, value list)."""
    given = {m.group(1): v for k, v in form.items() if (m := _ATTR.match(k))}
    if len(given) > max_count:
        raise PayloadTooLarge(f"at most {max_count} attribute[...] fields are accepted")
    defs = {d["code"]: d for d in definitions}
    unknown = sorted(set(given) - set(defs))
    if unknown:
        raise InvalidParameter("attribute", f"unknown attribute(s) for this service: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for code, d in defs.items():
        value = (given.get(code) or "").strip()
        if not value:
            if d.get("required"):
                raise InvalidParameter(f"attribute[{code}]", f"attribute[{code}] is required")
            continue
        if len(value) > 500:
            raise InvalidParameter(f"attribute[{code}]", f"attribute[{code}] is longer than 500 characters")
        out[code] = _attribute_value(code, value, d)
    return out


def _attribute_value(code: str, value: str, d: dict[str, Any]) -> Any:
    kind = d.get("datatype", "string")
    if kind == "number":
        return parse_float(f"attribute[{code}]", value, -1e9, 1e9)
    if kind == "singlevaluelist":
        keys = {str(v["key"]) for v in d.get("values", [])}
        if value not in keys:
            raise InvalidParameter(f"attribute[{code}]", f"attribute[{code}] must be one of {', '.join(sorted(keys))}")
    return value


def locate_address(forward: Any, text: str) -> dict[str, Any] | None:
    """The best forward-geocoding candidate for an address, when it is a kelurahan or a POI with a point."""
    if not text.strip() or forward is None:
        return None
    for c in forward.search(text[:300], limit=1)["candidates"]:
        if c.get("point") and c["level"] == "kelurahan" and c["score"] >= MIN_ADDRESS_SCORE:
            return c
    return None


def parse_new(form: Mapping[str, str], layanan: dict[str, Any], *, max_description: int, max_attributes: int,
              bbox: tuple[float, float, float, float], forward: Any = None) -> LaporanBaru:
    """Check every field of a POST requests body; nothing is stored unless all of it is acceptable."""
    lat = parse_float("lat", form.get("lat"), -90, 90)
    lon = parse_float("long", form.get("long"), -180, 180)
    dari_alamat = None
    if (lat is None) != (lon is None):
        raise BadRequest("give both lat and long (or address_string alone)")
    if lat is None:
        address = _short(form, "address_string", 500)
        if not address:
            raise BadRequest("a location is required: lat and long, or address_string")
        dari_alamat = locate_address(forward, address)
        if dari_alamat is None:
            raise BadRequest(f"address_string {address[:80]!r} could not be located to a kelurahan; send lat and long")
        lat, lon = dari_alamat["point"]["lat"], dari_alamat["point"]["lon"]
    if not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
        raise InvalidParameter("lat", f"the point {lat}, {lon} is far outside Kota Tangerang and its neighbours")
    deskripsi = form.get("description") or ""
    if len(deskripsi) > max_description:
        raise InvalidParameter("description", f"description is longer than {max_description} characters")
    media = (form.get("media_url") or "").strip() or None
    if media is not None and (len(media) > 2000 or not _URL.match(media)):
        raise InvalidParameter("media_url", "media_url must be an http:// or https:// URL")
    kontak = {k: _short(form, k) for k in _CONTACT}
    if kontak["email"] and not _EMAIL.match(kontak["email"]):
        raise InvalidParameter("email", "email is not an e-mail address")
    return LaporanBaru(layanan_kode=layanan["kode"], lat=lat, lon=lon, deskripsi=deskripsi,
                       address_string=_short(form, "address_string", 500), address_id=_short(form, "address_id", 100),
                       zipcode=_short(form, "zipcode", 20), media_url=media,
                       atribut=parse_attributes(form, layanan["atribut"], max_attributes), kontak=kontak,
                       dari_alamat=dari_alamat)


async def create(conn: psycopg.AsyncConnection, routing: Routing, reverse: ReverseIndex, baru: LaporanBaru,
                 actor: Actor, kal: Kalender | None = None,
                 now: datetime | None = None) -> tuple[dict[str, Any], Keputusan]:
    """Route and store a laporan (one statement: laporan, duplicate link and first status row together) with
    its audit row in the same transaction; its SP4N-LAPOR! clock starts on the working-day calendar. The row
    answered carries `kode_lacak`, the reporter's tracking code (only its hash is stored)."""
    kasar = ""
    if baru.dari_alamat:
        src = baru.dari_alamat["point"]["source"]
        kasar = f"lokasi ditentukan dari alamat (titik {src} kelurahan), tidak cukup tepat untuk aturan jarak"
    k = await route(conn, routing, reverse, baru.layanan_kode, baru.lat, baru.lon, titik_kasar=kasar)
    if baru.dari_alamat:
        k.alasan["lokasi"]["dari_alamat"] = {"address_string": baru.address_string,
                                             "kandidat": baru.dari_alamat.get("kelurahan"),
                                             "skor": baru.dari_alamat.get("score")}
    lok = k.lokasi
    params = {
        "layanan_kode": baru.layanan_kode, "deskripsi": baru.deskripsi, "lat": baru.lat, "lon": baru.lon,
        "address_string": baru.address_string, "address_id": baru.address_id, "zipcode": baru.zipcode,
        "media_url": baru.media_url, "atribut": Jsonb(baru.atribut), **baru.kontak, "api_key_id": actor.key_id,
        "opd_kode": k.opd_kode, "rule_id": k.rule_id, "rule_versi": k.rule_versi, "keputusan": k.keputusan,
        "alasan": Jsonb(k.alasan), "alasan_teks": k.teks,
        "kelurahan_kode": lok.kelurahan_kode if lok else None, "kecamatan_kode": lok.kecamatan_kode if lok else None,
        "kabkota_kode": lok.kabkota_kode if lok else None, "oleh": actor.label[:200], "media": Jsonb(baru.media),
    }
    kode_lacak, params["kode_lacak_hash"] = kode_lacak_baru()
    sla = await fetch_one(conn, "laksa_layanan_sla", {"kode": baru.layanan_kode})
    # `now`: the clock of a caller that replays a history (the maps demo's SYNTHETIC past weeks); else real time
    jam = tahap.jam_baru(kal or dari_katalog(), now or datetime.now(timezone.utc),
                         sla["sla_hari_kerja"] if sla else None)
    params.update(tahap_mulai=jam["tahap_mulai"], disposisi_due=jam["disposisi_due"], expected_at=jam["expected_at"])
    async with conn.transaction():
        row = await fetch_one(conn, "open311_laporan_insert", params)
        row = {**row, "kode_lacak": kode_lacak}
        await record_by(conn, actor, action="laporan.create", target=f"laporan:{row['id']}",
                        after={"id": row["id"], "layanan": baru.layanan_kode, "opd_kode": k.opd_kode,
                               "keputusan": k.keputusan, "rule_id": k.rule_id, "rule_versi": k.rule_versi})
    return row, k


def parse_w3c(name: str, value: str | None) -> datetime | None:
    """A W3C/ISO 8601 datetime (naive means UTC) within the platform's date bounds, or None; 400 otherwise.

    Bounded by geo_api.params (years 1 and 9999 are real inputs, and a window computed from them overflows).
    """
    try:
        return parse_instant(name, value, error=_NamedParameter)
    except OverflowError:  # an offset that moves year 1 or 9999 out of datetime's range
        raise InvalidParameter(name, f"{name} must be between {MIN_DATE} and {MAX_DATE}") from None


class _NamedParameter(InvalidParameter):
    """Open311 answers only a description: it must name the parameter itself."""

    def __init__(self, parameter: str, detail: str, **kw: Any):
        super().__init__(parameter, detail if parameter in detail else f"{parameter}: {detail}", **kw)


def _csv(name: str, value: str | None, pattern: str, limit: int = 100) -> list[str] | None:
    if not value:
        return None
    items = [x.strip() for x in value.split(",") if x.strip()]
    if len(items) > limit or any(not re.fullmatch(pattern, x) for x in items):
        raise InvalidParameter(name, f"{name} must be a comma-separated list of at most {limit} codes")
    return items or None


def list_params(q: Mapping[str, str], *, now: datetime | None = None, limit: int = 1000,
                window: timedelta = WINDOW) -> dict[str, Any]:
    """The filters of GET requests: ids override everything; otherwise a window of at most `window`.

    Neither date: the last `window`. Only end_date: the `window` before it. Only start_date ("since my last
    poll"): from it up to now, refused (400) when that is longer than `window`, so a client syncing after a
    long gap is told to page with end_date instead of silently getting a part.
    """
    now = now or datetime.now(timezone.utc)
    ids = _csv("service_request_id", q.get("service_request_id"), r"\d{1,18}")
    start, end = parse_w3c("start_date", q.get("start_date")), parse_w3c("end_date", q.get("end_date"))
    days = f"{window.days} day{'s' if window.days != 1 else ''}" if window.days else str(window)
    if start and not end:
        if now - start > window:
            raise InvalidParameter("start_date", f"start_date is more than {days} before now: give end_date too "
                                                 f"and ask for windows of at most {days}")
        end = max(now, start)
    end = end or now
    start = start or end - window
    if end < start:
        raise InvalidParameter("end_date", "end_date is before start_date")
    if end - start > window:
        raise InvalidParameter("start_date", f"the date range start_date to end_date may not span more than {days}")
    statuses = _csv("status", q.get("status"), r"open|closed")
    lat = parse_float("lat", q.get("lat"), -90, 90)
    lon = parse_float("long", q.get("long"), -180, 180)
    if (lat is None) != (lon is None):
        raise InvalidParameter("lat", "give both lat and long, or neither")
    radius = parse_float("radius", q.get("radius"), 1, 5000) or 250.0
    return {"ids": [int(x) for x in ids] if ids else None,
            "codes": _csv("service_code", q.get("service_code"), r"[a-z][a-z0-9_]{0,39}"),
            "start": start, "end": end, "lat": lat, "lon": lon, "radius": radius, "limit": limit,
            "statuses": statuses}


async def find(conn: psycopg.AsyncConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Laporan matching the GET requests filters (public columns only)."""
    return await fetch_all(conn, "open311_requests", params)


async def detail(conn: psycopg.AsyncConnection, laporan_id: int) -> dict[str, Any]:
    """One laporan with routing evidence, status history and duplicates (no reporter contact)."""
    row = await fetch_one(conn, "routing_laporan_get", {"id": laporan_id})
    if row is None:
        raise NotFound(f"No laporan {laporan_id}")
    return row


async def set_status(conn: psycopg.AsyncConnection, laporan_id: int, status: str, catatan: str,
                     actor: Actor, *, catatan_internal: str = "", media: list[dict[str, Any]] | None = None,
                     kal: Kalender | None = None) -> dict[str, Any]:
    """Move a laporan to a status its transitions allow (geo_api.laksa.siklus: 409 naming the allowed next states
    otherwise) with a public and an internal note, audited; returns the laporan as the OPD reads it."""
    await siklus.ubah_status(conn, kal or dari_katalog(), laporan_id, status, catatan, actor,
                             catatan_internal=catatan_internal, media=media)
    return await detail(conn, laporan_id)
