"""The three SP4N-LAPOR! stages of a laporan as a pure function of its clock and the event that happens to it.

Stages (Perpres 95/2018, PermenPANRB 5/2025), in working days on the Kalender:
- disposisi: verified and taken up by the OPD holding it within 3 hari kerja of receipt (or of a re-dispatch or a
  reopening: the clock restarts); met when that OPD first moves it out of open/reopened.
- tindak lanjut: the OPD's follow-up within 5 hari kerja of dispatch; met at the first status that answers the
  reporter (action_scheduled, in_progress or any Open311-closed status).
- tutup otomatis: a laporan answered with fixed / duplicate / not_responsible / no_further_action that the reporter
  does not answer (rating or reopening) within 10 hari kerja is closed by the periodic job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_api.laksa.kalender import Kalender

DISPOSISI_HK, TINDAK_LANJUT_HK, TUTUP_HK = 3, 5, 10
DITERIMA = frozenset({"open", "reopened"})
MENJAWAB = frozenset({"action_scheduled", "in_progress", "fixed", "duplicate", "not_responsible",
                      "no_further_action", "closed"})
SELESAI = frozenset({"fixed", "duplicate", "not_responsible", "no_further_action"})
JAM = ("tahap_mulai", "disposisi_due", "disposisi_at", "disposisi_eskalasi_at", "tindak_lanjut_due",
       "tindak_lanjut_at", "tindak_lanjut_eskalasi_at", "tutup_due", "tutup_at", "expected_at")


def jam_baru(kal: Kalender, t: datetime, sla_hari_kerja: int | None) -> dict[str, Any]:
    """A fresh clock started at t: dispatch due in 3 hari kerja, the category's target for expected_at."""
    jam: dict[str, Any] = dict.fromkeys(JAM)
    jam.update(tahap_mulai=t, disposisi_due=kal.tambah(t, DISPOSISI_HK),
               expected_at=kal.tambah(t, sla_hari_kerja) if sla_hari_kerja else None)
    return jam


def setelah_status(kal: Kalender, jam: Mapping[str, Any], ke: str, t: datetime,
                   sla_hari_kerja: int | None) -> dict[str, Any]:
    """The clock after the laporan moves to status `ke` at t (a reopening restarts it)."""
    if ke == "reopened":
        return jam_baru(kal, t, sla_hari_kerja)
    out = {k: jam.get(k) for k in JAM}
    if out["disposisi_at"] is None and ke not in DITERIMA:
        out["disposisi_at"] = t
        out["tindak_lanjut_due"] = kal.tambah(t, TINDAK_LANJUT_HK)
    if out["tindak_lanjut_at"] is None and ke in MENJAWAB:
        out["tindak_lanjut_at"] = t
    if ke in SELESAI:
        out["tutup_due"], out["tutup_at"] = kal.tambah(t, TUTUP_HK), None
    elif ke == "closed":
        out["tutup_at"] = t
    else:
        out["tutup_due"] = None
    return out


def serah_terima(kal: Kalender, t: datetime) -> dict[str, Any]:
    """The clock of a laporan handed off to a body outside the city: answered now, closes itself later."""
    jam = jam_baru(kal, t, None)
    jam.update(disposisi_at=t, tindak_lanjut_due=kal.tambah(t, TINDAK_LANJUT_HK), tindak_lanjut_at=t,
               tutup_due=kal.tambah(t, TUTUP_HK))
    return jam


def terlambat(jam: Mapping[str, Any], now: datetime) -> list[str]:
    """The stages overdue at `now` and not yet met: 'disposisi' and/or 'tindak_lanjut'."""
    out = []
    if jam.get("disposisi_at") is None and jam.get("disposisi_due") and now > jam["disposisi_due"]:
        out.append("disposisi")
    if jam.get("tindak_lanjut_at") is None and jam.get("tindak_lanjut_due") and now > jam["tindak_lanjut_due"]:
        out.append("tindak_lanjut")
    return out
