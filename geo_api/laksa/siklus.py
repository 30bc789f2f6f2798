"""The life of a laporan after intake: status changes with public and internal notes, re-dispatch (disposisi),
the reporter's rating, and the periodic job that escalates overdue stages and closes unanswered laporan.

Each write locks the laporan row, decides with the pure functions of geo_api.laksa.tahap, writes the laporan,
one history row (laporan_status) and its audit row in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geo_api.audit import Actor, record_by
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import Conflict, Forbidden, InvalidParameter, NotFound
from geo_api.laksa import tahap
from geo_api.laksa.kalender import WIB, Kalender

log = logging.getLogger("satupeta.laksa")
MAX_CATATAN = 2000
KODE_OPD = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")  # as opd.kode's check: anything else is no OPD
LAKSA_DESK = "meja LAKSA (Diskominfo)"


def kode_lacak_baru() -> tuple[str, str]:
    """A new tracking code for the reporter and the sha256 the database keeps (the code itself never is)."""
    kode = secrets.token_urlsafe(18)
    return kode, hash_kode(kode)


def hash_kode(kode: str) -> str:
    """The stored form of a tracking code (text that is not UTF-8, a lone surrogate, hashes as replaced: no match)."""
    return hashlib.sha256(kode.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _tgl(t: datetime) -> str:
    return t.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


async def _lock(conn: psycopg.AsyncConnection, laporan_id: int) -> dict[str, Any]:
    row = await fetch_one(conn, "laksa_kunci", {"id": laporan_id})
    if row is None:
        raise NotFound(f"No laporan {laporan_id}")
    return row


def _reporter(row: dict[str, Any], kode_lacak: str) -> None:
    """403 unless kode_lacak is this laporan's tracking code (compared as hashes, in constant time)."""
    if not row["kode_lacak_hash"] or not hmac.compare_digest(row["kode_lacak_hash"], hash_kode(kode_lacak or "")):
        raise Forbidden("kode_lacak does not match this laporan")


def _state(row: dict[str, Any]) -> dict[str, Any]:
    """The audit's before/after: status, holder and clock (no reporter data, no tracking hash)."""
    keys = ("status", "status_notes", "opd_kode", "jumlah_disposisi", *tahap.JAM)
    return {k: row.get(k) for k in keys}


async def _write(conn: psycopg.AsyncConnection, row: dict[str, Any], pada: datetime) -> None:
    await fetch_one(conn, "laksa_simpan", {**row, "alasan": Jsonb(row["alasan"]), "pada": pada})


async def _history(conn: psycopg.AsyncConnection, laporan_id: int, status: str, jenis: str, catatan: str,
                   actor: Actor | None, opd_kode: str, pada: datetime, catatan_internal: str = "",
                   media: list[dict[str, Any]] | None = None) -> int:
    row = await fetch_one(conn, "laksa_riwayat_insert", {
        "laporan_id": laporan_id, "status": status, "jenis": jenis, "catatan": catatan[:MAX_CATATAN],
        "catatan_internal": catatan_internal[:MAX_CATATAN], "oleh": actor.label[:200] if actor else "sistem:laksa",
        "api_key_id": actor.key_id if actor else None, "opd_kode": opd_kode, "media": Jsonb(media or []),
        "pada": pada})
    return row["id"]


def _note(name: str, value: str) -> str:
    value = value or ""
    if len(value) > MAX_CATATAN:
        raise InvalidParameter(name, f"{name} is longer than {MAX_CATATAN} characters")
    if "\x00" in value:  # PostgreSQL text cannot hold it: the client's error, named, before any write
        raise InvalidParameter(name, f"{name}: a NUL character is not allowed")
    return value


async def statuses(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Every status with its Open311 mapping, name and allowed next states (the transitions are data)."""
    out = []
    for s in await fetch_all(conn, "laksa_status_kode"):
        nxt = [r["ke"] for r in await fetch_all(conn, "laksa_transisi", {"dari": s["kode"]})]
        out.append({"kode": s["kode"], "open311": s["open311"], "nama": s["nama"], "berikutnya": nxt})
    return out


async def ubah_status(conn: psycopg.AsyncConnection, kal: Kalender, laporan_id: int, status: str, catatan: str,
                      actor: Actor, *, catatan_internal: str = "", media: list[dict[str, Any]] | None = None,
                      now: datetime | None = None) -> int:
    """Move a laporan to `status` if its transitions allow it (409 naming the allowed next states otherwise),
    with a public note, an internal note and photos; updates the stage clock; audited. Returns the history id."""
    catatan, catatan_internal = _note("catatan", catatan), _note("catatan_internal", catatan_internal)
    pada = now or _now()
    async with conn.transaction():
        row = await _lock(conn, laporan_id)
        allowed = [r["ke"] for r in await fetch_all(conn, "laksa_transisi", {"dari": row["status"]})]
        if status not in allowed:
            known = {s["kode"] for s in await fetch_all(conn, "laksa_status_kode")}
            if status not in known:
                raise InvalidParameter("status", f"status must be one of {', '.join(sorted(known))}")
            raise Conflict(f"Laporan {laporan_id} is {row['status']}; it may move to "
                           f"{', '.join(allowed) or 'no other status'}, not {status}",
                           extra={"current_status": row["status"], "allowed": allowed})
        before = _state(row)
        row.update(tahap.setelah_status(kal, row, status, pada, row["sla_hari_kerja"]))
        row.update(status=status, status_notes=catatan)
        await _write(conn, row, pada)
        hid = await _history(conn, laporan_id, status, "status", catatan, actor, row["opd_kode"], pada,
                             catatan_internal, media)
        await record_by(conn, actor, action="laporan.status", target=f"laporan:{laporan_id}", before=before,
                        after={**_state(row), "riwayat_id": hid})
    return hid


async def disposisi(conn: psycopg.AsyncConnection, kal: Kalender, laporan_id: int, opd: str, alasan: str,
                    actor: Actor, *, now: datetime | None = None) -> int:
    """Re-dispatch a laporan to another OPD (or hand it off to a body outside the city): keeps the reason and the
    decision it overrides, restarts the clock, audited. Returns the history id."""
    alasan = _note("alasan", alasan).strip()
    if not alasan:
        raise InvalidParameter("alasan", "alasan is required: why the laporan goes to another OPD")
    pada = now or _now()
    async with conn.transaction():
        row = await _lock(conn, laporan_id)
        target = await fetch_one(conn, "laksa_opd_get", {"kode": opd[:40]}) if KODE_OPD.fullmatch(opd) else None
        if target is None or not target["aktif"]:
            raise InvalidParameter("opd", f"No active OPD {opd[:40]!r}")
        if target["kode"] == row["opd_kode"]:
            raise InvalidParameter("opd", f"Laporan {laporan_id} is already with {opd}")
        if row["open311"] != "open":
            raise Conflict(f"Laporan {laporan_id} is {row['status']}: only an open laporan can be re-dispatched "
                           f"(reopen it first)", extra={"current_status": row["status"]})
        before = _state(row)
        dari = row["opd_kode"]
        lama = {"opd_kode": dari, "keputusan": row["keputusan"], "rule_id": row["rule_id"],
                "rule_versi": row["rule_versi"], "alasan_teks": row["alasan_teks"]}
        if target["luar_kota"]:
            row.update(tahap.serah_terima(kal, pada))
            status, keputusan = "not_responsible", "serah_terima"
            catatan = (f"Laporan diteruskan ke {target['nama']}, di luar kewenangan Pemerintah Kota Tangerang. "
                       f"Laporan ini akan ditutup otomatis bila tidak ada tanggapan.")
        else:
            row.update(tahap.jam_baru(kal, pada, row["sla_hari_kerja"]))
            status, keputusan = "open", row["keputusan"]
            catatan = f"Laporan dialihkan (disposisi) ke {target['nama']}."
        row.update(status=status, status_notes=catatan, opd_kode=target["kode"], keputusan=keputusan,
                   rule_id=None, rule_versi=None, jumlah_disposisi=row["jumlah_disposisi"] + 1,
                   alasan={**row["alasan"],
                           "disposisi": {"dari": dari, "ke": target["kode"], "pada": pada.isoformat()}},
                   alasan_teks=f"Didisposisi dari {dari} ke {target['kode']} pada {_tgl(pada)}; "
                               f"keputusan sebelumnya: {row['alasan_teks']}"[:2000])
        await _write(conn, row, pada)
        hid = await _history(conn, laporan_id, status, "disposisi", catatan, actor, target["kode"], pada,
                             f"Alasan disposisi: {alasan}")
        await fetch_one(conn, "laksa_disposisi_insert", {
            "laporan_id": laporan_id, "riwayat_id": hid, "dari_opd": dari, "ke_opd": target["kode"], "alasan": alasan,
            "keputusan_lama": Jsonb(lama), "rule_id": lama["rule_id"], "rule_versi": lama["rule_versi"],
            "oleh": actor.label[:200], "pada": pada})
        await record_by(conn, actor, action="laporan.disposisi", target=f"laporan:{laporan_id}", before=before,
                        after={**_state(row), "alasan": alasan, "keputusan_lama": lama, "riwayat_id": hid})
    return hid


async def nilai(conn: psycopg.AsyncConnection, kal: Kalender, laporan_id: int, kode_lacak: str, skor: int,
                komentar: str, buka_kembali: bool, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """The reporter's rating (1-4) of a closed or fixed laporan, once, proven by the tracking code; a rating of 1-2
    with buka_kembali reopens it, any other closes a fixed laporan (the reporter has answered)."""
    if not 1 <= skor <= 4:
        raise InvalidParameter("nilai", "nilai must be 1, 2, 3 or 4")
    komentar = _note("komentar", komentar)
    if buka_kembali and skor > 2:
        raise InvalidParameter("buka_kembali", "buka_kembali: only a rating of 1 or 2 can reopen the laporan")
    pada = now or _now()
    async with conn.transaction():
        row = await _lock(conn, laporan_id)
        _reporter(row, kode_lacak)
        if row["open311"] != "closed":
            raise Conflict(f"Laporan {laporan_id} is {row['status']}: it can be rated once it is fixed or closed",
                           extra={"current_status": row["status"]})
        got = await fetch_one(conn, "laksa_penilaian_insert", {
            "laporan_id": laporan_id, "nilai": skor, "komentar": komentar, "opd_kode": row["opd_kode"],
            "buka_kembali": buka_kembali, "pada": pada})
        if got is None:
            raise Conflict(f"Laporan {laporan_id} has already been rated")
        before = _state(row)
        status = "reopened" if buka_kembali else ("closed" if row["status"] != "closed" else row["status"])
        if status != row["status"]:
            row.update(tahap.setelah_status(kal, row, status, pada, row["sla_hari_kerja"]))
        catatan = f"Pelapor memberi penilaian {skor} dari 4." + (" Laporan dibuka kembali atas permintaan pelapor."
                                                                  if buka_kembali else "")
        row.update(status=status, status_notes=catatan)
        await _write(conn, row, pada)
        hid = await _history(conn, laporan_id, status, "penilaian", catatan, actor, row["opd_kode"], pada,
                             f"Komentar pelapor: {komentar}" if komentar else "")
        await record_by(conn, actor, action="laporan.penilaian", target=f"laporan:{laporan_id}", before=before,
                        after={**_state(row), "nilai": skor, "buka_kembali": buka_kembali, "riwayat_id": hid})
    return {"service_request_id": str(laporan_id), "nilai": skor, "status": status, "update_id": str(hid)}


async def komentar_warga(conn: psycopg.AsyncConnection, laporan_id: int, kode_lacak: str, komentar: str,
                         actor: Actor, *, media: list[dict[str, Any]] | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """The reporter's public comment (and photos) on their laporan, proven by the tracking code: one history
    event at the current status (an Open311 update that changes nothing), its clock untouched; audited."""
    komentar = _note("komentar", (komentar or "").strip())
    if not komentar and not media:
        raise InvalidParameter("komentar", "komentar or a photo is required")
    pada = now or _now()
    async with conn.transaction():
        row = await _lock(conn, laporan_id)
        _reporter(row, kode_lacak)
        catatan = f"Tanggapan pelapor: {komentar}" if komentar else "Pelapor menambahkan foto."
        hid = await _history(conn, laporan_id, row["status"], "komentar", catatan, actor, row["opd_kode"], pada,
                             media=media)
        await record_by(conn, actor, action="laporan.komentar", target=f"laporan:{laporan_id}",
                        after={"riwayat_id": hid, "status": row["status"], "foto": len(media or [])})
    return {"service_request_id": str(laporan_id), "update_id": str(hid), "status": row["status"]}


async def jalankan_jam(conn: psycopg.AsyncConnection, kal: Kalender, actor: Actor, *, now: datetime | None = None,
                       batch: int = 500) -> dict[str, int]:
    """Escalate overdue stages (once per stage and clock: a history event, public in the updates feed) and close
    laporan whose follow-up went unanswered for 10 hari kerja. Idempotent; each laporan audited in its own
    transaction. Returns the counts."""
    now = now or _now()
    counts = {"eskalasi_disposisi": 0, "eskalasi_tindak_lanjut": 0, "tutup_otomatis": 0}
    while True:
        done = 0
        async with conn.transaction():
            ids = [r["id"] for r in await fetch_all(conn, "laksa_jatuh_tempo", {"now": now, "limit": batch})]
            for laporan_id in ids:
                done += await _tick(conn, kal, laporan_id, actor, now, counts)
        if len(ids) < batch or not done:
            return counts


async def _tick(conn: psycopg.AsyncConnection, kal: Kalender, laporan_id: int, actor: Actor, now: datetime,
                counts: dict[str, int]) -> int:
    row = await _lock(conn, laporan_id)
    before, acted, pada = _state(row), [], _now()
    opd = await fetch_one(conn, "laksa_opd_get", {"kode": row["opd_kode"]})
    if row["tutup_at"] is None and row["tutup_due"] and row["tutup_due"] < now and row["status"] in tahap.SELESAI:
        catatan = ("Laporan ditutup otomatis: tidak ada tanggapan pelapor dalam 10 hari kerja setelah tindak "
                   "lanjut (SP4N-LAPOR!).")
        row.update(tahap.setelah_status(kal, row, "closed", now, row["sla_hari_kerja"]))
        row.update(status="closed", status_notes=catatan, tutup_at=now)
        await _history(conn, laporan_id, "closed", "tutup_otomatis", catatan, actor, row["opd_kode"], pada)
        acted.append("tutup_otomatis")
    elif row["tutup_at"] is None and row["tutup_due"] and row["tutup_due"] < now:
        row["tutup_at"] = now  # no longer answered-and-waiting (closed by hand or moved on): nothing to close
    for stage, kepada in (("disposisi", LAKSA_DESK), ("tindak_lanjut", f"kepala {opd['nama']}")):
        if stage in tahap.terlambat(row, now) and row[f"{stage}_eskalasi_at"] is None:
            label = "disposisi (3 hari kerja)" if stage == "disposisi" else "tindak lanjut (5 hari kerja)"
            catatan = (f"Batas waktu tahap {label} terlewati ({_tgl(row[f'{stage}_due'])}); "
                       f"laporan dieskalasi ke {kepada}.")
            row[f"{stage}_eskalasi_at"] = now
            await _history(conn, laporan_id, row["status"], "eskalasi", catatan, actor, row["opd_kode"], pada)
            acted.append(f"eskalasi_{stage}")
    if not acted and _state(row) == before:
        return 1
    await _write(conn, row, pada)
    for a in acted:
        counts[a] += 1
    # every change is audited, also a clock closed with nothing to do (tindakan empty)
    await record_by(conn, actor, action="laporan.jam", target=f"laporan:{laporan_id}", before=before,
                    after={**_state(row), "tindakan": acted})
    return 1
