"""Open311 GeoReport v2 under /open311/v2/: discovery, services, service definitions, requests (JSON and XML).

Errors here are the spec's `[{"code", "description"}]` (404 not found, 403 bad or missing api_key, 400 otherwise),
rendered by geo_api.errors for every path under /open311/ with geo_api/open311_format.py, which also renders the
answers (JSON or XML). Public reads never carry the reporter's contact.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from geo_api import intake, media_upload
from geo_api.apikeys import MAX_KEY_LEN, authenticate
from geo_api.audit import Actor
from geo_api.db import fetch_all, fetch_one, pooled
from geo_api.deps import AppSettings, Conn, GeocoderDep, Heavy, MediaStoreDep, Pool, RoutingRules, read_conn_unless
from geo_api.errors import Conflict, NotFound, Open311Error, PayloadTooLarge
from geo_api.laksa import siklus, umpan
from geo_api.laksa.kalender import dari_katalog
from geo_api.open311_format import FORMATS, render, w3c
from geo_api.params import is_row_id, parse_int
from geo_api.routing import laporan

log = logging.getLogger("satupeta.open311")
router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPEC = "http://wiki.open311.org/GeoReport_v2"
POST_ROLES = frozenset({"citizen_app", "gis_admin"})


class PublicRequest(BaseModel):
    """A service request as anyone may read it: never the reporter's name, phone or email."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None
    # Satu Peta extensions (clients that do not know them ignore them)
    kelurahan: str | None = None
    kecamatan: str | None = None
    routing_reason: str | None = None
    duplicate_of: str | None = None
    status_laksa: str | None = None  # the detailed status (investigating, fixed, ...) behind Open311's open/closed

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> PublicRequest:
        """Build from an open311_requests row (which selects public columns only)."""
        return cls(service_request_id=str(r["id"]), status="closed" if r["status"] == "closed" else "open",
                   status_notes=r["status_notes"] or None, service_name=r["service_name"],
                   service_code=r["service_code"], description=r["description"] or None,
                   agency_responsible=r["agency_responsible"], service_notice=r["service_notice"] or None,
                   requested_datetime=w3c(r["requested_at"]), updated_datetime=w3c(r["updated_at"]),
                   expected_datetime=w3c(r["expected_at"]) if r["expected_at"] else None,
                   address=r["address"] or None, address_id=r["address_id"] or None, zipcode=r["zipcode"] or None,
                   lat=r["lat"], long=r["lon"], media_url=r["media_url"], kelurahan=r["kelurahan_kode"],
                   kecamatan=r["kecamatan_kode"], routing_reason=r["alasan_teks"],
                   duplicate_of=str(r["kemungkinan_duplikat_dari"]) if r["kemungkinan_duplikat_dari"] else None,
                   status_laksa=r.get("status_laksa"))


# ---------------------------------------------------------------- rendering


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unsupported format {fmt[:10]!r}: use .json or .xml")
    return fmt


# ---------------------------------------------------------------- helpers


def _jurisdiction(request: Request, settings: Any, form: dict[str, str] | None = None) -> None:
    given = (form or {}).get("jurisdiction_id") or request.query_params.get("jurisdiction_id")
    if given and given != settings.open311_jurisdiction_id:
        raise Open311Error(404, f"jurisdiction_id {given[:100]!r} is not served here "
                                f"(this endpoint serves {settings.open311_jurisdiction_id})")


async def _api_key(conn: Any, key: str | None) -> dict[str, Any]:
    """The live API key allowed to post requests (403 otherwise, as the spec says)."""
    if not key or len(key) > MAX_KEY_LEN:
        raise Open311Error(403, "api_key is missing")
    row = await authenticate(conn, key)
    if row is None:
        raise Open311Error(403, "api_key is not valid")
    if row["role"] not in POST_ROLES:
        raise Open311Error(403, f"api_key {row['name']!r} (role {row['role']}) may not post service requests")
    return row


# ---------------------------------------------------------------- endpoints


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: str, settings: AppSettings) -> Response:
    """Service discovery: where the endpoint is and which formats it speaks."""
    fmt = _fmt(fmt)
    base = str(request.base_url).rstrip("/") + "/open311/v2"
    doc = {"changeset": "2026-11-24T00:00:00+07:00", "contact": "LAKSA Kota Tangerang, Diskominfo",
           "key_service": "API key dari Diskominfo (satupeta keys create)",
           "endpoints": [{"specification": SPEC, "url": base, "changeset": "2026-11-24T00:00:00+07:00",
                          "type": "production", "formats": ["application/json", "text/xml"]}]}
    return render(fmt, doc, "discovery")


@router.get("/services.{fmt}")
async def services(request: Request, fmt: str, conn: Conn, settings: AppSettings) -> Response:
    """The complaint categories citizens pick."""
    fmt = _fmt(fmt)
    _jurisdiction(request, settings)
    rows = await fetch_all(conn, "open311_services")
    return render(fmt, [{**r, "keywords": ",".join(r["keywords"])} for r in rows], "services", "service")


@router.get("/services/{service_code}.{fmt}")
async def service_definition(request: Request, service_code: str, fmt: str, conn: Conn,
                             settings: AppSettings) -> Response:
    """A category's attribute definitions (the spec's service definition)."""
    fmt = _fmt(fmt)
    _jurisdiction(request, settings)
    row = await fetch_one(conn, "open311_service_get", {"kode": service_code[:40]})
    if row is None:
        raise Open311Error(404, f"service_code {service_code[:40]!r} not found")
    attrs = [{"variable": True, "code": a["code"], "datatype": a.get("datatype", "string"),
              "required": bool(a.get("required")), "datatype_description": a.get("datatype_description", ""),
              "order": i + 1, "description": a.get("description", ""),
              **({"values": a["values"]} if a.get("values") else {})}
             for i, a in enumerate(row["atribut"])]
    return render(fmt, {"service_code": row["kode"], "attributes": attrs}, "service_definition")


@router.post("/requests.{fmt}")
async def create_request(request: Request, fmt: str, pool: Pool, settings: AppSettings, geo: GeocoderDep,
                         rules: RoutingRules, heavy: Heavy, store: MediaStoreDep) -> Response:
    """Create a service request: checked, routed to its OPD with reasons, stored; answers its id.

    Photos come as multipart `media` parts (JPEG, PNG, WebP; media_max_files, media_max_bytes): cleaned of
    every metadata block before anything is stored (and before a connection is borrowed for the write), and the
    report's media_url points at the first one."""
    fmt = _fmt(fmt)
    posted = await media_upload.read_form(request, settings)
    form = posted.fields
    _jurisdiction(request, settings, form)
    code = (form.get("service_code") or "").strip()
    async with pooled(pool) as conn:  # the key and the category, then the connection goes back
        key = await _api_key(conn, form.get("api_key"))
        if not code:
            raise Open311Error(400, "service_code is required")
        layanan = await fetch_one(conn, "open311_service_get", {"kode": code[:40]})
    if layanan is None:
        raise Open311Error(404, f"service_code {code[:40]!r} is not a known service (see services.{fmt})")
    base = media_upload.public_base(settings, request)
    got = await intake.terima(pool, posted, layanan, settings=settings, geo=geo, rules=rules, heavy=heavy,
                              store=store, actor=Actor.from_key(key, request), base=base)
    row, keputusan, photos = got.row, got.keputusan, got.photos
    notice = layanan["service_notice"] or None
    if row["kemungkinan_duplikat_dari"]:
        notice = ((notice + " ") if notice else "") + (
            f"Kemungkinan sama dengan laporan {row['kemungkinan_duplikat_dari']} "
            f"({row['jarak_duplikat_m']:.0f} m) yang masih terbuka.")
    body = [{"service_request_id": str(row["id"]), "service_notice": notice,
             "account_id": (form.get("account_id") or "").strip() or None,
             # extension: the reporter's tracking code for rating.json, answered once (only its hash is kept)
             "kode_lacak": row["kode_lacak"],
             **media_upload.answer(photos, base)}]
    log.info("laporan %s (%s) routed to %s: %s", row["id"], code, keputusan.opd_kode, keputusan.keputusan)
    return render(fmt, body, "service_requests", "request")


# Reads of the list come from the replica (when configured), except by id: a client reads its own write back
# by the service_request_id the POST answered (here or with GET requests/{id}, which is always the primary).
ReadUnlessById = read_conn_unless("service_request_id")


@router.get("/requests.{fmt}")
async def list_requests(request: Request, fmt: str, conn: ReadUnlessById, settings: AppSettings) -> Response:
    """Service requests by id, or by category, status and a date window (open311_max_window_days, default 90)."""
    fmt = _fmt(fmt)
    _jurisdiction(request, settings)
    window = timedelta(days=settings.open311_max_window_days)
    rows = await laporan.find(conn, laporan.list_params(request.query_params, window=window))
    return render(fmt, [PublicRequest.from_row(r).model_dump() for r in rows], "service_requests", "request")


@router.get("/requests/{service_request_id}.{fmt}")
async def get_request(request: Request, service_request_id: str, fmt: str, conn: Conn,
                      settings: AppSettings) -> Response:
    """One service request (a list of one, as the spec writes it)."""
    fmt = _fmt(fmt)
    _jurisdiction(request, settings)
    if not is_row_id(service_request_id):
        raise Open311Error(404, f"service_request_id {service_request_id[:40]!r} not found")
    rows = await laporan.find(conn, laporan.list_params({"service_request_id": service_request_id}))
    if not rows:
        raise Open311Error(404, f"service_request_id {service_request_id} not found")
    riwayat = media_upload.absolute_media((await umpan.history(conn, [rows[0]["id"]]))[rows[0]["id"]], settings,
                                          request)
    body = {**PublicRequest.from_row(rows[0]).model_dump(), "riwayat": riwayat}  # extension: the public history
    return render(fmt, [body], "service_requests", "request")


@router.get("/servicerequestupdates.{fmt}")
async def service_request_updates(request: Request, fmt: str, conn: Conn, settings: AppSettings) -> Response:
    """mySociety's extension: public updates (status changes, re-dispatches, escalations, auto-closes, ratings and
    the reporter's comments, each with its `jenis`) between start_date and end_date, oldest first, paged with page
    and page_size; the feed SP4N-LAPOR! connectors poll."""
    fmt = _fmt(fmt)
    _jurisdiction(request, settings)
    params = umpan.feed_params(request.query_params, timedelta(days=settings.open311_max_window_days))
    updates = media_upload.absolute_media(await umpan.feed(conn, params), settings, request)
    return render(fmt, updates, "service_requests_updates", "request_update")


@router.post("/requests/{service_request_id}/rating.{fmt}")
async def rate_request(request: Request, service_request_id: str, fmt: str, conn: Conn,
                       settings: AppSettings) -> Response:
    """The reporter's satisfaction (nilai 1-4, komentar) with kode_lacak, once per fixed or closed laporan;
    buka_kembali=true with nilai 1-2 reopens it."""
    fmt = _fmt(fmt)
    form = await _small_form(request)
    _jurisdiction(request, settings, form)
    key = await _api_key(conn, form.get("api_key"))
    if not is_row_id(service_request_id):
        raise Open311Error(404, f"service_request_id {service_request_id[:40]!r} not found")
    skor = parse_int("nilai", form.get("nilai"), 0, 1, 4)
    if not skor:
        raise Open311Error(400, "nilai is required (1-4)")
    buka = (form.get("buka_kembali") or "").strip().lower() in ("1", "true", "ya", "yes")
    try:
        out = await siklus.nilai(conn, dari_katalog(), int(service_request_id), form.get("kode_lacak") or "", skor,
                                 form.get("komentar") or "", buka, Actor.from_key(key, request))
    except NotFound:
        raise Open311Error(404, f"service_request_id {service_request_id} not found") from None
    except Conflict as exc:  # the spec's error array, but with 409: not yet closed, or already rated
        return render(fmt, [{"code": 409, "description": exc.detail}], "errors", "error", status=409)
    return render(fmt, [out], "ratings", "rating")


async def _small_form(request: Request, limit: int = 16 * 1024) -> dict[str, str]:
    """An urlencoded body of at most `limit` bytes (read and bounded whatever the transfer encoding), over the
    query string; one value per name."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and ctype not in ("application/x-www-form-urlencoded", ""):
        raise Open311Error(400, "send the rating as application/x-www-form-urlencoded")
    out = dict(request.query_params)
    try:
        out.update(parse_qsl(body.decode("utf-8"), max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise Open311Error(400, "the body is not a valid urlencoded form") from None
    return out
