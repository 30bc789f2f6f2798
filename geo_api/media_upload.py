"""Photos from an HTTP form: read the multipart `media` parts within the limits, clean them off the event loop,
store them, and attach them to a laporan's history in the caller's transaction (removing the files again when
that transaction does not commit).

Used by POST /open311/v2/requests.{json,xml} (the citizen's photos) and by an OPD's status change ("after"
photos). The body itself was already read and capped by geo_api/edge.py (photo routes: media_max_files x
media_max_bytes plus the form); here each part is checked on its own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from fastapi.exceptions import RequestValidationError
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from geo_api import media
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import BadRequest, InvalidParameter, PayloadTooLarge, ServiceUnavailable
from geo_api.open311_format import MAX_BODY
from geo_api.services import HeavyWork
from geo_api.settings import Settings

log = logging.getLogger("satupeta.media")
FIELD = "media"


def photo_rejected(detail: str, *, too_large: bool = False) -> BadRequest | PayloadTooLarge:
    """One upload is not an acceptable photo: 400 (413 when too large) naming `media` and which file."""
    cls = PayloadTooLarge if too_large else BadRequest
    return cls(detail, extra={"parameter": FIELD})


def limits(settings: Settings) -> media.Limits:
    """The photo limits of these settings."""
    return media.Limits(max_bytes=settings.media_max_bytes, max_pixels=settings.media_max_pixels,
                        max_side=settings.media_max_side, thumb_side=settings.media_thumb_side,
                        jpeg_quality=settings.media_jpeg_quality)


@dataclass
class Form:
    """A POST body: its text fields (one value per name, the query string underneath) and its photo parts."""

    fields: dict[str, str]
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # (file name as sent, bytes)


async def read_form(request: Request, settings: Settings, *, with_query: bool = True) -> Form:
    """The body as text fields and `media` files (multipart), or text fields only (urlencoded, 64 KiB)."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    multipart = ctype.startswith("multipart/")
    if not multipart and ctype != "application/x-www-form-urlencoded" and await request.body():
        raise BadRequest(f"Content-Type: send the form as application/x-www-form-urlencoded, or multipart/form-data "
                         f"with photos in `{FIELD}` parts, not {ctype[:60] or 'a body without a type'}",
                         extra={"parameter": "Content-Type"})
    if not multipart and len(await request.body()) > MAX_BODY:  # the edge caps these already; kept for the CLI
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY} bytes (photos go in multipart/form-data "
                              f"`{FIELD}` parts)")
    try:
        form = await request.form(max_files=settings.media_max_files, max_fields=200)
    except StarletteHTTPException as exc:
        if "files" in str(exc.detail).lower():
            raise PayloadTooLarge(f"{FIELD}: at most {settings.media_max_files} photos per request",
                                  extra={"parameter": FIELD}) from None
        raise
    out = dict(request.query_params) if with_query else {}
    uploads: list[tuple[str, bytes]] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            out[name] = value
            continue
        if name != FIELD:
            raise InvalidParameter(name, f"{name[:40]!r} may not be a file: photos go in `{FIELD}` parts")
        uploads.append(await _read_upload(value, len(uploads) + 1, settings.media_max_bytes))
    await form.close()
    return Form(out, uploads)


def _label(n: int, filename: str | None) -> str:
    shown = (filename or "")[:60].replace("\r", " ").replace("\n", " ")
    return f"{FIELD} #{n}" + (f" ({shown!r})" if shown else "")


async def _read_upload(upload: UploadFile, n: int, max_bytes: int) -> tuple[str, bytes]:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise photo_rejected(f"{_label(n, upload.filename)}: the file is larger than {max_bytes} bytes", too_large=True)
    return upload.filename or "", data


async def clean_all(form: Form, settings: Settings, heavy: HeavyWork) -> list[media.Photo]:
    """Every upload decoded and re-encoded in the heavy worker threads; the first bad one is a 4xx naming it."""
    bounds = limits(settings)
    photos = []
    for n, (filename, data) in enumerate(form.uploads, start=1):
        try:
            photos.append(await heavy.run(media.clean, data, bounds))
        except media.BadPhoto as exc:
            raise photo_rejected(f"{_label(n, filename)}: {exc.detail}", too_large=exc.too_large) from None
    return photos


def public_base(settings: Settings, request: Request) -> str:
    """The absolute prefix of /media/ links: media_base_url, else the request's own base URL."""
    base = settings.media_base_url or str(request.base_url)
    return base.rstrip("/") + "/media/"


def absolute_media(updates: list[dict[str, Any]], settings: Settings, request: Request) -> list[dict[str, Any]]:
    """Updates (the feed, a laporan's public history) with our relative /media/ links made absolute: Open311
    clients fetch media_url as it is."""
    base = public_base(settings, request)
    return [{**u, "media_url": base + u["media_url"][len("/media/"):]}
            if (u.get("media_url") or "").startswith("/media/") else u for u in updates]


def suggested_location(photos: list[media.Photo]) -> dict[str, float] | None:
    """The first EXIF GPS position among the photos, as Open311 names the fields (never stored)."""
    for p in photos:
        if p.gps:
            return {"lat": p.gps[0], "long": p.gps[1]}
    return None


@asynccontextmanager
async def stored(conn: psycopg.AsyncConnection, store: media.MediaStore, photos: list[media.Photo],
                 heavy: HeavyWork) -> AsyncIterator[None]:
    """Write the files, then run the caller's block in one transaction; when the block or its commit fails,
    nothing stays: the rows roll back and the files this call created (and no other row refers to) go."""
    if not photos:
        async with conn.transaction():
            yield
        return
    try:
        created = await heavy.run(store.put, photos)
    except OSError as exc:
        log.error("photo store %s failed: %s", store.root, exc)
        raise ServiceUnavailable("the photo store is not writable now; nothing was saved, try again later") from None
    try:
        async with conn.transaction():
            yield
    except BaseException:
        await _discard_unreferenced(conn, store, created, heavy)
        raise


async def _discard_unreferenced(conn: psycopg.AsyncConnection, store: media.MediaStore, names: list[str],
                                heavy: HeavyWork) -> None:
    """Remove the files of a write that did not commit, unless a committed row refers to one meanwhile."""
    try:
        used = {r["nama"] for r in await fetch_all(conn, "media_referenced", {"nama": names})}
    except psycopg.Error:
        used = set()  # database gone: no other row can be proven to need them; a file kept beats a file lost
        log.warning("photo cleanup could not check references; %d files kept", len(names))
        return
    await heavy.run(store.discard, [n for n in names if n not in used])


async def attach(conn: psycopg.AsyncConnection, riwayat_id: int, photos: list[media.Photo]) -> list[dict[str, Any]]:
    """Add the photos to one history entry (laporan_status.media); the entries written (relative /media/ URLs)."""
    entries = [p.entry() for p in photos]
    row = await fetch_one(conn, "media_attach", {"id": riwayat_id, "media": Jsonb(entries)})
    if row is None:
        raise LookupError(f"no history entry {riwayat_id}")
    return entries


async def attach_intake(conn: psycopg.AsyncConnection, laporan_id: int, photos: list[media.Photo]) -> None:
    """Add the citizen's photos to a new laporan's intake entry (its first history row)."""
    row = await fetch_one(conn, "media_intake_entry", {"id": laporan_id})
    if row is None:
        raise LookupError(f"laporan {laporan_id} has no intake entry")
    await attach(conn, row["id"], photos)


def answer(photos: list[media.Photo], base: str) -> dict[str, Any]:
    """The extension fields a POST answers about its photos: their links and the EXIF position, if any."""
    if not photos:
        return {}
    out: dict[str, Any] = {"media_url": base + photos[0].name,
                           "media_urls": [base + p.name for p in photos],
                           "thumbnail_urls": [base + p.thumb_name for p in photos]}
    where = suggested_location(photos)
    if where:
        out["lokasi_saran"] = where
    return out


def _json(raw: bytes, hint: str = "") -> Any:
    """The parsed body: orjson (strict JSON: no NaN or Infinity, at most 1024 levels deep); 422 naming the body."""
    try:
        return orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        msg = str(exc)
        if "depth" in msg or "recursion" in msg.lower():
            msg = "the body is JSON nested deeper than 1024 levels"
        else:
            msg = f"the body is not JSON{hint} ({msg[:120]}; NaN and Infinity are not JSON numbers)"
        raise RequestValidationError([{"loc": ("body",), "msg": msg, "type": "json_invalid"}]) from None


def _validated(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


async def json_body(request: Request, model: type[BaseModel]) -> Any:
    """A JSON body validated as `model` (the edge has capped its size); 422 naming the body or the field."""
    ctype = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise RequestValidationError([{"loc": ("body",), "type": "json_invalid",
                                       "msg": f"send the body as application/json, not {ctype[:60]}"}])
    return _validated(model, _json(await request.body()))


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI requestBody for json_body routes: the model as JSON."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


async def json_or_form(request: Request, settings: Settings, model: type[BaseModel]) -> tuple[Any, Form]:
    """A body that is either JSON (the model's fields) or multipart (the same fields as form fields, plus `media`
    photo parts): the validated model and the form (no photos for JSON). 422 naming the field otherwise."""
    ctype = (request.headers.get("content-type") or "").lower()
    if ctype.startswith("multipart/"):
        form = await read_form(request, settings, with_query=False)
        return _validated(model, form.fields), form
    return _validated(model, _json(await request.body(), " (nor multipart/form-data with photos in `media`)")), Form({})


def multipart_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI requestBody for json_or_form routes: the model as JSON, or as multipart with `media` files."""
    schema = model.model_json_schema()
    multipart = {**schema, "properties": {**schema.get("properties", {}), FIELD: {
        "type": "array", "items": {"type": "string", "format": "binary"},
        "description": "Photos (JPEG, PNG or WebP), cleaned of all metadata before they are public."}}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema},
                                                          "multipart/form-data": {"schema": multipart}}}}
