"""The LAKSA working-day clock (issue 16): calendar cases and the SP4N-LAPOR! stages, as pure functions."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from geo_api.catalogue import DEFAULT_PATH, read
from geo_api.errors import DataError
from geo_api.laksa import tahap
from geo_api.laksa.kalender import WIB, Kalender, dari_katalog


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """An instant written in WIB."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


def end_of(y: int, m: int, d: int) -> datetime:
    """The last instant of that day in WIB (23:59:59.999999), the deadline's form."""
    return wib(y, m, d, 23, 59, 59).replace(microsecond=999999)


@pytest.fixture(scope="module")
def kal() -> Kalender:
    """The calendar of the bundled catalogue (holidays ID + the city's cuti bersama)."""
    return dari_katalog()


CASES = [
    # (why, received, working days, deadline)
    ("an ordinary Tuesday: Wed, Thu, Fri", wib(2026, 11, 3, 10), 3, end_of(2026, 11, 6)),
    ("a Friday: the weekend is skipped", wib(2026, 11, 6, 10), 3, end_of(2026, 11, 11)),
    ("the Friday before the long weekend of 17 Agustus (a Monday)", wib(2026, 8, 14, 15), 3, end_of(2026, 8, 20)),
    ("a Saturday: counting starts on Monday", wib(2026, 11, 7, 9), 3, end_of(2026, 11, 11)),
    ("Idul Fitri 1447 H with its cuti bersama (20, 23, 24 March) and Nyepi (19 March)",
     wib(2026, 3, 19, 9), 3, end_of(2026, 3, 27)),
    ("follow-up due 5 hari kerja across Nyepi, Idul Fitri and its cuti bersama", wib(2026, 3, 17, 8), 5,
     end_of(2026, 3, 31)),
    ("23:59 WIB on a Thursday is still Thursday", wib(2026, 11, 5, 23, 59), 3, end_of(2026, 11, 10)),
    ("00:00:30 WIB on Friday (still Thursday in UTC) is Friday", wib(2026, 11, 6, 0, 0, 30), 3, end_of(2026, 11, 11)),
    ("auto-close 10 hari kerja across Christmas, its cuti bersama (24 Dec), New Year and Isra Mi'raj (5 Jan 2027)",
     wib(2026, 12, 18, 12), 10, end_of(2027, 1, 7)),
]


@pytest.mark.parametrize(("why", "received", "n", "due"), CASES, ids=[c[0] for c in CASES])
def test_deadline_in_working_days(kal, why, received, n, due):
    assert kal.tambah(received, n) == due, why
    assert kal.tambah(received.astimezone(timezone.utc), n) == due  # the same instant in UTC, the same day


def test_2359_wib_and_the_next_minute_differ_though_the_utc_day_is_the_same(kal):
    before, after = wib(2026, 11, 5, 23, 59), wib(2026, 11, 6, 0, 1)
    assert before.astimezone(timezone.utc).date() == after.astimezone(timezone.utc).date()
    assert kal.tambah(before, 1) == end_of(2026, 11, 6) and kal.tambah(after, 1) == end_of(2026, 11, 9)


def test_the_last_second_of_the_due_day_is_on_time(kal):
    """A stage met at 23:59:59.5 WIB on its due day is met in time: the deadline is the end of that day, not the
    start of its last second; the next day's first instant is late."""
    received = wib(2026, 11, 3, 10)
    jam = tahap.jam_baru(kal, received, 5)
    last = wib(2026, 11, 6, 23, 59, 59).replace(microsecond=500000)
    assert jam["disposisi_due"] == end_of(2026, 11, 6)
    assert tahap.terlambat(jam, last) == [] and tahap.terlambat(jam, wib(2026, 11, 7)) == ["disposisi"]
    met = tahap.setelah_status(kal, jam, "investigating", last, 5)
    assert met["disposisi_at"] <= met["disposisi_due"]  # what the dashboard counts as on time


def test_holiday_sources(kal):
    assert kal.libur(date(2026, 8, 17))  # national (holidays package, ID)
    assert kal.libur(date(2026, 3, 23)) == "cuti bersama"  # from the catalogue
    assert kal.libur(date(2026, 11, 7)) == "akhir pekan"
    assert kal.hari_kerja(date(2026, 11, 9))
    assert not Kalender().libur(date(2026, 3, 23)) and Kalender().hari_kerja(date(2026, 3, 23))  # without cuti


def test_redispatch_restarts_the_clock(kal):
    """Received Monday; moved to another OPD on Wednesday: its dispatch stage is due 3 hari kerja after the
    re-dispatch, not after receipt, and expected_datetime is recomputed from the category target."""
    first = tahap.jam_baru(kal, wib(2026, 11, 2, 10), 14)
    assert first["disposisi_due"] == end_of(2026, 11, 5)
    moved = tahap.jam_baru(kal, wib(2026, 11, 4, 15), 14)
    assert moved["disposisi_due"] == end_of(2026, 11, 9) and moved["disposisi_at"] is None
    assert moved["expected_at"] == kal.tambah(wib(2026, 11, 4, 15), 14) > first["expected_at"]


def test_stages_follow_the_statuses(kal):
    t0 = wib(2026, 11, 2, 10)
    jam = tahap.jam_baru(kal, t0, 7)
    assert tahap.terlambat(jam, wib(2026, 11, 5, 23)) == []
    assert tahap.terlambat(jam, wib(2026, 11, 6, 0, 0, 1)) == ["disposisi"]
    t1 = wib(2026, 11, 3, 9)
    jam = tahap.setelah_status(kal, jam, "investigating", t1, 7)
    assert jam["disposisi_at"] == t1 and jam["tindak_lanjut_due"] == end_of(2026, 11, 10)
    assert jam["tindak_lanjut_at"] is None and tahap.terlambat(jam, wib(2026, 11, 11, 8)) == ["tindak_lanjut"]
    t2 = wib(2026, 11, 10, 9)
    jam = tahap.setelah_status(kal, jam, "fixed", t2, 7)
    assert jam["tindak_lanjut_at"] == t2 and jam["tutup_due"] == end_of(2026, 11, 24) and jam["tutup_at"] is None
    assert tahap.terlambat(jam, wib(2027, 1, 1)) == []
    t3 = wib(2026, 11, 12, 9)
    jam = tahap.setelah_status(kal, jam, "reopened", t3, 7)
    assert jam["tahap_mulai"] == t3 and jam["disposisi_at"] is None and jam["tutup_due"] is None
    assert jam["disposisi_due"] == end_of(2026, 11, 17)


def test_open_straight_to_fixed_meets_both_stages(kal):
    t = wib(2026, 11, 2, 10)
    jam = tahap.setelah_status(kal, tahap.jam_baru(kal, t, None), "fixed", t, None)
    assert jam["disposisi_at"] == t and jam["tindak_lanjut_at"] == t and jam["expected_at"] is None


def _catalogue_with(tmp_path: Path, cuti: list) -> Path:
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["cuti_bersama"] = cuti
    p = tmp_path / "katalog.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def test_catalogue_cuti_bersama_is_validated_on_load(tmp_path):
    assert len(read().cuti_bersama) >= 3
    with pytest.raises(DataError, match="weekend"):
        read(_catalogue_with(tmp_path, [{"tanggal": "2026-03-21"}]))  # a Saturday
    with pytest.raises(DataError, match="more than once"):
        read(_catalogue_with(tmp_path, [{"tanggal": "2026-03-20"}, {"tanggal": "2026-03-20"}]))
    with pytest.raises(DataError, match="cuti_bersama"):
        read(_catalogue_with(tmp_path, [{"tanggal": "kemarin"}]))
    ok = read(_catalogue_with(tmp_path, [{"tanggal": "2027-01-04", "keterangan": "uji"}]))
    assert [c.tanggal for c in ok.cuti_bersama] == [date(2027, 1, 4)]
    assert dari_katalog(_catalogue_with(tmp_path, [{"tanggal": "2027-01-04"}])).libur(date(2027, 1, 4))
