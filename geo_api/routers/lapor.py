"""The citizen pages: /lapor (pin the place, see who handles it, report with photos) and /lacak/{id} (follow a
laporan; with its kode_lacak rate it or add a comment). HTML in Bahasa Indonesia built by maps/lapor.py.

Submitting goes through geo_api.intake (the code Open311 POST requests runs) under the web-form channel: the
actor is `web:lapor` with the client's address, its own rate limit (lapor_per_jam, lapor_burst, shared in
PostgreSQL) and a double-submit CSRF token (a random cookie, SameSite=Strict, repeated in a hidden field)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from geo_api import intake, media_upload
from geo_api.audit import Actor, client_address
from geo_api.db import fetch_all, fetch_one, pooled
from geo_api.deps import AppSettings, Conn, GeocoderDep, Heavy, MediaStoreDep, Pool, RoutingRules
from geo_api.errors import Conflict, NotFound, SatuPetaError
from geo_api.laksa import siklus
from geo_api.laksa.kalender import dari_katalog
from geo_api.params import is_row_id, parse_lat_lon
from geo_api.ratelimit import SharedBuckets
from geo_api.routing import laporan
from maps import lapor as halaman

# The citizen pages answer their refusals as pages in Bahasa (text/html); the edge and framework still answer
# problem+json (body too large, a malformed path): both are declared, so clients and the fuzzer know either.
_PAGE_ERRORS = {"4XX": {"description": "A refusal, as a page in Bahasa Indonesia (or a problem document)",
                        "content": {"text/html": {"schema": {"type": "string"}},
                                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
router = APIRouter(tags=["warga"], responses=_PAGE_ERRORS)
CSRF_COOKIE = "lapor_csrf"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _token(request: Request) -> str:
    got = request.cookies.get(CSRF_COOKIE) or ""
    if 20 <= len(got) <= 64 and got.replace("-", "").replace("_", "").isalnum():
        return got
    return secrets.token_urlsafe(24)


def _html(markup: str, token: str, status: int = 200) -> HTMLResponse:
    resp = HTMLResponse(markup, status_code=status, headers=_HEADERS)
    resp.set_cookie(CSRF_COOKIE, token, max_age=86400, httponly=True, samesite="strict", path="/")
    return resp


def _csrf_ok(request: Request, fields: dict[str, str]) -> bool:
    cookie, given = request.cookies.get(CSRF_COOKIE) or "", fields.get("csrf") or ""
    return bool(cookie) and len(given) <= 64 and hmac.compare_digest(cookie.encode(), given.encode())


async def _limited(conn: Any, settings: Any, request: Request) -> bool:
    buckets = SharedBuckets("lapor", settings.lapor_per_jam / 3600.0, settings.lapor_burst)
    async with conn.transaction():
        return await buckets.take(conn, client_address(request) or "?") is not None


async def _form_data(conn: Any) -> halaman.FormData:
    return halaman.FormData(layanan=await fetch_all(conn, "lapor_layanan"),
                            kelurahan=await fetch_all(conn, "lapor_kelurahan"))


@router.get("/lapor", response_class=HTMLResponse, summary="Citizen report form (Bahasa Indonesia)")
async def lapor_page(request: Request, conn: Conn, settings: AppSettings) -> HTMLResponse:
    """The report form: map with a draggable pin, category, OPD, nearby duplicates, photos, contact."""
    token = _token(request)
    return _html(halaman.build_lapor(await _form_data(conn), token, settings.maps_tile_url), token)


@router.get("/lapor/batas.geojson", summary="Kelurahan outlines for the report form's map",
            responses={200: {"content": {"application/geo+json": {"schema": {"type": "object"}}}}})
async def batas(conn: Conn) -> Response:
    """Kelurahan outlines (simplified) with names, as GeoJSON."""
    rows = await fetch_all(conn, "maps_kelurahan")
    return Response(halaman.batas_geojson(rows), media_type="application/geo+json",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/lapor/dekat", summary="Open laporan of a category near a point (possible duplicates)")
async def dekat(conn: Conn, layanan: str = "", lat: str | None = None, lon: str | None = None) -> JSONResponse:
    """The open laporan the intake would link a new one to (same category, radius and days), nearest first."""
    y, x = parse_lat_lon(lat, lon)
    rows = await fetch_all(conn, "lapor_dekat", {"layanan_kode": layanan[:40], "lat": y, "lon": x})
    return JSONResponse([{"id": r["id"], "jarak_m": r["jarak_m"], "status": r["status_nama"],
                          "deskripsi": (r["deskripsi"] or "")[:140], "tanggal": halaman.tanggal(r["requested_at"])}
                         for r in rows])


def _fields(posted: media_upload.Form) -> dict[str, str]:
    return {k: v[:5000] for k, v in posted.fields.items() if k != "csrf"}


def _place_by_kelurahan(fields: dict[str, str], data: halaman.FormData) -> None:
    """The no-map path: a kelurahan chosen from the list places the laporan at its label point."""
    kode = fields.get("kelurahan") or ""
    if (fields.get("lat") or fields.get("long")) or not kode:
        return
    for k in data.kelurahan:
        if k["kode"] == kode:
            fields["lat"], fields["long"] = str(k["label_lat"]), str(k["label_lon"])


async def _accepted(pool: Any, settings: Any, request: Request,
                    fields: dict[str, str]) -> tuple[Any, str, int]:
    """The channel's rate limit and the category on one short borrow (the no-map path's point too): the
    category's row, or None with the refusal in Bahasa and its status."""
    async with pooled(pool) as conn:
        if await _limited(conn, settings, request):
            return None, ("Terlalu banyak laporan dari sambungan ini. Tunggu sebentar, lalu kirim lagi; isian Anda "
                          "tetap ada."), 429
        layanan = await fetch_one(conn, "open311_service_get", {"kode": (fields.get("service_code") or "")[:40]})
        if layanan is None:
            return None, "Pilih kategori masalah dari daftar.", 422
        if fields.get("kelurahan") and not (fields.get("lat") or fields.get("long")):
            _place_by_kelurahan(fields, halaman.FormData(kelurahan=await fetch_all(conn, "lapor_kelurahan")))
    return layanan, "", 200


@router.post("/lapor", response_class=HTMLResponse, summary="Submit the citizen report form")
async def lapor_submit(request: Request, pool: Pool, settings: AppSettings, geo: GeocoderDep, rules: RoutingRules,
                       heavy: Heavy, store: MediaStoreDep) -> HTMLResponse:
    """Check the CSRF token and the channel's rate limit, then the one intake; the result page, or the form
    again with every field as typed and the reason in plain Bahasa. No connection is held while the photos are
    decoded: each step borrows one briefly."""
    token = _token(request)

    async def again(typed: dict[str, str], msg: str, status: int, exc: SatuPetaError | None = None) -> HTMLResponse:
        """The form again with every field as typed (the lists are read only on this path)."""
        async with pooled(pool) as conn:
            data = await _form_data(conn)
        msg = halaman.pesan(exc, data) if exc is not None else msg
        return _html(halaman.build_lapor(data, token, settings.maps_tile_url, typed, msg), token, status)
    try:
        posted = await media_upload.read_form(request, settings, with_query=False)
    except SatuPetaError as exc:
        return await again({}, "", exc.status if 400 <= exc.status < 500 else 400, exc)
    fields = _fields(posted)
    posted.uploads = [(n, d) for n, d in posted.uploads if n or d]  # a browser sends an empty file input as one
    if not _csrf_ok(request, posted.fields):
        return await again(fields, "Formulir ini sudah kedaluwarsa. Isian Anda masih ada di bawah: periksa lalu "
                           "tekan Kirim lagi.", 403)
    layanan, refusal, status = await _accepted(pool, settings, request, fields)
    if layanan is None:
        return await again(fields, refusal, status)
    posted.fields = fields
    actor = Actor("web", "lapor", None, client_address(request))
    try:
        got = await intake.terima(pool, posted, layanan, settings=settings, geo=geo, rules=rules, heavy=heavy,
                                  store=store, actor=actor, base=media_upload.public_base(settings, request))
    except SatuPetaError as exc:
        return await again(fields, "", exc.status if 400 <= exc.status < 500 else 400, exc)
    async with pooled(pool) as conn:
        rows = await laporan.find(conn, laporan.list_params({"service_request_id": str(got.row["id"])}))
        sla = await fetch_one(conn, "laksa_layanan_sla", {"kode": layanan["kode"]})
    return _html(halaman.build_hasil(rows[0], got, sla["sla_hari_kerja"] if sla else None), token)


async def _public(conn: Any, laporan_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not is_row_id(laporan_id):
        raise NotFound("laporan tidak ditemukan")
    rows = await laporan.find(conn, laporan.list_params({"service_request_id": laporan_id}))
    if not rows:
        raise NotFound("laporan tidak ditemukan")
    names = {s["kode"]: s["nama"] for s in await siklus.statuses(conn)}
    riwayat = [{**r, "status_nama": names.get(r["status"], r["status"])}
               for r in await fetch_all(conn, "laksa_riwayat_publik", {"ids": [int(laporan_id)]})]
    return {**rows[0], "status_nama": names.get(rows[0]["status_laksa"], rows[0]["status_laksa"])}, riwayat


async def _lacak_page(request: Request, conn: Any, laporan_id: str, typed: dict[str, str] | None = None,
                      galat: str | None = None, status: int = 200, info: str | None = None) -> HTMLResponse:
    token = _token(request)
    try:
        row, riwayat = await _public(conn, laporan_id)
    except NotFound:
        return _html(halaman.build_tidak_ada(laporan_id), token, 404)
    return _html(halaman.build_lacak(row, riwayat, token, typed or {}, galat, info), token, status)


@router.get("/lacak/{laporan_id}", response_class=HTMLResponse, summary="Follow a laporan (Bahasa Indonesia)")
async def lacak_page(request: Request, laporan_id: str, conn: Conn) -> HTMLResponse:
    """Status, OPD, due date and the public history with photos; forms for the reporter's rating."""
    info = {"dinilai": "Terima kasih, penilaian Anda sudah tercatat.",
            "tanggapan": "Terima kasih, tanggapan Anda sudah ditambahkan ke riwayat."}.get(
        request.query_params.get("ok") or "")
    return await _lacak_page(request, conn, laporan_id, info=info)


async def _small_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 16 * 1024:
        return {"_terlalu_besar": "1"}
    form = await request.form(max_files=0, max_fields=20)
    return {k: v[:3000] for k, v in form.items() if isinstance(v, str)}


@router.post("/lacak/{laporan_id}/nilai", response_class=HTMLResponse, summary="The reporter rates a laporan")
async def lacak_nilai(request: Request, laporan_id: str, conn: Conn, settings: AppSettings) -> Response:
    """With the kode_lacak: a rating 1-4 once the laporan is fixed or closed, and whether to reopen it."""
    fields = await _small_form(request)
    typed = {k: v for k, v in fields.items() if k != "csrf"}
    if fields.get("_terlalu_besar"):
        return await _lacak_page(request, conn, laporan_id, {}, "Isian terlalu panjang.", 413)
    if not _csrf_ok(request, fields):
        return await _lacak_page(request, conn, laporan_id, typed, "Formulir ini sudah kedaluwarsa. Isian Anda "
                                 "masih ada: tekan Kirim penilaian lagi.", 403)
    if await _limited(conn, settings, request):
        return await _lacak_page(request, conn, laporan_id, typed, "Terlalu banyak percobaan. Tunggu sebentar, "
                                 "lalu kirim lagi.", 429)
    skor = fields.get("nilai") or ""
    if skor not in ("1", "2", "3", "4") or not is_row_id(laporan_id):
        return await _lacak_page(request, conn, laporan_id, typed, "Pilih nilai 1 sampai 4.", 422)
    buka = fields.get("buka_kembali") == "ya"
    if buka and int(skor) > 2:
        return await _lacak_page(request, conn, laporan_id, typed, "Laporan hanya dapat dibuka kembali dengan "
                                 "nilai 1 atau 2 (masalah belum beres).", 422)
    try:
        await siklus.nilai(conn, dari_katalog(), int(laporan_id), fields.get("kode_lacak") or "", int(skor),
                           fields.get("komentar") or "", buka, Actor("web", "lacak", None, client_address(request)))
    except NotFound:
        return await _lacak_page(request, conn, laporan_id, typed, None, 404)
    except Conflict as exc:
        msg = ("Laporan ini sudah dinilai." if "already" in exc.detail else
               "Laporan ini belum selesai ditangani; penilaian dapat diberikan setelah selesai.")
        return await _lacak_page(request, conn, laporan_id, typed, msg, 409)
    except SatuPetaError as exc:
        msg = ("Kode lacak tidak cocok dengan laporan ini. Periksa kode yang Anda simpan saat melapor."
               if exc.status == 403 else "Periksa isian lalu kirim lagi.")
        return await _lacak_page(request, conn, laporan_id, typed, msg, exc.status if exc.status < 500 else 400)
    return RedirectResponse(f"/lacak/{int(laporan_id)}?ok=dinilai", status_code=303, headers=_HEADERS)


@router.post("/lacak/{laporan_id}/komentar", response_class=HTMLResponse, summary="The reporter adds a comment")
async def lacak_komentar(request: Request, laporan_id: str, pool: Pool, settings: AppSettings, heavy: Heavy,
                         store: MediaStoreDep) -> Response:
    """With the kode_lacak: a public comment and/or photos on the laporan's history (siklus.komentar_warga).
    The photos are decoded before a connection is borrowed for the one short transaction."""
    async def page(typed: dict[str, str], galat: str | None, status: int) -> HTMLResponse:
        async with pooled(pool) as conn:
            return await _lacak_page(request, conn, laporan_id, typed, galat, status)
    try:
        posted = await media_upload.read_form(request, settings, with_query=False)
    except SatuPetaError as exc:
        return await page({}, _komentar_refusal(exc), exc.status if 400 <= exc.status < 500 else 400)
    typed = {k: v[:3000] for k, v in posted.fields.items() if k != "csrf"}
    posted.uploads = [(n, d) for n, d in posted.uploads if n or d]
    if not _csrf_ok(request, posted.fields):
        return await page(typed, "Formulir ini sudah kedaluwarsa. Isian Anda masih ada: tekan Kirim tanggapan "
                          "lagi.", 403)
    async with pooled(pool) as conn:
        limited = await _limited(conn, settings, request)
    if limited:
        return await page(typed, "Terlalu banyak percobaan. Tunggu sebentar, lalu kirim lagi.", 429)
    if not is_row_id(laporan_id):
        return await page(typed, None, 404)
    try:
        photos = await media_upload.clean_all(posted, settings, heavy)
        async with pooled(pool) as conn, media_upload.stored(conn, store, photos, heavy):
            await siklus.komentar_warga(conn, int(laporan_id), typed.get("kode_lacak") or "",
                                        typed.get("tanggapan") or "", Actor("web", "lacak", None,
                                                                            client_address(request)),
                                        media=[p.entry() for p in photos])
    except NotFound:
        return await page(typed, None, 404)
    except SatuPetaError as exc:
        return await page(typed, _komentar_refusal(exc), exc.status if 400 <= exc.status < 500 else 400)
    return RedirectResponse(f"/lacak/{int(laporan_id)}?ok=tanggapan", status_code=303, headers=_HEADERS)


def _komentar_refusal(exc: SatuPetaError) -> str:
    """Why a comment was refused, in plain Bahasa, naming what to fix."""
    param = exc.extra.get("parameter")
    if exc.status == 403:
        return "Kode lacak tidak cocok dengan laporan ini. Periksa kode yang Anda simpan saat melapor."
    if param == "komentar":
        if "required" in exc.detail:
            return "Tulis tanggapan atau lampirkan foto."
        if "NUL" in exc.detail:
            return "Tanggapan memuat karakter yang tidak dapat disimpan. Hapus karakter itu lalu kirim lagi."
        return f"Tanggapan terlalu panjang: paling banyak {siklus.MAX_CATATAN} huruf. Persingkat lalu kirim lagi."
    if param == "Content-Type":
        return "Kirim tanggapan melalui formulir di halaman ini."
    if param == media_upload.FIELD:
        return ("Foto tidak dapat dipakai. Gunakan foto JPEG, PNG atau WebP, paling banyak 5 foto dan masing-masing "
                "paling besar 10 MB.")
    if exc.status == 413:
        return "Isian terlalu panjang. Persingkat tanggapan lalu kirim lagi."
    return halaman.pesan(exc, halaman.FormData())
