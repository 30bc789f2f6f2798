"""Request parsing shared by every router: numbers, coordinates, bboxes and dates, each bounded at the edge.

Every failure raises `error(parameter, detail)` — InvalidParameter (422) by default; OGC passes its
QueryParameterError (400) — so a hostile value is a 4xx problem naming the parameter, never a 500 further in.
Dates are bounded to [MIN_DATE, MAX_DATE]: year 1 and year 9999 are real inputs, and arithmetic on them
(a day's end, a 90-day window) would overflow Python's datetime.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from geo_api.errors import InvalidParameter

MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2199, 12, 31)

Error = type[InvalidParameter]


def _text(raw: str, n: int = 40) -> str:
    return repr(raw[:n])


def parse_number(name: str, raw: str | None, lo: float | None = None, hi: float | None = None, *,
                 required: bool = False, error: Error = InvalidParameter) -> float | None:
    """A finite float within [lo, hi]; None when absent and not required."""
    if raw is None or raw.strip() == "":
        if required:
            raise error(name, f"{name} is required.")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise error(name, f"{name} must be a number, got {_text(raw)}.") from None
    bounded = lo is not None or hi is not None
    if not math.isfinite(value) and not bounded:
        raise error(name, f"{name} must be a finite number, got {_text(raw)}.")
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise error(name, f"{name} must be between {lo} and {hi}, got {_text(raw)}.")
    return value


def is_row_id(raw: str) -> bool:
    """True for a row id as a path carries it: 1 to 18 ASCII digits (str.isdigit also takes '²', which int()
    refuses, and other scripts' digits)."""
    return 1 <= len(raw) <= 18 and raw.isascii() and raw.isdigit()


def parse_int(name: str, raw: str | None, default: int, lo: int, hi: int, *, cap: bool = False,
              error: Error = InvalidParameter) -> int:
    """An integer in [lo, hi]; outside is an error, except above hi with `cap` (OGC `limit`): then hi."""
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise error(name, f"{name} must be an integer, got {_text(raw)}") from None
    if cap and n > hi:
        return hi
    if not lo <= n <= hi:
        raise error(name, f"{name} must be between {lo} and {hi}, got {n}")
    return n


def parse_lat_lon(lat_raw: str | None, lon_raw: str | None, *, lat_name: str = "lat",
                  lon_name: str = "lon") -> tuple[float, float]:
    """Required lat/lon in decimal degrees; out of range names the parameter and suggests the swap when it fits."""
    lat = parse_number(lat_name, lat_raw, required=True)
    lon = parse_number(lon_name, lon_raw, required=True)
    swap = -90 <= lon <= 90 and -180 <= lat <= 180
    if not -90 <= lat <= 90:
        hint = f" It looks like lat and lon are swapped: try {lat_name}={lon}&{lon_name}={lat}." if swap else ""
        raise InvalidParameter(lat_name, f"`{lat_name}` must be between -90 and 90, got {lat}.{hint}",
                               extra={"suggestion": {lat_name: lon, lon_name: lat}} if swap else None)
    if not -180 <= lon <= 180:
        raise InvalidParameter(lon_name, f"`{lon_name}` must be between -180 and 180, got {lon}.")
    return lat, lon


def parse_bbox_numbers(raw: str, name: str = "bbox", *, heights: bool = False,
                       error: Error = InvalidParameter) -> tuple[float, float, float, float]:
    """`a,b,c,d` (or six numbers with heights, when allowed) as four finite numbers, lower corner first."""
    try:
        nums = [float(p) for p in raw.split(",")]
    except ValueError:
        raise error(name, f"{name} must be {'4 or 6' if heights else 'four'} comma-separated numbers") from None
    if len(nums) not in ((4, 6) if heights else (4,)) or not all(math.isfinite(n) for n in nums):
        raise error(name, f"{name} must be {'4 or 6' if heights else 'four'} comma-separated finite numbers")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    return nums[0], nums[1], nums[2], nums[3]


def parse_bbox_wgs84(raw: str, name: str = "bbox", *, error: Error = InvalidParameter
                     ) -> tuple[float, float, float, float]:
    """`minx,miny,maxx,maxy` in EPSG:4326 (lon/lat), inside the world and lower corner first."""
    minx, miny, maxx, maxy = parse_bbox_numbers(raw, name, error=error)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise error(name, f"{name} must be minx<=maxx, miny<=maxy within EPSG:4326 bounds")
    return minx, miny, maxx, maxy


def check_date(name: str, d: date | None, *, error: Error = InvalidParameter) -> date | None:
    """A date within [MIN_DATE, MAX_DATE] (None passes)."""
    if d is not None and not MIN_DATE <= d <= MAX_DATE:
        raise error(name, f"{name} must be between {MIN_DATE} and {MAX_DATE}, got {d.isoformat()}")
    return d


def check_datetime(name: str, dt: datetime | None, *, error: Error = InvalidParameter) -> datetime | None:
    """A datetime whose date lies within [MIN_DATE, MAX_DATE]; a naive one is taken as UTC."""
    if dt is None:
        return None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    try:
        utc_day = dt.astimezone(timezone.utc).date()
    except OverflowError:  # an offset that moves year 1 or 9999 out of datetime's range
        raise error(name, f"{name} must be between {MIN_DATE} and {MAX_DATE}") from None
    check_date(name, utc_day, error=error)
    return dt


def parse_instant(name: str, raw: str | None, *, error: Error = InvalidParameter) -> datetime | None:
    """An RFC 3339 / W3C date-time (`Z` or an offset; naive is UTC) or a plain date (its midnight UTC), bounded."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return check_datetime(name, datetime(d.year, d.month, d.day, tzinfo=timezone.utc), error=error)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise error(name, f"{_text(text)} is not an RFC 3339 date-time like 2026-01-31T00:00:00Z") from None
    return check_datetime(name, dt, error=error)


def day_bounds(d: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day `d` as [midnight, next midnight) in `tz`."""
    lo = datetime(d.year, d.month, d.day, tzinfo=tz)
    return lo, lo + timedelta(days=1)


def in_date_bounds(d: date | None) -> date | None:
    """A pydantic AfterValidator for typed date parameters: outside [MIN_DATE, MAX_DATE] is a 422 naming it."""
    if d is not None and not MIN_DATE <= d <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return d
