"""Working days (hari kerja) in Asia/Jakarta: Monday-Friday minus Indonesia's national holidays (the `holidays`
package, country ID) and the city's cuti bersama (decreed each year; in the catalogue file the city edits).

A deadline of n working days after an instant is the end (23:59:59.999999 WIB) of the n-th working day after the day
the instant falls on in WIB; the day itself is never counted (SP4N-LAPOR! counts whole days after receipt).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

WIB = ZoneInfo("Asia/Jakarta")
END_OF_DAY = time(23, 59, 59, 999999)  # the whole last second of the day is still that day
MAX_HARI = 365 * 3  # no target or stage is longer; bounds the day walk


@dataclass(frozen=True)
class Kalender:
    """The working-day calendar: national holidays from `holidays` plus the given cuti bersama dates."""

    cuti_bersama: frozenset[date] = frozenset()
    _libur: holidays.HolidayBase = field(default_factory=lambda: holidays.country_holidays("ID"), compare=False,
                                         repr=False)

    def libur(self, d: date) -> str | None:
        """Why `d` is not a working day (weekend, national holiday name, cuti bersama), or None if it is one."""
        if d.weekday() >= 5:
            return "akhir pekan"
        if d in self.cuti_bersama:
            return "cuti bersama"
        return self._libur.get(d)

    def hari_kerja(self, d: date) -> bool:
        """True when `d` is a working day."""
        return self.libur(d) is None

    def tambah(self, t: datetime, n: int) -> datetime:
        """The deadline n working days after instant t: the end of the n-th working day after t's WIB day."""
        if t.tzinfo is None:
            raise ValueError("t must be timezone-aware")
        if not 0 <= n <= MAX_HARI:
            raise ValueError(f"n must be between 0 and {MAX_HARI}")
        d = t.astimezone(WIB).date()
        left = n
        while left:
            d += timedelta(days=1)
            if self.hari_kerja(d):
                left -= 1
        if n == 0 and not self.hari_kerja(d):
            d = self.berikut(d)
        return datetime.combine(d, END_OF_DAY, WIB).astimezone(timezone.utc)

    def berikut(self, d: date) -> date:
        """The first working day on or after d."""
        for _ in range(MAX_HARI):
            if self.hari_kerja(d):
                return d
            d += timedelta(days=1)
        raise ValueError("no working day within three years")

    def antara(self, a: datetime, b: datetime) -> int:
        """Working days after a's WIB day up to and including b's WIB day (0 when b is not later)."""
        da, db = a.astimezone(WIB).date(), b.astimezone(WIB).date()
        n, d = 0, da
        while d < db and n <= MAX_HARI:
            d += timedelta(days=1)
            n += self.hari_kerja(d)
        return n


def dari_tanggal(cuti: Iterable[date]) -> Kalender:
    """A calendar with these cuti bersama dates."""
    return Kalender(frozenset(cuti))


@lru_cache(maxsize=4)
def _dari_file(path: str, mtime_ns: int) -> Kalender:
    from geo_api.catalogue import read

    return dari_tanggal(c.tanggal for c in read(Path(path)).cuti_bersama)


def dari_katalog(path: Path | None = None) -> Kalender:
    """The calendar with the cuti bersama of the catalogue file (re-read when the file changes)."""
    from geo_api.catalogue import DEFAULT_PATH

    p = Path(path or DEFAULT_PATH)
    return _dari_file(str(p), p.stat().st_mtime_ns)
