"""The OPD dashboard figures: SLA compliance per SP4N-LAPOR! stage, overdue now, re-dispatches, and IKM (indeks
kepuasan masyarakat: mean rating on the 1-4 scale of PermenPANRB 14/2017, times 25) with its number of ratings."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any

import psycopg

from geo_api.db import fetch_all

KOLOM = ("opd_kode", "opd_nama", "laporan", "terbuka", "disposisi_tepat_persen", "tindak_lanjut_tepat_persen",
         "terlambat", "ditutup", "disposisi_keluar", "disposisi_masuk", "ikm", "penilaian")


def _persen(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def figures(row: dict[str, Any]) -> dict[str, Any]:
    """One OPD's dashboard line from its counts (pure)."""
    return {**row,
            "disposisi_tepat_persen": _persen(row["disposisi_tepat"], row["disposisi_dipenuhi"]),
            "tindak_lanjut_tepat_persen": _persen(row["tindak_lanjut_tepat"], row["tindak_lanjut_dipenuhi"]),
            "ikm": round(row["nilai_rata"] * 25, 1) if row["penilaian"] else None}


async def per_opd(conn: psycopg.AsyncConnection, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every OPD with laporan, re-dispatches or ratings, with its figures (aggregates only: no laporan content)."""
    rows = await fetch_all(conn, "laksa_dasbor", {"now": now or datetime.now(timezone.utc)})
    return [figures(r) for r in rows]


def csv_text(rows: list[dict[str, Any]]) -> str:
    """The dashboard table as CSV, the columns of KOLOM."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=KOLOM, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in KOLOM})
    return out.getvalue()


async def disposisi_per_rule(conn: psycopg.AsyncConnection) -> dict[int, int]:
    """How many re-dispatches overrode each rule's decision."""
    return {r["rule_id"]: r["jumlah_disposisi"] for r in await fetch_all(conn, "laksa_disposisi_per_rule")}
