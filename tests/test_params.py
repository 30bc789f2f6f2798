"""geo_api/params.py: the one parser of numbers, coordinates, bboxes and dates; every failure names its parameter."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from geo_api.errors import InvalidParameter
from geo_api.params import (
    MAX_DATE,
    MIN_DATE,
    check_date,
    day_bounds,
    parse_bbox_numbers,
    parse_bbox_wgs84,
    parse_instant,
    parse_int,
    parse_lat_lon,
    parse_number,
)
from layers.errors import QueryParameterError


def _param(call) -> str:
    with pytest.raises(InvalidParameter) as e:
        call()
    return e.value.extra["parameter"]


def test_numbers_are_finite_and_bounded():
    assert parse_number("speed", "12.5", 0, 100) == 12.5
    assert parse_number("speed", None) is None and parse_number("speed", " ") is None
    for bad in ("nan", "inf", "-inf", "1e999", "abc", "1e39"):
        assert _param(lambda b=bad: parse_number("speed", b, 0, 1000)) == "speed"
    assert _param(lambda: parse_number("speed", None, required=True)) == "speed"
    assert parse_int("limit", "7", 10, 1, 100) == 7 and parse_int("limit", "", 10, 1, 100) == 10
    assert _param(lambda: parse_int("limit", "101", 10, 1, 100)) == "limit"
    with pytest.raises(QueryParameterError):  # OGC answers 400: the caller chooses the error class
        parse_int("offset", "x", 0, 0, 10, error=QueryParameterError)


def test_lat_lon_suggests_the_swap():
    assert parse_lat_lon("-6.17", "106.63") == (-6.17, 106.63)
    with pytest.raises(InvalidParameter) as e:
        parse_lat_lon("106.63", "-6.17")
    assert e.value.extra["parameter"] == "lat" and e.value.extra["suggestion"] == {"lat": -6.17, "lon": 106.63}
    assert _param(lambda: parse_lat_lon("-6.17", "nan")) == "lon"


def test_bboxes():
    assert parse_bbox_wgs84("106.5,-6.3,106.8,-6.1") == (106.5, -6.3, 106.8, -6.1)
    assert parse_bbox_numbers("1,2,0,3,4,9", heights=True) == (1, 2, 3, 4)
    for bad in ("1,2,3", "1,2,3,x", "1,2,nan,4", "106.8,-6.3,106.5,-6.1", "0,0,200,10"):
        assert _param(lambda b=bad: parse_bbox_wgs84(b)) == "bbox"
    assert _param(lambda: parse_bbox_numbers("1,2,0,3,4,9")) == "bbox"  # six only where heights are allowed


def test_dates_are_bounded_so_arithmetic_cannot_overflow():
    assert parse_instant("start", "2026-01-31T00:00:00Z") == datetime(2026, 1, 31, tzinfo=timezone.utc)
    assert parse_instant("start", "2026-01-31") == datetime(2026, 1, 31, tzinfo=timezone.utc)
    assert parse_instant("start", "2026-01-31T07:00:00").tzinfo is timezone.utc  # naive is UTC
    for bad in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01",
                "kemarin", "2026-02-30"):
        assert _param(lambda b=bad: parse_instant("start", b)) == "start"
    assert check_date("date", MIN_DATE) == MIN_DATE and check_date("date", MAX_DATE) == MAX_DATE
    assert _param(lambda: check_date("date", date(9999, 12, 31))) == "date"
    lo, hi = day_bounds(MAX_DATE, ZoneInfo("Asia/Jakarta"))  # the last allowed day still has an end
    assert (hi - lo).total_seconds() == 86400


def test_ogc_parsing_goes_through_the_same_parser():
    """layers/params.py answers OGC's 400 with the same rules: finite bbox numbers, bounded instants."""
    from layers.crs import parse_crs
    from layers.params import parse_bbox, parse_datetime
    from layers.params import parse_int as ogc_int

    crs = parse_crs("bbox-crs", None)
    for bad in ("1,2,nan,4", "1,2,3", "a,b,c,d"):
        with pytest.raises(QueryParameterError):
            parse_bbox(bad, crs)
    with pytest.raises(QueryParameterError) as e:
        parse_datetime("0001-01-01T00:00:00+05:00/..")
    assert e.value.extra["parameter"] == "datetime"
    assert parse_datetime("2024-01-01/..")[1] is None
    assert ogc_int("limit", "5000", 10, 1, 1000, cap=True) == 1000
    with pytest.raises(QueryParameterError):
        ogc_int("offset", "-1", 0, 0, 10)


# ---------------------------------------------------------------- framework validation names the parameter

def _numeric_query_params(doc: dict) -> list[tuple[str, str, set[str], set[str]]]:
    """(path, parameter, every parameter of the operation, its other required ones) for each integer/number query
    parameter of a GET operation in the OpenAPI document (paths with {cid} use the bundled 'poi')."""
    out = []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if not op or path.startswith("/open311/"):  # Open311 answers the spec's error array, tested there
            continue
        params = op.get("parameters", [])
        if any(p["in"] == "path" and p["name"] != "cid" for p in params):
            continue
        names = {p["name"] for p in params}
        required = {p["name"] for p in params if p.get("required") and p["in"] == "query"}
        for p in params:
            schema = p.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if p["in"] == "query" and types & {"integer", "number"}:
                out.append((path.replace("{cid}", "poi"), p["name"], names, required - {p["name"]}))
    return out


def test_every_numeric_query_parameter_is_named_when_it_is_not_a_number(client):
    """A non-number in any numeric query parameter of any documented GET is a 4xx problem whose top-level
    `parameter` names it (when nothing else is missing), whether our parser or the framework refused it."""
    doc = client.get("/openapi.json").json()
    cases = _numeric_query_params(doc)
    assert len(cases) >= 15, cases
    wrong = []
    for path, name, names, others in cases:
        r = client.get(path, params={name: "x"})
        body = r.json() if r.headers.get("content-type", "").startswith("application/problem+json") else {}
        want = {name} if not others else names
        if r.status_code not in (400, 422) or body.get("parameter") not in want:
            wrong.append((path, name, r.status_code, body.get("parameter"), r.text[:200]))
    assert not wrong, wrong
