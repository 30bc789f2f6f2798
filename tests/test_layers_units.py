"""Pure functions of the layers package: column mapping, CRS parsing, parameters, CQL2 to SQL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layers.catalog import Collection, Column
from layers.cql import bound_values, filter_sql, parse_filter
from layers.crs import parse_crs
from layers.errors import QueryParameterError
from layers.params import parse_bbox, parse_datetime, parse_sortby
from layers.publish import LAYER_ID, safe_column_names


@given(st.lists(st.text(max_size=80), max_size=30))
def test_safe_column_names_are_plain_unique_and_never_reserved(names):
    out = safe_column_names(names)
    assert len(out) == len(names) == len(set(out))
    for n in out:
        assert LAYER_ID.match(n) and n not in ("fid", "geom")


def test_crs_axis_order_and_aliases():
    assert parse_crs("crs", None).srid == 4326 and not parse_crs("crs", None).lat_first
    assert parse_crs("crs", "EPSG:4326").lat_first
    assert parse_crs("crs", "[EPSG:32748]").srid == 32748
    with pytest.raises(QueryParameterError):
        parse_crs("crs", "EPSG:2056")


def test_bbox_and_datetime():
    b = parse_bbox("-6.2,106.6,-6.1,106.7", parse_crs("bbox-crs", "EPSG:4326"))
    assert (b.minx, b.miny) == (106.6, -6.2)
    with pytest.raises(QueryParameterError):
        parse_bbox("1,2,3", parse_crs("bbox-crs", None))
    start, end = parse_datetime("2024-01-01/..")
    assert start.year == 2024 and end is None
    with pytest.raises(QueryParameterError):
        parse_datetime("2024-02-01/2024-01-01")


def _coll() -> Collection:
    import datetime as dt

    return Collection("x", "X", "", "a", "", "published", "published", "x", None, dt.datetime.now(), "1",
                      "MULTIPOINT", "fid", (Column("fid", "integer"), Column("nama", "text"),
                                            Column("order", "bigint")))


def test_cql_values_are_bound_and_names_quoted():
    node = parse_filter("nama = 'x; DROP TABLE y; --' AND \"order\" > 3", None)
    stmt = filter_sql(node, _coll(), parse_crs("filter-crs", None))
    text = stmt.as_string(None)
    assert "DROP" not in text and '"order"' in text and text.count("%s") == 2
    assert bound_values(stmt) == ["x; DROP TABLE y; --", 3]
    with pytest.raises(QueryParameterError):
        filter_sql(parse_filter("secret = 1", None), _coll(), parse_crs("filter-crs", None))
    with pytest.raises(QueryParameterError):
        parse_sortby("nope", _coll())
