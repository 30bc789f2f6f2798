"""Geocoding for complaints: /geocode/reverse (+ batch), /geocode/search and /geocode/autocomplete.

The indexes live in memory, in the app's GeocoderService (geo_api/geocoding/service.py, reached as
`GeocoderDep`): built from the database on first use, once per process; requests never wait on the database.
The street index follows its published layer: re-indexed in the background after a publish here, or when a
periodic version check sees one from elsewhere (`GeocoderService.reload_streets` is the one entry point).
Validation turns every bad input into a 422/413 problem naming the parameter.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from geo_api.deps import AppSettings, GeocoderDep, ServicesDep
from geo_api.errors import BadRequest, InvalidParameter, PayloadTooLarge, problem
from geo_api.geocoding import Geocoder
from geo_api.geocoding import batch as batch_io
from geo_api.params import parse_lat_lon
from geo_api.settings import Settings

router = APIRouter(prefix="/geocode", tags=["geocode"])
log = logging.getLogger(__name__)


class JSONResponse(Response):
    """application/json via orjson (NumPy-free plain dicts)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise with orjson."""
        return orjson.dumps(content)


class GeoJSONResponse(JSONResponse):
    """application/geo+json."""

    media_type = "application/geo+json"


# ---- validation ------------------------------------------------------------------------------------------------
def _format(f: str | None) -> str:
    f = (f or "json").lower()
    if f not in ("json", "geojson"):
        raise InvalidParameter("f", f"`f` must be json or geojson, got {f[:20]!r}.")
    return f


# ---- reverse ---------------------------------------------------------------------------------------------------
@router.get("/reverse", summary="Which kelurahan (or whose desa) a point is in")
async def reverse(
    geo: GeocoderDep,
    lat: Annotated[str | None, Query(description="Latitude, decimal degrees (about -6.17 in the city)")] = None,
    lon: Annotated[str | None, Query(description="Longitude, decimal degrees (about 106.63 in the city)")] = None,
    f: Annotated[str | None, Query(description="json (default) or geojson (a Feature)")] = None,
) -> Response:
    """Reverse-geocode one point: `inside`, `gap` (nearest within the tolerance) or `overlap` (lowest kode wins);
    outside the city, the neighbouring desa/kelurahan, kecamatan and kab/kota, or the nearest kab/kota."""
    y, x = parse_lat_lon(lat, lon)
    fmt = _format(f)
    answer = reverse_answer(geo, x, y)
    if fmt == "geojson":
        return GeoJSONResponse({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                                "properties": answer})
    return JSONResponse({"lat": y, "lon": x, **answer})


def reverse_answer(geo: Geocoder, lon: float, lat: float) -> dict[str, Any]:
    """The reverse answer for one point, with the overlap's other claimants listed."""
    idx = geo.reverse
    res = idx.lookup([lon], [lat])
    answer = idx.describe(res, 0)
    answer["tolerance_m"] = idx.tolerance_m
    if answer["decision"] == "overlap":
        claimed = [idx.kelurahan[i] for i in idx.overlapping(lon, lat)]
        answer["overlap"] = {"rule": "lowest Kemendagri kode wins",
                             "claimed_by": [{"kode": w.kode, "nama": w.nama} for w in claimed]}
    return answer


@router.post("/reverse/batch", summary="Reverse-geocode many points (GeoJSON FeatureCollection or CSV)")
async def reverse_batch(request: Request, settings: AppSettings, services: ServicesDep, geo: GeocoderDep
                        ) -> Response:
    """Answer a CSV (columns lat, lon; others kept) or a GeoJSON FeatureCollection of Points, in the same format.

    Malformed rows do not fail the batch: the good rows are answered and each bad row carries an `error`
    (CSV column / Feature property), and the response header `X-Geocode-Errors` counts them. At most
    `geocode_batch_max_points` points and `geocode_batch_max_bytes` bytes (413 beyond).
    """
    gate = services.geocoder.batch_gate
    if gate.locked():  # every slot busy: the client retries, memory stays bounded by the slots
        retry = "5"
        resp = problem(503, "Service Unavailable", f"{settings.geocode_batch_concurrency} batch(es) are being "
                       f"geocoded already; retry after {retry} s.", code="service-unavailable",
                       instance=request.url.path, parameter="body")
        resp.headers["Retry-After"] = retry
        return resp
    async with gate:
        return await _reverse_batch(request, settings, geo)


async def _reverse_batch(request: Request, settings: Settings, geo: Geocoder) -> Response:
    body = await _read_bounded(request, settings.geocode_batch_max_bytes)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = settings.geocode_batch_max_points
    try:
        if ctype in ("text/csv", "application/csv", "text/plain"):
            out, n_err = await asyncio.to_thread(batch_io.answer_csv_bytes, geo.reverse, body, limit)
            media = "text/csv; charset=utf-8"
        elif ctype in ("application/json", "application/geo+json", ""):
            out, n_err = await asyncio.to_thread(batch_io.answer_geojson_bytes, geo.reverse, body, limit)
            media = "application/geo+json"
        else:
            raise BadRequest(f"Unsupported Content-Type {ctype!r}: send text/csv or application/geo+json.")
    except batch_io.TooManyPoints as exc:
        raise PayloadTooLarge(str(exc), extra={"limit": limit}) from None
    except batch_io.BatchFormatError as exc:
        raise InvalidParameter("body", str(exc)) from None
    return Response(out, media_type=media, headers={"X-Geocode-Errors": str(n_err)})


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The batch body is {declared} bytes; at most {limit} are accepted.",
                              extra={"limit": limit})
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The batch body exceeds {limit} bytes.", extra={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


# ---- forward -----------------------------------------------------------------------------------------------------
def _text(name: str, value: str | None, max_chars: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if len(value) > max_chars:
        raise PayloadTooLarge(f"`{name}` is {len(value)} characters; at most {max_chars} are accepted.",
                              extra={"parameter": name, "limit": max_chars})
    if required and not value:
        raise InvalidParameter(name, f"`{name}` must not be empty.")
    return value


@router.get("/search", summary="Address text → ranked kelurahan/kecamatan candidates")
async def search(
    settings: AppSettings,
    geo: GeocoderDep,
    q: Annotated[str | None, Query(description="Address as people write it, e.g. "
                                   "'Jl. Kemuning No.5 RT 03/05 Kel. Cibodas Sari, Cibodas'")] = None,
    kelurahan: Annotated[str | None, Query(description="Kelurahan/desa name, if known separately")] = None,
    kecamatan: Annotated[str | None, Query(description="Kecamatan name, if known separately")] = None,
    kodepos: Annotated[str | None, Query(description="Five-digit postcode")] = None,
    limit: Annotated[int, Query(ge=1, le=20, description="Most candidates returned")] = 5,
) -> Response:
    """Forward-geocode an Indonesian address; no candidates (an empty list) when nothing matches well."""
    text = structured_query(q, kelurahan, kecamatan, kodepos, settings.geocode_query_max_chars)
    result = geo.forward.search(text, limit=limit)
    return JSONResponse({"query": text, **result})


def structured_query(q: str | None, kelurahan: str | None, kecamatan: str | None, kodepos: str | None,
                     max_chars: int) -> str:
    """Join q and the structured parameters into one tagged address text (422/413 on bad input)."""
    parts = [_text("q", q, max_chars)]
    kel, kec = _text("kelurahan", kelurahan, 100), _text("kecamatan", kecamatan, 100)
    if kel:
        parts.append(f"kel {kel}")
    if kec:
        parts.append(f"kec {kec}")
    if kodepos is not None and kodepos.strip():
        if not (kodepos.strip().isdigit() and len(kodepos.strip()) == 5):
            raise InvalidParameter("kodepos", f"`kodepos` must be five digits, got {kodepos[:20]!r}.")
        parts.append(kodepos.strip())
    text = ", ".join(p for p in parts if p)
    if not text:
        raise InvalidParameter("q", "Give `q` (the address) or at least one of kelurahan, kecamatan, kodepos.")
    return text


@router.get("/autocomplete", summary="Prefix suggestions for the citizen app (per keystroke)")
async def autocomplete(
    geo: GeocoderDep,
    q: Annotated[str | None, Query(description="What the user has typed so far")] = None,
    limit: Annotated[int, Query(ge=1, le=20, description="Most suggestions returned")] = 8,
) -> Response:
    """Names of kelurahan, kecamatan, kab/kota and POIs starting with (a word starting with) `q`."""
    text = _text("q", q, 100, required=True)
    return JSONResponse({"query": text, "suggestions": geo.forward.autocomplete(text, limit=limit)})
