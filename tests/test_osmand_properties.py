"""Property tests over the OsmAnd decoder: random numbers (1e39, NaN, inf), dates and nested JSON give a Fix
whose numbers fit PostgreSQL's columns, or a DecodeError (the 400) naming a parameter, never another exception."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import orjson
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingestion import osmand

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e39, -1e39, 3.5e38, 1e308, -0.0, 0.0, 360.0, 361.0, -1.0]),
    st.integers(min_value=-(10**30), max_value=10**30),
)
NUMBER_TEXT = st.one_of(NUMBERS.map(str), st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e39", "", " ", "0x10",
                                                           "1_000", "١٢", "1e", "--1"]), st.text(max_size=12))
DATES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-01 00:00:00", "2026-02-30T00:00:00Z",
                     "2026-01-01T00:00:00+25:00", "253402300800", "1700000000000", ""]),
    st.text(max_size=30),
)
FORM_KEYS = ["lat", "lon", "speed", "bearing", "heading", "altitude", "accuracy", "hdop", "batt", "timestamp",
             "valid", "location", "driverUniqueId", "charge", "x"]


def _fits(fix: osmand.Fix) -> None:
    for name in ("lat", "lon", "speed_kn", "course", "altitude", "accuracy", "hdop", "batt", "fix_time"):
        value = getattr(fix, name)
        assert value is None or (math.isfinite(value) and abs(value) < 3.4e38), (name, value)
    assert "\x00" not in fix.unique_id
    orjson.dumps(fix.attributes, default=str)


def _decode(query: str, body: bytes, ctype: str | None) -> None:
    try:
        fix = osmand.decode_request(query, body, ctype)
    except osmand.DecodeError as exc:
        assert exc.parameter and exc.detail
        return
    _fits(fix)


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FORM_KEYS), st.one_of(NUMBER_TEXT, DATES), max_size=8),
       NUMBERS.map(str), NUMBERS.map(str), DATES)
def test_form_decoder_accepts_or_names_a_parameter(extra, lat, lon, ts):
    params = {"id": "t1", "lat": lat, "lon": lon, "timestamp": ts, **extra}
    q = urlencode(params)
    _decode(q, b"", None)
    _decode("", q.encode(), "application/x-www-form-urlencoded")


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                         st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e39, -1e39, 1e308]),
                         st.text(max_size=10))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                                st.dictionaries(st.text(max_size=5), kids, max_size=3)),
                           max_leaves=20)


@hsettings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "latitude": JSON_VALUES, "longitude": JSON_VALUES, "speed": JSON_VALUES, "heading": JSON_VALUES,
    "altitude": JSON_VALUES, "accuracy": JSON_VALUES}),
    st.one_of(DATES, JSON_VALUES), JSON_VALUES, JSON_VALUES, JSON_VALUES)
def test_json_decoder_accepts_or_names_a_parameter(coords, ts, extras, battery, alarm):
    body = {"device_id": "t1", "location": {"timestamp": ts, "coords": coords, "extras": extras,
                                            "battery": battery, "alarm": alarm}}
    _decode("", orjson.dumps(body), "application/json")


@hsettings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=400), st.sampled_from(["[", "{\"a\":"]), st.booleans())
def test_nested_json_is_refused_or_decoded(depth, opener, wrap):
    inner = opener * depth + "1" + ("]" if opener == "[" else "}") * depth
    text = ('{"device_id":"t1","location":{"timestamp":"2026-01-01T00:00:00Z","coords":{"latitude":-6.2,'
            '"longitude":106.6},"extras":{"deep":' + inner + '}}}') if wrap else inner
    _decode("", text.encode(), "application/json")


@hsettings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/json", None, "application/x-www-form-urlencoded"]))
def test_random_bytes_never_raise(body, ctype):
    _decode("", body, ctype)
