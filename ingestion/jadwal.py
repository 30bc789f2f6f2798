"""Collection schedules (jadwal angkut) of disposal sites, and the pickup status a day's visits give them.

The `jadwal` attribute of a site in the sites layer is typed by an OPD in QGIS or a spreadsheet:
one or more windows separated by `;`, each a day part and a time window in WIB::

    setiap hari 05:00-09:00
    Sen,Rab,Jum 06:00-08:00
    Sab 07:00-10:00; Sel 13:00-15:00
    Sen-Jum 22:00-02:00          (a range of days; a window ending before it starts ends the next day)

Days are Sen Sel Rab Kam Jum Sab Min (case does not matter; `setiap hari` or `tiap hari` is every day).
A window belongs to the day it starts on. A pickup is a visit as `ingestion.trips.site_visits` defines it
(dwell inside the geofence). Per window occurrence: a visit arriving inside the window is `tepat_waktu`;
none inside but one after it (until the end of the calendar day the window ends on, or the next window
of the site, whichever is first) is `terlambat`; none at all is `terlewat` once the window is over and
`belum_waktunya` before that. The site's status for the day is the worst of its windows.
Pure functions: no database, no clock (callers pass `now`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")  # Monday .. Sunday, as date.weekday()
_DAY_INDEX = {d.lower(): i for i, d in enumerate(DAYS)}
_EVERY = re.compile(r"^(setiap|tiap)\s+hari$", re.IGNORECASE)
_WINDOW = re.compile(r"^(?P<days>.+?)\s+(?P<h1>\d{1,2})[:.](?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2})[:.](?P<m2>\d{2})$")
MAX_TEXT = 500

TEPAT_WAKTU, TERLAMBAT, TERLEWAT, BELUM = "tepat_waktu", "terlambat", "terlewat", "belum_waktunya"
_RANK = {TEPAT_WAKTU: 0, BELUM: 1, TERLAMBAT: 2, TERLEWAT: 3}
STATUS_TEXT = {TEPAT_WAKTU: "tepat waktu", TERLAMBAT: "terlambat", TERLEWAT: "terlewat", BELUM: "belum waktunya"}


class JadwalError(ValueError):
    """A schedule that does not parse; `window` is the offending part as typed."""

    def __init__(self, window: str, reason: str):
        super().__init__(f"{window!r}: {reason}")
        self.window, self.reason = window, reason


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly window: the weekdays it starts on and minutes after local midnight (end > start; > 1440 spans)."""

    days: frozenset[int]
    start_min: int
    end_min: int
    text: str

    def occurrence(self, d: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The window's interval on day `d` (None when it does not run that weekday)."""
        if d.weekday() not in self.days:
            return None
        midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
        return midnight + timedelta(minutes=self.start_min), midnight + timedelta(minutes=self.end_min)


@dataclass(frozen=True, slots=True)
class Jadwal:
    """A site's schedule: its windows and the text as typed."""

    windows: tuple[Window, ...]
    text: str

    def scheduled_on(self, d: date) -> bool:
        """Whether any window starts on day `d`."""
        return any(d.weekday() in w.days for w in self.windows)


def _days(part: str, window: str) -> frozenset[int]:
    if _EVERY.match(part.strip()):
        return frozenset(range(7))
    out: set[int] = set()
    for item in part.split(","):
        item = item.strip().lower()
        if "-" in item:
            a, _, b = (x.strip() for x in item.partition("-"))
            if a not in _DAY_INDEX or b not in _DAY_INDEX:
                raise JadwalError(window, f"unknown day in {item!r} (days: {' '.join(DAYS)} or 'setiap hari')")
            i, j = _DAY_INDEX[a], _DAY_INDEX[b]
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif item in _DAY_INDEX:
            out.add(_DAY_INDEX[item])
        else:
            raise JadwalError(window, f"unknown day {item!r} (days: {' '.join(DAYS)} or 'setiap hari')")
    return frozenset(out)


def _minutes(h: str, m: str, window: str, *, end: bool) -> int:
    hh, mm = int(h), int(m)
    if mm > 59 or hh > 24 or (hh == 24 and (mm or not end)):
        raise JadwalError(window, f"{h}:{m} is not a time of day (00:00-23:59, 24:00 as an end)")
    return hh * 60 + mm


def parse_window(text: str) -> Window:
    """One window such as `Sen,Rab 06:00-08:00`; raises JadwalError naming it."""
    window = " ".join(text.split())
    m = _WINDOW.match(window)
    if m is None:
        raise JadwalError(window, "expected days and a time window, e.g. 'setiap hari 05:00-09:00' or "
                                  "'Sen,Rab,Jum 06:00-08:00'")
    days = _days(m["days"], window)
    start = _minutes(m["h1"], m["m1"], window, end=False)
    end = _minutes(m["h2"], m["m2"], window, end=True)
    if end == start:
        raise JadwalError(window, "the window is empty (start equals end)")
    if end < start:
        end += 24 * 60  # ends the next day
    return Window(days, start, end, window)


def parse(text: str | None) -> Jadwal | None:
    """A schedule from its text; None for an empty one; raises JadwalError naming the window that fails."""
    if text is None or not str(text).strip():
        return None
    text = str(text)
    if len(text) > MAX_TEXT:
        raise JadwalError(text[:40] + "…", f"longer than {MAX_TEXT} characters")
    parts = [p for p in (x.strip() for x in text.split(";")) if p]
    return Jadwal(tuple(parse_window(p) for p in parts), " ".join(text.split()))


@dataclass(frozen=True, slots=True)
class Pickup:
    """A visit to a site that may count as its pickup: which vehicle, arrival and departure (epoch seconds)."""

    vehicle_id: int
    plat_nomor: str
    arrival: float
    departure: float | None


@dataclass(slots=True)
class WindowResult:
    """One window occurrence on the day: its interval, status and the visit that counts (if any)."""

    window: Window
    start: datetime
    end: datetime
    status: str
    pickup: Pickup | None = None


@dataclass(slots=True)
class DayStatus:
    """A site's pickup status for one day and the windows behind it."""

    status: str
    windows: list[WindowResult] = field(default_factory=list)

    @property
    def pickups(self) -> list[Pickup]:
        """The visits that count, in window order."""
        return [w.pickup for w in self.windows if w.pickup is not None]


def _late_until(occ: list[tuple[Window, datetime, datetime]], k: int, tz: ZoneInfo) -> datetime:
    end = occ[k][2].astimezone(tz)
    limit = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    if end == datetime(end.year, end.month, end.day, tzinfo=tz):  # 24:00 is the end of the day before
        limit = end
    later = [s for _, s, _ in occ if s >= end]
    return min([limit, *later])


def occurrences(jadwal: Jadwal, d: date, tz: ZoneInfo) -> list[tuple[Window, datetime, datetime]]:
    """The windows that start on day `d`, by start time."""
    occ = [(w, *iv) for w in jadwal.windows if (iv := w.occurrence(d, tz)) is not None]
    return sorted(occ, key=lambda o: o[1])


def day_status(jadwal: Jadwal, d: date, tz: ZoneInfo, visits: Sequence[Pickup], now: datetime
               ) -> DayStatus | None:
    """The site's status on day `d` from the visits (any order) and the current time; None if not scheduled."""
    occ = occurrences(jadwal, d, tz)
    if not occ:
        return None
    left = sorted(visits, key=lambda v: v.arrival)
    results: list[WindowResult] = []
    for k, (w, start, end) in enumerate(occ):
        lo, hi = start.timestamp(), end.timestamp()
        inside = next((v for v in left if lo <= v.arrival < hi), None)
        if inside is not None:
            left.remove(inside)
            results.append(WindowResult(w, start, end, TEPAT_WAKTU, inside))
            continue
        if now < end:
            results.append(WindowResult(w, start, end, BELUM))
            continue
        until = _late_until(occ, k, tz).timestamp()
        late = next((v for v in left if hi <= v.arrival < until), None)
        if late is not None:
            left.remove(late)
            results.append(WindowResult(w, start, end, TERLAMBAT, late))
        else:
            results.append(WindowResult(w, start, end, TERLEWAT))
    status = max((r.status for r in results), key=_RANK.__getitem__)
    return DayStatus(status, results)


def visit_span(jadwal: Jadwal, d: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The span of fixes whose visits can count for day `d`: its midnight to the end of its last late period."""
    lo = datetime(d.year, d.month, d.day, tzinfo=tz)
    hi = lo + timedelta(days=1)
    for _, _, end in occurrences(jadwal, d, tz):
        e = end.astimezone(tz)
        hi = max(hi, datetime(e.year, e.month, e.day, tzinfo=tz) + timedelta(days=1))
    return lo, hi


def check_layer(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A layer about to be published: every `jadwal` value must parse (422 naming the feature and the window)."""
    from geo_api.errors import InvalidParameter

    if "jadwal" not in columns:
        return
    k = list(columns).index("jadwal")
    nama = list(columns).index("nama") if "nama" in columns else None
    for i, row in enumerate(rows):
        value = row[k]
        try:
            parse(None if value is None else str(value))
        except JadwalError as exc:
            label = f" ({row[nama]})" if nama is not None and row[nama] is not None else ""
            raise InvalidParameter(
                "jadwal", f"feature {i + 1}{label}: jadwal window {exc.window!r} does not parse: {exc.reason}",
                extra={"feature": i + 1, "nama": None if nama is None else row[nama], "window": exc.window,
                       "reason": exc.reason}) from None
