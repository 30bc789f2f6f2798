"""OPD routing: the dry run (POST /routing/explain), the rules admin API, and laporan follow-up for OPDs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geo_api import media_upload
from geo_api.audit import Actor
from geo_api.db import fetch_one, pooled
from geo_api.deps import (
    AdminKey,
    AppSettings,
    BriefKey,
    Conn,
    CurrentKey,
    GeocoderDep,
    Heavy,
    MediaStoreDep,
    Pool,
    RoutingRules,
)
from geo_api.errors import Forbidden, NotFound
from geo_api.laksa import dasbor, siklus
from geo_api.laksa.kalender import dari_katalog
from geo_api.routing import laporan, store
from geo_api.routing.service import route

router = APIRouter(prefix="/routing", tags=["routing"])
OFFICER_ROLES = frozenset({"opd_officer", "gis_admin"})
# a laporan id the database can hold (bigint): anything larger is a 422 naming it, not a database error
LaporanId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="the laporan's id")]


class ExplainIn(BaseModel):
    """A dry run: which OPD would get a laporan of this category at this point, and why."""

    category: str = Field(min_length=1, max_length=40, description="service_code of the category")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ExplainOut(BaseModel):
    """The decision: OPD, how it was decided, the rule version, the sentence and the structured evidence."""

    opd_kode: str
    opd_nama: str
    keputusan: Literal["aturan", "triase", "serah_terima"]
    rule_id: int | None
    rule_versi: int | None
    alasan_teks: str
    alasan: dict[str, Any]


class StatusEntry(BaseModel):
    """One event of a laporan's history (intake, status change, disposisi, escalation, auto-close, rating, the
    reporter's comment: jenis diterima, status, disposisi, eskalasi, tutup_otomatis, penilaian, komentar)."""

    id: int | None = None
    status: str
    jenis: str = "status"
    catatan: str | None = None
    catatan_internal: str | None = None
    oleh: str | None = None
    opd_kode: str | None = None
    media: list[dict[str, Any]] = Field(default_factory=list)
    pada: str


class DisposisiEntry(BaseModel):
    """One re-dispatch: from, to, why, by whom, and the routing decision it overrode."""

    dari_opd: str
    ke_opd: str
    alasan: str
    keputusan_lama: dict[str, Any]
    oleh: str
    pada: str


class LaporanOpd(BaseModel):
    """A laporan as the OPD handling it reads it: routing evidence and history, never the reporter's name,
    phone, email or own address text (declared here once, so a column added to the query cannot leak)."""

    id: int
    layanan_kode: str
    status: str
    status_notes: str | None
    opd_kode: str
    opd_nama: str
    rule_id: int | None
    rule_versi: int | None
    keputusan: str
    alasan: dict[str, Any]
    alasan_teks: str
    kelurahan_kode: str | None
    kecamatan_kode: str | None
    kabkota_kode: str | None
    kemungkinan_duplikat_dari: int | None
    jarak_duplikat_m: float | None
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    status_open311: str
    tahap_mulai: datetime | None
    disposisi_due: datetime | None
    disposisi_at: datetime | None
    disposisi_eskalasi_at: datetime | None
    tindak_lanjut_due: datetime | None
    tindak_lanjut_at: datetime | None
    tindak_lanjut_eskalasi_at: datetime | None
    tutup_due: datetime | None
    tutup_at: datetime | None
    jumlah_disposisi: int
    terlambat: list[str] = Field(default_factory=list, description="stages overdue now: disposisi, tindak_lanjut")
    riwayat_status: list[StatusEntry]
    disposisi: list[DisposisiEntry]
    duplikat: list[int]


class StatusIn(BaseModel):
    """A status change by the OPD handling the laporan: `catatan` is public (Open311, the updates feed),
    `catatan_internal` is for the OPD and the LAKSA desk only. The allowed statuses are data (GET
    /routing/status); an illegal move is 409 naming the allowed next states."""

    status: str = Field(min_length=1, max_length=40)
    catatan: str = Field(default="", max_length=2000)
    catatan_internal: str = Field(default="", max_length=2000)


class DisposisiIn(BaseModel):
    """Hand a laporan to another OPD (or to a body outside the city) with the reason."""

    opd: str = Field(min_length=1, max_length=40, description="kode of the OPD that takes the laporan over")
    alasan: str = Field(min_length=1, max_length=2000, description="why the routing decision is overridden")


async def _officer(key: CurrentKey) -> dict:
    if key["role"] not in OFFICER_ROLES:
        raise Forbidden(f"This needs the opd_officer or gis_admin role; key {key['name']!r} has {key['role']!r}")
    return key


OfficerKey = Annotated[dict, Depends(_officer)]


@router.post("/explain", response_model=ExplainOut)
async def explain(body: ExplainIn, conn: Conn, rules: RoutingRules, geo: GeocoderDep) -> ExplainOut:
    """Route without storing anything: the OPD, the matched rule, the location facts, the rules passed over."""
    routing = await rules.get(conn)
    k = await route(conn, routing, geo.reverse, body.category, body.lat, body.lon)
    return ExplainOut(opd_kode=k.opd_kode, opd_nama=k.opd_nama, keputusan=k.keputusan, rule_id=k.rule_id,
                      rule_versi=k.rule_versi, alasan_teks=k.teks, alasan=k.alasan)


@router.get("/rules")
async def list_rules(conn: Conn, _key: AdminKey,
                     layanan: Annotated[str | None, Query(max_length=40)] = None) -> list[dict[str, Any]]:
    """Every rule at its current version (those that can route `layanan` when given), with how often a
    re-dispatch overrode it (jumlah_disposisi)."""
    rules = await store.list_rules(conn, layanan)
    counts = await dasbor.disposisi_per_rule(conn)
    return [{**r, "jumlah_disposisi": counts.get(r["id"], 0)} for r in rules]


@router.get("/rules/{rule_id}")
async def get_rule(rule_id: int, conn: Conn, _key: AdminKey) -> dict[str, Any]:
    """One rule with all its versions."""
    return await store.get(conn, rule_id)


@router.post("/rules", status_code=201)
async def add_rule(spec: store.RuleSpec, request: Request, conn: Conn, key: AdminKey) -> dict[str, Any]:
    """Add a rule (version 1)."""
    return await store.add(conn, spec, Actor.from_key(key, request))


@router.patch("/rules/{rule_id}")
async def change_rule(rule_id: int, changes: dict[str, Any], request: Request, conn: Conn,
                      key: AdminKey) -> dict[str, Any]:
    """Change a rule: a new version; laporan already routed keep the version that routed them."""
    return await store.change(conn, rule_id, changes, Actor.from_key(key, request))


async def _own_laporan(conn: Conn, key: dict, laporan_id: int) -> None:
    """An officer key acts on the laporan of the OPD it is bound to, or of every OPD when that was chosen
    explicitly (semua_opd: the LAKSA desk); bound to neither, on none. gis_admin keys act on any."""
    if key["role"] == "gis_admin":
        return
    row = await fetch_one(conn, "routing_key_opd", {"key_id": key["id"], "laporan_id": laporan_id})
    if row["laporan_opd"] is None:
        raise NotFound(f"No laporan {laporan_id}")
    if row["key_semua_opd"]:
        return
    if row["key_opd"] is None:
        raise Forbidden(f"Key {key['name']!r} is bound to no OPD: bind it with `satupeta keys bind` (--opd KODE, "
                        f"or --semua-opd for every OPD)")
    if row["key_opd"] != row["laporan_opd"]:
        raise Forbidden(f"Laporan {laporan_id} is handled by {row['laporan_opd']}; key {key['name']!r} acts for "
                        f"{row['key_opd']}")


@router.get("/laporan/{laporan_id}", response_model=LaporanOpd)
async def get_laporan(laporan_id: LaporanId, conn: Conn, key: OfficerKey) -> dict[str, Any]:
    """A laporan with its routing evidence, status history and likely duplicates (no reporter contact)."""
    await _own_laporan(conn, key, laporan_id)
    return await laporan.detail(conn, laporan_id)


@router.post("/laporan/{laporan_id}/status", response_model=LaporanOpd,
             openapi_extra=media_upload.multipart_schema(StatusIn))
async def set_status(laporan_id: LaporanId, request: Request, pool: Pool, key: BriefKey, settings: AppSettings,
                     heavy: Heavy, store: MediaStoreDep) -> dict[str, Any]:
    """Move a laporan to a status its transitions allow, with a public and an internal note: a JSON body, or
    multipart/form-data with the same fields and "after" photos as `media` parts (kept on this history entry).

    The photos are decoded and re-encoded before a connection is borrowed for the one short transaction."""
    await _officer(key)
    async with pooled(pool) as conn:
        await _own_laporan(conn, key, laporan_id)
    body, posted = await media_upload.json_or_form(request, settings, StatusIn)
    photos = await media_upload.clean_all(posted, settings, heavy)
    async with pooled(pool) as conn, media_upload.stored(conn, store, photos, heavy):
        await _own_laporan(conn, key, laporan_id)  # again: a disposisi may have moved it meanwhile
        return await laporan.set_status(conn, laporan_id, body.status, body.catatan, Actor.from_key(key, request),
                                        catatan_internal=body.catatan_internal,
                                        media=[p.entry() for p in photos] or None)


@router.post("/laporan/{laporan_id}/disposisi", response_model=LaporanOpd,
             openapi_extra=media_upload.json_schema(DisposisiIn))
async def redispatch(laporan_id: LaporanId, request: Request, conn: Conn, key: OfficerKey) -> dict[str, Any]:
    """Re-dispatch (disposisi): the laporan moves to another OPD (or is handed off outside the city) with the
    reason; the decision it overrides is kept and the SP4N-LAPOR! clock restarts."""
    await _own_laporan(conn, key, laporan_id)
    body: DisposisiIn = await media_upload.json_body(request, DisposisiIn)
    await siklus.disposisi(conn, dari_katalog(), laporan_id, body.opd, body.alasan, Actor.from_key(key, request))
    return await laporan.detail(conn, laporan_id)


@router.get("/status")
async def list_statuses(conn: Conn) -> list[dict[str, Any]]:
    """The laporan statuses, their Open311 mapping and the allowed next states (the transitions are data)."""
    return await siklus.statuses(conn)


@router.get("/dasbor")
async def dashboard(conn: Conn) -> list[dict[str, Any]]:
    """Per OPD: SLA compliance per stage, overdue now, re-dispatches, IKM (mean rating x 25) with n."""
    return await dasbor.per_opd(conn)


class CsvResponse(Response):
    """text/csv (so /openapi.json declares what the CSV export answers)."""

    media_type = "text/csv"


@router.get("/dasbor.csv", response_class=CsvResponse)
async def dashboard_csv(conn: Conn) -> CsvResponse:
    """The dashboard table as CSV (UTF-8, one row per OPD)."""
    return CsvResponse(dasbor.csv_text(await dasbor.per_opd(conn)),
                       headers={"Content-Disposition": 'attachment; filename="dasbor-laksa.csv"'})
