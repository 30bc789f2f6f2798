"""OsmAnd protocol decoding, as Traccar's OsmAndProtocolDecoder accepts it.

Checked against traccar/traccar `src/main/java/org/traccar/protocol/OsmAndProtocolDecoder.java`:
- parameters come from the URL query; when the query is empty, from the body as a form
  (Traccar decodes the body with QueryStringDecoder whatever its content type);
- `id`/`deviceid` name the device; `timestamp` is Unix seconds when below 2^31-1, else
  milliseconds, else ISO 8601 (contains "T"), else `yyyy-MM-dd HH:mm:ss`; no timestamp → now;
- `lat`, `lon`, or `location=lat,lon`; `speed` in knots (Traccar's internal unit, kept as-is);
  `bearing`/`heading` → course; `altitude`, `accuracy`; `hdop`, `batt` (battery level);
  `valid` (true or "1"); `driverUniqueId`; every other key is kept as an attribute (number,
  boolean or string, as Traccar does);
- a JSON body (recent Traccar Client, transistorsoft format): `device_id`, `location.timestamp`
  (ISO 8601), `location.coords.{latitude,longitude,accuracy,speed (m/s),heading,altitude}`,
  plus `is_moving`, `odometer`, `event`, `battery.{level,is_charging}`, `activity.type`;
- unknown device: 400 for the query/form, 404 for JSON (that is the router's job; this module only
  reports which form the request used).
Unlike Traccar, a value that does not parse is a 400 naming the parameter (Traccar drops the
connection), and a request with no coordinates at all is a 400 too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson

KNOTS_PER_MPS = 1.943844492440605
_INT_MAX = 2**31 - 1
_NUMERIC_KEYS = {"lat": "lat", "lon": "lon", "speed": "speed_kn", "bearing": "course", "heading": "course",
                 "altitude": "altitude", "accuracy": "accuracy", "hdop": "hdop", "batt": "batt"}


class DecodeError(ValueError):
    """A request the protocol cannot accept; `parameter` names the culprit."""

    def __init__(self, parameter: str, detail: str):
        super().__init__(detail)
        self.parameter = parameter
        self.detail = detail


@dataclass(slots=True)
class Fix:
    """One decoded position report, before filtering (times are Unix seconds, UTC)."""

    unique_id: str
    fix_time: float
    lat: float
    lon: float
    valid: bool = True
    speed_kn: float | None = None
    course: float | None = None
    altitude: float | None = None
    accuracy: float | None = None
    hdop: float | None = None
    batt: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    json_form: bool = False


def parse_timestamp(value: str, parameter: str = "timestamp") -> float:
    """Parse an OsmAnd timestamp (seconds, milliseconds, ISO 8601 or `yyyy-MM-dd HH:mm:ss`) to Unix seconds."""
    text = value.strip()
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is not None:
        return float(number) if number < _INT_MAX else number / 1000.0
    try:
        if "T" in text:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise DecodeError(parameter, f"{parameter}: cannot read {value!r} as Unix seconds, milliseconds or "
                                     "ISO 8601") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _number(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise DecodeError(key, f"{key}: {value!r} is not a number") from exc
    return number


def _attribute(value: str) -> Any:
    """Traccar keeps an unknown key as a number if it parses, else a boolean, else the string."""
    try:
        number = float(value)
        if math.isfinite(number):
            return number
    except ValueError:
        pass
    if value in ("true", "false"):
        return value == "true"
    return value


def decode_form(pairs: list[tuple[str, str]], now: float | None = None) -> Fix:
    """Decode the query-string / form parameters of one OsmAnd report."""
    unique_id: str | None = None
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    fix_time: float | None = None
    valid = True
    for key, value in pairs:
        if key in ("id", "deviceid"):
            unique_id = value.strip()
        elif key == "valid":
            valid = value.lower() == "true" or value == "1"
        elif key == "timestamp":
            fix_time = parse_timestamp(value)
        elif key == "location":
            parts = value.split(",")
            if len(parts) < 2:
                raise DecodeError("location", "location: expected `lat,lon`")
            values["lat"] = _number("location", parts[0])
            values["lon"] = _number("location", parts[1])
        elif key in _NUMERIC_KEYS:
            values[_NUMERIC_KEYS[key]] = _number(key, value)
        elif key == "driverUniqueId":
            attributes["driverUniqueId"] = value
        else:
            attributes[key] = _attribute(value)
    if not unique_id:
        raise DecodeError("id", "id: the device identifier (id or deviceid) is missing")
    missing = [k for k in ("lat", "lon") if k not in values]
    if missing:
        raise DecodeError(missing[0], f"{' and '.join(missing)}: missing (send lat and lon, or location=lat,lon)")
    return Fix(unique_id=unique_id, fix_time=fix_time if fix_time is not None else (now or time.time()),
               valid=valid, attributes=attributes, **values)


def _json_number(obj: dict[str, Any], key: str, where: str, required: bool = False) -> float | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise DecodeError(f"{where}.{key}", f"{where}.{key}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(f"{where}.{key}", f"{where}.{key}: {value!r} is not a number")
    return float(value)


MAX_JSON_DEPTH = 16


def _bound_nesting(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a JSON body nested deeper than `limit` before parsing it (strings are skipped)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                raise DecodeError("body", f"body: JSON nested deeper than {limit} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1


def decode_json(body: bytes, now: float | None = None) -> Fix:
    """Decode the JSON body recent Traccar Client versions send."""
    _bound_nesting(body)
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("body", f"body: not valid JSON ({exc})") from exc
    if not isinstance(root, dict):
        raise DecodeError("body", "body: expected a JSON object")
    unique_id = root.get("device_id")
    if not isinstance(unique_id, str | int) or not str(unique_id).strip():
        raise DecodeError("device_id", "device_id: missing")
    location = root.get("location")
    if not isinstance(location, dict):
        raise DecodeError("location", "location: missing or not an object")
    ts = location.get("timestamp")
    fix_time = parse_timestamp(str(ts), "location.timestamp") if ts is not None else (now or time.time())
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise DecodeError("location.coords", "location.coords: missing or not an object")
    speed = _json_number(coords, "speed", "location.coords")
    heading = _json_number(coords, "heading", "location.coords")
    fix = Fix(
        unique_id=str(unique_id).strip(), fix_time=fix_time, json_form=True,
        lat=_json_number(coords, "latitude", "location.coords", required=True),
        lon=_json_number(coords, "longitude", "location.coords", required=True),
        accuracy=_json_number(coords, "accuracy", "location.coords"),
        # m/s from the client; knots in storage, as Traccar keeps speed.
        speed_kn=speed * KNOTS_PER_MPS if speed is not None and speed >= 0 else None,
        # Traccar Client sends heading -1 when it has no course: NULL, never a negative course.
        course=heading if heading is None or heading >= 0 else None,
        altitude=_json_number(coords, "altitude", "location.coords"),
    )
    _json_attributes(fix, location)
    return fix


def _json_attributes(fix: Fix, location: dict[str, Any]) -> None:
    for key, name in (("event", "event"), ("is_moving", "motion"), ("odometer", "odometer"), ("mock", "mock")):
        if key in location:
            fix.attributes[name] = location[key]
    activity = location.get("activity")
    if isinstance(activity, dict) and "type" in activity:
        fix.attributes["activity"] = activity["type"]
    battery = location.get("battery")
    if isinstance(battery, dict):
        level = battery.get("level")
        if isinstance(level, int | float) and not isinstance(level, bool) and level >= 0:
            fix.batt = float(level) * 100.0 if level <= 1 else float(level)
        if "is_charging" in battery:
            fix.attributes["charge"] = bool(battery["is_charging"])
    # As Traccar's decoder: `alarm` (Traccar Client's SOS) and every scalar member of `extras` are attributes.
    alarm = location.get("alarm")
    if isinstance(alarm, str):
        fix.attributes["alarm"] = alarm
    extras = location.get("extras")
    if isinstance(extras, dict):
        for key, value in extras.items():
            if key == "alarm" and isinstance(alarm, str):
                continue
            if isinstance(value, str | bool) or (isinstance(value, int | float) and math.isfinite(value)):
                fix.attributes[key] = value


def _json_key(body: bytes) -> str | None:
    """A top-level string `key` of a JSON body that decode_json accepted."""
    value = orjson.loads(body).get("key")
    return value if isinstance(value, str) else None


def split_query(query: str) -> list[tuple[str, str]]:
    """Query-string pairs, as parse_qsl(keep_blank_values=True) but without unquoting what needs none."""
    if not query:
        return []
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key, value = unquote_plus(key), unquote_plus(value)
        pairs.append((key, value))
    return pairs


def is_json(content_type: str | None) -> bool:
    """True when the request carries the JSON form (Content-Type application/json)."""
    return bool(content_type) and content_type.split(";")[0].strip().lower() == "application/json"


def decode_request(query: str, body: bytes, content_type: str | None, now: float | None = None) -> Fix:
    """Decode one HTTP request: a JSON body (by content type), else the query string, else the body as a form."""
    return _in_range(_no_nul(_decode_request(query, body, content_type, now)))


# (field, form parameter, JSON parameter, low, high): a value outside is a 400 for that fix alone, so that it
# never reaches PostgreSQL's `real` columns and fails the group commit of its neighbours.
_RANGES = (
    # Coordinates just outside the globe are stored flagged invalid_coords (as Traccar does); absurd ones are refused.
    ("lat", "lat", "location.coords.latitude", -1000.0, 1000.0),
    ("lon", "lon", "location.coords.longitude", -1000.0, 1000.0),
    ("speed_kn", "speed", "location.coords.speed", 0.0, 1000.0),
    ("course", "bearing", "location.coords.heading", 0.0, 360.0),
    ("altitude", "altitude", "location.coords.altitude", -1000.0, 100000.0),
    ("accuracy", "accuracy", "location.coords.accuracy", 0.0, 1.0e7),
    ("hdop", "hdop", "hdop", 0.0, 1000.0),
    ("batt", "batt", "location.battery.level", 0.0, 100.0),
    # 2000-01-01 .. 2100-01-01: catches year 1, year 9999 and milliseconds read as seconds.
    ("fix_time", "timestamp", "location.timestamp", 946684800.0, 4102444800.0),
)


def _in_range(fix: Fix) -> Fix:
    """Refuse NaN, infinities and out-of-range numbers at decode time, naming the parameter."""
    for name, form_param, json_param, low, high in _RANGES:
        value = getattr(fix, name)
        if value is None:
            continue
        param = json_param if fix.json_form else form_param
        if not math.isfinite(value) or not low <= value <= high:
            raise DecodeError(param, f"{param}: {value!r} is outside {low:g}..{high:g}")
    return fix


def _no_nul(fix: Fix) -> Fix:
    """PostgreSQL text and jsonb cannot hold NUL: refuse such a fix here, or it would fail its whole batch."""
    if "\x00" in fix.unique_id or "\\u0000" in orjson.dumps(fix.attributes, default=str).decode():
        raise DecodeError("id", "a parameter contains a NUL character")
    return fix


def _decode_request(query: str, body: bytes, content_type: str | None, now: float | None) -> Fix:
    if is_json(content_type):
        fix = decode_json(body, now)
        # The tracker key (geo_api/tracker_auth.py) may ride on the URL (`?key=`, as Traccar Client's server URL
        # carries it), top-level in the body, or in location.extras (already an attribute).
        for key, value in split_query(query):
            if key == "key":
                fix.attributes["key"] = value
        given = _json_key(body)
        if given is not None:
            fix.attributes["key"] = given
        return fix
    pairs = split_query(query)
    if pairs:
        return decode_form(pairs, now)
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("body", "body: not an ASCII form") from exc
    pairs = parse_qsl(text.strip(), keep_blank_values=True)
    if not pairs:
        raise DecodeError("id", "id: no parameters (send id, lat, lon, timestamp in the query or the body)")
    return decode_form(pairs, now)

